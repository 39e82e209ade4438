"""Recognition: preprocess a page, run Tesseract once on it, build its one-page searchable PDF.

This module owns how a page goes through Tesseract. Per page, in a worker thread:
1. `ocr.preprocess.analyze` on a 150-dpi copy (numpy/OpenCV, GIL released): blank page, quality
   gate (`InputError` with a Vietnamese rescan message), orientation and skew.
2. Blank pages (duplex backs) stop here: a `PageResult` with `blank=True`, no PDF, no text. They
   stay in the results so the page count always matches the original file; `assemble_pdf` leaves
   them out of the searchable PDF (the stored original keeps them).
3. The recognition image (gray; the red channel of colour pages, so a red seal drops out; on
   gray pages mid-gray seals are whitened; then a 3×3 median removes specks and sensor noise)
   is turned upright and deskewed, and goes to Tesseract as an uncompressed 8-bit BMP (no
   codec cost; `IMAGE_SUFFIX`): `tesseract page.bmp BASE -l LANG --dpi DPI -c textonly_pdf=1
   pdf tsv` gives the invisible text layer (page size = upright pixels / dpi) and the TSV
   (word boxes, confidences).
4. The stored image is the scanned image itself, colour kept, never resampled: JPEG
   (`JPEG_QUALITY`) for colour and gray, Flate-compressed 1-bit for bilevel input. It is drawn
   under the text layer turned upright and deskewed by the PDF transformation matrix, so the
   searchable PDF shows the upright page and the text layer, the word boxes (in pixels of the
   upright page, `PageResult.width/height`) and the image line up.

Tesseract runs single-threaded (`OMP_THREAD_LIMIT=1`) and pages are spread over `workers`
concurrent tesseract processes, launched from threads: tesseract is its own process, so this
is real parallelism without pickling images. Confidences are reported in 0..1.

`iter_recognize` takes pages from an iterator (e.g. `ocr.pages.iter_pages`) only when a worker
is free: at most `workers` page images are held at a time, whatever the page count. Results
come back in page order; a page finished early waits (without its image) for those before it.

If the upright test was undecided (score near 0.5, or little text) and the page then reads
badly, it is read once more turned by a half turn and the better reading is kept.
"""

from __future__ import annotations

import csv
import dataclasses
import io
import math
import os
import shutil
import subprocess
import tempfile
import zlib
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import cv2
import numpy as np
import pikepdf
from PIL import Image

from ocr import handwritten, preprocess, textlayer
from ocr.pages import Page

JPEG_QUALITY = 75
TESSERACT = "tesseract"
# The file the recognition image is handed to Tesseract in. Leptonica reads a binary PGM one
# pixel per fread() call (~0.2 s of CPU for a 300-dpi A4 page, 15-20% of the whole reading)
# and a BMP by whole rows: same pixels, same words and text layer, byte for byte.
IMAGE_SUFFIX = ".bmp"
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
    denoise: bool = True  # 3×3 median on the recognition image: halves the CER of noisy scans


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


def _encode_image(img: Image.Image) -> tuple[bytes, dict, str]:
    """Encode the stored page image as it was scanned: (stream data, image entries, format).

    A gray image holding only black and white (a bilevel scan rendered from a PDF) is stored
    as 1-bit, losslessly."""
    entries = {"/Width": img.width, "/Height": img.height, "/BitsPerComponent": 8}
    if img.mode == "L":
        hist = img.histogram()
        if hist[0] + hist[255] == img.width * img.height:
            img = img.convert("1", dither=Image.Dither.NONE)
    if img.mode == "1":
        # PIL packs 1-bit rows MSB first with 1 = white, exactly as DeviceGray 1-bit reads them
        entries.update({"/BitsPerComponent": 1, "/ColorSpace": pikepdf.Name.DeviceGray})
        return zlib.compress(img.tobytes(), 6), entries, "flate"
    if img.mode not in ("L", "RGB"):
        img = img.convert("RGB")
    entries["/ColorSpace"] = pikepdf.Name.DeviceGray if img.mode == "L" else pikepdf.Name.DeviceRGB
    buf = io.BytesIO()
    img.save(buf, format="JPEG", quality=JPEG_QUALITY)
    return buf.getvalue(), entries, "jpeg"


