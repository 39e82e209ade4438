"""OCR benchmark: sohoa vs OCRmyPDF vs raw tesseract on generated counter scans (`make bench-ocr`).

A corpus of counter-like scans is generated at start (bench/corpus.py): `--docs` documents
(default 24, 30+ pages) in PDF and multi-page TIFF files, 200 and 300 dpi, colour/gray/bilevel,
skewed up to ±3°, noisy, blurred, JPEG-compressed, some scanned upside down, some with blank
duplex backs, each signed with a red seal over the signature. In the same run it processes them
with
  1. sohoa OCR stage:  load_pages → recognize_pages → assemble_pdf (PDF/A-2b), per file
  2. sohoa digitize:   pipeline.inline.digitize in a temporary SOHOA_HOME (ingest, preprocessing,
                       OCR, PDF/A, classification, signing, storing — all of it)
  3. OCRmyPDF:         `ocrmypdf -l vie --jobs 1 --output-type pdfa --rotate-pages --deskew`,
                       two files at a time (its best for a folder on 2 cores)
  4. raw tesseract:    `tesseract PAGE OUT -l vie pdf txt` per page image (the images embedded
                       in the files, extracted before timing), OMP_THREAD_LIMIT=1, one process
                       per core
sohoa runs like `digitize` does: min(workers, files) files at a time. It prints wall time,
pages/s, CPU time (user+sys of this process and its children: less noisy than wall time when
other work loads the machine), output bytes per input page and the character error rate (CER),
and the ratios sohoa/raw and ocrmypdf/sohoa. CER is given over all pages, over the upside-down
pages, and over the pages with text (blank backs left out: raw tesseract and OCRmyPDF read
bleed-through as letters there). `--ablation` also runs the sohoa OCR stage with each
preprocessing step switched off. It never asserts timings.

CER method: per page, text is NFC-normalised and whitespace runs become one space. Reading
order differs between engines (the two-column header: Tesseract reads left and right columns
line by line), so each ground-truth line is aligned on its own, longest first: its cost is the
edit distance to the best-matching substring of the page's OCR text not matched yet (Sellers'
approximate matching; a repeated line must match another occurrence). Every
non-space OCR character outside all matched substrings (seal text, noise read as letters,
garbage from an upside-down page) counts as one more error. CER = (sum of line costs + unmatched
OCR characters) / characters of the ground-truth lines, over the whole corpus. Blank backs have
no ground-truth text: anything read on them is error.

    .venv/bin/python bench/ocr.py [--docs 24] [--seed 3] [--workers 2] [--ablation]
                                  [--skip-ocrmypdf] [--skip-digitize] [--keep DIR]
                                  [--ocrmypdf-rotate-threshold 5]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import shutil
import subprocess
import sys
import tempfile
import time
import unicodedata
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench import results as bench_results  # noqa: E402
from bench.corpus import _encode_page, generate_document, write_document  # noqa: E402

LANG = "vie"


# --- corpus ---------------------------------------------------------------------------------


@dataclass
class Doc:
    path: Path
    truth: dict
    images: list[Path]  # page images for raw tesseract (the bytes embedded in the file)


def build_corpus(out: Path, count: int, seed: int) -> list[Doc]:
    rng = random.Random(f"sohoa-bench-ocr-{seed}")
    docs: list[Doc] = []
    raw = out / "raw"
    raw.mkdir(parents=True, exist_ok=True)
    for i in range(count):
        color = rng.choices(("color", "gray", "bilevel"), weights=(5, 3, 2))[0]
        opts = {
            "dpi": 300 if i % 2 == 0 else 200,
            "skew": round(rng.uniform(-3, 3), 2),
            "upside_down": i % 6 == 2,
            "noise": round(rng.uniform(0.1, 0.6), 2),
            "blur": round(rng.uniform(0.0, 0.9), 2),
            "tint": round(rng.uniform(0.0, 0.8), 2),
            "jpeg_quality": rng.choice([None, 55, 70, 85]) if color != "bilevel" else None,
            "color": color,
            "blank_back": i % 5 == 1,
        }
        doc = generate_document(seed * 1000 + i, **opts)
        fmt = "pdf" if i % 2 == 0 else "tiff"
        path = write_document(doc, out, f"scan-{i + 1:02d}", fmt)
        images = []
        for k, page in enumerate(doc.pages):
            data, kind = _encode_page(page, opts["dpi"], doc.jpeg_quality)
            img_path = raw / f"scan-{i + 1:02d}-p{k + 1}.{'jpg' if kind == 'jpeg' else 'png'}"
            img_path.write_bytes(data)
            images.append(img_path)
        docs.append(Doc(path, doc.truth, images))
    return docs


# --- character error rate -------------------------------------------------------------------


def _norm(s: str) -> str:
    return " ".join(unicodedata.normalize("NFC", s).split())


def approx_match(pattern: str, text: np.ndarray) -> tuple[int, int, int]:
    """Sellers' algorithm: (edit distance, start, end) of the best substring of `text`."""
    n = text.size
    cols = np.arange(n + 1)
    prev = np.zeros(n + 1, np.int64)
    start = cols.copy()
    for i, ch in enumerate(pattern, 1):
        sub = prev[:-1] + (text != ord(ch))
        dele = prev[1:] + 1
        cur = np.empty(n + 1, np.int64)
        cur_start = np.empty(n + 1, np.int64)
        cur[0], cur_start[0] = i, 0
        take_sub = sub <= dele
        cur[1:] = np.where(take_sub, sub, dele)
        cur_start[1:] = np.where(take_sub, start[:-1], start[1:])
        # insertions (text characters skipped): cur[j] = min over k <= j of cur[k] + (j - k)
        v = cur - cols
        run = np.minimum.accumulate(v)
        best_k = np.maximum.accumulate(np.where(v == run, cols, 0))
        prev, start = run + cols, cur_start[best_k]
    if n == 0:
        return len(pattern), 0, 0
    j = int(np.argmin(prev[1:])) + 1
    return int(prev[j]), int(start[j]), j


