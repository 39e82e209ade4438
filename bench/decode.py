"""Image decoding in a child process under limits (`ocr.imagedecode`) vs in the worker process,
and PDF rendering through pdf2image and the limit wrappers (`ocr.poppler`) vs pdftoppm called
directly.

What the isolation costs per page: each input is loaded with `ocr.pages.iter_pages` (the child:
process start, Pillow import, decode, pixels over a pipe) and with the in-process decode the code
did before (Image.open, load, mode normalization in the calling process), --repeat times each.
Inputs are what counters send: an A4 colour JPEG at 300 dpi, an A4 gray PNG at 300 dpi, and a
5-page bitonal G4 TIFF at 200 dpi. The PDF is the colour JPEG page wrapped in a PDF, rendered at
300 dpi by `ocr.limits.render_pdf_page` (pdf2image: pdfinfo, pdftoppm -v, pdftoppm, each through
a wrapper) and by one direct pdftoppm call (the code before).

    .venv/bin/python -m bench.decode [--repeat 5] [--quick]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from PIL import Image, ImageDraw, ImageOps, ImageSequence

A4_300 = (2480, 3508)
A4_200 = (1654, 2339)


def _page(size, mode: str, n: int = 0) -> Image.Image:
    img = Image.new("RGB", size, "white")
    draw = ImageDraw.Draw(img)
    for row in range(60, size[1] - 60, max(12, size[1] // 70)):  # lines of "text"
        draw.rectangle((150, row, size[0] - 150 - (row * 7 + n) % 400, row + size[1] // 200),
                       fill=(20, 20, 20))
    draw.ellipse((size[0] - 700, size[1] - 900, size[0] - 250, size[1] - 450),
                 outline=(200, 30, 30), width=12)  # a red seal
    return img.convert(mode)


def inputs(folder: Path) -> dict[str, tuple[Path, int]]:
    """name → (file, pages)."""
    jpeg, png, tiff = folder / "a4-300.jpg", folder / "a4-300.png", folder / "a4-200-g4.tif"
    _page(A4_300, "RGB").save(jpeg, quality=85, dpi=(300, 300))
    _page(A4_300, "L").save(png, dpi=(300, 300))
    frames = [_page(A4_200, "1", n) for n in range(5)]
    frames[0].save(tiff, save_all=True, append_images=frames[1:], compression="group4",
                   dpi=(200, 200))
    return {"JPEG A4 300 dpi colour": (jpeg, 1), "PNG A4 300 dpi gray": (png, 1),
            "TIFF G4 A4 200 dpi, 5 pages": (tiff, 5)}


def in_process(path: Path) -> int:
    """The decode as it was before: in the calling process."""
    from ocr.imagedecode import normalize_mode

    count = 0
    with Image.open(path) as img:
        frames = ImageSequence.Iterator(img) if img.format == "TIFF" else [img]
        for frame in frames:
            frame.load()
            im = ImageOps.exif_transpose(frame) if img.format == "JPEG" else frame.copy()
            normalize_mode(im).tobytes()[:1]
            count += 1
    return count


def in_child(path: Path) -> int:
    from ocr.pages import iter_pages

    return sum(1 for page in iter_pages(path) if page.image.size)


def render_direct(path: Path) -> None:
    """The render as it was before: one pdftoppm call, the image read back."""
    import subprocess

    with tempfile.TemporaryDirectory(prefix="sohoa-bench-render-") as tmp:
        subprocess.run(["pdftoppm", "-r", "300", "-f", "1", "-l", "1", "-singlefile", str(path),
                        f"{tmp}/page"], check=True, capture_output=True)
        with Image.open(f"{tmp}/page.ppm") as img:
            img.load()


def render_wrapped(path: Path) -> None:
    from ocr.limits import Limits, render_pdf_page

    render_pdf_page(path, 0, 300, Limits())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--quick", action="store_true", help="record the run as quick mode")
    args = parser.parse_args()
    from bench import results as bench_results

    record = bench_results.start("decode", quick=args.quick, args=vars(args))
    print(f"{'input':<30} {'in-process':>12} {'child':>10} {'cost':>9}  (ms per page, median)")
    with tempfile.TemporaryDirectory(prefix="sohoa-bench-decode-") as tmp:
        for name, (path, pages) in inputs(Path(tmp)).items():
            in_child(path)  # warm the page cache and the interpreter's imports
            before, after = [], []
            for _ in range(args.repeat):
                start = time.perf_counter()
                assert in_process(path) == pages
                before.append((time.perf_counter() - start) * 1000 / pages)
                start = time.perf_counter()
                assert in_child(path) == pages
                after.append((time.perf_counter() - start) * 1000 / pages)
            fig = record.timings(f"{name}: decode in a child", after, "ms/page",
                                 comparator="in the worker process (before)",
                                 comparator_value=sorted(before)[len(before) // 2])
            cost = fig.value - fig.comparator_value
            print(f"{name:<30} {fig.comparator_value:>12.1f} {fig.value:>10.1f} "
                  f"{cost:>+8.1f}", flush=True)
            record.figure(f"{name}: isolation cost", cost, "ms/page", better="lower")
        pdf = Path(tmp) / "a4-300.pdf"
        _page(A4_300, "RGB").save(pdf, "PDF", resolution=300, quality=85)
        render_wrapped(pdf)
        before, after = [], []
        for _ in range(args.repeat):
            start = time.perf_counter()
            render_direct(pdf)
            before.append((time.perf_counter() - start) * 1000)
            start = time.perf_counter()
            render_wrapped(pdf)
            after.append((time.perf_counter() - start) * 1000)
        name = "PDF A4 300 dpi render"
        fig = record.timings(f"{name}: pdf2image + limit wrappers", after, "ms/page",
                             comparator="pdftoppm called directly (before)",
                             comparator_value=sorted(before)[len(before) // 2])
        print(f"{name:<30} {fig.comparator_value:>12.1f} {fig.value:>10.1f} "
              f"{fig.value - fig.comparator_value:>+8.1f}  (direct vs pdf2image)", flush=True)
    record.save()


if __name__ == "__main__":
    main()
