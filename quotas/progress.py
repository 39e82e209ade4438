"""Progress toward the yearly quota per unit and per level, aggregated in SQL.

The measure (DESIGN.md): for year Y and level L, percent = results issued by level-L units, still
in force in Y, digitized by the end of Y (or the as-of date) ÷ all such results. Concretely:

* A *registered result* (``results`` row) is in force in Y when ``in_force`` is true, it was issued
  on or before the as-of date (an unknown issue date counts as issued earlier) and its
  ``valid_until`` is empty or falls on/after 1 January of Y. A revoked result (``in_force`` false)
  is not counted in any year: the catalog does not know when it was revoked.
* It is *digitized* when a document in state ``stored`` linked to it (``documents.result_id``)
  has ``stored_at`` before the end of the as-of day (Vietnam time, UTC+7).
* A stored document not linked to any result is proof of a result nobody registered: it counts
  as one result in force and digitized, under the document's unit, from its ``stored_at`` on.
* The unit, and so the level, is the one ``results.unit_id`` points to: the unit version valid on
  the issue date. After the 2025 reorganisation those results stay under their old unit and
  level, also in later years while they are in force (a 2026 report still has district rows for
  results districts issued); units valid only part of Y carry that ``period`` (a dissolved unit:
  its whole life) and a level whose units cover different periods (2025: communes before and
  after 1 July) gets one row per period plus the whole year.
* The denominator per unit and year is the larger of the registered count (above) and the
  imported baseline total (``quota_baselines``): both undercount (the catalog misses results
  never registered; the baseline is a count reported once), and the larger keeps percent ≤ 100.
* Levels and units are kept separate: a district's figure is what its own agencies issued; it
  does not include its communes (they have their own level and quota). A level's figure is the
  sum over its units in the plan's province.
* Forecast: this year's pace (results digitized since 1 January ÷ days elapsed) carried to
  31 December over the current denominator, capped at 100. Past years: the final percent.
* Status: ``met`` (percent ≥ target), ``on_track`` (forecast ≥ target), ``behind``,
  ``no_target`` (the plan has none for that year and level), ``no_data`` (no results at all).

Counting is done by GROUP BY over indexed columns — registered results through the narrow
tables that triggers keep in step with results and documents (`quota_result_years` counters for
whole years, minus what `quota_result_facts` shows happened after the as-of day) — and Python
only combines the per-unit aggregates (a few hundred rows).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime, time, timedelta, timezone

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from quotas.models import Baseline, ResultFact, ResultYear
from quotas.plans import Plan
from storage import states
from storage.catalog import LEVELS, AdminUnit, Document

LEVEL_ORDER = {level: i for i, level in enumerate(LEVELS)}
LEVEL_NAMES = {"city": "Cấp tỉnh/thành phố", "district": "Cấp huyện", "commune": "Cấp xã"}
VN_TZ = timezone(timedelta(hours=7))
STATUSES = ("met", "on_track", "behind", "no_target", "no_data")
JSON_KEYS = ("unit_code", "unit_name", "level", "year", "valid_results", "digitized", "percent",
             "target_percent", "status", "forecast_percent")


class ProgressError(ValueError):
    pass


@dataclass
class ProgressRow:
    scope: str  # "unit" or "level"
    unit_code: str | None
    unit_name: str
    level: str
    year: int
    period: str | None  # "YYYY-MM-DD/YYYY-MM-DD" when the unit/level group covers part of the year
    valid_results: int
    registered: int
    baseline: int | None
    digitized: int
    digitized_in_year: int
    percent: float
    target_percent: float | None
    gap: float | None  # target − percent, points (0 when met)
    status: str
    forecast_percent: float

    def to_dict(self) -> dict:
        """The machine form: the documented keys first, then scope, period and gap."""
        data = asdict(self)
        ordered = {key: data[key] for key in JSON_KEYS}
        ordered.update(scope=self.scope, period=self.period, gap=self.gap)
        return ordered


@dataclass
class Report:
    year: int
    as_of: date
    plan: Plan
    rows: list[ProgressRow]

    @property
    def units(self) -> list[ProgressRow]:
        return [r for r in self.rows if r.scope == "unit"]

    @property
    def levels(self) -> list[ProgressRow]:
        return [r for r in self.rows if r.scope == "level"]


def day_end(day: date) -> datetime:
    """The first instant after `day` ends in Vietnam, in UTC (how stored_at is written)."""
    return datetime.combine(day + timedelta(days=1), time(), VN_TZ).astimezone(UTC)


def resolve_as_of(year: int | None, as_of: date | None, today: date | None = None) -> tuple[int, date]:
    today = today or datetime.now(VN_TZ).date()  # the day it is in Vietnam, not on the server
    if year is None:
        year = (as_of or today).year
    start, end = date(year, 1, 1), date(year, 12, 31)
    if as_of is None:
        as_of = max(start, min(end, today))
    elif not start <= as_of <= end:
        raise ProgressError(f"--as-of {as_of.isoformat()} is not in {year}")
    return year, as_of


def _units_query(province: str, year: int, level: str | None, unit: str | None):
    """Units of the province that existed by the end of `year`: a dissolved unit's results stay
    reportable under it while they are in force."""
    query = select(AdminUnit.id).where(AdminUnit.province_code == province,
                                       AdminUnit.valid_from <= date(year, 12, 31))
    if level:
        query = query.where(AdminUnit.level == level)
    if unit:
        query = query.where(AdminUnit.code == unit)
    return query


def figure_queries(province: str, year: int, as_of: date, *, level: str | None = None,
                   unit: str | None = None) -> dict:
    """The aggregate queries behind a report (exposed for EXPLAIN in bench/progress.py).

    Registered results come from the trigger-maintained tables (quotas/models.py). `years` sums
    the per-unit yearly counters for the whole year Y (issued by Y, valid into Y; digitized by
    the end of Y, and before Y). A report as of a day D inside Y then takes away what happened
    after D, read from the facts through (unit_id, date) indexes: `issued_after` (results issued
    after D in Y) and `digitized_after` (results first stored after the as-of day, in Y). Both
    are empty for a full year and small for a report as of today, so every report reads mostly
    counters. `unlinked` counts stored documents without a result, `baselines` the imported
    totals. Every query groups by unit."""
    start, end = date(year, 1, 1), date(year, 12, 31)
    year_start, cutoff, year_end = (day_end(start - timedelta(days=1)), day_end(as_of),
                                    day_end(end))
    unit_ids = _units_query(province, year, level, unit).scalar_subquery()
    y, f = ResultYear, ResultFact

    def total(*where):
        return func.coalesce(func.sum(y.results).filter(*where) if where
                             else func.sum(y.results), 0)

    population = (f.unit_id.in_(unit_ids), f.in_force.is_(True),
                  or_(f.valid_until.is_(None), f.valid_until >= start))
    return {
        "years": select(y.unit_id, total().label("registered"),
                        total(y.digitized_year <= year).label("digitized"),
                        total(y.digitized_year < year).label("digitized_before"))
        .where(y.unit_id.in_(unit_ids), y.issued_year <= year, y.valid_year >= year)
        .group_by(y.unit_id),
        "issued_after": select(
            f.unit_id, func.count().label("registered"),
            func.count().filter(f.digitized_at < cutoff).label("digitized"),
            func.count().filter(f.digitized_at < year_start).label("digitized_before"))
        .where(*population, f.issued_on > as_of, f.issued_on <= end)
        .group_by(f.unit_id),
        "digitized_after": select(f.unit_id, func.count().label("digitized"))
        .where(*population, or_(f.issued_on.is_(None), f.issued_on <= end),
               f.digitized_at >= cutoff, f.digitized_at < year_end)
        .group_by(f.unit_id),
        "unlinked": select(Document.unit_id, func.count().label("registered"),
                           func.count().label("digitized"),
                           func.count().filter(Document.stored_at < year_start)
                           .label("digitized_before"))
        .where(Document.unit_id.in_(unit_ids), Document.state == states.STORED,
               Document.result_id.is_(None), Document.stored_at < cutoff)
        .group_by(Document.unit_id),
        "baselines": select(Baseline.unit_id, Baseline.valid_results).where(
            Baseline.year == year, Baseline.unit_id.in_(unit_ids)),
    }


def unit_figures(session: Session, province: str, year: int, as_of: date, *,
                 level: str | None = None, unit: str | None = None) -> dict[int, dict]:
    """Per unit id: registered, digitized, digitized_in_year, baseline — GROUP BY queries only."""
    queries = figure_queries(province, year, as_of, level=level, unit=unit)
    figures: dict[int, dict] = {}

    def slot(unit_id: int) -> dict:
        return figures.setdefault(unit_id, {"registered": 0, "digitized": 0,
                                            "digitized_before": 0, "baseline": None})

    # whole-year counters, minus what happened after the as-of day; an unlinked stored
    # document is a result too
    for name, sign in (("years", 1), ("issued_after", -1), ("unlinked", 1)):
        for unit_id, count, digitized, before in session.execute(queries[name]):
            entry = slot(unit_id)
            entry["registered"] += sign * int(count)
            entry["digitized"] += sign * int(digitized)
            entry["digitized_before"] += sign * int(before)
    for unit_id, digitized in session.execute(queries["digitized_after"]):
        slot(unit_id)["digitized"] -= int(digitized)
    for unit_id, valid in session.execute(queries["baselines"]):
        slot(unit_id)["baseline"] = valid
    for unit_id, entry in list(figures.items()):
        if not (entry["registered"] or entry["baseline"] is not None):
            del figures[unit_id]  # only emptied counters left: the unit has nothing this year
            continue
        entry["digitized_in_year"] = entry["digitized"] - entry["digitized_before"]
    return figures


def _percent(part: int, whole: int) -> float:
    return round(100.0 * part / whole, 2) if whole else 0.0


def _forecast(digitized: int, in_year: int, valid: int, year: int, as_of: date) -> float:
    if not valid:
        return 0.0
    start, end = date(year, 1, 1), date(year, 12, 31)
    elapsed = (as_of - start).days + 1
    remaining = (end - as_of).days
    projected = digitized + in_year / elapsed * remaining
    return round(min(100.0, 100.0 * projected / valid), 2)


def _status(percent: float, forecast: float, target: float | None, valid: int) -> str:
    if target is None:
        return "no_target"
    if not valid:
        return "no_data"
    if percent >= target:
        return "met"
    return "on_track" if forecast >= target else "behind"


def _row(scope, code, name, level, year, period, registered, baseline, digitized, in_year,
         plan: Plan, as_of: date) -> ProgressRow:
    valid = max(registered, baseline or 0)
    percent = _percent(digitized, valid)
    forecast = _forecast(digitized, in_year, valid, year, as_of)
    target = plan.target(year, level)
    return ProgressRow(
        scope=scope, unit_code=code, unit_name=name, level=level, year=year, period=period,
        valid_results=valid, registered=registered, baseline=baseline, digitized=digitized,
        digitized_in_year=in_year, percent=percent, target_percent=target,
        gap=None if target is None else round(max(0.0, target - percent), 2),
        status=_status(percent, forecast, target, valid), forecast_percent=forecast)


def _period(unit: AdminUnit, year: int) -> str | None:
    """The part of `year` the unit existed in (None: all of it); for a unit dissolved before the
    year, its whole life (its results still in force are reported under it)."""
    start, end = date(year, 1, 1), date(year, 12, 31)
    if not unit.valid_on(start) and not unit.valid_on(end) and not (
            start <= unit.valid_from <= end):
        return f"{unit.valid_from.isoformat()}/{unit.valid_to.isoformat()}"
    first = max(start, unit.valid_from)
    last = min(end, unit.valid_to) if unit.valid_to else end
    return None if (first, last) == (start, end) else f"{first.isoformat()}/{last.isoformat()}"


def build_report(session: Session, plan: Plan, *, year: int | None = None,
                 as_of: date | None = None, level: str | None = None, unit: str | None = None,
                 behind: bool = False, all_units: bool = False,
                 today: date | None = None) -> Report:
    """The progress report: unit rows (units with results, or all with `all_units`/`unit`),
    then level rows (not when one unit is asked for)."""
    if level is not None and level not in LEVELS:
        raise ProgressError(f"unknown level {level!r} (expected one of {', '.join(LEVELS)})")
    year, as_of = resolve_as_of(year, as_of, today)
    figures = unit_figures(session, plan.province, year, as_of, level=level, unit=unit)
    start, end = date(year, 1, 1), date(year, 12, 31)
    units = [u for u in session.scalars(select(AdminUnit).where(
        AdminUnit.id.in_(_units_query(plan.province, year, level, unit))))
        if u.id in figures or u.valid_to is None or u.valid_to >= start]
    if unit and not units:
        raise ProgressError(f"no unit {unit!r} in province {plan.province} by {end.isoformat()}")

    unit_rows: list[ProgressRow] = []
    for admin in units:
        fig = figures.get(admin.id)
        if fig is None and not (all_units or unit):
            continue
        fig = fig or {"registered": 0, "digitized": 0, "digitized_in_year": 0, "baseline": None}
        unit_rows.append(_row("unit", admin.code, admin.name, admin.level, year,
                              _period(admin, year), fig["registered"], fig["baseline"],
                              fig["digitized"], fig["digitized_in_year"], plan, as_of))
    unit_rows.sort(key=lambda r: (LEVEL_ORDER.get(r.level, 9), r.period or "", r.unit_code))

    level_rows: list[ProgressRow] = []
    if not unit:
        groups: dict[tuple[str, str | None], list[ProgressRow]] = {}
        for admin in units:  # every unit of the level counts, with or without results
            fig = figures.get(admin.id)
            row = _row("unit", admin.code, admin.name, admin.level, year, _period(admin, year),
                       fig["registered"] if fig else 0, fig["baseline"] if fig else None,
                       fig["digitized"] if fig else 0, fig["digitized_in_year"] if fig else 0,
                       plan, as_of)
            groups.setdefault((admin.level, row.period), []).append(row)
        for lvl in sorted({lvl for lvl, _ in groups}, key=lambda v: LEVEL_ORDER.get(v, 9)):
            periods = sorted((p for lv, p in groups if lv == lvl), key=lambda p: p or "")
            parts = [(p, groups[(lvl, p)]) for p in periods]
            if len(parts) > 1:
                parts.insert(0, (None, [r for _, rows in parts for r in rows]))
            for period, rows in parts:
                level_rows.append(_row(
                    "level", None, LEVEL_NAMES.get(lvl, lvl), lvl, year, period,
                    sum(r.valid_results for r in rows), None, sum(r.digitized for r in rows),
                    sum(r.digitized_in_year for r in rows), plan, as_of))
    rows = level_rows + unit_rows
    if behind:
        rows = [r for r in rows if r.status == "behind"]
    return Report(year=year, as_of=as_of, plan=plan, rows=rows)


def digitized_counts(session: Session) -> list[dict]:
    """Foundation view kept for callers: per unit with documents, stored/needs review/failed."""
    query = (
        select(AdminUnit.level, AdminUnit.code, AdminUnit.name,
               func.count(Document.id).label("documents"),
               func.count(Document.id).filter(Document.state == states.STORED).label("stored"),
               func.count(Document.id).filter(Document.state == states.NEEDS_REVIEW)
               .label("needs_review"),
               func.count(Document.id).filter(Document.state == states.FAILED).label("failed"))
        .join(Document, Document.unit_id == AdminUnit.id)
        .group_by(AdminUnit.level, AdminUnit.code, AdminUnit.name)
    )
    rows = [dict(r._mapping) for r in session.execute(query)]
    rows.sort(key=lambda r: (LEVEL_ORDER.get(r["level"], 9), r["code"]))
    return rows


__all__ = ["ProgressError", "ProgressRow", "Report", "build_report", "day_end",
           "digitized_counts", "resolve_as_of", "unit_figures"]
