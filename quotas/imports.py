"""Imports that feed the denominator: baseline totals per unit and year (CSV or XLSX) and results
registered from a one-stop system's CSV export.

Both are all-or-nothing: every row is checked first, errors name the file and the row, and only
a clean file is written, in one transaction.
"""

from __future__ import annotations

import csv
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from quotas.models import Baseline
from storage.catalog import AdminUnit, Document, Procedure, Result
from storage.numbers import number_key
from storage.result_link import ResultKey, best_match, candidates, match_reason, merge

MAX_ERRORS = 50


class ImportFileError(ValueError):
    """A file that cannot be imported; `errors` lists every problem, each naming its row."""

    def __init__(self, path: Path, errors: list[str]):
        self.path, self.errors = path, errors
        shown = errors[:MAX_ERRORS]
        more = f"\n  … and {len(errors) - len(shown)} more" if len(errors) > len(shown) else ""
        super().__init__(f"{path}: nothing imported, {len(errors)} problem(s):\n  "
                         + "\n  ".join(shown) + more)


@dataclass
class ImportSummary:
    path: Path
    rows: int
    created: int
    updated: int
    skipped: int = 0
    linked_documents: int = 0


def _norm(name: str) -> str:
    """Header key: lower case, no accents, words joined by '_' ("Mã đơn vị" → "ma_don_vi")."""
    text = unicodedata.normalize("NFD", str(name or "").strip().lower()).replace("đ", "d")
    text = "".join(c for c in text if unicodedata.category(c) != "Mn")
    return "_".join("".join(c if c.isalnum() else " " for c in text).split())


def read_table(path: Path) -> Iterator[tuple[int, dict[str, str]]]:
    """(row number as a spreadsheet shows it, {normalized header: text}) for CSV or XLSX."""
    if not path.is_file():
        raise ImportFileError(path, ["no such file"])
    if path.suffix.lower() in (".xlsx", ".xlsm"):
        yield from _read_xlsx(path)
    else:
        yield from _read_csv(path)


def _read_csv(path: Path):
    with open(path, encoding="utf-8-sig", newline="") as handle:
        try:
            first = handle.readline()
            handle.seek(0)
            delimiter = max(",;\t", key=first.count)  # one-stop exports use , or ; (Excel, vi-VN)
            reader = csv.reader(handle, delimiter=delimiter)
            header = next(reader, None)
            if not header:
                raise ImportFileError(path, ["empty file: no header row"])
            keys = [_norm(h) for h in header]
            for number, values in enumerate(reader, start=2):
                if any(v.strip() for v in values):
                    yield number, dict(zip(keys, (v.strip() for v in values), strict=False))
        except UnicodeDecodeError:
            raise ImportFileError(path, ["not UTF-8 text (save the CSV as UTF-8)"]) from None


def _read_xlsx(path: Path):
    from openpyxl import load_workbook

    try:
        book = load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # zipfile.BadZipFile, KeyError, InvalidFileException …
        raise ImportFileError(path, [f"not a readable XLSX workbook: {exc}"]) from None
    try:
        rows = book.worksheets[0].iter_rows(values_only=True)
        header = next(rows, None)
        if not header:
            raise ImportFileError(path, ["empty sheet: no header row"])
        keys = [_norm(h) for h in header]
        for number, values in enumerate(rows, start=2):
            if all(v is None or str(v).strip() == "" for v in values):
                continue
            yield number, {k: _cell(v) for k, v in zip(keys, values, strict=False)}
    finally:
        book.close()


def _cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def _pick(row: dict[str, str], *names: str) -> str:
    for name in names:
        if row.get(name):
            return row[name]
    return ""


class _Units:
    """Resolves unit codes by date with one query per code (cached)."""

    def __init__(self, session: Session):
        self.session, self.cache = session, {}

    def versions(self, code: str) -> list[AdminUnit]:
        if code not in self.cache:
            self.cache[code] = self.session.scalars(
                select(AdminUnit).where(AdminUnit.code == code)
                .order_by(AdminUnit.valid_from)).all()
        return self.cache[code]


