"""HTTP details other clients rely on: HEAD on GET routes, weak If-None-Match, a malformed
multipart body answered as documented, and the /docs page working with no network beyond the
API itself (headless Chromium, every other host blocked)."""

from __future__ import annotations

import hashlib
import threading
from urllib.parse import urlparse

import httpx
import pytest
import uvicorn

from tests.station.conftest import (  # noqa: F401 - browser fixtures
    ServerThread,
    browser,
    chromium_path,
    wait_for,
)


def test_head_answers_like_get_without_a_body(catalog):
    http, rid = catalog.client(), catalog.results["truc-bach"]
    for path in (f"/v1/results/{rid}/pdf", f"/v1/results/{rid}", "/v1/results"):
        got = http.get(path, headers=catalog.auth("district"))
        head = http.head(path, headers=catalog.auth("district"))  # before: 405
        assert head.status_code == got.status_code == 200, (path, head.status_code)
        assert head.content == b""
        for name in ("content-type", "content-length", "etag", "x-content-sha256"):
            assert head.headers.get(name) == got.headers.get(name), (path, name)
    denied = http.head(f"/v1/results/{rid}/pdf", headers=catalog.auth("meta"))
    assert denied.status_code == 403 and denied.content == b""


def test_weak_if_none_match_is_304(catalog):
    http, rid = catalog.client(), catalog.results["truc-bach"]
    sha = hashlib.sha256(catalog.pdf["truc-bach"]).hexdigest()
    for header in (f'W/"{sha}"', f'"other", W/"{sha}"', "*"):  # before: weak one got 200
        response = http.get(f"/v1/results/{rid}/pdf",
                            headers=catalog.auth("district", **{"If-None-Match": header}))
        assert response.status_code == 304 and response.content == b"", header
    fresh = http.get(f"/v1/results/{rid}/pdf",
                     headers=catalog.auth("district", **{"If-None-Match": 'W/"other"'}))
    assert fresh.status_code == 200


@pytest.mark.parametrize(("path", "who"), [("/v1/ingest", "station"), ("/v1/verify", "meta")])
def test_malformed_multipart_is_a_documented_problem(catalog, path, who):
    http = catalog.client()
    response = http.post(path, content=b"x", headers=catalog.auth(
        who, **{"Content-Type": "multipart/form-data"}))  # no boundary
    assert response.status_code == 400
    assert response.headers["content-type"].startswith("application/problem+json")
    spec = http.get("/openapi.json").json()
    documented = spec["paths"][path]["post"]["responses"]["400"]
    assert "application/problem+json" in documented["content"]


@pytest.fixture
def api_server(tmp_path):
    """The API on an embedded catalog, served by uvicorn on 127.0.0.1 (reads in threads)."""
    from api.app import create_app
    from sohoa.runtime import Runtime
    from sohoa.settings import Settings

    rt = Runtime(Settings(home=tmp_path / "home"))
    app = create_app(runtime=rt, audit_batched=False, auth_cache_seconds=0)
    server = ServerThread(app)
    server.server = uvicorn.Server(uvicorn.Config(
        app, host="127.0.0.1", port=server.port, log_level="warning", lifespan="off"))
    server.thread = threading.Thread(target=server.server.run, daemon=True)
    server.thread.start()
    wait_for(lambda: _up(server.url + "/healthz"), timeout=30)
    yield server
    server.stop()
    app.state.dispatcher.close()


def _up(url: str) -> bool:
    try:
        return httpx.get(url, timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


def test_docs_render_with_no_network_but_the_api(api_server, browser):  # noqa: F811
    """Before: /docs loaded Swagger UI from a CDN, a blank page in an air-gapped office."""
    context = browser.new_context()
    page = context.new_page()
    elsewhere: list[str] = []

    def only_the_api(route):
        host = urlparse(route.request.url).hostname
        if host == "127.0.0.1":
            return route.continue_()
        elsewhere.append(route.request.url)
        return route.abort()

    page.route("**/*", only_the_api)
    try:
        page.goto(api_server.url + "/docs", timeout=60_000)
        page.wait_for_selector(".swagger-ui .info .title", timeout=60_000)
        assert "sohoa retrieval API" in page.inner_text(".swagger-ui .info .title")
        page.wait_for_selector(".opblock-summary-path", timeout=60_000)
        assert "/v1/results" in page.inner_text(".swagger-ui")
    finally:
        context.close()
    assert elsewhere == []
