"""Where the copy's seal and QR code go on page 1: free space first, a margin strip otherwise.

Owns: :func:`seal_layout`, which composes ``ocr.freespace`` (what is printed on the page,
from its image and the stored OCR word boxes) with ``signing.seal`` (the room the seal and
the QR code need) into a :class:`signing.seal.SealLayout`:

1. the visible signature (Decree 30: top-right) in the free space nearest the top-right
   corner, its text shrunk from 10 pt down to 7 pt at most;
2. the QR code (Circular 01/2023: top-left) nearest the top-left corner, never smaller than
   3 pixels per module at 200 dpi, and never on the signature;
3. if either finds no room: both go in a strip added above the page
   (:func:`signing.seal.strip_layout`), so no original pixel is covered.

The page is read in its displayed frame (the searchable PDF draws the scan turned upright and
deskewed), so a first page that was rotated or skewed is placed in its corrected frame. A page
turned by ``/Rotate`` (never one sohoa built) gets the strip: nothing covered, text unturned.
"""

from __future__ import annotations

import logging
from pathlib import Path

import pikepdf

from ocr.freespace import GAP, InkMap, find_place, page_ink
from signing.seal import SealInfo, SealLayout, seal_needs, strip_layout

log = logging.getLogger(__name__)


def _page_box(pdf: Path | bytes) -> tuple[tuple[float, float, float, float], int]:
    """Page 1's crop box (user space) and its /Rotate."""
    import io

    with pikepdf.open(io.BytesIO(pdf) if isinstance(pdf, bytes) else pdf) as doc:
        page = doc.pages[0]
        x1, y1, x2, y2 = (float(v) for v in (page.obj.get("/CropBox") or page.mediabox))
        rotate = int(page.obj.get("/Rotate", 0) or 0) % 360
    return (min(x1, x2), min(y1, y2), max(x1, x2), max(y1, y2)), rotate


def seal_layout(
    pdf: Path | bytes,
    seal: SealInfo,
    *,
    words: list | None = None,
    page_size_px: tuple[int, int] | None = None,
) -> SealLayout:
    """The layout of ``seal`` on page 1 of ``pdf``; ``words``: the page's stored OCR word
    boxes in pixels of the upright page of ``page_size_px`` (width, height)."""
    needs = seal_needs(seal)
    box, rotate = _page_box(pdf)
    if rotate:  # sohoa's searchable PDFs are drawn upright; a /Rotate page gets the strip
        log.warning("page 1 has /Rotate %d: seal in a margin strip", rotate)
        return strip_layout(box, needs)
    try:
        ink: InkMap = page_ink(pdf, 0)
    except Exception as exc:  # noqa: BLE001 - any unreadable page: the strip is always safe
        log.warning("page 1 cannot be read for placement (%s): seal in a margin strip", exc)
        return strip_layout(box, needs)
    if words and page_size_px:
        ink.add_words(words, *page_size_px)
    sig = find_place(ink, needs.sig_width, needs.sig_height, corner="top-right",
                     min_scale=needs.min_scale)
    qr = None
    if sig is not None and needs.qr_side:
        ink.block(sig.x - GAP, sig.y - GAP, sig.width + 2 * GAP, sig.height + 2 * GAP)
        qr = find_place(ink, needs.qr_side, needs.qr_side, corner="top-left",
                        min_scale=needs.qr_min_side / needs.qr_side)
    if sig is None or (needs.qr_side and qr is None):
        return strip_layout(box, needs)
    x1, _y1, _x2, y2 = box

    def to_user(p) -> tuple[float, float, float, float]:
        return (x1 + p.x, y2 - p.y - p.height, x1 + p.x + p.width, y2 - p.y)

    font_size = int(10 * sig.scale + 1e-6)  # find_place tries 1, 0.9, 0.8, 0.7: 10 … 7 pt
    qr_box = None
    if qr is not None:
        side = min(qr.width, qr.height)
        qr_box = (x1 + qr.x, y2 - qr.y - side, x1 + qr.x + side, y2 - qr.y)
    return SealLayout(sig_box=to_user(sig), font_size=font_size, qr_box=qr_box)