# ---------------------------------------------------------------- baseline

BASELINE_COLUMNS = ("unit_code", "year", "valid_results")


def import_baseline(session: Session, path: str | Path) -> ImportSummary:
    """Upsert (unit, year) → valid_results from CSV/XLSX columns unit_code, year, valid_results
    (optional valid_on: a date telling which version of a reused code is meant)."""
    path = Path(path)
    units = _Units(session)
    errors: list[str] = []
    parsed: dict[tuple[int, int], tuple[int, int]] = {}  # (unit_id, year) → (count, row)
    rows = 0
    for number, row in read_table(path):
        rows += 1
        if rows == 1:
            missing = [c for c in BASELINE_COLUMNS if c not in row]
            if missing:
                raise ImportFileError(path, [f"missing column(s): {', '.join(missing)} "
                                          f"(expected {', '.join(BASELINE_COLUMNS)})"])
        where = f"row {number}"
        code, year_text, count_text = row["unit_code"], row["year"], row["valid_results"]
        try:
            year = int(year_text)
            if not 1900 <= year <= 2200:
                raise ValueError
        except ValueError:
            errors.append(f"{where}: year {year_text!r} is not a year")
            continue
        try:
            count = int(count_text)
        except ValueError:
            errors.append(f"{where}: valid_results {count_text!r} is not a whole number")
            continue
        if count < 0:
            errors.append(f"{where}: valid_results {count} is negative")
            continue
        if not code:
            errors.append(f"{where}: unit_code is empty")
            continue
        unit, problem = _baseline_unit(units, code, year, row.get("valid_on", ""))
        if problem:
            errors.append(f"{where}: {problem}")
            continue
        key = (unit.id, year)
        if key in parsed:
            errors.append(f"{where}: unit {code} year {year} already given on row {parsed[key][1]}")
            continue
        parsed[key] = (count, number)
    if rows == 0:
        errors.append("no data rows")
    if errors:
        raise ImportFileError(path, errors)

    existing = {(b.unit_id, b.year): b for b in session.scalars(
        select(Baseline).where(Baseline.year.in_({y for _, y in parsed})))}
    created = updated = 0
    for (unit_id, year), (count, _) in parsed.items():
        current = existing.get((unit_id, year))
        if current is None:
            session.add(Baseline(unit_id=unit_id, year=year, valid_results=count,
                                 source=path.name))
            created += 1
        else:
            current.valid_results, current.source = count, path.name
            updated += 1
    session.flush()
    return ImportSummary(path=path, rows=rows, created=created, updated=updated)


def _baseline_unit(units: _Units, code: str, year: int, valid_on: str):
    versions = units.versions(code)
    if not versions:
        return None, f"unknown unit code {code!r}"
    if valid_on:
        try:
            day = parse_date(valid_on)
        except ValueError as exc:
            return None, f"valid_on: {exc}"
        match = [u for u in versions if u.valid_on(day)]
        if not match:
            return None, f"unit {code} did not exist on {day.isoformat()}"
        return match[0], None
    start, end = date(year, 1, 1), date(year, 12, 31)
    match = [u for u in versions if u.valid_from <= end and (u.valid_to is None or u.valid_to >= start)]
    if not match:
        return None, f"unit {code} did not exist in {year}"
    if len(match) > 1:
        names = "; ".join(f"{u.name} {u.valid_from}…{u.valid_to or ''}" for u in match)
        return None, (f"unit code {code} names several units in {year} ({names}): "
                      "add a valid_on date column to say which")
    return match[0], None


# ---------------------------------------------------------------- results

