"""Page preprocessing before recognition: analysis, quality gate, orientation, deskew, dropout.

This module owns what is done to a page image before Tesseract sees it. Everything is numpy /
OpenCV on a copy of the page downscaled to `ANALYSIS_DPI` (these calls release the GIL, so the
recognition threads overlap), and only the final rotation/deskew touches the full image.

- Colour dropout: the recognition image of a colour page is its red channel. A red seal
  (≈ RGB 205,28,36) is near-white there while black text stays black (a blue signature stays
  dark, it is not text anyway). The stored page image keeps its colour.
- Blank page: fewer than `BLANK_MAX_CHARS` character-sized marks once specks and bleed-through
  (faint, below the ink threshold) are ignored, and no text of other sizes: a few large letters
  (0.5-3 inches) or many tiny ones found at full resolution (typewriter type) keep a page.
- Skew: projection profile of the ink pixels, searched coarse then fine, up to ±`MAX_SKEW`°.
- Orientation: text lines run horizontally (projection profile along y sharper than along x),
  else the page is turned by 90°. Upright vs upside-down: in Vietnamese (and Latin) print the
  ink above a line's x-height band (capitals, ascenders, the very frequent diacritics) outweighs
  the ink below it (descenders, dot-below).
- Quality gate: a known resolution below `MIN_DPI`, a dark page or blurred text raise
  `InputError` with a Vietnamese message asking for a rescan (Decree 30/2020: ≥ 200 dpi, colour,
  100% scale). A phone photo of a flat sheet (a bright quadrilateral inside a darker frame)
  is rectified by `rectify_photo` (the engine reads the corrected sheet when it reaches
  `MIN_DPI`). The message names the real cause: a photo to retake (flat, from above, sheet
  filling the frame), a
  page whose stated size is absurd (a low dpi only because the loader fitted a huge page into
  its pixel limit), a resolution below 200 dpi, darkness, or blur.

`rotation` is the clockwise turn (0/90/180/270) applied to make the page upright, `skew` the
remaining small angle in degrees, counter-clockwise positive (as the page appears), removed by
turning the page clockwise by the same amount.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import cv2
import numpy as np
from PIL import Image

from ocr.pages import InputError

ANALYSIS_DPI = 150
MIN_DPI = 200
MAX_SKEW = 6.0
MIN_DESKEW = 0.1  # degrees: smaller skews are left alone (no resampling)
BLANK_MAX_CHARS = 8
FINE_MARK_IN = 0.025  # the smallest type looked for at full resolution (inches high)
GLANCE_MAX_INK = 0.002  # share of a page's pixels that may be ink for `blank_at_a_glance`
# p90 edge gradient / paper level at ANALYSIS_DPI: sharp print ≈ 0.45, Gaussian blur σ 2 px
# (at 300 dpi) ≈ 0.25, σ 3 px ≈ 0.13
MIN_SHARPNESS = 0.15
UNDECIDED_MARGIN = 0.08  # corpus pages: upright 0.56..0.74, upside-down 0.29..0.41
UNDECIDED_CHARS = 200  # fewer marks than this (a few lines): the upright test is a guess
SEAL_MID_RATIO = 0.5  # a gray seal's box: mid-gray pixels at least half the black ones
GRAY_SEAL_CUT = 0.3  # inside a gray seal's box, pixels lighter than ink + 30% of the span go
MIN_PAPER = 90  # the paper level (90th percentile of gray) of a readable page
MIN_CONTRAST = 60
PHOTO_MIN_ANGLE = 4.0  # degrees a sheet's corners are off square for a photo at an angle
MAX_PAGE_IN = 24.0  # a page side longer than this (A2 is 23.4 in) is not a paper result


@dataclass
class Analysis:
    """What `analyze` found on a page. Angles as described in the module docstring."""

    blank: bool
    rotation: int = 0
    skew: float = 0.0
    chars: int = 0  # character-sized marks found
    paper: float = 255.0  # paper level (gray)
    contrast: float = 0.0  # paper minus ink level
    sharpness: float = 0.0  # edge gradient over paper level (see _sharpness)
    upright_score: float = 0.5  # share of ink above the x-height bands (upright > 0.5)
    undecided: bool = False  # upright score near 0.5 or too little text to be sure
    seals: list[tuple[int, int, int, int]] = field(default_factory=list)  # gray seal boxes (px)
    ink: float = 0.0  # ink level (gray)
    vertical: bool = False  # text lines were found running vertically
    size_in: tuple[float, float] = (0.0, 0.0)  # page width, height in inches at its dpi
    photo_angle: float = 0.0  # a photo of a sheet at an angle: how far its corners are off


def recognition_gray(img: Image.Image) -> np.ndarray:
    """The gray image Tesseract reads: red channel of colour pages (seal dropout), else gray."""
    if img.mode == "RGB":
        return np.asarray(img.getchannel("R"))
    if img.mode == "L":
        return np.asarray(img)
    return np.asarray(img.convert("L"))


def _downscale(gray: np.ndarray, dpi: int) -> np.ndarray:
    if dpi <= ANALYSIS_DPI:
        return gray
    f = ANALYSIS_DPI / dpi
    return cv2.resize(gray, None, fx=f, fy=f, interpolation=cv2.INTER_AREA)


def _profile_score(coord: np.ndarray, weight: np.ndarray) -> float:
    """Sharpness of a weighted projection: sum(h²)·extent/sum(h)² (1 for a flat profile)."""
    idx = (coord - coord.min()).astype(np.int64)
    h = np.bincount(idx, weights=weight)
    return float(np.dot(h, h)) * float(idx.max() + 1) / float(h.sum()) ** 2


def _best_angle(x: np.ndarray, y: np.ndarray, w: np.ndarray, *, fine: bool = True) -> tuple[float, float]:
    """Angle (degrees) whose projection of the weighted points on the y axis is sharpest."""

    def score(a: float) -> float:
        t = np.deg2rad(a)
        return _profile_score(y * np.cos(t) + x * np.sin(t), w)

    best = float(max(np.arange(-MAX_SKEW, MAX_SKEW + 1e-9, 1.0), key=score))
    if fine:
        for step, span in ((0.25, 0.75), (0.05, 0.2)):
            best = float(max(np.arange(best - span, best + span + 1e-9, step), key=score))
    return best, score(best)


def _line_profile(comps: np.ndarray, skew: float) -> np.ndarray:
    """Row profile of the deskewed page: each mark's area spread evenly over its rows."""
    left, top, width, height, area = (comps[:, i].astype(np.float64) for i in range(5))
    t = np.deg2rad(skew)
    cx, cy = left + width / 2, top + height / 2
    shift = (cy * np.cos(t) + cx * np.sin(t)) - cy
    start = np.round(top + shift).astype(np.int64)
    start -= start.min()
    end = start + height.astype(np.int64)
    dens = area / height
    diff = np.zeros(int(end.max()) + 2)
    np.add.at(diff, start, dens)
    np.add.at(diff, end, -dens)
    return np.cumsum(diff)[:-1]


