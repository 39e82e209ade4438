"""With the broker down, ingest answers 503 + Retry-After (never a 500), the scan is kept as
`received`, /readyz says which dependency is missing, and the same upload succeeds once the broker
is back."""

from __future__ import annotations

import socket
import uuid

import pytest

from tests.signing.helpers import make_pdf


def _closed_port() -> int:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    return port


@pytest.fixture
def app_with_broker(tmp_path):
    from fastapi.testclient import TestClient

    from api.app import create_app
    from api.keys import create_client
    from pipeline.broker import reset_broker
    from sohoa.runtime import Runtime
    from sohoa.settings import Settings

    made = []

    def build(broker_url: str):
        rt = Runtime(Settings(home=tmp_path / "home", broker_url=broker_url))
        with rt.session() as session:
            key = create_client(session, f"station-{uuid.uuid4().hex[:6]}", ["ingest"], None)
        app = create_app(runtime=rt, audit_batched=False, auth_cache_seconds=0)
        http = TestClient(app)
        http.__enter__()
        made.append((app, http))
        reset_broker()
        return rt, http, {"Authorization": f"Bearer {key}"}

    yield build
    for app, http in made:
        http.__exit__(None, None, None)
        app.state.dispatcher.close()
    reset_broker()


def test_ingest_with_the_broker_down_is_503_and_keeps_the_scan(app_with_broker):
    from storage.catalog import Document

    rt, http, auth = app_with_broker(f"redis://127.0.0.1:{_closed_port()}/0")
    scan = make_pdf("KET QUA BROKER OUTAGE")
    answer = http.post("/v1/ingest", data={"unit": "00004"}, headers=auth,
                       files={"file": ("scan.pdf", scan, "application/pdf")})
    assert answer.status_code == 503, answer.text
    assert answer.headers["retry-after"] == "10"
    assert answer.json()["type"].endswith("queue-unavailable")
    assert "Traceback" not in answer.text
    with rt.session() as session:
        docs = session.query(Document).all()
        assert [d.state for d in docs] == ["received"]  # accepted, nothing lost

    ready = http.get("/readyz")
    assert ready.status_code == 503
    assert ready.json()["checks"]["broker"].startswith("unreachable")
    assert ready.json()["checks"]["database"] == "ok"

    # the broker is back (same catalog): the same upload is enqueued and answered 200
    rt2, http2, auth2 = app_with_broker(
        f"redis://127.0.0.1:6379/0?namespace=outage-{uuid.uuid4().hex[:8]}")
    try:
        rt2.objects  # noqa: B018 - the same home
        again = http2.post("/v1/ingest", data={"unit": "00004"}, headers=auth2,
                           files={"file": ("scan.pdf", scan, "application/pdf")})
    except Exception as exc:  # pragma: no cover - Redis itself missing
        pytest.fail(f"Redis required: {exc}")
    assert again.status_code == 200, again.text
    assert again.json()["duplicate"] is True
    assert http2.get("/readyz").json()["checks"]["broker"] == "ok"