# Normalized header aliases of a one-stop system's export (English or Vietnamese).
RESULT_FIELDS = {
    "dossier_code": ("dossier_code", "ma_ho_so", "so_ho_so"),
    "procedure_code": ("procedure_code", "ma_thu_tuc", "ma_tthc", "procedure"),
    "procedure_name": ("procedure_name", "ten_thu_tuc", "ten_tthc"),
    "unit_code": ("unit_code", "ma_don_vi", "ma_co_quan", "ma_dvhc"),
    "document_number": ("document_number", "number", "so_ket_qua", "so_van_ban", "so_quyet_dinh",
                        "so_giay_to"),
    "document_type": ("document_type", "loai_ket_qua", "loai_giay_to"),
    "issued_on": ("issued_on", "issue_date", "ngay_ban_hanh", "ngay_cap", "ngay_ky"),
    "in_force": ("in_force", "con_hieu_luc", "hieu_luc"),
    "valid_until": ("valid_until", "hieu_luc_den", "ngay_het_hieu_luc", "han_hieu_luc"),
    "issuer": ("issuer", "co_quan_ban_hanh", "noi_cap"),
    "subject_name": ("subject_name", "ho_ten", "ten_nguoi_nop", "chu_ho_so"),
    "subject_id": ("subject_id", "so_dinh_danh", "so_cccd", "cccd"),
}
_TRUE = {"1", "true", "yes", "y", "co", "x", "con", "con_hieu_luc"}
_FALSE = {"0", "false", "no", "n", "khong", "het", "het_hieu_luc", "khong_con_hieu_luc"}


def parse_date(text: str) -> date:
    text = text.strip()
    for fmt in ("%Y-%m-%d", "%d/%m/%Y", "%d-%m-%Y", "%Y/%m/%d", "%d.%m.%Y"):
        try:
            return datetime.strptime(text, fmt).date()
        except ValueError:
            pass
    raise ValueError(f"{text!r} is not a date (YYYY-MM-DD or DD/MM/YYYY)")


def import_results(session: Session, path: str | Path) -> ImportSummary:
    """Register Result rows from a one-stop CSV/XLSX export. A row that matches a result already
    in the catalog (storage/result_link.py: same dossier code, or number + issuer + issue date)
    updates it instead of duplicating: a registered one gets the new validity, one known only
    from scans takes the export's values and becomes registered (its documents now count for
    it); scans of the same result under other dossier codes are merged into it. Documents with
    the row's dossier code and no result get linked to it."""
    path = Path(path)
    units = _Units(session)
    errors: list[str] = []
    records: list[tuple[int, dict]] = []
    procedures: dict[str, str] = {}
    seen: dict[tuple, int] = {}
    for number, row in read_table(path):
        if not records and not errors and not any(a in row for a in RESULT_FIELDS["unit_code"]):
            raise ImportFileError(path, ["missing the unit_code column (mã đơn vị)"])
        values = {name: _pick(row, *aliases) for name, aliases in RESULT_FIELDS.items()}
        record, problems = _result_record(values, units)
        if not problems:
            key = _result_key(record)
            if key in seen:
                problems.append(f"same result as row {seen[key]}")
            else:
                seen[key] = number
        if problems:
            errors.extend(f"row {number}: {p}" for p in problems)
            continue
        if record["procedure_code"]:
            procedures.setdefault(record["procedure_code"], values["procedure_name"])
        records.append((number, record))
    if not records and not errors:
        errors.append("no data rows")
    if errors:
        raise ImportFileError(path, errors)

    known = set(session.scalars(select(Procedure.code).where(Procedure.code.in_(procedures))))
    for code, name in procedures.items():
        if code not in known:  # the one-stop system knows procedures we were never told about
            session.add(Procedure(code=code, name=name or code))
    session.flush()

    pool = candidates(session, [_key(r) for _, r in records])
    claimed: set[str] = set()
    created = updated = linked = 0
    new_results: list[Result] = []
    for _, record in records:
        key = _key(record)
        found = best_match(key, pool, claimed)
        if found is None:
            result = Result(**record, registered=True)
            session.add(result)
            new_results.append(result)
            created += 1
            continue
        current = found[0]
        claimed.add(current.id)
        twins = [r for r in pool if r.id not in claimed and match_reason(key, ResultKey.of(r))]
        moved = 0
        was_registered = current.registered
        if twins:  # a scan and a re-scan under another dossier code: one result
            why = match_reason(key, ResultKey.of(twins[0]))
            moved = merge(session, current, twins, why, actor="import").documents_moved
            claimed.update(r.id for r in twins)
        if was_registered:
            linked += moved
            for name in ("in_force", "valid_until", "document_type", "issuer"):
                if record[name] is not None:
                    setattr(current, name, record[name])
        else:  # known only from a scan so far: the one-stop system's values win
            for name, value in record.items():
                if value is not None:
                    setattr(current, name, value)
            current.registered = True
            linked += session.scalar(select(func.count()).select_from(Document)
                                     .where(Document.result_id == current.id)) or 0
        updated += 1
    session.flush()
    linked += _link_documents(session, new_results + [r for r in pool if r.id in claimed])
    return ImportSummary(path=path, rows=len(records), created=created, updated=updated,
                         linked_documents=linked)


