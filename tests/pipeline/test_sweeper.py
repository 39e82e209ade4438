"""The sweeper re-sends documents whose message was lost — only when the queues are idle."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest

from pipeline import actors
from pipeline.ingest import ingest_file
from pipeline.sweeper import queues_idle, sweep_once
from storage.catalog import Document, utcnow
from tests.conftest import service_unavailable


@pytest.fixture
def redis_broker():
    from pipeline.broker import make_broker

    broker = make_broker(f"redis://127.0.0.1:6379/0?namespace=sweep-{uuid.uuid4().hex[:8]}")
    try:
        broker.client.ping()
    except Exception as exc:  # noqa: BLE001
        service_unavailable(f"Redis unreachable on 127.0.0.1:6379: {exc}")
    yield broker
    for key in broker.client.scan_iter(f"{broker.namespace}*"):
        broker.client.delete(key)
    broker.close()


def pending(broker, stage: str) -> int:
    return actors.queue_lengths(broker)[stage]["pending"]


def test_lost_message_is_resent_when_queues_are_idle(runtime, decision_png, redis_broker):
    doc_id = ingest_file(runtime, decision_png, unit_code="00004").document_id
    assert sweep_once(runtime, redis_broker, 600) == []  # fresh: its message may be on its way
    with runtime.session() as s:  # nobody touched it for an hour and no message is queued
        s.get(Document, doc_id).updated_at = utcnow() - timedelta(hours=1)
    assert sweep_once(runtime, redis_broker, 600) == [doc_id]
    assert pending(redis_broker, "ocr") == 1
    # now a message is waiting: the sweeper leaves everything alone, even stale documents
    with runtime.session() as s:
        s.get(Document, doc_id).updated_at = utcnow() - timedelta(hours=1)
    assert sweep_once(runtime, redis_broker, 600) == []
    assert pending(redis_broker, "ocr") == 1


def test_queues_idle():
    assert queues_idle({"ocr": {"pending": 0, "delayed": None, "dead": 3}})
    assert not queues_idle({"ocr": {"pending": 0, "delayed": 2, "dead": 0}})
    assert not queues_idle({"ocr": {"pending": 1, "delayed": 0, "dead": 0}})
