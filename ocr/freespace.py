"""Free space on a page: where a copy's seal and QR code can go without covering anything.

Owns: :class:`InkMap` (what is printed on a displayed page, as a boolean grid in PDF points,
origin at the top-left corner of the page as a reader sees it), built by :func:`page_ink` from
the page image of a PDF and by :meth:`InkMap.add_words` from the stored OCR word boxes, and
:func:`find_place` (the free rectangle nearest a preferred corner, shrunk within a limit).

How the page image is read (:func:`page_ink`): pages that are only images under an invisible
text layer (every searchable PDF sohoa builds, most scans) are read fast — each image is
decoded at a reduced size (JPEG DCT scaling) and put on the grid through the page's
transformation matrices, so a page turned upright or deskewed is seen in its corrected frame.
Any other page (born-digital text, vector drawings, form XObjects) is rendered with PDFium.
Visible annotations (an earlier e-signature box) count as ink. A pixel is ink when it is
clearly darker than the page's paper (its 90th-percentile gray), and any ink inside a grid cell
marks the whole cell: faint strokes and specks are never ignored.

:func:`find_place` searches, at each scale from 1 down to ``min_scale``, the preferred corner
zone first (the top fifth of the page, the corner's half), then the nearest free band in the
top half of the page, keeping ``gap`` points from any ink and ``edge`` points from the page's
edges. It returns None when nothing fits: the caller then adds a margin strip (see
``signing.seal``) rather than covering the page.
"""

from __future__ import annotations

import io
import math
import threading
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import pikepdf
from PIL import Image

RES = 1.0  # grid cells per PDF point (72 dpi): fine enough for 3 pt gaps, cheap to search
GAP = 3.0  # pt kept between a placed box and any ink
EDGE = 6.0  # pt kept from the page's edges (printers do not print closer)
PAPER_DELTA = 32  # gray levels below the paper that count as ink (cautious: faint specks too)
DECODE_DPI = 150  # images are decoded at about this resolution (at least): specks survive


@dataclass(frozen=True)
class Place:
    """A free rectangle in points, origin at the displayed page's top-left corner."""

    x: float
    y: float
    width: float
    height: float
    scale: float


@dataclass
class InkMap:
    """Printed cells of a displayed page; ``ink[row, col]`` covers 1/RES pt squared."""

    ink: np.ndarray
    width: float  # pt
    height: float  # pt
    res: float = RES

    @classmethod
    def blank(cls, width: float, height: float, res: float = RES) -> InkMap:
        shape = (max(1, math.ceil(height * res)), max(1, math.ceil(width * res)))
        return cls(np.zeros(shape, dtype=bool), width, height, res)

    def block(self, x: float, y: float, w: float, h: float) -> None:
        """Mark a rectangle (pt, top-left origin) as used."""
        r = self.res
        r0, r1 = max(0, math.floor(y * r)), min(self.ink.shape[0], math.ceil((y + h) * r))
        c0, c1 = max(0, math.floor(x * r)), min(self.ink.shape[1], math.ceil((x + w) * r))
        if r1 > r0 and c1 > c0:
            self.ink[r0:r1, c0:c1] = True

    def add_words(self, words, page_width_px: int, page_height_px: int) -> None:
        """Mark stored OCR word boxes (``[text, conf, left, top, width, height]`` in pixels of
        the upright page of ``page_width_px`` × ``page_height_px``) as used."""
        if not words or page_width_px <= 0 or page_height_px <= 0:
            return
        sx, sy = self.width / page_width_px, self.height / page_height_px
        for word in words:
            try:
                _text, _conf, left, top, w, h = word[:6]
            except (TypeError, ValueError):
                continue
            if not str(_text).strip():
                continue
            self.block(left * sx, top * sy, w * sx, h * sy)

    def coverage(self, x: float, y: float, w: float, h: float) -> int:
        """How many ink cells a rectangle (pt) covers."""
        r = self.res
        return int(self.ink[max(0, math.floor(y * r)):math.ceil((y + h) * r),
                            max(0, math.floor(x * r)):math.ceil((x + w) * r)].sum())


