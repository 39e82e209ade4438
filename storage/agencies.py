"""Agencies (cơ quan, tổ chức): who issues results and who makes and signs their copies.

Owns: the :class:`Agency` table, the CSV import (:func:`import_agencies`), lookups
(:func:`find_agency`, :func:`agency_for_dossier`, :func:`match_issuer`) and
:func:`agency_record` (what the CLI and the API show).

An agency is not an admin unit: a department (Sở Tư pháp) is an agency at the city level of its
province, a commune's People's Committee (UBND) an agency of that commune; several agencies
belong to one unit, and results roll up to the agency's unit and level (DESIGN.md). Each has
``code`` — the electronic identifier agencies exchange documents with (e.g. ``000.00.04.H26``;
dossier codes start with it, ``000.00.04.H26-250301-0001``) — a name, an optional parent
agency, validity dates and, optionally, the signing key it signs copies with (a
``pkcs12:``/``pkcs11:`` spec; secrets stay in environment variables or files it names).

CSV columns: ``code,name,unit`` required; ``parent,valid_from,valid_to,signing_key`` optional.
The file is read whole and checked before anything is written: one bad row and nothing is
imported; the error names the file, the row (the header is row 1) and the problem.
"""

from __future__ import annotations

import csv
import io
import re
import unicodedata
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from sqlalchemy import Date, ForeignKey, Integer, String, UniqueConstraint, or_, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from storage.catalog import AdminUnit, Base
from storage.units import UnknownUnit, find_unit

COLUMNS = ("code", "name", "unit")
OPTIONAL = ("parent", "valid_from", "valid_to", "signing_key")
CODE = re.compile(r"[0-9A-Za-z][0-9A-Za-z.\-_]{0,39}")
KEY_PREFIXES = ("pkcs12:", "pkcs11:")
OPEN_START = date(1990, 1, 1)  # valid_from left empty: valid since before what we track


