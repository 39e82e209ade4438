"""What one page of a stack is: a separator sheet (QR code or Kodak patch code), a blank page,
the first page of a Vietnamese administrative document, or any other page.

A first page (Decree 30/2020) carries the national motto top-right ("CỘNG HÒA XÃ HỘI CHỦ NGHĨA
VIỆT NAM / Độc lập - Tự do - Hạnh phúc") and a "Số: …" line top-left. Only the top band of the
page is read (Tesseract `vie`, single-threaded, ~150 dpi), so the check costs a fraction of the
page's full OCR. Blank and orientation come from `ocr.preprocess.analyze`.

When the batch's documents are then recognized in this process, examining reads each page in
full instead (`Reader`), keeps the result for the OCR stage (`ocr.cache`) and takes the header
from it: each page goes through Tesseract once, not twice. A blank page is known from its
analysis and neither read nor kept; one plainly blank (almost no ink) is known at a glance
(`glance`) while the scanner's pixels are still in memory, and never decoded from the spool.
A reading is kept under the page's stored id (`ocr.stored`: its PNG bytes, which the capture
PDF stores as they are), so the commit finds it without decoding the page again.
"""

from __future__ import annotations

import re
import subprocess
import tempfile
import unicodedata
from dataclasses import asdict, dataclass
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

from batch import patchcode, separator
from ocr.cache import ResultCache
from ocr.engine import (
    IMAGE_SUFFIX,
    TESSERACT,
    OcrError,
    _tesseract_env,
    prepare_page,
    recognize_cached,
)
from ocr.imagedecode import normalize_mode
from ocr.pages import InputError, Page, scan_page
from ocr.preprocess import analyze, blank_at_a_glance, recognition_gray

HEADER_BAND = 0.30  # share of the page height read for the motto and the "Số:" line
HEADER_DPI = 150
KINDS = ("separator", "blank", "first", "other")
_MOTTO = ("CONG HOA", "XA HOI", "CHU NGHIA", "VIET NAM", "DOC LAP", "TU DO", "HANH PHUC")
_SO_LINE = re.compile(r"(^|\s)SO\s*[:;.]?\s*[0-9_./]")


@dataclass
class PageFacts:
    kind: str  # separator | blank | first | other
    dossier: str | None = None  # carried by a separator's QR code
    patch: str | None = None  # a patch-code separator's code (batch.patchcode: 1 2 3 4 6 T)
    motto: int = 0  # motto words read in the header band
    so_line: bool = False
    rotation: int = 0
    chars: int = 0

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> PageFacts:
        return cls(**{k: data.get(k) for k in cls.__dataclass_fields__ if k in data})


def fold(text: str) -> str:
    """Upper-case ASCII: diacritics and tone marks dropped, đ → D (OCR places marks either way)."""
    text = text.replace("đ", "d").replace("Đ", "D")
    return "".join(c for c in unicodedata.normalize("NFD", text)
                   if unicodedata.category(c) != "Mn").upper()


def header_signals(text: str) -> tuple[int, bool]:
    folded = " ".join(fold(text).split())
    motto = sum(1 for words in _MOTTO if words in folded)
    return motto, bool(_SO_LINE.search(folded))


