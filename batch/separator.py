"""The separator sheet: an A4 page with a QR code (and the same words in large print) that the
operator puts in front of each document of a stack. Its QR payload is `SOHOA-SEP` or
`SOHOA-SEP:<dossier code>`, so a separator can carry the dossier of the document behind it.
"""

from __future__ import annotations

import io
import logging
from pathlib import Path

import cv2
import numpy as np
import qrcode
from PIL import Image, ImageDraw, ImageFont

log = logging.getLogger(__name__)

PREFIX = "SOHOA-SEP"
SHEET_DPI = 150
A4_MM = (210, 297)


def payload(dossier: str | None = None) -> str:
    return f"{PREFIX}:{dossier}" if dossier else PREFIX


def parse_payload(text: str | None) -> tuple[bool, str | None]:
    """(is a separator, dossier code or None) for a decoded QR text."""
    if not text or not text.startswith(PREFIX):
        return False, None
    rest = text[len(PREFIX):]
    if rest and not rest.startswith(":"):
        return False, None
    return True, (rest[1:].strip() or None) if rest else None


def font(size: int) -> ImageFont.ImageFont:
    for path in ("/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf",
                 "/usr/share/fonts/truetype/liberation2/LiberationSans-Bold.ttf"):
        if Path(path).exists():
            return ImageFont.truetype(path, size)
    return ImageFont.load_default()


def render_sheet(dossier: str | None = None, dpi: int = SHEET_DPI) -> Image.Image:
    """The separator page as an image: a large QR code in the middle, words for people."""
    w, h = (round(mm / 25.4 * dpi) for mm in A4_MM)
    page = Image.new("L", (w, h), 255)
    qr = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, border=4, box_size=1)
    qr.add_data(payload(dossier))
    qr.make(fit=True)
    modules = qr.make_image(fill_color="black", back_color="white").get_image().convert("L")
    side = round(70 / 25.4 * dpi)  # 70 mm: found at any scan resolution, even skewed
    code = modules.resize((side, side), Image.NEAREST)
    page.paste(code, ((w - side) // 2, (h - side) // 2))
    draw = ImageDraw.Draw(page)
    big, small = font(round(dpi * 0.45)), font(round(dpi * 0.2))
    for text, face, y in (("TỜ PHÂN CÁCH HỒ SƠ", big, h // 6),
                          (f"Hồ sơ: {dossier}" if dossier else "", small, h // 6 + dpi * 0.7),
                          ("Đặt tờ này trước mỗi văn bản khi quét theo lô.", small, h * 3 // 4)):
        if text:
            box = draw.textbbox((0, 0), text, font=face)
            draw.text(((w - (box[2] - box[0])) // 2, int(y)), text, fill=0, font=face)
    return page


def write_sheet(path: Path, dossier: str | None = None, copies: int = 1) -> Path:
    """A PDF of `copies` separator pages (img2pdf: the page is exactly A4)."""
    import img2pdf

    buf = io.BytesIO()
    render_sheet(dossier).save(buf, "PNG", dpi=(SHEET_DPI, SHEET_DPI))
    layout = img2pdf.get_fixed_dpi_layout_fun((SHEET_DPI, SHEET_DPI))
    data = img2pdf.convert([buf.getvalue()] * max(1, copies), layout_fun=layout)
    path = Path(path)
    path.write_bytes(data)
    return path


_detector = None


def detect(gray: np.ndarray, dpi: int) -> tuple[bool, str | None]:
    """(is a separator sheet, dossier) for an upright or upside-down gray page image.

    Looks at the page at 60 dpi (a 70 mm code is then ~165 px; ~20 ms on a text page), and
    again at 120 dpi only when a code was located but not read."""
    global _detector
    if _detector is None:
        _detector = cv2.QRCodeDetector()
    for target in (60, 120):
        scale = min(1.0, target / max(dpi, 1))
        small = cv2.resize(gray, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA) \
            if scale < 1.0 else gray
        try:
            text, points, _ = _detector.detectAndDecode(small)
        except cv2.error as exc:
            # OpenCV 5.0's detector fails an internal assertion on some pages (a skewed
            # patch-code sheet's bars): no QR code found there
            log.debug("QR detector failed on a page (%s): not a QR separator", exc.err)
            return False, None
        if text:
            return parse_payload(text)
        if points is None:
            break
    return False, None
