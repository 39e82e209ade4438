"""Handwritten serials and days in printed templates: where they sit, and two independent readings.

Most real decisions and letters are printed with blanks that a clerk fills in by pen on the
day of issue: the serial in "Số: ___/QĐ-UBND" and the day in "Quảng Ngãi, ngày ___ tháng 02
năm 2025". The page's Vietnamese OCR reads such digits badly ("0†", "4‡", "ngày0ÿ") or glues
them to the printed words. This module owns:

- `slots(words)`: the pixel boxes of those blanks on an upright page, from the page's own OCR
  word boxes: the serial between "Số:" and the printed "/…" part, the day between "ngày" and
  "tháng" of the "<place>, ngày … tháng … năm …" line, both in the top part of the page. When
  the handwriting was glued to a printed word, the printed word's extent is estimated from the
  line's character width (the median width per character of the line's clean words).
- two readers that share nothing but the crop:
  * `read_tesseract`: Tesseract restricted to digits, one text line (psm 7), on several
    renderings of the crop (gray, Otsu, Otsu at 2x, 0.6x; one Tesseract run for all the
    renderings of all the page's blanks);
    the reading most renderings give;
  * `read_glyphs`: the crop cut into connected ink components (rule lines removed, a printed
    letter's tail dropped, touching digits split), each classified by support-vector
    classifiers trained on the handwritten digits that scikit-learn ships
    (`sklearn.datasets.load_digits`: 1,797 digits written by 43 people, 8x8 block counts of
    32x32 bitmaps), one of them with a calligraphic font's digits added (European "1", "7").
- `read_slots(gray, words)`: both readings per slot whose words the page's OCR did not read
  as plain confident digits (printed numbers cost nothing); `value` is set only when Tesseract's
  reading is one the classifiers give, as well-formed digits. A person checks everything
  else: disagreement means doubt.
"""

from __future__ import annotations

import io
import re
import statistics
import subprocess
from collections import Counter
from functools import lru_cache

import cv2
import numpy as np
from PIL import Image

from ocr.textlayer import fold

TOP_SHARE = 0.45  # the template's number and date lines sit in the top part of the page
_LABEL = re.compile(r"^s[o0][:;.]")
_CLEAN = re.compile(r"^[0-9A-Za-zÀ-ỹĐđ,.:]+$")
TESSERACT = "tesseract"
SPLIT_WIDTH = 0.95  # an ink group wider than its height (times this) is two digits touching


def _rows(words) -> list[tuple[str, float, int, int, int, int]]:
    out = []
    for w in words or []:
        if isinstance(w, list | tuple):
            if len(w) < 6:
                continue
            text, conf, left, top, width, height = w[:6]
        else:
            text, conf, left, top, width, height = (w.text, w.conf, w.left, w.top, w.width,
                                                    w.height)
        out.append((str(text), float(conf), int(left), int(top), int(width), int(height)))
    return out


def _same_line(a, b) -> bool:
    ca, cb = a[3] + a[5] / 2, b[3] + b[5] / 2
    return abs(ca - cb) <= max(a[5], b[5]) * 0.8


def _char_width(rows, anchor) -> float:
    """Median pixel width per character of the clean printed words on the anchor's line."""
    widths = [r[4] / len(r[0]) for r in rows
              if _same_line(anchor, r) and len(r[0]) >= 3 and r[1] >= 0.8 and _CLEAN.match(r[0])]
    return statistics.median(widths) if widths else anchor[5] * 0.5


# A blank's box reaches ABOVE and BELOW line heights around its line's centre (a pen writes
# bigger than print, and higher or lower); only ink that crosses the line's own band (BAND line
# heights around the centre) is read, so the lines above and below never are.
ABOVE, BELOW, BAND = 1.5, 2.0, 0.5


def _box(left: float, right: float, line, height: int) -> list[int] | None:
    """A blank between two x positions of a line (see ABOVE/BELOW)."""
    if right - left < line[5] * 0.5:
        return None
    cy = line[3] + line[5] / 2
    return [int(left), max(0, int(cy - ABOVE * line[5])), int(right),
            min(height, int(cy + BELOW * line[5]))]


def band_of(box) -> tuple[float, float]:
    """The rows (fractions of the box's height) of the line's band in a blank's box."""
    span = ABOVE + BELOW
    return (ABOVE - BAND) / span, (ABOVE + BAND) / span


