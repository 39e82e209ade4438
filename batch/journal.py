"""The batch journal: every batch and every item in it (a document split from a stack, or a
file of an imported folder) with its outcome — stored, held for review, refused with the
reason — so an interrupted batch resumes where it stopped and `sohoa batch status|report`
can answer. A SQLite file in the home (`batches/journal.sqlite3`), written one item at a time
(WAL), whatever catalog the documents go to.
"""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
from contextlib import closing
from pathlib import Path

# item outcomes; `pending` = not yet handed to the pipeline, `queued` = a worker will finish it
OUTCOMES = ("pending", "queued", "stored", "needs_review", "refused")
_SCHEMA = """
CREATE TABLE IF NOT EXISTS batches (
    id TEXT PRIMARY KEY, kind TEXT NOT NULL, source TEXT NOT NULL, created TEXT NOT NULL,
    params TEXT NOT NULL DEFAULT '{}', finished TEXT);
CREATE TABLE IF NOT EXISTS items (
    batch_id TEXT NOT NULL REFERENCES batches(id), seq INTEGER NOT NULL, name TEXT NOT NULL,
    sha256 TEXT, status TEXT NOT NULL DEFAULT 'pending', document_id TEXT, reason TEXT,
    updated TEXT NOT NULL, PRIMARY KEY (batch_id, seq));
"""


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


class Journal:
    def __init__(self, path: Path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with closing(self._connect()) as db, db:
            db.executescript(_SCHEMA)

    def _connect(self) -> sqlite3.Connection:
        db = sqlite3.connect(self.path, timeout=30)
        db.row_factory = sqlite3.Row
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=FULL")
        return db

    def open_batch(self, batch_id: str, kind: str, source: str, params: dict) -> bool:
        """Create the batch; False when it exists already (a resumed batch)."""
        with closing(self._connect()) as db, db:
            found = db.execute("SELECT 1 FROM batches WHERE id=?", (batch_id,)).fetchone()
            if found:
                return False
            db.execute("INSERT INTO batches (id, kind, source, created, params) VALUES (?,?,?,?,?)",
                       (batch_id, kind, source, _now(), json.dumps(params, ensure_ascii=False)))
            return True

    def add_items(self, batch_id: str, names: list[str]) -> dict[str, int]:
        """Register items by name (idempotent: known names keep their position and outcome;
        new ones go at the end). Returns name → position."""
        with closing(self._connect()) as db, db:
            known = {r[0]: r[1] for r in db.execute(
                "SELECT name, seq FROM items WHERE batch_id=?", (batch_id,))}
            seq = max(known.values(), default=-1)
            for name in names:
                if name not in known:
                    seq += 1
                    known[name] = seq
                    db.execute("INSERT INTO items (batch_id, seq, name, updated) VALUES (?,?,?,?)",
                               (batch_id, seq, name, _now()))
        return known

    def set_item(self, batch_id: str, seq: int, *, status: str, sha256: str | None = None,
                 document_id: str | None = None, reason: str | None = None) -> None:
        assert status in OUTCOMES, status
        with closing(self._connect()) as db, db:
            db.execute("UPDATE items SET status=?, sha256=COALESCE(?, sha256), "
                       "document_id=COALESCE(?, document_id), reason=?, updated=? "
                       "WHERE batch_id=? AND seq=?",
                       (status, sha256, document_id, reason, _now(), batch_id, seq))

    def items(self, batch_id: str) -> list[dict]:
        with closing(self._connect()) as db:
            rows = db.execute("SELECT * FROM items WHERE batch_id=? ORDER BY seq", (batch_id,))
            return [dict(r) for r in rows]

    def finish(self, batch_id: str) -> None:
        with closing(self._connect()) as db, db:
            db.execute("UPDATE batches SET finished=? WHERE id=?", (_now(), batch_id))

    def batch(self, batch_id: str) -> dict | None:
        with closing(self._connect()) as db:
            row = db.execute("SELECT * FROM batches WHERE id=?", (batch_id,)).fetchone()
        if row is None:
            return None
        out = dict(row)
        out["params"] = json.loads(out["params"])
        out["counts"] = self.counts(batch_id)
        return out

    def counts(self, batch_id: str) -> dict[str, int]:
        with closing(self._connect()) as db:
            rows = db.execute("SELECT status, COUNT(*) FROM items WHERE batch_id=? "
                              "GROUP BY status", (batch_id,)).fetchall()
        counts = dict.fromkeys(OUTCOMES, 0)
        counts.update({r[0]: r[1] for r in rows})
        return counts

    def batches(self, limit: int = 50) -> list[dict]:
        with closing(self._connect()) as db:
            ids = [r[0] for r in db.execute(
                "SELECT id FROM batches ORDER BY created DESC, id LIMIT ?", (limit,))]
        return [self.batch(i) for i in ids]
