"""One stage contract, one driver with the failure policy, one dispatcher chosen from the
settings: what every submitter and runner reads."""

from __future__ import annotations

import dataclasses
import threading

import pytest

from pipeline import states
from pipeline.dispatch import BrokerDispatcher, InlineDispatcher
from pipeline.driver import Failed, process_document, run_once
from pipeline.errors import PermanentError
from pipeline.ingest import ingest_file
from pipeline.stages import STAGES
from sohoa.runtime import Runtime
from sohoa.settings import Settings
from storage.catalog import Document


def running(name, fn):
    return dataclasses.replace(STAGES[name], run=fn)


def ingest(rt, path) -> str:
    return ingest_file(rt, path, unit_code="00004").document_id


def test_the_state_machine_and_the_queues_are_read_from_the_stage_descriptions():
    assert list(STAGES) == ["ocr", "classify", "sign"]
    assert states.NEXT_STAGE == {"received": "ocr", "ocr_done": "classify", "classified": "sign"}
    assert states.TRANSITIONS["ocr_done"] == {"classified", "needs_review", "failed"}
    assert states.TRANSITIONS["failed"] == {"received", "ocr_done", "classified"}
    assert states.TRANSITIONS["stored"] == set()
    with pytest.raises(states.InvalidTransition):
        states.check_transition("received", "stored")
    from pipeline.actors import QUEUES

    assert QUEUES == {"ocr": "sohoa-ocr", "classify": "sohoa-classify", "sign": "sohoa-sign"}


def test_failure_policy_permanent_transient_and_last_attempt(runtime, decision_png, tmp_path,
                                                            monkeypatch):
    doc_id = ingest(runtime, decision_png)
    calls = []

    def down(rt, doc, workers=None):
        calls.append(doc)
        raise OSError("object store unreachable")

    monkeypatch.setitem(STAGES, "ocr", running("ocr", down))
    with pytest.raises(OSError):  # transient, attempts left: the caller retries
        run_once(runtime, "ocr", doc_id, attempt=1, max_attempts=3)
    with runtime.session() as s:
        assert s.get(Document, doc_id).state == states.RECEIVED
    recorded = []
    with pytest.raises(Failed) as failed:  # the last attempt: recorded, original kept
        run_once(runtime, "ocr", doc_id, attempt=3, max_attempts=3,
                  after_recorded=lambda: recorded.append(True))
    assert failed.value.reason == "gave up after 3 attempts: object store unreachable"
    assert not failed.value.permanent and recorded == [True]
    with runtime.session() as s:
        doc = s.get(Document, doc_id)
        assert (doc.state, doc.failed_stage) == (states.FAILED, "ocr")
        assert not doc.original_key.startswith("quarantine/")

    copy = tmp_path / "b.png"
    copy.write_bytes(decision_png.read_bytes() + b"\0")  # other bytes: another document
    other = ingest(runtime, copy)

    def refused(rt, doc, workers=None):
        raise PermanentError("b.png: not a scan")

    monkeypatch.setitem(STAGES, "ocr", running("ocr", refused))
    assert process_document(runtime, other) == states.FAILED  # inline: one attempt
    with runtime.session() as s:
        doc = s.get(Document, other)
        assert doc.error == "b.png: not a scan" and doc.original_key.startswith("quarantine/")


def test_inline_dispatcher_runs_a_document_once_at_a_time(runtime, decision_png, monkeypatch):
    doc_id = ingest(runtime, decision_png)
    entered, release, calls = threading.Event(), threading.Event(), []

    def slow(rt, doc, workers=None):
        calls.append(doc)
        entered.set()
        release.wait(10)
        raise PermanentError("stop here")

    monkeypatch.setitem(STAGES, "ocr", running("ocr", slow))
    dispatcher = InlineDispatcher(runtime)
    future = dispatcher.start(doc_id)
    assert entered.wait(10) and dispatcher.running(doc_id)
    assert dispatcher.start(doc_id) is None  # already running: not queued twice
    dispatcher.resume(doc_id)
    release.set()
    assert future.result(10) == states.FAILED and calls == [doc_id]
    assert not dispatcher.running(doc_id)
    dispatcher.close()
    assert dispatcher.run(doc_id) == states.FAILED  # nothing left to run; works after close


def test_the_dispatcher_is_chosen_once_from_the_settings(sohoa_home):
    rt = Runtime(Settings(home=sohoa_home))
    assert isinstance(rt.dispatcher, InlineDispatcher) and rt.dispatcher is rt.dispatcher
    from pipeline.broker import reset_broker

    try:
        queued = Runtime(Settings(home=sohoa_home, broker_url="redis://127.0.0.1:6379/15"))
        assert isinstance(queued.dispatcher, BrokerDispatcher)
        assert queued.dispatcher.broker is queued.broker
    finally:
        reset_broker()