def _ink_of_gray(gray: np.ndarray) -> np.ndarray:
    sample = gray[::4, ::4]
    paper = float(np.percentile(sample, 90)) if sample.size else 255.0
    return gray < max(0.0, paper - PAPER_DELTA)


def _to_grid(mask: np.ndarray, matrix, grid: InkMap, page_box) -> None:
    """OR a mask drawn by PDF matrix ``matrix`` (image unit square -> user space) into the grid.

    Any ink in a grid cell marks the cell: the mask is max-pooled to about the grid's
    resolution before the affine warp."""
    h_px, w_px = mask.shape
    a, b, c, d, e, f = matrix
    x1, _y1, _x2, y2 = page_box
    # user-space size of one image pixel (upper bound) -> pool so a pixel is <= 1 grid cell
    px_pt = max(math.hypot(a, b) / w_px, math.hypot(c, d) / h_px)
    factor = max(1, int(1 / max(px_pt * grid.res, 1e-9)))
    m = mask.astype(np.uint8)
    if factor > 1:
        hh, ww = math.ceil(h_px / factor), math.ceil(w_px / factor)
        m = (cv2.resize(m * 255, (ww, hh), interpolation=cv2.INTER_AREA) > 0).astype(np.uint8)
        h_px, w_px = m.shape
    # image pixel (u, v) from its top-left -> unit square (u/w, 1 - v/h) -> user (x, y)
    # -> grid (col, row) = ((x - x1) * res, (y2 - y) * res)
    r = grid.res
    to_unit = np.array([[1 / w_px, 0, 0], [0, -1 / h_px, 1], [0, 0, 1]])
    to_user = np.array([[a, c, e], [b, d, f], [0, 0, 1]])
    to_grid = np.array([[r, 0, -x1 * r], [0, -r, y2 * r], [0, 0, 1]])
    full = to_grid @ to_user @ to_unit
    warped = cv2.warpAffine(m * 255, full[:2], (grid.ink.shape[1], grid.ink.shape[0]),
                            flags=cv2.INTER_LINEAR, borderValue=0)
    grid.ink |= warped > 0


def _mul(m1, m2):
    """PDF matrix product: apply m1 then m2."""
    a1, b1, c1, d1, e1, f1 = m1
    a2, b2, c2, d2, e2, f2 = m2
    return (a1 * a2 + b1 * c2, a1 * b2 + b1 * d2, c1 * a2 + d1 * c2, c1 * b2 + d1 * d2,
            e1 * a2 + f1 * c2 + e2, e1 * b2 + f1 * d2 + f2)


class _NotSimple(Exception):
    """The page draws something other than images and invisible text."""


_PAINT = {"S", "s", "f", "F", "f*", "B", "B*", "b", "b*", "sh", "BI", "EI", "INLINE IMAGE"}
_SHOW = {"Tj", "TJ", "'", '"'}


def _image_draws(page: pikepdf.Page) -> list[tuple[pikepdf.Object, tuple]]:
    """(image XObject, matrix) for each image a page draws; raises :class:`_NotSimple` if the
    page paints anything else visible."""
    ctm = (1.0, 0.0, 0.0, 1.0, 0.0, 0.0)
    stack: list[tuple] = []
    render_mode = 0
    draws = []
    xobjects = page.obj.get("/Resources", {}).get("/XObject", {})
    for operands, op in pikepdf.parse_content_stream(page):
        name = str(op)
        if name == "q":
            stack.append((ctm, render_mode))
        elif name == "Q":
            if stack:
                ctm, render_mode = stack.pop()
        elif name == "cm":
            ctm = _mul(tuple(float(v) for v in operands), ctm)
        elif name == "Tr":
            render_mode = int(operands[0])
        elif name in _SHOW:
            if render_mode != 3:
                raise _NotSimple("visible text")
        elif name == "Do":
            xo = xobjects.get(str(operands[0]))
            if xo is None or xo.get("/Subtype") != "/Image" or "/ImageMask" in xo \
                    or "/Decode" in xo or "/SMask" in xo or "/Mask" in xo:
                raise _NotSimple("not a plain image")
            draws.append((xo, ctm))
        elif name in _PAINT:
            raise _NotSimple(f"paints with {name}")
    return draws


