"""The pipeline on dramatiq: one actor per stage, taking a document id.

Each actor claims a lease on the document (so two workers never run one stage of one document at
once, even when a message is redelivered), runs the stage, then enqueues whatever stage the
document's *state* now calls for; a redelivered message for a stage that already ran is skipped
and only re-enqueues the next one. Failures:

- permanent (`pipeline.errors.is_permanent`: a corrupt or refused file) → the document is marked
  failed at once with the reason, its original moved to quarantine/, the message not retried;
- transient (object store, database, TSA …) → retried with exponential backoff by dramatiq;
  after `SOHOA_MAX_ATTEMPTS` attempts of one stage the document is marked failed ("gave up after
  N attempts: …"), so the catalog is the dead-letter list (`sohoa failed list`). If even recording
  the failure fails, the message keeps being retried rather than dropped.

Tunables (environment): SOHOA_MAX_ATTEMPTS (8), SOHOA_RETRY_MIN_BACKOFF_MS (2000),
SOHOA_RETRY_MAX_BACKOFF_MS (600000), SOHOA_LEASE_SECONDS (60; renewed every third of it while the
stage runs), SOHOA_STAGE_TIME_LIMIT_S (3600), SOHOA_WORKER_OCR_WORKERS (1 Tesseract process per
document: parallelism comes from worker processes × threads).
"""

from __future__ import annotations

import contextlib
import logging
import os
import socket
import threading
import time
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import dramatiq
from sqlalchemy import func, or_, select, update

from pipeline import metrics, states
from pipeline.errors import describe, is_permanent
from pipeline.runtime import Runtime, get_runtime
from pipeline.stages import STAGES, mark_failed, object_prefix
from storage.catalog import AuditEvent, Document, utcnow

log = logging.getLogger("sohoa.pipeline")

QUEUES = {"ocr": "sohoa-ocr", "classify": "sohoa-classify", "sign": "sohoa-sign"}
ACTOR_NAMES = {stage: f"sohoa_{stage}" for stage in QUEUES}
# The state a stage starts from (inverse of states.NEXT_STAGE).
INPUT_STATE = {stage: state for state, stage in states.NEXT_STAGE.items()}
# Objects a stage writes under the document prefix (hash-named: "<stem>-<sha16>.pdf").
OUTPUT_STEM = {"ocr": ("searchable-", "pdf_key"), "sign": ("signed-", "signed_key")}
RETRY_HARD_CAP = 200  # messages that cannot even record their failure stop being retried here


def _env_int(name: str, default: int) -> int:
    value = os.environ.get(name)
    if not value:
        return default
    try:
        return int(value)
    except ValueError:
        raise ValueError(f"{name}={value!r} is not an integer") from None


@dataclass(frozen=True)
class Policy:
    max_attempts: int
    min_backoff_ms: int
    max_backoff_ms: int
    lease_seconds: int
    time_limit_s: int
    ocr_workers: int

    @classmethod
    def from_env(cls) -> Policy:
        return cls(
            max_attempts=max(1, _env_int("SOHOA_MAX_ATTEMPTS", 8)),
            min_backoff_ms=max(1, _env_int("SOHOA_RETRY_MIN_BACKOFF_MS", 2000)),
            max_backoff_ms=max(1, _env_int("SOHOA_RETRY_MAX_BACKOFF_MS", 600_000)),
            lease_seconds=max(2, _env_int("SOHOA_LEASE_SECONDS", 60)),
            time_limit_s=max(1, _env_int("SOHOA_STAGE_TIME_LIMIT_S", 3600)),
            ocr_workers=max(1, _env_int("SOHOA_WORKER_OCR_WORKERS", 1)),
        )


class Busy(Exception):
    """Another live worker holds the document's lease; try again once it may have expired."""

    def __init__(self, doc_id: str, owner: str, seconds: float):
        super().__init__(f"document {doc_id} is being processed by {owner}")
        self.seconds = max(0.5, seconds)


class UnknownDocument(LookupError):
    pass


