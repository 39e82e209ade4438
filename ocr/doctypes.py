"""The list of result document types, loaded from data (ocr/doctypes.toml).

Owns the `DocType` record and its loader; classification rules read it, nothing here knows
about OCR or the database.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

DEFAULT_PATH = Path(__file__).with_name("doctypes.toml")
FIELDS = ("number", "issued_on", "issuer", "subject_name", "subject_id", "title", "summary")
LEVELS = ("city", "district", "commune")
PROCEDURE_CODE = re.compile(r"^[0-9]\.[0-9]{6}$")


class DocTypesError(ValueError):
    """The document-type file is malformed."""


@dataclass(frozen=True)
class DocType:
    code: str
    name_vi: str
    abbreviation: str | None
    title_patterns: list[str]
    procedures: list[str]
    levels: list[str]
    number_patterns: list[str] = field(default_factory=list)
    keywords: list[str] = field(default_factory=list)
    required: list[str] = field(default_factory=list)
    subject: str = "person"  # person | organisation: whose name/ID the result is about
    summary_phrases: list[str] = field(default_factory=list)
    # archive defaults for the record a result of this type is filed in (docs/records.md):
    # retention in years, None for "permanent" (vĩnh viễn); access "open" or "conditional"
    retention_years: int | None = None
    access: str = "conditional"


def _str_list(path: Path, code: str, table: dict, key: str) -> list[str]:
    value = table.get(key, [])
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise DocTypesError(f"{path}: types.{code}.{key} must be a list of strings")
    return list(value)


def _parse(path: Path, data: dict) -> dict[str, DocType]:
    types = data.get("types")
    if not isinstance(types, dict) or not types:
        raise DocTypesError(f"{path}: no [types.<code>] tables")
    result: dict[str, DocType] = {}
    for code, table in types.items():
        if not re.fullmatch(r"[a-z][a-z0-9_]*", code):
            raise DocTypesError(f"{path}: type code {code!r} must be lower_snake_case")
        if not isinstance(table, dict):
            raise DocTypesError(f"{path}: types.{code} must be a table")
        name = table.get("name_vi")
        if not isinstance(name, str) or not name:
            raise DocTypesError(f"{path}: types.{code}.name_vi is missing")
        abbreviation = table.get("abbreviation")
        if abbreviation is not None and not isinstance(abbreviation, str):
            raise DocTypesError(f"{path}: types.{code}.abbreviation must be a string")
        procedures = _str_list(path, code, table, "procedures")
        for proc in procedures:
            if not PROCEDURE_CODE.match(proc):
                raise DocTypesError(f"{path}: types.{code}: bad procedure code {proc!r}")
        levels = _str_list(path, code, table, "levels")
        for level in levels:
            if level not in LEVELS:
                raise DocTypesError(f"{path}: types.{code}: unknown level {level!r}")
        required = _str_list(path, code, table, "required")
        for name_ in required:
            if name_ not in FIELDS:
                raise DocTypesError(f"{path}: types.{code}: unknown required field {name_!r}")
        number_patterns = _str_list(path, code, table, "number_patterns")
        for pattern in number_patterns:
            try:
                re.compile(pattern)
            except re.error as exc:
                raise DocTypesError(
                    f"{path}: types.{code}: bad number pattern {pattern!r}: {exc}"
                ) from exc
        subject = table.get("subject", "person")
        if subject not in ("person", "organisation"):
            raise DocTypesError(
                f"{path}: types.{code}.subject must be 'person' or 'organisation'"
            )
        retention = table.get("retention", "permanent")
        if retention == "permanent":
            retention_years = None
        elif isinstance(retention, int) and not isinstance(retention, bool) and \
                0 < retention <= 200:
            retention_years = retention
        else:
            raise DocTypesError(f"{path}: types.{code}.retention must be \"permanent\" or a "
                                f"number of years from 1 to 200, not {retention!r}")
        access = table.get("access", "conditional" if subject == "person" else "open")
        if access not in ("open", "conditional"):
            raise DocTypesError(f"{path}: types.{code}.access must be 'open' or 'conditional'")
        result[code] = DocType(
            code=code,
            name_vi=name,
            abbreviation=abbreviation,
            title_patterns=_str_list(path, code, table, "title_patterns"),
            procedures=procedures,
            levels=levels,
            number_patterns=number_patterns,
            keywords=_str_list(path, code, table, "keywords"),
            required=required,
            subject=subject,
            summary_phrases=_str_list(path, code, table, "summary_phrases"),
            retention_years=retention_years,
            access=access,
        )
    if "khac" not in result:
        raise DocTypesError(f"{path}: the fallback type 'khac' must be listed")
    return result


@lru_cache(maxsize=8)
def _load_cached(path: Path, mtime_ns: int) -> dict[str, DocType]:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise DocTypesError(f"{path}: not valid TOML: {exc}") from exc
    return _parse(path, data)


def load_doctypes(path: Path | None = None) -> dict[str, DocType]:
    """Load the document types keyed by code (file order kept; 'khac' is the fallback)."""
    path = Path(path) if path is not None else DEFAULT_PATH
    try:
        mtime = path.stat().st_mtime_ns
    except FileNotFoundError as exc:
        raise DocTypesError(f"{path}: document-type file not found") from exc
    return dict(_load_cached(path.resolve(), mtime))


@dataclass(frozen=True)
class Vocabulary:
    """Canonical spellings restored after diacritic-insensitive matching."""

    agencies: list[str]
    number_codes: list[str]
    surnames: list[str] = field(default_factory=list)
    given_names: list[str] = field(default_factory=list)
    central_bodies: list[str] = field(default_factory=list)  # issuers with no place


def load_vocabulary(path: Path | None = None) -> Vocabulary:
    """Load the [vocabulary] table of the document-type file (empty lists if absent)."""
    path = Path(path) if path is not None else DEFAULT_PATH
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise DocTypesError(f"{path}: document-type file not found") from exc
    except tomllib.TOMLDecodeError as exc:
        raise DocTypesError(f"{path}: not valid TOML: {exc}") from exc
    table = data.get("vocabulary", {})
    if not isinstance(table, dict):
        raise DocTypesError(f"{path}: [vocabulary] must be a table")
    lists = {}
    for name in ("agencies", "number_codes", "surnames", "given_names", "central_bodies"):
        value = table.get(name, [])
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise DocTypesError(f"{path}: vocabulary.{name} must be a list of strings")
        lists[name] = list(value)
    return Vocabulary(**lists)
