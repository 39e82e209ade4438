"""storage.result_search: every way it may take (the matches first, the matches first past
their bound, the walk on the newest-first index, the walk over sorted candidates) returns the
rows, order and pages of the simple EXISTS statement, for rare and common words, with a unit
filter and across cursor pages, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import hashlib
import uuid
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import select, tuple_

from storage import result_search
from storage.catalog import AdminUnit, Document, Result
from storage.units import find_unit

INF = float("inf")
WAYS = {  # name: the estimates (matching documents, candidate results) PostgreSQL is given,
    # FEW_SQLITE, MATCH_BOUND, and the statements it must run after estimating or counting
    "matches first": ((0, INF), 10**9, 10**6, ["matches"]),
    "past the bound": ((0, INF), 10**9, 2, ["matches", "walk"]),  # 3 matches read: too many
    "walk": ((INF, INF), -1, 10**6, ["walk"]),
    "sorted walk": ((INF, 0), -1, 10**6, ["sorted walk"]),  # SQLite walks one way
}
RARE = {2, 5, 6, 11, 17, 23}  # results whose document says "quokka"; every one says "zebra"


@pytest.fixture
def corpus(catalog_runtime):
    """24 results in two communes, three to a minute (ties broken by id), newest last."""
    rt, t0, ids = catalog_runtime, datetime(2030, 1, 1, 8, 0, tzinfo=UTC), {}
    with rt.session() as s:
        units = [find_unit(s, code, date(2024, 5, 1)) for code in ("00004", "00001")]

        def doc(unit, result, body):
            s.add(Document(state="stored", source_name="scan.pdf", source_size=1,
                           source_sha256=hashlib.sha256(uuid.uuid4().bytes).hexdigest(),
                           unit_id=unit.id, result=result, ocr_text=body))

        for i in range(1, 25):
            unit = units[i % 2]
            result = Result(unit_id=unit.id, document_number=f"{i}/QĐ",
                            created_at=t0 + timedelta(minutes=i // 3))
            s.add(result)
            if i != 24:  # one result without any document
                doc(unit, result, f"Quyết định số {i}: Zebra" + (", ông Quokka" if i in RARE
                                                                  else ""))
            if i == 6:  # a second matching document: still one row
                doc(unit, result, "bản sao quokka zebra")
            if i == 7:
                doc(unit, result, None)
            s.flush()
            ids[i] = result.id
        doc(units[0], None, "quokka zebra, not yet a result")
    return rt, ids, [u.id for u in units]


def _run(rt, query, q, way, monkeypatch, check):
    estimated, few, bound, expected = WAYS[way]
    monkeypatch.setattr(result_search, "read_estimates", lambda plan: estimated)
    monkeypatch.setattr(result_search, "FEW_SQLITE", few)
    monkeypatch.setattr(result_search, "MATCH_BOUND", bound)
    ran = []
    with rt.session() as s:
        dialect = s.get_bind().dialect.name

        async def run(statement):
            result = s.execute(statement)
            rows, columns = result.all(), set(result.keys())
            ran.append("estimate" if "id" not in columns
                       else "matches" if "sohoa_hits" in columns
                       else "sorted walk" if "sohoa_sorted" in str(statement) else "walk")
            return rows

        rows = asyncio.run(result_search.newest_matching(run, dialect, query, q))
        simple = s.execute(result_search.with_exists(dialect, query, q)).all()
    if result_search.terms(q):
        assert ran[0] == "estimate"
        ran = ran[1:]
    if check:
        if dialect != "postgresql":  # SQLite walks only one way
            expected = ["walk" if w == "sorted walk" else w for w in expected]
        assert ran == expected, way
    return [(r.id, r.created_at) for r in rows], [(r.id, r.created_at) for r in simple]


def _query(unit_ids=None, cursor=None, limit=4):
    query = (select(Result.id, Result.created_at, AdminUnit.code.label("unit_code"))
             .join(AdminUnit, AdminUnit.id == Result.unit_id)
             .order_by(Result.created_at.desc(), Result.id.desc()).limit(limit + 1))
    if cursor is not None:
        query = query.where(tuple_(Result.created_at, Result.id) < tuple_(*cursor))
    if unit_ids is not None:
        query = query.where(Result.unit_id.in_(unit_ids))
    return query


def _pages(rt, q, way, monkeypatch, unit_ids=None, limit=4, check=True):
    """Cursor pages as the route makes them: [(ids of the page, next cursor)]."""
    pages, cursor = [], None
    while True:
        rows, simple = _run(rt, _query(unit_ids, cursor, limit), q, way, monkeypatch, check)
        assert rows == simple, (way, q, cursor)
        more = len(rows) > limit
        rows = rows[:limit]
        cursor = (rows[-1][1], rows[-1][0]) if more else None
        pages.append(([r[0] for r in rows], cursor and cursor[1]))
        if cursor is None:
            return pages


def _newest_first(rt, ids: set[str]) -> list[str]:
    with rt.session() as s:
        rows = s.execute(select(Result.id, Result.created_at).where(Result.id.in_(ids))).all()
    return [r.id for r in sorted(rows, key=lambda r: (r.created_at, r.id), reverse=True)]


@pytest.mark.parametrize("way", list(WAYS))
@pytest.mark.parametrize(("q", "matching"), [
    ("zebra", set(range(1, 24))),  # every document
    ("Quokka", RARE),
    ("QUOKKA zébra", RARE),
])
def test_every_way_pages_like_the_simple_statement(corpus, monkeypatch, way, q, matching):
    rt, ids, units = corpus
    pages = _pages(rt, q, way, monkeypatch)
    assert [i for page, _ in pages for i in page] == _newest_first(rt, {ids[i] for i in matching})
    assert all(len(page) == 4 for page, _ in pages[:-1])
    in_unit = _pages(rt, q, way, monkeypatch, unit_ids=[units[0]], limit=3)
    assert [i for page, _ in in_unit for i in page] == _newest_first(
        rt, {ids[i] for i in matching if i % 2 == 0})


@pytest.mark.parametrize("way", list(WAYS))
def test_no_match_no_word_and_a_filter_that_leaves_nothing(corpus, monkeypatch, way):
    rt, ids, units = corpus
    for q, unit_ids in (("hippogriff", None), ("!!!", None), ("quokka", [-1])):  # "!!!": no word
        assert _pages(rt, q, way, monkeypatch, unit_ids, check=False) == [([], None)]


@pytest.mark.parametrize("catalog_backend", ["postgresql"], indirect=True)  # SQLite counts
def test_estimates_of_a_real_plan(corpus):
    rt, _, units = corpus
    with rt.session() as s:
        assert s.get_bind().dialect.name == "postgresql"
        plan = s.execute(result_search.estimates(_query([units[0]]), "quokka")).scalar()
    matches, candidates = result_search.read_estimates(plan)
    assert 1 <= matches < INF and 1 <= candidates < INF


def test_estimates_parse_and_odd_plans_walk():
    plan = [{"Plan": {"Node Type": "Append", "Plans": [{"Plan Rows": 12}, {"Plan Rows": 3400}]}}]
    assert result_search.read_estimates(plan) == (12, 3400)
    assert result_search.read_estimates('[{"Plan": {"Node Type": "Result"}}]') == (INF, INF)
