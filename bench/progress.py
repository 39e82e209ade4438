"""Benchmark: the progress report over N synthetic results (default 10 million) in PostgreSQL.

Loads results over every Hanoi unit (city, 30 districts and the legacy communes until
2025-06-30; the city and the 126 new communes after), links a share of them to stored documents,
then times `quotas.progress.build_report` for a full past year per level, for all levels, for
2025 (both periods) and for one unit, and prints EXPLAIN so one sees the indexes at work.
Prints figures; asserts nothing about time.

    python -m bench.progress --results 1000000
    python -m bench.progress --skip-load        # re-time an already loaded database

The database (default `sohoa_bench_progress` on 127.0.0.1) is dropped and re-created unless
--skip-load.

Measured 2026-11-25 on the shared 2-core box (PostgreSQL 15, default settings, 128 MB shared
buffers), 10,000,000 results + 6,304,178 documents (60% digitized, 3% under review):
  load: COPY 333 s, facts rebuild 109 s, indexes and constraints 320 s, VACUUM ANALYZE 19 s
  (441,011 yearly counter rows, facts 2.1 GB with indexes, database 8.5 GB)
  full-year 2024 report, best of 3:  city 0.006 s, district 0.060 s, commune 0.115 s,
                                     all levels 0.106 s, one unit 0.009 s
  2025 all levels (both periods) 0.144 s; 2026 as of today 0.101 s;
  2024 as of 30 June: all levels 0.327 s, one unit 0.008 s; peak RSS of the client 63 MB.
Before the counters (facts table only, one GROUP BY scan): all levels 3.9 s; before the facts
(results ⋈ documents): 1.25 s at 1 million, so ~12 s at 10 million.

Measured 2026-12-05 at 1,000,000 results (issue #16; the box was shared by 8 sessions, load
average 8–14 on 2 cores, so 10M was not rebuilt), with denominators known per unit
(results.registered probes), pending-review counts and totals rows, best of 3:
  2024 all levels 0.136 s; 2025 all levels 0.152 s; one unit 0.040 s; --parent 001 0.040 s;
  2021–2025 trend (5 reports) 0.858 s; 2025 by month: a report per month end 3.67 s, month
  ends in one pass (build_month_reports) 1.71 s.
  Counting documents under review read every waiting document's heap row (150 ms at 1M) until
  the partial index ix_quota_documents_review.
Measured 2026-12-05 at 10,000,000 results + 6,298,769 documents (issue #16 targets; rows
generated inside PostgreSQL: 335 s, facts 156 s, indexes 681 s), with the box shared by 8
sessions (load average 15–18 on 2 cores: every figure is several times the quiet one; the 2024
all-levels report was 0.106 s at 10M on a quiet box), best of 3:
  2024 all levels 0.816 s (target < 2 s); 2025 all levels 0.856 s; one unit 0.091 s;
  2021–2025 trend: a report per year 4.434 s, one pass (build_year_reports) 2.084 s
  (target < 5 s); 2025 by month: a report per month end 29.2 s, one pass 7.9 s (before the two
  index range reads, month boundaries as comparisons and difference arrays: 12.5 s).
  EXPLAIN: the trend reads quota_result_years once (180k rows per worker, 0.97 s under load);
  the month reads are index-only scans of ix_quota_result_facts_issued and
  ix_quota_result_facts_digitized (Heap Fetches: 0), 815k and 921k entries.
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from sqlalchemy import select, text

from bench import results as bench_results

LOAD_TABLES = ("results", "documents", "quota_result_facts")
START, REFORM, TODAY = date(2015, 1, 1), date(2025, 7, 1), date(2026, 11, 25)


def log(message: str) -> None:
    print(message, flush=True)


def recreate_database(name: str, host: str) -> None:
    for sql in (f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)', f'CREATE DATABASE "{name}"'):
        subprocess.run(["psql", "-h", host, "-U", "postgres", "-d", "postgres", "-qc", sql],
                       check=True)


def _constraints_and_indexes(conn):
    tables = "('results', 'documents', 'quota_result_facts')"
    constraints = conn.execute(text(  # theirs, and every foreign key pointing at them
        "SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid), contype "
        f"FROM pg_constraint WHERE (conrelid::regclass::text IN {tables} "
        "AND contype IN ('p', 'u', 'f')) OR (contype = 'f' AND "
        f"confrelid::regclass::text IN {tables})")).all()
    indexes = conn.execute(text(
        f"SELECT indexname, indexdef FROM pg_indexes WHERE tablename IN {tables} "
        "AND indexname NOT IN (SELECT conname FROM pg_constraint)")).all()
    return constraints, indexes


PROCEDURES = ["1.001193", "1.000894", "1.001612", "1.004227", "1.009794", "2.001610"]


def generate_rows(conn, n_results: int, digitized_share: float, seed: int, *, before: list[int],
                  after: list[int], city: int) -> int:
    """Generate the results and their documents inside PostgreSQL (generate_series and random(),
    seeded), in chunks of a million: no row crosses the client. Returns the number of
    documents.

    Results are issued uniformly from 2015 to TODAY; 10% by the city, the rest by a unit valid
    on the issue day (before or after the 2025 reform); 30% have an end of validity, 3% are
    revoked, 90% were registered by the one-stop system. `digitized_share` of them have a stored
    copy (stored between the issue day, 2021 at the earliest, and TODAY), 3% more a copy waiting
    for review."""
    conn.execute(text("SELECT setseed(:s)"), {"s": (seed % 1000) / 1000})
    span, chunk, docs = (TODAY - START).days, 1_000_000, 0
    params = {"before": before, "after": after, "city": city, "procedures": PROCEDURES,
              "start": START, "reform": REFORM, "today": TODAY, "span": span,
              "share": digitized_share}
    t0 = time.perf_counter()
    for first in range(0, n_results, chunk):
        last = min(n_results, first + chunk) - 1
        docs += conn.execute(text("""
            WITH r AS (
              INSERT INTO results (id, dossier_code, procedure_code, unit_id, document_number,
                                   number_key, issued_on, in_force, valid_until, created_at,
                                   registered)
              SELECT md5('r' || i), 'HS' || lpad(i::text, 10, '0'),
                     (CAST(:procedures AS text[]))[1 + i % 6],
                     CASE WHEN random() < 0.1 THEN :city
                          WHEN issued >= :reform THEN (CAST(:after AS int[]))
                               [1 + floor(random() * cardinality(CAST(:after AS int[])))::int]
                          ELSE (CAST(:before AS int[]))
                               [1 + floor(random() * cardinality(CAST(:before AS int[])))::int]
                     END,
                     i || '/QĐ-UBND', i || '/QD-UBND', issued, random() >= 0.03,
                     CASE WHEN random() < 0.7 THEN NULL
                          ELSE issued + (30 + floor(random() * 3620))::int END,
                     (issued + time '08:00') AT TIME ZONE 'UTC', random() < 0.9
              FROM (SELECT i, CAST(:start AS date) + floor(random() * :span)::int AS issued
                    FROM generate_series(CAST(:first AS bigint), :last) i) g
              RETURNING id, dossier_code, unit_id, issued_on),
            rolled AS (
              SELECT r.*, random() AS roll, greatest(r.issued_on, DATE '2021-01-01') AS lo FROM r),
            dated AS (
              SELECT rolled.*, CASE WHEN roll < :share THEN
                  (lo + floor(random() * greatest(1, CAST(:today AS date) - lo))::int
                   + time '09:00') AT TIME ZONE 'UTC'
                ELSE (CAST(:today AS date) + time '09:00') AT TIME ZONE 'UTC' END AS at
              FROM rolled WHERE roll < :share + 0.03)
            INSERT INTO documents (id, state, source_name, source_sha256, source_size, unit_id,
                                   result_id, created_at, updated_at, stored_at)
            SELECT md5('d' || id), CASE WHEN roll < :share THEN 'stored' ELSE 'needs_review' END,
                   'scan' || substr(dossier_code, 3) || '.pdf',
                   md5('a' || id) || md5('b' || id), 100000, unit_id, id, at, at,
                   CASE WHEN roll < :share THEN at END
            FROM dated"""), {**params, "first": first, "last": last}).rowcount
        log(f"  generated {last + 1:,} results, {docs:,} documents "
            f"({time.perf_counter() - t0:.0f} s)")
    return docs


def load(url: str, n_results: int, digitized_share: float, seed: int) -> None:
    from storage import db
    from storage.catalog import AdminUnit
    from storage.units import seed_procedures, seed_units

    db.upgrade(url)
    with db.session_scope(url) as session:
        seed_units(session, provinces={"01"})
        seed_procedures(session)
        units = session.execute(select(AdminUnit.id, AdminUnit.level, AdminUnit.valid_from,
                                       AdminUnit.valid_to)
                                .where(AdminUnit.province_code == "01")).all()
    before = [u.id for u in units if u.valid_from < REFORM]
    after = [u.id for u in units if u.valid_to is None or u.valid_to >= REFORM]
    city = [u.id for u in units if u.level == "city"]
    log(f"units: {len(before)} before 2025-07-01, {len(after)} after; city {city}")

    engine = db.get_engine(url)
    with engine.begin() as conn:
        constraints, indexes = _constraints_and_indexes(conn)
        for table, name, _, _kind in sorted(constraints, key=lambda c: c[3] != "f"):
            conn.execute(text(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"'))
        for name, _ in indexes:
            conn.execute(text(f'DROP INDEX "{name}"'))
        for table in LOAD_TABLES:  # the facts are rebuilt in one statement after the load
            conn.execute(text(f"ALTER TABLE {table} DISABLE TRIGGER USER"))

    t0 = time.perf_counter()
    with engine.begin() as conn:
        docs = generate_rows(conn, n_results, digitized_share, seed,
                             before=before, after=after, city=city[0])
    t1 = time.perf_counter()
    from quotas.facts import rebuild_facts

    with db.session_scope(url) as session:
        session.execute(text("SET LOCAL work_mem = '512MB'"))
        facts = rebuild_facts(session)
    t_facts = time.perf_counter()
    log(f"  rebuilt {facts:,} result facts in {t_facts - t1:.1f} s")
    with engine.begin() as conn:
        for table in LOAD_TABLES:
            conn.execute(text(f"ALTER TABLE {table} ENABLE TRIGGER USER"))
        conn.execute(text("SET maintenance_work_mem = '512MB'"))
        for _, definition in indexes:
            conn.execute(text(definition))
        for table, name, definition, _ in sorted(constraints, key=lambda c: "puf".index(c[3])):
            conn.execute(text(f'ALTER TABLE {table} ADD CONSTRAINT "{name}" {definition}'))
    t2 = time.perf_counter()
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM ANALYZE"))
    t3 = time.perf_counter()
    log(f"loaded {n_results:,} results and {docs:,} documents: COPY {t1 - t0:.1f} s, facts "
        f"{t_facts - t1:.1f} s, indexes and constraints {t2 - t_facts:.1f} s, VACUUM ANALYZE "
        f"{t3 - t2:.1f} s")


def load_sqlite(url: str, n_results: int, digitized_share: float) -> None:
    """The same catalog in an SQLite file: rows generated by SQL inside SQLite (a recursive CTE
    and random(); SQLite's random() cannot be seeded, so the rows differ from PostgreSQL's, not
    their distribution), with the catalog's triggers and indexes dropped during the load and
    recreated from their own SQL after it, facts rebuilt in one statement, then ANALYZE."""
    from quotas.facts import rebuild_facts
    from storage import db
    from storage.catalog import AdminUnit
    from storage.units import seed_procedures, seed_units

    db.upgrade(url)
    with db.session_scope(url) as session:
        seed_units(session, provinces={"01"})
        seed_procedures(session)
        units = session.execute(select(AdminUnit.id, AdminUnit.level, AdminUnit.valid_from,
                                       AdminUnit.valid_to)
                                .where(AdminUnit.province_code == "01")).all()
    before = [u.id for u in units if u.valid_from < REFORM]
    after = [u.id for u in units if u.valid_to is None or u.valid_to >= REFORM]
    city = next(u.id for u in units if u.level == "city")
    engine = db.get_engine(url)
    t0 = time.perf_counter()
    with engine.begin() as conn:
        conn.exec_driver_sql("PRAGMA cache_size = -400000")
        dropped = conn.exec_driver_sql(
            "SELECT type, name, sql FROM sqlite_master WHERE type IN ('trigger', 'index') AND "
            "sql IS NOT NULL AND tbl_name IN ('results', 'documents', 'quota_result_facts', "
            "'quota_result_years')").all()
        for kind, name, _ in dropped:
            conn.exec_driver_sql(f'DROP {kind.upper()} "{name}"')
        for name, ids in (("bench_before", before), ("bench_after", after)):
            conn.exec_driver_sql(f"CREATE TEMP TABLE {name} (i INTEGER PRIMARY KEY, id INTEGER)")
            conn.exec_driver_sql(f"INSERT INTO {name} VALUES (?, ?)", list(enumerate(ids)))
        span, chunk, docs = (TODAY - START).days, 1_000_000, 0
        rand = "(abs(random()) / 9223372036854775808.0)"
        for first in range(0, n_results, chunk):
            last = min(n_results, first + chunk) - 1
            # one row of random draws per result, materialized so each draw is read once
            conn.exec_driver_sql("DROP TABLE IF EXISTS temp.bench_draws")
            conn.exec_driver_sql(f"""
                CREATE TEMP TABLE bench_draws AS
                WITH RECURSIVE g(i) AS (SELECT {first} UNION ALL SELECT i + 1 FROM g
                                        WHERE i < {last})
                SELECT i, date('{START.isoformat()}', '+' || (abs(random()) % {span})
                               || ' days') AS issued,
                       {rand} AS u_city, abs(random()) AS u_unit, {rand} AS u_valid,
                       abs(random()) % 3620 AS valid_days, {rand} AS u_force, {rand} AS u_reg,
                       {rand} AS roll, abs(random()) AS u_stored
                FROM g""")
            conn.exec_driver_sql(f"""
                INSERT INTO results (id, dossier_code, procedure_code, unit_id, document_number,
                                     number_key, issued_on, in_force, valid_until, created_at,
                                     registered)
                SELECT printf('%032x', i), printf('HS%010d', i),
                       CASE i % 6 {" ".join(f"WHEN {k} THEN '{c}'" for k, c in enumerate(PROCEDURES))}
                       END,
                       CASE WHEN u_city < 0.1 THEN {city}
                            WHEN issued >= '{REFORM.isoformat()}' THEN
                                 (SELECT id FROM bench_after WHERE i = u_unit % {len(after)})
                            ELSE (SELECT id FROM bench_before WHERE i = u_unit % {len(before)})
                       END,
                       i || '/QĐ-UBND', i || '/QD-UBND', issued, u_force >= 0.03,
                       CASE WHEN u_valid < 0.7 THEN NULL
                            ELSE date(issued, '+' || (30 + valid_days) || ' days') END,
                       issued || ' 08:00:00.000000', u_reg < 0.9
                FROM bench_draws""")
            docs += conn.exec_driver_sql(f"""
                INSERT INTO documents (id, state, source_name, source_sha256, source_size,
                                       unit_id, result_id, created_at, updated_at, stored_at)
                SELECT printf('%032x', i), CASE WHEN roll < {digitized_share} THEN 'stored'
                                                ELSE 'needs_review' END,
                       printf('scan%d.pdf', i), printf('%064x', i), 100000, r.unit_id, r.id,
                       at, at, CASE WHEN roll < {digitized_share} THEN at END
                FROM (SELECT d.i, d.roll, CASE WHEN d.roll < {digitized_share} THEN
                        date(max(d.issued, '2021-01-01'), '+' || (d.u_stored % max(1,
                             julianday('{TODAY.isoformat()}') - julianday(max(d.issued,
                             '2021-01-01')))) || ' days') || ' 09:00:00.000000'
                        ELSE '{TODAY.isoformat()} 09:00:00.000000' END AS at
                      FROM bench_draws d WHERE d.roll < {digitized_share} + 0.03) x
                JOIN results r ON r.id = printf('%032x', x.i)""").rowcount
            log(f"  generated {last + 1:,} results, {docs:,} documents "
                f"({time.perf_counter() - t0:.0f} s)")
    t1 = time.perf_counter()
    with db.session_scope(url) as session:
        facts = rebuild_facts(session)
    t_facts = time.perf_counter()
    log(f"  rebuilt {facts:,} result facts in {t_facts - t1:.1f} s")
    with engine.begin() as conn:
        conn.exec_driver_sql("PRAGMA cache_size = -400000")
        for _kind, _, sql in sorted(dropped, key=lambda d: d[0] != "index"):
            conn.exec_driver_sql(sql)
    t2 = time.perf_counter()
    with engine.begin() as conn:
        conn.exec_driver_sql("ANALYZE")
    t3 = time.perf_counter()
    log(f"loaded {n_results:,} results and {docs:,} documents: generated {t1 - t0:.1f} s, facts "
        f"{t_facts - t1:.1f} s, indexes and triggers {t2 - t_facts:.1f} s, ANALYZE "
        f"{t3 - t2:.1f} s")


# the targets at 10M results: a full year under 2 s, the 2021–2025 trend under 5 s
TARGETS_S = {"2024 all levels": 2.0, "2021–2025 trend, all levels (5 reports)": 5.0}


def timed(label: str, fn, repeat: int = 3):
    best, value, samples = None, None, []
    for _ in range(repeat):
        t0 = time.perf_counter()
        value = fn()
        elapsed = time.perf_counter() - t0
        samples.append(elapsed)
        best = elapsed if best is None else min(best, elapsed)
    log(f"  {label:<44} best of {repeat}: {best:7.3f} s")
    record = bench_results.current()
    if record is not None:
        record.timings(label, samples, "s", target=TARGETS_S.get(label))
    return value


def explain(url: str, query) -> str:
    from storage import db

    engine = db.get_engine(url)
    compiled = query.compile(engine, compile_kwargs={"literal_binds": True})
    with engine.connect() as conn:
        if engine.dialect.name == "sqlite":
            rows = conn.execute(text(f"EXPLAIN QUERY PLAN {compiled}")).all()
            return "\n".join(f"{row[0]:>3} {row[1]:>3}  {row[3]}" for row in rows)
        rows = conn.execute(text(f"EXPLAIN (ANALYZE, BUFFERS) {compiled}")).scalars().all()
    return "\n".join(rows)


def report(url: str) -> None:
    from quotas.plans import get_plan
    from quotas.progress import (
        build_month_reports,
        build_report,
        build_year_reports,
        figure_queries,
        month_queries,
        year_series_queries,
    )
    from storage import db

    plan = get_plan()
    with db.session_scope(url) as session:
        counts = session.execute(text(
            "SELECT (SELECT count(*) FROM results), (SELECT count(*) FROM documents)")).one()
    log(f"catalog: {counts[0]:,} results, {counts[1]:,} documents")

    def run(**kw):
        with db.session_scope(url) as session:
            return build_report(session, plan, **kw)

    log("timings (full-year report, as of 31 December; best of 3):")
    for level in ("city", "district", "commune"):
        rep = timed(f"2024 level={level}", lambda lv=level: run(year=2024, level=lv))
        top = rep.levels[0]
        log(f"      {top.unit_name}: {top.valid_results:,} valid, {top.digitized:,} digitized, "
            f"{top.percent}% (target {top.target_percent}%, {top.status}); "
            f"{len(rep.units)} unit rows")
    rep = timed("2024 all levels", lambda: run(year=2024))
    rep25 = timed("2025 all levels (both periods)", lambda: run(year=2025))
    for row in rep25.levels:
        log(f"      2025 {row.level:<8} {row.period or 'whole year':<24} {row.valid_results:>10,} "
            f"valid {row.digitized:>10,} digitized {row.percent or 0:6.2f}% {row.status}")
    one = timed("2024 one unit (00004)", lambda: run(year=2024, unit="00004"))
    for row in one.units:
        log(f"      {row.unit_code} {row.unit_name}: {row.valid_results:,} valid, "
            f"{row.digitized:,} digitized, {row.percent}%")
    timed("2026 all levels as of today (forecasts)", lambda: run(year=2026,
                                                                 as_of=date(2026, 11, 25)))
    timed("2024 all levels as of 30 June", lambda: run(year=2024, as_of=date(2024, 6, 30)))
    timed("2021–2025 trend, a report per year (before)",
          lambda: [run(year=y) for y in range(2021, 2026)])

    def trend_reports():
        with db.session_scope(url) as session:
            return build_year_reports(session, plan, 2021, 2025)

    trend = timed("2021–2025 trend, all levels (5 reports)", trend_reports)
    for rep_ in trend:
        (total,) = rep_.totals
        log(f"      {rep_.year}: {total.valid_results:,} valid, {total.digitized:,} digitized, "
            f"{total.percent}%")
    month_ends = [date(2025, m + 1, 1) - timedelta(days=1) for m in range(1, 12)]
    timed("2025 by month, a report per month end (before)",
          lambda: [run(year=2025, as_of=d) for d in month_ends] + [run(year=2025)])

    def months():
        with db.session_scope(url) as session:
            return build_month_reports(session, plan, year=2025)

    timed("2025 by month, month ends in one pass (--by month)", months)
    timed("2025 communes of district 001 (--parent)", lambda: run(year=2025, parent="001"))
    timed("2024 one unit (00004) as of 30 June", lambda: run(year=2024, unit="00004",
                                                             as_of=date(2024, 6, 30)))
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    log(f"peak RSS of this process: {rss:.0f} MB")

    full = figure_queries(plan.province, 2024, date(2024, 12, 31))
    plans = {"full year 2024, all levels: yearly counters": explain(url, full["years"]),
             "full year 2024: results issued after the as-of day (none)":
             explain(url, full["issued_after"])}
    partial = figure_queries(plan.province, 2026, date(2026, 11, 25))
    plans["as of 2026-11-25, all levels: issued after the as-of day"] = explain(
        url, partial["issued_after"])
    plans["as of 2026-11-25, all levels: first stored after the as-of day"] = explain(
        url, partial["digitized_after"])
    plans["as of 2026-11-25: stored documents without a result"] = explain(url, partial["unlinked"])
    plans["2026: units with registered results (one probe per unit)"] = explain(
        url, partial["registered_units"])
    plans["2026: documents waiting for review per unit"] = explain(url, partial["pending_review"])
    past = figure_queries(plan.province, 2024, date(2024, 6, 30))
    plans["as of 2024-06-30, all levels: issued after the as-of day"] = explain(
        url, past["issued_after"])
    plans["as of 2024-06-30, all levels: first stored after the as-of day"] = explain(
        url, past["digitized_after"])
    trend = year_series_queries(plan.province, 2021, 2025)
    plans["2021–2025 trend in one pass: yearly counters, a filtered sum per year"] = explain(
        url, trend["per_unit"])
    plans["2021–2025 trend in one pass: stored documents without a result"] = explain(
        url, trend["unlinked"])
    monthly = month_queries(plan.province, 2025)
    plans["2025 by month: results issued in the year"] = explain(url, monthly["issued_in_year"])
    plans["2025 by month: issued earlier, first digitized in the year"] = explain(
        url, monthly["digitized_in_year"])
    how = "EXPLAIN QUERY PLAN" if url.startswith("sqlite") else "EXPLAIN ANALYZE"
    for title, text_ in plans.items():
        log(f"{how} — {title}:\n{text_}\n")
    seen = "\n".join(plans.values())
    with db.session_scope(url) as session:
        counters = session.execute(text("SELECT count(*) FROM quota_result_years")).scalar_one()
    log(f"yearly counters: {counters:,} rows (read whole: a scan is the right plan at this size)")
    for name in ("ix_quota_result_facts_issued", "ix_results_unit_registered",
                 "ix_quota_documents_review",
                 "ix_quota_result_facts_digitized", "ix_quota_documents_unlinked"):
        log(f"index {name}: {'used' if name in seen else 'NOT used'}")
    log(f"sequential scans in these plans: {seen.count('Seq Scan')} "
        f"(on admin_units: {seen.count('Seq Scan on admin_units')})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--results", type=int, default=10_000_000)
    parser.add_argument("--digitized-share", type=float, default=0.6)
    parser.add_argument("--database", default="sohoa_bench_progress")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--skip-load", action="store_true")
    parser.add_argument("--seed", type=int, default=8)
    parser.add_argument("--drop-after", action="store_true", help="drop the database at the end")
    parser.add_argument("--quick", action="store_true", help="record the run as quick mode")
    parser.add_argument("--sqlite", metavar="FILE",
                        help="an SQLite catalog in FILE (the embedded default) instead of "
                        "PostgreSQL; re-created unless --skip-load ('temp': a temporary file)")
    args = parser.parse_args()
    bench_results.start("progress-sqlite" if args.sqlite else "progress", quick=args.quick,
                        args=vars(args))
    url = os.environ.get("SOHOA_BENCH_DATABASE_URL",
                         f"postgresql+psycopg://postgres@{args.host}:5432/{args.database}")
    if args.sqlite == "temp":  # a file of its own, removed at the end (the suite's modes)
        args.sqlite, args.drop_after = str(Path(tempfile.mkdtemp()) / "progress.sqlite3"), True
    if args.sqlite:
        url = f"sqlite:///{args.sqlite}"
        if not args.skip_load:
            for suffix in ("", "-wal", "-shm"):
                Path(f"{args.sqlite}{suffix}").unlink(missing_ok=True)
            load_sqlite(url, args.results, args.digitized_share)
        report(url)
        if args.drop_after:
            for suffix in ("", "-wal", "-shm"):
                Path(f"{args.sqlite}{suffix}").unlink(missing_ok=True)
        log(f"done at {datetime.now(UTC):%Y-%m-%d %H:%M:%S} UTC")
        return
    if not args.skip_load:
        recreate_database(args.database, args.host)
        load(url, args.results, args.digitized_share, args.seed)
    report(url)
    if args.drop_after:
        from storage import db

        db.get_engine(url).dispose()
        subprocess.run(["psql", "-h", args.host, "-U", "postgres", "-d", "postgres", "-qc",
                        f'DROP DATABASE IF EXISTS "{args.database}" WITH (FORCE)'], check=True)
    log(f"done at {datetime.now(UTC):%Y-%m-%d %H:%M:%S} UTC")


if __name__ == "__main__":
    main()
