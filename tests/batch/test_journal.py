"""The batch journal in the catalog (batch/journal.py, batch/models.py, batch/legacy.py,
migration 0021_batch_journal) on SQLite and PostgreSQL: batches and items with their outcomes,
resumable registration, items pointing at documents, files refused before any document
existed, a home's former journal file taken in once, and the migration down and up again."""

from __future__ import annotations

import sqlite3
import threading
from contextlib import closing
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import inspect, select, text

from batch.importer import batch_id_for, import_folder, legacy_batch_id
from batch.journal import Journal, this_host
from batch.legacy import LegacyJournalError, adopt_home_journal
from batch.models import Batch, BatchItem
from storage import db
from storage.catalog import Document

# the quotas suite's catalog on SQLite and PostgreSQL (fixtures, used by name)
from tests.quotas.conftest import add_document, catalog_url, postgres_url, runtime  # noqa: F401


@pytest.fixture
def rt(runtime):  # noqa: F811
    with runtime.session() as s:
        s.execute(text("DELETE FROM batch_items"))
        s.execute(text("DELETE FROM batches"))
    return runtime


@pytest.fixture
def journal(rt):
    return Journal(rt)


def test_batches_and_items_with_their_outcomes(journal, rt):
    assert journal.open_batch("b1", "import", "/mnt/hop-2019", {"unit": "00004"}) is True
    assert journal.open_batch("b1", "import", "/mnt/hop-2019", {}) is False  # resumed
    positions = journal.add_items("b1", ["a.pdf", "b.pdf", "sub/c.tif"])
    assert positions == {"a.pdf": 0, "b.pdf": 1, "sub/c.tif": 2}
    # registering again keeps positions and outcomes; a new name goes at the end
    journal.set_item("b1", 0, status="refused", sha256="ab" * 32, reason="không đọc được")
    assert journal.add_items("b1", ["sub/c.tif", "a.pdf", "d.png"])["d.png"] == 3
    with rt.session() as s:
        doc = add_document(s, unit_code="00004", state="needs_review")
    journal.set_item("b1", 1, status="queued", sha256="cd" * 32, document_id=doc.id)
    journal.set_item("b1", 1, status="needs_review")  # sha and document are kept
    items = journal.items("b1")
    assert [i["name"] for i in items] == ["a.pdf", "b.pdf", "sub/c.tif", "d.png"]
    assert items[0]["status"] == "refused" and items[0]["reason"] == "không đọc được"
    assert items[1] == {**items[1], "status": "needs_review", "sha256": "cd" * 32,
                        "document_id": doc.id, "reason": None}
    assert items[1]["updated"].endswith("+00:00")
    assert journal.counts("b1") == {"pending": 2, "queued": 0, "stored": 0,
                                    "needs_review": 1, "refused": 1}
    batch = journal.batch("b1")
    assert (batch["kind"], batch["source"], batch["host"]) == ("import", "/mnt/hop-2019",
                                                              this_host())
    assert batch["params"] == {"unit": "00004"} and batch["finished"] is None
    assert batch["created"].endswith("+00:00") and batch["counts"]["pending"] == 2
    assert journal.batch("nope") is None
    with pytest.raises(ValueError, match="outcome"):
        journal.set_item("b1", 0, status="lost")


def test_finish_once_and_reopen_when_items_are_added(journal):
    journal.open_batch("b2", "scan", "sane:test", {})
    journal.add_items("b2", ["doc-001 pages 1"])
    journal.set_item("b2", 0, status="stored")
    journal.finish("b2")
    first = journal.batch("b2")["finished"]
    assert first is not None
    journal.finish("b2")  # a rerun of a done batch keeps the date it was done
    assert journal.batch("b2")["finished"] == first
    journal.add_items("b2", ["doc-001 pages 1"])  # nothing new: still done
    assert journal.batch("b2")["finished"] == first
    journal.add_items("b2", ["doc-002 pages 2"])  # a file added to the folder: open again
    assert journal.batch("b2")["finished"] is None


def test_batches_newest_first(journal, rt):
    for n in range(3):
        journal.open_batch(f"b{n}", "scan", "sane:test", {})
    with rt.session() as s:  # newest first; the same time: by id
        for batch_id, year in (("b0", 2030), ("b1", 2029), ("b2", 2029)):
            s.get(Batch, batch_id).created_at = datetime(year, 1, 1, tzinfo=UTC)
    assert [b["id"] for b in journal.batches()] == ["b0", "b1", "b2"]
    assert [b["id"] for b in journal.batches(limit=2)] == ["b0", "b1"]


