"""The stage actors in-process, on dramatiq's StubBroker and the embedded catalog: leases,
redelivery, retries with give-up into the catalog's dead letters, permanent errors, resume."""

from __future__ import annotations

import dataclasses
import json
import logging
import time
from datetime import timedelta

import dramatiq
import pytest
from dramatiq.brokers.stub import StubBroker
from dramatiq.middleware import CurrentMessage
from sqlalchemy import func, select

from pipeline import actors, metrics, states, submission
from pipeline.broker import BrokerConfigError, broker_kind, make_broker, split_redis_url
from pipeline.dispatch import BrokerDispatcher
from pipeline.errors import PermanentError
from pipeline.ingest import ingest_file
from pipeline.stages import STAGES
from sohoa.settings import Settings
from storage.catalog import AuditEvent, Document, Result, utcnow

FAST = {"SOHOA_RETRY_MIN_BACKOFF_MS": "10", "SOHOA_RETRY_MAX_BACKOFF_MS": "50",
        "SOHOA_MAX_ATTEMPTS": "3", "SOHOA_LEASE_SECONDS": "30"}


def running(name: str, fn):
    """The stage description `name` running `fn` instead (for monkeypatch.setitem(STAGES, …))."""
    return dataclasses.replace(STAGES[name], run=fn)


def test_broker_urls():
    assert broker_kind("inline") == broker_kind(None) == "inline"
    assert broker_kind("redis://127.0.0.1:6379/0") == "redis"
    assert broker_kind("amqp://guest:guest@127.0.0.1:5672/%2F") == "rabbitmq"
    assert make_broker("inline") is None
    with pytest.raises(BrokerConfigError, match=r"kafka.*\*\*\*") as info:
        broker_kind("kafka://user:s3cret@host:9092")
    assert "s3cret" not in str(info.value)
    plain, options = split_redis_url("redis://h:6379/2?heartbeat_timeout=5000&namespace=x"
                                     "&socket_timeout=3")
    assert plain == "redis://h:6379/2?socket_timeout=3"
    assert options == {"heartbeat_timeout": 5000, "namespace": "x"}
    with pytest.raises(BrokerConfigError, match="heartbeat_timeout"):
        split_redis_url("redis://h/0?heartbeat_timeout=soon")


@pytest.fixture
def stub(runtime, monkeypatch):
    """A StubBroker with the stage actors and a 2-thread dramatiq worker in this process."""
    for key, value in FAST.items():
        monkeypatch.setenv(key, value)
    runtime.open()  # migrate before threads race
    broker = StubBroker()
    broker.add_middleware(CurrentMessage())
    broker.emit_after("process_boot")
    dramatiq.set_broker(broker)
    actors.declare_actors(broker, runtime, actors.Policy.from_settings(Settings()))
    worker = dramatiq.Worker(broker, worker_timeout=50, worker_threads=2)
    worker.start()
    yield broker
    worker.stop()
    broker.close()


def ingest(rt, path):
    return ingest_file(rt, path, unit_code="00004", procedure="1.001193").document_id


def wait_state(rt, doc_id, wanted=(states.STORED, states.FAILED, states.NEEDS_REVIEW),
               timeout=120):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with rt.session() as s:
            doc = s.get(Document, doc_id)
            if doc.state in wanted and doc.lease_owner is None:
                return doc
        time.sleep(0.05)
    raise AssertionError(f"document {doc_id} still {doc.state}")


def counts(rt, doc_id):
    with rt.session() as s:
        doc = s.get(Document, doc_id)
        prefix = doc.signed_key.rsplit("/", 1)[0] if doc.signed_key else None
        return {
            "results": s.scalar(select(func.count()).select_from(Result)),
            "stored_events": s.scalar(select(func.count()).select_from(AuditEvent).where(
                AuditEvent.document_id == doc_id, AuditEvent.action == "stored")),
            "signed": len([k for k in rt.objects.iter_keys(prefix or "") if "/signed-" in k]),
            "searchable": len([k for k in rt.objects.iter_keys(prefix or "")
                               if "/searchable-" in k]),
        }


