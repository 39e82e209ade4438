"""Full-text search over OCR text on SQLite (FTS5) and PostgreSQL (tsvector + unaccent), typed
with or without diacritics; the triggers keep the index in step with the documents; migration
0007_search up and down with its backfill; the lookup indexes exist and are used."""

from __future__ import annotations

import hashlib
import unicodedata
import uuid
from datetime import date

import pytest
from sqlalchemy import inspect, select, text

from storage import db
from storage.catalog import AdminUnit, Document, Result
from storage.search import count_matches, fold, match_documents, search_documents, terms
from storage.units import find_unit
from tests.storage.conftest import new_catalog

DECISION = ("ỦY BAN NHÂN DÂN QUẬN ĐỐNG ĐA\nSố: 125/QĐ-UBND\nQUYẾT ĐỊNH Về việc công nhận tổ "
            "hòa giải; ông Nguyễn Văn Hùng, sinh năm 1980, thường trú tại phường Láng Hạ")
PERMIT = ("GIẤY PHÉP XÂY DỰNG Số: 88/GPXD cấp cho bà Trần Thị Đào, nhà ở riêng lẻ tại "
          "phường Kim Liên")
LETTER = "Công văn số 12/UBND-VX về việc khen thưởng ông Lê Văn Nam"


def add_doc(session, body: str | None, *, unit: str = "00004", on: date = date(2024, 5, 1),
            procedure: str | None = None, dossier: str | None = None, state: str = "stored",
            issued: date | None = None) -> str:
    unit_row = find_unit(session, unit, on)
    result = None
    if issued is not None:
        result = Result(unit_id=unit_row.id, issued_on=issued, dossier_code=dossier)
        session.add(result)
        session.flush()
    digest = hashlib.sha256(uuid.uuid4().bytes).hexdigest()
    doc = Document(state=state, source_name="scan.pdf", source_sha256=digest, source_size=1,
                   unit_id=unit_row.id, procedure_code=procedure, dossier_code=dossier,
                   result_id=result.id if result else None, ocr_text=body)
    session.add(doc)
    session.flush()
    return doc.id


@pytest.fixture
def corpus(catalog_runtime):
    with catalog_runtime.session() as s:
        ids = {"decision": add_doc(s, DECISION, unit="00004", procedure="1.001193",
                                   dossier="HS-001", issued=date(2021, 3, 1)),
               "permit": add_doc(s, PERMIT, unit="00001", procedure="1.009794",
                                 issued=date(2023, 6, 1)),
               "letter": add_doc(s, LETTER, unit="001", dossier="HS-003"),
               "no-text": add_doc(s, None)}
    return catalog_runtime, ids


def found(rt, query: str, **filters) -> set[str]:
    with rt.session() as s:
        return set(search_documents(s, query, **filters))


def test_fold_and_terms():
    assert fold("Quyết định ĐỐNG ĐA") == "quyet dinh dong da"
    nfd = unicodedata.normalize("NFD", "Nguyễn Văn Hùng")
    assert fold(nfd) == "nguyen van hung"
    assert terms("Số: 125/QĐ-UBND") == ["so", "125", "qd", "ubnd"]
    assert terms("hùng HÙNG hung") == ["hung"]
    assert terms(" -- %_ ") == []


def test_with_and_without_diacritics(corpus):
    rt, ids = corpus
    for query in ("Nguyễn Văn Hùng", "nguyen van hung", "NGUYEN VAN HUNG", "hòa giải",
                  unicodedata.normalize("NFD", "hòa giải"), "Láng Hạ", "lang ha"):
        assert found(rt, query) == {ids["decision"]}, query
    # "đ" is not a mark: it is folded to "d" on both sides
    assert found(rt, "Đống Đa") == found(rt, "dong da") == {ids["decision"]}
    assert found(rt, "Trần Thị Đào") == found(rt, "tran thi dao") == {ids["permit"]}
    assert found(rt, "đào") == {ids["permit"]}


