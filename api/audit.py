"""The API access log: a writer that appends one row per request, and the query behind
`sohoa audit`.

Rows are queued by the request and written by one background thread in small batches (one
INSERT … VALUES per batch), so auditing costs a request microseconds, not a commit. `flush()`
writes what is queued (shutdown, tests). The writer only ever INSERTs; there is no update or
delete path, and the database refuses both (triggers from migration 0004_api).
"""

from __future__ import annotations

import logging
import queue
import threading
from datetime import datetime

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from api.models import ApiAccess

log = logging.getLogger(__name__)

BATCH = 500
INTERVAL = 0.2  # seconds a record may wait before it is written


class AuditWriter:
    def __init__(self, session_factory, *, batched: bool = True):
        self._session_factory = session_factory
        self._queue: queue.SimpleQueue[dict] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._batched = batched
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def record(self, row: dict) -> None:
        if not self._batched:
            self._write([row])
            return
        self._queue.put(row)
        if self._thread is None:
            self._start()

    def _start(self) -> None:
        with self._lock:
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="api-audit", daemon=True)
                self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(INTERVAL):
            try:
                self.flush()
            except Exception:  # noqa: BLE001 - keep the rows queued and retry next round
                log.exception("writing the API access log failed; retrying")

    def _drain(self) -> list[dict]:
        rows = []
        while len(rows) < BATCH:
            try:
                rows.append(self._queue.get_nowait())
            except queue.Empty:
                break
        return rows

    def flush(self) -> int:
        """Write everything queued so far; returns the number of rows written."""
        written = 0
        with self._lock:
            while rows := self._drain():
                try:
                    self._write(rows)
                except BaseException:
                    for row in rows:  # nothing is lost on a failed write
                        self._queue.put(row)
                    raise
                written += len(rows)
        return written

    def _write(self, rows: list[dict]) -> None:
        with self._session_factory() as session:
            connection = session.connection()
            if connection.dialect.name != "postgresql":
                session.execute(insert(ApiAccess), rows)
                return
            # COPY: psycopg encodes the rows in C; an INSERT of a few hundred rows built by
            # SQLAlchemy held the GIL long enough to show in the request latency
            columns = list(rows[0])
            raw = connection.connection.driver_connection
            with raw.cursor() as cursor, cursor.copy(
                    f"COPY {ApiAccess.__tablename__} ({', '.join(columns)}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row([row.get(column) for column in columns])

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self.flush()


def query_audit(
    session: Session,
    *,
    client: str | None = None,
    document: str | None = None,
    endpoint: str | None = None,
    outcome: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    limit: int = 100,
) -> list[dict]:
    """Access-log rows, newest first, filtered."""
    query = select(ApiAccess).order_by(ApiAccess.at.desc(), ApiAccess.id.desc()).limit(limit)
    if client:
        query = query.where(ApiAccess.client_name == client)
    if document:
        query = query.where(ApiAccess.document_id == document)
    if endpoint:
        query = query.where(ApiAccess.endpoint.like(f"%{endpoint}%"))
    if outcome:
        query = query.where(ApiAccess.outcome == outcome)
    if since:
        query = query.where(ApiAccess.at >= since)
    if until:
        query = query.where(ApiAccess.at < until)
    columns = [c.key for c in ApiAccess.__table__.columns]
    return [{c: getattr(row, c) for c in columns} for row in session.scalars(query)]