class Agency(Base):
    """An agency, valid from ``valid_from`` to ``valid_to`` (inclusive; None: still valid)."""

    __tablename__ = "agencies"
    __table_args__ = (UniqueConstraint("code", "valid_from", name="uq_agencies_code_from"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(40), index=True)
    name: Mapped[str] = mapped_column(String(300))
    parent_code: Mapped[str | None] = mapped_column(String(40))
    unit_id: Mapped[int] = mapped_column(ForeignKey("admin_units.id"), index=True)
    valid_from: Mapped[date] = mapped_column(Date)
    valid_to: Mapped[date | None] = mapped_column(Date)
    signing_key: Mapped[str | None] = mapped_column(String(500))


class AgencyImportError(ValueError):
    pass


class UnknownAgency(LookupError):
    pass


@dataclass(frozen=True)
class ImportSummary:
    added: int
    updated: int
    unchanged: int

    @property
    def total(self) -> int:
        return self.added + self.updated + self.unchanged


@dataclass(frozen=True)
class _Row:
    number: int
    code: str
    name: str
    unit: str
    parent: str | None
    valid_from: date
    valid_to: date | None
    signing_key: str | None


def _date(source: str, number: int, column: str, raw: str) -> date | None:
    raw = raw.strip()
    if not raw:
        return None
    try:
        return date.fromisoformat(raw)
    except ValueError:
        raise AgencyImportError(
            f"{source}: row {number}: {column} {raw!r} is not a date (YYYY-MM-DD)") from None


def parse_agencies(text: str, source: str = "<csv>") -> list[_Row]:
    """The rows of an agencies CSV; :class:`AgencyImportError` naming the file and row."""
    text = text.removeprefix("\ufeff")
    first = text.split("\n", 1)[0]
    delimiter = ";" if first.count(";") > first.count(",") else ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    try:
        header = [h.strip().lower() for h in next(reader)]
    except StopIteration:
        raise AgencyImportError(f"{source}: empty file, expected a header: "
                                f"{','.join(COLUMNS + OPTIONAL)}") from None
    except csv.Error as exc:
        raise AgencyImportError(f"{source}: row 1: {exc}") from None
    missing = [c for c in COLUMNS if c not in header]
    if missing:
        raise AgencyImportError(f"{source}: row 1: header lacks column(s) {', '.join(missing)}; "
                                f"expected {','.join(COLUMNS + OPTIONAL)}")
    where = {c: header.index(c) for c in COLUMNS + OPTIONAL if c in header}
    rows: list[_Row] = []
    seen: dict[tuple[str, date], int] = {}
    try:
        for number, record in enumerate(reader, start=2):
            if not any(cell.strip() for cell in record):
                continue

            def cell(column: str, record=record) -> str:
                i = where.get(column)
                return record[i].strip() if i is not None and i < len(record) else ""

            code, name, unit = cell("code"), " ".join(cell("name").split()), cell("unit")
            if not CODE.fullmatch(code):
                raise AgencyImportError(f"{source}: row {number}: code {code!r} is not an agency "
                                        "code (letters, digits, '.', '-'; e.g. 000.00.04.H26)")
            if not name:
                raise AgencyImportError(f"{source}: row {number}: agency {code} has no name")
            if not unit.isdigit():
                raise AgencyImportError(f"{source}: row {number}: unit {unit!r} is not an admin "
                                        "unit code (2, 3 or 5 digits)")
            valid_from = _date(source, number, "valid_from", cell("valid_from")) or OPEN_START
            valid_to = _date(source, number, "valid_to", cell("valid_to"))
            if valid_to is not None and valid_to < valid_from:
                raise AgencyImportError(f"{source}: row {number}: valid_to {valid_to} is before "
                                        f"valid_from {valid_from}")
            key = cell("signing_key") or None
            if key is not None and not key.startswith(KEY_PREFIXES):
                raise AgencyImportError(f"{source}: row {number}: signing_key must be a pkcs12: "
                                        "or pkcs11: spec (secrets in environment variables)")
            if (code, valid_from) in seen:
                raise AgencyImportError(f"{source}: row {number}: agency {code} from {valid_from} "
                                        f"is already on row {seen[(code, valid_from)]}")
            seen[(code, valid_from)] = number
            rows.append(_Row(number, code, name, unit, cell("parent") or None, valid_from,
                             valid_to, key))
    except csv.Error as exc:
        raise AgencyImportError(f"{source}: row {reader.line_num}: {exc}") from None
    if not rows:
        raise AgencyImportError(f"{source}: no agencies in the file")
    return rows


def import_agencies(session: Session, path: Path) -> ImportSummary:
    """Add or update the agencies of a CSV file, all or nothing."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise AgencyImportError(f"{path}: not UTF-8 text; save the sheet as CSV UTF-8") from None
    except OSError as exc:
        raise AgencyImportError(f"{path}: cannot read: {exc.strerror}") from None
    rows = parse_agencies(text, str(path))
    known = {r.code for r in rows}
    added = updated = unchanged = 0
    for row in rows:
        try:
            # the unit that carried the code when the agency started (today if open-ended)
            unit = find_unit(session, row.unit,
                             None if row.valid_from == OPEN_START else row.valid_from)
        except UnknownUnit as exc:
            raise AgencyImportError(f"{path}: row {row.number}: {exc}") from None
        if row.parent and row.parent not in known and session.scalar(
                select(Agency.id).where(Agency.code == row.parent).limit(1)) is None:
            raise AgencyImportError(f"{path}: row {row.number}: parent agency {row.parent} is "
                                    "neither in the file nor in the catalog")
        agency = session.scalar(select(Agency).where(Agency.code == row.code,
                                                     Agency.valid_from == row.valid_from))
        values = {"name": row.name, "parent_code": row.parent, "unit_id": unit.id,
                  "valid_to": row.valid_to, "signing_key": row.signing_key}
        if agency is None:
            session.add(Agency(code=row.code, valid_from=row.valid_from, **values))
            added += 1
        elif any(getattr(agency, k) != v for k, v in values.items()):
            for k, v in values.items():
                setattr(agency, k, v)
            updated += 1
        else:
            unchanged += 1
    session.flush()
    return ImportSummary(added, updated, unchanged)


def _valid_on(when: date):
    return (Agency.valid_from <= when) & or_(Agency.valid_to.is_(None), Agency.valid_to >= when)


def find_agency(session: Session, code: str, when: date | None = None) -> Agency:
    """The agency with ``code`` valid on ``when`` (default today); :class:`UnknownAgency`."""
    when = when or date.today()
    agency = session.scalar(select(Agency).where(Agency.code == code, _valid_on(when))
                            .order_by(Agency.valid_from.desc()).limit(1))
    if agency is None:
        raise UnknownAgency(f"no agency {code!r} valid on {when} (see `sohoa agencies list`)")
    return agency


def agency_for_dossier(session: Session, dossier_code: str | None,
                       when: date | None = None) -> Agency | None:
    """The agency a dossier code names: one-stop dossier codes start with the receiving
    agency's code (``000.00.04.H26-250301-0001``); None when no known agency matches."""
    if not dossier_code:
        return None
    prefix = dossier_code.split("-", 1)[0].strip()
    if not CODE.fullmatch(prefix):
        return None
    try:
        return find_agency(session, prefix, when)
    except UnknownAgency:
        return None


def _fold(text: str) -> str:
    """Compare header text loosely: no diacritics, tone-mark placement or spacing differences;
    "UBND" spelled out."""
    text = unicodedata.normalize("NFD", text.replace("Đ", "D").replace("đ", "d"))
    text = "".join(c for c in text if not unicodedata.combining(c)).lower()
    text = re.sub(r"\bubnd\b", "uy ban nhan dan", text)
    return " ".join(re.sub(r"[^a-z0-9 ]", " ", text).split())


def match_issuer(session: Session, issuer: str | None, when: date | None = None,
                 unit_ids: list[int] | None = None) -> Agency | None:
    """The agency whose name the issuing-body header (``issuer``: its lines joined, parent
    body first) ends with; among several, the longest name. None when none matches."""
    if not issuer:
        return None
    folded = _fold(issuer)
    query = select(Agency).where(_valid_on(when or date.today()))
    if unit_ids:
        query = query.where(Agency.unit_id.in_(unit_ids))
    best = None
    for agency in session.scalars(query):
        name = _fold(agency.name)
        if name and folded.endswith(name) and (best is None or len(name) > len(_fold(best.name))):
            best = agency
    return best


def agency_record(session: Session, agency: Agency) -> dict:
    unit = session.get(AdminUnit, agency.unit_id)
    return {
        "code": agency.code, "name": agency.name, "parent": agency.parent_code,
        "unit_code": unit.code if unit else None, "unit_name": unit.name if unit else None,
        "level": unit.level if unit else None,
        "valid_from": agency.valid_from.isoformat(),
        "valid_to": agency.valid_to.isoformat() if agency.valid_to else None,
        "signing_key": agency.signing_key,
    }
