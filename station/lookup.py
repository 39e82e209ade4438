"""Dossier codes, procedure suggestions, and reading a receipt's QR code from the first page.

The one-stop system prints a receipt (giấy tiếp nhận hồ sơ và hẹn trả kết quả) whose QR code
carries the dossier code; results made under Circular 01/2023 carry the dossier and procedure
codes in their QR too. The suggestion table is deliberately simple: a dossier code containing a
procedure code suggests it; otherwise a keyword of the code (KS, KH, HKD …) does.
"""

from __future__ import annotations

import json
import re
from datetime import date
from urllib.parse import parse_qs, urlparse

import numpy as np
from PIL import Image

PROCEDURES = {
    "1.001193": "Đăng ký khai sinh",
    "1.000894": "Đăng ký kết hôn",
    "1.004873": "Cấp Giấy xác nhận tình trạng hôn nhân",
    "1.001612": "Đăng ký thành lập hộ kinh doanh",
    "1.009994": "Cấp giấy phép xây dựng",
    "1.004227": "Cấp bản sao trích lục hộ tịch",
}

# keyword in the dossier code → procedure
KEYWORDS = [
    (r"(^|[-_.])KS([-_.]|\d|$)", "1.001193"),
    (r"(^|[-_.])KH([-_.]|\d|$)", "1.000894"),
    (r"(^|[-_.])(TTHN|XNHN)([-_.]|\d|$)", "1.004873"),
    (r"(^|[-_.])HKD([-_.]|\d|$)", "1.001612"),
    (r"(^|[-_.])(GPXD|XD)([-_.]|\d|$)", "1.009994"),
]

PROCEDURE_RE = re.compile(r"\b[1-3]\.\d{6}\b")

# Circular 01/2018/TT-VPCP: a dossier code is the receiving agency's code (its electronic
# identifier under QCVN 102:2016/BTTTT, e.g. 000.00.01.H26 — the last group is the province,
# H26 = Hà Nội), the receiving date (yymmdd) and the dossier's sequence number that day.
AGENCY = r"[0-9A-Z]{3}\.[0-9A-Z]{2}\.[0-9A-Z]{2}\.(?P<province>[A-Z]\d{2})"
DOSSIER_RE = re.compile(rf"^(?P<agency>{AGENCY})-(?P<day>\d{{6}})-(?P<seq>\d{{4,6}})$")
EXAMPLE = "000.00.01.H26-260105-0001"


def dossier_problem(code: str, province: str | None = None) -> str | None:
    """Why `code` is not a one-stop dossier code (Vietnamese), or None when it is one.

    `province` (e.g. "H26", from SOHOA_STATION_PROVINCE) limits codes to agencies of that
    province; None accepts any province.
    """
    code = (code or "").strip()
    if not code:
        return "Chưa có mã hồ sơ. Nhập mã trên giấy tiếp nhận hoặc quét mã QR của giấy tiếp nhận."
    found = DOSSIER_RE.match(code.upper())
    if not found:
        return (f"Mã hồ sơ “{code[:40]}” không đúng cấu trúc: mã cơ quan tiếp nhận - ngày tiếp nhận "
                f"(năm tháng ngày, 6 chữ số) - số thứ tự, ví dụ {EXAMPLE}.")
    day = found["day"]
    try:
        date(2000 + int(day[:2]), int(day[2:4]), int(day[4:]))
    except ValueError:
        return f"Mã hồ sơ “{code}”: ngày tiếp nhận {day} không phải ngày có thật (năm tháng ngày)."
    if province and found["province"] != province.upper():
        return (f"Mã hồ sơ “{code}” thuộc cơ quan tiếp nhận có mã tỉnh {found['province']}; "
                f"trạm này nhận hồ sơ có mã tỉnh {province.upper()}.")
    return None


def valid_dossier(code: str, province: str | None = None) -> bool:
    return dossier_problem(code, province) is None


def normalize_dossier(code: str) -> str:
    return (code or "").strip().upper()


def suggest_procedure(dossier: str) -> str | None:
    if not dossier:
        return None
    found = PROCEDURE_RE.search(dossier)
    if found:
        return found.group(0)
    upper = dossier.upper()
    for pattern, code in KEYWORDS:
        if re.search(pattern, upper):
            return code
    return None


def parse_receipt_payload(text: str) -> dict:
    """Dossier and procedure from a QR payload: JSON, a URL/query string, key=value lines, or a code."""
    text = (text or "").strip()
    out: dict[str, str] = {}
    keys = {"dossier": ("dossier", "ma_ho_so", "mahoso", "hoso", "code", "dossier_code"),
            "procedure": ("procedure", "ma_thu_tuc", "mathutuc", "thutuc", "procedure_code")}
    pairs: dict[str, str] = {}
    try:
        data = json.loads(text)
        if isinstance(data, dict):
            pairs = {str(k).lower(): str(v) for k, v in data.items()}
    except ValueError:
        query = urlparse(text).query if "://" in text else (text if "=" in text else "")
        if query:
            pairs = {k.lower(): v[0] for k, v in parse_qs(query.replace(";", "&").replace("\n", "&"))
                     .items()}
    for field, names in keys.items():
        for name in names:
            if pairs.get(name):
                out[field] = pairs[name].strip()
                break
    if "dossier" not in out and not pairs and valid_dossier(text):
        out["dossier"] = text
    if "procedure" not in out:
        found = PROCEDURE_RE.search(text)
        if found and found.group(0) != out.get("dossier"):
            out["procedure"] = found.group(0)
    return out


def read_qr(image: Image.Image, *, max_side: int = 1800) -> str | None:
    """The text of a QR code on the page, if one can be read.

    OpenCV's ArUco-based detector first, the classic one when it finds nothing. The page is
    reduced to `max_side` pixels first (about 150 dpi for A4 at 200 dpi), which keeps a receipt's
    code readable and the detectors at about 0.05 s a page. On blurred, noisy 200 dpi scans of
    25 mm / 38 mm codes this reads 8/12 and 12/12; the classic detector on a 1000-pixel page (the
    earlier reader) read 0/12 and 1/12.
    """
    import cv2

    small = image.convert("L")
    small.thumbnail((max_side, max_side))
    pixels = np.asarray(small)
    for detector in (cv2.QRCodeDetectorAruco, cv2.QRCodeDetector):
        try:
            text, _points, _ = detector().detectAndDecode(pixels)
        except cv2.error:
            continue
        if text:
            return text
    return None
