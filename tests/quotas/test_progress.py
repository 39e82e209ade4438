"""Progress figures equal hand counts on a small catalog, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import func, select

from quotas.facts import facts_mismatches, rebuild_facts
from quotas.plans import get_plan, load_plan
from quotas.progress import ProgressError, build_report, resolve_as_of
from quotas.ratios import ratios_766
from storage.catalog import AuditEvent
from tests.quotas.conftest import add_document, add_result, utc

HANOI = get_plan()


def fixture_2024(session):
    """The hand-counted catalog. Expected 2024 figures are in the comments."""
    # City (01): in force in 2024 = 5, digitized by 31/12/2024 = 3.
    c1 = add_result(session, "01", date(2022, 5, 1))
    add_document(session, result=c1, stored_at=utc(2023, 3, 1, 3))
    c2 = add_result(session, "01", date(2024, 2, 1))
    add_document(session, result=c2, stored_at=utc(2024, 2, 10, 3))
    c3 = add_result(session, "01", None, valid_until=date(2030, 1, 1))  # old result, no date
    add_document(session, result=c3, stored_at=utc(2024, 8, 1, 3))
    add_result(session, "01", date(2024, 7, 1))  # not digitized
    c5 = add_result(session, "01", date(2024, 3, 1))  # 05:00 on 1 Jan 2025 in Hanoi: too late
    add_document(session, result=c5, stored_at=utc(2024, 12, 31, 22))
    # not in force in 2024: expired 2023, revoked, issued 2025
    old = add_result(session, "01", date(2020, 1, 1), valid_until=date(2023, 12, 31))
    add_document(session, result=old, stored_at=utc(2022, 1, 1))
    revoked = add_result(session, "01", date(2023, 1, 1), in_force=False)
    add_document(session, result=revoked, stored_at=utc(2023, 6, 1))
    add_result(session, "01", date(2025, 1, 2))
    # → city: 5 valid (c1..c5), 3 digitized (c1, c2, c3)

    # District 001 (Quận Ba Đình): 2 valid, 2 digitized; one also has a copy under review.
    d1 = add_result(session, "001", date(2023, 4, 1))
    add_document(session, result=d1, stored_at=utc(2024, 1, 5))
    d2 = add_result(session, "001", date(2024, 4, 1))
    add_document(session, result=d2, stored_at=utc(2024, 5, 5))
    add_document(session, result=d2, state="needs_review")

    # Commune 00004 (Phường Trúc Bạch until 2025-06-30): 4 valid, 1 digitized (stored twice),
    # 1 only under review.
    t1 = add_result(session, "00004", date(2021, 9, 9))
    add_document(session, result=t1, stored_at=utc(2024, 9, 1))
    add_document(session, result=t1, stored_at=utc(2024, 10, 1))
    t2 = add_result(session, "00004", date(2022, 9, 9))
    add_document(session, result=t2, state="needs_review")
    add_result(session, "00004", date(2023, 9, 9))
    add_result(session, "00004", date(2024, 9, 9), valid_until=date(2024, 12, 31))
    # Commune 00001 (Phường Phúc Xá): 2 registered, both digitized; baseline says 10.
    for day in (1, 2):
        p = add_result(session, "00001", date(2024, 1, day))
        add_document(session, result=p, stored_at=utc(2024, 3, day))
    # Commune 00007: one stored document nobody registered a result for.
    add_document(session, unit_code="00007", on=date(2024, 1, 1), stored_at=utc(2024, 6, 1))
    # a failed copy counts nowhere
    add_document(session, unit_code="00007", on=date(2024, 1, 1), state="failed")


def add_baseline(session, code, year, count, on=None):
    from quotas.models import Baseline
    from storage.units import find_unit

    session.add(Baseline(unit_id=find_unit(session, code, on=on or date(year, 1, 1)).id,
                         year=year, valid_results=count, source="test"))


def rows_by_code(report):
    return {r.unit_code: r for r in report.units}


def level(report, name, period=None):
    (row,) = [r for r in report.levels if r.level == name and r.period == period]
    return row


def test_full_year_figures_equal_hand_count(runtime):
    with runtime.session() as s:
        fixture_2024(s)
        add_baseline(s, "00001", 2024, 10)
    with runtime.session() as s:
        report = build_report(s, HANOI, year=2024)
    assert report.as_of == date(2024, 12, 31)
    units = rows_by_code(report)
    assert set(units) == {"01", "001", "00004", "00001", "00007"}
    expect = {  # code: (valid, digitized, percent, target, status)
        "01": (5, 3, 60.0, 90.0, "behind"),
        "001": (2, 2, 100.0, 80.0, "met"),
        "00004": (4, 1, 25.0, 75.0, "behind"),
        "00001": (10, 2, 20.0, 75.0, "behind"),
        # only a stored document nobody registered: its count is "what we digitized", no
        # denominator, so no percent (it used to show 100% met)
        "00007": (1, 1, None, 75.0, "no_data"),
    }
    for code, (valid, digitized, percent, target, status) in expect.items():
        row = units[code]
        assert (row.valid_results, row.digitized, row.percent, row.target_percent,
                row.status) == (valid, digitized, percent, target, status), code
        assert row.forecast_percent == percent  # a finished year: the forecast is the result
    assert units["00001"].registered == 2 and units["00001"].baseline == 10
    assert units["00004"].unit_name == "Phường Trúc Bạch"
    assert units["001"].level == "district" and units["01"].level == "city"

    city, district, commune = (level(report, n) for n in ("city", "district", "commune"))
    assert (city.valid_results, city.digitized) == (5, 3)
    assert (district.valid_results, district.digitized, district.status) == (2, 2, "met")
    # communes: 4 + 10 valid, 1 + 2 digitized (00007 has no denominator); a district does not
    # include its communes
    assert (commune.valid_results, commune.digitized, commune.percent) == (14, 3, 21.43)
    assert commune.gap == 53.57 and commune.status == "behind"
    (total,) = report.totals
    assert (total.valid_results, total.digitized, total.percent) == (21, 8, 38.1)
    assert (total.pending_review, total.target_percent, total.status) == (2, None, "no_target")


def test_as_of_counts_only_what_existed_then(runtime):
    with runtime.session() as s:
        fixture_2024(s)
    with runtime.session() as s:
        report = build_report(s, HANOI, year=2024, as_of=date(2024, 6, 30))
    units = rows_by_code(report)
    # city by 30/06/2024: c1, c2, c3, c5 issued (c4 on 1 July is not); c1, c2 digitized
    assert (units["01"].valid_results, units["01"].digitized) == (4, 2)
    # forecast: c2 digitized this year over 182 days, 184 days to go → 2 + 184/182 = 3.01 of 4
    assert units["01"].forecast_percent == round(100 * (2 + 1 / 182 * 184) / 4, 2)
    # 00004: t4 (issued 9/9/2024) not yet; t1 stored only in September
    assert (units["00004"].valid_results, units["00004"].digitized) == (3, 0)
    assert units["00004"].forecast_percent == 0.0
    # the district: d1 stored 5 Jan, d2 issued April and stored May
    assert (units["001"].valid_results, units["001"].digitized, units["001"].percent) == (2, 2, 100)
    assert "00007" in units and units["00007"].digitized == 1


def test_as_of_outside_year_is_refused():
    with pytest.raises(ProgressError, match="not in 2024"):
        resolve_as_of(2024, date(2025, 1, 1))
    assert resolve_as_of(None, date(2025, 3, 1)) == (2025, date(2025, 3, 1))
    assert resolve_as_of(2023, None, today=date(2026, 5, 1)) == (2023, date(2023, 12, 31))
    assert resolve_as_of(2026, None, today=date(2026, 5, 1)) == (2026, date(2026, 5, 1))


def test_forecast_from_this_years_pace(runtime, tmp_path):
    plan_file = tmp_path / "p.toml"
    plan_file.write_text('[plan]\nid = "t"\nprovince = "01"\n[targets.2026]\ncommune = 50\n'
                         'city = 90\n', encoding="utf-8")
    plan = load_plan(plan_file)
    with runtime.session() as s:
        for i in range(10):
            r = add_result(s, "00004", date(2025, 8, 1 + i))  # Phường Ba Đình (2025 list)
            if i < 2:
                add_document(s, result=r, stored_at=utc(2025, 12, 1))
            elif i < 4:
                add_document(s, result=r, stored_at=utc(2026, 3, 1))
            elif i == 4:
                add_document(s, result=r, stored_at=utc(2026, 8, 1))  # after the as-of date
        add_result(s, "01", date(2026, 1, 5))
    with runtime.session() as s:
        report = build_report(s, plan, year=2026, as_of=date(2026, 7, 2))
    ward = rows_by_code(report)["00004"]
    assert ward.unit_name == "Phường Ba Đình" and ward.period is None
    assert (ward.valid_results, ward.digitized, ward.percent) == (10, 4, 40.0)
    # 2 digitized in 183 days of 2026, 182 days left: 4 + 2/183*182 of 10
    assert ward.forecast_percent == round(100 * (4 + 2 / 183 * 182) / 10, 2) == 59.89
    assert ward.status == "on_track" and ward.target_percent == 50
    city = rows_by_code(report)["01"]
    assert (city.percent, city.forecast_percent, city.status) == (0.0, 0.0, "behind")
    with runtime.session() as s:
        behind = build_report(s, plan, year=2026, as_of=date(2026, 7, 2), behind=True)
    assert [(r.scope, r.unit_code or r.level) for r in behind.rows] == [
        ("level", "city"), ("unit", "01")]


def test_2025_keeps_issuing_unit_and_splits_periods(runtime):
    with runtime.session() as s:
        old = add_result(s, "00004", date(2024, 5, 1))  # Trúc Bạch, still in force in 2025
        add_document(s, result=old, stored_at=utc(2025, 8, 1))  # digitized after the reform
        add_result(s, "00004", date(2025, 3, 1))  # Trúc Bạch
        new1 = add_result(s, "00004", date(2025, 9, 1))  # Ba Đình (new ward)
        add_document(s, result=new1, stored_at=utc(2025, 9, 2))
        add_result(s, "00004", date(2025, 10, 1))
        add_result(s, "00004", date(2025, 11, 1))
        dist = add_result(s, "001", date(2025, 2, 1))
        add_document(s, result=dist, stored_at=utc(2025, 2, 3))
    with runtime.session() as s:
        report = build_report(s, HANOI, year=2025)
    wards = [r for r in report.units if r.unit_code == "00004"]
    by_name = {r.unit_name: r for r in wards}
    assert set(by_name) == {"Phường Trúc Bạch", "Phường Ba Đình"}
    truc_bach, ba_dinh = by_name["Phường Trúc Bạch"], by_name["Phường Ba Đình"]
    assert truc_bach.period == "2025-01-01/2025-06-30" and ba_dinh.period == "2025-07-01/2025-12-31"
    assert (truc_bach.valid_results, truc_bach.digitized) == (2, 1)
    assert (ba_dinh.valid_results, ba_dinh.digitized) == (3, 1)
    district = level(report, "district", "2025-01-01/2025-06-30")
    assert (district.valid_results, district.digitized, district.status) == (1, 1, "met")
    assert not [r for r in report.levels if r.level == "district" and r.period != district.period]
    whole = level(report, "commune")
    first = level(report, "commune", "2025-01-01/2025-06-30")
    second = level(report, "commune", "2025-07-01/2025-12-31")
    assert (first.valid_results, first.digitized) == (2, 1)
    assert (second.valid_results, second.digitized) == (3, 1)
    assert (whole.valid_results, whole.digitized, whole.percent) == (5, 2, 40.0)
    assert whole.target_percent == 100.0
    # no district after 1 July: a 2026 report lists the 126 new wards; the results Trúc Bạch and
    # Quận Ba Đình issued are still in force, so they stay reported under them (and their level)
    with runtime.session() as s:
        later = build_report(s, HANOI, year=2026, as_of=date(2026, 1, 31), all_units=True)
    new_wards = [r for r in later.units if r.level == "commune" and r.period is None]
    assert len(new_wards) == 126
    gone = {r.unit_name: r for r in later.units if r.period}
    assert set(gone) == {"Phường Trúc Bạch", "Quận Ba Đình"}
    assert gone["Quận Ba Đình"].period.endswith("/2025-06-30")
    assert (gone["Phường Trúc Bạch"].valid_results, gone["Phường Trúc Bạch"].digitized) == (2, 1)
    (district_2026,) = [r for r in later.levels if r.level == "district"]
    assert (district_2026.valid_results, district_2026.target_percent) == (1, None)
    assert district_2026.status == "no_target"


def test_level_and_unit_filters(runtime):
    with runtime.session() as s:
        fixture_2024(s)
    with runtime.session() as s:
        communes = build_report(s, HANOI, year=2024, level="commune")
        one = build_report(s, HANOI, year=2024, unit="001")
        everyone = build_report(s, HANOI, year=2024, level="district", all_units=True)
    assert {r.level for r in communes.rows} == {"commune"}
    assert {r.unit_code for r in communes.units} == {"00004", "00001", "00007"}
    assert [r.unit_code for r in one.rows] == ["001"] and one.levels == []
    assert len(everyone.units) == 30
    district_level = level(everyone, "district")
    assert (district_level.valid_results, district_level.digitized) == (2, 2)
    with runtime.session() as s, pytest.raises(ProgressError, match="no unit '99999'"):
        build_report(s, HANOI, year=2024, unit="99999")
    with runtime.session() as s, pytest.raises(ProgressError, match="unknown level"):
        build_report(s, HANOI, year=2024, level="province")


def test_behind_keeps_only_rows_that_will_miss(runtime):
    with runtime.session() as s:
        fixture_2024(s)
    with runtime.session() as s:
        report = build_report(s, HANOI, year=2024, behind=True)
    assert {r.status for r in report.rows} == {"behind"}
    assert {r.unit_code for r in report.units} == {"01", "00004"}
    assert {r.level for r in report.levels} == {"city", "commune"}


def test_facts_follow_every_change(runtime):
    """Triggers keep quota_result_facts equal to a rebuild after inserts, links, state changes,
    unlinks, revocations and deletes."""
    from storage.catalog import Document, Result

    with runtime.session() as s:
        fixture_2024(s)
    with runtime.session() as s:
        assert facts_mismatches(s) == []
        results = s.scalars(select(Result).order_by(Result.issued_on)).all()
        doc = add_document(s, result=results[0], state="classified")
        doc.state, doc.stored_at = "stored", utc(2020, 1, 1)  # stored earlier than any other
        spare = s.scalars(select(Document).where(Document.result_id.is_(None),
                                                 Document.state == "stored")).first()
        spare.result_id = results[1].id  # linked after the fact
        results[2].in_force = False
        results[3].valid_until = date(2020, 1, 1)
        s.flush()
        moved = s.scalars(select(Document).where(Document.result_id == results[4].id)).all()
        for d in moved:
            d.result_id = None
        s.flush()
        victim = results[5]
        for d in s.scalars(select(Document).where(Document.result_id == victim.id)):
            s.delete(d)
        s.flush()
        s.delete(victim)
        s.flush()
        assert facts_mismatches(s) == []
        count = s.scalar(select(func.count()).select_from(Result))
        assert rebuild_facts(s) == count
        assert facts_mismatches(s) == []


def test_decision_766_ratios(runtime):
    with runtime.session() as s:
        rs = [add_result(s, "00001", date(2024, 2, i + 1)) for i in range(4)]
        add_document(s, result=rs[0], stored_at=utc(2024, 3, 1))
        reused = add_document(s, result=rs[1], stored_at=utc(2024, 3, 1))
        add_document(s, result=rs[2], state="needs_review",  # electronic copy, not signed yet
                     created_at=utc(2024, 3, 5))
        add_document(s, result=rs[3], state="failed", pdf=False)
        add_result(s, "00001", date(2023, 12, 31))  # another year
        s.add(AuditEvent(actor="api:portal", action="api.fetch", document_id=reused.id,
                         at=utc(2024, 4, 1)))
        s.add(AuditEvent(actor="api:portal", action="api.fetch", document_id=reused.id,
                         at=utc(2024, 4, 2)))  # fetched twice, one result reused
        s.add(AuditEvent(actor="pipeline", action="stored", document_id=rs[0].id))
    with runtime.session() as s:
        (row,) = ratios_766(s, "01", year=2024)
    assert (row.unit_code, row.results, row.electronic, row.digitized, row.reused) == (
        "00001", 4, 3, 2, 1)
    assert (row.electronic_percent, row.digitized_percent, row.reused_percent) == (75, 50, 25)
    assert row.full_points is False


def brute_force(session, year: int, as_of: date) -> dict[tuple[str, str], tuple[int, int]]:
    """The measure counted row by row in Python, straight from results and documents."""
    from quotas.progress import day_end
    from storage.catalog import Document, Result

    start, cutoff = date(year, 1, 1), day_end(as_of)
    stored: dict[str, datetime] = {}
    for doc in session.scalars(select(Document).where(Document.state == "stored")):
        at = doc.stored_at if doc.stored_at.tzinfo else doc.stored_at.replace(tzinfo=UTC)
        if doc.result_id and (doc.result_id not in stored or at < stored[doc.result_id]):
            stored[doc.result_id] = at
    counts: dict[tuple[str, str], list[int]] = {}
    for r in session.scalars(select(Result)):
        if not r.in_force or (r.issued_on and r.issued_on > as_of):
            continue
        if r.valid_until and r.valid_until < start:
            continue
        entry = counts.setdefault((r.unit.code, r.unit.name), [0, 0])
        entry[0] += 1
        entry[1] += r.id in stored and stored[r.id] < cutoff
    return {k: tuple(v) for k, v in counts.items()}


def random_catalog(s, seed: int = 8) -> None:
    """120 results over four units and 2019–2026, with stored and waiting copies."""
    import random

    rng = random.Random(seed)
    for _ in range(120):
        issued = None if rng.random() < 0.1 else date(2019, 1, 1) + timedelta(
            days=rng.randrange(8 * 365))
        code = rng.choice(["01", "001", "00004", "00001"])
        if issued and issued >= date(2025, 7, 1) and code in ("001", "00001"):
            code = "00004"  # no district after the reform; 00001 was merged away
        valid_until = issued + timedelta(days=rng.randrange(1, 1500)) if (
            issued and rng.random() < 0.4) else None
        r = add_result(s, code, issued, valid_until=valid_until,
                       in_force=rng.random() > 0.05, on=date(2024, 1, 1))
        for _ in range(rng.choice([0, 0, 1, 1, 2])):
            lo = datetime.combine(issued or date(2019, 1, 1), datetime.min.time(), UTC)
            add_document(s, result=r, state=rng.choice(["stored"] * 4 + ["needs_review"]),
                         stored_at=lo + timedelta(hours=rng.randrange(5 * 365 * 24)))


def test_random_catalog_matches_a_row_by_row_count(runtime):
    """Both paths (yearly counters for whole years, facts for as-of days) against brute force."""
    with runtime.session() as s:
        random_catalog(s)
    with runtime.session() as s:
        for year, as_of in [(2021, None), (2023, None), (2024, None), (2025, None),
                            (2024, date(2024, 2, 29)), (2025, date(2025, 7, 1)),
                            (2026, date(2026, 1, 1)), (2025, date(2025, 12, 30))]:
            report = build_report(s, HANOI, year=year, as_of=as_of or date(year, 12, 31))
            got = {(r.unit_code, r.unit_name): (r.valid_results, r.digitized) for r in report.units}
            assert got == brute_force(s, year, as_of or date(year, 12, 31)), (year, as_of)
        assert facts_mismatches(s) == []


def test_month_ends_in_one_pass_equal_a_report_per_month(runtime):
    """`--by month` reads the year once (month_end_figures); each month must equal the report
    as of that month's last day, unlinked documents and 17:00 UTC month-end boundaries
    included."""
    from quotas.progress import build_month_reports

    with runtime.session() as s:
        random_catalog(s, seed=16)
        add_document(s, unit_code="00001", on=date(2024, 1, 1), stored_at=utc(2024, 5, 31, 18))
        add_document(s, unit_code="00001", on=date(2024, 1, 1), stored_at=utc(2024, 5, 31, 16))
    with runtime.session() as s:
        for year in (2023, 2024, 2025):
            series = build_month_reports(s, HANOI, year=year, as_of=date(year, 12, 31))
            assert len(series) == 12
            for report in series:
                one = build_report(s, HANOI, year=year, as_of=report.as_of)
                assert [r.to_dict() for r in report.rows] == [r.to_dict() for r in one.rows], (
                    report.as_of)


def test_trend_in_one_pass_equals_a_report_per_year(runtime):
    """`--year 2021-2025` folds the yearly counters once (year_series_figures); every year must
    equal its own report, with baselines of some years, unlinked documents stored on a 17:00 UTC
    year boundary and a year not over yet (as of today) in the range."""
    from quotas.progress import build_year_reports

    with runtime.session() as s:
        random_catalog(s, seed=21)
        add_document(s, unit_code="00001", on=date(2023, 1, 1), stored_at=utc(2023, 12, 31, 17))
        add_document(s, unit_code="00001", on=date(2023, 1, 1), stored_at=utc(2023, 12, 31, 16))
        add_document(s, unit_code="00004", on=date(2019, 1, 1), stored_at=utc(2019, 5, 1))
        add_baseline(s, "00004", 2022, 40)
        add_baseline(s, "001", 2024, 7)
    with runtime.session() as s:
        for first, last, today in ((2021, 2025, date(2026, 3, 1)),
                                   (2019, 2026, date(2026, 3, 1)),
                                   (2024, 2024, date(2026, 3, 1)),
                                   (2023, 2025, date(2025, 8, 15))):
            series = build_year_reports(s, HANOI, first, last, today=today)
            assert [r.year for r in series] == list(range(first, last + 1))
            for report in series:
                one = build_report(s, HANOI, year=report.year, today=today)
                assert report.as_of == one.as_of
                assert [r.to_dict() for r in report.rows] == [r.to_dict() for r in one.rows], (
                    first, last, report.year)
            assert any(r.valid_results for rep in series for r in rep.units)
        with pytest.raises(ProgressError):
            build_year_reports(s, HANOI, 2025, 2021)