def test_an_item_outlives_its_document(journal, rt):
    journal.open_batch("b3", "import", "/x", {})
    journal.add_items("b3", ["a.png"])
    with rt.session() as s:
        doc = add_document(s, unit_code="00004")
    journal.set_item("b3", 0, status="stored", document_id=doc.id)
    with rt.session() as s:
        s.delete(s.get(Document, doc.id))
    item = journal.items("b3")[0]
    assert item["status"] == "stored" and item["document_id"] is None


def test_concurrent_registration_of_the_same_names_agrees(journal):
    journal.open_batch("b4", "import", "/x", {})
    names = [f"f{n:03d}.pdf" for n in range(200)]
    start, found, errors = threading.Barrier(3), [], []

    def register():
        start.wait()
        try:
            found.append(Journal(journal.rt).add_items("b4", names))
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=register) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors and len(found) == 3
    assert found[0] == found[1] == found[2] == {n: i for i, n in enumerate(names)}
    assert len(journal.items("b4")) == 200


def test_files_refused_before_any_document_exists_are_recorded(rt, tmp_path):
    """An unknown unit (from the manifest) refuses a file before the catalog has a document for
    it; a broken PDF is kept in quarantine. Both are in the catalog's journal with a reason."""
    folder = tmp_path / "hop"
    folder.mkdir()
    (folder / "hong.pdf").write_bytes(b"%PDF-1.4 broken")
    (folder / "la.pdf").write_bytes(b"%PDF-1.4 also broken")
    manifest = tmp_path / "m.csv"
    manifest.write_text("file,unit\nla.pdf,99999\n", encoding="utf-8")
    journal = Journal(rt)
    batch_id = import_folder(rt, None, journal, folder, unit="00004", manifest=manifest)
    assert batch_id == batch_id_for(folder)
    items = {i["name"]: i for i in journal.items(batch_id)}
    assert items["la.pdf"]["status"] == "refused" and items["la.pdf"]["document_id"] is None
    assert "99999" in items["la.pdf"]["reason"]
    assert items["hong.pdf"]["status"] == "refused" and items["hong.pdf"]["document_id"]
    assert journal.batch(batch_id)["finished"]
    # a rerun skips both: nothing more is created
    with rt.session() as s:
        before = s.scalar(select(text("count(*)")).select_from(Document))
    seen = []
    import_folder(rt, None, journal, folder, unit="00004", manifest=manifest,
                  on_item=lambda name, r: seen.append(r.get("skipped")))
    assert seen == [True, True]
    with rt.session() as s:
        assert s.scalar(select(text("count(*)")).select_from(Document)) == before


def test_the_same_folder_path_on_two_pcs_is_two_batches(tmp_path):
    assert batch_id_for(tmp_path, "pc-a") != batch_id_for(tmp_path, "pc-b")
    assert batch_id_for(tmp_path) == batch_id_for(tmp_path, this_host())
    assert batch_id_for(tmp_path).startswith("import-") and len(batch_id_for(tmp_path)) == 19


# ------------------------------------------------------------------ a home's former journal

FORMER_SCHEMA = """
CREATE TABLE batches (
    id TEXT PRIMARY KEY, kind TEXT NOT NULL, source TEXT NOT NULL, created TEXT NOT NULL,
    params TEXT NOT NULL DEFAULT '{}', finished TEXT);
CREATE TABLE items (
    batch_id TEXT NOT NULL REFERENCES batches(id), seq INTEGER NOT NULL, name TEXT NOT NULL,
    sha256 TEXT, status TEXT NOT NULL DEFAULT 'pending', document_id TEXT, reason TEXT,
    updated TEXT NOT NULL, PRIMARY KEY (batch_id, seq));
"""


