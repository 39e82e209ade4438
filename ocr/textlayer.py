"""Existing text layers of PDF pages: read them, decide per page what to trust, mask e-signatures.

This module owns what a PDF page's own text (its text layer) is worth, decided page by page
(OCRmyPDF's skip-text / redo-ocr distinction, made automatically):
- `born_digital`: enough words, and they read as Vietnamese (diacritics where Vietnamese has
  them, few junk tokens): the text is used as it is, no OCR (exact and much faster). The page
  goes into the searchable PDF as it is (its vector text kept), without its annotations.
- `poor`: many words that do not read as Vietnamese (an invisible OCR layer without
  diacritics, garbled): ignored, the page is OCR'd again.
- `none`: no text, or only an e-signature appearance: the page is OCR'd.

E-signature appearance boxes ("Ký bởi: …", "Cơ quan: …", "Thời gian ký: …", the signing
service's name, e-mail and timestamp) carry a small text layer on pages that are otherwise
images. They are never part of the document's text: their blocks are found by those markers,
left out of a born-digital page's text and whitened in the rendered image before OCR, so the
box is never read as the header, issuer, number or date.

Coordinates: pdftotext (poppler) `-bbox-layout` gives boxes in PDF points from the top-left;
`TextLayer.scale(dpi)` turns them into pixels of the page rendered at `dpi`.
"""

from __future__ import annotations

import io
import re
import subprocess
import unicodedata
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path

BORN_DIGITAL_MIN_WORDS = 40  # fewer words than this (signature box aside) is not a page of text
GOOD_TEXT_MIN = 0.8  # share of words that read as Vietnamese for a layer to be used as is
MASK_PAD_PT = 3.0

# markers of an e-signature appearance block (folded: no diacritics, lower case)
_SIGNATURE_MARKERS = re.compile(
    r"\bky boi\b|\bthoi gian ky\b|\bco quan\s*:|\bemail\s*:|@[a-z0-9.-]+\.(?:vn|com|gov)"
    r"|\b\d{2}[./]\d{2}[./]\d{4}\s+\d{2}:\d{2}(?::\d{2})?|[+]\d{2}:\d{2}\b|\bsigned by\b"
    r"|\bcong bao va tin hoc\b"
)
_VIET_LETTERS = "ăâđêôơưĂÂĐÊÔƠƯ"
_NS = "{http://www.w3.org/1999/xhtml}"


def fold(text: str) -> str:
    """Lower case without diacritics (đ -> d)."""
    text = text.replace("đ", "d").replace("Đ", "D")
    return "".join(c for c in unicodedata.normalize("NFD", text)
                   if unicodedata.category(c) != "Mn").lower()


def is_signature_text(text: str) -> bool:
    """True for a line or block of an e-signature appearance box."""
    return bool(_SIGNATURE_MARKERS.search(fold(text)))


def drop_signature_blocks(text: str) -> str:
    """The OCR text without e-signature boxes drawn in the image itself (a printed and
    scanned e-signed document): a block (lines between blank lines) of at most 6 lines that
    carries a signature marker and no national motto is left out, whatever page it is on."""
    pages = []
    for page in text.split("\f"):
        blocks = page.split("\n\n")
        kept = [b for b in blocks
                if not (is_signature_text(b) and len(b.strip().splitlines()) <= 6
                        and "chu nghia" not in fold(b))]
        pages.append("\n\n".join(kept))
    return "\f".join(pages)


@dataclass
class LayerWord:
    text: str
    box: tuple[float, float, float, float]  # x0, y0, x1, y1 in points from the top-left
    block: int
    line: int


@dataclass
class TextLayer:
    """The text layer of one PDF page and what to do with it (`decision`)."""

    width_pt: float
    height_pt: float
    path: Path | None = None  # the PDF it was read from
    index: int = 0
    words: list[LayerWord] = field(default_factory=list)  # signature boxes left out
    signature_boxes: list[tuple[float, float, float, float]] = field(default_factory=list)
    decision: str = "none"  # born_digital | poor | none
    quality: float = 0.0

    @property
    def use_as_is(self) -> bool:
        return self.decision == "born_digital"

    def text(self) -> str:
        """Lines joined by newlines, blocks separated by a blank line (like the OCR text)."""
        parts: list[str] = []
        prev = None
        for w in self.words:
            key = (w.block, w.line)
            if prev is not None:
                parts.append("\n\n" if key[0] != prev[0] else ("\n" if key != prev else " "))
            parts.append(w.text)
            prev = key
        return "".join(parts)

    def scale(self, dpi: int) -> float:
        return dpi / 72.0


def word_quality(words: list[str]) -> float:
    """Share of alphabetic words that read as Vietnamese: a word of 2+ letters spelled with
    Vietnamese letters, and, over the whole page, diacritics where Vietnamese has them (text
    with none at all is an OCR layer that lost them)."""
    alpha = [w for w in words if sum(c.isalpha() for c in w) >= 2]
    if not alpha:
        return 0.0
    plain = 0
    for w in alpha:
        letters = [c for c in w if c.isalpha()]
        odd = sum(1 for c in letters if not ("a" <= fold(c) <= "z"))
        mixed = any(c.isupper() for c in letters[1:]) and any(c.islower() for c in letters)
        if not odd and not mixed:
            plain += 1
    marked = sum(1 for w in alpha if any(
        c in _VIET_LETTERS or unicodedata.normalize("NFD", c) != c for c in w))
    # Vietnamese running text marks well over a third of its words; a layer without marks
    # (or nearly) is not good text even when every token is plain letters
    mark_share = marked / len(alpha)
    return round(plain / len(alpha) * min(1.0, mark_share / 0.35), 3)


