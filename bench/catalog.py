"""Benchmark: catalog lookups and full-text search over N synthetic results in PostgreSQL.

Loads N results (default 1 million) over Hà Nội's units, each with a stored document whose OCR
text reads like a decision or a certificate (names, ward, number, dossier code), with COPY
(constraints, indexes and triggers off during the load; the tsvector filled by one UPDATE, then
the indexes rebuilt). Then times, on one warm connection, p50/p95/max
of: lookups by document number, dossier code, subject ID, unit and date; full-text searches
(`storage.search.search_documents`) for a unique token, a full name typed with and without
diacritics, a ward name, words in every document; the API's search shape (results newest first
with EXISTS on the documents' text); the API route's q-search before (one EXISTS statement)
and after (`storage.result_search`), for names, common words, with a unit, on a second page;
and the per-level aggregate (raw GROUP BY, and the quotas report on its counters). Prints
EXPLAIN for each query shape. Asserts nothing.

    python -m bench.catalog [--results 1000000] [--skip-load] [--repeat 200] [--api-search]

Targets from issue #6: key lookups < 5 ms, full-text < 50 ms at 1 million results.
"""

from __future__ import annotations

import argparse
import io
import os
import random
import statistics
import time
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import and_, exists, func, select, text

from bench import results as bench_results
from bench.progress import _constraints_and_indexes, log, recreate_database  # shared PG helpers

LOAD_TABLES = ("results", "documents", "quota_result_facts")
START, REFORM, END = date(2019, 1, 1), date(2025, 7, 1), date(2026, 6, 30)
SURNAMES = ["Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Huỳnh", "Phan", "Vũ", "Võ", "Đặng", "Bùi",
            "Đỗ", "Hồ", "Ngô", "Dương", "Lý", "Trịnh", "Đinh", "Lương", "Mai"]
MIDDLES = ["Văn", "Thị", "Hữu", "Đức", "Minh", "Thanh", "Quang", "Ngọc", "Thu", "Hoài", "Xuân",
           "Đình", "Công", "Bảo", "Kim"]
GIVENS = ["An", "Anh", "Bình", "Chi", "Cường", "Dũng", "Duy", "Đào", "Điệp", "Giang", "Hà",
          "Hải", "Hằng", "Hạnh", "Hiếu", "Hòa", "Hùng", "Hương", "Huy", "Khánh", "Khoa", "Lan",
          "Linh", "Long", "Mai", "Minh", "Nam", "Nga", "Ngân", "Nhung", "Phong", "Phúc",
          "Phương", "Quân", "Quỳnh", "Sơn", "Tâm", "Thảo", "Thắng", "Thủy", "Trang", "Trung",
          "Tú", "Tuấn", "Uyên", "Việt", "Vinh", "Xuân", "Yến", "Đạt"]
KINDS = [  # procedure, document type, title, number suffix
    ("1.001193", "giay_khai_sinh", "GIẤY KHAI SINH", "KS"),
    ("1.000894", "giay_chung_nhan_ket_hon", "GIẤY CHỨNG NHẬN KẾT HÔN", "KH"),
    ("1.001612", "giay_chung_nhan_ho_kinh_doanh", "GIẤY CHỨNG NHẬN ĐĂNG KÝ HỘ KINH DOANH", "HKD"),
    ("1.004227", "giay_xac_nhan", "GIẤY XÁC NHẬN TÌNH TRẠNG HÔN NHÂN", "XN"),
    ("1.009794", "giay_phep", "GIẤY PHÉP XÂY DỰNG", "GPXD"),
    ("2.001610", "quyet_dinh", "QUYẾT ĐỊNH Về việc thành lập doanh nghiệp tư nhân", "QĐ-UBND"),
]


