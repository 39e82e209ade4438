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
  It is only *known* when the unit has a baseline for the year or results the one-stop system
  registered (``results.registered``): otherwise the count would be just "what we digitized",
  so the row shows no percent ("chưa có số liệu", status ``no_data``) instead of 100%, and a
  level or total row adds up only units whose denominator is known.
* A year the plan has no targets for (after Plan 161 ends in 2025) is reported with a note
  saying so and how to load the next plan (``--plan``); its rows have status ``no_target``.
* Levels and units are kept separate: a district's figure is what its own agencies issued; it
  does not include its communes (they have their own level and quota). A level's figure is the
  sum over its units in the plan's province.
* Forecast: this year's pace (results digitized since 1 January ÷ days elapsed) carried to
  31 December over the current denominator, capped at 100. Past years: the final percent.
* Status: ``met`` (percent ≥ target), ``on_track`` (forecast ≥ target), ``behind``,
  ``no_target`` (the plan has none for that year and level), ``no_data`` (no known denominator).
* Documents waiting for review (``needs_review``) are not digitized yet; each row tells how many
  wait (``pending_review``), since they are the quickest gain.

Counting is done by GROUP BY over indexed columns — registered results through the narrow
tables that triggers keep in step with results and documents (`quota_result_years` counters for
whole years, minus what `quota_result_facts` shows happened after the as-of day) — and Python
only combines the per-unit aggregates (a few hundred rows).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime, time, timedelta, timezone

from sqlalchemy import exists, func, or_, select
from sqlalchemy.orm import Session

from quotas.models import Baseline, ResultFact, ResultYear
from quotas.plans import Plan
from storage import states
from storage.catalog import LEVELS, AdminUnit, Document, Result

LEVEL_ORDER = {level: i for i, level in enumerate(LEVELS)}
LEVEL_NAMES = {"city": "Cấp tỉnh/thành phố", "district": "Cấp huyện", "commune": "Cấp xã"}
VN_TZ = timezone(timedelta(hours=7))
STATUSES = ("met", "on_track", "behind", "no_target", "no_data")
JSON_KEYS = ("unit_code", "unit_name", "level", "year", "valid_results", "digitized", "percent",
             "target_percent", "status", "forecast_percent")
EXTRA_KEYS = ("scope", "period", "gap", "pending_review", "denominator_known")


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
    percent: float | None  # None: no known denominator ("chưa có số liệu")
    target_percent: float | None
    gap: float | None  # target − percent, points (0 when met)
    status: str
    forecast_percent: float | None
    pending_review: int = 0  # documents waiting for a person, not yet digitized
    denominator_known: bool = True

    def to_dict(self) -> dict:
        """The machine form: the documented keys first, then scope, period, gap, pending review
        and whether the denominator is known."""
        data = asdict(self)
        ordered = {key: data[key] for key in JSON_KEYS}
        ordered.update({key: data[key] for key in EXTRA_KEYS})
        return ordered


@dataclass
class Report:
    year: int
    as_of: date
    plan: Plan
    rows: list[ProgressRow]
    notes: list[str] = field(default_factory=list)  # Vietnamese, for the title's reader
    parent: AdminUnit | None = None

    @property
    def beyond_plan(self) -> bool:
        """The plan has no targets for this year (e.g. 2026 under Plan 161, 2021–2025)."""
        return self.year not in self.plan.targets

    @property
    def totals(self) -> list[ProgressRow]:
        return [r for r in self.rows if r.scope == "total"]

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


def _units_query(province: str, year: int, level: str | None, unit: str | None,
                 parent: str | None = None):
    """Units of the province that existed by the end of `year`: a dissolved unit's results stay
    reportable under it while they are in force. `parent`: only units directly under a unit with
    that code (a district's communes, a province's districts and post-2025 communes)."""
    query = select(AdminUnit.id).where(AdminUnit.province_code == province,
                                       AdminUnit.valid_from <= date(year, 12, 31))
    if level:
        query = query.where(AdminUnit.level == level)
    if unit:
        query = query.where(AdminUnit.code == unit)
    if parent:
        parents = select(AdminUnit.id).where(AdminUnit.code == parent).scalar_subquery()
        query = query.where(AdminUnit.parent_id.in_(parents))
    return query


