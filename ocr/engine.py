"""Recognition: preprocess a page, run Tesseract once on it, build its one-page searchable PDF.

This module owns how a page goes through Tesseract. Per page, in a worker thread:
1. `ocr.preprocess.analyze` on a 150-dpi copy (numpy/OpenCV, GIL released): blank page, quality
   gate (`InputError` with a Vietnamese rescan message), orientation and skew.
2. Blank pages (duplex backs) stop here: a `PageResult` with `blank=True`, no PDF, no text. They
   stay in the results so the page count always matches the original file; `assemble_pdf` leaves
   them out of the searchable PDF (the stored original keeps them).
3. The page is turned upright and deskewed. Two images come out of it: the stored image (colour
   kept) and the recognition image (gray; the red channel for colour pages, so a red seal drops
   out). The recognition image goes to Tesseract as raw PGM (no codec cost):
   `tesseract page.pgm BASE -l LANG --dpi DPI -c textonly_pdf=1 pdf tsv` gives the invisible text
   layer (page size = pixels / dpi) and the TSV (word boxes, confidences).
4. The stored image is encoded per page, never resampled: JPEG (`JPEG_QUALITY`) for colour and
   gray, Flate-compressed 1-bit for bilevel input, and drawn under the text layer. A page we
   turned upright is stored upright: image, text layer and word boxes all use the upright page.

Tesseract runs single-threaded (`OMP_THREAD_LIMIT=1`) and pages are spread over `workers`
concurrent tesseract processes, launched from threads: tesseract is its own process, so this
is real parallelism without pickling images. Confidences are reported in 0..1.

If the upright test was undecided (score near 0.5, or little text) and the page then reads
badly, it is read once more turned by a half turn and the better reading is kept.
"""

from __future__ import annotations

import csv
import io
import os
import shutil
import subprocess
import tempfile
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import cv2
import numpy as np
import pikepdf

from ocr import preprocess
from ocr.pages import Page

JPEG_QUALITY = 75
TESSERACT = "tesseract"
PAGE_TIMEOUT_S = 600
RETRY_BELOW = 0.7  # an undecided orientation is checked by reading: mean confidence below this


@dataclass(frozen=True)
class Steps:
    """Which preprocessing steps run (all by default; the benchmark switches them off one by one)."""

    gate: bool = True
    blank: bool = True
    orientation: bool = True
    deskew: bool = True
    dropout: bool = True
    denoise: bool = False


class OcrError(RuntimeError):
    """Tesseract could not run or failed on a page; the message names the page and the cause."""


@dataclass
class Word:
    """One recognized word; box in pixels of the page image, `conf` in 0..1."""

    text: str
    conf: float
    left: int
    top: int
    width: int
    height: int
    block: int = 0
    par: int = 0
    line: int = 0


@dataclass
class PageResult:
    """Recognition of one page: its one-page searchable PDF and what Tesseract read."""

    index: int
    pdf: bytes
    text: str
    confidence: float
    words: list[Word]
    width: int
    height: int
    dpi: int
    source: str = ""
    image_format: str = ""  # "jpeg" or "flate" (1-bit): how the page image is embedded in `pdf`
    extra: dict = field(default_factory=dict)
    blank: bool = False  # a blank page (duplex back): no `pdf`, left out of the searchable PDF
    rotation: int = 0  # clockwise quarter turns (degrees) applied to make the page upright
    skew: float = 0.0  # degrees (counter-clockwise positive) removed by deskewing


def available_languages() -> frozenset[str]:
    """Languages the installed Tesseract knows (`tesseract --list-langs`), cached."""
    return _list_languages(TESSERACT)


@lru_cache(maxsize=8)
def _list_languages(tesseract: str) -> frozenset[str]:
    try:
        proc = subprocess.run(
            [tesseract, "--list-langs"], capture_output=True, text=True, timeout=60, check=False
        )
    except FileNotFoundError as e:
        raise OcrError(f"tesseract is not installed (command {tesseract!r} not found)") from e
    lines = (proc.stdout + "\n" + proc.stderr).splitlines()
    return frozenset(ln.strip() for ln in lines if ln.strip() and " " not in ln.strip())


def check_languages(lang: str) -> None:
    """Raise OcrError if a language in `lang` (e.g. 'vie+eng') is not installed."""
    have = available_languages()
    missing = [lg for lg in lang.split("+") if lg and lg not in have]
    if missing:
        raise OcrError(
            f"Tesseract language data missing: {', '.join(missing)} "
            f"(installed: {', '.join(sorted(have)) or 'none'}); "
            f"install the tesseract-ocr-{missing[0]} package"
        )


def _tesseract_env() -> dict[str, str]:
    env = dict(os.environ)
    env["OMP_THREAD_LIMIT"] = "1"
    return env


