"""Benchmark: the retrieval API over N results in PostgreSQL, served by uvicorn on loopback.

Prints requests/s and p50/p99/max latency for metadata by id, lookup by document number, a
structured search, full-text searches (a person's name, an ID number, words on every document)
and PDF download, each in a closed loop (every connection sends again as soon as it is answered:
the most the server does); then the two lookups in an open loop at a fixed offered rate
(`--rate`, 1,000/s: the target is p99 < 50 ms there), latency counted from when each request was
due. Asserts nothing. Run:

    .venv/bin/python -m bench.api [--results 1000000] [--seconds 10] [--concurrency 16]
                                  [--workers 2] [--rate 1000] [--only NAME]
                                  [--pg postgresql://postgres@127.0.0.1:5432/postgres]

The corpus is bulk-loaded with COPY into a fresh database (`sohoa_bench_api`, kept between runs
unless --fresh; a run with the same --results reuses it). The load generator is a minimal
keep-alive HTTP/1.1 client on asyncio (httpx would spend the CPU the server needs: 2 cores).
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import os
import random
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from bench import results as bench_results  # noqa: E402

DB_NAME = "sohoa_bench_api"


def prepare_database(pg: str, fresh: bool, name: str = DB_NAME) -> str:
    import psycopg

    with psycopg.connect(pg, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
        if exists and fresh:
            conn.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
            exists = None
        if not exists:
            conn.execute(f'CREATE DATABASE "{name}"')
    return pg.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://") + "/" + name


def drop_database(pg: str, name: str) -> None:
    import psycopg

    with psycopg.connect(pg, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def load_corpus(rt, n: int, pdf_key: str, pdf_sha: str) -> None:
    """COPY n results and their stored documents, spread over Hà Nội's wards and 4 years."""
    from sqlalchemy import select, text

    from storage.catalog import AdminUnit

    with rt.session() as session:
        have = session.execute(text("SELECT count(*) FROM results")).scalar()
        current = session.execute(text(
            "SELECT 1 FROM documents WHERE search_vector IS NOT NULL AND ocr_text LIKE :v LIMIT 1"),
            {"v": f"%{CORPUS_VERSION}%"}).first()
        if have == n and current:
            print(f"corpus: {n} results already loaded", file=sys.stderr)
            return
        if have:
            session.execute(text("TRUNCATE documents, results CASCADE"))
        units = list(session.scalars(select(AdminUnit.id).where(
            AdminUnit.province_code == "01", AdminUnit.level == "commune",
            AdminUnit.source == "legacy-63")))
    from storage import db

    pooled = db.get_engine(rt.database_url).raw_connection()
    raw = pooled.driver_connection  # the psycopg connection, for COPY
    rnd = random.Random(7)
    types = ["quyet_dinh", "giay_phep", "giay_chung_nhan", "trich_luc"]
    t0 = datetime(2021, 1, 1, tzinfo=UTC)
    started = time.perf_counter()
    with raw.cursor() as cur:
        # a synthetic corpus: load it without row triggers and FK checks (other parts' triggers,
        # e.g. quota facts, would make a million-row COPY take tens of minutes)
        cur.execute("SET session_replication_role = replica")
        with cur.copy("COPY results (id, dossier_code, procedure_code, unit_id, document_number,"
                      " document_type, issued_on, in_force, issuer, subject_name, subject_id,"
                      " created_at) FROM STDIN") as copy:
            lines = []
            for i in range(n):
                rid = uuid.UUID(int=rnd.getrandbits(128)).hex
                issued = date(2021, 1, 1) + timedelta(days=i * 1460 // n)
                created = t0 + timedelta(seconds=i)
                lines.append(f"{rid}\tH01.{i:08d}\t1.001193\t{rnd.choice(units)}\t{i}/QĐ-UBND\t"
                             f"{types[i % 4]}\t{issued}\tt\tUBND\tNguyễn Văn {i}\t"
                             f"{1000000000 + i:012d}\t{created.isoformat()}\n")
                if len(lines) >= 20_000:
                    copy.write("".join(lines).encode())
                    lines.clear()
            copy.write("".join(lines).encode())
        cur.execute("SELECT id, unit_id, created_at FROM results")
        rows = cur.fetchall()
        with cur.copy("COPY documents (id, state, source_name, source_sha256, source_size,"
                      " unit_id, procedure_code, result_id, signed_key, signed_sha256,"
                      " document_type, ocr_text, page_count, created_at, updated_at, stored_at)"
                      " FROM STDIN") as copy:
            lines = []
            for i, (rid, unit_id, created) in enumerate(rows):
                stamp = created.isoformat()
                lines.append(f"{rid}\tstored\tscan.pdf\t{rid}{rid}\t1\t{unit_id}\t1.001193\t"
                             f"{rid}\t{pdf_key}\t{pdf_sha}\tquyet_dinh\t{ocr_text(i)}\t1\t"
                             f"{stamp}\t{stamp}\t{stamp}\n")
                if len(lines) >= 20_000:
                    copy.write("".join(lines).encode())
                    lines.clear()
            copy.write("".join(lines).encode())
        cur.execute("SET session_replication_role = DEFAULT")
        # what the search trigger (migration 0007) would have written, in one pass
        cur.execute("UPDATE documents SET search_vector = "
                    "to_tsvector('simple'::regconfig, sohoa_search_fold(ocr_text))")
        cur.execute("ANALYZE")
    raw.commit()
    pooled.close()
    print(f"corpus: {n} results + documents loaded in {time.perf_counter() - started:.0f}s",
          file=sys.stderr)


CORPUS_VERSION = "v2 định danh"  # bump to reload a kept corpus when its text changes
SURNAMES = ["Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Huỳnh", "Phan", "Vũ", "Võ", "Đặng", "Bùi",
            "Đỗ", "Hồ", "Ngô"]
MIDDLES = ["Văn", "Thị", "Minh", "Đức", "Thanh", "Ngọc"]
GIVEN = ["An", "Bình", "Chi", "Dũng", "Giang", "Hà", "Hải", "Hạnh", "Hiếu", "Hoa", "Hùng",
         "Hương", "Khánh", "Lan", "Linh", "Long", "Mai", "Nam", "Nga", "Ngân", "Nhung", "Phong",
         "Phúc", "Quân", "Quang", "Sơn", "Tâm", "Thảo", "Thắng", "Thủy", "Trang", "Trung", "Tuấn",
         "Tùng", "Uyên", "Việt", "Vinh", "Xuân", "Yến", "Hạnh"]


def person(i: int) -> str:
    """A full name shared by about one result in 3,000 (14 x 6 x 40 names)."""
    return (f"{SURNAMES[i % 14]} {MIDDLES[(i // 14) % 6]} "
            f"{GIVEN[(i * 7919 // 84) % 40]}")


def ocr_text(i: int) -> str:
    return (f"QUYẾT ĐỊNH Về việc cấp giấy phép xây dựng cho ông/bà {person(i)}, "
            f"số định danh {1000000000 + i:012d}. {CORPUS_VERSION}")


def warm(rt) -> None:
    """Load the tables and indexes into memory (1M results fit in RAM many times over), so the
    figures measure the API, not first reads from disk."""
    from sqlalchemy import text

    started = time.perf_counter()
    with rt.session() as session:
        try:
            session.execute(text("CREATE EXTENSION IF NOT EXISTS pg_prewarm"))
            session.execute(text(
                "SELECT pg_prewarm(c.oid) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
                " WHERE n.nspname = 'public' AND c.relkind IN ('r', 'i')"))
        except Exception:  # noqa: BLE001 - no contrib: fall back to reading the tables
            session.rollback()
            session.execute(text("SELECT count(*) FROM results WHERE subject_id <> ''"))
            session.execute(text("SELECT count(*) FROM documents WHERE signed_key <> ''"))
    print(f"warmed tables and indexes in {time.perf_counter() - started:.0f}s", file=sys.stderr)


# --- load generator --------------------------------------------------------------------------
async def _request(reader, writer, raw: bytes) -> tuple[int, int]:
    writer.write(raw)
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head[9:12])
    length = 0
    for line in head.split(b"\r\n"):
        if line[:15].lower() == b"content-length:":
            length = int(line[15:])
    if length:
        await reader.readexactly(length)
    return status, length


