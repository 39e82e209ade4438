"""Property-based requests generated from the app's own OpenAPI document: never a 5xx, every
status documented for its operation (no schema drift), and every error is problem+json.
Bounded (few examples per operation) to stay fast."""

from __future__ import annotations

import os

import schemathesis
from hypothesis import HealthCheck, Phase, given, settings

MAX_EXAMPLES = int(os.environ.get("SOHOA_SCHEMATHESIS_EXAMPLES", "12"))  # more for a deep run


def test_openapi_no_server_errors(catalog):
    schema = schemathesis.openapi.from_asgi("/openapi.json", catalog.app)
    headers = catalog.auth("admin", **{"X-Purpose": "schemathesis"})
    seen, failures, statuses = 0, [], set()
    for result in schema.get_all_operations():
        operation = result.ok()
        responses = operation.definition.raw.get("responses", {})
        documented = {str(code) for code in responses}
        problem_documented = {str(code) for code, r in responses.items()
                              if "application/problem+json" in (r.get("content") or {})}

        @given(case=operation.as_strategy())
        @settings(max_examples=MAX_EXAMPLES, deadline=None, database=None,
                  phases=[Phase.explicit, Phase.generate],
                  suppress_health_check=list(HealthCheck))
        def run(case):
            nonlocal seen
            case.headers = {**(case.headers or {}), **headers}
            response = case.call()
            seen += 1
            statuses.add(response.status_code)
            if response.status_code >= 500:
                failures.append(f"{case.method} {case.formatted_path} {case.query}: "
                                f"{response.status_code} {response.text[:200]}")
            elif str(response.status_code) not in documented:  # noqa: B023 - run() runs now
                failures.append(f"{case.method} {case.formatted_path} {case.query}: "
                                f"undocumented {response.status_code} {response.text[:200]}")
            content_type = response.headers.get("content-type", [""])
            content_type = content_type[0] if isinstance(content_type, list) else content_type
            if response.status_code >= 400:
                assert content_type.startswith("application/problem+json"), (
                    case.method, case.formatted_path, response.status_code, response.text[:200])
                if str(response.status_code) not in problem_documented:  # noqa: B023
                    failures.append(f"{case.method} {case.formatted_path}: "
                                    f"{response.status_code} sent as problem+json, documented "
                                    "otherwise")

        run()
    assert seen >= 50
    assert 200 in statuses and 422 in statuses, statuses  # authorized and refused cases
    assert not failures, "\n".join(failures)