def _state(name: str):
    """A document state written into the SQL, not bound: SQLite uses a partial index
    (ix_quota_documents_review, ix_quota_documents_unlinked) only when the query's WHERE term
    matches the index's literally; with a bound parameter it read every waiting document's row
    (5.8 s instead of 0.1 s at 10M results)."""
    from sqlalchemy import literal

    return literal(name, literal_execute=True)


def figure_queries(province: str, year: int, as_of: date, *, level: str | None = None,
                   unit: str | None = None, parent: str | None = None) -> dict:
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
    unit_ids = _units_query(province, year, level, unit, parent).scalar_subquery()
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
        .where(Document.unit_id.in_(unit_ids), Document.state == _state(states.STORED),
               Document.result_id.is_(None), Document.stored_at < cutoff)
        .group_by(Document.unit_id),
        "baselines": select(Baseline.unit_id, Baseline.valid_results).where(
            Baseline.year == year, Baseline.unit_id.in_(unit_ids)),
        # one index probe per unit (partial index ix_results_unit_registered)
        "registered_units": select(AdminUnit.id).where(
            AdminUnit.id.in_(unit_ids),
            exists().where(Result.unit_id == AdminUnit.id, Result.registered.is_(True))),
        "pending_review": select(Document.unit_id, func.count()).where(
            Document.state == _state(states.NEEDS_REVIEW), Document.unit_id.in_(unit_ids))
        .group_by(Document.unit_id),
    }


def unit_figures(session: Session, province: str, year: int, as_of: date, *,
                 level: str | None = None, unit: str | None = None,
                 parent: str | None = None) -> dict[int, dict]:
    """Per unit id: registered, digitized, digitized_in_year, baseline, known (a real
    denominator), pending_review — GROUP BY queries only."""
    queries = figure_queries(province, year, as_of, level=level, unit=unit, parent=parent)
    figures: dict[int, dict] = {}
    # whole-year counters, minus what happened after the as-of day; an unlinked stored
    # document is a result too
    for name, sign in (("years", 1), ("issued_after", -1), ("unlinked", 1)):
        for unit_id, count, digitized, before in session.execute(queries[name]):
            _add(figures, unit_id, sign * int(count), sign * int(digitized), sign * int(before))
    for unit_id, digitized in session.execute(queries["digitized_after"]):
        _add(figures, unit_id, 0, -int(digitized), 0)
    return _finish(session, queries, figures)


def _add(figures: dict[int, dict], unit_id: int, registered: int, digitized: int,
         before: int) -> None:
    entry = figures.setdefault(unit_id, {"registered": 0, "digitized": 0,
                                         "digitized_before": 0, "baseline": None,
                                         "pending_review": 0})
    entry["registered"] += registered
    entry["digitized"] += digitized
    entry["digitized_before"] += before


def _finish(session: Session, queries: dict, figures: dict[int, dict],
            shared: dict | None = None) -> dict[int, dict]:
    """Baselines, known denominators and pending reviews (the same for every as-of day of a
    year: read once into `shared` for a series)."""
    if shared is None or not shared:
        fresh = {"baselines": dict(session.execute(queries["baselines"]).all()),
                 "pending": dict(session.execute(queries["pending_review"]).all()),
                 "registered": set(session.scalars(queries["registered_units"]))}
        if shared is None:
            shared = fresh
        else:
            shared.update(fresh)
    for unit_id, valid in shared["baselines"].items():
        _add(figures, unit_id, 0, 0, 0)
        figures[unit_id]["baseline"] = valid
    for unit_id, entry in list(figures.items()):
        if not (entry["registered"] or entry["baseline"] is not None):
            del figures[unit_id]  # only emptied counters left: the unit has nothing this year
            continue
        entry["digitized_in_year"] = entry["digitized"] - entry["digitized_before"]
        entry["known"] = entry["baseline"] is not None or unit_id in shared["registered"]
        entry["pending_review"] = shared["pending"].get(unit_id, 0)
    return figures


