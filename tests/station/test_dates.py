"""Dates typed at the counter become ISO dates; unreadable ones are refused in Vietnamese."""

from __future__ import annotations

from datetime import date

import pytest

from station.dates import BadDate, parse_vn_date, to_iso


@pytest.mark.parametrize("typed", ["05/12/2026", "5/12/2026", "2026-12-05", " 05.12.2026 ",
                                   "5-12-2026", "05 / 12 / 2026"])
def test_ways_clerks_type_a_date(typed):
    assert parse_vn_date(typed) == date(2026, 12, 5)


@pytest.mark.parametrize("typed", ["31/02/2026", "12/2026", "ngày 5", "2026/12/05", "05/12/26",
                                   "00/01/2026", "1/1/1800"])
def test_unreadable_dates_are_refused_in_vietnamese(typed):
    with pytest.raises(BadDate) as err:
        parse_vn_date(typed)
    assert "Ngày không hợp lệ" in err.value.vi and "ngày/tháng/năm" in err.value.vi


def test_empty_is_no_date():
    assert parse_vn_date("") is None and to_iso("  ") == ""
    assert to_iso("1/2/2025") == "2025-02-01"