def test_claim_is_exclusive_until_released_or_expired(runtime, decision_png):
    doc_id = ingest(runtime, decision_png)
    assert actors.claim(runtime, doc_id, "ocr", "A", 60) == 1
    with pytest.raises(actors.Busy) as busy:
        actors.claim(runtime, doc_id, "ocr", "B", 60)
    assert 50 < busy.value.seconds <= 60
    assert actors.claim(runtime, doc_id, "ocr", "A", 60) == 2  # the same owner may go on
    assert actors.release(runtime, doc_id, "B", success=True) is False
    assert actors.release(runtime, doc_id, "A", success=False) is True
    assert actors.claim(runtime, doc_id, "ocr", "B", 60) == 3
    with runtime.session() as s:  # B dies: its lease runs out
        s.get(Document, doc_id).lease_until = utcnow() - timedelta(seconds=1)
    assert actors.claim(runtime, doc_id, "ocr", "C", 60) == 4
    assert actors.release(runtime, doc_id, "C", success=True)
    with runtime.session() as s:
        doc = s.get(Document, doc_id)
        assert (doc.attempts, doc.lease_owner, doc.lease_until) == (0, None, None)
    # a stage whose input state is gone is reported as done (None), not claimed
    assert actors.claim(runtime, doc_id, "sign", "A", 60) is None
    with pytest.raises(actors.UnknownDocument):
        actors.claim(runtime, "0" * 32, "ocr", "A", 60)


def test_document_flows_through_actors_and_redelivery_changes_nothing(runtime, decision_png,
                                                                      stub):
    doc_id = ingest(runtime, decision_png)
    actors.enqueue_document(runtime, stub, doc_id)
    doc = wait_state(runtime, doc_id)
    assert doc.state == states.STORED, doc.error
    assert doc.attempts == 0 and doc.signed_sha256
    before = counts(runtime, doc_id)
    assert before == {"results": 1, "stored_events": 1, "signed": 1, "searchable": 1}

    # every stage message delivered again (a broker redelivering after a lost ack)
    assert actors.run_stage("ocr", doc_id, rt=runtime, broker=stub) == "skipped"
    for stage in actors.QUEUES:
        actors.send(stub, stage, doc_id)
    time.sleep(0.5)
    stub.join(actors.QUEUES["sign"], timeout=10_000)
    assert counts(runtime, doc_id) == before
    with runtime.session() as s:
        assert s.get(Document, doc_id).signed_sha256 == doc.signed_sha256
    snap = metrics.snapshot()
    assert snap["ocr"]["done"] >= 1 and snap["ocr"]["skipped"] >= 2 and snap["ocr"]["count"] >= 1


def test_transient_error_is_retried_then_recorded_as_failed(runtime, decision_png, stub,
                                                            monkeypatch):
    calls = []

    def store_down(rt, doc_id, workers=None):
        calls.append(doc_id)
        raise OSError("object store unreachable")

    monkeypatch.setitem(STAGES, "ocr", running("ocr", store_down))
    doc_id = ingest(runtime, decision_png)
    actors.enqueue_document(runtime, stub, doc_id)
    doc = wait_state(runtime, doc_id)
    assert doc.state == states.FAILED and doc.failed_stage == "ocr"
    assert doc.error == "gave up after 3 attempts: object store unreachable"
    assert len(calls) == 3 and doc.attempts == 3
    assert not doc.original_key.startswith("quarantine/")  # transient: the original stays put
    rows = submission.failed_documents(runtime)
    assert [r["document_id"] for r in rows] == [doc_id]


