"""Memory benchmark: peak RSS and wall time of `sohoa digitize` on one long scanned PDF.

Generates a long document (default 60 A4 pages at 300 dpi: a few distinct one-page results from
the corpus generator, colour, slightly skewed and noisy, JPEG q85, cycled to the page count) as
one PDF, then digitizes it on the embedded default (SQLite + local folder, inline broker, a fresh
`SOHOA_HOME` in a temporary folder, `SOHOA_OCR_WORKERS` workers), each run in its own Python
process:

  before  the code of an earlier revision (`--before`, default: the parent of the first commit
          mentioning `iter_pages` in ocr/pages.py or pipeline/stages.py, i.e. the OCR stage that
          loaded every page at once),
          exported with `git archive` and put first on PYTHONPATH
  after   the code in this checkout
  raw     `tesseract page.jpg out -l vie pdf tsv` (OMP_THREAD_LIMIT=1) on the same pages,
          `SOHOA_OCR_WORKERS` processes at a time: the floor for the OCR work itself

For each it prints the peak RSS of the Python process (getrusage of itself) and the wall time
once the OCR stage is done and once the document is signed and stored, then the ratios for the
OCR stage. For raw tesseract the peak RSS is that of the largest tesseract process. (A process's
peak RSS includes what it had before `exec`, so the document is generated in another child and
this process stays small, and tesseract launched by the pipeline is not reported.) It never
asserts.

    .venv/bin/python -m bench.memory [--pages 60] [--dpi 300] [--workers 2] [--distinct 6]
                                     [--before REV] [--skip-before] [--skip-raw]
"""

from __future__ import annotations

import argparse
import io
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
UNIT = "00004"


def make_document(folder: Path, pages: int, dpi: int, distinct: int) -> tuple[Path, list[Path]]:
    """One PDF of `pages` pages and the same pages as JPEG files (for raw tesseract)."""
    import random

    import img2pdf

    from bench.corpus import generate_document

    rng = random.Random(20251125)
    jpegs: list[Path] = []
    for n in range(distinct):
        doc = generate_document(rng.randrange(10**9), dpi=dpi, pages=1,
                                skew=rng.uniform(-1.5, 1.5), noise=rng.uniform(0, 0.3),
                                jpeg_quality=85)
        buf = io.BytesIO()
        doc.pages[0].convert("RGB").save(buf, "JPEG", quality=85, dpi=(dpi, dpi))
        path = folder / f"page-{n:03d}.jpg"
        path.write_bytes(buf.getvalue())
        jpegs.append(path)
    order = [jpegs[i % distinct] for i in range(pages)]
    pdf = folder / f"so-dia-chinh-{pages}-trang.pdf"
    pdf.write_bytes(img2pdf.convert([p.read_bytes() for p in order],
                                    layout_fun=img2pdf.get_fixed_dpi_layout_fun((dpi, dpi))))
    return pdf, order


def before_revision(rev: str | None) -> str:
    if rev:
        return rev
    found = subprocess.run(
        ["git", "log", "-S", "iter_pages", "--format=%H", "--", "ocr/pages.py",
         "pipeline/stages.py"],
        cwd=ROOT, capture_output=True, text=True, check=True).stdout.split()
    rev = f"{found[-1]}^" if found else "HEAD"
    return subprocess.run(["git", "rev-parse", "--short=12", rev], cwd=ROOT, capture_output=True,
                          text=True, check=True).stdout.strip()


def export_tree(rev: str, target: Path) -> Path:
    target.mkdir(parents=True)
    archive = subprocess.run(["git", "archive", rev], cwd=ROOT, capture_output=True, check=True)
    subprocess.run(["tar", "-x", "-C", str(target)], input=archive.stdout, check=True)
    return target