def page_errors(truth_text: str, ocr_text: str) -> tuple[int, int]:
    """(errors, ground-truth characters) for one page, as described in the module docstring."""
    lines = [_norm(ln) for ln in truth_text.splitlines() if _norm(ln)]
    text = _norm(ocr_text)
    arr = np.frombuffer(text.encode("utf-32-le"), dtype=np.uint32).astype(np.int64)
    covered = np.zeros(len(text), bool)
    errors = 0
    for line in sorted(lines, key=len, reverse=True):
        cost, s, e = approx_match(line, arr)
        errors += cost
        covered[s:e] = True
        arr[s:e] = -1  # matched once: a repeated line must match another occurrence
    errors += sum(1 for ch, c in zip(text, covered, strict=True) if not c and not ch.isspace())
    return errors, sum(len(ln) for ln in lines)


# --- runs -----------------------------------------------------------------------------------


def cpu_seconds() -> float:
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return time.process_time() + kids.ru_utime + kids.ru_stime


@dataclass
class Run:
    name: str
    wall: float = 0.0
    cpu: float = 0.0
    out_bytes: int = 0
    texts: list[list[str]] = field(default_factory=list)  # per doc, per original page
    notes: list[str] = field(default_factory=list)
    pages_out: int = 0  # pages accounted for (in the PDF or flagged blank)


def timed(run: Run, fn: Callable[[], None]) -> Run:
    c, t = cpu_seconds(), time.perf_counter()
    fn()
    run.wall, run.cpu = time.perf_counter() - t, cpu_seconds() - c
    return run


def _pdf_page_texts(pdf: Path) -> list[str]:
    import pikepdf

    with pikepdf.open(pdf) as doc:
        n = len(doc.pages)
    out = subprocess.run(["pdftotext", "-enc", "UTF-8", str(pdf), "-"], capture_output=True,
                         check=True).stdout.decode("utf-8", "replace")
    pages = out.split("\f")
    return (pages + [""] * n)[:n]