def _month_case(column, starts: list, before, after):
    """The month (1–12) a date or timestamp falls in, by comparisons with the month starts of
    the year (`starts[m - 1]`: the first instant of month m, Vietnam time for timestamps):
    `before` below the year, `after` from the next year on or when empty. Plain comparisons —
    the same SQL on SQLite and PostgreSQL, and cheaper per row than a time-zone conversion."""
    from sqlalchemy import case

    whens = [(column.is_(None), after), (column < starts[0], before)]
    whens += [(column < starts[m], m) for m in range(1, 12)]
    whens.append((column < starts[12], 12))
    return case(*whens, else_=after)


def month_queries(province: str, year: int, *, level: str | None = None,
                  unit: str | None = None, parent: str | None = None) -> dict:
    """The queries behind month_end_figures (exposed for EXPLAIN in bench/progress.py): the
    year's facts by (unit, month of issue, month first digitized) in two range reads, one per
    (unit_id, date) index — `issued_in_year`, and `digitized_in_year` for results issued
    before the year (one OR over both would read every fact) — and `unlinked` stored documents
    by month stored."""
    from sqlalchemy import literal

    start, end = date(year, 1, 1), date(year, 12, 31)
    year_start, year_end = day_end(start - timedelta(days=1)), day_end(end)
    unit_ids = _units_query(province, year, level, unit, parent).scalar_subquery()
    f = ResultFact
    days = [start] + [date(year, m, 1) for m in range(2, 13)] + [date(year + 1, 1, 1)]
    instants = [day_end(d - timedelta(days=1)) for d in days]  # 00:00 in Vietnam, in UTC
    issued_month = _month_case(f.issued_on, days, 0, 13)
    digitized_month = _month_case(f.digitized_at, instants, 0, 13)
    population = (f.unit_id.in_(unit_ids), f.in_force.is_(True),
                  or_(f.valid_until.is_(None), f.valid_until >= start))
    stored_month = _month_case(Document.stored_at, instants, 0, 13)
    return {
        "issued_in_year": select(f.unit_id, issued_month, digitized_month, func.count())
        .where(*population, f.issued_on >= start, f.issued_on <= end)
        .group_by(f.unit_id, issued_month, digitized_month),
        "digitized_in_year": select(f.unit_id, literal(0), digitized_month, func.count())
        .where(*population, or_(f.issued_on.is_(None), f.issued_on < start),
               f.digitized_at >= year_start, f.digitized_at < year_end)
        .group_by(f.unit_id, digitized_month),
        "unlinked": select(Document.unit_id, stored_month, func.count())
        .where(Document.unit_id.in_(unit_ids), Document.state == _state(states.STORED),
               Document.result_id.is_(None), Document.stored_at < year_end)
        .group_by(Document.unit_id, stored_month),
    }