def _upright_score(h: np.ndarray) -> float:
    """Share of line ink above the x-height bands (0.5 = undecided)."""
    if h.size < 5 or not np.any(h > 0):
        return 0.5
    peak = np.percentile(h[h > 0], 95)
    on = h > 0.03 * peak
    above = below = 0.0
    edges = np.flatnonzero(np.diff(np.concatenate(([0], on.astype(np.int8), [0]))))
    for start, end in zip(edges[::2], edges[1::2], strict=True):
        seg = h[start:end]
        if seg.size < 4:
            continue
        core = np.flatnonzero(seg >= 0.5 * seg.max())
        above += float(seg[: core[0]].sum())
        below += float(seg[core[-1] + 1 :].sum())
    total = above + below
    return above / total if total > 0 else 0.5


def _marks(small: np.ndarray, dpi: int = ANALYSIS_DPI, *, lo_in: float = 0.04,
           hi_in: float = 0.5) -> tuple[np.ndarray, float, float]:
    """Character-sized marks (left, top, width, height, area rows), paper level, ink threshold.

    Marks are lo_in..hi_in inches high. Diacritics are too small to count as marks; they would
    help the upright test, but at ANALYSIS_DPI they cannot be told from JPEG noise and specks
    (measured: worse)."""
    stats, paper, thresh = _components(small)
    return _sized(stats, dpi, lo_in, hi_in), paper, thresh


def _components(small: np.ndarray) -> tuple[np.ndarray, float, float]:
    """The ink's connected components (stats rows, the background's first), paper level, ink
    threshold."""
    paper = _paper_level(small)
    thresh = paper * 0.6
    binary = (small < thresh).astype(np.uint8)
    _, _, stats, _ = cv2.connectedComponentsWithStats(binary, connectivity=8)
    return stats, paper, thresh


