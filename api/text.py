"""Diacritic- and case-insensitive text matching that runs in SQLite and PostgreSQL alike.

`fold("Nguyễn Văn Hùng") == "nguyen van hung"`. In PostgreSQL the column is folded with
translate() over every precomposed Latin letter with marks (no extension needed); in SQLite with
a Python function registered on the connection. Full-text indexing may replace this later; it
is a sequential scan.
"""

from __future__ import annotations

import unicodedata
from functools import lru_cache

from sqlalchemy import func
from sqlalchemy.orm import Session


def fold(text: str) -> str:
    decomposed = unicodedata.normalize("NFD", text.replace("đ", "d").replace("Đ", "D"))
    return "".join(c for c in decomposed if not unicodedata.combining(c)).lower()


@lru_cache(maxsize=1)
def _translate_table() -> tuple[str, str]:
    src, dst = [], []
    for start, end in ((0x00C0, 0x0250), (0x1E00, 0x1F00)):
        for code in range(start, end):
            ch = chr(code)
            folded = fold(ch)
            if len(folded) == 1 and folded.isascii() and folded != ch:
                src.append(ch)
                dst.append(folded)
    return "".join(src), "".join(dst)


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def contains_folded(session: Session, column, needle: str):
    """SQL condition: `column` contains `needle`, ignoring case and Vietnamese diacritics."""
    pattern = f"%{_escape_like(fold(needle))}%"
    if session.get_bind().dialect.name == "sqlite":
        raw = session.connection().connection.driver_connection
        raw.create_function("sohoa_fold", 1, lambda s: fold(s) if s else s, deterministic=True)
        return func.sohoa_fold(column).like(pattern, escape="\\")
    src, dst = _translate_table()
    return func.lower(func.translate(column, src, dst)).like(pattern, escape="\\")