def month_end_figures(session: Session, province: str, year: int, months: int, *,
                      level: str | None = None, unit: str | None = None,
                      parent: str | None = None) -> dict[int, dict[int, dict]]:
    """`unit_figures` as of the last day of each of the first `months` months of `year`, read in
    one pass: the whole-year counters once, then this year's facts grouped by (unit, month of
    issue, month first digitized) and this year's unlinked documents by month stored
    (month_queries). Same figures as twelve `unit_figures` calls, without reading the year's
    facts twelve times."""
    queries = figure_queries(province, year, date(year, 12, 31), level=level, unit=unit,
                             parent=parent)
    monthly = month_queries(province, year, level=level, unit=unit, parent=parent)
    years = session.execute(queries["years"]).all()
    cells = (session.execute(monthly["issued_in_year"]).all()
             + session.execute(monthly["digitized_in_year"]).all())
    stored = session.execute(monthly["unlinked"]).all()
    # per unit, what each month end adds to or takes from the whole-year counters, as
    # difference arrays over the months (each cell is touched once, not once per month)
    steps: dict[int, list[list[int]]] = {}

    def step(unit_id: int, first_month: int, last_month: int, *delta: int) -> None:
        first_month, last_month = max(first_month, 1), min(last_month, months)
        if first_month > last_month:
            return
        rows = steps.setdefault(unit_id, [[0, 0, 0] for _ in range(months + 2)])
        for i, value in enumerate(delta):
            rows[first_month][i] += value
            rows[last_month + 1][i] -= value

    for unit_id, issued, first, count in cells:
        count = int(count)
        # issued after the month's end: not counted at all yet
        step(unit_id, 1, issued - 1, -count, -count if first <= 12 else 0,
             -count if first == 0 else 0)
        if first <= 12:  # issued by the month's end, digitized after it
            step(unit_id, issued, first - 1, 0, -count, 0)
    for unit_id, at, count in stored:
        count = int(count)
        step(unit_id, at, months, count, count, count if at == 0 else 0)
    shared: dict = {}
    series: dict[int, dict[int, dict]] = {}
    running = {unit_id: [0, 0, 0] for unit_id in steps}
    for month in range(1, months + 1):
        figures: dict[int, dict] = {}
        for unit_id, count, digitized, before in years:
            _add(figures, unit_id, int(count), int(digitized), int(before))
        for unit_id, rows in steps.items():
            total = running[unit_id]
            for i in range(3):
                total[i] += rows[month][i]
            _add(figures, unit_id, *total)
        series[month] = _finish(session, queries, figures, shared)
    return series


def year_series_queries(province: str, first: int, last: int, *, level: str | None = None,
                        unit: str | None = None, parent: str | None = None) -> dict:
    """The queries behind year_series_figures (exposed for EXPLAIN in bench/progress.py):
    `per_unit` reads the yearly counters once and sums, per unit, three filtered columns per
    year of the range (registered, digitized by the end of the year, digitized before it);
    `unlinked` counts stored documents without a result per unit and bucket year; `baselines`
    per year and unit."""
    from sqlalchemy import case

    y = ResultYear
    unit_ids = _units_query(province, last, level, unit, parent).scalar_subquery()
    columns = []
    for year in range(first, last + 1):
        valid = (y.issued_year <= year, y.valid_year >= year)
        columns += [func.coalesce(func.sum(y.results).filter(*valid), 0),
                    func.coalesce(func.sum(y.results).filter(*valid, y.digitized_year <= year), 0),
                    func.coalesce(func.sum(y.results).filter(*valid, y.digitized_year < year), 0)]
    per_unit = (select(y.unit_id, *columns)
                .where(y.unit_id.in_(unit_ids), y.issued_year <= last, y.valid_year >= first)
                .group_by(y.unit_id))
    # unlinked stored documents: the bucket is the first year of the range whose end they
    # precede (first − 1: before the range)
    ends = [(day_end(date(year, 12, 31)), year) for year in range(first - 1, last + 1)]
    stored_year = case(*((Document.stored_at < at, year) for at, year in ends), else_=last + 1)
    unlinked = (select(Document.unit_id, stored_year, func.count())
                .where(Document.unit_id.in_(unit_ids), Document.state == _state(states.STORED),
                       Document.result_id.is_(None), Document.stored_at < ends[-1][0])
                .group_by(Document.unit_id, stored_year))
    baselines = select(Baseline.year, Baseline.unit_id, Baseline.valid_results).where(
        Baseline.year >= first, Baseline.year <= last, Baseline.unit_id.in_(unit_ids))
    return {"per_unit": per_unit, "unlinked": unlinked, "baselines": baselines}


