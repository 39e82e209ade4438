"""Taking in a home's former batch journal, `$SOHOA_HOME/batches/journal.sqlite3` (a per-PC
SQLite file, before the journal moved into the catalog), once.

Every batch and item is copied into the catalog's `batches`/`batch_items` in one transaction,
then the file is renamed `journal.sqlite3.imported` (kept, never deleted), so the next run
does not look at it again. Copying is idempotent: a batch or item already in the catalog (an
earlier copy whose rename did not happen, another process doing the same) is left as it is.
An import batch keyed by its folder alone takes the id `batch_id_for` gives it on this PC,
so rerunning that import resumes it. A document id the catalog does not know (the file was
written against another catalog) is dropped from the item and counted as `unlinked`.
"""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
from contextlib import closing
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from batch.importer import batch_id_for, legacy_batch_id
from batch.journal import Journal, this_host
from batch.models import KINDS, OUTCOMES, Batch, BatchItem
from storage.catalog import Document

LEGACY_NAME = "journal.sqlite3"
IMPORTED_SUFFIX = ".imported"
CHUNK = 500


class LegacyJournalError(ValueError):
    """A former journal file that cannot be read; the message names the file and the fault."""


def _when(path: Path, value: str | None) -> dt.datetime | None:
    if not value:
        return None
    try:
        when = dt.datetime.fromisoformat(value)
    except ValueError:
        raise LegacyJournalError(f"{path}: unreadable time {value!r}") from None
    return when if when.tzinfo else when.replace(tzinfo=dt.UTC)


def read_legacy(path: Path) -> list[dict]:
    """The batches of a former journal file, each with its `items`, checked."""
    try:
        with closing(sqlite3.connect(path, timeout=30)) as db:
            db.row_factory = sqlite3.Row
            batches = [dict(r) for r in db.execute("SELECT * FROM batches ORDER BY created, id")]
            items = [dict(r) for r in db.execute("SELECT * FROM items ORDER BY batch_id, seq")]
    except sqlite3.Error as exc:
        raise LegacyJournalError(f"{path}: not a readable batch journal ({exc}); move it "
                                 f"away to carry on without it") from None
    by_batch: dict[str, list[dict]] = {}
    for item in items:
        if item["status"] not in OUTCOMES:
            raise LegacyJournalError(f"{path}: item {item['seq']} of batch {item['batch_id']}: "
                                     f"unknown outcome {item['status']!r}")
        by_batch.setdefault(item["batch_id"], []).append(item)
    for batch in batches:
        if batch["kind"] not in KINDS:
            raise LegacyJournalError(f"{path}: batch {batch['id']}: unknown kind "
                                     f"{batch['kind']!r}")
        try:
            batch["params"] = json.loads(batch["params"] or "{}")
        except json.JSONDecodeError:
            raise LegacyJournalError(f"{path}: batch {batch['id']}: params are not JSON") from None
        batch["items"] = by_batch.get(batch["id"], [])
    return batches


def _known_documents(session, ids: set[str]) -> set[str]:
    found: set[str] = set()
    ordered = sorted(ids)
    for start in range(0, len(ordered), CHUNK):
        found.update(session.scalars(select(Document.id)
                                     .where(Document.id.in_(ordered[start:start + CHUNK]))))
    return found


def _copy(journal: Journal, path: Path, batches: list[dict]) -> dict:
    host = this_host()
    summary = {"batches": 0, "items": 0, "unlinked": 0}
    with journal.rt.session() as session:
        known_docs = _known_documents(session, {i["document_id"] for b in batches
                                                for i in b["items"] if i["document_id"]})
        for old in batches:
            batch_id = old["id"]
            if old["kind"] == "import" and batch_id == legacy_batch_id(old["source"]):
                batch_id = batch_id_for(Path(old["source"]), host)
            if session.get(Batch, batch_id) is None:
                session.add(Batch(id=batch_id, kind=old["kind"], source=old["source"],
                                  host=host, params=old["params"],
                                  created_at=_when(path, old["created"]),
                                  finished_at=_when(path, old["finished"])))
                session.flush()
                summary["batches"] += 1
            have = dict(session.execute(select(BatchItem.name, BatchItem.seq)
                                        .where(BatchItem.batch_id == batch_id)).all())
            seqs = set(have.values())
            next_seq = max(seqs, default=-1) + 1
            for item in old["items"]:
                if item["name"] in have:
                    continue
                seq = item["seq"]
                if seq in seqs:
                    seq, next_seq = next_seq, next_seq + 1
                seqs.add(seq)
                next_seq = max(next_seq, seq + 1)
                doc = item["document_id"]
                if doc and doc not in known_docs:
                    summary["unlinked"] += 1
                    doc = None
                session.add(BatchItem(batch_id=batch_id, seq=seq, name=item["name"],
                                      sha256=item["sha256"], status=item["status"],
                                      document_id=doc, reason=item["reason"],
                                      updated_at=_when(path, item["updated"])))
                summary["items"] += 1
    return summary


def _rename(path: Path) -> Path:
    target = path.with_name(path.name + IMPORTED_SUFFIX)
    n = 1
    while target.exists():
        n += 1
        target = path.with_name(f"{path.name}{IMPORTED_SUFFIX}-{n}")
    path.rename(target)
    for extra in ("-wal", "-shm"):  # left only if SQLite could not checkpoint on close
        side = path.with_name(path.name + extra)
        if side.exists():
            side.rename(target.with_name(target.name + extra))
    return target


def adopt_home_journal(journal: Journal, root: Path) -> dict | None:
    """Copy `root/journal.sqlite3` into the catalog and rename it; None when there is none.
    The summary: batches and items copied, items whose document is unknown here, the file's
    new name."""
    path = Path(root) / LEGACY_NAME
    if not path.is_file():
        return None
    batches = read_legacy(path)
    try:
        summary = _copy(journal, path, batches)
    except IntegrityError:  # another process copied the same rows at the same moment
        summary = _copy(journal, path, batches)
    try:
        summary["renamed_to"] = str(_rename(path))
    except FileNotFoundError:  # that other process renamed it first
        summary["renamed_to"] = str(path.with_name(path.name + IMPORTED_SUFFIX))
    return summary