# --- leases ---------------------------------------------------------------------------------
def claim(rt: Runtime, doc_id: str, stage: str, owner: str, lease_seconds: int) -> int | None:
    """Take the document's lease for `stage`: the attempt number, or None when the document is
    no longer in the stage's input state (the stage already ran). Raises Busy or UnknownDocument."""
    now = utcnow()
    with rt.session() as session:
        claimed = session.execute(
            update(Document)
            .where(Document.id == doc_id, Document.state == INPUT_STATE[stage],
                   or_(Document.lease_owner.is_(None), Document.lease_until < now,
                       Document.lease_owner == owner))
            .values(lease_owner=owner, lease_until=now + timedelta(seconds=lease_seconds),
                    attempts=Document.attempts + 1)
            .execution_options(synchronize_session=False)
        ).rowcount
        row = session.execute(select(Document.state, Document.lease_owner, Document.lease_until,
                                     Document.attempts).where(Document.id == doc_id)).first()
    if row is None:
        raise UnknownDocument(f"no document {doc_id} in the catalog")
    if claimed:
        return row.attempts
    if row.state != INPUT_STATE[stage]:
        return None
    until = row.lease_until
    if until is not None and until.tzinfo is None:  # SQLite drops the zone; we store UTC
        until = until.replace(tzinfo=now.tzinfo)
    raise Busy(doc_id, row.lease_owner, (until - now).total_seconds() if until else 1.0)


def release(rt: Runtime, doc_id: str, owner: str, *, success: bool) -> bool:
    """Drop our lease (and reset the attempt count after a success). False if we had lost it."""
    values = {"lease_owner": None, "lease_until": None}
    if success:
        values["attempts"] = 0
    with rt.session() as session:
        return bool(session.execute(
            update(Document).where(Document.id == doc_id, Document.lease_owner == owner)
            .values(**values).execution_options(synchronize_session=False)).rowcount)


class LeaseKeeper:
    """Renews a lease every third of its length while a stage runs (best effort)."""

    def __init__(self, rt: Runtime, doc_id: str, owner: str, seconds: int):
        self.rt, self.doc_id, self.owner, self.seconds = rt, doc_id, owner, seconds
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True,
                                        name=f"lease-{doc_id[:8]}")

    def _run(self) -> None:
        while not self._stop.wait(self.seconds / 3):
            try:
                with self.rt.session() as session:
                    session.execute(
                        update(Document)
                        .where(Document.id == self.doc_id, Document.lease_owner == self.owner)
                        .values(lease_until=utcnow() + timedelta(seconds=self.seconds))
                        .execution_options(synchronize_session=False))
            except Exception as exc:  # noqa: BLE001 - the stage itself will meet the outage
                log.warning("lease renewal failed: %s", exc,
                            extra={"document_id": self.doc_id})

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join(timeout=5)


def sweep_orphans(rt: Runtime, doc_id: str, stage: str) -> list[str]:
    """Delete outputs of `stage` under the document's prefix that the catalog does not point at
    (left by an attempt that was killed or lost a race after storing its bytes)."""
    if stage not in OUTPUT_STEM:
        return []
    stem, attr = OUTPUT_STEM[stage]
    with rt.session() as session:
        doc = session.get(Document, doc_id)
        keep = getattr(doc, attr)
        if keep is None:
            return []
        prefix = object_prefix(doc)
    removed = []
    for key in list(rt.objects.iter_keys(prefix + "/")):
        if key != keep and key.rsplit("/", 1)[-1].startswith(stem):
            rt.objects.delete(key)
            removed.append(key)
    if removed:
        log.info("removed %d orphan object(s) of %s", len(removed), stage,
                 extra={"document_id": doc_id, "stage": stage, "keys": removed})
    return removed


# --- enqueueing -----------------------------------------------------------------------------
def send(broker: dramatiq.Broker, stage: str, doc_id: str, *, delay_ms: int | None = None):
    """Put one stage message for a document on the broker (no actor objects needed)."""
    queue = QUEUES[stage]
    if queue not in broker.get_declared_queues():
        broker.declare_queue(queue)
    message = dramatiq.Message(queue_name=queue, actor_name=ACTOR_NAMES[stage],
                               args=(doc_id,), kwargs={}, options={})
    return broker.enqueue(message, delay=delay_ms)