def _parse(xhtml: str) -> list[tuple[float, float, list[tuple[list[LayerWord], str]]]]:
    """Pages as (width, height, blocks); a block is (words, its text)."""
    root = ET.fromstring(xhtml)
    pages = []
    for page in root.iter(f"{_NS}page"):
        blocks = []
        for b, block in enumerate(page.iter(f"{_NS}block")):
            words: list[LayerWord] = []
            for li, line in enumerate(block.iter(f"{_NS}line")):
                for w in line.iter(f"{_NS}word"):
                    text = (w.text or "").strip()
                    if text:
                        box = tuple(float(w.get(k)) for k in ("xMin", "yMin", "xMax", "yMax"))
                        words.append(LayerWord(text, box, b, li))
            if words:
                blocks.append((words, " ".join(w.text for w in words)))
        pages.append((float(page.get("width")), float(page.get("height")), blocks))
    return pages


def read_page(path: Path, index: int) -> TextLayer | None:
    """The text layer of page `index` (0-based) of the PDF `path`, decided; None if unreadable."""
    try:
        run = subprocess.run(
            ["pdftotext", "-bbox-layout", "-f", str(index + 1), "-l", str(index + 1),
             str(path), "-"], capture_output=True, timeout=60, check=True)
        pages = _parse(run.stdout.decode("utf-8", "replace"))
    except (OSError, subprocess.SubprocessError, ET.ParseError, ValueError, TypeError):
        return None
    if not pages:
        return None
    width, height, blocks = pages[0]
    layer = decide(width, height, blocks)
    layer.path, layer.index = Path(path), index
    return layer


def decide(width: float, height: float,
           blocks: list[tuple[list[LayerWord], str]]) -> TextLayer:
    layer = TextLayer(width, height)
    for words, text in blocks:
        if is_signature_text(text) and len(words) < 60:
            xs0, ys0, xs1, ys1 = zip(*(w.box for w in words), strict=True)
            layer.signature_boxes.append((min(xs0), min(ys0), max(xs1), max(ys1)))
        else:
            layer.words.extend(words)
    tokens = [w.text for w in layer.words]
    layer.quality = word_quality(tokens)
    if len(tokens) >= BORN_DIGITAL_MIN_WORDS:
        layer.decision = "born_digital" if layer.quality >= GOOD_TEXT_MIN else "poor"
    return layer


def mask_signatures(gray, layer: TextLayer | None, dpi: int):
    """Whiten the e-signature boxes in `gray` (a numpy array of the page at `dpi`, changed in
    place and returned). The stored page image keeps them: only what is read loses them."""
    if layer is None or not layer.signature_boxes:
        return gray
    s = layer.scale(dpi)
    h, w = gray.shape[:2]
    for x0, y0, x1, y1 in layer.signature_boxes:
        left, top = max(0, int((x0 - MASK_PAD_PT) * s)), max(0, int((y0 - MASK_PAD_PT) * s))
        right, bottom = min(w, int((x1 + MASK_PAD_PT) * s) + 1), min(h, int((y1 + MASK_PAD_PT) * s) + 1)
        gray[top:bottom, left:right] = 255
    return gray


FONT_PATHS = (
    "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/truetype/liberation2/LiberationSerif-Regular.ttf",
)


def invisible_text_pdf(layer: TextLayer, width_pt: float, height_pt: float) -> bytes:
    """A one-page PDF of `width_pt` x `height_pt` points holding the layer's words as invisible
    text (render mode 3) at their places, with an embedded font (PDF/A): what Tesseract's
    `textonly_pdf` gives for a scan, here from the page's own exact text. The page image is
    drawn under it like under an OCR layer (the page's own fonts may not be embedded, so the
    page itself cannot go into a PDF/A as it is)."""
    from fpdf import FPDF

    font = next((f for f in FONT_PATHS if Path(f).exists()), None)
    if font is None:
        raise RuntimeError("no TrueType font for the text layer (install fonts-dejavu-core)")
    sx, sy = width_pt / layer.width_pt, height_pt / layer.height_pt
    doc = FPDF(unit="pt", format=(width_pt, height_pt))
    doc.set_auto_page_break(False)
    doc.set_margin(0)
    doc.add_page()
    doc.add_font("layer", fname=font)
    doc.text_mode = "INVISIBLE"
    lines: dict[tuple[int, int], list[LayerWord]] = {}
    for w in layer.words:
        lines.setdefault((w.block, w.line), []).append(w)
    for words in lines.values():  # a line at a time: pdftotext then keeps its word spaces
        x0, y0 = min(w.box[0] for w in words) * sx, min(w.box[1] for w in words) * sy
        x1, y1 = max(w.box[2] for w in words) * sx, max(w.box[3] for w in words) * sy
        text = " ".join(w.text for w in words)
        size = max(1.0, (y1 - y0) * 0.85)
        doc.set_font("layer", size=size)
        natural = doc.get_string_width(text)
        if natural > 0:
            doc.set_stretching(max(10.0, min(1000.0, 100.0 * (x1 - x0) / natural)))
        doc.text(x0, y1 - (y1 - y0) * 0.2, text)
    return bytes(doc.output())


def page_pdf(path: Path, index: int) -> bytes:
    """Page `index` of `path` alone, as it is (vector text kept), without annotations (the
    signature widgets and their appearances), as a one-page PDF."""
    import pikepdf

    with pikepdf.open(path) as src, pikepdf.new() as out:
        out.pages.append(src.pages[index])
        page = out.pages[0]
        if "/Annots" in page.obj:
            del page.obj["/Annots"]
        buf = io.BytesIO()
        out.save(buf, compress_streams=True)
        return buf.getvalue()