def _encode_image(a: np.ndarray, bilevel: bool) -> tuple[bytes, dict, str]:
    """Encode the stored page image: (stream data, image dictionary entries, format)."""
    h, w = a.shape[:2]
    entries = {"/Width": w, "/Height": h, "/BitsPerComponent": 8}
    if bilevel:
        import zlib

        bits = np.packbits(a >= 128, axis=1)  # 1 = white, as DeviceGray 1-bit reads it
        entries.update({"/BitsPerComponent": 1, "/ColorSpace": pikepdf.Name.DeviceGray})
        return zlib.compress(bits.tobytes(), 6), entries, "flate"
    if a.ndim == 3:
        ok, data = cv2.imencode(".jpg", cv2.cvtColor(a, cv2.COLOR_RGB2BGR),
                                [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY])
        entries["/ColorSpace"] = pikepdf.Name.DeviceRGB
    else:
        ok, data = cv2.imencode(".jpg", a, [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY])
        entries["/ColorSpace"] = pikepdf.Name.DeviceGray
    if not ok:
        raise OcrError("JPEG encoding of the page image failed")
    return data.tobytes(), entries, "jpeg"


def _compose(text_pdf: bytes, data: bytes, entries: dict, image_format: str) -> bytes:
    """Draw the page image under Tesseract's invisible text layer (same page box)."""
    with pikepdf.open(io.BytesIO(text_pdf)) as pdf:
        page = pdf.pages[0]
        box = [float(v) for v in page.mediabox]
        w_pt, h_pt = box[2] - box[0], box[3] - box[1]
        image = pikepdf.Stream(pdf, b"")
        image.write(data, filter=pikepdf.Name.FlateDecode if image_format == "flate"
                    else pikepdf.Name.DCTDecode)
        image["/Type"] = pikepdf.Name.XObject
        image["/Subtype"] = pikepdf.Name.Image
        for key, value in entries.items():
            image[key] = value
        if "/Resources" not in page.obj:
            page.obj["/Resources"] = pikepdf.Dictionary()
        page.obj.Resources["/XObject"] = pikepdf.Dictionary({"/Im0": image})
        draw = f"q {w_pt:.4f} 0 0 {h_pt:.4f} {box[0]:.4f} {box[1]:.4f} cm /Im0 Do Q\n".encode()
        page.contents_add(pikepdf.Stream(pdf, draw), prepend=True)
        out = io.BytesIO()
        pdf.save(out, compress_streams=True)
        return out.getvalue()


def parse_tsv(tsv: str) -> tuple[list[Word], str]:
    """Words (level 5 rows with text) and the page text: lines joined by newlines,
    paragraphs and blocks separated by a blank line."""
    words: list[Word] = []
    reader = csv.reader(io.StringIO(tsv), delimiter="\t", quoting=csv.QUOTE_NONE)
    header = next(reader, None)
    if not header:
        return [], ""
    col = {name: i for i, name in enumerate(header)}
    need = ("level", "block_num", "par_num", "line_num", "left", "top", "width", "height", "conf")
    if any(n not in col for n in need) or "text" not in col:
        raise OcrError(f"unexpected tesseract TSV header: {header!r}")
    for row in reader:
        if len(row) < len(header) or row[col["level"]] != "5":
            continue
        text = row[col["text"]].strip()
        if not text:
            continue
        conf = float(row[col["conf"]])
        words.append(
            Word(
                text=text,
                conf=conf / 100.0 if conf >= 0 else -1.0,
                left=int(row[col["left"]]),
                top=int(row[col["top"]]),
                width=int(row[col["width"]]),
                height=int(row[col["height"]]),
                block=int(row[col["block_num"]]),
                par=int(row[col["par_num"]]),
                line=int(row[col["line_num"]]),
            )
        )
    parts: list[str] = []
    prev = None
    for w in words:
        key = (w.block, w.par, w.line)
        if prev is None:
            pass
        elif key[:2] != prev[:2]:
            parts.append("\n\n")
        elif key != prev:
            parts.append("\n")
        else:
            parts.append(" ")
        parts.append(w.text)
        prev = key
    return words, "".join(parts)


def _run_tesseract(rec: np.ndarray, dpi: int, lang: str, where: str, timeout: float
                   ) -> tuple[bytes, str]:
    """One tesseract run on a gray image: (text-only one-page PDF, TSV)."""
    with tempfile.TemporaryDirectory(prefix="sohoa-ocr-") as tmp:
        folder = Path(tmp)
        image_path = folder / "page.pgm"
        if not cv2.imwrite(str(image_path), rec):
            raise OcrError(f"cannot write the page image for {where}")
        base = folder / "out"
        cmd = [TESSERACT, str(image_path), str(base), "-l", lang, "--dpi", str(dpi),
               "-c", "textonly_pdf=1", "pdf", "tsv"]
        try:
            proc = subprocess.run(
                cmd, capture_output=True, env=_tesseract_env(), timeout=timeout, check=False
            )
        except FileNotFoundError as e:
            raise OcrError(f"tesseract is not installed (command {TESSERACT!r} not found)") from e
        except subprocess.TimeoutExpired as e:
            raise OcrError(f"tesseract timed out after {timeout:.0f} s on {where}") from e
        stderr = proc.stderr.decode("utf-8", "replace").strip()
        pdf_path, tsv_path = base.with_suffix(".pdf"), base.with_suffix(".tsv")
        if proc.returncode != 0 or not pdf_path.exists() or not tsv_path.exists():
            tail = "\n".join(stderr.splitlines()[-5:])
            raise OcrError(f"tesseract failed on {where} (exit {proc.returncode}): {tail}")
        return pdf_path.read_bytes(), tsv_path.read_text(encoding="utf-8", errors="replace")


