"""The API's full-text search over results: the newest results with a document whose OCR text
matches a query, found fast whether a handful or every document matches.

One statement (results newest first, `EXISTS` on a matching document) leaves the planner to
choose between two ways, and at 1M results on PostgreSQL it chose badly for names: p95 ~0.5 s.
`newest_matching` asks the planner only for its estimates (EXPLAIN, not run: how many documents
match, from the per-word statistics; how many results pass the other filters) and chooses:

- few matches (under `FEW_MATCHES`, and under the results the other filters leave): read them
  first (GIN index, each one's result, sort the few), at most `MATCH_BOUND` of them: more means
  the estimate was low, and the search walks instead;
- many: walk the results newest first and probe each one's documents until the page is full:
  on the newest-first index, or, when the other filters leave fewer than `SORT_FIRST` results
  (a unit), over those results gathered and sorted first.

Every way returns the rows, order and LIMIT of the simple statement. SQLite (FTS5) has no
estimate but counts matches cheaply in the FTS table alone, up to `FEW_SQLITE`: few, it reads
them first; more, it runs the simple statement (at 20k results: names 35 -> 4 ms, words on
every document unchanged at ~15 ms).

Measured (bench/catalog.py --api-search, 1M results, 2 shared cores): reading the matches
first costs ~10 us per match; walking ~10-15 us per result walked, (page size) x (results /
matches) of them; both meet around 5,000 matches. Names went from p95 ~0.5 s to ~0.16 s; what
is left is names matching 1,000-20,000 documents (words like "dinh" or "nam" are on every
one), where either way reads thousands of rows: 60-190 ms.
"""

from __future__ import annotations

import json

from sqlalchemy import Select, exists, func, literal_column, select, true, union_all
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.expression import ClauseElement, Executable

from storage.catalog import Document, Result
from storage.search import count_matches, match_documents, terms

FEW_MATCHES = 6000  # estimated matching documents up to which they are read first
MATCH_BOUND = 12000  # the most read first; beyond it the search walks the results instead
SORT_FIRST = 30_000  # estimated results left by the other filters under which a walk sorts them
FEW_SQLITE = 1000  # matching documents (counted) up to which SQLite reads them first


class Explain(Executable, ClauseElement):
    """`EXPLAIN (FORMAT JSON)` of a statement: the plan and its estimates, nothing run."""

    inherit_cache = False  # compiled each time (~0.4 ms)

    def __init__(self, statement):
        self.statement = statement


@compiles(Explain, "postgresql")
def _explain(element, compiler, **kw):
    return "EXPLAIN (FORMAT JSON) " + compiler.process(element.statement, **kw)


def estimates(query: Select, text_: str) -> Explain:
    """PostgreSQL: the plan of (documents matching `text_`) UNION ALL (results of `query`
    without order and limit); `read_estimates` takes the two row estimates out of it."""
    matching = select(literal_column("1")).select_from(Document).where(
        match_documents("postgresql", text_))
    candidates = query.with_only_columns(literal_column("1")).order_by(None).limit(None)
    return Explain(union_all(matching, candidates))


def read_estimates(plan) -> tuple[float, float]:
    """(matching documents, candidate results) from the `estimates` plan."""
    if isinstance(plan, str):
        plan = json.loads(plan)
    top = plan[0]["Plan"]
    parts = top.get("Plans", [])
    if top["Node Type"] != "Append" or len(parts) != 2:  # not the expected shape: walk
        return float("inf"), float("inf")
    return parts[0]["Plan Rows"], parts[1]["Plan Rows"]


def from_matches(dialect: str, query: Select, text_: str, bound: int) -> Select:
    """`query` restricted to the results of the matching documents, read first, if there are at
    most `bound` of them.

    `query` selects results (with columns labelled `id` and `created_at`) newest first with a
    LIMIT. The statement's rows are those of `query` with `sohoa_hits` in front: how many
    matching documents were read; more than `bound` means not all were, and the rows may be
    wrong. When `query` has no row, there is one row of NULLs with that count.
    """
    hits = (select(Document.result_id)
            .where(Document.result_id.is_not(None), match_documents(dialect, text_))
            .limit(bound + 1).cte("sohoa_hits").prefix_with("MATERIALIZED", dialect="postgresql"))
    page = query.where(Result.id.in_(select(hits.c.result_id))).subquery("sohoa_page")
    meta = select(func.count().label("sohoa_hits")).select_from(hits).subquery("sohoa_meta")
    return (select(meta.c.sohoa_hits, *page.c)
            .select_from(meta.outerjoin(page, true()))
            .order_by(page.c.created_at.desc(), page.c.id.desc()))


def with_exists(dialect: str, query: Select, text_: str) -> Select:
    """`query` with `EXISTS` (a matching document of the result): the simple statement."""
    return query.where(exists(_probe(dialect, text_, Result.id)))


def walking(query: Select, text_: str, *, sort_first: bool) -> Select:
    """PostgreSQL: the rows of `with_exists`, probing results one by one in the query's order
    until the LIMIT is reached.

    The probe's OFFSET 0 keeps it a subplan run for each row, so the planner may neither join
    every match first nor split the walk between parallel workers (which probed three times the
    rows). Without `sort_first` the probe filters the query's own scan: the newest-first index,
    walked as far as needed. With it, the query without its LIMIT becomes a subquery, planned
    for all its rows (the outer ORDER BY asks for them): the results the filters leave are
    gathered and sorted first, then probed in order. That costs the size of that set whatever the
    words; walking the index instead costs the rows walked, which grows past every result the
    filters drop: a district's results, all older than the 2025 reform, sat 134,000 rows deep.
    """
    if not sort_first:
        return query.where(exists(_probe("postgresql", text_, Result.id).offset(0)))
    limit = query._limit_clause  # the LIMIT (a value or a bound parameter), kept for the outside
    ordered = query.limit(None).offset(0).subquery("sohoa_sorted")
    return (select(*ordered.c)
            .where(exists(_probe("postgresql", text_, ordered.c.id).offset(0)))
            .order_by(ordered.c.created_at.desc(), ordered.c.id.desc()).limit(limit))


def _probe(dialect: str, text_: str, result_id) -> Select:
    return select(literal_column("1")).where(Document.result_id == result_id,
                                             match_documents(dialect, text_))


async def newest_matching(run, dialect: str, query: Select, text_: str) -> list:
    """The rows of `query` (results newest first with a LIMIT, see `from_matches`) whose result
    has a document matching `text_`: what `with_exists(dialect, query, text_)` returns.

    `run` is an async callable running a statement and returning its rows (the API's
    `reads.all`).
    """
    if not terms(text_):
        return []  # matches nothing (`match_documents`)
    if dialect == "postgresql":
        matches, candidates = read_estimates((await run(estimates(query, text_)))[0][0])
        # a walk probes at most the candidates: fewer of them than matches, walk
        few = matches <= min(FEW_MATCHES, candidates)
    else:  # SQLite: counted (FTS5 alone, stopping at the threshold)
        few = (await run(count_matches(dialect, text_, FEW_SQLITE + 1)))[0][0] <= FEW_SQLITE
    if few:
        rows = await run(from_matches(dialect, query, text_, MATCH_BOUND))
        if rows[0].sohoa_hits <= MATCH_BOUND:
            return [row for row in rows if row.id is not None]
    if dialect != "postgresql":
        return await run(with_exists(dialect, query, text_))
    return await run(walking(query, text_, sort_first=candidates < SORT_FIRST))