def _paper_level(gray: np.ndarray) -> float:
    """The paper's gray: the 90th percentile of every third pixel both ways."""
    hist = np.bincount(gray[::3, ::3].ravel(), minlength=256)
    return float(np.searchsorted(np.cumsum(hist), 0.9 * hist.sum()))


def _sized(stats: np.ndarray, dpi: int, lo_in: float, hi_in: float) -> np.ndarray:
    """The components lo_in..hi_in inches high (and at most twice hi_in wide)."""
    h = stats[:, cv2.CC_STAT_HEIGHT]
    w = stats[:, cv2.CC_STAT_WIDTH]
    lo, hi = lo_in * dpi, hi_in * dpi
    keep = (h >= lo) & (h <= hi) & (w <= 2 * hi)
    keep[0] = False
    return stats[keep]


def _text_the_marks_missed(gray: np.ndarray, stats: np.ndarray, dpi: int) -> bool:
    """A page the character-size test calls blank may hold text of other sizes: large letters
    (0.5..3 inches: a certificate's title, a poster) or tiny, thin type (a typewriter, 5-6 pt)
    whose strokes fade below the ink threshold once downscaled; look at full resolution."""
    if len(_sized(stats, ANALYSIS_DPI, 0.5, 3.0)) >= 3:  # `stats`: the ANALYSIS_DPI copy's
        return True
    if dpi <= ANALYSIS_DPI:
        return False
    # each fine mark is at least its minimum height in pixels: too little ink for that many
    # marks needs no search at full resolution (most blank backs: specks and noise)
    if _ink_pixels(gray) < 3 * BLANK_MAX_CHARS * math.ceil(FINE_MARK_IN * dpi):
        return False
    fine, _, _ = _marks(gray, dpi, lo_in=FINE_MARK_IN, hi_in=0.5)
    return len(fine) >= 3 * BLANK_MAX_CHARS


def _ink_pixels(gray: np.ndarray) -> int:
    """Pixels darker than `_marks`' ink threshold on this image (the same paper level)."""
    hist = cv2.calcHist([np.ascontiguousarray(gray)], [0], None, [256], [0, 256]).ravel()
    return int(hist[: math.ceil(_paper_level(gray) * 0.6)].sum())


def _blank_chars(gray: np.ndarray, stats: np.ndarray, dpi: int) -> int | None:
    """The blank rule (`analyze`, `blank_at_a_glance`): fewer than BLANK_MAX_CHARS
    character-sized marks among `stats` (the ANALYSIS_DPI copy's components) and no text of
    other sizes; their number, or None for a page that is not blank."""
    chars = len(_sized(stats, ANALYSIS_DPI, 0.04, 0.5))
    if chars >= BLANK_MAX_CHARS or _text_the_marks_missed(gray, stats, dpi):
        return None
    return chars


def blank_at_a_glance(gray: np.ndarray, dpi: int) -> int | None:
    """The character marks of a page `analyze` calls blank that also holds almost no ink
    (under `GLANCE_MAX_INK` of its area: specks, dust, noise — never a separator sheet's QR
    code or patch bars); None when it takes a full examination to say. Cheap enough to run
    while a scanner delivers the page (batch capture: most of a duplex stack is blank backs)."""
    small = _downscale(gray, dpi)
    if _sheet_in_photo(small):
        return None
    stats, _, _ = _components(small)
    if stats[1:, cv2.CC_STAT_AREA].sum() > GLANCE_MAX_INK * small.size:
        return None
    return _blank_chars(gray, stats, dpi)


def _orientation(comps: np.ndarray) -> tuple[float, float, float, float]:
    """(skew, upright score, horizontal score, vertical score) from the marks."""
    left, top, width, height, area = (comps[:, i].astype(np.float64) for i in range(5))
    cx, cy = left + width / 2, top + height / 2
    skew, score_h = _best_angle(cx, cy, area)
    _, score_v = _best_angle(cy, cx, area, fine=False)
    return skew, _upright_score(_line_profile(comps, skew)), score_h, score_v


def _turn_marks(comps: np.ndarray, height: int) -> np.ndarray:
    """The marks as seen on the page turned a quarter clockwise."""
    left, top, width, h, area = (comps[:, i] for i in range(5))
    return np.stack([height - top - h, left, h, width, area], axis=1)


