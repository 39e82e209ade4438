"""Dates as counter staff type them: 05/12/2026, 5/12/2026, 2026-12-05 → a `date` (stored ISO).

The page runs the same rules in JavaScript (station/web/app.js: parseVnDate) so a bad date is
refused at the field before submit; the server checks again and stores only ISO dates.
"""

from __future__ import annotations

import re
from datetime import date

DATE_FIELDS = ("issued_on",)  # recognized fields that hold a date

_DMY = re.compile(r"^(\d{1,2})\s*[/.-]\s*(\d{1,2})\s*[/.-]\s*(\d{4})$")
_ISO = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})$")
BAD_DATE_VI = "Ngày không hợp lệ: hãy nhập ngày/tháng/năm, ví dụ 05/12/2026."


class BadDate(ValueError):
    """A date that cannot be read; `vi` says so for the counter."""

    def __init__(self, text: str):
        super().__init__(f"not a date: {text!r}")
        self.vi = BAD_DATE_VI


def parse_vn_date(text: str) -> date | None:
    """`dd/mm/yyyy`, `d/m/yyyy` (also with `.` or `-`) or `yyyy-mm-dd`; empty → None."""
    text = (text or "").strip()
    if not text:
        return None
    if m := _DMY.match(text):
        day, month, year = (int(g) for g in m.groups())
    elif m := _ISO.match(text):
        year, month, day = (int(g) for g in m.groups())
    else:
        raise BadDate(text)
    if not 1900 <= year <= 2100:
        raise BadDate(text)
    try:
        return date(year, month, day)
    except ValueError:
        raise BadDate(text) from None


def to_iso(text: str) -> str:
    """The ISO form of a typed date ('' when empty); BadDate when it cannot be read."""
    day = parse_vn_date(text)
    return day.isoformat() if day else ""