def former_journal(root: Path, folder: str, document_id: str) -> Path:
    """A journal file as the per-home journal wrote it (WAL, ISO times with a zone)."""
    root.mkdir(parents=True, exist_ok=True)
    path = root / "journal.sqlite3"
    with closing(sqlite3.connect(path)) as con, con:
        con.execute("PRAGMA journal_mode=WAL")
        con.executescript(FORMER_SCHEMA)
        con.execute("INSERT INTO batches VALUES (?,?,?,?,?,?)",
                    (legacy_batch_id(folder), "import", folder, "2026-11-02T08:00:00+00:00",
                     '{"unit": "00004", "procedure": null}', None))
        con.execute("INSERT INTO batches VALUES (?,?,?,?,?,?)",
                    ("20261101-090000-abcdef", "scan", "escl:http://10.0.0.5/eSCL",
                     "2026-11-01T09:00:00+00:00", '{"duplex": true}',
                     "2026-11-01T09:30:00+00:00"))
        rows = [(legacy_batch_id(folder), 0, "a.pdf", "aa" * 32, "stored", document_id, None),
                (legacy_batch_id(folder), 1, "b.pdf", None, "refused", None, "đơn vị không có"),
                (legacy_batch_id(folder), 2, "c.pdf", None, "pending", None, None),
                ("20261101-090000-abcdef", 0, "doc-001 pages 1,2", "bb" * 32, "stored",
                 "0" * 32, None)]  # a document of another catalog
        con.executemany("INSERT INTO items VALUES (?,?,?,?,?,?,?,'2026-11-02T08:05:00+00:00')",
                        rows)
    return path


def test_former_journal_is_taken_in_once_and_renamed(journal, rt, tmp_path):
    with rt.session() as s:
        doc = add_document(s, unit_code="00004")
    root, folder = tmp_path / "batches", str(tmp_path / "hop-2019")
    path = former_journal(root, folder, doc.id)
    summary = adopt_home_journal(journal, root)
    assert summary == {"batches": 2, "items": 4, "unlinked": 1,
                       "renamed_to": str(root / "journal.sqlite3.imported")}
    assert not path.exists() and (root / "journal.sqlite3.imported").is_file()
    assert adopt_home_journal(journal, root) is None  # once
    # the import batch takes this PC's id, so rerunning that import resumes it
    new_id = batch_id_for(Path(folder))
    assert journal.batch(legacy_batch_id(folder)) is None
    batch = journal.batch(new_id)
    assert batch["created"] == "2026-11-02T08:00:00+00:00" and batch["finished"] is None
    assert batch["params"] == {"unit": "00004", "procedure": None}
    assert batch["counts"] == {"pending": 1, "queued": 0, "stored": 1, "needs_review": 0,
                               "refused": 1}
    items = journal.items(new_id)
    assert (items[0]["document_id"], items[0]["sha256"]) == (doc.id, "aa" * 32)
    assert items[1]["reason"] == "đơn vị không có"
    assert journal.add_items(new_id, ["a.pdf", "b.pdf", "c.pdf", "d.pdf"])["d.pdf"] == 3
    scan = journal.batch("20261101-090000-abcdef")
    assert scan["finished"] == "2026-11-01T09:30:00+00:00" and scan["params"] == {"duplex": True}
    assert journal.items("20261101-090000-abcdef")[0]["document_id"] is None  # unlinked

    # the same file back again (a copy restored from the PC's backup): nothing doubles, and
    # the earlier `.imported` file is kept
    former_journal(root, folder, doc.id)
    again = adopt_home_journal(journal, root)
    assert again["batches"] == 0 and again["items"] == 0
    assert again["renamed_to"] == str(root / "journal.sqlite3.imported-2")
    assert len(journal.items(new_id)) == 4


def test_an_unreadable_former_journal_is_named_and_left_alone(journal, tmp_path):
    root = tmp_path / "batches"
    root.mkdir()
    (root / "journal.sqlite3").write_bytes(b"not a database at all" * 100)
    with pytest.raises(LegacyJournalError, match=r"journal\.sqlite3: not a readable batch"):
        adopt_home_journal(journal, root)
    assert (root / "journal.sqlite3").is_file()
    assert adopt_home_journal(journal, tmp_path / "none") is None


def test_migration_downgrades_and_upgrades_again(journal, catalog_url):  # noqa: F811
    journal.open_batch("b5", "scan", "sane:test", {})
    try:
        db.downgrade(catalog_url, "0021_batch_journal@-1")
        db.get_engine(catalog_url).dispose()
        tables = set(inspect(db.get_engine(catalog_url)).get_table_names())
        assert not {"batches", "batch_items"} & tables
        assert {"results", "documents"} <= tables
    finally:
        db.upgrade(catalog_url)
        db.get_engine(catalog_url).dispose()
    with db.session_scope(catalog_url) as s:
        assert s.scalar(select(Batch).where(Batch.id == "b5")) is None
        assert s.scalars(select(BatchItem)).all() == []
    assert journal.open_batch("b5", "scan", "sane:test", {}) is True
