"""Admin units: both official lists seeded, codes resolved by date, reused codes kept apart."""

from datetime import date

import pytest
from sqlalchemy import func, select

from storage import db
from storage.catalog import AdminUnit
from storage.units import UnknownUnit, find_unit, seed_units


@pytest.fixture(scope="module")
def catalog_url(tmp_path_factory):
    url = f"sqlite:///{tmp_path_factory.mktemp('units') / 'catalog.sqlite3'}"
    db.upgrade(url)
    with db.session_scope(url) as session:
        assert seed_units(session) > 10_000
    return url


def count(session, **where):
    query = select(func.count()).select_from(AdminUnit)
    for key, value in where.items():
        query = query.where(getattr(AdminUnit, key) == value)
    return session.scalar(query)


def test_hanoi_has_both_periods(catalog_url):
    with db.session_scope(catalog_url) as s:
        assert count(s, province_code="01", level="district") == 30
        legacy = count(s, province_code="01", level="commune", source="legacy-63")
        reform = count(s, province_code="01", level="commune", source="2025-34")
        assert legacy == 526  # the list the package ships: after the March 2025 mergers
        assert reform == 126
        assert count(s, level="city", source="2025-34") + count(s, level="city") >= 34


def test_reused_code_resolves_by_date(catalog_url):
    with db.session_scope(catalog_url) as s:
        old = find_unit(s, "00004", date(2021, 3, 1))
        new = find_unit(s, "00004", date(2025, 7, 1))
        assert old.name == "Phường Trúc Bạch" and old.parent.name == "Quận Ba Đình"
        assert new.name == "Phường Ba Đình" and new.parent.code == "01"
        assert old.id != new.id
        assert old.valid_to == date(2025, 6, 30) and new.valid_from == date(2025, 7, 1)


def test_district_did_not_exist_after_reform(catalog_url):
    with db.session_scope(catalog_url) as s:
        assert find_unit(s, "001", date(2024, 1, 1)).level == "district"
        with pytest.raises(UnknownUnit, match="did not exist on 2025-08-01"):
            find_unit(s, "001", date(2025, 8, 1))
        with pytest.raises(UnknownUnit, match="unknown admin unit code"):
            find_unit(s, "99999")


def test_hanoi_is_one_row_across_the_reform(catalog_url):
    with db.session_scope(catalog_url) as s:
        hanoi = find_unit(s, "01", date(2021, 1, 1))
        assert hanoi.id == find_unit(s, "01", date(2025, 12, 1)).id
        assert hanoi.valid_to is None and hanoi.level == "city"


def test_seeding_twice_is_a_no_op(catalog_url):
    with db.session_scope(catalog_url) as s:
        before = count(s)
        assert seed_units(s) == 0
        assert count(s) == before


def test_migration_downgrade_and_upgrade(tmp_path):
    url = f"sqlite:///{tmp_path / 'm.sqlite3'}"
    db.upgrade(url)
    assert db.current_revision(url) == db.head_revision(url)
    db.downgrade(url, "base")
    assert db.current_revision(url) is None
    db.upgrade(url)
    assert db.current_revision(url) == db.head_revision(url)