def test_count_matches_stops_at_its_bound(corpus):
    rt, _ = corpus
    with rt.session() as s:
        count = [s.scalar(count_matches(s, q, up_to)) for q, up_to in (
            ("ông", 10), ("ÔNG", 1), ("ông hùng", 10), ("hippogriff", 10), ("%_ --", 10))]
    assert count == [2, 1, 1, 0, 0]


def test_every_word_must_appear_in_any_order(corpus):
    rt, ids = corpus
    assert found(rt, "hùng nguyễn") == {ids["decision"]}
    assert found(rt, "ông") == {ids["decision"], ids["letter"]}
    assert found(rt, "hùng khen") == set()  # each word is in some document, not both in one
    assert found(rt, "nguy") == set()  # whole words, not prefixes


def test_numbers_and_punctuation(corpus):
    rt, ids = corpus
    assert found(rt, "125/QĐ-UBND") == {ids["decision"]}
    assert found(rt, "125 qd ubnd") == {ids["decision"]}
    assert found(rt, "12/UBND-VX") == {ids["letter"]}
    assert found(rt, "88/GPXD") == {ids["permit"]}


def test_query_syntax_is_literal(corpus):
    rt, ids = corpus
    assert found(rt, "--") == set()
    assert found(rt, '"') == set()
    assert found(rt, "hùng*") == {ids["decision"]}
    assert found(rt, "nguyen OR nam") == set()  # OR is a word here, and no text has it
    assert found(rt, "NEAR(nguyen hung)") == set()  # near is a word
    assert found(rt, "nguyen & !hung") == {ids["decision"]}
    assert found(rt, "ông: 'Nguyễn'") == {ids["decision"]}


def test_index_follows_updates_and_deletes(corpus):
    rt, ids = corpus
    with rt.session() as s:
        doc = s.get(Document, ids["letter"])
        doc.ocr_text = "Thông báo thu hồi giấy phép"
    assert found(rt, "khen thưởng") == set()
    assert found(rt, "thu hoi") == {ids["letter"]}
    with rt.session() as s:  # a state change leaves the text and its index alone
        s.get(Document, ids["letter"]).state = "failed"
    assert found(rt, "thu hoi") == {ids["letter"]}
    with rt.session() as s:
        s.get(Document, ids["no-text"]).ocr_text = "thu hồi bổ sung"
        s.get(Document, ids["decision"]).ocr_text = None
    assert found(rt, "thu hoi") == {ids["letter"], ids["no-text"]}
    assert found(rt, "nguyen van hung") == set()
    with rt.session() as s:
        s.delete(s.get(Document, ids["letter"]))
    assert found(rt, "thu hoi") == {ids["no-text"]}
    with rt.session() as s:  # the id that is gone is gone from the index too
        assert s.scalar(select(Document.id).where(match_documents(s, "thong bao"))) is None


def test_filters(corpus):
    rt, ids = corpus
    with rt.session() as s:
        ward = find_unit(s, "00004", date(2024, 1, 1)).id
        commune_ids = set(s.scalars(select(AdminUnit.id).where(AdminUnit.level == "commune")))
    assert found(rt, "phuong", unit_ids=[ward]) == {ids["decision"]}
    assert found(rt, "phuong") == {ids["decision"], ids["permit"]}
    assert found(rt, "ong", level="district") == {ids["letter"]}
    assert found(rt, "ong", level="commune") == {ids["decision"]}
    assert found(rt, "phuong", procedure="1.009794") == {ids["permit"]}
    assert found(rt, "ong", dossier="HS-003") == {ids["letter"]}
    assert found(rt, "phuong", issued_from=date(2022, 1, 1)) == {ids["permit"]}
    assert found(rt, "phuong", issued_to=date(2022, 1, 1)) == {ids["decision"]}
    assert found(rt, "phuong", state="failed") == set()
    assert len(commune_ids) > 100