def run_ocr_stage(docs: list[Doc], workers: int, steps=None, *, assemble: bool = True,
                  name: str = "sohoa OCR stage") -> Run:
    from ocr.engine import recognize_pages
    from ocr.pages import load_pages
    from ocr.pdf import assemble_pdf

    run = Run(name)
    run.texts = [[] for _ in docs]
    sizes = [0] * len(docs)
    accounted = [0] * len(docs)
    files_at_once = max(1, min(workers, len(docs)))
    per_file = max(1, workers // files_at_once)

    def one(k: int) -> None:
        pages = load_pages(docs[k].path)
        results = recognize_pages(pages, lang=LANG, workers=per_file, steps=steps)
        run.texts[k] = [r.text for r in results]
        accounted[k] = len(results)
        if assemble:
            sizes[k] = len(assemble_pdf(results, title=docs[k].path.name))

    def go() -> None:
        with ThreadPoolExecutor(files_at_once) as pool:
            list(pool.map(one, range(len(docs))))

    timed(run, go)
    run.out_bytes, run.pages_out = sum(sizes), sum(accounted)
    return run


def run_digitize(docs: list[Doc], workers: int, home: Path, warm: Path) -> Run:
    os.environ["SOHOA_HOME"] = str(home)
    os.environ["SOHOA_OCR_WORKERS"] = str(workers)
    for name in ("SOHOA_DATABASE_URL", "SOHOA_STORAGE_URL", "SOHOA_BROKER_URL", "SOHOA_SIGNING_KEY"):
        os.environ.pop(name, None)
    import pikepdf

    import sohoa.runtime
    from pipeline.inline import digitize
    from sohoa.settings import get_settings
    from storage.catalog import Document

    get_settings.cache_clear()
    sohoa.runtime._runtime = None
    rt = sohoa.runtime.get_runtime()
    digitize(rt, [warm], unit_code="00004")  # migrations, TEST keys, models: not timed

    run = Run("sohoa digitize (whole)")
    records: list[dict] = []
    timed(run, lambda: records.extend(digitize(rt, [d.path for d in docs], unit_code="00004")))
    run.texts = [[] for _ in docs]
    for k, rec in enumerate(records):
        if rec["status"] not in ("stored", "needs_review"):
            run.notes.append(f"{docs[k].path.name}: {rec['status']} {rec.get('error')}")
        with rt.session() as s:
            doc = s.get(Document, rec["document_id"])
            run.texts[k] = (doc.ocr_text or "").split("\f")
            blanks = sum(1 for p in doc.pages if p.blank)
            key = doc.signed_key or doc.pdf_key
        with rt.objects.open(key) as stream:
            data = stream.read()
        run.out_bytes += len(data)
        with pikepdf.open(__import__("io").BytesIO(data)) as pdf:
            run.pages_out += len(pdf.pages) + blanks
    return run


def run_ocrmypdf(docs: list[Doc], out: Path, parallel: int, threshold: float | None = None) -> Run:
    exe = shutil.which("ocrmypdf") or str(Path(sys.executable).with_name("ocrmypdf"))
    out.mkdir(parents=True, exist_ok=True)
    inputs = []
    for d in docs:  # OCRmyPDF takes one image per file: multi-page TIFFs become PDFs first
        if d.path.suffix == ".pdf":
            inputs.append(d.path)
            continue
        import img2pdf

        pdf = out / (d.path.stem + ".in.pdf")
        pdf.write_bytes(img2pdf.convert(str(d.path)))
        inputs.append(pdf)
    env = {**os.environ, "OMP_THREAD_LIMIT": "1"}
    run = Run("OCRmyPDF" if threshold is None else f"OCRmyPDF rotate>={threshold:g}")
    extra = [] if threshold is None else ["--rotate-pages-threshold", str(threshold)]

    def one(k: int) -> None:
        target = out / f"{docs[k].path.stem}.ocrmypdf.pdf"
        proc = subprocess.run(
            [exe, "-l", LANG, "--jobs", "1", "--output-type", "pdfa", "--rotate-pages",
             "--deskew", *extra, "--quiet", str(inputs[k]), str(target)],
            capture_output=True, env=env, check=False)
        if proc.returncode != 0:
            run.notes.append(f"{docs[k].path.name}: exit {proc.returncode} "
                             f"{proc.stderr.decode(errors='replace')[-300:]}")

    def go() -> None:
        with ThreadPoolExecutor(parallel) as pool:
            list(pool.map(one, range(len(docs))))

    timed(run, go)
    run.texts = []
    for d in docs:
        target = out / f"{d.path.stem}.ocrmypdf.pdf"
        if target.exists():
            run.out_bytes += target.stat().st_size
            run.texts.append(_pdf_page_texts(target))
            run.pages_out += len(run.texts[-1])
        else:
            run.texts.append([])
    return run


def run_raw(docs: list[Doc], workers: int) -> Run:
    env = {**os.environ, "OMP_THREAD_LIMIT": "1"}
    images = [img for d in docs for img in d.images]
    run = Run("raw tesseract")

    def one(img: Path) -> None:
        subprocess.run(["tesseract", str(img), str(img.with_suffix("")), "-l", LANG, "pdf", "txt"],
                       capture_output=True, env=env, check=True)

    def go() -> None:
        with ThreadPoolExecutor(workers) as pool:
            list(pool.map(one, images))

    timed(run, go)
    for d in docs:
        run.texts.append([img.with_suffix(".txt").read_text(encoding="utf-8") for img in d.images])
        run.out_bytes += sum(img.with_suffix(".pdf").stat().st_size for img in d.images)
        run.pages_out += len(d.images)
    return run


def gil_probe(docs: list[Doc]) -> None:
    """How long the preprocessing holds the GIL: a pure-Python thread ticks every 1 ms while
    another thread preprocesses every page (analysis, straightening, median, image encoding);
    the longest gaps between ticks are the longest GIL holds (plus scheduling noise)."""
    import threading

    import cv2

    from ocr import engine, preprocess
    from ocr.pages import load_pages

    pages = [p for d in docs for p in load_pages(d.path)]
    gaps: list[float] = []
    stop = threading.Event()

    def tick() -> None:
        last = time.perf_counter()
        while not stop.is_set():
            time.sleep(0.001)
            now = time.perf_counter()
            gaps.append(now - last)
            last = now

    def work() -> None:
        for p in pages:
            rec = preprocess.recognition_gray(p.image)
            a = preprocess.analyze(p.image, p.dpi, gray=rec)
            if a.blank:
                continue
            rec = cv2.medianBlur(preprocess.drop_gray_seals(rec, a), 3)
            preprocess.straighten(rec, a.rotation, a.skew)
            engine._encode_image(p.image)

    def probe(fn) -> tuple[float, float, np.ndarray]:
        gaps.clear()
        stop.clear()
        ticker = threading.Thread(target=tick)
        ticker.start()
        c, t = time.process_time(), time.perf_counter()
        fn()
        wall, cpu = time.perf_counter() - t, time.process_time() - c
        stop.set()
        ticker.join()
        return wall, cpu, np.array(gaps) * 1000

    _, _, idle = probe(lambda: time.sleep(2))
    wall, cpu, g = probe(work)
    print(f"\nGIL probe: preprocessing {len(pages)} pages took {wall:.1f} s wall, {cpu:.1f} s cpu "
          f"({cpu / len(pages) * 1000:.0f} ms cpu/page incl. the ticker)")
    for label, v in (("idle", idle), ("while preprocessing", g)):
        print(f"  1-ms ticker gaps {label:<20} median {np.median(v):5.1f} ms  "
              f"p99 {np.percentile(v, 99):5.1f} ms  max {v.max():6.1f} ms")


# --- report ---------------------------------------------------------------------------------


def cer(run: Run, docs: list[Doc], only: Callable[[Doc, int], bool] | None = None) -> float:
    errors = chars = 0
    for d, texts in zip(docs, run.texts, strict=True):
        for k, truth in enumerate(d.truth["text"]):
            if only and not only(d, k):
                continue
            e, c = page_errors(truth, texts[k] if k < len(texts) else "")
            errors, chars = errors + e, chars + c
    return errors / chars if chars else 0.0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--docs", type=int, default=24)
    ap.add_argument("--seed", type=int, default=3)
    ap.add_argument("--workers", type=int, default=os.cpu_count() or 2)
    ap.add_argument("--ablation", action="store_true", help="also run with each step switched off")
    ap.add_argument("--skip-ocrmypdf", action="store_true")
    ap.add_argument("--ocrmypdf-rotate-threshold", type=float, default=None,
                    help="also run OCRmyPDF with this --rotate-pages-threshold (its default, 14, "
                         "is above the OSD confidence of most upside-down pages here)")
    ap.add_argument("--skip-digitize", action="store_true")
    ap.add_argument("--gil", action="store_true", help="only measure how long preprocessing "
                    "holds the GIL (no OCR)")
    ap.add_argument("--keep", type=Path, help="keep the corpus and outputs in this folder")
    ap.add_argument("--quick", action="store_true", help="record the run as quick mode")
    args = ap.parse_args()
    bench_results.start("ocr", quick=args.quick, args=vars(args))

    tmp = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="sohoa-bench-ocr-"))
    tmp.mkdir(parents=True, exist_ok=True)
    try:
        t = time.perf_counter()
        docs = build_corpus(tmp / "corpus", args.docs, args.seed)
        n_pages = sum(len(d.truth["text"]) for d in docs)
        blanks = sum(len(d.truth["blank_pages"]) for d in docs)
        upside = sum(1 for d in docs for r in d.truth["rotation"] if r == 180)
        print(f"corpus: {len(docs)} files (PDF, TIFF), {n_pages} pages ({upside} upside down, "
              f"{blanks} blank backs), dpi 200/300, built in {time.perf_counter() - t:.0f} s")
        print(f"machine: {os.cpu_count()} cpus, load average {os.getloadavg()[0]:.1f} at start; "
              f"workers={args.workers}")
        if args.gil:
            gil_probe(docs)
            return

        from bench.corpus import generate_document as gen

        warm = write_document(gen(999, dpi=200, pages=1), tmp / "warm", "warm", "png")
        # warm-up: tesseract traineddata in the page cache, imports
        run_raw([Doc(warm, {}, [warm])], 1)

        runs: list[Run] = []
        runs.append(run_raw(docs, args.workers))
        runs.append(run_ocr_stage(docs, args.workers))
        if not args.skip_digitize:
            runs.append(run_digitize(docs, args.workers, tmp / "home", warm))
        if not args.skip_ocrmypdf:
            runs.append(run_ocrmypdf(docs, tmp / "ocrmypdf", parallel=args.workers))
            if args.ocrmypdf_rotate_threshold is not None:
                runs.append(run_ocrmypdf(docs, tmp / "ocrmypdf-t", parallel=args.workers,
                                         threshold=args.ocrmypdf_rotate_threshold))
        load_end = os.getloadavg()[0]

        upside_pages = lambda d, k: d.truth["rotation"][k] == 180  # noqa: E731
        text_pages = lambda d, k: k not in d.truth["blank_pages"]  # noqa: E731
        print(f"\n{'system':<26} {'wall s':>7} {'pages/s':>8} {'cpu s':>7} {'KiB/page':>9} "
              f"{'CER':>7} {'CER 180°':>9} {'CER text':>9} {'pages':>6}")
        for r in runs:
            print(f"{r.name:<26} {r.wall:7.1f} {n_pages / r.wall:8.2f} {r.cpu:7.1f} "
                  f"{r.out_bytes / n_pages / 1024:9.0f} {cer(r, docs):7.2%} "
                  f"{cer(r, docs, upside_pages):9.2%} {cer(r, docs, text_pages):9.2%} "
                  f"{r.pages_out:>3}/{n_pages}")
            for note in r.notes:
                print(f"    ! {note}")
        by = {r.name: r for r in runs}
        raw, stage = by["raw tesseract"], by["sohoa OCR stage"]
        print("\nratios (wall / cpu):")
        print(f"  sohoa OCR stage / raw tesseract   {stage.wall / raw.wall:5.2f} / "
              f"{stage.cpu / raw.cpu:5.2f}   (target <= 1.15)")
        whole = by.get("sohoa digitize (whole)")
        if whole:
            print(f"  sohoa digitize / raw tesseract    {whole.wall / raw.wall:5.2f} / "
                  f"{whole.cpu / raw.cpu:5.2f}   (target <= 1.5)")
        omp = by.get("OCRmyPDF")
        if omp:
            print(f"  OCRmyPDF / sohoa OCR stage        {omp.wall / stage.wall:5.2f} / "
                  f"{omp.cpu / stage.cpu:5.2f}")
            if whole:
                print(f"  OCRmyPDF / sohoa digitize         {omp.wall / whole.wall:5.2f} / "
                      f"{omp.cpu / whole.cpu:5.2f}")
        record = bench_results.current()
        for r in runs:
            record.figure(f"{r.name} wall", r.wall, "s", better="lower",
                          comparator="raw tesseract" if r is not raw else None,
                          comparator_value=raw.wall if r is not raw else None)
            record.figure(f"{r.name} CER", 100 * cer(r, docs), "%", better="lower")
        record.figure("OCR stage / raw tesseract, wall", stage.wall / raw.wall, "x",
                      better="lower", target=1.15)
        if whole:
            record.figure("digitize / raw tesseract, wall", whole.wall / raw.wall, "x",
                          better="lower", target=1.5)
        if omp:
            record.figure("OCRmyPDF / sohoa OCR stage, wall", omp.wall / stage.wall, "x")
        print(f"load average {load_end:.1f} at the end (wall times are noisy when it exceeds "
              f"{os.cpu_count()}; compare cpu)")

        if args.ablation:
            from ocr.engine import Steps

            print("\nablation (sohoa OCR stage without the PDF, one step changed):")
            variants = [("all steps (default)", Steps()),
                        ("no orientation", Steps(orientation=False)),
                        ("no deskew", Steps(deskew=False)),
                        ("no seal dropout", Steps(dropout=False)),
                        ("no median denoise", Steps(denoise=False)),
                        ("no blank detection", Steps(blank=False))]
            for label, steps in variants:
                r = run_ocr_stage(docs, args.workers, steps, assemble=False, name=label)
                print(f"  {label:<24} cpu {r.cpu:6.1f} s  wall {r.wall:6.1f} s  "
                      f"CER {cer(r, docs):6.2%}  CER 180° {cer(r, docs, upside_pages):7.2%}")
        summary = {r.name: {"wall": r.wall, "cpu": r.cpu, "bytes": r.out_bytes,
                            "cer": cer(r, docs)} for r in runs}
        (tmp / "summary.json").write_text(json.dumps(summary, indent=1))
    finally:
        if not args.keep:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