def enqueue_document(rt: Runtime, broker: dramatiq.Broker, doc_id: str) -> str | None:
    """Enqueue the stage the document's state calls for; the stage name, or None if none
    (stored, failed, needs_review). Safe to call twice: stages skip work already done."""
    with rt.session() as session:
        state = session.scalar(select(Document.state).where(Document.id == doc_id))
    if state is None:
        raise UnknownDocument(f"no document {doc_id} in the catalog")
    stage = states.NEXT_STAGE.get(state)
    if stage is not None:
        send(broker, stage, doc_id)
        log.info("enqueued %s", stage, extra={"document_id": doc_id, "stage": stage})
    return stage


def enqueue_with_retry(rt: Runtime, broker, doc_id: str, *, tries: int = 5,
                       backoff: float = 0.5) -> str | None:
    """enqueue_document, retrying a broker that is briefly unreachable."""
    for attempt in range(1, tries + 1):
        try:
            return enqueue_document(rt, broker, doc_id)
        except UnknownDocument:
            raise
        except Exception as exc:  # noqa: BLE001 - redis/pika connection errors vary
            if attempt == tries:
                raise
            log.warning("enqueue failed (%s), retrying", exc, extra={"document_id": doc_id})
            time.sleep(backoff * 2 ** (attempt - 1))
    return None


# --- the actors -----------------------------------------------------------------------------
def _owner() -> str:
    from dramatiq.middleware import CurrentMessage

    message = CurrentMessage.get_current_message()
    mid = message.message_id[:12] if message is not None else "-"
    return f"{socket.gethostname()}:{os.getpid()}:{threading.get_ident()}:{mid}"


def run_stage(stage: str, doc_id: str, *, rt: Runtime | None = None,
              broker: dramatiq.Broker | None = None) -> str:
    """Body of every actor: claim, run, release, enqueue the next stage. Returns the outcome
    (done | skipped | failed); raises for dramatiq to retry (transient error, Busy)."""
    rt = rt or get_runtime()
    broker = broker or dramatiq.get_broker()
    policy = Policy.from_env()
    owner = _owner()
    ids = {"document_id": doc_id, "stage": stage}
    try:
        attempt = claim(rt, doc_id, stage, owner, policy.lease_seconds)
    except UnknownDocument as exc:
        log.error("%s: message dropped", exc, extra=ids)
        return "failed"
    except Busy as busy:
        metrics.count(stage, "busy")
        log.info("busy: %s; retry in %.1fs", busy, busy.seconds, extra=ids)
        raise dramatiq.Retry(str(busy), delay=int(busy.seconds * 1000) + 500) from None

    if attempt is None:
        metrics.count(stage, "skipped")
        log.info("%s already done, skipped", stage, extra=ids)
        enqueue_document(rt, broker, doc_id)
        return "skipped"

    start = time.perf_counter()
    try:
        with LeaseKeeper(rt, doc_id, owner, policy.lease_seconds), metrics.timed(stage):
            if stage == "ocr":
                STAGES[stage](rt, doc_id, workers=policy.ocr_workers)
            else:
                STAGES[stage](rt, doc_id)
    except Exception as exc:
        permanent = is_permanent(exc)
        if permanent or attempt >= policy.max_attempts:
            reason = describe(exc) if permanent else (
                f"gave up after {attempt} attempts: {describe(exc)}")
            mark_failed(rt, doc_id, stage, reason)  # if this raises, dramatiq retries it
            release(rt, doc_id, owner, success=False)
            metrics.count(stage, "failed")
            log.error("failed: %s", reason, extra={**ids, "attempt": attempt,
                                                    "permanent": permanent})
            if permanent:
                _quarantine(rt, doc_id)
            return "failed"
        with contextlib.suppress(Exception):  # the lease expires on its own
            release(rt, doc_id, owner, success=False)
        metrics.count(stage, "retry")
        log.warning("attempt %d failed, will retry: %s", attempt, describe(exc),
                    extra={**ids, "attempt": attempt, "error": exc.__class__.__name__})
        raise

    kept = release(rt, doc_id, owner, success=True)
    if not kept:
        log.warning("lease lost while %s ran (another run took over)", stage,
                    extra={**ids, "owner": owner})
    if attempt > 1 or not kept:
        sweep_orphans(rt, doc_id, stage)
    metrics.count(stage, "done")
    log.info("%s done in %.2fs", stage, time.perf_counter() - start,
             extra={**ids, "attempt": attempt, "seconds": round(time.perf_counter() - start, 3)})
    enqueue_document(rt, broker, doc_id)
    return "done"


