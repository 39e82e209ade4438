"""The API's read paths (api/reads.py): the async engine of a loop that ran the lifespan on
PostgreSQL, the thread fallback elsewhere, and a read that survives its connection dying."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient


def _get(http, catalog, label="truc-bach"):
    response = http.get(f"/v1/results/{catalog.results[label]}", headers=catalog.auth("admin"))
    assert response.status_code == 200, response.text
    assert response.json()["document_number"] == "125/QĐ-UBND"
    return response


def test_the_lifespan_loop_reads_through_its_async_engine(catalog):
    _get(catalog.client(), catalog)
    reads = catalog.app.state.reads
    if catalog.kind == "postgres-s3":
        assert reads.dialect == "postgresql" and reads.loops >= 1
    else:
        assert reads.dialect == "sqlite" and reads.loops == 0


def test_a_client_without_lifespan_falls_back_to_a_thread(catalog):
    before = catalog.app.state.reads.loops
    http = TestClient(catalog.app)  # not entered: its loop has no engine of its own
    body = _get(http, catalog).json()
    assert body["signature"]["signed"] is True
    assert catalog.app.state.reads.loops == before


def _terminate_other_backends(catalog) -> int:
    """Kill every server connection to the test database but this one (a restart, as the API
    sees it); returns how many were killed."""
    import psycopg

    url = catalog.rt.database_url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(url, autocommit=True) as conn:
        return conn.execute(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()").fetchone()[0]


@pytest.mark.parametrize("catalog", ["postgres-s3"], indirect=True)  # SQLite has no server
@pytest.mark.parametrize("path", ["async", "thread"])
def test_a_read_survives_its_pooled_connection_dying(catalog, path):
    http = catalog.client() if path == "async" else TestClient(catalog.app)
    _get(http, catalog)  # the pool now holds a connection
    assert _terminate_other_backends(catalog) >= 1
    for label in ("truc-bach", "truc-bach", "ba-dinh"):  # the first reuses a dead connection
        response = http.get(f"/v1/results/{catalog.results[label]}",
                            headers=catalog.auth("admin"))
        assert response.status_code == 200, response.text


@pytest.mark.parametrize("catalog", ["postgres-s3"], indirect=True)  # SQLite has no server
def test_a_catalog_outage_is_503_with_retry_after_and_service_resumes(catalog):
    import psycopg

    url = catalog.rt.database_url.replace("postgresql+psycopg://", "postgresql://")
    name = url.rsplit("/", 1)[1]
    admin = url.rsplit("/", 1)[0] + "/postgres"
    from api.audit import AuditWriter

    http = TestClient(catalog.app, raise_server_exceptions=False)
    shared = catalog.client()
    _get(shared, catalog)
    # as in production: access rows queue up while the database is away (the tests' unbatched
    # writer would fail the request on the way out instead)
    unbatched, catalog.app.state.audit = catalog.app.state.audit, AuditWriter(
        catalog.rt.session, batched=True)
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS false')
        try:
            _terminate_other_backends_admin(conn, name)
            for client in (shared, http):
                response = client.get(f"/v1/results/{catalog.results['ba-dinh']}",
                                      headers=catalog.auth("admin"))
                assert response.status_code == 503, response.text
                assert response.headers["content-type"].startswith("application/problem+json")
                assert response.headers["retry-after"] == "5"
                assert response.json()["type"].endswith("unavailable")
        finally:
            conn.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true')
    _get(shared, catalog)
    _get(http, catalog)
    queued, catalog.app.state.audit = catalog.app.state.audit, unbatched
    queued.close()  # the rows of the outage are written once the database is back
    from api.audit import query_audit

    with catalog.rt.session() as session:
        outage = [r for r in query_audit(session, limit=50) if r["status"] == 503]
    assert len(outage) >= 2 and {r["outcome"] for r in outage} == {"error"}


def _terminate_other_backends_admin(conn, name: str) -> None:
    conn.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                 "WHERE datname = %s AND pid <> pg_backend_pid()", (name,))


@pytest.mark.parametrize("catalog", ["postgres-s3"], indirect=True)  # the S3 store
def test_an_object_store_outage_is_503_and_downloads_resume(catalog, seaweed, monkeypatch):
    from storage.s3_store import S3ObjectStore
    from tests.storage.conftest import FAST_RETRY

    store = S3ObjectStore.from_url(seaweed.bucket_url(catalog.rt.objects.bucket,
                                                      **{**FAST_RETRY, "timeout": 1}))
    monkeypatch.setattr(catalog.rt, "objects", store)  # same bucket, retries kept short
    http = TestClient(catalog.app, raise_server_exceptions=False)
    path = f"/v1/results/{catalog.results['ba-dinh']}/pdf"
    assert http.get(path, headers=catalog.auth("admin")).content == catalog.pdf["ba-dinh"]
    seaweed.pause()
    try:
        response = http.get(path, headers=catalog.auth("admin"))
    finally:
        seaweed.resume()
    assert response.status_code == 503, response.text
    assert response.json()["type"].endswith("storage-unavailable")
    assert response.headers["retry-after"] == "5"
    assert http.get(path, headers=catalog.auth("admin")).content == catalog.pdf["ba-dinh"]


@pytest.mark.parametrize("catalog", ["postgres-s3"], indirect=True)  # LISTEN/NOTIFY
def test_a_revoked_key_stops_working_at_once_despite_the_cache(catalog):
    import time

    from api.app import create_app
    from api.keys import create_client, revoke_client

    app = create_app(runtime=catalog.rt, audit_batched=False, auth_cache_seconds=300)
    with catalog.rt.session() as session:
        key = create_client(session, "short-lived", ["read:metadata"], None)
    headers = {"Authorization": f"Bearer {key}"}
    path = f"/v1/results/{catalog.results['ba-dinh']}"
    with TestClient(app) as http:
        deadline = time.monotonic() + 10
        while not app.state.revocations.listening.is_set() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert http.get(path, headers=headers).status_code == 200  # now cached for 300 s
        with catalog.rt.session() as session:
            assert revoke_client(session, "short-lived")
        statuses = []
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            statuses.append(http.get(path, headers=headers).status_code)
            if statuses[-1] == 401:
                break
            time.sleep(0.05)
        assert statuses[-1] == 401, statuses
        assert time.monotonic() - (deadline - 5) < 2  # not the cache's 300 s, nor its 5 s default