async def _worker(port, paths, key, until, latencies, errors, due=None):
    """One keep-alive connection sending GETs of random `paths` until `until`.

    Closed loop when `due` is None: the next request goes as soon as the last is answered, and
    latency counts from sending. Open loop otherwise: request j is sent at `due(j)` (or at once
    when late) and its latency counts from then, so a stalled server cannot hide its queue (no
    coordinated omission)."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    auth = f"Authorization: Bearer {key}\r\nX-Purpose: bench\r\n".encode()
    j = 0
    while True:
        if due is None:
            start = time.perf_counter()
        else:
            start, j = due(j), j + 1
            if (delay := start - time.perf_counter()) > 0 and start < until:
                await asyncio.sleep(delay)
        if start >= until:
            break
        raw = (f"GET {random.choice(paths)} HTTP/1.1\r\nHost: bench\r\n".encode() + auth
               + b"\r\n")
        try:
            status, _ = await _request(reader, writer, raw)
        except (asyncio.IncompleteReadError, ConnectionError):
            errors.append("connection")
            writer.close()
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            continue
        latencies.append(time.perf_counter() - start)
        if status >= 400:
            errors.append(status)
    writer.close()


async def run_load(port, paths, key, seconds, concurrency, rate: float | None = None) -> dict:
    """Closed loop (each connection sends as soon as its last answer came) or, with `rate`,
    open loop at that many requests per second spread over the connections."""
    latencies: list[float] = []
    errors: list = []
    started = time.perf_counter()
    until = started + seconds
    if rate is None:
        workers = [_worker(port, paths, key, until, latencies, errors)
                   for _ in range(concurrency)]
    else:  # request j of connection k is due at (k + j * concurrency) / rate
        first = started + 0.05
        workers = [_worker(port, paths, key, until, latencies, errors,
                           due=lambda j, k=k: first + (k + j * concurrency) / rate)
                   for k in range(concurrency)]
    await asyncio.gather(*workers)
    elapsed = time.perf_counter() - started
    latencies.sort()
    q = statistics.quantiles(latencies, n=100) if len(latencies) > 2 else [0] * 99
    return {"requests": len(latencies), "rps": len(latencies) / elapsed,
            "p50_ms": q[49] * 1000, "p99_ms": q[98] * 1000,
            "max_ms": (latencies[-1] if latencies else 0) * 1000, "errors": len(errors)}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_up(port: int, proc, timeout: float = 60) -> None:
    import httpx

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"uvicorn exited with {proc.returncode}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    raise SystemExit("the API did not come up")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--results", type=int, default=1_000_000)
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--pdf-kb", type=int, default=300)
    parser.add_argument("--pg", default=os.environ.get(
        "SOHOA_BENCH_PG", "postgresql://postgres@127.0.0.1:5432/postgres"))
    parser.add_argument("--fresh", action="store_true", help="drop and reload the database")
    parser.add_argument("--rate", type=float, default=1000,
                        help="offered requests/s for the open-loop runs of the lookups")
    parser.add_argument("--only", default="", help="run the scenarios whose name contains this")
    parser.add_argument("--database", default=DB_NAME, help="kept between runs unless --fresh")
    parser.add_argument("--drop-after", action="store_true", help="drop the database at the end")
    parser.add_argument("--quick", action="store_true", help="record the run as quick mode")
    args = parser.parse_args(argv)
    record = bench_results.start("api", quick=args.quick, args=vars(args))

    from sqlalchemy import text

    from api.keys import create_client
    from sohoa.runtime import Runtime
    from sohoa.settings import Settings

    home = Path(tempfile.mkdtemp(prefix="sohoa-bench-api-"))
    url = prepare_database(args.pg, args.fresh, args.database)
    from storage import db

    db.upgrade(url)  # a kept corpus follows the code's migrations
    settings = Settings(home=home, database_url=url)
    rt = Runtime(settings)
    rt.open()  # migrate + seed units
    blob = random.Random(1).randbytes(args.pdf_kb * 1024)  # same bytes every run
    pdf_key = "bench/signed.pdf"
    rt.objects.put_bytes(pdf_key, blob, "application/pdf")
    load_corpus(rt, args.results, pdf_key, hashlib.sha256(blob).hexdigest())
    with rt.session() as session:
        session.execute(text("DELETE FROM api_clients"))
        key = create_client(session, f"bench-{uuid.uuid4().hex[:6]}", ["admin"], None)
        sample = session.execute(text(
            "SELECT id, document_number FROM results TABLESAMPLE SYSTEM (1) LIMIT 2000")).all()
        if len(sample) < 100:
            sample = session.execute(text(
                "SELECT id, document_number FROM results ORDER BY random() LIMIT 2000")).all()
    warm(rt)
    # every PDF row points at the same object path, under this run's home
    with rt.session() as session:
        session.execute(text("UPDATE documents SET signed_key = :k, signed_sha256 = :s "
                             "WHERE signed_key IS DISTINCT FROM :k"),
                        {"k": pdf_key, "s": hashlib.sha256(blob).hexdigest()})

    port = _free_port()
    env = {**os.environ, "SOHOA_HOME": str(home), "SOHOA_DATABASE_URL": url,
           "SOHOA_STORAGE_URL": f"file://{home / 'objects'}"}
    proc = subprocess.Popen([sys.executable, "-m", "uvicorn", "sohoa.runtime:create_api", "--factory",
                             "--host", "127.0.0.1", "--port", str(port), "--workers",
                             str(args.workers), "--log-level", "warning", "--no-access-log"],
                            env=env, cwd=Path(__file__).resolve().parent.parent)
    try:
        _wait_up(port, proc)
        from urllib.parse import quote

        districts = ["001", "002", "003", "004", "005", "006", "007", "008"]
        rnd = random.Random(3)
        names = [person(rnd.randrange(args.results)) for _ in range(500)]
        lookups = {
            "metadata by id": [f"/v1/results/{i}" for i, _ in sample],
            "lookup by number": [f"/v1/results?number={quote(n)}" for _, n in sample],
        }
        scenarios = {
            **lookups,
            "search unit+dates": [
                f"/v1/results?unit={d}&issued_from=2022-0{m}-01&issued_to=2022-0{m}-28&limit=20"
                for d in districts for m in range(1, 10)],
            "full text: a name": [f"/v1/results?q={quote(n)}&limit=20" for n in names],
            "full text: an ID number": [
                f"/v1/results?q={1000000000 + rnd.randrange(args.results):012d}&limit=20"
                for _ in range(500)],
            "full text: common words": [f"/v1/results?q={quote('quyết định xây dựng')}&limit=20"],
            f"PDF download ({args.pdf_kb} KB)": [f"/v1/results/{i}/pdf" for i, _ in sample],
        }
        if args.only:
            scenarios = {k: v for k, v in scenarios.items() if args.only in k}
            lookups = {k: v for k, v in lookups.items() if args.only in k}
        print(f"{args.results} results in PostgreSQL; uvicorn x{args.workers}; "
              f"{args.concurrency} connections; {args.seconds:.0f}s each; load generator on the "
              f"same {os.cpu_count()} cores")
        header = (f"{'scenario':<28}{'load':<16}{'req/s':>8}{'p50 ms':>9}{'p99 ms':>9}"
                  f"{'max ms':>9}{'errors':>8}")
        print(header)

        def show(name, load, r):
            print(f"{name:<28}{load:<16}{r['rps']:>8.0f}{r['p50_ms']:>9.1f}{r['p99_ms']:>9.1f}"
                  f"{r['max_ms']:>9.1f}{r['errors']:>8}", flush=True)
            if load == "closed loop":
                record.figure(f"{name}: throughput", r["rps"], "req/s")
            record.figure(f"{name}: p99 ({load})", r["p99_ms"], "ms", better="lower",
                          target=50 if "offered" in load else None)
            record.figure(f"{name}: errors ({load})", r["errors"], "requests", better="lower")

        for name, paths in scenarios.items():
            asyncio.run(run_load(port, paths[:50], key, 1.5, args.concurrency))  # warm up
            show(name, "closed loop", asyncio.run(
                run_load(port, paths, key, args.seconds, args.concurrency)))
        for name, paths in lookups.items():  # the target: p99 at a given offered rate
            show(name, f"{args.rate:.0f}/s offered", asyncio.run(
                run_load(port, paths, key, args.seconds, args.concurrency, rate=args.rate)))
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
        if args.drop_after:
            db.get_engine(url).dispose()
            drop_database(args.pg, args.database)
        shutil.rmtree(home, ignore_errors=True)


if __name__ == "__main__":
    main()
