"""Archive records (storage/records.py, storage/retention.py, migration 0020_records) on SQLite
and PostgreSQL: filing documents by dossier, counts, defaults and hand-set values, retention and
due dates, destruction decisions, and the exporter's stream."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import inspect, select

from storage import db
from storage.records import (
    ArchiveDocument,
    FilingDefaults,
    Record,
    RecordError,
    document_hints,
    due_documents,
    file_document,
    get_record,
    iter_export_entries,
    record_disposal,
    update_record,
    upsert_fonds,
)
from storage.retention import RetentionError, due_on, parse_retention

# the quotas suite's catalog on SQLite and PostgreSQL (fixtures, used by name)
from tests.quotas.conftest import catalog_url, postgres_url, runtime  # noqa: F401
from tests.support.records import clear_archive, stored_copy

CIVIL = FilingDefaults(retention_years=None, access_level="conditional",
                       type_name="Trích lục khai sinh")
LETTER = FilingDefaults(retention_years=10, access_level="open", type_name="Công văn")


@pytest.fixture
def rt(runtime):  # noqa: F811
    with runtime.session() as s:
        clear_archive(s)
    return runtime


def test_documents_join_the_record_of_their_dossier_and_counts_follow(rt):
    with rt.session() as s:
        result, first = stored_copy(s, dossier="H26-0001", pages=2, issued=date(2024, 3, 1))
        document_hints(s, first.id, sheets=1, physical_condition="Tốt", paper_code="HS-GIAY-7")
        row = file_document(s, first, result, CIVIL)
        assert (row.sequence, row.code) == (1, "H26-0001.001")
        record = row.record
        assert record.code == "H26-0001" and record.dossier_code == "H26-0001"
        assert (record.document_count, record.page_count, record.sheet_count) == (1, 2, 1)
        assert record.retention_years is None and record.access_level == "conditional"
        assert record.paper_record_code == "HS-GIAY-7" and record.physical_condition == "Tốt"
        assert record.start_date == record.end_date == date(2024, 3, 1)
        assert "Trích lục khai sinh" in record.keywords and record.due_on is None
        # a second copy of another result under the same dossier, and a re-run of the first
        other, second = stored_copy(s, dossier="H26-0001", pages=3, issued=date(2024, 5, 2))
        file_document(s, second, other, CIVIL)
        file_document(s, first, result, CIVIL)  # idempotent
    with rt.session() as s:
        record = get_record(s, "H26-0001")
        rows = s.scalars(select(ArchiveDocument).where(ArchiveDocument.record_id == record.id)
                         .order_by(ArchiveDocument.sequence)).all()
        assert [r.sequence for r in rows] == [1, 2]
        assert (record.document_count, record.page_count, record.sheet_count) == (2, 5, 1)
        assert (record.start_date, record.end_date) == (date(2024, 3, 1), date(2024, 5, 2))


def test_a_result_without_dossier_gets_its_own_record(rt):
    with rt.session() as s:
        result, doc = stored_copy(s, dossier=None)
        row = file_document(s, doc, result, CIVIL)
        assert row.record.code == f"KQ-{result.id}"


def test_longest_retention_and_strictest_access_win_unless_set_by_hand(rt):
    with rt.session() as s:
        r1, d1 = stored_copy(s, dossier="H26-0002", document_type="cong_van")
        record = file_document(s, d1, r1, LETTER).record
        assert (record.retention_years, record.access_level) == (10, "open")
        assert record.due_on == date(2035, 1, 1)  # ended 2024, kept 10 years
        r2, d2 = stored_copy(s, dossier="H26-0002")
        file_document(s, d2, r2, CIVIL)
        assert (record.retention_years, record.access_level) == (None, "conditional")
        assert record.due_on is None
        update_record(s, record, {"retention_years": 5, "access_level": "open",
                                  "sheet_count": 9})
        r3, d3 = stored_copy(s, dossier="H26-0002", pages=4)
        file_document(s, d3, r3, CIVIL)  # defaults and recounts leave hand-set values alone
        assert (record.retention_years, record.access_level, record.sheet_count) == (5, "open", 9)
        assert record.document_count == 3 and record.due_on == date(2030, 1, 1)


def test_bad_edits_are_refused_with_the_reason(rt):
    with rt.session() as s:
        result, doc = stored_copy(s, dossier="H26-0003")
        record = file_document(s, doc, result, CIVIL).record
        for values, words in (({"access_level": "secret"}, "access level"),
                              ({"retention_years": 0}, "retention"),
                              ({"start_date": date(2024, 2, 1), "end_date": date(2024, 1, 1)},
                               "before"),
                              ({"document_count": 3}, "not an editable"),
                              ({"title": "  "}, "title")):
            with pytest.raises(RecordError, match=words):
                update_record(s, record, values)


def test_due_lists_documents_past_retention_until_a_decision_is_recorded(rt):
    with rt.session() as s:
        r1, d1 = stored_copy(s, dossier="H20-0001", issued=date(2020, 6, 1), pages=1)
        old = file_document(s, d1, r1, LETTER).record
        r2, d2 = stored_copy(s, dossier="H20-0002", issued=date(2020, 6, 1))
        file_document(s, d2, r2, CIVIL)  # permanent: never due
        r3, d3 = stored_copy(s, dossier="H24-0001", issued=date(2024, 6, 1))
        file_document(s, d3, r3, LETTER)  # due only in 2035
        assert old.due_on == date(2031, 1, 1)
        assert list(due_documents(s, date(2030, 12, 31))) == []
        due = list(due_documents(s, date(2031, 1, 1)))
        assert [(rec.code, doc.id) for rec, _row, doc, _res in due] == [("H20-0001", d1.id)]
        with pytest.raises(RecordError, match="vĩnh viễn"):
            record_disposal(s, get_record(s, "H20-0002"), decision="1/QĐ-UBND",
                            decided_on=date(2031, 2, 1), decided_by=None, actor="test")
        record_disposal(s, old, decision="15/QĐ-UBND", decided_on=date(2031, 2, 1),
                        decided_by="Chủ tịch UBND phường", actor="test")
        assert list(due_documents(s, date(2031, 3, 1))) == []
        assert len(list(due_documents(s, date(2031, 3, 1), include_decided=True))) == 1
    with rt.session() as s:  # recorded, not deleted
        from storage.catalog import Document

        assert s.get(Document, d1.id) is not None and get_record(s, "H20-0001") is not None


def test_export_stream_walks_records_in_order_with_objects_and_checksums(rt):
    with rt.session() as s:
        fonds = upsert_fonds(s, "P-01", "Phông UBND phường Phúc Xá")
        docs = {}
        for dossier in ("H26-0005", "H26-0004"):
            for _ in range(3):
                result, doc = stored_copy(s, dossier=dossier)
                file_document(s, doc, result, CIVIL)
                docs[doc.id] = doc
        update_record(s, get_record(s, "H26-0004"), {"fonds_id": fonds.id})
        assert fonds.document_count == 3
        stored_copy(s, dossier="H26-0006")  # not filed: not exported
    with rt.session() as s:
        entries = list(iter_export_entries(s, ["H26-0005", "H26-0004"], chunk=2))
        assert [(e.record["code"], e.document["sequence"]) for e in entries] == [
            ("H26-0004", 1), ("H26-0004", 2), ("H26-0004", 3),
            ("H26-0005", 1), ("H26-0005", 2), ("H26-0005", 3)]
        first = entries[0]
        assert first.record["fonds"] == {"code": "P-01", "name": "Phông UBND phường Phúc Xá"}
        assert first.record["retention"] == "Vĩnh viễn" and first.record["document_count"] == 3
        doc = docs[first.document["document_id"]]
        assert first.document["signed_key"] == doc.signed_key
        assert first.document["signed_sha256"] == doc.signed_sha256
        assert first.document["original_key"] == doc.original_key
        assert first.document["original_sha256"] == doc.source_sha256
        assert first.document["code"] == "H26-0004.001"
        assert first.document["subject_id"] == "001099012345"  # the exporter masks for a DIP
        assert len(list(iter_export_entries(s, []))) == 6
        with pytest.raises(RecordError, match="no record NOPE"):
            list(iter_export_entries(s, ["H26-0004", "NOPE"]))


def test_retention_values():
    assert parse_retention("Vĩnh viễn") is None and parse_retention("vinh-vien") is None
    assert parse_retention("10 năm") == 10 and parse_retention(20) == 20
    assert parse_retention("5") == 5
    for bad in ("mười năm", "0", 0, 2.5, "", "300 năm"):
        with pytest.raises(RetentionError):
            parse_retention(bad)
    assert due_on(date(2020, 12, 31), 10) == date(2031, 1, 1)
    assert due_on(date(2020, 1, 1), None) is None and due_on(None, 5) is None


def test_migration_downgrades_and_upgrades_again(rt, catalog_url):  # noqa: F811
    with rt.session() as s:
        result, doc = stored_copy(s, dossier="H26-0009")
        file_document(s, doc, result, CIVIL)
    try:
        db.downgrade(catalog_url, "0020_records@-1")
        db.get_engine(catalog_url).dispose()
        tables = set(inspect(db.get_engine(catalog_url)).get_table_names())
        assert not {t for t in tables if t.startswith("archive_")}
        assert {"results", "documents"} <= tables
    finally:
        db.upgrade(catalog_url)
        db.get_engine(catalog_url).dispose()
    with db.session_scope(catalog_url) as s:
        assert s.scalar(select(Record).where(Record.code == "H26-0009")) is None
        result, doc = stored_copy(s, dossier="H26-0009")
        assert file_document(s, doc, result, CIVIL).record.document_count == 1


def test_the_sign_stage_files_what_it_stores(rt):
    """The real sign stage (TEST key) files a stored document into its dossier's record with
    the defaults of its type (quyet_dinh: permanent; a person's: conditional)."""
    from tests.storage.test_result_link import scan

    first = scan(rt, dossier="H24-0100", number="7/QĐ-UBND", issued="2024-03-05")
    second = scan(rt, dossier="H24-0100", number="8/QĐ-UBND", issued="2024-04-05")
    with rt.session() as s:
        record = get_record(s, "H24-0100")
        assert record is not None and record.document_count == 2
        assert (record.retention_years, record.access_level) == (None, "conditional")
        assert (record.start_date, record.end_date) == (date(2024, 3, 5), date(2024, 4, 5))
        codes = s.scalars(select(ArchiveDocument.code).where(
            ArchiveDocument.document_id.in_([first, second])).order_by(ArchiveDocument.code))
        assert list(codes) == ["H24-0100.001", "H24-0100.002"]
        assert record.title.startswith("Hồ sơ ") and "H24-0100" in record.title
