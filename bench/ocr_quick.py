"""Quick OCR benchmark: ocr.recognize_pages vs the raw tesseract CLI on the same pages.

Generates A4 pages of Vietnamese administrative text at test time (with paper tone, sensor
noise and slight blur like a real scan, unless --clean), then times
  1. recognize_pages(pages, workers=N)              (ours: JPEG q85 page, `pdf tsv`, threads)
  2. raw `tesseract page.jpg out -l vie pdf tsv`    (same JPEGs, N processes, OMP_THREAD_LIMIT=1):
     the pure overhead of our wrapper
  3. raw tesseract on PNG pages, N processes        (what scripting the CLI on lossless files
     gives: Leptonica then embeds the page with Flate, much larger and slower on scans)
  4. raw tesseract on PNG, one page at a time, default OpenMP threading (a naive loop)
and prints wall time, pages/s, the ratios, bytes per page and the assembly time.
It never asserts timings.

    .venv/bin/python bench/ocr_quick.py [--pages 6] [--workers 2] [--dpi 300] [--repeat 1]
                                        [--clean] [--skip-naive]
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter, ImageFont

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import results as bench_results  # noqa: E402
from ocr.engine import recognize_pages  # noqa: E402
from ocr.pages import Page  # noqa: E402
from ocr.pdf import assemble_pdf  # noqa: E402

FONT = "/usr/share/fonts/truetype/liberation2/LiberationSerif-Regular.ttf"
BODY = [
    "ỦY BAN NHÂN DÂN                CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM",
    "PHƯỜNG BA ĐÌNH                       Độc lập - Tự do - Hạnh phúc",
    "Số: {n}/QĐ-UBND                 Ba Đình, ngày 05 tháng 01 năm 2025",
    "",
    "QUYẾT ĐỊNH",
    "Về việc cấp giấy phép xây dựng nhà ở riêng lẻ",
    "",
    "CHỦ TỊCH ỦY BAN NHÂN DÂN PHƯỜNG BA ĐÌNH",
    "Căn cứ Luật Tổ chức chính quyền địa phương ngày 19 tháng 6 năm 2015;",
    "Căn cứ Luật Xây dựng ngày 18 tháng 6 năm 2014 và Luật sửa đổi, bổ sung;",
    "Căn cứ Nghị định số 15/2021/NĐ-CP ngày 03 tháng 3 năm 2021 của Chính phủ;",
    "Xét đề nghị của ông Nguyễn Văn An, số định danh cá nhân 001090012345;",
    "",
    "QUYẾT ĐỊNH:",
    "Điều 1. Cấp giấy phép xây dựng cho ông Nguyễn Văn An tại số 12 phố Đội Cấn.",
    "Điều 2. Quyết định này có hiệu lực kể từ ngày ký.",
    "Điều 3. Văn phòng Ủy ban nhân dân phường và ông Nguyễn Văn An chịu trách nhiệm",
    "thi hành Quyết định này./.",
    "",
    "Nơi nhận:                                         TM. ỦY BAN NHÂN DÂN",
    "- Như Điều 3;                                             CHỦ TỊCH",
    "- Lưu: VT.",
    "                                                        Trần Thị Bình",
]


def make_page(n: int, dpi: int, clean: bool = False) -> Image.Image:
    w, h = round(8.27 * dpi), round(11.69 * dpi)
    img = Image.new("RGB", (w, h), "white")
    draw = ImageDraw.Draw(img)
    font = ImageFont.truetype(FONT, round(13 / 72 * dpi))
    y = round(0.8 * dpi)
    for line in BODY:
        draw.text((round(0.9 * dpi), y), line.format(n=100 + n), font=font, fill="black")
        y += round(0.3 * dpi)
    # a red seal, as on real results
    cx, cy, r = round(5.6 * dpi), round(0.8 * dpi + 20.5 * 0.3 * dpi), round(0.6 * dpi)
    draw.ellipse((cx - r, cy - r, cx + r, cy + r), outline=(200, 20, 20), width=max(2, dpi // 60))
    if clean:
        return img
    rng = np.random.default_rng(n)
    arr = np.asarray(img, dtype=np.float32) * 0.9 + np.array([18, 16, 10], dtype=np.float32)
    arr += rng.normal(0, 6, arr.shape).astype(np.float32)
    noisy = Image.fromarray(np.clip(arr, 0, 255).astype(np.uint8))
    return noisy.filter(ImageFilter.GaussianBlur(0.6))


def cpu_seconds() -> float:
    """CPU time of this process and its finished children: robust on a shared, busy machine."""
    own = time.process_time()
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own + kids.ru_utime + kids.ru_stime


def raw_tesseract(paths: list[Path], workers: int, omp_single: bool, lang: str) -> tuple[float, float, int]:
    """Wall time, CPU time and total PDF bytes of running the tesseract CLI on `paths`."""
    env = dict(os.environ)
    if omp_single:
        env["OMP_THREAD_LIMIT"] = "1"
    else:
        env.pop("OMP_THREAD_LIMIT", None)

    def run(p: Path) -> None:
        subprocess.run(
            ["tesseract", str(p), str(p.with_suffix("")) + "-out", "-l", lang, "pdf", "tsv"],
            env=env,
            check=True,
            capture_output=True,
        )

    c, t = cpu_seconds(), time.perf_counter()
    with ThreadPoolExecutor(max_workers=workers) as pool:
        list(pool.map(run, paths))
    wall, cpu = time.perf_counter() - t, cpu_seconds() - c
    return wall, cpu, sum(Path(str(p.with_suffix("")) + "-out.pdf").stat().st_size for p in paths)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--pages", type=int, default=6)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--dpi", type=int, default=300)
    ap.add_argument("--lang", default="vie")
    ap.add_argument("--skip-naive", action="store_true", help="skip the default-OpenMP run")
    ap.add_argument("--repeat", type=int, default=1, help="best of N for the first two runs")
    ap.add_argument("--clean", action="store_true", help="noise-free synthetic pages")
    ap.add_argument("--quick", action="store_true", help="record the run as quick mode")
    args = ap.parse_args()
    run = bench_results.start("ocr-quick", quick=args.quick, args=vars(args))

    images = [make_page(i, args.dpi, args.clean) for i in range(args.pages)]
    pages = [Page(i, im, args.dpi, "bench.png") for i, im in enumerate(images)]
    n = len(pages)
    print(
        f"{n} pages, A4 at {args.dpi} dpi ({images[0].width}x{images[0].height}), "
        f"workers={args.workers}, cpus={os.cpu_count()}"
    )

    recognize_pages(pages[:1], lang=args.lang, workers=1)  # warm-up: load traineddata once
    ours = ours_cpu = float("inf")
    for _ in range(args.repeat):
        c, t = cpu_seconds(), time.perf_counter()
        results = recognize_pages(pages, lang=args.lang, workers=args.workers)
        ours = min(ours, time.perf_counter() - t)
        ours_cpu = min(ours_cpu, cpu_seconds() - c)
    t = time.perf_counter()
    doc = assemble_pdf(results, title="bench")
    assemble = time.perf_counter() - t

    with tempfile.TemporaryDirectory(prefix="sohoa-bench-") as tmp:
        jpgs, pngs = [], []
        for i, im in enumerate(images):
            jpg, png = Path(tmp) / f"p{i}.jpg", Path(tmp) / f"p{i}.png"
            im.save(jpg, quality=85, dpi=(args.dpi, args.dpi))
            im.save(png, dpi=(args.dpi, args.dpi))
            jpgs.append(jpg)
            pngs.append(png)
        runs = [raw_tesseract(jpgs, args.workers, True, args.lang) for _ in range(args.repeat)]
        raw_jpg, raw_jpg_cpu = min(r[0] for r in runs), min(r[1] for r in runs)
        raw_png, raw_png_cpu, raw_png_bytes = raw_tesseract(pngs, args.workers, True, args.lang)
        naive = None if args.skip_naive else raw_tesseract(pngs, 1, False, args.lang)[:2]

    def row(name: str, secs: float, cpu: float) -> None:
        print(f"  {name:<50} {secs:7.2f} s  {n / secs:6.2f} pages/s  cpu {cpu:6.2f} s")

    print(f"wall time (load average now {os.getloadavg()[0]:.1f}; wall is noisy when > cpus)")
    row(f"recognize_pages (workers={args.workers})", ours, ours_cpu)
    row(f"raw CLI on the same JPEGs, {args.workers} procs, OMP=1", raw_jpg, raw_jpg_cpu)
    row(f"raw CLI on PNG, {args.workers} procs, OMP=1", raw_png, raw_png_cpu)
    if naive is not None:
        row("raw CLI on PNG, 1 at a time, default OpenMP", *naive)
    print(
        f"ratio ours / raw CLI same JPEGs: wall {ours / raw_jpg:.2f}, "
        f"cpu {ours_cpu / raw_jpg_cpu:.2f}  (1.00 = no wrapper overhead)"
    )
    print(f"ratio ours / raw CLI on PNG:     wall {ours / raw_png:.2f}, cpu {ours_cpu / raw_png_cpu:.2f}")
    if naive is not None:
        print(f"speed-up over naive loop: {naive[0] / ours:.2f}x")
    run.figure("recognize_pages wall", ours, "s", better="lower",
               comparator="raw tesseract CLI, same JPEGs", comparator_value=raw_jpg)
    run.figure("recognize_pages cpu", ours_cpu, "s", better="lower",
               comparator="raw tesseract CLI, same JPEGs", comparator_value=raw_jpg_cpu)
    run.figure("recognize_pages throughput", n / ours, "pages/s")
    if naive is not None:
        run.figure("naive loop (default OpenMP) wall", naive[0], "s", better="lower",
                   comparator="recognize_pages", comparator_value=ours)
    conf = sum(r.confidence for r in results) / n
    print(f"mean confidence {conf:.3f}")
    per_page = sum(len(r.pdf) for r in results) / n
    print(
        f"bytes per page: ours {per_page / 1024:.0f} KiB (JPEG q85 embedded as-is), "
        f"raw CLI on PNG {raw_png_bytes / n / 1024:.0f} KiB (Flate); "
        f"assembled PDF/A {len(doc) / 1024:.0f} KiB in {assemble * 1000:.0f} ms"
    )


if __name__ == "__main__":
    main()