def _decode_gray(xo: pikepdf.Object, scale_hint: float) -> np.ndarray:
    """The image as 8-bit gray, reduced by JPEG DCT scaling when it is much finer than needed."""
    filters = xo.get("/Filter")
    filters = [str(f) for f in filters] if isinstance(filters, pikepdf.Array) \
        else [str(filters)] if filters is not None else []
    if filters == ["/DCTDecode"]:
        img = Image.open(io.BytesIO(xo.read_raw_bytes()))
        w, h = img.size
        img.draft("L", (max(1, int(w * scale_hint)), max(1, int(h * scale_hint))))
    else:
        img = pikepdf.PdfImage(xo).as_pil_image()
    if img.mode == "1":
        return np.asarray(img.convert("L"))
    return np.asarray(img.convert("L"))


def _page_box(page: pikepdf.Page) -> tuple[float, float, float, float]:
    box = page.obj.get("/CropBox") or page.mediabox
    x1, y1, x2, y2 = (float(v) for v in box)
    return min(x1, x2), min(y1, y2), max(x1, x2), max(y1, y2)


def _block_annotations(page: pikepdf.Page, grid: InkMap, box) -> None:
    x1, _y1, _x2, y2 = box
    for annot in page.obj.get("/Annots", []) or []:
        try:
            if "/AP" not in annot or int(annot.get("/F", 0)) & 2:  # no appearance / hidden
                continue
            ax1, ay1, ax2, ay2 = (float(v) for v in annot.Rect)
        except (TypeError, ValueError, AttributeError):
            continue
        grid.block(min(ax1, ax2) - x1, y2 - max(ay1, ay2), abs(ax2 - ax1), abs(ay2 - ay1))


_PDFIUM = threading.Lock()  # PDFium is not thread-safe, not even across documents


def _render_ink(data: bytes | Path, index: int, grid: InkMap) -> None:
    import pypdfium2 as pdfium

    # one PDFium call at a time in this process: two sign stages at once (the station's and an
    # inline dispatcher's threads) corrupted the heap (a later free() hung for ever)
    with _PDFIUM:
        doc = pdfium.PdfDocument(data if isinstance(data, bytes) else str(data))
        try:
            page = doc[index]
            scale = 2.0 * grid.res  # 144 dpi, then max-pooled to the grid
            bitmap = page.render(scale=scale, grayscale=True, draw_annots=True)
            gray = bitmap.to_numpy().copy()  # PDFium's buffer goes with the bitmap
            bitmap.close()
            page.close()
        finally:
            doc.close()
    if gray.ndim == 3:
        gray = gray[..., 0]
    mask = _ink_of_gray(gray)
    h, w = grid.ink.shape
    pooled = cv2.resize(mask.astype(np.uint8) * 255, (w, h), interpolation=cv2.INTER_AREA)
    grid.ink |= pooled > 0


def page_ink(pdf: bytes | Path, index: int = 0, res: float = RES) -> InkMap:
    """What is printed on page ``index`` of a PDF (bytes or a file), in its displayed
    (upright) frame.

    Pages with a ``/Rotate`` are rendered by PDFium, which applies the rotation."""
    with pikepdf.open(io.BytesIO(pdf) if isinstance(pdf, bytes) else pdf) as doc:
        page = doc.pages[index]
        box = _page_box(page)
        rotate = int(page.obj.get("/Rotate", 0) or 0) % 360
        w, h = box[2] - box[0], box[3] - box[1]
        if rotate in (90, 270):
            w, h = h, w
        grid = InkMap.blank(w, h, res)
        try:
            if rotate:
                raise _NotSimple("rotated page")
            for xo, matrix in _image_draws(page):
                a, b, _c, _d, _e, _f = matrix
                # decode at about DECODE_DPI, never below the grid's resolution
                want = max(DECODE_DPI / 72.0, res) * math.hypot(a, b) / max(int(xo.get("/Width", 1)), 1)
                _to_grid(_ink_of_gray(_decode_gray(xo, min(1.0, want))), matrix, grid, box)
            rendered = False
        except _NotSimple:
            grid = InkMap.blank(w, h, res)
            rendered = True
        if not rotate:  # widgets (an earlier e-signature box) are ink whatever draws them
            _block_annotations(page, grid, box)
    if rendered:
        _render_ink(pdf, index, grid)
    return grid


