"""Kodak patch codes on separator sheets: drawing a patch sheet, and finding and reading the
code on a scanned page image (OpenCV).

A patch code is four parallel black bars, two wide (0.20 in) and two narrow (0.08 in), with
three 0.08 in spaces: 0.80 in across, at least 2 in long (Kodak A-61599 / A-61670). The six
orders of wide (W) and narrow (N) bars are the six codes; scan stations split batches on
Patch T (transfer) and Patch II (Patch 2), some on Patch III. Bars lie parallel to the sheet's
leading edge and are read from it, so on the page image the code is read from the page edge it
is nearest to (that also reads a sheet fed upside down or sideways right: an upside-down Patch T
would otherwise read as Patch 3).

Detection works on a 100 dpi copy of the page: dark blobs that are long solid rectangles
(`cv2.minAreaRect`, any skew) are bar candidates; four parallel candidates of the same length
side by side, with bar-sized spaces and 2 wide + 2 narrow widths, are a code. Widths are
judged against each other (wide ≈ 2.5 × narrow), so a file whose dpi is misstated still reads.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
from PIL import Image, ImageDraw

from batch.separator import A4_MM, font

WIDE_IN, NARROW_IN, SPACE_IN = 0.20, 0.08, 0.08
BAR_LENGTH_IN = 6.0  # ours are 6 in long (Kodak asks for at least 2 in)
LEADING_MARGIN_IN = 1.0  # from the sheet's top (leading) edge; Kodak: 0.25 to 3.75 in
# the order of the bars from the leading edge; Patch 2 and 4 read the same both ways
PATTERNS = {"1": "WWNN", "2": "WNNW", "3": "WNWN", "4": "NWWN", "6": "NNWW", "T": "NWNW"}
BY_PATTERN = {v: k for k, v in PATTERNS.items()}
ALIASES = {"I": "1", "II": "2", "III": "3", "IV": "4", "VI": "6", "TRANSFER": "T",
           "TOGGLE": "4", "PATCH1": "1", "PATCH2": "2", "PATCH3": "3", "PATCH4": "4",
           "PATCH6": "6", "PATCHT": "T", "PATCHII": "2", "PATCHIII": "3"}
TOGGLE = "4"  # the colour toggle patch: a control sheet that does not start a document
WORK_DPI = 100


class PatchCodeError(ValueError):
    """An unknown patch code name."""


def normalize(code: str) -> str:
    """'T', 'II', 'Patch 2', 'transfer' … → one of PATTERNS' keys."""
    key = str(code).strip().upper().replace(" ", "").replace("_", "").replace("-", "")
    key = ALIASES.get(key, key)
    if key not in PATTERNS:
        raise PatchCodeError(f"unknown patch code {code!r} (expected one of 1, 2 (II), 3 (III), "
                             f"4, 6, T)")
    return key


def label(code: str) -> str:
    return {"2": "Patch II", "3": "Patch III"}.get(code, f"Patch {code}")


def draw(page: Image.Image, code: str, dpi: int, top_in: float = LEADING_MARGIN_IN) -> None:
    """Draw the code's bars on `page` (horizontal, centred, `top_in` below the top edge)."""
    pattern = PATTERNS[normalize(code)]
    canvas = ImageDraw.Draw(page)
    length = round(min(BAR_LENGTH_IN, page.width / dpi - 1.0) * dpi)
    x0 = (page.width - length) // 2
    y = top_in * dpi
    for n, kind in enumerate(pattern):
        height = (WIDE_IN if kind == "W" else NARROW_IN) * dpi
        canvas.rectangle([x0, round(y), x0 + length - 1, round(y + height) - 1], fill=0)
        y += height + (SPACE_IN * dpi if n < 3 else 0)


@dataclass(frozen=True)
class Bar:
    center: tuple[float, float]
    length: float
    width: float
    angle: float  # of the long side, degrees in [0, 180)


