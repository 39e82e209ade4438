"""Migration 0020_dedup_per_unit: one document per scan *and unit*, on SQLite and PostgreSQL.

Upgrading keeps every row, index and trigger of `documents` (SQLite rebuilds the table); the
same bytes then fit under two units but not twice under one; downgrading refuses while two
units share bytes, and restores the old one-document-per-file key otherwise."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from storage import db
from storage.catalog import AdminUnit, Document
from storage.search import search_documents
from tests.storage.conftest import new_catalog

SHA = "d" * 64
BEFORE = "0020_dedup_per_unit@-1"


def _units(url: str) -> tuple[int, int]:
    with db.session_scope(url) as s:
        rows = [AdminUnit(code=code, name=name, kind="Phường", level="commune",
                          province_code="01", valid_from=date(1990, 1, 1), source="test")
                for code, name in (("00004", "Phường Trúc Bạch"), ("00037", "Phường Hàng Mã"))]
        s.add_all(rows)
        s.flush()
        return rows[0].id, rows[1].id


def _add(url: str, unit_id: int, *, sha: str = SHA, body: str | None = None) -> str:
    with db.session_scope(url) as s:
        doc = Document(state="stored", source_name="a.pdf", source_sha256=sha, source_size=1,
                       unit_id=unit_id, ocr_text=body)
        s.add(doc)
        s.flush()
        return doc.id


def _objects(url: str) -> set[str]:
    engine = db.get_engine(url)
    with engine.connect() as conn:
        if engine.dialect.name == "sqlite":
            return set(conn.scalars(text(
                "SELECT type || ' ' || name FROM sqlite_master WHERE tbl_name = 'documents' "
                "AND name NOT LIKE 'sqlite_autoindex%'")))
        return set(conn.scalars(text(
            "SELECT 'trigger ' || tgname FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid "
            "WHERE c.relname = 'documents' AND NOT t.tgisinternal UNION ALL "
            "SELECT 'index ' || indexname FROM pg_indexes WHERE tablename = 'documents'")))


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
def test_same_bytes_fit_two_units_once_each_and_the_migration_round_trips(
        kind, tmp_path_factory, pg_database):
    url = new_catalog(kind, tmp_path_factory, pg_database, "dedup")
    db.upgrade(url)
    db.downgrade(url, BEFORE)
    ward, other = _units(url)
    kept = _add(url, ward, body="Quyết định công nhận tổ hòa giải")  # written under the old key
    with pytest.raises(IntegrityError):  # before: the same bytes in another unit were refused
        _add(url, other)
    before = _objects(url)

    db.upgrade(url)
    assert db.current_revision(url) == db.head_revision(url)
    after = _objects(url)
    renamed = {o.replace("uq_documents_source_sha256", "uq_documents_source_sha256_unit")
               for o in before}
    assert after == renamed, (before, after)  # every trigger and index is still there
    with db.session_scope(url) as s:
        assert s.get(Document, kept).source_sha256 == SHA  # the rows came along
        assert search_documents(s, "hoa giai") == [kept]  # full text triggers still fire
    second = _add(url, other)  # now: another document of another unit
    with pytest.raises(IntegrityError):
        _add(url, ward)  # but never twice in one unit
    with db.session_scope(url) as s:
        s.get(Document, kept).ocr_text = "Giấy phép xây dựng"
    with db.session_scope(url) as s:
        assert search_documents(s, "giay phep") == [kept]
        assert search_documents(s, "hoa giai") == []

    with pytest.raises(RuntimeError, match="several units hold the same scan"):
        db.downgrade(url, BEFORE)
    db.get_engine(url).dispose()
    assert db.current_revision(url) == db.head_revision(url)  # nothing half done
    with db.session_scope(url) as s:
        s.delete(s.get(Document, second))
    db.downgrade(url, BEFORE)
    db.get_engine(url).dispose()
    assert _objects(url) == before
    with pytest.raises(IntegrityError):
        _add(url, other)
    with db.session_scope(url) as s:
        assert search_documents(s, "giay phep") == [kept]
    db.upgrade(url)
    assert _objects(url) == after
