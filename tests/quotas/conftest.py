"""Catalog fixtures for the quotas suite, parametrized over SQLite and PostgreSQL.

One migrated catalog per backend per session (Hanoi units only, for speed); each test gets the
`runtime` fixture on it with results, documents, baselines and audit rows emptied first.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import uuid
from datetime import UTC, date, datetime

import pytest
from sqlalchemy import text

from tests.conftest import service_unavailable

PG_HOST = os.environ.get("SOHOA_TEST_PG_HOST", "127.0.0.1")


def _psql(sql: str) -> subprocess.CompletedProcess:
    return subprocess.run(["psql", "-h", PG_HOST, "-U", "postgres", "-d", "postgres", "-qc", sql],
                          capture_output=True, text=True, timeout=30)


@pytest.fixture(scope="session")
def postgres_url():
    name = f"sohoa_test_quotas_{uuid.uuid4().hex[:8]}"
    try:
        created = _psql(f'CREATE DATABASE "{name}"')
    except (OSError, subprocess.SubprocessError) as exc:
        service_unavailable(f"PostgreSQL at {PG_HOST}:5432: {exc}")
    if created.returncode != 0:
        service_unavailable(f"PostgreSQL at {PG_HOST}:5432: {created.stderr.strip()}")
    url = f"postgresql+psycopg://postgres@{PG_HOST}:5432/{name}"
    yield url
    from storage import db

    db.get_engine(url).dispose()
    _psql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session", params=["sqlite", "postgresql"])
def catalog_url(request, tmp_path_factory):
    from storage import db
    from storage.units import seed_procedures, seed_units

    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('quotas') / 'catalog.sqlite3'}"
    else:
        url = request.getfixturevalue("postgres_url")
    db.upgrade(url)
    with db.session_scope(url) as session:
        seed_units(session, provinces={"01"})
        seed_procedures(session)
    return url


@pytest.fixture
def runtime(sohoa_home, catalog_url, monkeypatch):
    """The process runtime on the shared catalog, emptied of everything tests create."""
    import sohoa.runtime
    from sohoa.settings import get_settings
    from storage import db

    monkeypatch.setenv("SOHOA_DATABASE_URL", catalog_url)
    get_settings.cache_clear()
    monkeypatch.setattr(sohoa.runtime, "_runtime", None)
    with db.session_scope(catalog_url) as session:
        for table in ("pages", "documents", "results", "quota_result_facts", "quota_baselines",
                      "audit_events"):
            session.execute(text(f"DELETE FROM {table}"))
    rt = sohoa.runtime.get_runtime()
    assert rt.database_url == catalog_url
    return rt


# ------------------------------------------------------------------ helpers for the tests

def utc(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


def add_result(session, code: str, issued: date | None, *, valid_until: date | None = None,
               in_force: bool = True, on: date | None = None, dossier: str | None = None):
    from storage.catalog import Result
    from storage.units import find_unit

    unit = find_unit(session, code, on=issued or on or date(2024, 1, 1))
    result = Result(unit_id=unit.id, issued_on=issued, valid_until=valid_until,
                    in_force=in_force, dossier_code=dossier or f"HS-{uuid.uuid4().hex[:10]}",
                    document_number=f"{uuid.uuid4().int % 10000}/QĐ-UBND")
    session.add(result)
    session.flush()
    return result


def add_document(session, *, result=None, unit_code: str | None = None,
                 stored_at: datetime | None = None, state: str = "stored",
                 on: date | None = None, pdf: bool = True, created_at: datetime | None = None):
    from storage.catalog import Document
    from storage.units import find_unit

    unit_id = result.unit_id if result is not None else find_unit(session, unit_code, on=on).id
    digest = hashlib.sha256(uuid.uuid4().bytes).hexdigest()
    doc = Document(state=state, source_name=f"{digest[:8]}.png", source_sha256=digest,
                   source_size=1000, unit_id=unit_id,
                   result_id=result.id if result is not None else None,
                   pdf_key=f"pdf/{digest}" if pdf else None,
                   signed_key=f"signed/{digest}" if state == "stored" else None,
                   stored_at=stored_at if state == "stored" else None,
                   created_at=created_at or stored_at or datetime.now(UTC))
    session.add(doc)
    session.flush()
    return doc
