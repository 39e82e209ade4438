"""Access-log retention on PostgreSQL: the migration partitions the log by month (keeping every
row and the append-only guard), `maintain` creates months ahead, `archive` stores a month in the
object store, checks it, and only then drops its partition. SQLite refuses with a clear reason."""

from __future__ import annotations

import gzip
import json
import uuid
from datetime import UTC, date, datetime

import pytest
from sqlalchemy import text

from api.access_log import AccessLogError, archive, maintain, month_after, partitions
from tests.storage.conftest import pg_database  # noqa: F401 - fixture


def _log_row(session, at: datetime, path: str) -> None:
    session.execute(text(
        "INSERT INTO api_access_log (at, client_name, method, endpoint, path, status, outcome) "
        "VALUES (:at, 'portal', 'GET', '/v1/results/{id}', :path, 200, 'ok')"),
        {"at": at, "path": path})


def test_partitioned_log_archived_by_month(tmp_path, pg_database):  # noqa: F811
    from sohoa.runtime import Runtime
    from sohoa.settings import Settings
    from storage import db

    url = pg_database("accesslog")
    db.upgrade(url, "0004_api")  # a catalog from before partitioning, with rows in it
    with db.session_scope(url) as session:
        _log_row(session, datetime(2025, 1, 15, tzinfo=UTC), "/v1/results/a")
        _log_row(session, datetime(2025, 1, 20, tzinfo=UTC), "/v1/results/b")
        _log_row(session, datetime(2025, 2, 3, tzinfo=UTC), "/v1/results/c")
    db.upgrade(url)  # `sohoa db upgrade`: to the heads, the partitioning migration among them
    rt = Runtime(Settings(home=tmp_path / "home", database_url=url))
    with rt.session() as session:
        parts = {p.name: p for p in partitions(session)}
        assert parts["api_access_log_202501"].rows == 2
        assert parts["api_access_log_202502"].rows == 1
        assert "api_access_log_default" in parts
        this_month = month_after(date.today(), 0)
        assert f"api_access_log_{month_after(this_month, 3):%Y%m}" in parts
        assert maintain(session, ahead=3) == []  # nothing missing
        assert maintain(session, ahead=5) == [f"api_access_log_{month_after(this_month, n):%Y%m}"
                                              for n in (4, 5)]
        _log_row(session, datetime.now(UTC), "/v1/results/now")  # new rows still go in
    with pytest.raises(Exception, match="append-only"), rt.session() as session:
        session.execute(text("DELETE FROM api_access_log WHERE path = '/v1/results/a'"))

    done = archive(rt, before=date(2025, 2, 1), actor="test")
    assert [d["partition"] for d in done] == ["api_access_log_202501"] and done[0]["rows"] == 2
    stored = rt.objects.get_bytes(done[0]["key"])
    rows = [json.loads(line) for line in gzip.decompress(stored).splitlines()]
    assert [r["path"] for r in rows] == ["/v1/results/a", "/v1/results/b"]
    with rt.session() as session:
        names = {p.name for p in partitions(session)}
        assert "api_access_log_202501" not in names and "api_access_log_202502" in names
        left = session.execute(text("SELECT count(*) FROM api_access_log")).scalar_one()
        assert left == 2  # February and now
        event = session.execute(text(
            "SELECT actor FROM audit_events WHERE action = 'access_log_archived'")).scalar_one()
        assert event == "test"
    assert archive(rt, before=date(2025, 2, 1)) == []  # idempotent: nothing left to archive

    db.downgrade(url, "0010_access_log_partitions@-1")  # back to one table, rows kept
    with db.session_scope(url) as session:
        assert session.execute(text("SELECT count(*) FROM api_access_log")).scalar_one() == 2
    db.upgrade(url)


def test_sqlite_has_no_partitions(tmp_path):
    from sohoa.runtime import Runtime
    from sohoa.settings import Settings

    rt = Runtime(Settings(home=tmp_path / f"home-{uuid.uuid4().hex[:6]}"))
    with pytest.raises(AccessLogError, match="PostgreSQL"), rt.session() as session:
        partitions(session)
