"""Retention periods (thời hạn lưu trữ): how they are written and when one ends.

A period is a number of years, or None for vĩnh viễn (permanent). As archive practice counts it,
a record's period runs from the year after the one its documents end in: a record ended in 2020
kept 10 years is due for appraisal on 1 January 2031. Nothing here deletes anything: a due
record is listed for the appraisal council (`sohoa records due`).
"""

from __future__ import annotations

import re
import unicodedata
from datetime import date

PERMANENT_WORDS = {"vinh vien", "permanent", "vv"}


class RetentionError(ValueError):
    """A retention value that cannot be read."""


def due_on(end: date | None, years: int | None) -> date | None:
    """The first day the record is past its retention; None when permanent or not dated."""
    if years is None or end is None:
        return None
    return date(end.year + 1 + years, 1, 1)


def _fold(text: str) -> str:
    text = text.replace("đ", "d").replace("Đ", "D")
    text = "".join(c for c in unicodedata.normalize("NFD", text) if unicodedata.category(c) != "Mn")
    return " ".join(text.lower().replace("-", " ").replace("_", " ").split())


def parse_retention(value) -> int | None:
    """"Vĩnh viễn" / "permanent" → None; "10", "10 năm", 10 → 10. Raises RetentionError."""
    if isinstance(value, bool):
        raise RetentionError(f"not a retention period: {value!r}")
    if isinstance(value, int | float):
        years = int(value)
        if years != value or not 0 < years <= 200:
            raise RetentionError(f"a retention period is 1 to 200 whole years, not {value!r}")
        return years
    text = _fold(str(value or ""))
    if not text:
        raise RetentionError("the retention period is empty")
    if text in PERMANENT_WORDS:
        return None
    match = re.fullmatch(r"(\d{1,3})(?:\s*(?:nam|years?|y))?", text)
    if not match or not 0 < int(match.group(1)) <= 200:
        raise RetentionError(f"not a retention period: {value!r} (write 'Vĩnh viễn' or a "
                             "number of years, e.g. '10 năm')")
    return int(match.group(1))
