"""The batch journal: every batch and every item in it (a document split from a stack, or a
file of an imported folder) with its outcome — stored, held for review, refused with the
reason — so an interrupted batch resumes where it stopped and `sohoa batch status|report`
can answer.

Kept in the catalog (tables `batches` and `batch_items`, `batch.models`), written one item at
a time in its own short session: every back-office PC of a province shares it, backups carry
it, and a file refused before any document existed is recorded with the documents. The spool
(page images) stays on the PC that scanned; a batch names its `host`. A home's former
`batches/journal.sqlite3` is taken in once by `batch.legacy`.
"""

from __future__ import annotations

import datetime as dt
import socket

from sqlalchemy import func, insert, select, update
from sqlalchemy.exc import IntegrityError

from batch.models import OUTCOMES, Batch, BatchItem

INSERT_CHUNK = 500


def this_host() -> str:
    """The name a batch records for the PC that ran it (where its spool is)."""
    return socket.gethostname() or "?"


def iso(value: dt.datetime | None) -> str | None:
    """A catalog timestamp as ISO 8601 in UTC (SQLite gives them back without a zone)."""
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    return value.astimezone(dt.UTC).isoformat(timespec="seconds")


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _item_dict(item: BatchItem) -> dict:
    return {"batch_id": item.batch_id, "seq": item.seq, "name": item.name,
            "sha256": item.sha256, "status": item.status, "document_id": item.document_id,
            "reason": item.reason, "updated": iso(item.updated_at)}


class Journal:
    """Batches and their items in the catalog of `rt` (anything with a `session()` context
    manager that commits on success, e.g. `sohoa.runtime.Runtime`). Safe to share between
    threads: each call opens its own session."""

    def __init__(self, rt):
        self.rt = rt

    def open_batch(self, batch_id: str, kind: str, source: str, params: dict, *,
                   host: str | None = None, created: dt.datetime | None = None) -> bool:
        """Create the batch; False when it exists already (a resumed batch)."""
        try:
            with self.rt.session() as session:
                if session.get(Batch, batch_id) is not None:
                    return False
                session.add(Batch(id=batch_id, kind=kind, source=source,
                                  host=host or this_host(), params=params,
                                  created_at=created or _now()))
        except IntegrityError:  # another process opened it at the same moment
            return False
        return True

    def add_items(self, batch_id: str, names: list[str]) -> dict[str, int]:
        """Register items by name (idempotent: known names keep their position and outcome;
        new ones go at the end, and the batch is open again). Returns name → position."""
        for attempt in (1, 2):
            try:
                return self._add_items(batch_id, names)
            except IntegrityError:  # another process added the same names: read theirs
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    def _add_items(self, batch_id: str, names: list[str]) -> dict[str, int]:
        with self.rt.session() as session:
            known = dict(session.execute(
                select(BatchItem.name, BatchItem.seq).where(BatchItem.batch_id == batch_id)).all())
            seq = max(known.values(), default=-1)
            rows, now = [], _now()
            for name in names:
                if name not in known:
                    seq += 1
                    known[name] = seq
                    rows.append({"batch_id": batch_id, "seq": seq, "name": name,
                                 "status": "pending", "updated_at": now})
            for start in range(0, len(rows), INSERT_CHUNK):
                session.execute(insert(BatchItem), rows[start:start + INSERT_CHUNK])
            if rows:
                session.execute(update(Batch).where(Batch.id == batch_id)
                                .values(finished_at=None))
        return known

    def set_item(self, batch_id: str, seq: int, *, status: str, sha256: str | None = None,
                 document_id: str | None = None, reason: str | None = None) -> None:
        if status not in OUTCOMES:
            raise ValueError(f"unknown batch item outcome {status!r} (one of {OUTCOMES})")
        values = {"status": status, "reason": reason, "updated_at": _now()}
        if sha256 is not None:  # None keeps what is known
            values["sha256"] = sha256
        if document_id is not None:
            values["document_id"] = document_id
        with self.rt.session() as session:
            session.execute(update(BatchItem)
                            .where(BatchItem.batch_id == batch_id, BatchItem.seq == seq)
                            .values(**values))

    def items(self, batch_id: str) -> list[dict]:
        with self.rt.session() as session:
            rows = session.scalars(select(BatchItem).where(BatchItem.batch_id == batch_id)
                                   .order_by(BatchItem.seq))
            return [_item_dict(r) for r in rows]

    def finish(self, batch_id: str) -> None:
        """Mark the batch done (the first time: a rerun of a done batch keeps its date)."""
        with self.rt.session() as session:
            session.execute(update(Batch).where(Batch.id == batch_id,
                                                Batch.finished_at.is_(None))
                            .values(finished_at=_now()))

    def batch(self, batch_id: str) -> dict | None:
        with self.rt.session() as session:
            row = session.get(Batch, batch_id)
            if row is None:
                return None
            out = {"id": row.id, "kind": row.kind, "source": row.source, "host": row.host,
                   "created": iso(row.created_at), "params": dict(row.params or {}),
                   "finished": iso(row.finished_at)}
        out["counts"] = self.counts(batch_id)
        return out

    def counts(self, batch_id: str) -> dict[str, int]:
        with self.rt.session() as session:
            rows = session.execute(select(BatchItem.status, func.count())
                                   .where(BatchItem.batch_id == batch_id)
                                   .group_by(BatchItem.status)).all()
        counts = dict.fromkeys(OUTCOMES, 0)
        counts.update({status: n for status, n in rows})
        return counts

    def batches(self, limit: int = 50) -> list[dict]:
        with self.rt.session() as session:
            ids = session.scalars(select(Batch.id).order_by(Batch.created_at.desc(), Batch.id)
                                  .limit(limit)).all()
        return [self.batch(i) for i in ids]