def _placement(w_pt: float, h_pt: float, page_w: float, page_h: float, turn: float) -> bytes:
    """`cm` operators drawing a w×h image centred on the page, turned clockwise by `turn`°."""
    if turn % 360 == 0 and abs(w_pt - page_w) < 1e-6 and abs(h_pt - page_h) < 1e-6:
        return f"{w_pt:.4f} 0 0 {h_pt:.4f} 0 0 cm".encode()
    phi = math.radians(-turn)  # PDF space has y up: a clockwise turn is a negative angle
    c, s = math.cos(phi), math.sin(phi)
    return (
        f"1 0 0 1 {page_w / 2:.4f} {page_h / 2:.4f} cm "
        f"{c:.6f} {s:.6f} {-s:.6f} {c:.6f} 0 0 cm "
        f"1 0 0 1 {-w_pt / 2:.4f} {-h_pt / 2:.4f} cm "
        f"{w_pt:.4f} 0 0 {h_pt:.4f} 0 0 cm"
    ).encode()


def _compose(text_pdf: bytes, img: Image.Image, dpi: int, turn: float) -> tuple[bytes, str]:
    """Draw the scanned image under Tesseract's invisible text layer, turned upright by the
    PDF transformation matrix (the pixels are never resampled). Returns (pdf, image format)."""
    data, entries, image_format = _encode_image(img)
    with pikepdf.open(io.BytesIO(text_pdf)) as pdf:
        page = pdf.pages[0]
        box = [float(v) for v in page.mediabox]
        page_w, page_h = box[2] - box[0], box[3] - box[1]
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
        place = _placement(img.width * 72 / dpi, img.height * 72 / dpi, page_w, page_h, turn)
        draw = b"q " + place + b" /Im0 Do Q\n"
        page.contents_add(pikepdf.Stream(pdf, draw), prepend=True)
        out = io.BytesIO()
        pdf.save(out, compress_streams=True)
        return out.getvalue(), image_format


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
        image_path = folder / f"page{IMAGE_SUFFIX}"
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


def _read(rec: np.ndarray, rotation: int, skew: float, page: Page, lang: str, timeout: float
          ) -> tuple[np.ndarray, bytes, list[Word], str, float]:
    """Straighten the recognition image and read it: (image read, text pdf, words, text, conf)."""
    rec = preprocess.straighten(rec, rotation, skew)
    where = f"page {page.index + 1} of {page.source or 'input'}"
    text_pdf, tsv = _run_tesseract(rec, page.dpi, lang, where, timeout)
    words, text = parse_tsv(tsv)
    scored = [w.conf for w in words if w.conf >= 0]
    confidence = sum(scored) / len(scored) if scored else 0.0
    return rec, text_pdf, words, text, confidence


@dataclass(frozen=True)
class Prepared:
    """A page made ready for reading: the image as read, the gray Tesseract is given (before
    turning and cleaning) and the page's analysis (blank, turn, skew, quality)."""

    image: Image.Image
    gray: np.ndarray
    analysis: preprocess.Analysis


def prepare_page(page: Page, steps: Steps | None = None) -> Prepared:
    """The first, cheap part of `recognize_page`: enough to know whether a page is blank before
    paying for its reading (batch capture drops blank pages without reading them)."""
    steps = steps or Steps()
    img = page.image
    layer = getattr(page, "text_layer", None)
    if img.mode not in ("1", "L", "RGB"):
        img = img.convert("RGB")
    if img.mode == "RGB" and not steps.dropout:
        rec = np.asarray(img.convert("L"))
    else:
        rec = preprocess.recognition_gray(img)
    if layer is not None and layer.signature_boxes:
        rec = textlayer.mask_signatures(np.array(rec), layer, page.dpi)
    return Prepared(img, rec, preprocess.analyze(img, page.dpi, gray=rec))


