"""Importing a unit's archive list (mục lục hồ sơ) from CSV or XLSX into record data.

Headers are matched without case or accents, in Vietnamese as archive lists write them ("Mã hồ
sơ", "Thời hạn lưu trữ", "Số lượng tờ" …) or in English (`code`, `retention`, `sheets` …);
columns we do not know (STT, Hộp số …) are named back to the operator and left alone. Every row
is read and checked before anything is written: a bad row stops the import with the file, the
row number and the problem. Values imported are marked as set by hand, so later defaults and
recounts leave them.
"""

from __future__ import annotations

import csv
import re
import unicodedata
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path

from storage.records import RecordError, upsert_fonds, upsert_record
from storage.retention import RetentionError, parse_retention
from storage.units import UnknownUnit, find_unit

HEADERS = {
    "code": ("ma ho so", "so ky hieu ho so", "code", "record code"),
    "title": ("tieu de ho so", "tieu de", "title"),
    "retention_years": ("thoi han luu tru", "thoi han bao quan", "retention"),
    "access_level": ("muc do tiep can", "che do su dung", "access", "access level"),
    "language": ("ngon ngu", "language"),
    "start_date": ("thoi gian bat dau", "ngay bat dau", "start date"),
    "end_date": ("thoi gian ket thuc", "ngay ket thuc", "end date"),
    "keywords": ("tu khoa", "keywords"),
    "sheet_count": ("so luong to", "so to", "sheets"),
    "page_count": ("so luong trang", "so trang", "pages"),
    "physical_condition": ("tinh trang vat ly", "physical condition"),
    "information_sign": ("ky hieu thong tin", "information sign"),
    "reliability": ("muc do tin cay", "reliability"),
    "paper_record_code": ("ma ho so goc giay", "paper record code", "paper code"),
    "backup_mode": ("che do du phong", "che do lap tai lieu luu tru du phong", "backup mode"),
    "backup_status": ("tinh trang du phong", "tinh trang lap tai lieu luu tru du phong",
                      "backup status"),
    "note": ("ghi chu", "note"),
    "fonds_code": ("ma phong", "fonds code", "fonds"),
    "fonds_name": ("ten phong", "fonds name"),
    "unit": ("don vi", "ma don vi", "unit"),
}
ACCESS_WORDS = {"tiep can rong rai": "open", "mo": "open", "open": "open", "cong khai": "open",
                "tiep can co dieu kien": "conditional", "han che": "conditional",
                "conditional": "conditional", "restricted": "conditional"}
RELIABILITY_WORDS = {"so hoa": "digitized", "digitized": "digitized",
                     "goc dien tu": "born_digital", "born digital": "born_digital",
                     "born_digital": "born_digital", "hon hop": "mixed", "mixed": "mixed"}


class RecordImportError(ValueError):
    """An archive list that cannot be imported; the message names the file, row and problem."""


@dataclass
class ImportSummary:
    total: int = 0
    created: int = 0
    updated: int = 0
    fonds: int = 0
    ignored_columns: list[str] = field(default_factory=list)


def fold(text: str) -> str:
    text = str(text).replace("đ", "d").replace("Đ", "D")
    text = "".join(c for c in unicodedata.normalize("NFD", text)
                   if unicodedata.category(c) != "Mn")
    return " ".join(re.sub(r"[^0-9a-z]+", " ", text.lower()).split())


_BY_HEADER = {fold(h): key for key, names in HEADERS.items() for h in names}


def read_rows(path: Path) -> tuple[list[str], list[tuple[int, list]]]:
    """(header cells, [(row number, cells)]) from a .csv or .xlsx file."""
    path = Path(path)
    if not path.is_file():
        raise RecordImportError(f"{path}: file not found")
    if path.suffix.lower() in (".xlsx", ".xlsm"):
        return _read_xlsx(path)
    if path.suffix.lower() in (".csv", ".txt"):
        return _read_csv(path)
    raise RecordImportError(f"{path}: not a .csv or .xlsx file")


def _read_csv(path: Path):
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError:
        raise RecordImportError(f"{path}: not UTF-8 text (save the CSV as UTF-8)") from None
    lines = text.splitlines()
    if not lines:
        raise RecordImportError(f"{path}: the file is empty")
    delimiter = ";" if lines[0].count(";") > lines[0].count(",") else ","  # Excel vi-VN: ';'
    rows = list(csv.reader(lines, delimiter=delimiter))
    return rows[0], [(n, cells) for n, cells in enumerate(rows[1:], start=2)]


def _read_xlsx(path: Path):
    from openpyxl import load_workbook

    try:
        book = load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # noqa: BLE001 - zip/xml errors of a broken file
        raise RecordImportError(f"{path}: not a readable XLSX workbook ({exc})") from None
    try:
        sheet = book.worksheets[0]
        rows = [list(r) for r in sheet.iter_rows(values_only=True)]
    finally:
        book.close()
    # the header is the first row that names the record code (lists often have a title above)
    for index, cells in enumerate(rows):
        if any(_BY_HEADER.get(fold(c or "")) == "code" for c in cells if c is not None):
            return ([("" if c is None else str(c)) for c in cells],
                    [(n, cells) for n, cells in enumerate(rows[index + 1:], start=index + 2)])
    raise RecordImportError(f"{path}: no header row with 'Mã hồ sơ' found")


