"""Quota plans as data: the shipped Hanoi plan, relative targets, the cap, and bad files."""

from __future__ import annotations

import pytest

from quotas.plans import PlanError, get_plan, load_plan, parse_plan


def test_hanoi_161_targets():
    plan = get_plan()
    assert plan.id == "hanoi-161-2021-2025" and plan.province == "01"
    assert plan.years == [2021, 2022, 2023, 2024, 2025]
    assert [plan.target(y, "city") for y in plan.years] == [30, 50, 70, 90, 100]
    assert [plan.target(y, "district") for y in plan.years] == [20, 40, 60, 80, 100]
    assert [plan.target(y, "commune") for y in plan.years] == [15, 35, 55, 75, 100]
    assert plan.target(2026, "city") is None and plan.target(2020, "commune") is None


def _plan(targets: str) -> str:
    return f'[plan]\nid = "x"\nprovince = "79"\n{targets}'


def test_relative_targets_are_capped_at_100(tmp_path):
    path = tmp_path / "hcm.toml"
    path.write_text(_plan('[targets.2023]\ncity = 70\ncommune = 99.5\n[targets.2024]\n'
                          'city = "+20"\ncommune = "+ 0.25"\n[targets.2025]\ncity = "+20"\n'
                          'commune = 150\n'), encoding="utf-8")
    plan = load_plan(path)
    assert plan.target(2024, "city") == 90 and plan.target(2025, "city") == 100
    assert plan.target(2024, "commune") == 99.75 and plan.target(2025, "commune") == 100
    assert get_plan(str(path)).province == "79"


@pytest.mark.parametrize("targets, message", [
    ('[targets.2022]\ncity = "+20"\n', "relative but the previous year has no target"),
    ('[targets.2021]\nprovince = 30\n', "unknown level"),
    ('[targets.2021]\ncity = -5\n', "negative target"),
    ('[targets.2021]\ncity = "thirty"\n', "neither a percent nor"),
    ('[targets.2021]\ncity = true\n', "is not a percent"),
    ('[targets.next]\ncity = 30\n', "must be a year"),
    ('', "no [targets.<year>] tables"),
])
def test_bad_plans_name_the_file_and_key(tmp_path, targets, message):
    path = tmp_path / "bad.toml"
    path.write_text(_plan(targets), encoding="utf-8")
    with pytest.raises(PlanError, match="bad.toml") as info:
        load_plan(path)
    assert message in str(info.value)


def test_unreadable_and_unknown_plans(tmp_path):
    broken = tmp_path / "broken.toml"
    broken.write_text("[plan\nid=", encoding="utf-8")
    with pytest.raises(PlanError, match="not valid TOML"):
        load_plan(broken)
    with pytest.raises(PlanError, match="no such plan file"):
        load_plan(tmp_path / "missing.toml")
    with pytest.raises(PlanError, match="no such plan"):
        get_plan("hanoi-2099")
    with pytest.raises(PlanError, match=r"missing \[plan\]"):
        parse_plan({"targets": {"2021": {"city": 1}}})