def _dilate(ink: np.ndarray, cells: int) -> np.ndarray:
    if cells <= 0:
        return ink
    kernel = np.ones((2 * cells + 1, 2 * cells + 1), np.uint8)
    return cv2.dilate(ink.astype(np.uint8), kernel) > 0


def find_place(
    grid: InkMap,
    width: float,
    height: float,
    *,
    corner: str,
    min_scale: float = 1.0,
    steps: int = 4,
    gap: float = GAP,
    edge: float = EDGE,
    anchor_margin: float = 12.0,
) -> Place | None:
    """The free ``width`` × ``height`` rectangle (pt, scaled down to ``min_scale`` at most)
    nearest the ``corner`` ("top-right" or "top-left"); None if none exists.

    Tried in order: the corner zone (top fifth, the corner's half), then the top half of the
    page, each at scales 1 … ``min_scale``. Within a zone the free position nearest the
    corner's preferred spot (``anchor_margin`` from both edges) wins, each 1% of shrinking
    counting as 1 pt of distance."""
    if corner not in ("top-right", "top-left"):
        raise ValueError(f"corner must be top-right or top-left, not {corner!r}")
    r = grid.res
    cols = grid.ink.shape[1]
    rows = math.ceil(grid.ink.shape[0] / 2)  # every zone lies in the top half of the page
    g = math.ceil(gap * r)
    occupied = _dilate(grid.ink[:rows + g], g)[:rows]
    sat = np.zeros((rows + 1, cols + 1), dtype=np.int32)
    sat[1:, 1:] = occupied.astype(np.int32).cumsum(0).cumsum(1)
    lo = max(0.1, min(1.0, min_scale))
    scales = [1.0] if lo >= 1.0 else list(np.linspace(1.0, lo, max(2, steps)))
    e = math.ceil(edge * r)
    zones = (
        (grid.ink.shape[0] / 5.0, True),  # the corner zone: top fifth, the corner's half
        (rows, False),  # the nearest free band: the top half, any column
    )
    for bottom, half in zones:
        best = None  # (score, Place): distance in pt, plus 1 pt per 1% of shrinking
        for scale in scales:
            ww, hh = math.ceil(width * scale * r), math.ceil(height * scale * r)
            if ww + 2 * e > cols or hh + e > rows:
                continue
            sums = sat[hh:, ww:] - sat[:-hh, ww:] - sat[hh:, :-ww] + sat[:-hh, :-ww]
            free = sums == 0  # free[y, x]: top-left cell (y, x)
            y_max = min(rows - hh, int(bottom) - hh)
            x_lo, x_hi = e, cols - ww - e
            if half:
                if corner == "top-right":
                    x_lo = max(x_lo, cols // 2)
                else:
                    x_hi = min(x_hi, cols // 2 - ww)
            if y_max < e or x_hi < x_lo:
                continue
            ys, xs = np.nonzero(free[e:y_max + 1, x_lo:x_hi + 1])
            if ys.size == 0:
                continue
            ys, xs = ys + e, xs + x_lo
            am = anchor_margin * r
            ax = cols - ww - am if corner == "top-right" else am
            dist = np.hypot(xs - ax, ys - am)
            i = int(np.argmin(dist))
            score = float(dist[i]) / r + 100.0 * (1.0 - scale)
            if best is None or score < best[0]:
                best = (score, Place(x=float(xs[i]) / r, y=float(ys[i]) / r, width=ww / r,
                                     height=hh / r, scale=float(scale)))
        if best is not None:
            return best[1]
    return None