def run_child(tree: Path, pdf: Path, home: Path, workers: int) -> dict:
    """Digitize `pdf` in a fresh interpreter importing the code from `tree`."""
    env = dict(os.environ, PYTHONPATH=str(tree), SOHOA_HOME=str(home),
               SOHOA_OCR_WORKERS=str(workers), SOHOA_BROKER_URL="inline")
    for name in ("SOHOA_DATABASE_URL", "SOHOA_STORAGE_URL", "SOHOA_SIGNING_KEY"):
        env.pop(name, None)
    proc = subprocess.run([sys.executable, str(Path(__file__).resolve()), "--child", str(pdf)],
                          env=env, cwd=tree, capture_output=True, text=True)
    if proc.returncode != 0:
        raise SystemExit(f"child failed ({proc.returncode}):\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def child(pdf: Path) -> None:
    """In the child: what `sohoa digitize` does for one file (ingest, then the stages), with
    the peak RSS and time once the OCR stage is done and once the document is stored."""
    import ocr.pages
    from pipeline.ingest import ingest_file
    from pipeline.inline import outcome, process_document
    from sohoa.runtime import get_runtime

    rt = get_runtime()
    rt.open()  # migrate and seed before timing
    workers = rt.settings.ocr_workers
    start = time.perf_counter()
    doc_id = ingest_file(rt, pdf, unit_code=UNIT).document_id
    process_document(rt, doc_id, ocr_workers=workers, stop_before="classify")
    ocr_wall = time.perf_counter() - start
    ocr_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    process_document(rt, doc_id, ocr_workers=workers)
    wall = time.perf_counter() - start
    record = outcome(rt, pdf, doc_id)
    print(json.dumps({"status": record["status"], "pages": record["pages"],
                      "error": record["error"], "wall": wall, "ocr_wall": ocr_wall,
                      "ocr_rss_mb": ocr_rss,
                      "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                      "child_rss_mb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
                      / 1024, "code": ocr.pages.__file__}))


def raw_child(pages: list[str], workers: int) -> None:
    """In the child: raw tesseract over the pages, `workers` at a time."""
    env = dict(os.environ, OMP_THREAD_LIMIT="1")
    with tempfile.TemporaryDirectory(prefix="sohoa-bench-raw-") as tmp:
        def one(item: tuple[int, str]) -> None:
            i, page = item
            subprocess.run(["tesseract", page, str(Path(tmp) / f"out-{i}"), "-l", "vie",
                            "pdf", "tsv"], env=env, capture_output=True, check=True)

        start = time.perf_counter()
        with ThreadPoolExecutor(workers) as pool:
            list(pool.map(one, enumerate(pages)))
        wall = time.perf_counter() - start
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    print(json.dumps({"status": "done", "pages": len(pages), "wall": wall,
                      "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                      "child_rss_mb": kids.ru_maxrss / 1024}))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--pages", type=int, default=60)
    ap.add_argument("--dpi", type=int, default=300)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--distinct", type=int, default=6, help="distinct pages, cycled")
    ap.add_argument("--before", help="git revision for the 'before' run")
    ap.add_argument("--skip-before", action="store_true")
    ap.add_argument("--skip-raw", action="store_true")
    ap.add_argument("--child", help=argparse.SUPPRESS)
    ap.add_argument("--make", help=argparse.SUPPRESS)
    ap.add_argument("--raw-child", nargs="+", help=argparse.SUPPRESS)
    ap.add_argument("--quick", action="store_true", help="record the run as quick mode")
    args = ap.parse_args(argv)
    if args.child:
        child(Path(args.child))
        return 0
    if args.raw_child:
        raw_child(args.raw_child, args.workers)
        return 0
    if args.make:
        sys.path.insert(0, str(ROOT))
        pdf, jpegs = make_document(Path(args.make), args.pages, args.dpi, args.distinct)
        print(json.dumps({"pdf": str(pdf), "jpegs": [str(j) for j in jpegs]}))
        return 0

    sys.path.insert(0, str(ROOT))
    from bench import results as bench_results

    record = bench_results.start("memory", quick=args.quick,
                                 args={k: v for k, v in vars(args).items() if v is not None})
    with tempfile.TemporaryDirectory(prefix="sohoa-bench-memory-") as tmp:
        folder = Path(tmp)
        t0 = time.perf_counter()
        made = subprocess.run(  # in a child: this process must stay small (see the docstring)
            [sys.executable, str(Path(__file__).resolve()), "--make", str(folder),
             "--pages", str(args.pages), "--dpi", str(args.dpi), "--distinct",
             str(args.distinct)], capture_output=True, text=True, check=True)
        made = json.loads(made.stdout.strip().splitlines()[-1])
        pdf, jpegs = Path(made["pdf"]), made["jpegs"]
        print(f"document: {pdf.name}, {args.pages} pages at {args.dpi} dpi "
              f"({pdf.stat().st_size / 1e6:.1f} MB, made in {time.perf_counter() - t0:.0f} s); "
              f"workers {args.workers}, cpus {os.cpu_count()}")
        runs: dict[str, dict] = {}
        if not args.skip_before:
            rev = before_revision(args.before)
            tree = export_tree(rev, folder / "before-tree")
            runs[f"before ({rev[:12]})"] = run_child(tree, pdf, folder / "home-before",
                                                      args.workers)
        runs["after"] = run_child(ROOT, pdf, folder / "home-after", args.workers)
        if not args.skip_raw:
            proc = subprocess.run(
                [sys.executable, str(Path(__file__).resolve()), "--workers", str(args.workers),
                 "--raw-child", *map(str, jpegs)], capture_output=True, text=True, check=True)
            runs["raw tesseract"] = json.loads(proc.stdout.strip().splitlines()[-1])

    print(f"{'run':<24} {'status':<8} {'pages':>5} {'OCR stage':>22} {'whole digitize':>22}")
    print(f"{'':<24} {'':<8} {'':>5} {'peak RSS MB':>12} {'wall s':>9} {'peak RSS MB':>12} "
          f"{'wall s':>9}")
    for name, r in runs.items():
        if name == "raw tesseract":  # the largest tesseract process; OCR only
            print(f"{name:<24} {r['status']:<8} {r['pages']:>5} {r['child_rss_mb']:>12.0f} "
                  f"{r['wall']:>9.1f}")
            continue
        print(f"{name:<24} {r['status']:<8} {r['pages'] or 0:>5} {r['ocr_rss_mb']:>12.0f} "
              f"{r['ocr_wall']:>9.1f} {r['rss_mb']:>12.0f} {r['wall']:>9.1f}")
        if r.get("error"):
            print(f"  error: {r['error']}")
    after = runs["after"]
    if after["status"] == "failed" or not after["pages"]:
        print("the digitize under test did not finish: no figures", file=sys.stderr)
        return 1
    record.figure(f"OCR stage peak RSS, {args.pages} pages", after["ocr_rss_mb"], "MB",
                  better="lower")
    record.figure("whole digitize peak RSS", after["rss_mb"], "MB", better="lower")
    raw = runs.get("raw tesseract")
    record.figure("OCR stage wall", after["ocr_wall"], "s", better="lower",
                  comparator="raw tesseract" if raw else None,
                  comparator_value=raw["wall"] if raw else None)
    for name, r in runs.items():
        if name.startswith("before"):
            record.figure("OCR stage peak RSS before page streaming", r["ocr_rss_mb"], "MB",
                          better="lower", comparator="after", comparator_value=after["ocr_rss_mb"])
    for name, r in runs.items():
        if name == "after":
            continue
        raw = name == "raw tesseract"
        rss, wall = (r["child_rss_mb"], r["wall"]) if raw else (r["ocr_rss_mb"], r["ocr_wall"])
        print(f"after / {name} (OCR stage): peak RSS x{after['ocr_rss_mb'] / rss:.2f}, "
              f"wall x{after['ocr_wall'] / wall:.2f}, pages/s {after['pages'] / after['ocr_wall']:.2f}"
              f" vs {(r['pages'] or 0) / wall:.2f}")
    return 0


if __name__ == "__main__":
    if sys.path and Path(sys.path[0]).resolve() == Path(__file__).resolve().parent:
        sys.path.pop(0)  # a child runs this file as a script: bench/ocr.py is not `ocr`
    sys.exit(main())