def read_header(gray: np.ndarray, dpi: int, rotation: int = 0, lang: str = "vie") -> str:
    """Tesseract on the top band of the upright page (one process, OMP_THREAD_LIMIT=1)."""
    if rotation == 180:
        gray = gray[::-1, ::-1]
    band = gray[: int(gray.shape[0] * HEADER_BAND)]
    scale = min(1.0, HEADER_DPI / max(dpi, 1))
    if scale < 1.0:
        band = cv2.resize(band, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    with tempfile.TemporaryDirectory(prefix="sohoa-batch-") as tmp:
        path = Path(tmp) / f"band{IMAGE_SUFFIX}"
        cv2.imwrite(str(path), np.ascontiguousarray(band))
        proc = subprocess.run([TESSERACT, str(path), "stdout", "-l", lang, "--dpi",
                               str(int(dpi * scale)), "--psm", "3"], capture_output=True,
                              env=_tesseract_env(), timeout=60, check=False)
    return proc.stdout.decode("utf-8", "replace")


def is_first_page(motto: int, so_line: bool) -> bool:
    """Two motto words, or one and a "Số:" line (OCR loses some words on poor scans)."""
    return motto >= 2 or (motto >= 1 and so_line)


@dataclass(frozen=True)
class Reader:
    """Read every page in full while examining it, keeping the result in `cache_dir`
    (`ocr.cache`) for the OCR stage: used when the batch's documents go through the pipeline
    in this process (inline), so each page is read once. Without it only the header is read."""

    cache_dir: str
    lang: str = "vie"


def glance(image: Image.Image, dpi: int) -> PageFacts | None:
    """The facts of a page that are plain while its pixels are still in memory (the scanner
    has just delivered it): a blank page with almost no ink, which `examine` would call blank
    too (`ocr.preprocess.blank_at_a_glance`). None: the page needs `examine`."""
    # the red channel of an RGB page is its gray when it has no colour (what `scan_page` makes
    # of it): the same pixels `examine` looks at, without the neutrality check's cost
    chars = blank_at_a_glance(recognition_gray(normalize_mode(image)), dpi)
    return None if chars is None else PageFacts(kind="blank", chars=chars)


def examine(image: Image.Image, dpi: int, *, first_pages: bool = True,
            reader: Reader | None = None, stored_id: str | None = None) -> PageFacts:
    """The facts of one page. `first_pages=False` skips the header OCR (separator/blank only);
    with a `reader` the whole page is read (and kept) and the header taken from that reading;
    `stored_id`: the page's id as the capture PDF will store it (`ocr.stored`), the
    key its reading is kept under."""
    page = scan_page(image, 0, dpi, stored_id=stored_id)  # gray when it has no colour at all
    gray = recognition_gray(page.image)
    is_sep, dossier = separator.detect(gray, dpi)
    if is_sep:
        return PageFacts(kind="separator", dossier=dossier)
    code = patchcode.detect(gray, dpi)
    if code:
        return PageFacts(kind="separator", patch=code)
    if reader is not None:
        facts = _examine_by_reading(page, first_pages, reader)
        if facts is not None:
            return facts
    analysis = analyze(image, dpi, gray=gray)
    if analysis.blank:
        return PageFacts(kind="blank", chars=analysis.chars)
    facts = PageFacts(kind="other", rotation=analysis.rotation, chars=analysis.chars)
    if first_pages:
        facts.motto, facts.so_line = header_signals(read_header(gray, dpi, analysis.rotation))
        if is_first_page(facts.motto, facts.so_line):
            facts.kind = "first"
    return facts


def _examine_by_reading(page: Page, first_pages: bool, reader: Reader) -> PageFacts | None:
    """Blank, turn and first-page signals from the page's full reading (kept for the OCR
    stage). A blank page is known from its analysis and not read (nor kept): most pages of a
    duplex stack are blank backs. None when the page cannot be read here (the quality gate
    refuses it, Tesseract fails): the header-band check decides, and the pipeline reports the
    page's problem."""
    try:
        prepared = prepare_page(page)
        if prepared.analysis.blank:
            return PageFacts(kind="blank", chars=prepared.analysis.chars)
        result = recognize_cached(page, lang=reader.lang, prepared=prepared,
                                  cache=ResultCache(Path(reader.cache_dir)))
    except (InputError, OcrError):
        return None
    analysis = result.extra.get("analysis")
    chars = analysis.chars if analysis is not None else sum(len(w.text) for w in result.words)
    if result.blank:
        return PageFacts(kind="blank", chars=chars)
    facts = PageFacts(kind="other", rotation=result.rotation, chars=chars)
    if first_pages:
        band = result.height * HEADER_BAND  # word boxes are on the upright page
        header = " ".join(w.text for w in result.words if w.top < band)
        facts.motto, facts.so_line = header_signals(header)
        if is_first_page(facts.motto, facts.so_line):
            facts.kind = "first"
    return facts
