"""Where a held field sits on its page, a digit-only second reading of it, and its image crop.

Owns the evidence a person needs to type a field in seconds: `field_crops` finds, from the
OCR words and their boxes, the "Số: …/…" zone (number) and the "ngày … tháng … năm …" zone
(issue date) on the first page (else the last), and returns for each field
`{"page": <0-based page index>, "box": [x0, y0, x1, y1]}` in pixels of the page image the
OCR ran on (the upright page: `PageResult.width/height`, words' coordinates). `digit_read`
reads such a zone again with Tesseract restricted to digits (handwritten serials and days in a
printed template); `field_crop_png` renders a box of a page image as PNG bytes for the counter
page and `sohoa review show`.
"""

from __future__ import annotations

import io
import os
import re
import subprocess

from PIL import Image

from ocr.textlayer import fold

PAD = 12  # pixels around a zone: the handwriting overflows the printed words' boxes
_NUMBER_LABEL = re.compile(r"^s[o0]\s*[:;.]?$|^s[o0][:;.]")
_DAY = re.compile(r"^ngay")
_YEAR = re.compile(r"[0-9]{4}")


def _rows(words) -> list[tuple[str, float, int, int, int, int]]:
    out = []
    for w in words or []:
        if isinstance(w, list | tuple):
            if len(w) < 6:
                continue  # words without boxes (text and confidence only): nowhere to point
            text, conf, left, top, width, height = w[:6]
        else:
            text, conf, left, top, width, height = (w.text, w.conf, w.left, w.top, w.width,
                                                    w.height)
        out.append((str(text), float(conf), int(left), int(top), int(width), int(height)))
    return out


def _union(rows, pad: int = PAD) -> list[int]:
    x0 = min(r[2] for r in rows) - pad
    y0 = min(r[3] for r in rows) - pad
    x1 = max(r[2] + r[4] for r in rows) + pad
    y1 = max(r[3] + r[5] for r in rows) + pad
    return [max(0, x0), max(0, y0), x1, y1]


def _same_line(a, b) -> bool:
    ca, cb = a[3] + a[5] / 2, b[3] + b[5] / 2
    return abs(ca - cb) <= max(a[5], b[5]) * 0.8


def number_zone(rows) -> list[int] | None:
    """'Số:' and what follows it on its line up to the word carrying the printed '/…' part."""
    for i, r in enumerate(rows):
        if not (r[0][:1] in "S5" and _NUMBER_LABEL.match(fold(r[0]))):
            continue  # the template prints "Số:" with a capital; "số 134/TTr" is a citation
        zone = [r]
        for nxt in rows[i + 1: i + 4]:
            if not _same_line(r, nxt) or nxt[2] - (zone[-1][2] + zone[-1][4]) > 6 * r[5]:
                break
            zone.append(nxt)
            if "/" in nxt[0]:
                break
        # a document number has its printed "/…" part ("Số: __/QĐ-UBND"); "Số định danh
        # cá nhân: …" or "Số 12 phố …" in the body does not
        if any("/" in z[0] for z in zone) or (len(zone) == 1 and "/" in r[0]):
            return _union(zone)
    return None


def date_zone(rows) -> list[int] | None:
    """'<place>, ngày … tháng … năm yyyy' of the template (the first one reaching a year)."""
    for i, r in enumerate(rows):
        if not _DAY.match(fold(r[0])) or not (i and rows[i - 1][0].endswith(",")):
            continue  # the template's date follows its place: "Quảng Ngãi, ngày …"
        zone = [r]
        for nxt in rows[i + 1: i + 8]:
            if not _same_line(r, nxt):
                break
            zone.append(nxt)
            if _YEAR.search(nxt[0]):
                return _union(zone)
    return None


def field_crops(words_by_page, *, top_share: float = 0.45) -> dict[str, dict]:
    """{field: {"page": i, "box": [...]}} for number and issued_on, where their zones are found:
    in the top part of the first page, else anywhere on the last page."""
    pages = [_rows(w) for w in words_by_page or []]
    out: dict[str, dict] = {}
    order = [0] + ([len(pages) - 1] if len(pages) > 1 else [])
    for field, locate in (("number", number_zone), ("issued_on", date_zone)):
        for index in order:
            rows = pages[index] if index < len(pages) else []
            if not rows:
                continue
            if index == 0:
                bottom = max(r[3] + r[5] for r in rows)
                rows = [r for r in rows if r[3] < bottom * top_share]
            box = locate(rows)
            if box:
                out[field] = {"page": index, "box": box}
                break
    return out


def field_crop_png(image: Image.Image, box, *, max_width: int = 900) -> bytes:
    """The `box` ([x0, y0, x1, y1], pixels) of a page image as PNG bytes, at most `max_width`
    wide (clamped to the image)."""
    x0, y0, x1, y1 = (int(v) for v in box)
    x0, y0 = max(0, x0), max(0, y0)
    x1, y1 = min(image.width, max(x1, x0 + 1)), min(image.height, max(y1, y0 + 1))
    crop = image.crop((x0, y0, x1, y1))
    if crop.width > max_width:
        crop = crop.resize((max_width, max(1, crop.height * max_width // crop.width)))
    buf = io.BytesIO()
    crop.save(buf, format="PNG")
    return buf.getvalue()


def digit_read(image: Image.Image, box, *, timeout: float = 30) -> str:
    """The digits Tesseract reads in `box` when it may read nothing but digits (one line)."""
    x0, y0, x1, y1 = (int(v) for v in box)
    crop = image.convert("L").crop((max(0, x0), max(0, y0), x1, y1))
    buf = io.BytesIO()
    crop.save(buf, format="PNG")
    env = {**os.environ, "OMP_THREAD_LIMIT": "1"}
    try:
        run = subprocess.run(
            ["tesseract", "stdin", "stdout", "--psm", "7", "-l", "eng",
             "-c", "tessedit_char_whitelist=0123456789/"],
            input=buf.getvalue(), capture_output=True, timeout=timeout, env=env, check=False)
    except (OSError, subprocess.SubprocessError):
        return ""
    return re.sub(r"\s+", "", run.stdout.decode("utf-8", "replace"))