def test_a_stage_over_its_time_limit_is_recorded_failed_not_left_mid_stage(
        runtime, tmp_path, monkeypatch):
    # dramatiq's TimeLimitExceeded is a BaseException: it used to leave the document received
    for key, value in {**FAST, "SOHOA_STAGE_TIME_LIMIT_S": "1"}.items():
        monkeypatch.setenv(key, value)
    runtime.open()
    broker = StubBroker()
    broker.add_middleware(CurrentMessage())
    broker.emit_after("process_boot")
    actors.declare_actors(broker, runtime, actors.Policy.from_settings(Settings()))
    calls = []

    def endless(rt, doc_id, workers=None):
        calls.append(doc_id)
        for _ in range(300):  # a renderer or page that never finishes
            time.sleep(0.05)

    monkeypatch.setitem(STAGES, "ocr", running("ocr", endless))
    scan = tmp_path / "cham.png"
    scan.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 64)
    doc_id = ingest(runtime, scan)
    worker = dramatiq.Worker(broker, worker_timeout=50, worker_threads=1)
    worker.start()
    try:
        actors.enqueue_document(runtime, broker, doc_id)
        doc = wait_state(runtime, doc_id, timeout=90)
    finally:
        worker.stop()
        broker.close()
    assert doc.state == states.FAILED and doc.failed_stage == "ocr"
    assert doc.error == "timed out: the ocr stage ran longer than 1 s" and len(calls) == 1


def test_transient_error_that_clears_ends_stored(runtime, decision_png, stub, monkeypatch):
    real, calls = STAGES["ocr"].run, []

    def flaky(rt, doc_id, workers=None):
        calls.append(doc_id)
        if len(calls) < 3:
            raise ConnectionError("database restarting")
        real(rt, doc_id, workers=workers)

    monkeypatch.setitem(STAGES, "ocr", running("ocr", flaky))
    doc_id = ingest(runtime, decision_png)
    actors.enqueue_document(runtime, stub, doc_id)
    doc = wait_state(runtime, doc_id)
    assert doc.state == states.STORED and len(calls) == 3 and doc.attempts == 0


def test_permanent_error_fails_at_once_and_quarantines(runtime, tmp_path, stub):
    bad = tmp_path / "hong.png"
    bad.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 500)
    doc_id = ingest(runtime, bad)
    actors.enqueue_document(runtime, stub, doc_id)
    doc = wait_state(runtime, doc_id)
    assert doc.state == states.FAILED and doc.attempts == 1
    assert "hong.png" in doc.error
    # the worker records the failure (and frees the document) first, then moves the original
    deadline = time.monotonic() + 10
    while not doc.original_key.startswith("quarantine/") and time.monotonic() < deadline:
        time.sleep(0.05)
        with runtime.session() as s:
            doc = s.get(Document, doc_id)
    assert doc.original_key.startswith("quarantine/")
    history = submission.document_history(runtime, doc_id)
    assert [e["action"] for e in history["events"]] == ["received", "failed"]


def test_busy_document_is_retried_later_not_dropped(runtime, decision_png):
    doc_id = ingest(runtime, decision_png)
    actors.claim(runtime, doc_id, "ocr", "someone-else", 20)
    with pytest.raises(dramatiq.Retry) as retry:
        actors.run_stage("ocr", doc_id, rt=runtime, broker=StubBroker())
    assert 19_000 <= retry.value.delay <= 21_000


def test_failed_in_sign_resumes_at_sign_without_new_ocr(runtime, decision_png, stub,
                                                        monkeypatch):
    def no_key(rt, doc_id, workers=None):
        raise PermanentError("token not present")

    monkeypatch.setitem(STAGES, "sign", running("sign", no_key))
    doc_id = ingest(runtime, decision_png)
    actors.enqueue_document(runtime, stub, doc_id)
    failed = wait_state(runtime, doc_id)
    assert (failed.state, failed.failed_stage, failed.error) == ("failed", "sign",
                                                                 "token not present")
    monkeypatch.undo()
    ocr_calls = []
    monkeypatch.setitem(STAGES, "ocr", running("ocr", lambda *a, **k: ocr_calls.append(a)))
    dispatcher = BrokerDispatcher(runtime, stub)
    [record] = submission.retry_failed(runtime, dispatcher, [doc_id])
    assert record["state"] == states.CLASSIFIED
    doc = wait_state(runtime, doc_id)
    assert doc.state == states.STORED and doc.pdf_key == failed.pdf_key and not ocr_calls
    assert submission.retry_failed(runtime, dispatcher, [doc_id])[0]["error"] == "not failed (state stored)"


