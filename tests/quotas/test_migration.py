"""Migration 0003_quotas upgrades and downgrades cleanly, triggers included, on both backends."""

from __future__ import annotations

from datetime import date

from sqlalchemy import inspect, text

from storage import db
from tests.quotas.conftest import add_document, add_result, utc


def _triggers(url: str) -> set[str]:
    engine = db.get_engine(url)
    with engine.connect() as conn:
        if engine.dialect.name == "sqlite":
            rows = conn.execute(text("SELECT name FROM sqlite_master WHERE type = 'trigger'"))
        else:
            rows = conn.execute(text("SELECT tgname FROM pg_trigger WHERE NOT tgisinternal"))
        return {r[0] for r in rows if r[0].startswith("quota_")}


def test_downgrade_and_upgrade_again(runtime, catalog_url):
    with runtime.session() as s:
        r = add_result(s, "00001", date(2024, 1, 1))
        add_document(s, result=r, stored_at=utc(2024, 2, 1))
    assert _triggers(catalog_url)
    try:
        db.downgrade(catalog_url, "0003_quotas@-1")
        db.get_engine(catalog_url).dispose()
        tables = set(inspect(db.get_engine(catalog_url)).get_table_names())
        assert not {"quota_baselines", "quota_result_facts"} & tables
        assert {"results", "documents"} <= tables
        assert _triggers(catalog_url) == set()
    finally:
        db.upgrade(catalog_url)
        db.get_engine(catalog_url).dispose()
    # the backfill rebuilt the facts from the catalog
    with db.session_scope(catalog_url) as s:
        facts = s.execute(text("SELECT result_id, digitized_at FROM quota_result_facts")).all()
    assert [f[0] for f in facts] == [r.id] and facts[0][1] is not None
    assert _triggers(catalog_url)