def _bars(ink: np.ndarray) -> list[Bar]:
    per_in = WORK_DPI
    contours, _ = cv2.findContours(ink, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    bars = []
    for contour in contours:
        area = cv2.contourArea(contour)
        if area < 1.2 * per_in * 0.04 * per_in:
            continue
        (cx, cy), (w, h), angle = cv2.minAreaRect(contour)
        length, width = max(w, h), min(w, h)
        if length < 1.2 * per_in or not 0.04 * per_in <= width <= 0.32 * per_in:
            continue
        if area < 0.75 * w * h:  # not solid: text, a frame, a table
            continue
        if w < h:
            angle += 90.0
        bars.append(Bar((cx, cy), length, width, angle % 180.0))
    return bars


def _angle_gap(a: float, b: float) -> float:
    d = abs(a - b) % 180.0
    return min(d, 180.0 - d)


def _read_group(group: list[Bar], shape: tuple[int, int]) -> str | None:
    """The code of four bars in reading order from the nearest page edge, or None."""
    ref = group[0].angle
    theta = np.deg2rad(ref + np.mean([(b.angle - ref + 90.0) % 180.0 - 90.0 for b in group]))
    along = np.array([np.cos(theta), np.sin(theta)])
    normal = np.array([-np.sin(theta), np.cos(theta)])
    centers = np.array([b.center for b in group])
    # side by side: the bars overlap along their length
    pos = centers @ along
    if pos.max() - pos.min() > 0.25 * min(b.length for b in group):
        return None
    lengths = [b.length for b in group]
    if max(lengths) > 1.3 * min(lengths):
        return None
    order = np.argsort(centers @ normal)
    bars = [group[i] for i in order]
    offsets = [float(centers[i] @ normal) for i in order]
    widths = [b.width for b in bars]
    gaps = [offsets[i + 1] - offsets[i] - (widths[i] + widths[i + 1]) / 2 for i in range(3)]
    narrow = sorted(widths)[:2]
    wide = sorted(widths)[2:]
    unit = float(np.mean(narrow))  # a narrow bar; spaces are the same
    if min(wide) < 1.7 * max(narrow) or max(wide) > 1.4 * min(wide) or \
            max(narrow) > 1.5 * min(narrow):
        return None
    if any(not 0.5 * unit <= g <= 1.8 * unit for g in gaps):
        return None
    cut = (max(narrow) + min(wide)) / 2
    pattern = "".join("W" if w > cut else "N" for w in widths)
    # read from the page edge nearest to the code, along the normal
    h, w = shape
    cx, cy = centers.mean(axis=0)
    if abs(normal[1]) >= abs(normal[0]):  # bars run across the page: top or bottom edge
        forward = (cy < h / 2) == (normal[1] > 0)
    else:  # bars run down the page (a sheet fed sideways): left or right edge
        forward = (cx < w / 2) == (normal[0] > 0)
    return BY_PATTERN.get(pattern if forward else pattern[::-1])


def detect(gray: np.ndarray, dpi: int) -> str | None:
    """The patch code on a gray page image ('1', '2', '3', '4', '6' or 'T'), or None."""
    scale = WORK_DPI / max(dpi, 1)
    small = cv2.resize(gray, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA) \
        if scale < 1.0 else gray
    threshold, _ = cv2.threshold(small, 0, 255, cv2.THRESH_BINARY | cv2.THRESH_OTSU)
    _, ink = cv2.threshold(small, min(threshold, 150), 255, cv2.THRESH_BINARY_INV)
    ink = cv2.morphologyEx(ink, cv2.MORPH_OPEN, np.ones((2, 2), np.uint8))
    ink = cv2.morphologyEx(ink, cv2.MORPH_CLOSE, np.ones((3, 3), np.uint8))
    bars = _bars(ink)
    if len(bars) < 4:
        return None
    used: set[int] = set()
    for i, bar in enumerate(bars):
        if i in used:
            continue
        near = [j for j, other in enumerate(bars) if j not in used
                and _angle_gap(other.angle, bar.angle) <= 4.0
                and np.hypot(other.center[0] - bar.center[0],
                             other.center[1] - bar.center[1]) <= 1.2 * WORK_DPI]
        used.update(near)
        if len(near) < 4:
            continue
        theta = np.deg2rad(bar.angle)
        normal = np.array([-np.sin(theta), np.cos(theta)])
        near.sort(key=lambda j: float(np.array(bars[j].center) @ normal))
        for k in range(len(near) - 3):  # a rule line beside the code does not hide it
            code = _read_group([bars[j] for j in near[k:k + 4]], small.shape[:2])
            if code:
                return code
    return None


def render_sheet(code: str, dpi: int = 150, dossier: str | None = None) -> Image.Image:
    """A patch sheet: the code near the leading (top) edge, its name in large print for people."""
    code = normalize(code)
    w, h = (round(mm / 25.4 * dpi) for mm in A4_MM)
    page = Image.new("L", (w, h), 255)
    draw(page, code, dpi)
    canvas = ImageDraw.Draw(page)
    lines = [("TỜ PHÂN CÁCH HỒ SƠ", font(round(dpi * 0.45)), 0.40),
             (label(code).upper(), font(round(dpi * 0.8)), 0.48),
             (f"Hồ sơ: {dossier}" if dossier else "", font(round(dpi * 0.2)), 0.62),
             ("Đặt tờ này trước mỗi văn bản khi quét theo lô (mã vạch ở mép trên).",
              font(round(dpi * 0.15)), 0.75)]
    for text, face, y in lines:
        if text:
            box = canvas.textbbox((0, 0), text, font=face)
            canvas.text(((w - (box[2] - box[0])) // 2, int(h * y)), text, fill=0, font=face)
    return page


def write_sheet(path: Path, code: str, copies: int = 1, dpi: int = 150) -> Path:
    """A PDF of `copies` patch sheets (exactly A4)."""
    import io

    import img2pdf

    buf = io.BytesIO()
    render_sheet(code, dpi).save(buf, "PNG", dpi=(dpi, dpi))
    layout = img2pdf.get_fixed_dpi_layout_fun((dpi, dpi))
    Path(path).write_bytes(img2pdf.convert([buf.getvalue()] * max(1, copies),
                                           layout_fun=layout))
    return Path(path)