def number_slot(rows, height: int) -> list[int] | None:
    """The serial's blank: after "Số:" up to the printed "/…" part of the number."""
    for i, r in enumerate(rows):
        if not (r[0][:1] in "S5" and _LABEL.match(fold(r[0]))):
            continue
        unit = _char_width(rows, r)
        left = r[2] + min(r[4], 3.2 * unit) + 2  # "Số:" is three characters
        for nxt in rows[i + 1: i + 4]:
            if not _same_line(r, nxt):
                break
            at = nxt[0].find("/")
            if at < 0:
                continue
            # at 0 the blank ends at the printed "/…"; else the handwriting is glued to the
            # printed "/QĐ-UBND": the blank ends where that part's estimated width begins
            glued = nxt[2] + nxt[4] - (len(nxt[0]) - at + 0.6) * unit * 1.15
            right = nxt[2] - 2 if at == 0 else glued
            return _box(left, right, r, height)
        return None
    return None


def day_slot(rows, height: int) -> list[int] | None:
    """The day's blank: after the "ngày" that follows "<place>," up to "tháng"."""
    for i, r in enumerate(rows):
        if not fold(r[0]).startswith("ngay") or not (i and rows[i - 1][0].endswith(",")):
            continue
        unit = _char_width(rows, r)
        left = r[2] + min(r[4], 3.8 * unit)  # "ngày" is four characters
        for nxt in rows[i: i + 4]:
            if not _same_line(r, nxt):
                break
            at = fold(nxt[0]).find("thang")
            if at < 0:
                continue
            if nxt is r:  # "ngày … tháng" read as one word
                right = r[2] + r[4] - (len(r[0]) - at) * unit
            elif at == 0:
                right = nxt[2] - 2
            else:
                right = nxt[2] + nxt[4] - (len(nxt[0]) - at) * unit * 1.05
            return _box(left, right, r, height)
        return None
    return None


def slots(words, height: int | None = None) -> dict[str, list[int]]:
    """{"number": box, "day": box} of the template's handwritten blanks found in the top part
    of a page (`words`: its OCR words with boxes)."""
    rows = _rows(words)
    if not rows:
        return {}
    height = height or max(r[3] + r[5] for r in rows)
    rows = [r for r in rows if r[3] < height * TOP_SHARE]
    out = {}
    for name, find in (("number", number_slot), ("day", day_slot)):
        box = find(rows, height)
        if box:
            out[name] = box
    return out


# --------------------------------------------------------------------------- the crop