def _date(value, *, end: bool) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, int | float) and 1000 <= value <= 9999:
        value = str(int(value))
    text = str(value).strip()
    if re.fullmatch(r"\d{4}", text):
        return date(int(text), 12, 31) if end else date(int(text), 1, 1)
    match = re.fullmatch(r"(\d{1,2})[/.-](\d{1,2})[/.-](\d{4})", text)
    try:
        if match:
            return date(int(match.group(3)), int(match.group(2)), int(match.group(1)))
        return date.fromisoformat(text)
    except ValueError:
        raise ValueError(f"not a date: {text!r} (write 05/01/2020, 2020-01-05 or 2020)") from None


def _count(value) -> int:
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, int) and not isinstance(value, bool):
        number = value
    else:
        text = str(value).strip()
        if not re.fullmatch(r"\d+", text):
            raise ValueError(f"not a whole number: {text!r}")
        number = int(text)
    if number < 0:
        raise ValueError(f"must not be negative: {number}")
    return number


def _value(key: str, raw):
    if key == "retention_years":
        try:
            return parse_retention(raw)
        except RetentionError as exc:
            raise ValueError(str(exc)) from None
    if key == "access_level":
        word = ACCESS_WORDS.get(fold(raw))
        if word is None:
            raise ValueError(f"access level {raw!r}: write 'Tiếp cận rộng rãi' or 'Tiếp cận có "
                             "điều kiện'")
        return word
    if key == "reliability":
        word = RELIABILITY_WORDS.get(fold(raw))
        if word is None:
            raise ValueError(f"reliability {raw!r}: write 'Số hóa', 'Gốc điện tử' or 'Hỗn hợp'")
        return word
    if key in ("start_date", "end_date"):
        return _date(raw, end=key == "end_date")
    if key in ("sheet_count", "page_count"):
        return _count(raw)
    if key == "keywords":
        return [w.strip() for w in re.split(r"[;,]", str(raw)) if w.strip()]
    return str(raw).strip()


def parse_file(path: Path) -> tuple[list[dict], list[str]]:
    """Every row as {field: value}, checked; and the ignored column names."""
    header, rows = read_rows(path)
    columns: dict[int, str] = {}
    ignored = []
    for index, name in enumerate(header):
        key = _BY_HEADER.get(fold(name or ""))
        if key is None:
            if str(name or "").strip():
                ignored.append(str(name).strip())
            continue
        if key in columns.values():
            raise RecordImportError(f"{path}: two columns mean {key!r} (the second: {name!r})")
        columns[index] = key
    if "code" not in columns.values():
        raise RecordImportError(f"{path}: no 'Mã hồ sơ' (record code) column")
    parsed, seen = [], {}
    for number, cells in rows:
        values = {}
        for index, key in columns.items():
            raw = cells[index] if index < len(cells) else None
            if raw is None or (isinstance(raw, str) and not raw.strip()):
                continue
            try:
                values[key] = _value(key, raw)
            except ValueError as exc:
                raise RecordImportError(f"{path}: row {number}: {header[index]}: {exc}") from None
        if not values:
            continue  # an empty line
        if "code" not in values:
            raise RecordImportError(f"{path}: row {number}: no record code (Mã hồ sơ)")
        if values["code"] in seen:
            raise RecordImportError(f"{path}: row {number}: record {values['code']} is already "
                                    f"on row {seen[values['code']]}")
        start, end = values.get("start_date"), values.get("end_date")
        if start and end and end < start:
            raise RecordImportError(f"{path}: row {number}: end date {end} is before start "
                                    f"date {start}")
        seen[values["code"]] = number
        values["_row"] = number
        parsed.append(values)
    return parsed, ignored


def import_records(session, path: Path, *, default_unit: str | None = None) -> ImportSummary:
    """Create or update the records of an archive list (all rows or none)."""
    rows, ignored = parse_file(path)
    summary = ImportSummary(ignored_columns=ignored)
    fonds_seen = set()
    for values in rows:
        number = values.pop("_row")
        code = values.pop("code")
        fonds_code, fonds_name = values.pop("fonds_code", None), values.pop("fonds_name", None)
        unit_code = values.pop("unit", None) or default_unit
        try:
            unit_id = find_unit(session, unit_code).id if unit_code else None
            if fonds_code:
                fonds = upsert_fonds(session, fonds_code, fonds_name, unit_id=unit_id)
                values["fonds_id"] = fonds.id
                fonds_seen.add(fonds_code)
            elif fonds_name:
                raise RecordError("a fonds name (Tên phông) needs its code (Mã phông)")
            _record, created = upsert_record(session, code, values, unit_id=unit_id)
        except (RecordError, UnknownUnit) as exc:
            session.rollback()
            raise RecordImportError(f"{path}: row {number}: {exc}") from None
        summary.total += 1
        summary.created += created
        summary.updated += not created
    summary.fonds = len(fonds_seen)
    return summary
