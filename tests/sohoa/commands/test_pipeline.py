"""`sohoa submit`, `sohoa failed list|show|retry`, `sohoa queue`, `sohoa worker` (sohoa.commands.pipeline)."""

from __future__ import annotations

import json
import socket
import uuid

import pytest
from typer.testing import CliRunner

from sohoa.commands.pipeline import register
from tests.conftest import service_unavailable
from tests.pipeline.conftest import decision_png  # noqa: F401 - fixture
from tests.support.cli import part_app


@pytest.fixture
def cli(sohoa_home):
    app = part_app(register)
    runner = CliRunner()

    def run(*args, **kwargs):
        return runner.invoke(app, [str(a) for a in args], catch_exceptions=False, **kwargs)

    return run


def jsonl(output: str) -> list[dict]:
    return [json.loads(line) for line in output.splitlines() if line.startswith("{")]


def test_submit_inline_processes_now_and_dedupes(cli, decision_png):  # noqa: F811
    first = cli("submit", decision_png, "--unit", "00004", "--procedure", "1.001193", "--json")
    assert first.exit_code == 0, first.output
    [record] = jsonl(first.output)
    assert record["status"] == "stored" and record["fields"]["number"] == "125/QĐ-UBND"
    again = cli("submit", decision_png, "--unit", "00004", "--json")
    [dup] = jsonl(again.output)
    assert dup["status"] == "duplicate" and dup["document_id"] == record["document_id"]
    summary = jsonl(cli("queue", "--json").output)[0]
    assert summary["broker"] == "inline" and summary["states"]["stored"] == 1
    assert summary["queues"] == {}


def test_failed_list_show_retry(cli, tmp_path):
    bad = tmp_path / "rach.png"
    bad.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x01" * 100)
    result = cli("submit", bad, "--unit", "00004", "--json")
    assert result.exit_code == 1
    [record] = jsonl(result.output)
    doc_id = record["document_id"]
    assert record["status"] == "failed" and "rach.png" in record["error"]

    [row] = jsonl(cli("failed", "list", "--json").output)
    assert row["document_id"] == doc_id and row["failed_stage"] == "ocr"
    assert "rach.png" in row["error"]
    shown = jsonl(cli("failed", "show", doc_id, "--json").output)[0]
    assert [e["action"] for e in shown["events"]] == ["received", "failed"]
    assert "rach.png" in cli("failed", "show", doc_id).output

    retried = jsonl(cli("failed", "retry", doc_id, "--json").output)[0]
    assert retried["state"] == "failed"  # still corrupt: fails again, with its reason
    events = jsonl(cli("failed", "show", doc_id, "--json").output)[0]["events"]
    assert [e["action"] for e in events] == ["received", "failed", "retried", "failed"]
    assert cli("failed", "retry").exit_code == 2
    assert cli("failed", "show", "0" * 32).exit_code == 2


def test_worker_refuses_inline_broker(cli):
    result = cli("worker", "--processes", "1")
    assert result.exit_code == 2
    assert "inline" in result.output


def _redis_up() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", 6379), timeout=1):
            return True
    except OSError:
        return False


def test_submit_on_redis_queues_for_workers(cli, decision_png, monkeypatch):  # noqa: F811
    if not _redis_up():
        service_unavailable("Redis not reachable on 127.0.0.1:6379")
    from pipeline.broker import reset_broker
    from sohoa.settings import get_settings

    namespace = f"sohoa-test-{uuid.uuid4().hex[:8]}"
    monkeypatch.setenv("SOHOA_BROKER_URL", f"redis://127.0.0.1:6379/0?namespace={namespace}")
    get_settings.cache_clear()
    reset_broker()
    try:
        result = cli("submit", decision_png, "--unit", "00004", "--json")
        assert result.exit_code == 0, result.output
        [record] = jsonl(result.output)
        assert (record["status"], record["state"]) == ("queued", "received")
        summary = jsonl(cli("queue", "--json").output)[0]
        assert summary["states"]["received"] == 1
        assert summary["queues"]["ocr"]["pending"] == 1
        assert summary["queues"]["sign"]["pending"] == 0
        # submitting the same scan again re-enqueues the in-flight document, no new row
        [dup] = jsonl(cli("submit", decision_png, "--unit", "00004", "--json").output)
        assert dup["status"] == "duplicate" and dup["document_id"] == record["document_id"]
        assert jsonl(cli("queue", "--json").output)[0]["states"]["received"] == 1
    finally:
        from pipeline.broker import get_broker

        get_broker(get_settings().broker_url).flush_all()
        get_broker(get_settings().broker_url).client.delete(f"{namespace}:__heartbeats__")
        reset_broker()
        get_settings.cache_clear()


def test_queue_reports_an_unreachable_broker(cli, monkeypatch):
    from pipeline.broker import reset_broker
    from sohoa.settings import get_settings

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    monkeypatch.setenv("SOHOA_BROKER_URL", f"redis://127.0.0.1:{port}/0")
    get_settings.cache_clear()
    reset_broker()
    try:
        summary = jsonl(cli("queue", "--json").output)[0]
        assert summary["queues"] is None and "broker_error" in summary
        assert summary["states"]["received"] == 0
    finally:
        reset_broker()
        get_settings.cache_clear()
