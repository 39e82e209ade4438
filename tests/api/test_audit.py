"""The access-log writer (api/audit.py): batched rows written whole (COPY on PostgreSQL, INSERT on
SQLite), and rows kept queued when a write fails."""

from __future__ import annotations

import uuid
from contextlib import contextmanager

import pytest

from api.audit import AuditWriter, query_audit
from storage.catalog import utcnow


def _rows(n: int, tag: str) -> list[dict]:
    return [{"at": utcnow(), "client_id": None, "client_name": f"{tag}-{i % 3}", "method": "GET",
             "endpoint": "/v1/results/{result_id}", "path": f"/v1/results/{i:032x}",
             "document_id": f"{i:032x}" if i % 2 else None,
             "purpose": f"tra cứu hồ sơ {tag} số {i}\tmột\\hai" if i % 5 else None,
             "status": 200 if i % 4 else 404, "outcome": "ok" if i % 4 else "not_found",
             "remote": "127.0.0.1", "duration_ms": i} for i in range(n)]


def test_a_batch_is_written_whole_with_every_value(catalog):
    tag = uuid.uuid4().hex[:8]
    writer = AuditWriter(catalog.rt.session, batched=True)
    sent = _rows(620, tag)  # more than one batch of 500
    for row in sent:
        writer.record(row)
    writer.close()
    with catalog.rt.session() as session:
        got = [r for r in query_audit(session, limit=5000) if (r["client_name"] or "").startswith(tag)]
    assert len(got) == len(sent)
    by_path = {r["path"]: r for r in got}
    for row in sent:
        stored = by_path[row["path"]]
        for column in ("client_name", "document_id", "purpose", "status", "outcome",
                       "duration_ms", "remote"):
            assert stored[column] == row[column], column


def test_rows_stay_queued_when_a_write_fails(catalog):
    tag = uuid.uuid4().hex[:8]
    fail = {"left": 1}

    @contextmanager
    def flaky_session():
        if fail["left"]:
            fail["left"] -= 1
            raise ConnectionError("database went away")
        with catalog.rt.session() as session:
            yield session

    writer = AuditWriter(flaky_session, batched=True)
    writer._stop.set()  # no background thread: flush by hand
    writer._thread = object()
    for row in _rows(7, tag):
        writer.record(row)
    with pytest.raises(ConnectionError):
        writer.flush()
    assert writer.flush() == 7
    with catalog.rt.session() as session:
        got = [r for r in query_audit(session, limit=5000) if (r["client_name"] or "").startswith(tag)]
    assert len(got) == 7
