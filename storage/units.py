"""Admin units: seeding from the `vietnamadminunits` package and date-aware lookup.

Two official lists are loaded. The legacy list (63 provinces, three levels) is valid until
2025-06-30; the 2025 list (34 provinces, two levels: no districts) is valid from 2025-07-01.
Some commune codes were reused for different, merged units (00004 was Phường Trúc Bạch, is now
Phường Ba Đình), so a unit is identified by its code *and* a date. A province whose code and name
did not change (Hà Nội, 01) is one row valid across both periods.
"""

from __future__ import annotations

import sqlite3
from datetime import date
from pathlib import Path

from sqlalchemy import func, insert, select, text
from sqlalchemy.orm import Session

from storage.catalog import AdminUnit, Procedure

LEGACY_FROM = date(1990, 1, 1)  # start of what we track; the legacy list's exact start is unknown
LEGACY_TO = date(2025, 6, 30)
REFORM_FROM = date(2025, 7, 1)

# Procedures the pipeline knows by default; a full catalog is imported from CSV.
DEFAULT_PROCEDURES = [
    ("1.001193", "Thủ tục đăng ký khai sinh", "commune"),
    ("1.000894", "Thủ tục đăng ký kết hôn", "commune"),
    ("1.001612", "Thủ tục đăng ký thành lập hộ kinh doanh", "commune"),
    ("1.004227", "Thủ tục cấp Giấy xác nhận tình trạng hôn nhân", "commune"),
    ("1.009794", "Thủ tục cấp giấy phép xây dựng nhà ở riêng lẻ", "district"),
    ("2.001610", "Thủ tục đăng ký thành lập doanh nghiệp tư nhân", "city"),
]


class UnknownUnit(LookupError):
    pass


def _dataset_path() -> Path:
    import vietnamadminunits

    return Path(vietnamadminunits.__file__).parent / "data" / "dataset.db"


def _rows(sql: str) -> list[sqlite3.Row]:
    with sqlite3.connect(f"file:{_dataset_path()}?mode=ro", uri=True) as conn:
        conn.row_factory = sqlite3.Row
        return conn.execute(sql).fetchall()


def _kind(full_name: str, short: str) -> str:
    kind = full_name[: -len(short)].strip() if short and full_name.endswith(short) else ""
    return kind or full_name.split(" ")[0]


