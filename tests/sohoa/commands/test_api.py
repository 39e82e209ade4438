"""`sohoa api-client …` and `sohoa audit`, and the 0004_api migration up and down."""

from __future__ import annotations

import json
from urllib.parse import quote

import typer
from typer.testing import CliRunner

from sohoa.commands.api import register


def _app() -> typer.Typer:
    app = typer.Typer()
    register(app)
    return app


def test_client_lifecycle_and_audit(sohoa_home):
    from fastapi.testclient import TestClient

    from api.app import create_app
    from sohoa.runtime import get_runtime

    runner, app = CliRunner(), _app()
    created = runner.invoke(app, ["api-client", "create", "portal", "--scope", "read:metadata",
                                  "--scope", "read:pii", "--unit", "001"])
    assert created.exit_code == 0, created.output
    key = created.stdout.strip().splitlines()[-1]
    assert key.startswith("sohoa_") and len(key) > 50

    listed = runner.invoke(app, ["api-client", "list", "--json"])
    row = json.loads(listed.stdout)
    assert row["name"] == "portal" and row["unit"] == "001"
    assert row["scopes"] == "read:metadata read:pii" and key not in listed.stdout

    bad = runner.invoke(app, ["api-client", "create", "x", "--scope", "write:all"])
    assert bad.exit_code == 2 and "unknown scope" in bad.output
    dup = runner.invoke(app, ["api-client", "create", "portal", "--scope", "admin"])
    assert dup.exit_code == 2 and "already exists" in dup.output

    api = create_app(runtime=get_runtime(), audit_batched=False, auth_cache_seconds=0)
    http = TestClient(api)
    headers = {"Authorization": f"Bearer {key}", "X-Purpose": quote("đối chiếu hồ sơ")}
    assert http.get("/v1/results", headers=headers).status_code == 200
    assert runner.invoke(app, ["api-client", "revoke", "portal"]).exit_code == 0
    assert http.get("/v1/results", headers=headers).status_code == 401
    assert runner.invoke(app, ["api-client", "revoke", "portal"]).exit_code == 1

    audit = runner.invoke(app, ["audit", "--client", "portal", "--json"])
    rows = [json.loads(line) for line in audit.stdout.splitlines()]
    assert [r["status"] for r in rows] == [200]  # the revoked call has no client
    assert rows[0]["purpose"] == "đối chiếu hồ sơ" and rows[0]["endpoint"] == "/v1/results"
    denied = runner.invoke(app, ["audit", "--outcome", "denied", "--json"])
    assert len(denied.stdout.splitlines()) == 1
    assert runner.invoke(app, ["audit", "--since", "not-a-date"]).exit_code != 0
    table = runner.invoke(app, ["audit"])
    assert table.exit_code == 0 and "/v1/results" in table.stdout


def test_migration_up_and_down(tmp_path):
    from alembic import command
    from sqlalchemy import inspect

    from storage import db

    url = f"sqlite:///{tmp_path / 'c.sqlite3'}"
    db.upgrade(url)
    tables = set(inspect(db.get_engine(url)).get_table_names())
    assert {"api_clients", "api_access_log"} <= tables
    command.downgrade(db.alembic_config(url), "0010_access_log_partitions@-1")  # to 0004_api
    command.downgrade(db.alembic_config(url), "0004_api@-1")
    inspector = inspect(db.get_engine(url))
    assert "api_clients" not in inspector.get_table_names()
    assert "ix_results_created_id" not in {i["name"] for i in inspector.get_indexes("results")}
    db.upgrade(url)
    assert "api_access_log" in inspect(db.get_engine(url)).get_table_names()


def test_serve_logs_json_lines(tmp_path):
    """Services log one format: `sohoa serve` writes JSON lines (uvicorn's own lines included)."""
    import json
    import os
    import signal
    import socket
    import subprocess
    import sys
    import time
    import urllib.request
    from pathlib import Path

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    env = {**os.environ, "SOHOA_HOME": str(tmp_path / "home")}
    env.pop("SOHOA_LOG_FORMAT", None)
    proc = subprocess.Popen([str(Path(sys.executable).with_name("sohoa")), "serve", "--port",
                             str(port)], env=env, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2):
                    break
            except OSError:
                assert time.monotonic() < deadline, "sohoa serve did not start"
                time.sleep(0.3)
    finally:
        proc.send_signal(signal.SIGINT)
        _, stderr = proc.communicate(timeout=30)
    lines = [line for line in stderr.splitlines() if line.startswith("{")]
    assert lines, stderr
    records = [json.loads(line) for line in lines]
    assert all({"ts", "level", "logger", "msg"} <= set(r) for r in records)
    assert any("startup complete" in r["msg"] for r in records)
    assert not any("color_message" in r for r in records)