def recognize_page(page: Page, *, lang: str = "vie", timeout: float = PAGE_TIMEOUT_S,
                   steps: Steps | None = None, prepared: Prepared | None = None) -> PageResult:
    """Preprocess and OCR one page with one tesseract run (text-only pdf + tsv). `prepared`:
    this page's `prepare_page`, when the caller has already made it.

    Raises `InputError` (quality gate) and `OcrError` (tesseract failure)."""
    steps = steps or Steps()
    layer = getattr(page, "text_layer", None)
    if layer is not None and layer.use_as_is:
        return _from_text_layer(page, layer)
    prepared = prepared or prepare_page(page, steps)
    img, rec, analysis = prepared.image, prepared.gray, prepared.analysis
    if analysis.photo_angle and steps.gate:
        # a phone photo of a flat sheet: read (and store) the sheet with its perspective
        # corrected when that gives a digitized copy's resolution; else the gate says retake
        fixed = preprocess.rectify_photo(img, page.dpi)
        if fixed is not None and fixed[1] >= preprocess.MIN_DPI:
            return recognize_page(dataclasses.replace(page, image=fixed[0], dpi=fixed[1],
                                                      dpi_from_file=True),
                                  lang=lang, timeout=timeout, steps=steps)
    if steps.gate:
        preprocess.check_quality(analysis, page.dpi, dpi_known=page.dpi_from_file,
                                 source=page.source, index=page.index)
    base = dict(index=page.index, dpi=page.dpi, source=page.source)
    if analysis.blank and steps.blank:
        return PageResult(pdf=b"", text="", confidence=0.0, words=[], blank=True,
                          width=img.width, height=img.height, extra={"analysis": analysis},
                          **base)
    rotation = analysis.rotation if steps.orientation else 0
    skew = analysis.skew if steps.deskew and abs(analysis.skew) >= preprocess.MIN_DESKEW else 0.0
    if steps.dropout and img.mode == "L":
        rec = preprocess.drop_gray_seals(rec, analysis)
    if steps.denoise:
        rec = cv2.medianBlur(rec, 3)
    shown, text_pdf, words, text, confidence = _read(rec, rotation, skew, page, lang, timeout)
    if steps.orientation and analysis.undecided and confidence < RETRY_BELOW:
        other = (rotation + 180) % 360
        again = _read(rec, other, skew, page, lang, timeout)
        if again[4] > confidence:
            rotation = other
            shown, text_pdf, words, text, confidence = again
    pdf, image_format = _compose(text_pdf, img, page.dpi, rotation + skew)
    h, w = shown.shape[:2]
    extra = {"analysis": analysis}
    slots = handwritten.read_slots(shown, words)  # handwritten serial and day, read twice
    if slots:
        extra["slots"] = slots
    return PageResult(pdf=pdf, text=text, confidence=confidence, words=words, width=w, height=h,
                      image_format=image_format, rotation=rotation, skew=skew,
                      extra=extra, **base)


def _from_text_layer(page: Page, layer: textlayer.TextLayer) -> PageResult:
    """A born-digital page: its own exact text, without OCR, as the invisible layer over the
    rendered page image (like a scanned page's OCR layer)."""
    s = layer.scale(page.dpi)
    words = [Word(text=w.text, conf=0.99, left=round(w.box[0] * s), top=round(w.box[1] * s),
                  width=max(1, round((w.box[2] - w.box[0]) * s)),
                  height=max(1, round((w.box[3] - w.box[1]) * s)), block=w.block, line=w.line)
             for w in layer.words]
    img = page.image
    text_pdf = textlayer.invisible_text_pdf(layer, img.width * 72 / page.dpi,
                                            img.height * 72 / page.dpi)
    pdf, image_format = _compose(text_pdf, img, page.dpi, 0)
    return PageResult(index=page.index, pdf=pdf, text=layer.text(), confidence=0.99,
                      words=words, width=img.width, height=img.height, dpi=page.dpi,
                      source=page.source, image_format=image_format,
                      extra={"text_layer": layer.decision})