def test_newest_first_and_limit(catalog_runtime):
    rt = catalog_runtime
    with rt.session() as s:
        made = [add_doc(s, f"Giấy xác nhận tình trạng hôn nhân số {n}") for n in range(5)]
    with rt.session() as s:
        newest = search_documents(s, "tinh trang hon nhan", limit=3)
        everything = search_documents(s, "tinh trang hon nhan", limit=50)
        with pytest.raises(ValueError, match="limit"):
            search_documents(s, "x", limit=0)
    assert set(everything) == set(made) and len(everything) == 5
    assert newest == everything[:3]


def test_lookup_indexes_exist(catalog_backend):
    inspector = inspect(db.get_engine(catalog_backend))
    documents = {i["name"]: i["column_names"] for i in inspector.get_indexes("documents")}
    results = {i["name"]: i["column_names"] for i in inspector.get_indexes("results")}
    assert documents["ix_documents_dossier"] == ["dossier_code"]
    assert documents["ix_documents_created"] == ["created_at", "id"]
    assert results["ix_results_issued"] == ["issued_on"]
    for name, columns in (("ix_results_number", ["document_number"]),
                          ("ix_results_dossier", ["dossier_code"]),
                          ("ix_results_subject", ["subject_id"]),
                          ("ix_results_procedure", ["procedure_code"]),
                          ("ix_results_unit_issued", ["unit_id", "issued_on"])):
        assert results[name] == columns


def test_full_text_query_uses_the_index(corpus):
    rt, _ = corpus
    with rt.session() as s:
        stmt = select(Document.id).where(match_documents(s, "nguyen van hung"))
        compiled = stmt.compile(s.get_bind(), compile_kwargs={"literal_binds": True})
        if s.get_bind().dialect.name == "postgresql":
            s.execute(text("SET LOCAL enable_seqscan = off"))  # a tiny table would be scanned
            plan = "\n".join(s.scalars(text(f"EXPLAIN {compiled}")))
            assert "ix_documents_search" in plan
        else:
            plan = " ".join(str(r[-1]) for r in s.execute(text(f"EXPLAIN QUERY PLAN {compiled}")))
            assert "VIRTUAL TABLE INDEX" in plan and "document_fts" in plan


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
def test_migration_backfills_and_downgrades(kind, tmp_path_factory, pg_database):
    url = new_catalog(kind, tmp_path_factory, pg_database, "search_mig")
    db.upgrade(url)
    db.downgrade(url, "0007_search@-1")
    with db.session_scope(url) as s:  # documents written before the index existed
        unit = AdminUnit(code="00004", name="Phường Trúc Bạch", kind="Phường", level="commune",
                         province_code="01", valid_from=date(1990, 1, 1), source="test")
        s.add(unit)
        s.flush()
        s.add(Document(state="stored", source_name="a.pdf", source_sha256="a" * 64,
                       source_size=1, unit_id=unit.id, ocr_text="Phường Trúc Bạch, Đống Đa"))
    db.upgrade(url)
    with db.session_scope(url) as s:
        assert len(search_documents(s, "truc bach dong da")) == 1
    db.downgrade(url, "0007_search@-1")
    inspector = inspect(db.get_engine(url))
    assert "ix_documents_dossier" not in {i["name"] for i in inspector.get_indexes("documents")}
    assert "search_vector" not in {c["name"] for c in inspector.get_columns("documents")}
    assert not {"document_fts", "document_search_keys"} & set(inspector.get_table_names())
    with db.session_scope(url) as s:  # the documents table works without the triggers
        s.execute(text("UPDATE documents SET ocr_text = 'x'"))
        s.execute(text("DELETE FROM documents"))
    db.upgrade(url)
    assert db.current_revision(url) == db.head_revision(url)


def test_no_words_inside_a_correlated_exists(corpus):
    """The API wraps the match in EXISTS(... documents.result_id = results.id ...): a query
    without words must still be valid SQL there, and match nothing."""
    from sqlalchemy import and_, exists, func

    rt, _ = corpus
    with rt.session() as s:
        for query in ("--", "nguyen van hung"):
            stmt = select(func.count()).select_from(Result).where(exists().where(and_(
                Document.result_id == Result.id, match_documents(s, query))))
            assert s.scalar(stmt) == (0 if query == "--" else 1)