def test_orphans_of_a_killed_attempt_are_swept(runtime, decision_png, stub):
    doc_id = ingest(runtime, decision_png)
    actors.enqueue_document(runtime, stub, doc_id)
    doc = wait_state(runtime, doc_id)
    prefix = doc.pdf_key.rsplit("/", 1)[0]
    runtime.objects.put_bytes(f"{prefix}/searchable-0123456789abcdef.pdf", b"%PDF-1.7 orphan")
    assert actors.sweep_orphans(runtime, doc_id, "ocr") == [
        f"{prefix}/searchable-0123456789abcdef.pdf"]
    assert sorted(k.rsplit("/", 1)[1].split("-")[0] for k in runtime.objects.iter_keys(prefix)) \
        == ["original.png", "searchable", "signed"]


def test_requeue_stale_and_queue_summary(runtime, decision_png):
    broker = StubBroker()
    doc_id = ingest(runtime, decision_png)
    assert actors.requeue_stale(runtime, broker, 3600) == []  # fresh: left alone
    with runtime.session() as s:
        s.get(Document, doc_id).updated_at = utcnow() - timedelta(hours=2)
    assert actors.requeue_stale(runtime, broker, 3600) == [doc_id]
    assert broker.queues[actors.QUEUES["ocr"]].qsize() == 1
    assert actors.state_counts(runtime)[states.RECEIVED] == 1


def test_json_logs_carry_the_document_id():
    record = logging.makeLogRecord({"msg": "ocr done in %.2fs", "args": (1.234,),
                                    "levelname": "INFO", "name": "sohoa.pipeline",
                                    "document_id": "abc", "stage": "ocr"})
    entry = json.loads(metrics.JsonFormatter().format(record))
    assert entry["msg"] == "ocr done in 1.23s"
    assert entry["document_id"] == "abc" and entry["stage"] == "ocr" and entry["level"] == "info"


def _pg_url(name: str) -> str | None:
    import subprocess

    made = subprocess.run(["createdb", "-h", "127.0.0.1", "-U", "postgres", name],
                          capture_output=True, text=True)
    return f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}" if made.returncode == 0 else None


@pytest.mark.parametrize("engine", ["sqlite", "postgresql"])
def test_migration_0005_upgrades_and_downgrades(tmp_path, engine):
    import subprocess
    import uuid

    from sqlalchemy import inspect

    from storage import db
    from tests.conftest import service_unavailable

    name = f"sohoa_test_m5_{uuid.uuid4().hex[:8]}"
    url = f"sqlite:///{tmp_path / 'm5.sqlite3'}" if engine == "sqlite" else _pg_url(name)
    if url is None:
        service_unavailable("PostgreSQL not reachable on 127.0.0.1:5432 (createdb failed)")
    try:
        def columns():
            db.get_engine.cache_clear()
            db.get_sessionmaker.cache_clear()
            return {c["name"] for c in inspect(db.get_engine(url)).get_columns("documents")}

        db.upgrade(url)
        assert {"lease_owner", "lease_until", "attempts"} <= columns()
        db.downgrade(url, "0005_pipeline@-1")
        assert "0005_pipeline" not in (db.current_revision(url) or "")
        assert not {"lease_owner", "lease_until", "attempts"} & columns()
        db.upgrade(url)
        assert "0005_pipeline" in db.current_revision(url)
    finally:
        db.get_engine(url).dispose()
        if engine == "postgresql":
            subprocess.run(["dropdb", "-h", "127.0.0.1", "-U", "postgres", "--force", name],
                           capture_output=True)