def year_series_figures(session: Session, province: str, first: int, last: int, *,
                        level: str | None = None, unit: str | None = None,
                        parent: str | None = None) -> dict[int, dict[int, dict]]:
    """`unit_figures` for every whole year `first`..`last` (as of 31 December), read in one
    pass: the yearly counters read once, summed per unit with a filter per year of the range;
    unlinked documents bucketed by the year they were stored; baselines of every year in one
    query. Same figures as one `unit_figures` call per year, without reading the counters once
    per year (`--year 2021-2025`)."""
    series_queries = year_series_queries(province, first, last, level=level, unit=unit,
                                         parent=parent)
    per_unit, unlinked, baselines = (series_queries[k] for k in ("per_unit", "unlinked",
                                                                  "baselines"))
    queries = figure_queries(province, last, date(last, 12, 31), level=level, unit=unit,
                             parent=parent)
    counted = session.execute(per_unit).all()
    stored = session.execute(unlinked).all()
    by_year: dict[int, dict[int, int]] = {}
    for year, unit_id, valid_results in session.execute(baselines):
        by_year.setdefault(year, {})[unit_id] = valid_results
    shared = {"pending": dict(session.execute(queries["pending_review"]).all()),
              "registered": set(session.scalars(queries["registered_units"]))}
    series: dict[int, dict[int, dict]] = {}
    for year in range(first, last + 1):
        figures: dict[int, dict] = {}
        at = 1 + 3 * (year - first)
        for row in counted:
            _add(figures, row[0], int(row[at]), int(row[at + 1]), int(row[at + 2]))
        for unit_id, at, count in stored:
            if at <= year:
                _add(figures, unit_id, int(count), int(count), int(count) if at < year else 0)
        series[year] = _finish(session, queries, figures,
                               {**shared, "baselines": by_year.get(year, {})})
    return series


def _percent(part: int, whole: int) -> float:
    return round(100.0 * part / whole, 2) if whole else 0.0


EMPTY = {"registered": 0, "digitized": 0, "digitized_in_year": 0, "baseline": None,
         "known": False, "pending_review": 0}


def _forecast(digitized: int, in_year: int, valid: int, year: int, as_of: date) -> float:
    if not valid:
        return 0.0
    start, end = date(year, 1, 1), date(year, 12, 31)
    elapsed = (as_of - start).days + 1
    remaining = (end - as_of).days
    projected = digitized + in_year / elapsed * remaining
    return round(min(100.0, 100.0 * projected / valid), 2)


def _status(percent: float | None, forecast: float | None, target: float | None,
            valid: int) -> str:
    if percent is None or not valid:
        return "no_data"
    if target is None:
        return "no_target"
    if percent >= target:
        return "met"
    return "on_track" if forecast >= target else "behind"


def _row(scope, code, name, level, year, period, registered, baseline, digitized, in_year,
         plan: Plan, as_of: date, *, known: bool = True, pending: int = 0) -> ProgressRow:
    valid = max(registered, baseline or 0)
    known = known and valid > 0
    percent = _percent(digitized, valid) if known else None
    forecast = _forecast(digitized, in_year, valid, year, as_of) if known else None
    target = plan.target(year, level) if level in LEVELS else None
    return ProgressRow(
        scope=scope, unit_code=code, unit_name=name, level=level, year=year, period=period,
        valid_results=valid, registered=registered, baseline=baseline, digitized=digitized,
        digitized_in_year=in_year, percent=percent, target_percent=target,
        gap=None if target is None or percent is None else round(max(0.0, target - percent), 2),
        status=_status(percent, forecast, target, valid), forecast_percent=forecast,
        pending_review=pending, denominator_known=known)


