"""Retention of the API access log: monthly partitions on PostgreSQL, archived whole.

The log is append-only (no row is ever updated or deleted), so it shrinks only by whole months:
`archive` writes a month's rows to the object store as gzipped JSON lines
(`access-log/api_access_log_YYYYMM.jsonl.gz`), reads the object back to check its row count and
checksum, and only then detaches and drops the month's partition, recording an audit event.
`maintain` creates the partitions of the coming months (rows of a month without one land in the
DEFAULT partition, which cannot be archived by month). SQLite keeps one table and no archive.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import re
import tempfile
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from sqlalchemy import text

from storage import db
from storage.catalog import AuditEvent
from storage.objects import CHUNK

PARTITION = re.compile(r"^api_access_log_(\d{4})(\d{2})$")
PREFIX = "access-log/"


class AccessLogError(Exception):
    """An archive or maintenance step that cannot run; the message says why."""


@dataclass(frozen=True)
class Partition:
    name: str
    month: date | None  # None: the DEFAULT partition
    rows: int


def month_after(day: date, months: int = 1) -> date:
    index = day.year * 12 + day.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def _require_postgres(session) -> None:
    if session.get_bind().dialect.name != "postgresql":
        raise AccessLogError("the embedded (SQLite) catalog keeps the access log in one table; "
                             "monthly partitions and archiving need PostgreSQL")


def partitions(session) -> list[Partition]:
    _require_postgres(session)
    names = session.execute(text(
        "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
        "JOIN pg_class p ON p.oid = i.inhparent WHERE p.relname = 'api_access_log' "
        "ORDER BY c.relname")).scalars().all()
    found = []
    for name in names:
        rows = session.execute(text(f'SELECT count(*) FROM "{name}"')).scalar_one()
        match = PARTITION.match(name)
        month = date(int(match[1]), int(match[2]), 1) if match else None
        found.append(Partition(name, month, rows))
    return found


def maintain(session, ahead: int = 3, today: date | None = None) -> list[str]:
    """Create the partitions of this month and the next `ahead` months; the names created."""
    _require_postgres(session)
    existing = {p.name for p in partitions(session)}
    start = month_after(today or date.today(), 0)
    made = []
    for n in range(ahead + 1):
        month = month_after(start, n)
        name = f"api_access_log_{month:%Y%m}"
        if name in existing:
            continue
        session.execute(text(
            f'CREATE TABLE "{name}" PARTITION OF api_access_log FOR VALUES FROM '
            f"('{month.isoformat()}') TO ('{month_after(month).isoformat()}')"))
        made.append(name)
    return made


def maintain_needed(url: str, today: date | None = None) -> list[str]:
    """Months (YYYY-MM) among this one and the next that have no partition yet."""
    with db.session_scope(url) as session:
        names = {p.name for p in partitions(session)}
    this = month_after(today or date.today(), 0)
    return [f"{m:%Y-%m}" for m in (this, month_after(this)) if f"api_access_log_{m:%Y%m}"
            not in names]


def _export(session, name: str, path: Path) -> tuple[int, str]:
    """Write the partition's rows as gzipped JSON lines (deterministic bytes); (rows, sha256)."""
    rows = 0
    result = session.execute(text(f'SELECT * FROM "{name}" ORDER BY id').execution_options(
        stream_results=True, yield_per=5000))
    with open(path, "wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", mtime=0) as out:
        for row in result.mappings():
            out.write((json.dumps(dict(row), ensure_ascii=False, default=str) + "\n").encode())
            rows += 1
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(CHUNK):
            digest.update(chunk)
    return rows, digest.hexdigest()


def _count_stored(store, key: str) -> int:
    with store.open(key) as stream, gzip.GzipFile(fileobj=stream) as lines:
        return sum(1 for _ in lines)


def archive(rt, before: date, actor: str = "operator") -> list[dict]:
    """Archive and drop every monthly partition entirely before `before`; one dict per month."""
    done = []
    with rt.session() as session:
        months = [p for p in partitions(session) if p.month is not None
                  and month_after(p.month) <= before]
    for part in months:
        key = f"{PREFIX}{part.name}.jsonl.gz"
        with tempfile.TemporaryDirectory(prefix="sohoa-access-log-") as tmp:
            path = Path(tmp) / f"{part.name}.jsonl.gz"
            with rt.session() as session:
                rows, sha = _export(session, part.name, path)
            stored = rt.objects.put_file(key, path, "application/gzip")
        if stored.sha256 != sha or _count_stored(rt.objects, key) != rows:
            raise AccessLogError(f"{key}: the stored archive does not match the exported rows; "
                                 f"partition {part.name} kept")
        with rt.session() as session:
            live = session.execute(text(f'SELECT count(*) FROM "{part.name}"')).scalar_one()
            if live != rows:  # a late write reached the month: export again next time
                raise AccessLogError(f"{part.name} received rows while it was archived; run "
                                     "the archive again")
            session.execute(text(f'ALTER TABLE api_access_log DETACH PARTITION "{part.name}"'))
            session.execute(text(f'DROP TABLE "{part.name}"'))
            session.add(AuditEvent(action="access_log_archived", actor=actor,
                                   detail={"partition": part.name, "rows": rows, "key": key,
                                           "sha256": sha}))
        done.append({"partition": part.name, "rows": rows, "key": key, "sha256": sha})
    return done
