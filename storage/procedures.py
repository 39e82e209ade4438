"""The procedure catalog (thủ tục hành chính) imported from CSV: code, name, level.

The file is read whole and checked before anything is written: one bad row and nothing is
imported, and the error names the file, the row (as a spreadsheet shows it: the header is row
1) and the problem. Known codes get their name and level updated; codes not in the file stay.
UTF-8 (with or without the BOM spreadsheets write), comma or semicolon separated.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from storage.catalog import LEVELS, Procedure

COLUMNS = ("code", "name", "level")
CODE = re.compile(r"[0-9A-Za-z][0-9A-Za-z.\-]{0,19}")  # 1.001193; local codes like T-HNO-285
LEVEL_NAMES = {  # what staff write in a level column -> our level
    **{level: level for level in LEVELS},
    "tỉnh": "city", "cấp tỉnh": "city", "thành phố": "city", "tp": "city",
    "huyện": "district", "cấp huyện": "district", "quận": "district",
    "xã": "commune", "cấp xã": "commune", "phường": "commune",
}
MAX_NAME = 400


class ProcedureImportError(ValueError):
    pass


@dataclass(frozen=True)
class ImportSummary:
    added: int
    updated: int
    unchanged: int

    @property
    def total(self) -> int:
        return self.added + self.updated + self.unchanged


def _level(raw: str) -> str | None:
    cleaned = " ".join(raw.split()).lower()
    if not cleaned:
        return None
    return LEVEL_NAMES.get(cleaned)


def parse_procedures(text: str, source: str = "<csv>") -> list[tuple[str, str, str | None]]:
    """Rows of (code, name, level) from CSV text; ProcedureImportError naming the bad row."""
    text = text.removeprefix("\ufeff")
    first = text.split("\n", 1)[0]
    delimiter = ";" if first.count(";") > first.count(",") else ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    try:
        header = next(reader)
    except StopIteration:
        raise ProcedureImportError(f"{source}: empty file, expected a header: code,name,level") from None
    names = [h.strip().lower() for h in header]
    missing = [c for c in COLUMNS if c not in names]
    if missing:
        raise ProcedureImportError(
            f"{source}: row 1: header lacks column(s) {', '.join(missing)} "
            f"(found: {', '.join(h for h in header if h) or 'nothing'}); expected code,name,level")
    where = {c: names.index(c) for c in COLUMNS}
    rows: list[tuple[str, str, str | None]] = []
    first_row: dict[str, int] = {}
    try:
        for number, record in enumerate(reader, start=2):
            if not any(cell.strip() for cell in record):
                continue  # blank line

            def cell(column: str, record=record) -> str:
                index = where[column]
                return record[index].strip() if index < len(record) else ""

            def bad(problem: str, number=number) -> ProcedureImportError:
                return ProcedureImportError(f"{source}: row {number}: {problem}")

            code, name, raw_level = cell("code"), " ".join(cell("name").split()), cell("level")
            if not code:
                raise bad("empty code")
            if not CODE.fullmatch(code):
                raise bad(f"code {code!r} is not a procedure code (e.g. 1.001193; letters, "
                          "digits, '.' and '-', at most 20)")
            if not name:
                raise bad(f"procedure {code} has no name")
            if len(name) > MAX_NAME:
                raise bad(f"procedure {code}: name longer than {MAX_NAME} characters")
            level = _level(raw_level)
            if raw_level.strip() and level is None:
                raise bad(f"procedure {code}: unknown level {raw_level!r} "
                          f"(use {', '.join(LEVELS)}, or tỉnh/huyện/xã)")
            if code in first_row:
                raise bad(f"procedure {code} appears again (first on row {first_row[code]})")
            first_row[code] = number
            rows.append((code, name, level))
    except csv.Error as exc:
        raise ProcedureImportError(f"{source}: row {reader.line_num}: unreadable CSV: {exc}") from None
    if not rows:
        raise ProcedureImportError(f"{source}: no procedures after the header")
    return rows


def import_procedures(session: Session, path: Path) -> ImportSummary:
    """Check the whole CSV, then add or update every procedure in `session` (all or nothing)."""
    path = Path(path)
    try:
        text = path.read_bytes().decode("utf-8")
    except FileNotFoundError:
        raise ProcedureImportError(f"{path}: no such file") from None
    except UnicodeDecodeError as exc:
        raise ProcedureImportError(f"{path}: not UTF-8 text (byte {exc.start}); save the CSV "
                                   "as UTF-8") from None
    rows = parse_procedures(text, str(path))
    known = {p.code: p for p in session.scalars(select(Procedure))}  # a few thousand at most
    added = updated = unchanged = 0
    for code, name, level in rows:
        current = known.get(code)
        if current is None:
            session.add(Procedure(code=code, name=name, level=level))
            added += 1
        elif (current.name, current.level) != (name, level):
            current.name, current.level = name, level
            updated += 1
        else:
            unchanged += 1
    session.flush()
    return ImportSummary(added=added, updated=updated, unchanged=unchanged)