def _quarantine(rt: Runtime, doc_id: str) -> None:
    from pipeline.ingest import quarantine

    try:
        quarantine(rt, doc_id)
    except Exception:  # noqa: BLE001 - the failure is recorded; quarantine is housekeeping
        log.exception("quarantine failed", extra={"document_id": doc_id})


def ocr(document_id: str) -> None:
    run_stage("ocr", document_id)


def classify(document_id: str) -> None:
    run_stage("classify", document_id)


def sign(document_id: str) -> None:
    run_stage("sign", document_id)


ACTOR_FUNCTIONS = {"ocr": ocr, "classify": classify, "sign": sign}


def retry_when(retries: int, exc: BaseException) -> bool:
    """dramatiq's retry predicate: never retry permanent errors. Transient ones reach dramatiq
    only below SOHOA_MAX_ATTEMPTS (run_stage gives up itself) or when recording the failure
    failed, which must keep trying rather than lose the document."""
    return not is_permanent(exc) and retries < RETRY_HARD_CAP


def declare_actors(broker: dramatiq.Broker) -> dict[str, dramatiq.Actor]:
    """Register the stage actors on `broker`; {stage: actor}."""
    policy = Policy.from_env()
    return {
        stage: dramatiq.actor(
            fn, broker=broker, actor_name=ACTOR_NAMES[stage], queue_name=QUEUES[stage],
            retry_when=retry_when, min_backoff=policy.min_backoff_ms,
            max_backoff=policy.max_backoff_ms, time_limit=policy.time_limit_s * 1000,
        )
        for stage, fn in ACTOR_FUNCTIONS.items()
    }


# --- submitting, dead letters, queue summary -------------------------------------------------
def submit(rt: Runtime, broker, paths, *, unit_code: str, procedure: str | None = None,
           dossier: str | None = None, actor: str = "cli",
           corrections: dict | None = None) -> list[dict]:
    """Ingest files and enqueue them; one record per file:
    {file, document_id, status: queued|duplicate|failed|<final state when inline>, state, error}."""
    from pipeline.ingest import ingest_file
    from pipeline.inline import outcome, process_document

    records = []
    for path in [Path(p) for p in paths]:
        record = {"file": str(path), "document_id": None, "status": "failed", "state": None,
                  "error": None}
        try:
            accepted = ingest_file(rt, path, unit_code=unit_code, procedure=procedure,
                                   dossier=dossier, actor=actor, corrections=corrections)
        except Exception as exc:  # noqa: BLE001 - reported per file
            record["error"] = describe(exc)
            records.append(record)
            continue
        doc_id = record["document_id"] = accepted.document_id
        if broker is None:
            if not accepted.duplicate:
                process_document(rt, doc_id)
            records.append(outcome(rt, path, doc_id, duplicate=accepted.duplicate))
            continue
        try:
            # a duplicate still in flight is enqueued again: harmless, and rescues a document
            # whose first submission never reached the broker
            enqueue_with_retry(rt, broker, doc_id)
            record["status"] = "duplicate" if accepted.duplicate else "queued"
        except Exception as exc:  # noqa: BLE001
            record["status"] = "received"
            record["error"] = f"stored but not queued (broker unreachable): {describe(exc)}"
        with rt.session() as session:
            record["state"] = session.scalar(select(Document.state)
                                             .where(Document.id == doc_id))
        records.append(record)
    return records


def failed_documents(rt: Runtime, limit: int = 1000) -> list[dict]:
    with rt.session() as session:
        docs = session.scalars(select(Document).where(Document.state == states.FAILED)
                               .order_by(Document.updated_at.desc()).limit(limit)).all()
        return [{"document_id": d.id, "file": d.source_name, "failed_stage": d.failed_stage,
                 "error": d.error, "attempts": d.attempts, "updated_at": d.updated_at}
                for d in docs]


