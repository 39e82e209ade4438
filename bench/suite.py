"""Every benchmark, by name, with its quick, full and tiny arguments; `make bench` runs them.

    python -m bench.suite                 # every benchmark, quick mode (about 10 minutes)
    python -m bench.suite --full          # the full mode the issue notes quote (an hour and more)
    python -m bench.suite signing ocr     # some of them
    python -m bench.suite --tiny …        # the smallest inputs (the CI test: it runs, it prints)

Each benchmark runs as its own module (`python -m bench.<module>`: run as a script, a file named
like a package — bench/signing.py — would shadow it) in its own process, writes one result file
(`bench/results.py`), and the suite ends with `bench.report`. The services a benchmark needs are
started by `make bench` (scripts/services.sh) the way `make test` starts them; what a benchmark
starts itself (SeaweedFS, uvicorn, Chromium, a temporary PostgreSQL database) it stops.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Bench:
    name: str
    module: str
    compares: str
    quick: tuple[str, ...] = ()
    full: tuple[str, ...] = ()
    tiny: tuple[str, ...] = ()


BENCHES = (
    Bench("ocr", "bench.ocr", "OCR stage and whole digitize vs raw Tesseract and OCRmyPDF",
          quick=("--docs", "6"), tiny=("--docs", "1", "--skip-ocrmypdf")),
    Bench("ocr-quick", "bench.ocr_quick", "recognize_pages vs the raw tesseract CLI",
          quick=("--pages", "4", "--skip-naive"), tiny=("--pages", "1", "--skip-naive")),
    Bench("signing", "bench.signing", "PAdES signatures/s vs pyHanko defaults",
          quick=("--n", "10", "--skip-matrix"), tiny=("--n", "2", "--mb", "0.2", "--skip-matrix")),
    Bench("classify", "bench.classify", "type and field accuracy, review and wrong-passed rates",
          quick=("--count", "24"), tiny=("--count", "2")),
    Bench("memory", "bench.memory", "peak RSS of a long scan vs the code before page streaming",
          quick=("--pages", "12", "--skip-before"),
          tiny=("--pages", "2", "--dpi", "200", "--skip-before")),
    Bench("storage", "bench.storage", "object store throughput, S3 (SeaweedFS) vs local",
          quick=("--count", "10", "--size-kib", "500", "--big-mib", "8"),
          tiny=("--count", "2", "--size-kib", "64", "--big-mib", "0", "--no-s3")),
    Bench("pipeline", "bench.pipeline", "pages/s through Redis workers vs raw Tesseract",
          quick=("--pages", "12", "--workers", "1,2"),
          tiny=("--pages", "2", "--workers", "1", "--source", "simple")),
    Bench("progress", "bench.progress", "progress report time at 10M results",
          quick=("--results", "200000", "--database", "sohoa_bench_progress_quick"),
          tiny=("--results", "2000", "--database", "sohoa_bench_progress_tiny", "--drop-after")),
    Bench("progress-sqlite", "bench.progress", "progress report time at 10M results, SQLite",
          quick=("--results", "200000", "--sqlite", "temp"),
          full=("--sqlite", "/tmp/sohoa-bench-progress.sqlite3"),
          tiny=("--results", "2000", "--sqlite", "temp")),
    Bench("catalog", "bench.catalog", "catalog search latency at 1M results",
          quick=("--results", "100000", "--repeat", "50"),
          tiny=("--results", "2000", "--repeat", "3", "--database", "sohoa_bench_catalog_tiny",
                "--drop-after")),
    Bench("api", "bench.api", "API requests/s and p99 at 1M results",
          quick=("--results", "50000", "--seconds", "3", "--database", "sohoa_bench_api_quick"),
          tiny=("--results", "500", "--seconds", "0.5", "--only", "metadata", "--database",
                "sohoa_bench_api_tiny", "--fresh", "--drop-after")),
    Bench("decode", "bench.decode", "image decode in a limited child vs in-process; render via "
          "pdf2image wrappers vs direct pdftoppm", quick=("--repeat", "5"), tiny=("--repeat", "1")),
    Bench("records", "bench.records", "archive export stream: memory and entries/s vs "
          "loading every row", quick=("--docs", "10000"), full=("--docs", "10000", "--postgres"),
          tiny=("--docs", "200")),
    Bench("station", "bench.station", "counter time from Scan to submitted, in Chromium",
          quick=("--runs", "1"), tiny=("--runs", "1", "--pages", "1")),
)
OPTIONAL = {  # benchmarks that other work adds; run when their module exists
    "real": Bench("real", "bench.real", "real documents: fields right / held / wrong, CER",
                  quick=("--limit", "4"), tiny=("--limit", "1")),
    "batch": Bench("batch", "bench.batch", "batch split accuracy and pages/s vs raw Tesseract",
                   quick=("--docs", "20", "--dpi", "200"),
                   tiny=("--docs", "2", "--dpi", "200", "--no-tesseract")),
    "hostile": Bench("hostile", "bench.hostile", "hostile inputs: time and peak RSS to a refusal",
                     quick=("--only", "giant-page,pdf-image-bomb,pdf-content-bomb,png-bomb,"
                            "tiff-bomb,page-tree-loop,truncated-pdf"),
                     tiny=("--only", "zero-byte,giant-page")),
}


def available() -> list[Bench]:
    found = list(BENCHES)
    for bench in OPTIONAL.values():
        if (ROOT / (bench.module.replace(".", "/") + ".py")).exists():
            found.append(bench)
    return found


def command(bench: Bench, mode: str) -> list[str]:
    args = {"quick": bench.quick, "full": bench.full, "tiny": bench.tiny}[mode]
    return [sys.executable, "-m", bench.module, *args, *(["--quick"] if mode != "full" else [])]


def run(benches: list[Bench], mode: str, env: dict | None = None) -> dict[str, int]:
    """Run each benchmark in turn; {name: exit code}. A failing one does not stop the others."""
    codes = {}
    for bench in benches:
        print(f"\n=== bench {bench.name} ({mode}): {bench.compares}", flush=True)
        t0 = time.monotonic()
        done = subprocess.run(command(bench, mode), cwd=ROOT, env={**os.environ, **(env or {})})
        codes[bench.name] = done.returncode
        print(f"=== bench {bench.name}: exit {done.returncode} after "
              f"{time.monotonic() - t0:.0f} s", flush=True)
    return codes


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.suite", description=__doc__.split("\n")[0])
    parser.add_argument("names", nargs="*", help="benchmarks to run (default: all)")
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--full", action="store_true", help="the full mode")
    mode.add_argument("--tiny", action="store_true", help="the smallest inputs (CI)")
    parser.add_argument("--list", action="store_true", help="list the benchmarks and exit")
    args = parser.parse_args(argv)
    benches = available()
    if args.list:
        for bench in benches:
            print(f"{bench.name:10} python -m {bench.module:18} {bench.compares}")
        return 0
    by_name = {b.name: b for b in benches}
    unknown = [n for n in args.names if n not in by_name]
    if unknown:
        parser.error(f"unknown benchmark(s) {', '.join(unknown)}; known: {', '.join(by_name)}")
    chosen = [by_name[n] for n in args.names] if args.names else benches
    codes = run(chosen, "full" if args.full else "tiny" if args.tiny else "quick")
    from bench import report

    report.main([])
    failed = [name for name, code in codes.items() if code != 0]
    if failed:
        print(f"benchmarks that failed: {', '.join(failed)}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
