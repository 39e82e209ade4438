"""The catalog suite on PostgreSQL too: the admin-unit tests of test_units.py re-run on a
PostgreSQL catalog (both official lists seeded), and every migration branch upgraded to all
heads, downgraded to base and upgraded again on SQLite and PostgreSQL, leaving nothing behind."""

from __future__ import annotations

import pytest
from sqlalchemy import inspect, text

from storage import db
from storage.units import seed_procedures, seed_units
from tests.storage.conftest import new_catalog
from tests.storage.test_units import (  # noqa: F401 - collected here against PostgreSQL
    test_district_did_not_exist_after_reform,
    test_hanoi_has_both_periods,
    test_hanoi_is_one_row_across_the_reform,
    test_reused_code_resolves_by_date,
    test_seeding_twice_is_a_no_op,
)


@pytest.fixture(scope="module")
def catalog_url(pg_database):
    """Overrides test_units' SQLite catalog: the same tests, on PostgreSQL."""
    url = pg_database("units")
    db.upgrade(url)
    with db.session_scope(url) as session:
        assert seed_units(session) > 10_000
    return url


def _leftovers(url: str) -> dict[str, set[str]]:
    engine = db.get_engine(url)
    with engine.connect() as conn:
        tables = set(inspect(conn).get_table_names()) - {"alembic_version"}
        if engine.dialect.name == "sqlite":
            objects = set(conn.scalars(text(
                "SELECT type || ' ' || name FROM sqlite_master WHERE type IN "
                "('trigger', 'index', 'view') AND name NOT LIKE 'sqlite_%'")))
        else:
            objects = set(conn.scalars(text(
                "SELECT 'function ' || p.proname FROM pg_proc p JOIN pg_namespace n ON "
                "n.oid = p.pronamespace WHERE n.nspname = 'public' AND NOT EXISTS (SELECT 1 "
                "FROM pg_depend d WHERE d.objid = p.oid AND d.deptype = 'e')")))
            objects |= set(conn.scalars(text(
                "SELECT 'trigger ' || tgname FROM pg_trigger WHERE NOT tgisinternal")))
    return {"tables": tables, "objects": objects}


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
def test_all_heads_upgrade_downgrade_upgrade(kind, tmp_path_factory, pg_database):
    url = new_catalog(kind, tmp_path_factory, pg_database, "migrations")
    db.upgrade(url)
    assert db.current_revision(url) == db.head_revision(url)
    assert "0007_search" in db.current_revision(url).split(",")
    with db.session_scope(url) as session:  # the schema takes real data
        seed_units(session, provinces={"01"})
        seed_procedures(session)
    tables = _leftovers(url)["tables"]
    assert {"admin_units", "results", "documents", "procedures"} <= tables
    assert ("document_fts" in tables) == (kind == "sqlite")

    db.downgrade(url, "base")
    db.get_engine(url).dispose()
    assert db.current_revision(url) is None
    assert _leftovers(url) == {"tables": set(), "objects": set()}

    db.upgrade(url)
    assert db.current_revision(url) == db.head_revision(url)
    assert _leftovers(url)["tables"] == tables


# The triggers other parts keep on shared tables (full-text index, quota facts, append-only
# access log). A later migration that rebuilds one of these tables (SQLite's batch mode copies the
# table) would silently drop them: this names every one that must exist at the heads.
TRIGGERS = {
    "sqlite": {"documents document_fts_insert", "documents document_fts_update",
               "documents document_fts_delete", "documents quota_facts_documents_insert",
               "documents quota_facts_documents_update", "documents quota_facts_documents_delete",
               "results quota_facts_results_insert", "results quota_facts_results_update",
               "results quota_facts_results_delete", "quota_result_facts quota_years_facts_insert",
               "quota_result_facts quota_years_facts_update",
               "quota_result_facts quota_years_facts_delete",
               "api_access_log api_access_log_no_update", "api_access_log api_access_log_no_delete"},
    "postgresql": {"documents documents_search_vector", "documents quota_facts_documents",
                   "results quota_facts_results", "quota_result_facts quota_years_facts",
                   "api_access_log api_access_log_no_update"},
}


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
def test_every_trigger_the_parts_rely_on_exists_at_the_heads(kind, tmp_path_factory, pg_database):
    url = new_catalog(kind, tmp_path_factory, pg_database, "triggers")
    db.upgrade(url)
    with db.get_engine(url).connect() as conn:
        if kind == "sqlite":
            rows = conn.execute(text(
                "SELECT tbl_name || ' ' || name FROM sqlite_master WHERE type = 'trigger'"))
        else:
            rows = conn.execute(text(
                "SELECT c.relname || ' ' || t.tgname FROM pg_trigger t "
                "JOIN pg_class c ON c.oid = t.tgrelid WHERE NOT t.tgisinternal"))
        present = set(rows.scalars())
    assert TRIGGERS[kind] <= present, TRIGGERS[kind] - present