def _sum_row(scope, name, level, year, period, rows: list[ProgressRow], plan: Plan,
             as_of: date) -> ProgressRow:
    """A level or total row: the units whose denominator is known add up; waiting documents of
    every unit are counted."""
    known = [r for r in rows if r.denominator_known]
    return _row(scope, None, name, level, year, period, sum(r.valid_results for r in known),
                None, sum(r.digitized for r in known),
                sum(r.digitized_in_year for r in known), plan, as_of, known=bool(known),
                pending=sum(r.pending_review for r in rows))


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


def build_month_reports(session: Session, plan: Plan, *, year: int | None = None,
                        as_of: date | None = None, today: date | None = None,
                        **options) -> list[Report]:
    """One report per month end of the year up to the as-of day, then the as-of day itself
    (`--by month`); the month ends are counted in one pass (month_end_figures)."""
    year, as_of = resolve_as_of(year, as_of, today)
    months = as_of.month - 1
    filters = {k: options.get(k) for k in ("level", "unit", "parent")}
    series = month_end_figures(session, plan.province, year, months, **filters) if months else {}
    reports = []
    for month in range(1, months + 1):
        last = date(year, month + 1, 1) - timedelta(days=1)
        reports.append(build_report(session, plan, year=year, as_of=last,
                                    figures=series[month], **options))
    reports.append(build_report(session, plan, year=year, as_of=as_of, **options))
    return reports


def build_year_reports(session: Session, plan: Plan, first: int, last: int, *,
                       today: date | None = None, **options) -> list[Report]:
    """One report per year `first`..`last` (`--year 2021-2025`): the whole years counted in one
    pass (year_series_figures); a year not over yet (this year) as of today, as usual."""
    if first > last:
        raise ProgressError(f"--year {first}-{last}: the first year is after the last")
    whole = [year for year in range(first, last + 1)
             if resolve_as_of(year, None, today)[1] == date(year, 12, 31)]
    filters = {k: options.get(k) for k in ("level", "unit", "parent")}
    if options.get("level") is not None and options["level"] not in LEVELS:
        raise ProgressError(f"unknown level {options['level']!r} (expected one of "
                            f"{', '.join(LEVELS)})")
    series = (year_series_figures(session, plan.province, whole[0], whole[-1], **filters)
              if whole else {})
    return [build_report(session, plan, year=year, today=today, figures=series.get(year),
                         **options) for year in range(first, last + 1)]