def _ink(gray: np.ndarray, band: tuple[float, float] | None = None) -> np.ndarray:
    """Binary ink mask (255 = ink) of a crop, printed rules (long horizontal runs) removed;
    with `band` (fractions of the height), only the ink components crossing those rows."""
    _, ink = cv2.threshold(gray, 0, 255, cv2.THRESH_BINARY_INV + cv2.THRESH_OTSU)
    if gray.max() - gray.min() < 60:  # nothing written: paper only
        return np.zeros_like(gray)
    h, w = ink.shape
    rule = cv2.morphologyEx(ink, cv2.MORPH_OPEN,
                            cv2.getStructuringElement(cv2.MORPH_RECT, (max(15, w // 2), 1)))
    ink[rule > 0] = 0
    if band is not None:
        n, labels, stats, _ = cv2.connectedComponentsWithStats(ink, 8)
        top, bottom = int(band[0] * h), int(band[1] * h)
        keep = np.zeros(n, bool)
        for i in range(1, n):
            y, ch = stats[i][1], stats[i][3]
            keep[i] = y < bottom and y + ch > top
        ink = np.where(keep[labels], 255, 0).astype(np.uint8)
    return ink


def _crop(gray: np.ndarray, box) -> np.ndarray:
    x0, y0, x1, y1 = (int(v) for v in box)
    return np.ascontiguousarray(gray[max(0, y0):max(0, y1), max(0, x0):max(0, x1)])


# --------------------------------------------------------------------------- reader 1: Tesseract


def _tesseract_digits(images: list[np.ndarray], timeout: float) -> list[str]:
    """The digits Tesseract reads on each image: one run for all of them (a multi-page TIFF on
    its input, pages separated by form feeds on its output), since starting Tesseract and
    loading its model costs more than reading a few small crops."""
    buf = io.BytesIO()
    first, *rest = (Image.fromarray(img) for img in images)
    first.save(buf, "TIFF", save_all=True, append_images=rest)
    try:
        run = subprocess.run(
            [TESSERACT, "stdin", "stdout", "--psm", "7", "-l", "eng",
             "-c", "tessedit_char_whitelist=0123456789"],
            input=buf.getvalue(), capture_output=True, timeout=timeout, check=False,
            env={"OMP_THREAD_LIMIT": "1", "PATH": "/usr/local/bin:/usr/bin:/bin"})
    except (OSError, subprocess.SubprocessError):
        return [""] * len(images)
    pages = run.stdout.decode("utf-8", "replace").split("\f")
    if run.returncode != 0 or len(pages) != len(images):
        return [""] * len(images)
    return [re.sub(r"\s+", "", text) for text in pages]


def read_tesseract(gray: np.ndarray, box, *, band=None, timeout: float = 20) -> str:
    """Digits Tesseract reads in the blank, voted over renderings of the crop ('' if none wins
    a majority)."""
    renderings = _renderings(gray, box, band)
    return _vote(_tesseract_digits(renderings, timeout)) if renderings else ""


def _renderings(gray: np.ndarray, box, band) -> list[np.ndarray]:
    """The crop as Tesseract is shown it: its ink on white, binarized, Otsu at 2x, at 0.6x
    (with a white border); none when the blank holds no ink."""
    crop = _crop(gray, box)
    if crop.size == 0:
        return []
    ink = _ink(crop, band)
    if not ink.any():
        return []
    clean = np.where(ink > 0, crop, 255).astype(np.uint8)
    binary = np.where(ink > 0, 0, 255).astype(np.uint8)
    big = cv2.resize(clean, None, fx=2, fy=2, interpolation=cv2.INTER_CUBIC)
    _, big = cv2.threshold(big, 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
    small = cv2.resize(clean, None, fx=0.6, fy=0.6, interpolation=cv2.INTER_AREA)
    return [cv2.copyMakeBorder(img, 20, 20, 20, 20, cv2.BORDER_CONSTANT, value=255)
            for img in (clean, binary, big, small)]


def _vote(texts: list[str]) -> str:
    """The reading most renderings give, if more than half of them give it; else ''."""
    votes = Counter(text for text in texts if text)
    if not votes:
        return ""
    text, count = votes.most_common(1)[0]
    return text if count * 2 > len(texts) else ""


# --------------------------------------------------------------------------- reader 2: glyphs


# a calligraphic italic (Debian fonts-urw-base35): its digits are written as European hands
# write them (a "1" with its flag, open "0"s), which the data set's American writers rarely do
PEN_FONT = "/usr/share/fonts/opentype/urw-base35/Z003-MediumItalic.otf"


@lru_cache(maxsize=1)
def _classifiers() -> tuple:
    """Two digit classifiers: one trained on scikit-learn's handwritten digits alone, one on
    those plus PEN_FONT's digits drawn 12 times each, turned, slanted and thickened at random
    (the same cut and features as a crop's digits). About 2 s, once per process."""
    from sklearn.datasets import load_digits
    from sklearn.svm import SVC

    x, y = load_digits(return_X_y=True)
    models = [SVC(gamma=0.001, C=10).fit(x, y)]
    try:
        extra_x, extra_y = _pen_font_digits()
    except OSError:  # the font is not installed: the data set alone
        return tuple(models)
    models.append(SVC(gamma=0.001, C=10).fit(np.vstack([x, extra_x]),
                                             np.concatenate([y, extra_y])))
    return tuple(models)


def _pen_font_digits(per_digit: int = 12) -> tuple[np.ndarray, np.ndarray]:
    from PIL import Image, ImageDraw, ImageFont

    font = ImageFont.truetype(PEN_FONT, 64)
    rng = np.random.default_rng(0)
    feats, labels = [], []
    for digit in range(10):
        for _ in range(per_digit):
            img = Image.new("L", (140, 140), 255)
            ImageDraw.Draw(img).text((40, 30), str(digit), font=font, fill=0,
                                     stroke_width=int(rng.integers(0, 4)), stroke_fill=0)
            img = img.rotate(float(rng.uniform(-12, 12)), fillcolor=255,
                             resample=Image.BILINEAR)
            shear = float(rng.uniform(-0.25, 0.25))
            img = img.transform(img.size, Image.AFFINE, (1, shear, -shear * 70, 0, 1, 0),
                                fillcolor=255)
            ink = _ink(np.asarray(img))
            groups = _groups(ink)
            if len(groups) == 1:
                feats.append(_features(ink, groups[0]))
                labels.append(digit)
    return np.array(feats), np.array(labels)


def _groups(ink: np.ndarray) -> list[list[int]]:
    """Boxes [x, y, w, h] of the digits: ink components large enough to be strokes, those
    stacked over each other joined, a too-wide one (digits touching) split at its thinnest
    column."""
    h, w = ink.shape
    n, _, stats, _ = cv2.connectedComponentsWithStats(ink, 8)
    comps = sorted([list(stats[i][:4]) for i in range(1, n)
                    if stats[i][4] >= 0.002 * h * w and stats[i][3] >= 0.15 * h],
                   key=lambda c: c[0])
    groups: list[list[int]] = []
    for c in comps:
        if groups and c[0] + c[2] / 2 < groups[-1][0] + groups[-1][2]:
            g = groups[-1]
            x0, y0 = min(g[0], c[0]), min(g[1], c[1])
            x1, y1 = max(g[0] + g[2], c[0] + c[2]), max(g[1] + g[3], c[1] + c[3])
            groups[-1] = [x0, y0, x1 - x0, y1 - y0]
        else:
            groups.append(c)
    tallest = max((g[3] for g in groups), default=0)
    groups = [g for g in groups if g[3] >= 0.5 * tallest]  # a printed letter's tail, a speck
    out = []
    for x, y, gw, gh in groups:
        if gw > SPLIT_WIDTH * gh:  # two digits written touching
            cols = (ink[y:y + gh, x:x + gw] > 0).sum(axis=0)
            lo, hi = int(gw * 0.3), int(gw * 0.7)
            cut = lo + int(np.argmin(cols[lo:hi])) if hi > lo else gw // 2
            out += [[x, y, cut, gh], [x + cut, y, gw - cut, gh]]
        else:
            out.append([x, y, gw, gh])
    return out


def _features(ink: np.ndarray, box) -> np.ndarray:
    """A digit as scikit-learn's digits data set has it: its bitmap scaled to fit 32x32
    (aspect kept, centred), then ink counts of 4x4 blocks (8x8 values, 0..16)."""
    x, y, w, h = box
    g = ink[y:y + h, x:x + w]
    s = 30 / max(w, h)
    g = cv2.resize(g, (max(1, round(w * s)), max(1, round(h * s))), interpolation=cv2.INTER_AREA)
    canvas = np.zeros((32, 32), np.float32)
    oy, ox = (32 - g.shape[0]) // 2, (32 - g.shape[1]) // 2
    canvas[oy:oy + g.shape[0], ox:ox + g.shape[1]] = g > 64
    return canvas.reshape(8, 4, 8, 4).sum(axis=(1, 3)).reshape(-1)


def read_glyphs(gray: np.ndarray, box, *, band=None) -> list[str]:
    """The digits of the blank as each digit classifier reads them, one per ink group
    (distinct readings, first the data set's own model's; [] if there is no ink)."""
    crop = _crop(gray, box)
    if crop.size == 0:
        return []
    ink = _ink(crop, band)
    groups = _groups(ink)
    if not groups or len(groups) > 6:
        return []
    feats = np.array([_features(ink, g) for g in groups])
    out: list[str] = []
    for model in _classifiers():
        text = "".join(str(int(d)) for d in model.predict(feats))
        if text not in out:
            out.append(text)
    return out


# --------------------------------------------------------------------------- both


def _read_cleanly(rows, box) -> bool:
    """The page's OCR read the blank as plain digits, each word confidently."""
    x0, y0, x1, y1 = box
    inside = [r for r in rows if x0 <= r[2] + r[4] / 2 <= x1 and y0 <= r[3] + r[5] / 2 <= y1]
    return bool(inside) and all(re.fullmatch(r"[0-9]{1,6}", r[0]) and r[1] >= 0.9
                                for r in inside)


def read_slots(gray: np.ndarray, words) -> dict[str, dict]:
    """Per blank found: {"box", "tesseract", "glyphs", "value"}; `value` is the digits both
    readers agree on (Tesseract's reading is one of the classifiers'; 1-6 digits), else None."""
    rows = _rows(words)
    # printed (or clearly written) digits the page's OCR is sure of are not read again
    todo = {name: box for name, box in slots(words, gray.shape[0]).items()
            if not _read_cleanly(rows, box)}
    shown = {name: _renderings(gray, box, band_of(box)) for name, box in todo.items()}
    every = [img for images in shown.values() for img in images]
    texts = iter(_tesseract_digits(every, 20) if every else [])  # the page's blanks: one run
    out = {}
    for name, box in todo.items():
        tess = _vote([next(texts) for _ in shown[name]]) if shown[name] else ""
        glyphs = read_glyphs(gray, box, band=band_of(box)) if tess else []
        agreed = tess if tess in glyphs and re.fullmatch(r"[0-9]{1,6}", tess) else None
        out[name] = {"box": box, "tesseract": tess, "glyphs": glyphs, "value": agreed}
    return out