def _key(record: dict) -> ResultKey:
    return ResultKey(record["dossier_code"], record["document_number"], record["issuer"],
                     record["issued_on"], record["unit_id"])


def _result_record(values: dict[str, str], units: _Units) -> tuple[dict, list[str]]:
    problems: list[str] = []
    issued = valid_until = None
    for name in ("issued_on", "valid_until"):
        if values[name]:
            try:
                parsed = parse_date(values[name])
            except ValueError as exc:
                problems.append(f"{name}: {exc}")
                continue
            if name == "issued_on":
                issued = parsed
            else:
                valid_until = parsed
    flag = _norm(values["in_force"])
    if not flag or flag in _TRUE:
        in_force = True
    elif flag in _FALSE:
        in_force = False
    else:
        in_force = None
        problems.append(f"in_force {values['in_force']!r} is not yes/no")
    code = values["unit_code"]
    unit = None
    if not code:
        problems.append("unit_code is empty")
    elif not (versions := units.versions(code)):
        problems.append(f"unknown unit code {code!r}")
    elif issued is not None:
        unit = next((u for u in versions if u.valid_on(issued)), None)
        if unit is None:
            problems.append(f"unit {code} did not exist on {issued.isoformat()}")
    else:
        unit = versions[-1]
    if not values["dossier_code"] and not values["document_number"]:
        problems.append("needs a dossier code or a document number")
    if len(values["subject_id"]) > 12:
        problems.append(f"subject_id {values['subject_id']!r} is longer than 12 characters")
    record = {
        "dossier_code": values["dossier_code"] or None,
        "procedure_code": values["procedure_code"] or None,
        "unit_id": unit.id if unit else None,
        "document_number": values["document_number"] or None,
        "document_type": values["document_type"] or None,
        "issued_on": issued, "in_force": in_force, "valid_until": valid_until,
        "issuer": values["issuer"] or None, "subject_name": values["subject_name"] or None,
        "subject_id": values["subject_id"] or None,
    }
    return record, problems


def _result_key(record: dict) -> tuple:
    """Two rows of one file are the same result (numbers compared by their key: "12/QĐ" is
    "12/QD")."""
    number = number_key(record["document_number"])
    if record["dossier_code"]:
        return ("dossier", record["dossier_code"], number)
    return ("number", record["unit_id"], number, record["issued_on"])


def _link_documents(session: Session, results: list[Result]) -> int:
    """Documents digitized before their result was registered: link them by dossier code."""
    by_dossier = {r.dossier_code: r for r in results if r.dossier_code}
    linked = 0
    codes = sorted(by_dossier)
    for start in range(0, len(codes), 500):
        docs = session.scalars(select(Document).where(
            Document.result_id.is_(None), Document.dossier_code.in_(codes[start:start + 500])))
        for doc in docs:
            doc.result_id = by_dossier[doc.dossier_code].id
            linked += 1
    session.flush()
    return linked