def _sharpness(small: np.ndarray, thresh: float, paper: float) -> float:
    """90th percentile of the gradient on ink edges over the paper level (middle third)."""
    rows = small.shape[0]
    crop = small[rows // 3 : 2 * rows // 3]
    b = (crop < thresh).astype(np.uint8)
    edge = (b & (1 - cv2.erode(b, np.ones((3, 3), np.uint8)))).astype(bool)
    if np.count_nonzero(edge) < 50:
        return 1.0  # too little ink in the middle to judge: do not refuse
    g = cv2.magnitude(cv2.Sobel(crop, cv2.CV_32F, 1, 0), cv2.Sobel(crop, cv2.CV_32F, 0, 1))
    return float(np.percentile(g[edge], 90)) / 8.0 / max(paper, 1.0)


def _gray_seals(small: np.ndarray, paper: float, ink: float, scale: float
                ) -> list[tuple[int, int, int, int]]:
    """Boxes (full-resolution pixels) of seals printed in mid-gray on a gray page: round,
    0.7..2.5 inches wide, made mostly of pixels clearly lighter than the text ink that are not
    the soft edges of text (a blurred text block has more black than mid-gray pixels)."""
    span = paper - ink
    black = (small < ink + 0.3 * span).astype(np.uint8)
    mid = (small >= ink + 0.3 * span) & (small < paper - 0.25 * span)
    mid &= ~cv2.dilate(black, np.ones((3, 3), np.uint8)).astype(bool)
    joined = cv2.dilate(mid.astype(np.uint8), np.ones((15, 15), np.uint8))  # join ring pieces
    _, _, stats, _ = cv2.connectedComponentsWithStats(joined, connectivity=8)
    boxes = []
    for x, y, w, h, area in stats[1:]:
        if not (min(w, h) >= 0.7 * ANALYSIS_DPI and max(w, h) <= 2.5 * ANALYSIS_DPI
                and 0.7 < w / h < 1.4 and area > 0.04 * w * h):
            continue
        n_mid = np.count_nonzero(mid[y : y + h, x : x + w])
        n_black = np.count_nonzero(black[y : y + h, x : x + w])
        if n_mid < SEAL_MID_RATIO * n_black:
            continue
        pad = 0.05 * max(w, h)
        boxes.append(tuple(int(round(v / scale)) for v in
                           (x - pad, y - pad, x + w + pad, y + h + pad)))
    return boxes


def drop_gray_seals(gray: np.ndarray, analysis: Analysis) -> np.ndarray:
    """Whiten the mid-gray seal pixels inside the seal boxes of a gray page (text keeps its
    dark core). Returns `gray` itself when there is nothing to drop."""
    if not analysis.seals:
        return gray
    out = gray.copy()
    level = analysis.ink + GRAY_SEAL_CUT * (analysis.paper - analysis.ink)
    for x0, y0, x1, y1 in analysis.seals:
        region = out[max(0, y0) : y1, max(0, x0) : x1]
        region[region > level] = 255
    return out


def _sheet_in_photo(small: np.ndarray) -> float:
    """A phone photo of a sheet lying on a darker surface: the sheet is a bright quadrilateral
    that does not fill the frame. Returns how far (degrees) its corners are from right angles
    (0.0 when the image is not such a photo: a scan fills the frame with paper)."""
    return _sheet_quad(small)[0]


def _sheet_quad(small: np.ndarray) -> tuple[float, np.ndarray | None]:
    """(corners off square in degrees, the sheet's 4 corners tl, tr, br, bl) or (0.0, None)."""
    blurred = cv2.GaussianBlur(small, (9, 9), 0)
    level, sheet = cv2.threshold(blurred, 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
    h, w = small.shape[:2]
    border = np.concatenate([sheet[0], sheet[-1], sheet[:, 0], sheet[:, -1]])
    if np.count_nonzero(border == 0) < 0.25 * border.size or level > 200:
        return 0.0, None  # paper reaches the edges almost all round: a scan, not a photo
    contours, _ = cv2.findContours(sheet, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    if not contours:
        return 0.0, None
    biggest = max(contours, key=cv2.contourArea)
    if not 0.2 * h * w <= cv2.contourArea(biggest) <= 0.97 * h * w:
        return 0.0, None
    quad = cv2.approxPolyDP(biggest, 0.02 * cv2.arcLength(biggest, True), True)
    if len(quad) != 4:
        return 0.0, None
    pts = quad.reshape(4, 2).astype(np.float64)
    off = 0.0
    for k in range(4):
        a, b, c = pts[k - 1], pts[k], pts[(k + 1) % 4]
        u, v = a - b, c - b
        cos = float(np.dot(u, v) / (np.linalg.norm(u) * np.linalg.norm(v) + 1e-9))
        off = max(off, abs(90.0 - np.degrees(np.arccos(np.clip(cos, -1, 1)))))
    # a scan with dark margins (lid open, over-scan) shows a square sheet: not a photo
    if off < PHOTO_MIN_ANGLE:
        return 0.0, None
    sums, diffs = pts.sum(axis=1), pts[:, 0] - pts[:, 1]
    ordered = np.array([pts[np.argmin(sums)], pts[np.argmax(diffs)], pts[np.argmax(sums)],
                        pts[np.argmin(diffs)]])
    return round(off, 2), ordered


def rectify_photo(img: Image.Image, dpi: int) -> tuple[Image.Image, int] | None:
    """A phone photo of a flat sheet, its perspective corrected: (the sheet alone, upright
    rectangle, and its resolution taking the sheet's short side as A4's 8.27 inches), or None
    when no sheet is found."""
    gray = recognition_gray(img)
    small = _downscale(gray, dpi)
    _, quad = _sheet_quad(small)
    if quad is None:
        return None
    quad = quad * (gray.shape[0] / small.shape[0])
    tl, tr, br, bl = quad
    width = int(round(max(np.linalg.norm(tr - tl), np.linalg.norm(br - bl))))
    height = int(round(max(np.linalg.norm(bl - tl), np.linalg.norm(br - tr))))
    target = np.float32([[0, 0], [width - 1, 0], [width - 1, height - 1], [0, height - 1]])
    m = cv2.getPerspectiveTransform(quad.astype(np.float32), target)
    a = np.asarray(img.convert("RGB") if img.mode not in ("L", "RGB") else img)
    fixed = cv2.warpPerspective(a, m, (width, height), flags=cv2.INTER_LINEAR,
                                borderMode=cv2.BORDER_REPLICATE)
    sheet_dpi = int(round(min(width, height) / 8.27))
    return Image.fromarray(fixed), sheet_dpi


def analyze(img: Image.Image, dpi: int, *, gray: np.ndarray | None = None) -> Analysis:
    """Blank, orientation, skew and quality measures of one page (cheap: ANALYSIS_DPI)."""
    if gray is None:
        gray = recognition_gray(img)
    small = _downscale(gray, dpi)
    size_in = (round(img.width / dpi, 1), round(img.height / dpi, 1))
    photo_angle = _sheet_in_photo(small)
    if photo_angle:
        return Analysis(blank=False, size_in=size_in, photo_angle=photo_angle, sharpness=1.0)
    stats, paper, thresh = _components(small)
    blank_chars = _blank_chars(gray, stats, dpi)
    if blank_chars is not None:
        return Analysis(blank=True, chars=blank_chars, paper=paper)
    comps = _sized(stats, ANALYSIS_DPI, 0.04, 0.5)
    chars = len(comps)
    if chars < BLANK_MAX_CHARS:  # text of unusual size: judge the page on what was found
        comps = np.concatenate([comps, _sized(stats, ANALYSIS_DPI, 0.5, 3.0),
                                _sized(stats, ANALYSIS_DPI, 0.02, 0.04)])
        chars = len(comps)
        if chars == 0:
            return Analysis(blank=False, chars=0, paper=paper, undecided=True, sharpness=1.0,
                            contrast=paper)
    ink = float(np.percentile(small[small < thresh], 20))  # text cores, not a lighter seal
    contrast = paper - ink
    skew, upright, score_h, score_v = _orientation(comps)
    rotation, vertical = 0, False
    if score_v > score_h * 1.15:
        # text lines run vertically: look again with the page turned a quarter clockwise
        vertical = True
        rows = small.shape[0]
        skew, upright, _, _ = _orientation(_turn_marks(comps, rows))
        rotation = 90
    if upright < 0.5:
        rotation = (rotation + 180) % 360  # a half turn keeps the skew angle
    sharp = _sharpness(small, thresh, paper)
    undecided = abs(upright - 0.5) < UNDECIDED_MARGIN or chars < UNDECIDED_CHARS
    seals = _gray_seals(small, paper, ink, small.shape[0] / gray.shape[0]) if img.mode == "L" else []
    return Analysis(blank=False, rotation=rotation, skew=round(skew, 2), chars=chars, paper=paper,
                    contrast=contrast, sharpness=sharp, upright_score=upright, vertical=vertical,
                    undecided=undecided, seals=seals, ink=ink, size_in=size_in)


def check_quality(analysis: Analysis, dpi: int, *, dpi_known: bool = True, source: str = "",
                  index: int = 0) -> None:
    """Refuse a page that cannot make a valid digitized copy: raise InputError (with `.vi`)."""
    where = f"{source or 'input'}, page {index + 1}"
    where_vi = f"Tệp {source or 'đã quét'}, trang {index + 1}"
    ask = "Hãy quét lại ở độ phân giải ít nhất 200 dpi, chế độ màu, tỉ lệ 100% (Nghị định 30/2020/NĐ-CP)."
    if analysis.photo_angle:
        raise InputError(
            f"{where}: a photo of the sheet at an angle whose perspective could not be "
            f"corrected to {MIN_DPI} dpi (corners {analysis.photo_angle:.0f}° off square)",
            f"{where_vi}: đây là ảnh chụp tờ giấy (thấy cả nền xung quanh, chụp nghiêng), "
            "không phải bản quét. Hãy quét bằng máy quét; nếu phải chụp, đặt tờ giấy phẳng, "
            "chụp thẳng từ trên xuống cho tờ giấy phủ kín khung hình.",
            path=source or None,
        )
    big = max(analysis.size_in) if analysis.size_in else 0.0
    if dpi_known and dpi < MIN_DPI and big > MAX_PAGE_IN:
        w_in, h_in = analysis.size_in
        raise InputError(
            f"{where}: page is {w_in:.0f}x{h_in:.0f} inches, far larger than a paper document "
            f"(read at {dpi} dpi to fit the size limit): the file's page size is wrong",
            f"{where_vi}: kích thước trang ghi trong tệp ({w_in:.0f}x{h_in:.0f} inch) lớn bất "
            "thường so với tờ giấy thật. Hãy quét lại hoặc xuất lại tệp với khổ giấy đúng "
            "(A4, 100%).",
            path=source or None,
        )
    if dpi_known and dpi < MIN_DPI:
        raise InputError(
            f"{where}: scanned at {dpi} dpi, below the {MIN_DPI} dpi required for a digitized copy",
            f"{where_vi}: ảnh quét chỉ có {dpi} dpi, thấp hơn mức tối thiểu {MIN_DPI} dpi. {ask}",
            path=source or None,
        )
    if analysis.blank:
        return
    if analysis.paper < MIN_PAPER or analysis.contrast < MIN_CONTRAST:
        raise InputError(
            f"{where}: page too dark or without contrast (paper level {analysis.paper:.0f}, "
            f"contrast {analysis.contrast:.0f})",
            f"{where_vi}: ảnh quét quá tối hoặc quá mờ nhạt, không đọc được. {ask}",
            path=source or None,
        )
    if analysis.sharpness < MIN_SHARPNESS:
        raise InputError(
            f"{where}: page too blurred to read (sharpness {analysis.sharpness:.2f}, "
            f"minimum {MIN_SHARPNESS})",
            f"{where_vi}: ảnh quét bị nhòe, không rõ chữ. {ask}",
            path=source or None,
        )


_ROTATE = {90: cv2.ROTATE_90_CLOCKWISE, 180: cv2.ROTATE_180, 270: cv2.ROTATE_90_COUNTERCLOCKWISE}


def straighten(a: np.ndarray, rotation: int, skew: float, *, bilevel: bool = False) -> np.ndarray:
    """Turn an image array upright (exact quarter turns) and remove the skew (no resize)."""
    if rotation:
        a = cv2.rotate(a, _ROTATE[rotation])
    if abs(skew) >= MIN_DESKEW:
        h, w = a.shape[:2]
        m = cv2.getRotationMatrix2D((w / 2, h / 2), -skew, 1.0)
        border = (255, 255, 255) if a.ndim == 3 else 255
        if bilevel:
            a = cv2.warpAffine(a, m, (w, h), flags=cv2.INTER_LINEAR, borderValue=border)
            a = np.where(a >= 128, 255, 0).astype(np.uint8)
        else:
            a = cv2.warpAffine(a, m, (w, h), flags=cv2.INTER_LINEAR, borderValue=border)
    return a