def document_history(rt: Runtime, doc_id: str) -> dict:
    with rt.session() as session:
        doc = session.get(Document, doc_id)
        if doc is None:
            raise UnknownDocument(f"no document {doc_id} in the catalog")
        events = session.scalars(select(AuditEvent).where(AuditEvent.document_id == doc_id)
                                 .order_by(AuditEvent.at, AuditEvent.id)).all()
        return {"document_id": doc.id, "file": doc.source_name, "state": doc.state,
                "failed_stage": doc.failed_stage, "error": doc.error, "attempts": doc.attempts,
                "original_key": doc.original_key, "created_at": doc.created_at,
                "updated_at": doc.updated_at,
                "events": [{"at": e.at, "actor": e.actor, "action": e.action,
                            "detail": e.detail} for e in events]}


# Where a retried document resumes: the input state of the stage that failed, when the outputs
# of the earlier stages are there; otherwise from the start.
def _resume_state(doc: Document) -> str:
    if doc.failed_stage == "sign" and doc.pdf_key:
        return states.CLASSIFIED
    if doc.failed_stage in ("classify", "sign") and doc.pdf_key:
        return states.OCR_DONE
    return states.RECEIVED


def retry_failed(rt: Runtime, broker, doc_ids: list[str], *, actor: str = "cli") -> list[dict]:
    """Put failed documents back where they failed and enqueue them (inline: run them now)."""
    from pipeline.inline import process_document

    records = []
    for doc_id in doc_ids:
        with rt.session() as session:
            doc = session.get(Document, doc_id, with_for_update=True)
            if doc is None:
                raise UnknownDocument(f"no document {doc_id} in the catalog")
            if doc.state != states.FAILED:
                records.append({"document_id": doc_id, "state": doc.state,
                                "error": f"not failed (state {doc.state})"})
                continue
            resume = _resume_state(doc)
            session.add(AuditEvent(actor=actor, action="retried", document_id=doc_id,
                                   detail={"stage": doc.failed_stage, "reason": doc.error,
                                           "resume": resume}))
            states.check_transition(doc.state, resume)  # retry edges resume where it failed
            doc.state, doc.failed_stage, doc.error = resume, None, None
            doc.attempts, doc.lease_owner, doc.lease_until = 0, None, None
        if broker is None:
            state = process_document(rt, doc_id)
        else:
            enqueue_with_retry(rt, broker, doc_id)
            state = resume
        records.append({"document_id": doc_id, "state": state, "error": None})
    return records


def requeue_stale(rt: Runtime, broker, older_than_s: float) -> list[str]:
    """Enqueue again documents in flight (received/ocr_done/classified) untouched for
    `older_than_s` seconds and not leased: a safety net for messages a broker lost
    (e.g. a Redis without persistence restarted). Duplicates are harmless."""
    cutoff = utcnow() - timedelta(seconds=older_than_s)
    now = utcnow()
    with rt.session() as session:
        ids = list(session.scalars(
            select(Document.id).where(
                Document.state.in_(list(states.NEXT_STAGE)), Document.updated_at < cutoff,
                or_(Document.lease_until.is_(None), Document.lease_until < now))))
    for doc_id in ids:
        enqueue_with_retry(rt, broker, doc_id)
    return ids


def state_counts(rt: Runtime) -> dict[str, int]:
    with rt.session() as session:
        rows = session.execute(select(Document.state, func.count()).group_by(Document.state))
        counts = {state: 0 for state in states.ALL_STATES}
        counts.update({state: n for state, n in rows})
        return counts


def queue_lengths(broker) -> dict[str, dict[str, int]]:
    """{stage: {"pending": n, "delayed": n, "dead": n}} (Redis counts in-flight as pending)."""
    if broker is None:
        return {}
    result = {}
    kind = type(broker).__name__
    for stage, queue in QUEUES.items():
        if kind == "RabbitmqBroker":
            ready, delayed, dead = broker.get_queue_message_counts(queue)
            result[stage] = {"pending": ready, "delayed": delayed, "dead": dead}
        else:
            broker.declare_queue(queue)
            pending = int(broker.do_qsize(queue))
            dead = int(broker.client.zcard(f"{broker.namespace}:{queue}.XQ"))
            result[stage] = {"pending": pending, "delayed": None, "dead": dead}
    return result