def _read(image: np.ndarray, rec: np.ndarray, rotation: int, skew: float, bilevel: bool,
          page: Page, lang: str, timeout: float) -> tuple[np.ndarray, np.ndarray, bytes, list, str, float]:
    shown = preprocess.straighten(image, rotation, skew, bilevel=bilevel)
    rec = shown if rec is image else preprocess.straighten(rec, rotation, skew)
    where = f"page {page.index + 1} of {page.source or 'input'}"
    text_pdf, tsv = _run_tesseract(rec, page.dpi, lang, where, timeout)
    words, text = parse_tsv(tsv)
    scored = [w.conf for w in words if w.conf >= 0]
    confidence = sum(scored) / len(scored) if scored else 0.0
    return shown, rec, text_pdf, words, text, confidence


def recognize_page(page: Page, *, lang: str = "vie", timeout: float = PAGE_TIMEOUT_S,
                   steps: Steps | None = None) -> PageResult:
    """Preprocess and OCR one page with one tesseract run (text-only pdf + tsv).

    Raises `InputError` (quality gate) and `OcrError` (tesseract failure)."""
    steps = steps or Steps()
    img = page.image
    if img.mode not in ("1", "L", "RGB"):
        img = img.convert("RGB")
    bilevel = img.mode == "1"
    image = np.asarray(img.convert("L") if bilevel else img)
    if img.mode == "RGB" and steps.dropout:
        rec = preprocess.recognition_gray(img)
    elif img.mode == "RGB":
        rec = cv2.cvtColor(image, cv2.COLOR_RGB2GRAY)
    else:
        rec = image
    analysis = preprocess.analyze(img, page.dpi, gray=rec)
    if steps.gate:
        preprocess.check_quality(analysis, page.dpi, dpi_known=page.dpi_from_file,
                                 source=page.source, index=page.index)
    base = dict(index=page.index, width=img.width, height=img.height, dpi=page.dpi,
                source=page.source)
    if analysis.blank and steps.blank:
        return PageResult(pdf=b"", text="", confidence=0.0, words=[], blank=True,
                          extra={"analysis": analysis}, **base)
    rotation = analysis.rotation if steps.orientation else 0
    skew = analysis.skew if steps.deskew else 0.0
    if steps.denoise:
        rec = cv2.medianBlur(rec, 3)
    shown, rec2, text_pdf, words, text, confidence = _read(
        image, rec, rotation, skew, bilevel, page, lang, timeout)
    if (steps.orientation and not analysis.blank and confidence < RETRY_BELOW
            and analysis.undecided):
        other = (rotation + 180) % 360
        again = _read(image, rec, other, skew, bilevel, page, lang, timeout)
        if again[5] > confidence:
            rotation = other
            shown, rec2, text_pdf, words, text, confidence = again
    data, entries, image_format = _encode_image(shown, bilevel)
    pdf = _compose(text_pdf, data, entries, image_format)
    h, w = shown.shape[:2]
    base.update(width=w, height=h)
    return PageResult(pdf=pdf, text=text, confidence=confidence, words=words,
                      image_format=image_format, rotation=rotation, skew=skew,
                      extra={"analysis": analysis}, **base)


def recognize_pages(
    pages: Sequence[Page], *, lang: str = "vie", workers: int | None = None,
    steps: Steps | None = None,
) -> list[PageResult]:
    """Preprocess and OCR pages concurrently (one single-threaded tesseract per page, `workers`
    at a time).

    Results come back in page order, one per page, blank pages included (`blank=True`).
    Raises InputError (a page refused by the quality gate) and OcrError (missing language,
    tesseract failure).
    """
    if not pages:
        return []
    if shutil.which(TESSERACT) is None:
        raise OcrError(f"tesseract is not installed (command {TESSERACT!r} not found)")
    check_languages(lang)
    workers = max(1, min(workers or os.cpu_count() or 1, len(pages)))
    if workers == 1:
        return [recognize_page(p, lang=lang, steps=steps) for p in pages]
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="tesseract") as pool:
        futures = [pool.submit(recognize_page, p, lang=lang, steps=steps) for p in pages]
        try:
            return [f.result() for f in futures]
        except BaseException:
            for f in futures:  # a refused page: do not start the pages still waiting
                f.cancel()
            raise