def _copy_text(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\t", " ").replace("\n", "\\n")


def ocr_text(rng: random.Random, kind: tuple, number: str, name: str, ward: str, dossier: str,
             issued: date, subject_id: str) -> str:
    _, _, title, _ = kind
    return _copy_text(
        f"ỦY BAN NHÂN DÂN {ward.upper()}\nCỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM\n"
        f"Độc lập - Tự do - Hạnh phúc\nSố: {number}\n{ward}, ngày {issued:%d} tháng "
        f"{issued:%m} năm {issued:%Y}\n{title}\nCấp cho ông/bà: {name}, số định danh cá nhân "
        f"{subject_id}, nơi cư trú: {ward}, thành phố Hà Nội. Mã hồ sơ: {dossier}.\n"
        f"Giấy này có giá trị kể từ ngày ký. TM. ỦY BAN NHÂN DÂN, CHỦ TỊCH "
        f"{rng.choice(SURNAMES)} {rng.choice(MIDDLES)} {rng.choice(GIVENS)}")


def load(url: str, n: int, seed: int) -> None:
    from storage import db
    from storage.catalog import AdminUnit
    from storage.units import seed_procedures, seed_units

    db.upgrade(url)
    with db.session_scope(url) as session:
        seed_units(session, provinces={"01"})
        seed_procedures(session)
        units = session.execute(select(AdminUnit.id, AdminUnit.name, AdminUnit.level,
                                       AdminUnit.valid_from, AdminUnit.valid_to)
                                .where(AdminUnit.province_code == "01")).all()
    before = [u for u in units if u.valid_from < REFORM]
    after = [u for u in units if u.valid_to is None or u.valid_to >= REFORM]
    engine = db.get_engine(url)
    with engine.begin() as conn:
        constraints, indexes = _constraints_and_indexes(conn)
        for table, name, _, _kind in sorted(constraints, key=lambda c: c[3] != "f"):
            conn.execute(text(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"'))
        for name, _ in indexes:
            conn.execute(text(f'DROP INDEX "{name}"'))
        for table in LOAD_TABLES:
            conn.execute(text(f"ALTER TABLE {table} DISABLE TRIGGER USER"))

    rng = random.Random(seed)
    span = (END - START).days
    results_copy = ("COPY results (id, dossier_code, procedure_code, unit_id, document_number, "
                    "document_type, issued_on, in_force, valid_until, issuer, subject_name, "
                    "subject_id, created_at) FROM STDIN")
    documents_copy = ("COPY documents (id, state, source_name, source_sha256, source_size, "
                      "unit_id, procedure_code, dossier_code, result_id, document_type, ocr_text, "
                      "page_count, original_key, pdf_key, signed_key, created_at, updated_at, "
                      "stored_at) FROM STDIN")
    raw = engine.raw_connection()
    t0 = time.perf_counter()
    try:
        cur = raw.cursor()
        batch = 50_000
        for first in range(0, n, batch):
            rbuf, dbuf = io.StringIO(), io.StringIO()
            for i in range(first, min(n, first + batch)):
                issued = START + timedelta(days=rng.randrange(span))
                pool = after if issued >= REFORM else before
                unit = pool[rng.randrange(len(pool))]
                kind = KINDS[i % len(KINDS)]
                number = f"{i + 1}/{kind[3]}"
                name = f"{rng.choice(SURNAMES)} {rng.choice(MIDDLES)} {rng.choice(GIVENS)}"
                subject_id = f"001{rng.randrange(10**9):09d}"
                dossier = f"HS{i:010d}"
                rid, did = f"{rng.getrandbits(128):032x}", f"{rng.getrandbits(128):032x}"
                valid_until = (r"\N" if rng.random() < 0.7 else
                               (issued + timedelta(days=rng.randrange(30, 3650))).isoformat())
                created = f"{issued.isoformat()} {8 + i % 9:02d}:{i % 60:02d}:00+00"
                stored = f"{(issued + timedelta(days=rng.randrange(1, 30))).isoformat()} 09:00:00+00"
                rbuf.write(f"{rid}\t{dossier}\t{kind[0]}\t{unit.id}\t{number}\t{kind[1]}\t"
                           f"{issued.isoformat()}\t{'f' if rng.random() < 0.03 else 't'}\t"
                           f"{valid_until}\tUBND {unit.name}\t{name}\t{subject_id}\t{created}\n")
                prefix = f"01/{unit.id}/{issued:%Y}/{did}"
                dbuf.write(f"{did}\tstored\tscan{i}.pdf\t{rng.getrandbits(256):064x}\t250000\t"
                           f"{unit.id}\t{kind[0]}\t{dossier}\t{rid}\t{kind[1]}\t"
                           f"{ocr_text(rng, kind, number, name, unit.name, dossier, issued, subject_id)}"
                           f"\t1\t{prefix}/original.png\t{prefix}/searchable.pdf\t"
                           f"{prefix}/signed.pdf\t{created}\t{stored}\t{stored}\n")
            with cur.copy(results_copy) as rcopy:
                rcopy.write(rbuf.getvalue())
            with cur.copy(documents_copy) as dcopy:
                dcopy.write(dbuf.getvalue())
            done = min(n, first + batch)
            if done % 200_000 == 0 or done == n:
                log(f"  copied {done:,} results and documents ({time.perf_counter() - t0:.0f} s)")
        raw.commit()
    finally:
        raw.close()
    t1 = time.perf_counter()
    # The trigger costs ~125 us a row inside COPY (plpgsql per row); one set-based UPDATE with
    # the same function, before the indexes exist, is quicker for a bulk load.
    with engine.begin() as conn:
        conn.execute(text("UPDATE documents SET search_vector = to_tsvector('simple'::regconfig, "
                          "sohoa_search_fold(ocr_text))"))
    t_vec = time.perf_counter()
    from quotas.facts import rebuild_facts

    with db.session_scope(url) as session:
        session.execute(text("SET LOCAL work_mem = '256MB'"))
        rebuild_facts(session)
    t2 = time.perf_counter()
    index_times = {}
    with engine.begin() as conn:
        for table in LOAD_TABLES:
            conn.execute(text(f"ALTER TABLE {table} ENABLE TRIGGER USER"))
        conn.execute(text("SET maintenance_work_mem = '512MB'"))
        for name, definition in indexes:
            t = time.perf_counter()
            conn.execute(text(definition))
            index_times[name] = time.perf_counter() - t
        for table, name, definition, _ in sorted(constraints, key=lambda c: "puf".index(c[3])):
            conn.execute(text(f'ALTER TABLE {table} ADD CONSTRAINT "{name}" {definition}'))
    t3 = time.perf_counter()
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM ANALYZE"))
    t4 = time.perf_counter()
    log(f"loaded {n:,} results + {n:,} documents: COPY {t1 - t0:.0f} s, tsvector UPDATE "
        f"{t_vec - t1:.0f} s, quota facts {t2 - t_vec:.0f} s, indexes and constraints {t3 - t2:.0f} s (GIN "
        f"{index_times.get('ix_documents_search', 0):.0f} s), VACUUM ANALYZE {t4 - t3:.0f} s")


def _ms(samples: list[float]) -> str:
    ordered = sorted(samples)
    p95 = ordered[max(0, int(len(ordered) * 0.95) - 1)]
    return (f"p50 {statistics.median(ordered) * 1000:7.2f} ms  p95 {p95 * 1000:7.2f} ms  "
            f"max {ordered[-1] * 1000:7.2f} ms")


def api_route_search(session, sample, repeat: int) -> None:
    """The route's `GET /v1/results?q=` statements, limit 50: the single EXISTS statement it ran
    before (`before`) and `storage.result_search.newest_matching` (`after`), interleaved query
    by query, with their rows compared. Prints p50/p95 per scenario, how often `after` walked,
    and for names the p50/p95 by the planner's estimate of their matching documents."""
    import asyncio

    from api.deps import UnitIds
    from api.search_query import search_parameters, search_statement
    from storage import result_search, search
    from storage.catalog import AdminUnit, Document, Result

    unit_ids, loop = UnitIds(), asyncio.new_event_loop()
    codes = dict(session.execute(select(AdminUnit.id, AdminUnit.code)).all())
    walks = []

    async def run(statement):
        result = session.execute(statement)
        rows, columns = result.all(), set(result.keys())
        if "id" in columns and "sohoa_hits" not in columns:
            walks.append(1)
        return rows

    def base(unit_id=None, cursor=None):  # the route's statement, its values bound
        params = search_parameters(limit=51)
        if cursor is not None:
            params["cursor_at"], params["cursor_id"] = cursor
        if unit_id is not None:
            params["units"] = unit_ids(session, ("code", codes[unit_id]))
        return search_statement(frozenset(params), "postgresql").params(**params)

    def before(query, q):
        return session.execute(query.where(exists().where(and_(
            Document.result_id == Result.id, search.match_documents("postgresql", q))))).all()

    def after(query, q):
        return loop.run_until_complete(result_search.newest_matching(run, "postgresql", query, q))

    def second_page(q, unit_id=None):  # the cursor after the first page (of the old statement)
        first = before(base(unit_id), q)
        return None if len(first) < 51 else (first[49].created_at, first[49].id)

    from storage.search import fold

    def pick_name(i):
        return sample[i % len(sample)][5]

    scenarios = {
        "full name": lambda i: (fold(pick_name(i)), None, None),
        "dossier code (one document)": lambda i: (sample[i % len(sample)][1], None, None),
        "common words ('giay nay co gia tri', all)": lambda i: ("giay nay co gia tri", None, None),
        "common words ('quyet dinh', 1/6)": lambda i: ("quyet dinh", None, None),
        "full name + its unit": lambda i: (fold(pick_name(i)), sample[i % len(sample)][3], None),
        "common words + a unit": lambda i: ("quyet dinh", sample[i % len(sample)][3], None),
        "full name, page 2 (cursor)": lambda i: (fold(pick_name(i)), None, "page2"),
        "common words, page 2 (cursor)": lambda i: ("giay nay co gia tri", None, "page2"),
    }
    bands = ((0, 1000), (1000, 6000), (6000, 20000), (20000, float("inf")))

    def estimate(query, q):
        return result_search.read_estimates(session.execute(
            result_search.estimates(query, q)).scalar())[0]

    log("API route q-search, limit 50 (before: one EXISTS statement; after: newest_matching):")
    for label, make in scenarios.items():
        times, differ, banded = {"before": [], "after": []}, 0, {b: ([], []) for b in bands}
        walks.clear()
        for i in range(repeat):
            q, unit_id, page = make(i)
            cursor = second_page(q, unit_id) if page else None
            query = base(unit_id, cursor)
            matches = estimate(query, q) if label == "full name" else None
            got = {}
            for name in (("before", "after") if i % 2 else ("after", "before")):
                t = time.perf_counter()
                rows = (before if name == "before" else after)(query, q)
                times[name].append(time.perf_counter() - t)
                got[name] = [(r.id, r.created_at) for r in rows]
            differ += got["before"] != got["after"]
            for band in bands if matches is not None else ():
                if band[0] <= matches < band[1]:
                    banded[band][0].append(times["before"][-1])
                    banded[band][1].append(times["after"][-1])
            session.rollback()
        log(f"  {label:<44} before {_ms(times['before'])}")
        log(f"  {'':<44} after  {_ms(times['after'])}  walked {len(walks)}/{repeat}, "
            f"rows differ {differ}")
        for (low, high), (old, new) in banded.items():
            if old:
                head = f"    ~{low:,}-{high:,} matching documents ({len(old)} names)"
                log(f"{head:<46} before {_ms(old)}")
                log(f"{'':<46} after  {_ms(new)}")
    loop.close()


def report(url: str, repeat: int, seed: int, only_api_search: bool = False) -> None:
    from sqlalchemy.orm import Session

    from storage import db
    from storage.catalog import AdminUnit, Document, Result
    from storage.search import match_documents, search_documents

    engine = db.get_engine(url)
    conn = engine.connect()
    session = Session(bind=conn)
    n = session.scalar(text("SELECT count(*) FROM results"))
    size = session.scalar(text("SELECT pg_size_pretty(pg_database_size(current_database()))"))
    gin = session.scalar(text("SELECT pg_size_pretty(pg_relation_size('ix_documents_search'))"))
    log(f"catalog: {n:,} results, database {size}, GIN index {gin}")
    columns = ("SELECT r.document_number, r.dossier_code, r.subject_id, r.unit_id, r.issued_on, "
               "r.subject_name, d.dossier_code FROM results r")
    sample = session.execute(text(  # 1% of the pages: cheap on a large catalog
        f"{columns} TABLESAMPLE SYSTEM (1) JOIN documents d ON d.result_id = r.id "
        f"LIMIT {repeat}")).all() or session.execute(text(  # a small one may sample nothing
            f"{columns} JOIN documents d ON d.result_id = r.id ORDER BY random() "
            f"LIMIT {repeat}")).all()
    wards = [w for (w,) in session.execute(text(
        "SELECT name FROM admin_units WHERE province_code = '01' AND level = 'commune' "
        "AND valid_from >= '2025-07-01' ORDER BY id LIMIT 40"))]
    plans: dict[str, str] = {}

    def timed(label: str, make, target_ms: float, *, show_rows: bool = False):
        samples, rows = [], 0
        for i in range(repeat):
            stmt_or_fn = make(i)
            t = time.perf_counter()
            got = stmt_or_fn() if callable(stmt_or_fn) else session.execute(stmt_or_fn).all()
            samples.append(time.perf_counter() - t)
            rows += len(got)
        p50 = statistics.median(samples) * 1000
        flag = "ok" if p50 < target_ms else f"OVER {target_ms:g} ms"
        log(f"  {label:<52} {_ms(samples)}  rows/query {rows / repeat:8.1f}  [{flag}]")
        record = bench_results.current()
        if record is not None:
            record.figure(f"{label} p50", p50, "ms", better="lower", target=target_ms,
                          note=f"p95 {statistics.quantiles(samples, n=20)[-1] * 1000:.1f} ms"
                          if len(samples) >= 2 else None)
        session.rollback()

    def pick(i):
        return sample[i % len(sample)]

    if only_api_search:
        api_route_search(session, sample, repeat)
        session.close()
        conn.close()
        return

    log(f"timings on one warm connection, {repeat} queries each (random keys):")
    cols = (Result.id, Result.document_number, Result.issued_on, Result.unit_id)
    by_number = lambda i: select(*cols).where(Result.document_number == pick(i)[0])  # noqa: E731
    timed("results by document number", by_number, 5)
    timed("results by dossier code", lambda i: select(*cols).where(
        Result.dossier_code == pick(i)[1]), 5)
    timed("results by subject ID", lambda i: select(*cols).where(
        Result.subject_id == pick(i)[2]), 5)
    timed("documents by dossier code", lambda i: select(Document.id, Document.state).where(
        Document.dossier_code == pick(i)[6]), 5)
    timed("results of a unit in a month (newest 50)", lambda i: select(*cols).where(
        Result.unit_id == pick(i)[3], Result.issued_on >= pick(i)[4],
        Result.issued_on < pick(i)[4] + timedelta(days=31))
        .order_by(Result.issued_on.desc()).limit(50), 5)
    timed("results of a level in a week (newest 50)", lambda i: select(*cols).join(
        AdminUnit, AdminUnit.id == Result.unit_id).where(
        AdminUnit.level == "commune", Result.issued_on >= pick(i)[4],
        Result.issued_on < pick(i)[4] + timedelta(days=7))
        .order_by(Result.issued_on.desc()).limit(50), 5)
    timed("results of a procedure, newest 50", lambda i: select(*cols).where(
        Result.procedure_code == KINDS[i % len(KINDS)][0])
        .order_by(Result.created_at.desc(), Result.id.desc()).limit(50), 5)

    def search(query_of):
        return lambda i: (lambda: search_documents(session, query_of(i), limit=50))

    log("full text (storage.search.search_documents, newest 50):")
    timed("unique token (dossier code in the text)", search(lambda i: pick(i)[1].lower()), 50)
    timed("full name, with diacritics", search(lambda i: pick(i)[5]), 50)
    from storage.search import fold
    timed("full name, without diacritics", search(lambda i: fold(pick(i)[5])), 50)
    timed("ward name (~1/600 of the documents)", search(lambda i: wards[i % len(wards)]), 50)
    timed("words in every document ('giấy này có giá trị')",
          search(lambda i: "giấy này có giá trị"), 50)
    timed("full name + ward", search(lambda i: f"{pick(i)[5]} {wards[i % len(wards)]}"), 50)
    timed("no match ('xyzzyq')", search(lambda i: "xyzzyq"), 50)

    def api_shape(query_of):
        def make(i):
            return (select(Result.id, Result.created_at)
                    .where(exists().where(and_(Document.result_id == Result.id,
                                               match_documents(session, query_of(i)))))
                    .order_by(Result.created_at.desc(), Result.id.desc()).limit(51))
        return make

    log("API search shape (results newest first, EXISTS on the documents' text):")
    timed("API q=full name", api_shape(lambda i: fold(pick(i)[5])), 50)
    timed("API q=unique token", api_shape(lambda i: pick(i)[1]), 50)
    timed("API q=common words", api_shape(lambda i: "giay nay co gia tri"), 50)
    api_route_search(session, sample, repeat)

    log("per-level aggregate:")
    raw_level = (select(AdminUnit.level, func.count(), func.count().filter(Result.in_force))
                 .join(AdminUnit, AdminUnit.id == Result.unit_id).group_by(AdminUnit.level))
    samples = []
    for _ in range(3):
        t = time.perf_counter()
        rows = session.execute(raw_level).all()
        samples.append(time.perf_counter() - t)
    log(f"  raw GROUP BY level over results (3 runs)            best {min(samples) * 1000:8.1f} ms"
        f"  {dict((r[0], r[1]) for r in rows)}")
    session.rollback()
    from quotas.plans import get_plan
    from quotas.progress import build_report

    plan = get_plan()
    samples = []
    for _ in range(3):
        t = time.perf_counter()
        rep = build_report(session, plan, year=2024)
        samples.append(time.perf_counter() - t)
    log(f"  quotas build_report(year=2024), all levels (3 runs) best {min(samples) * 1000:8.1f} ms"
        f"  " + ", ".join(f"{r.level} {r.valid_results:,}/{r.digitized:,}" for r in rep.levels))
    session.rollback()

    shapes = {
        "by number": by_number(0),
        "full text, full name": select(Document.id).where(match_documents(
            session, fold(pick(0)[5]))).order_by(Document.created_at.desc(),
                                                 Document.id.desc()).limit(50),
        "full text, common words": select(Document.id).where(match_documents(
            session, "giay nay co gia tri")).order_by(Document.created_at.desc(),
                                                      Document.id.desc()).limit(50),
        "API q=full name": api_shape(lambda i: fold(pick(0)[5]))(0),
    }
    for title, stmt in shapes.items():
        compiled = stmt.compile(engine, compile_kwargs={"literal_binds": True})
        plan_text = "\n".join(session.scalars(text(f"EXPLAIN (ANALYZE, BUFFERS) {compiled}")))
        plans[title] = plan_text
        log(f"EXPLAIN ANALYZE — {title}:\n{plan_text}\n")
    session.rollback()
    session.close()
    conn.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--results", type=int, default=1_000_000)
    parser.add_argument("--database", default="sohoa_bench_catalog")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--skip-load", action="store_true")
    parser.add_argument("--repeat", type=int, default=200)
    parser.add_argument("--seed", type=int, default=6)
    parser.add_argument("--api-search", action="store_true",
                        help="only the API route's q-search, before and after")
    parser.add_argument("--drop-after", action="store_true",
                        help="drop the database at the end (it is kept by default for reruns)")
    parser.add_argument("--quick", action="store_true", help="record the run as quick mode")
    args = parser.parse_args()
    bench_results.start("catalog", quick=args.quick, args=vars(args))
    url = os.environ.get("SOHOA_BENCH_DATABASE_URL",
                         f"postgresql+psycopg://postgres@{args.host}:5432/{args.database}")
    if not args.skip_load:
        recreate_database(args.database, args.host)
        load(url, args.results, args.seed)
    report(url, args.repeat, args.seed, args.api_search)
    if args.drop_after:
        import subprocess

        from storage import db

        db.get_engine(url).dispose()
        subprocess.run(["psql", "-h", args.host, "-U", "postgres", "-d", "postgres", "-qc",
                        f'DROP DATABASE IF EXISTS "{args.database}" WITH (FORCE)'], check=True)
    log(f"done at {datetime.now(UTC):%Y-%m-%d %H:%M:%S} UTC")


if __name__ == "__main__":
    main()
