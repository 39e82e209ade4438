"""Quota plans as data: TOML files giving, per year and level, a target percent of still-valid
results digitized.

A target is an absolute percent (``30``) or ``"+N"``: the previous year's target for that level
plus N points. Every target is capped at 100. Plans shipped with sohoa live in
``quotas/plans/*.toml``; other provinces or later plans are loaded from any path.

    [plan]
    id = "hanoi-161-2021-2025"
    name = "…"
    province = "01"
    source = "the document that sets these targets"  # shipped plans must name one
    [targets.2021]
    city = 30
    district = 20
    commune = 15
    [targets.2022]
    city = "+20"
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from storage.catalog import LEVELS

PLANS_DIR = Path(__file__).resolve().parent / "plans"
DEFAULT_PLAN = "hanoi-161-2021-2025"
_RELATIVE = re.compile(r"^\+\s*(\d+(?:\.\d+)?)$")


class PlanError(ValueError):
    """A plan file that cannot be used; the message names the file and the problem."""


@dataclass(frozen=True)
class Plan:
    id: str
    name: str
    province: str
    source: str  # the file it was read from
    targets: dict[int, dict[str, float]] = field(default_factory=dict)  # year → level → percent
    basis: str = ""  # the document that set the targets ([plan] source = "…")

    def target(self, year: int, level: str) -> float | None:
        return self.targets.get(year, {}).get(level)

    @property
    def years(self) -> list[int]:
        return sorted(self.targets)


def parse_plan(data: dict, source: str = "<plan>") -> Plan:
    """Build a Plan from parsed TOML, resolving "+N" targets and capping at 100."""
    meta = data.get("plan")
    if not isinstance(meta, dict):
        raise PlanError(f"{source}: missing [plan] table")
    for key in ("id", "province"):
        if not isinstance(meta.get(key), str) or not meta[key]:
            raise PlanError(f"{source}: [plan] needs a text '{key}'")
    raw = data.get("targets")
    if not isinstance(raw, dict) or not raw:
        raise PlanError(f"{source}: no [targets.<year>] tables")
    years: dict[int, dict] = {}
    for key, levels in raw.items():
        try:
            year = int(key)
        except ValueError:
            raise PlanError(f"{source}: targets.{key}: the key must be a year") from None
        if not isinstance(levels, dict):
            raise PlanError(f"{source}: targets.{key} must be a table of level = target")
        years[year] = levels
    resolved: dict[int, dict[str, float]] = {}
    for year in sorted(years):
        resolved[year] = {}
        for level, value in years[year].items():
            where = f"{source}: targets.{year}.{level}"
            if level not in LEVELS:
                raise PlanError(f"{where}: unknown level (expected one of {', '.join(LEVELS)})")
            resolved[year][level] = _resolve(value, resolved.get(year - 1, {}).get(level), where)
    return Plan(id=meta["id"], name=str(meta.get("name", meta["id"])), province=meta["province"],
                source=source, targets=resolved, basis=str(meta.get("source", "")))


def _resolve(value, previous: float | None, where: str) -> float:
    if isinstance(value, bool):
        raise PlanError(f"{where}: {value!r} is not a percent")
    if isinstance(value, int | float):
        number = float(value)
    elif isinstance(value, str) and (match := _RELATIVE.match(value.strip())):
        if previous is None:
            raise PlanError(f"{where}: {value!r} is relative but the previous year has no target")
        number = previous + float(match.group(1))
    else:
        raise PlanError(f"{where}: {value!r} is neither a percent nor '+N' points")
    if number < 0:
        raise PlanError(f"{where}: negative target {number}")
    return min(number, 100.0)


def load_plan(path: str | Path) -> Plan:
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise PlanError(f"{path}: no such plan file") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise PlanError(f"{path}: not valid TOML: {exc}") from None
    return parse_plan(data, str(path))


def shipped_plans() -> dict[str, Path]:
    return {p.stem: p for p in sorted(PLANS_DIR.glob("*.toml"))}


def get_plan(name_or_path: str | None = None) -> Plan:
    """A shipped plan by id (the Hanoi plan by default) or a plan file by path."""
    name = name_or_path or DEFAULT_PLAN
    shipped = shipped_plans()
    if name in shipped:
        return load_plan(shipped[name])
    if Path(name).suffix == ".toml" or Path(name).exists():
        return load_plan(name)
    raise PlanError(f"{name}: no such plan (shipped: {', '.join(shipped) or 'none'})")
