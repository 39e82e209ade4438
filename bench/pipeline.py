"""Pipeline benchmark: generated one-page scans through 1 and 2 dramatiq worker processes on Redis,
against raw Tesseract on the same pages.

For each worker count it starts `python -m sohoa.worker --processes P --threads 1` on a fresh
catalog (PostgreSQL when reachable, else SQLite) and object folder, warms the workers up with two
documents (schema, classifier, signing key), then submits all pages and times until every one is
stored. The baseline runs `tesseract page.png out -l vie pdf tsv` (OMP_THREAD_LIMIT=1) over the
same pages with 2 processes. Prints pages/s, the 2-vs-1 scaling ratio, the pipeline's overhead
over raw Tesseract at the same parallelism, and mean stage times from the workers' JSON logs.
It never asserts timings.

    .venv/bin/python bench/pipeline.py [--pages 104] [--dpi 200] [--redis redis://127.0.0.1:6379/0]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench import results as bench_results  # noqa: E402
from tests.pipeline.conftest import DECISION, render_decision  # noqa: E402

NAMES = ["Nguyễn Văn Hùng", "Trần Thị Mai", "Lê Văn Nam", "Phạm Thị Hoa", "Hoàng Văn Long"]


SOURCE = "corpus"  # set by --source


def make_pages(folder: Path, count: int, dpi: int, tag: str) -> list[Path]:
    if SOURCE == "corpus":
        return corpus_pages(folder, count, dpi, tag)
    folder.mkdir(parents=True, exist_ok=True)
    pages = []
    for n in range(count):
        lines = list(DECISION)
        lines[2] = (f"Số: {n + 1}/QĐ-UBND", DECISION[2][1])
        lines[6] = (f"Công nhận {NAMES[n % len(NAMES)]}, số định danh cá nhân "
                    f"0010850{n:05d},", None)
        lines.append((f"Mã lô {tag}-{n}", None))
        pages.append(render_decision(folder / f"{tag}-{n:04d}.png", dpi=dpi, lines=lines))
    return pages


def corpus_pages(folder: Path, count: int, dpi: int, tag: str) -> list[Path]:
    """One-page results from the corpus generator as a counter scans them (skew, noise, seal,
    some upside down), each a JPEG — every tag gets its own seeds, so no page repeats."""
    import random
    import zlib

    from bench.corpus import generate_document, write_document

    folder.mkdir(parents=True, exist_ok=True)
    rng = random.Random(zlib.crc32(tag.encode()))
    pages = []
    for n in range(count):
        doc = generate_document(rng.randrange(10**9), dpi=dpi, pages=1,
                                skew=rng.uniform(-2, 2), noise=rng.uniform(0, 0.4),
                                upside_down=rng.random() < 0.1, jpeg_quality=85)
        pages.append(write_document(doc, folder, f"{tag}-{n:04d}", "jpeg"))
    return pages


def database_url(tag: str) -> tuple[str, callable]:
    """A fresh PostgreSQL database when the local server answers, else SQLite in the home."""
    name = f"sohoa_bench_{tag}"
    made = subprocess.run(["createdb", "-h", "127.0.0.1", "-U", "postgres", name],
                          capture_output=True, text=True)
    if made.returncode == 0:
        def drop():
            subprocess.run(["dropdb", "-h", "127.0.0.1", "-U", "postgres", "--force", name],
                           capture_output=True)
        return f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}", drop
    return "", lambda: None


def run_pipeline(pages: list[Path], warm: list[Path], processes: int, redis_url: str,
                 workdir: Path) -> dict:
    tag = uuid.uuid4().hex[:8]
    home = workdir / f"home-{processes}"
    db_url, drop = database_url(tag)
    env = {**os.environ, "SOHOA_HOME": str(home), "SOHOA_LOG_LEVEL": "INFO",
           "SOHOA_BROKER_URL": f"{redis_url}?namespace=bench-{tag}"}
    env.pop("SOHOA_STORAGE_URL", None)
    if db_url:
        env["SOHOA_DATABASE_URL"] = db_url
    else:
        env.pop("SOHOA_DATABASE_URL", None)
    os.environ.update({k: v for k, v in env.items() if k.startswith("SOHOA_")})
    if not db_url:
        os.environ.pop("SOHOA_DATABASE_URL", None)

    from pipeline.broker import reset_broker
    from pipeline.submission import submit
    from sohoa.runtime import Runtime
    from sohoa.settings import get_settings

    get_settings.cache_clear()
    reset_broker()
    rt = Runtime(get_settings())
    rt.open()  # migrate before the workers start
    dispatcher = rt.dispatcher  # the broker of SOHOA_BROKER_URL
    log_path = workdir / f"worker-{processes}.log"
    cpu_before = _children_cpu()
    with open(log_path, "wb") as log:
        worker = subprocess.Popen(
            [sys.executable, "-m", "sohoa.worker", "--processes", str(processes),
             "--threads", "1"], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
            start_new_session=True)
    try:
        def wait_done(ids, timeout=1800):
            from sqlalchemy import func, select

            from storage.catalog import Document

            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline:
                with rt.session() as s:
                    done = s.scalar(select(func.count()).select_from(Document).where(
                        Document.id.in_(ids),
                        Document.state.in_(["stored", "failed", "needs_review"])))
                if done == len(ids):
                    return
                if worker.poll() is not None:
                    raise RuntimeError(f"worker exited: {log_path.read_text()[-2000:]}")
                time.sleep(0.1)
            raise TimeoutError("documents not done in time")

        warm_ids = [r["document_id"] for r in submit(rt, dispatcher, warm, unit_code="00004")]
        wait_done(warm_ids)
        start = time.perf_counter()
        records = submit(rt, dispatcher, pages, unit_code="00004", procedure="1.001193")
        submitted = time.perf_counter() - start
        ids = [r["document_id"] for r in records]
        wait_done(ids)
        elapsed = time.perf_counter() - start
        states = {}
        with rt.session() as s:
            from sqlalchemy import func, select

            from storage.catalog import Document

            for state, n in s.execute(select(Document.state, func.count())
                                      .where(Document.id.in_(ids)).group_by(Document.state)):
                states[state] = n
    finally:
        os.killpg(worker.pid, 15)
        try:
            worker.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(worker.pid, 9)
        cpu = _children_cpu() - cpu_before  # the worker tree, Tesseract included
        with contextlib.suppress(Exception):
            rt.broker.flush_all()
        reset_broker()
        drop()
    stage_times: dict[str, list[float]] = {}
    for line in log_path.read_text(errors="replace").splitlines():
        if line.startswith("{") and '"seconds"' in line:
            entry = json.loads(line)
            if entry.get("document_id") in set(ids):
                stage_times.setdefault(entry["stage"], []).append(entry["seconds"])
    return {"processes": processes, "pages": len(pages), "seconds": elapsed,
            "submit_seconds": submitted, "pages_per_s": len(pages) / elapsed, "states": states,
            "cpu_seconds": cpu, "warm_pages": len(warm),
            "stage_mean_s": {k: sum(v) / len(v) for k, v in stage_times.items()}}


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def raw_tesseract(pages: list[Path], processes: int, workdir: Path) -> tuple[float, float]:
    out = workdir / "raw"
    out.mkdir(exist_ok=True)
    env = {**os.environ, "OMP_THREAD_LIMIT": "1"}

    def one(page: Path) -> None:
        subprocess.run(["tesseract", str(page), str(out / page.stem), "-l", "vie", "pdf", "tsv"],
                       check=True, capture_output=True, env=env)

    cpu, start = _children_cpu(), time.perf_counter()
    with ThreadPoolExecutor(processes) as pool:
        list(pool.map(one, pages))
    return time.perf_counter() - start, _children_cpu() - cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pages", type=int, default=104)
    parser.add_argument("--dpi", type=int, default=200)
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/0")
    parser.add_argument("--workers", default="1,2", help="worker process counts to run")
    parser.add_argument("--source", choices=("corpus", "simple"), default="corpus",
                        help="corpus: generated counter scans; simple: short rendered decisions")
    parser.add_argument("--quick", action="store_true", help="record the run as quick mode")
    args = parser.parse_args()
    record = bench_results.start("pipeline", quick=args.quick, args=vars(args))
    global SOURCE
    SOURCE = args.source

    workdir = Path(tempfile.mkdtemp(prefix="sohoa-bench-pipeline-"))
    try:
        counts = [int(c) for c in args.workers.split(",")]
        results = []
        for processes in counts:
            pages = make_pages(workdir / f"pages-{processes}", args.pages, args.dpi,
                               f"p{processes}")
            warm = make_pages(workdir / f"warm-{processes}", 2, args.dpi, f"w{processes}")
            result = run_pipeline(pages, warm, processes, args.redis, workdir)
            results.append(result)
            print(f"{processes} worker process(es): {result['pages']} pages in "
                  f"{result['seconds']:.1f}s = {result['pages_per_s']:.2f} pages/s "
                  f"(submit {result['submit_seconds']:.1f}s; states {result['states']}; "
                  f"mean stage s {json.dumps({k: round(v, 3) for k, v in result['stage_mean_s'].items()})})",
                  flush=True)
        raw_pages = make_pages(workdir / "pages-raw", args.pages, args.dpi, "raw")
        raw = {p: raw_tesseract(raw_pages, p, workdir) for p in sorted(set(counts))}
        for processes, (seconds, cpu) in raw.items():
            print(f"raw tesseract, {processes} process(es): {seconds:.1f}s = "
                  f"{args.pages / seconds:.2f} pages/s; CPU {cpu / args.pages:.2f} s/page",
                  flush=True)
        by = {r["processes"]: r for r in results}
        for processes, result in by.items():
            seconds = raw.get(processes, (None, None))[0]
            record.figure(f"{processes} worker process(es) throughput", result["pages_per_s"],
                          "pages/s", comparator=f"raw tesseract, {processes} process(es)",
                          comparator_value=args.pages / seconds if seconds else None)
        if 1 in by and 2 in by:
            print(f"scaling 2 vs 1 worker processes: {by[1]['seconds'] / by[2]['seconds']:.2f}x")
        for processes, result in by.items():
            if processes in raw:
                seconds, cpu = raw[processes]
                pages = result["pages"] + result["warm_pages"]
                print(f"{processes} process(es): wall time over raw tesseract "
                      f"{(result['seconds'] / seconds - 1) * 100:+.1f}%; CPU per page "
                      f"{result['cpu_seconds'] / pages:.2f} s vs raw {cpu / args.pages:.2f} s "
                      f"({(result['cpu_seconds'] / pages / (cpu / args.pages) - 1) * 100:+.1f}%,"
                      " worker start-up and warm-up included)")
        print(f"load average at the end: {os.getloadavg()}")
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
