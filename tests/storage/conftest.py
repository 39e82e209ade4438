"""Fixtures for the object-store suite: one real SeaweedFS per session, and `object_store`
parametrized over the local store and the S3 store (a fresh bucket per test)."""

from __future__ import annotations

import os
import uuid

import pytest

from storage.local_store import LocalObjectStore
from tests.support.seaweedfs import SeaweedUnavailable, start_seaweedfs

# Short retry settings so tests that take the store away stay fast.
FAST_RETRY = {"tries": 3, "backoff": 0.05, "timeout": 2}


def _unavailable(reason: str):
    if os.environ.get("SOHOA_REQUIRE_SERVICES") == "1":
        pytest.fail(f"SeaweedFS required (SOHOA_REQUIRE_SERVICES=1) but unavailable: {reason}")
    pytest.skip(f"SeaweedFS unavailable: {reason}")


@pytest.fixture(scope="session")
def seaweed(tmp_path_factory):
    try:
        server = start_seaweedfs(tmp_path_factory.mktemp("seaweed"))
    except (SeaweedUnavailable, OSError) as exc:
        _unavailable(str(exc))
    try:
        yield server
    finally:
        server.stop()


def new_bucket_name() -> str:
    return f"sohoa-test-{uuid.uuid4().hex[:16]}"


@pytest.fixture(params=["local", "s3"])
def object_store(request, tmp_path):
    if request.param == "local":
        return LocalObjectStore(tmp_path / "objects")
    from storage.s3_store import S3ObjectStore

    server = request.getfixturevalue("seaweed")
    return S3ObjectStore.from_url(server.bucket_url(new_bucket_name(), **FAST_RETRY))


# --------------------------------------------------------------------------- catalog backends
# The catalog suite runs on SQLite and on PostgreSQL (a fresh database per test session on
# 127.0.0.1:5432, dropped at the end; skipped locally and failed in CI when unreachable).
PG_ADMIN = os.environ.get("SOHOA_TEST_PG", "postgresql://postgres@127.0.0.1:5432/postgres")


@pytest.fixture(scope="session")
def pg_database():
    """A factory: `pg_database(tag)` creates an empty PostgreSQL database, returns its URL."""
    import psycopg

    from storage import db
    from tests.conftest import service_unavailable

    made: list[tuple[str, str]] = []

    def create(tag: str) -> str:
        name = f"sohoa_test_{tag}_{uuid.uuid4().hex[:8]}"
        try:
            with psycopg.connect(PG_ADMIN, autocommit=True, connect_timeout=3) as conn:
                conn.execute(f'CREATE DATABASE "{name}"')
        except psycopg.OperationalError as exc:
            service_unavailable(f"PostgreSQL at {PG_ADMIN}: {exc}")
        url = PG_ADMIN.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://")
        made.append((name, f"{url}/{name}"))
        return f"{url}/{name}"

    yield create
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        for name, url in made:
            db.get_engine(url).dispose()
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def new_catalog(kind: str, tmp_path_factory, pg_database, tag: str) -> str:
    """An empty catalog database URL of `kind` (sqlite | postgresql), not migrated."""
    if kind == "sqlite":
        return f"sqlite:///{tmp_path_factory.mktemp(tag) / 'catalog.sqlite3'}"
    return pg_database(tag)


@pytest.fixture(scope="session", params=["sqlite", "postgresql"])
def catalog_backend(request, tmp_path_factory, pg_database):
    """A migrated catalog with Hà Nội's units and the default procedures, on each backend."""
    from storage import db
    from storage.units import seed_procedures, seed_units

    url = new_catalog(request.param, tmp_path_factory, pg_database, "catalog")
    db.upgrade(url)
    with db.session_scope(url) as session:
        seed_units(session, provinces={"01"})
        seed_procedures(session)
    return url


@pytest.fixture
def catalog_runtime(sohoa_home, catalog_backend, monkeypatch):
    """The process runtime on `catalog_backend` (emptied of documents and results) with a
    fresh local object store in the test's SOHOA_HOME."""
    from sqlalchemy import inspect, text

    import sohoa.runtime
    from sohoa.settings import get_settings
    from storage import db
    from storage.units import seed_procedures

    monkeypatch.setenv("SOHOA_DATABASE_URL", catalog_backend)
    get_settings.cache_clear()
    monkeypatch.setattr(sohoa.runtime, "_runtime", None)
    tables = set(inspect(db.get_engine(catalog_backend)).get_table_names())
    with db.session_scope(catalog_backend) as session:
        for table in ("pages", "reviews", "documents", "results", "audit_events"):
            if table in tables:
                session.execute(text(f"DELETE FROM {table}"))
        session.execute(text("DELETE FROM procedures"))  # back to the defaults
        seed_procedures(session)
    rt = sohoa.runtime.get_runtime()
    assert rt.database_url == catalog_backend
    return rt