def build_report(session: Session, plan: Plan, *, year: int | None = None,
                 as_of: date | None = None, level: str | None = None, unit: str | None = None,
                 parent: str | None = None, behind: bool = False, all_units: bool = False,
                 today: date | None = None, figures: dict[int, dict] | None = None) -> Report:
    """The progress report: level rows and a total row (not when one unit is asked for), then
    unit rows (units with results, or all with `all_units`/`unit`)."""
    if level is not None and level not in LEVELS:
        raise ProgressError(f"unknown level {level!r} (expected one of {', '.join(LEVELS)})")
    year, as_of = resolve_as_of(year, as_of, today)
    parent_unit = None
    if parent:
        parent_unit = session.scalars(select(AdminUnit).where(
            AdminUnit.code == parent, AdminUnit.province_code == plan.province)
            .order_by(AdminUnit.valid_from.desc())).first()
        if parent_unit is None:
            raise ProgressError(f"--parent {parent}: no unit with that code in province "
                                f"{plan.province}")
    if figures is None:  # else precomputed for this as-of day (month_end_figures)
        figures = unit_figures(session, plan.province, year, as_of, level=level, unit=unit,
                               parent=parent)
    start, end = date(year, 1, 1), date(year, 12, 31)
    units = [u for u in session.scalars(select(AdminUnit).where(
        AdminUnit.id.in_(_units_query(plan.province, year, level, unit, parent))))
        if u.id in figures or u.valid_to is None or u.valid_to >= start]
    if unit and not units:
        raise ProgressError(f"no unit {unit!r} in province {plan.province} by {end.isoformat()}")

    def unit_row(admin: AdminUnit) -> ProgressRow:
        fig = figures.get(admin.id) or EMPTY
        return _row("unit", admin.code, admin.name, admin.level, year, _period(admin, year),
                    fig["registered"], fig["baseline"], fig["digitized"],
                    fig["digitized_in_year"], plan, as_of, known=fig["known"],
                    pending=fig["pending_review"])

    every = {admin.id: unit_row(admin) for admin in units}
    unit_rows = [every[a.id] for a in units if a.id in figures or all_units or unit]
    unit_rows.sort(key=lambda r: (LEVEL_ORDER.get(r.level, 9), r.period or "", r.unit_code))

    level_rows: list[ProgressRow] = []
    if not unit:
        groups: dict[tuple[str, str | None], list[ProgressRow]] = {}
        for admin in units:  # every unit of the level counts, with or without results
            row = every[admin.id]
            groups.setdefault((admin.level, row.period), []).append(row)
        for lvl in sorted({lvl for lvl, _ in groups}, key=lambda v: LEVEL_ORDER.get(v, 9)):
            periods = sorted((p for lv, p in groups if lv == lvl), key=lambda p: p or "")
            parts = [(p, groups[(lvl, p)]) for p in periods]
            if len(parts) > 1:
                # the whole level; "all" when one part already covers the whole year (2026: the
                # new communes, plus the dissolved ones whose results are still in force)
                whole = "all" if None in periods else None
                parts.insert(0, (whole, [r for _, rows in parts for r in rows]))
            for period, rows in parts:
                level_rows.append(_sum_row("level", LEVEL_NAMES.get(lvl, lvl), lvl, year, period,
                                           rows, plan, as_of))
        if len({r.level for r in level_rows}) > 1:
            level_rows.append(_sum_row("total", "Tổng cộng", "total", year, None,
                                       list(every.values()), plan, as_of))
    rows = level_rows + unit_rows
    if behind:
        rows = [r for r in rows if r.status == "behind"]
    report = Report(year=year, as_of=as_of, plan=plan, rows=rows, parent=parent_unit)
    report.notes = _notes(report, [every[a.id] for a in units if a.id in figures])
    return report


def _notes(report: Report, unit_rows: list[ProgressRow]) -> list[str]:
    """What a reader of the report must know to read it right (Vietnamese)."""
    notes = []
    plan = report.plan
    if report.beyond_plan:
        span = (f"{plan.years[0]}–{plan.years[-1]}" if plan.years else "không có năm nào")
        notes.append(f"Năm {report.year} nằm ngoài kế hoạch đã nạp ({plan.name}, chỉ tiêu "
                     f"{span}): chưa có chỉ tiêu để so sánh. Nạp kế hoạch năm {report.year} "
                     f"bằng: sohoa progress --year {report.year} --plan KE_HOACH.toml "
                     f"(mẫu tệp: sohoa plans --help).")
    missing = [r for r in unit_rows if not r.denominator_known]
    if missing:
        notes.append(f"{len(missing)} đơn vị chưa có số liệu năm {report.year} (chưa nhập tổng "
                     "số kết quả còn hiệu lực bằng sohoa baseline import, hoặc danh sách kết quả "
                     "bằng sohoa results import): không tính tỷ lệ, không cộng vào cấp.")
    pending = sum(r.pending_review for r in unit_rows)
    if pending:
        notes.append(f"{pending} bản số hóa đang chờ kiểm tra (sohoa review list): chưa được "
                     "tính là đã số hóa.")
    return notes


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


__all__ = ["ProgressError", "ProgressRow", "Report", "build_month_reports", "build_report",
           "build_year_reports", "day_end", "month_end_figures", "year_series_figures",
           "year_series_queries", "month_queries",
           "digitized_counts", "resolve_as_of", "unit_figures"]
