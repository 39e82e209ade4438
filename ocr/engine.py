"""Recognition: one Tesseract run per page producing the one-page searchable PDF and the TSV.

This module owns how Tesseract is invoked. Each page is written once to a temporary image
(JPEG quality `JPEG_QUALITY` for gray/colour, which Tesseract's PDF renderer embeds as-is;
PNG for 1-bit pages, which Leptonica embeds losslessly as CCITT G4), then a single
`tesseract IMAGE BASE -l LANG --dpi DPI pdf tsv` produces BASE.pdf (page image plus invisible
text layer, page size = pixels / dpi) and BASE.tsv (word boxes and confidences).

Tesseract runs single-threaded (`OMP_THREAD_LIMIT=1`) and pages are spread over `workers`
concurrent tesseract processes, launched from threads: tesseract is its own process, so this
is real parallelism without pickling images. Confidences are reported in 0..1.
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

from ocr.pages import Page

JPEG_QUALITY = 85
TESSERACT = "tesseract"
PAGE_TIMEOUT_S = 600


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
    image_format: str = ""  # "jpeg" or "png": how the page image is embedded in `pdf`
    extra: dict = field(default_factory=dict)


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


def _write_page_image(page: Page, folder: Path) -> tuple[Path, str]:
    img = page.image
    if img.mode == "1":
        path = folder / "page.png"
        img.save(path, format="PNG", dpi=(page.dpi, page.dpi))
        return path, "png"
    if img.mode not in ("L", "RGB"):
        img = img.convert("RGB")
    path = folder / "page.jpg"
    img.save(path, format="JPEG", quality=JPEG_QUALITY, dpi=(page.dpi, page.dpi), optimize=False)
    return path, "jpeg"


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


def recognize_page(page: Page, *, lang: str = "vie", timeout: float = PAGE_TIMEOUT_S) -> PageResult:
    """OCR one page with one tesseract run (pdf + tsv)."""
    with tempfile.TemporaryDirectory(prefix="sohoa-ocr-") as tmp:
        folder = Path(tmp)
        image_path, image_format = _write_page_image(page, folder)
        base = folder / "out"
        cmd = [
            TESSERACT,
            str(image_path),
            str(base),
            "-l",
            lang,
            "--dpi",
            str(page.dpi),
            "pdf",
            "tsv",
        ]
        where = f"page {page.index + 1} of {page.source or 'input'}"
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
        pdf = pdf_path.read_bytes()
        tsv = tsv_path.read_text(encoding="utf-8", errors="replace")
    words, text = parse_tsv(tsv)
    scored = [w.conf for w in words if w.conf >= 0]
    confidence = sum(scored) / len(scored) if scored else 0.0
    return PageResult(
        index=page.index,
        pdf=pdf,
        text=text,
        confidence=confidence,
        words=words,
        width=page.image.width,
        height=page.image.height,
        dpi=page.dpi,
        source=page.source,
        image_format=image_format,
    )


def recognize_pages(
    pages: Sequence[Page], *, lang: str = "vie", workers: int | None = None
) -> list[PageResult]:
    """OCR pages concurrently (one single-threaded tesseract per page, `workers` at a time).

    Results come back in page order. Raises OcrError (missing language, tesseract failure).
    """
    if not pages:
        return []
    if shutil.which(TESSERACT) is None:
        raise OcrError(f"tesseract is not installed (command {TESSERACT!r} not found)")
    check_languages(lang)
    workers = max(1, min(workers or os.cpu_count() or 1, len(pages)))
    if workers == 1:
        return [recognize_page(p, lang=lang) for p in pages]
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="tesseract") as pool:
        results = list(pool.map(lambda p: recognize_page(p, lang=lang), pages))
    return results