def recognize_cached(page: Page, *, lang: str = "vie", steps: Steps | None = None,
                     cache=None, prepared: Prepared | None = None) -> PageResult:
    """`recognize_page`, through `cache` (an `ocr.cache.ResultCache`) when one is given: a page
    already read the same way is not read again, and a page read now is kept. A page that
    comes with its `reading` (found before it was decoded, `ocr.pages.iter_pages`) is that."""
    if getattr(page, "reading", None) is not None:
        return page.reading
    if cache is None:
        return recognize_page(page, lang=lang, steps=steps, prepared=prepared)
    key = cache.key(page, lang, steps)
    result = cache.get(key, page)
    if result is None:
        result = recognize_page(page, lang=lang, steps=steps, prepared=prepared)
        cache.put(key, result)
    return result


def recognize_pages(
    pages: Sequence[Page], *, lang: str = "vie", workers: int | None = None,
    steps: Steps | None = None, cache=None,
) -> list[PageResult]:
    """Preprocess and OCR pages concurrently (one single-threaded tesseract per page, `workers`
    at a time).

    Results come back in page order, one per page, blank pages included (`blank=True`).
    Raises InputError (a page refused by the quality gate) and OcrError (missing language,
    tesseract failure).
    """
    if not pages:
        return []
    return list(iter_recognize(pages, lang=lang, workers=workers, steps=steps, cache=cache))


# results finished ahead of a slow page and kept (without images) until it is done
AHEAD_PER_WORKER = 4


def iter_recognize(
    pages: Iterable[Page], *, lang: str = "vie", workers: int | None = None,
    steps: Steps | None = None, cache=None,
) -> Iterator[PageResult]:
    """Like `recognize_pages`, for pages from an iterator, yielding results in page order.

    A page is taken from `pages` only when one of the `workers` is free, so at most `workers`
    pages (images) are alive in here at a time. Tesseract and the language are checked before
    the first page is taken. After a page fails no new page is started; the error is raised in
    page order, once the results of the pages before it have been yielded. With `cache` (an
    `ocr.cache.ResultCache`) a page read before the same way is taken from it (`recognize_cached`).
    """
    if shutil.which(TESSERACT) is None:
        raise OcrError(f"tesseract is not installed (command {TESSERACT!r} not found)")
    check_languages(lang)
    workers = max(1, workers or os.cpu_count() or 1)
    count = len(pages) if hasattr(pages, "__len__") else None
    if count is not None:
        workers = max(1, min(workers, count))
    source = iter(pages)
    if workers == 1:
        for page in source:
            result = recognize_cached(page, lang=lang, steps=steps, cache=cache)
            del page  # the image goes before the next page is decoded
            yield result
        return
    ahead = workers * (1 + AHEAD_PER_WORKER)
    pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="tesseract")
    queued: dict[int, Future] = {}  # submitted, not yet yielded, by position
    running: set[Future] = set()  # submitted and not done: each holds one page image
    first, taken, exhausted, failed = 0, 0, False, False
    try:
        while True:
            head = queued.get(first)
            if head is not None and head.done():  # hand results on before taking pages
                del queued[first]
                first += 1
                running.discard(head)
                yield head.result()  # raises the first failure in page order
                continue
            finished = {f for f in running if f.done()}  # free workers, seen failures
            running -= finished
            failed = failed or any(f.exception() is not None for f in finished)
            while (not exhausted and not failed and len(running) < workers
                   and len(queued) < ahead):
                page = next(source, None)
                if page is None:
                    exhausted = True
                    break
                future = pool.submit(recognize_cached, page, lang=lang, steps=steps, cache=cache)
                del page
                queued[taken] = future
                running.add(future)
                taken += 1
            if not queued:
                return
            if queued[first].done():
                continue
            done, _ = wait(running, return_when=FIRST_COMPLETED)
            running -= done
            failed = failed or any(f.exception() is not None for f in done)
    finally:
        for future in queued.values():  # a refused page: do not start the pages still waiting
            future.cancel()
        pool.shutdown(wait=True)