def seed_units(session: Session, provinces: set[str] | None = None) -> int:
    """Load both official lists (optionally only some provinces). Idempotent: no-op when seeded."""
    if session.scalar(select(func.count()).select_from(AdminUnit)):
        return 0
    wanted = (lambda code: code in provinces) if provinces else (lambda code: True)
    legacy = [r for r in _rows("SELECT DISTINCT * FROM admin_units_legacy") if wanted(r["provinceCode"])]
    reform = [r for r in _rows("SELECT DISTINCT * FROM admin_units") if wanted(r["provinceCode"])]

    reform_provinces = {r["provinceCode"]: r["province"] for r in reform}
    province_ids: dict[tuple[str, str], int] = {}
    rows: list[dict] = []

    def add(**values) -> int:
        values.setdefault("parent_id", None)
        rows.append({"id": len(rows) + 1, **values})
        return len(rows)

    for code, name in sorted({(r["provinceCode"], r["province"]) for r in legacy}):
        same = reform_provinces.get(code) == name
        short = next(r["provinceShort"] for r in legacy if r["provinceCode"] == code)
        unit_id = add(code=code, name=name, kind=_kind(name, short), level="city", province_code=code,
                      valid_from=LEGACY_FROM, valid_to=None if same else LEGACY_TO, source="legacy-63")
        province_ids[("legacy", code)] = unit_id
        if same:
            province_ids[("2025", code)] = unit_id
    for code, name in sorted(reform_provinces.items()):
        if ("2025", code) in province_ids:
            continue
        short = next(r["provinceShort"] for r in reform if r["provinceCode"] == code)
        province_ids[("2025", code)] = add(
            code=code, name=name, kind=_kind(name, short), level="city", province_code=code,
            valid_from=REFORM_FROM, valid_to=None, source="2025-34")

    district_ids: dict[str, int] = {}
    for r in legacy:
        if r["districtCode"] and r["districtCode"] not in district_ids:
            district_ids[r["districtCode"]] = add(
                code=r["districtCode"], name=r["district"], kind=r["districtType"] or "",
                level="district", province_code=r["provinceCode"],
                parent_id=province_ids[("legacy", r["provinceCode"])],
                valid_from=LEGACY_FROM, valid_to=LEGACY_TO, source="legacy-63")
    seen: set[tuple[str, str]] = set()
    for r in legacy:
        if not r["wardCode"] or ("legacy", r["wardCode"]) in seen:
            continue
        seen.add(("legacy", r["wardCode"]))
        add(code=r["wardCode"], name=r["ward"], kind=r["wardType"] or "", level="commune",
            province_code=r["provinceCode"], parent_id=district_ids.get(r["districtCode"]),
            valid_from=LEGACY_FROM, valid_to=LEGACY_TO, source="legacy-63")
    for r in reform:
        if not r["wardCode"] or ("2025", r["wardCode"]) in seen:
            continue
        seen.add(("2025", r["wardCode"]))
        add(code=r["wardCode"], name=r["ward"], kind=r["wardType"] or "", level="commune",
            province_code=r["provinceCode"], parent_id=province_ids[("2025", r["provinceCode"])],
            valid_from=REFORM_FROM, valid_to=None, source="2025-34")
    for start in range(0, len(rows), 2000):  # parents always precede their children
        session.execute(insert(AdminUnit), rows[start : start + 2000])
    if session.get_bind().dialect.name == "postgresql":  # ids were given: move the sequence on
        session.execute(text(
            "SELECT setval(pg_get_serial_sequence('admin_units', 'id'), (SELECT max(id) FROM admin_units))"
        ))
    return len(rows)


def seed_procedures(session: Session) -> None:
    known = set(session.scalars(select(Procedure.code)))
    for code, name, level in DEFAULT_PROCEDURES:
        if code not in known:
            session.add(Procedure(code=code, name=name, level=level))


def find_unit(session: Session, code: str, on: date | None = None) -> AdminUnit:
    """The unit that carried `code` on `on` (today by default; else its latest version)."""
    versions = session.scalars(
        select(AdminUnit).where(AdminUnit.code == code).order_by(AdminUnit.valid_from)
    ).all()
    if not versions:
        raise UnknownUnit(f"unknown admin unit code {code!r}")
    day = on or date.today()
    for unit in versions:
        if unit.valid_on(day):
            return unit
    if on is not None:
        raise UnknownUnit(f"admin unit {code!r} did not exist on {day.isoformat()}")
    return versions[-1]


def unit_label(code: str) -> str | None:
    """The current name of unit `code` from the official lists, without a catalog (a station
    checks its --unit with it): "Phường Ba Đình, Thành phố Hà Nội"; None for an unknown code."""
    code = (code or "").strip()
    if not code.isdigit() or len(code) not in (2, 3, 5):
        return None
    queries = {  # newest list first: a reused commune code names its current unit
        5: ["SELECT ward AS name, province FROM admin_units WHERE wardCode = ?",
            "SELECT ward AS name, province FROM admin_units_legacy WHERE wardCode = ?"],
        3: ["SELECT district AS name, province FROM admin_units_legacy WHERE districtCode = ?"],
        2: ["SELECT province AS name, NULL AS province FROM admin_units WHERE provinceCode = ?",
            "SELECT province AS name, NULL AS province FROM admin_units_legacy WHERE provinceCode = ?"],
    }[len(code)]
    for sql in queries:
        with sqlite3.connect(f"file:{_dataset_path()}?mode=ro", uri=True) as conn:
            row = conn.execute(sql + " LIMIT 1", (code,)).fetchone()
        if row:
            return f"{row[0]}, {row[1]}" if row[1] else row[0]
    return None
