"""The pipeline on dramatiq: one actor per stage description (`pipeline.stages.STAGES`), taking a
document id.

Each actor claims a lease on the document (so two workers never run one stage of one document at
once, even when a message is redelivered), runs the stage through the shared driver
(`pipeline.driver.run_once`, which owns the failure policy), then enqueues whatever stage the
document's *state* now calls for; a redelivered message for a stage that already ran is skipped
and only re-enqueues the next one. Failures:

- permanent (`pipeline.errors.is_permanent`: a corrupt or refused file) → the document is marked
  failed at once with the reason, its original moved to quarantine/, the message not retried;
- transient (object store, database, TSA …) → retried with exponential backoff by dramatiq;
  after `max_attempts` attempts of one stage the document is marked failed ("gave up after
  N attempts: …"), so the catalog is the dead-letter list (`sohoa failed list`). If even recording
  the failure fails, the message keeps being retried rather than dropped.

The tunables (`Policy`) come from the settings, validated once when the worker starts:
SOHOA_MAX_ATTEMPTS (8), SOHOA_RETRY_MIN_BACKOFF_MS (2000), SOHOA_RETRY_MAX_BACKOFF_MS (600000),
SOHOA_LEASE_SECONDS (30; renewed every third of it while the stage runs: a killed worker's
stage is taken over at most this long after its last renewal),
SOHOA_STAGE_TIME_LIMIT_S (3600), SOHOA_WORKER_OCR_WORKERS (1 Tesseract process per document:
parallelism comes from worker processes × threads).
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

import dramatiq
from dramatiq.middleware import CurrentMessage
from dramatiq.middleware.time_limit import TimeLimitExceeded
from sqlalchemy import func, or_, select, update

from pipeline import metrics
from pipeline.context import Context
from pipeline.driver import Failed, mark_failed, run_once
from pipeline.errors import describe, is_permanent
from pipeline.outputs import object_prefix
from pipeline.stages import STAGES, next_stage
from pipeline.stuck import LeaseKeeper
from storage import states
from storage.catalog import Document, utcnow

log = logging.getLogger("sohoa.pipeline")

QUEUES = {name: stage.queue for name, stage in STAGES.items()}
RETRY_HARD_CAP = 200  # messages that cannot even record their failure stop being retried here


@dataclass(frozen=True)
class Policy:
    max_attempts: int = 8
    min_backoff_ms: int = 2000
    max_backoff_ms: int = 600_000
    lease_seconds: int = 30
    time_limit_s: int = 3600
    ocr_workers: int = 1

    @classmethod
    def from_settings(cls, settings) -> Policy:
        """The policy the settings name (`sohoa.settings.Settings`), clamped to sane minimums."""
        return cls(
            max_attempts=max(1, settings.max_attempts),
            min_backoff_ms=max(1, settings.retry_min_backoff_ms),
            max_backoff_ms=max(1, settings.retry_max_backoff_ms),
            lease_seconds=max(2, settings.lease_seconds),
            time_limit_s=max(1, settings.stage_time_limit_s),
            ocr_workers=max(1, settings.worker_ocr_workers),
        )


class Busy(Exception):
    """Another live worker holds the document's lease; try again once it may have expired."""

    def __init__(self, doc_id: str, owner: str, seconds: float):
        super().__init__(f"document {doc_id} is being processed by {owner}")
        self.seconds = max(0.5, seconds)


class UnknownDocument(LookupError):
    pass


# --- leases ---------------------------------------------------------------------------------
def claim(rt: Context, doc_id: str, stage: str, owner: str, lease_seconds: int) -> int | None:
    """Take the document's lease for `stage`: the attempt number, or None when the document is
    no longer in the stage's input state (the stage already ran). Raises Busy or UnknownDocument."""
    now = utcnow()
    with rt.session() as session:
        claimed = session.execute(
            update(Document)
            .where(Document.id == doc_id, Document.state == STAGES[stage].input_state,
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
    if row.state != STAGES[stage].input_state:
        return None
    until = row.lease_until
    if until is not None and until.tzinfo is None:  # SQLite drops the zone; we store UTC
        until = until.replace(tzinfo=now.tzinfo)
    raise Busy(doc_id, row.lease_owner, (until - now).total_seconds() if until else 1.0)


def release(rt: Context, doc_id: str, owner: str, *, success: bool) -> bool:
    """Drop our lease (and reset the attempt count after a success). False if we had lost it."""
    values = {"lease_owner": None, "lease_until": None}
    if success:
        values["attempts"] = 0
    with rt.session() as session:
        return bool(session.execute(
            update(Document).where(Document.id == doc_id, Document.lease_owner == owner)
            .values(**values).execution_options(synchronize_session=False)).rowcount)


def sweep_orphans(rt: Context, doc_id: str, stage: str) -> list[str]:
    """Delete outputs of `stage` under the document's prefix that the catalog does not point at
    (left by an attempt that was killed or lost a race after storing its bytes)."""
    if STAGES[stage].output is None:
        return []
    stem, attr = STAGES[stage].output
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
    queue = STAGES[stage].queue
    if queue not in broker.get_declared_queues():
        broker.declare_queue(queue)
    message = dramatiq.Message(queue_name=queue, actor_name=STAGES[stage].actor_name,
                               args=(doc_id,), kwargs={}, options={})
    return broker.enqueue(message, delay=delay_ms)


def enqueue_document(rt: Context, broker: dramatiq.Broker, doc_id: str) -> str | None:
    """Enqueue the stage the document's state calls for; the stage name, or None if none
    (stored, failed, needs_review). Safe to call twice: stages skip work already done."""
    with rt.session() as session:
        state = session.scalar(select(Document.state).where(Document.id == doc_id))
    if state is None:
        raise UnknownDocument(f"no document {doc_id} in the catalog")
    stage = next_stage(state)
    if stage is not None:
        send(broker, stage.name, doc_id)
        log.info("enqueued %s", stage.name, extra={"document_id": doc_id, "stage": stage.name})
    return stage.name if stage else None


def enqueue_with_retry(rt: Context, broker, doc_id: str, *, tries: int = 5,
                       backoff: float = 0.5) -> str | None:
    """enqueue_document, retrying a broker that is briefly unreachable."""
    for attempt in range(1, tries + 1):
        try:
            return enqueue_document(rt, broker, doc_id)
        except UnknownDocument:
            raise
        except Exception as exc:  # noqa: BLE001 - redis/pika connection errors vary
            if attempt == tries:
                from pipeline.broker import BrokerUnavailable

                raise BrokerUnavailable(f"cannot enqueue document {doc_id}: "
                                        f"{type(exc).__name__}: {exc}") from exc
            log.warning("enqueue failed (%s), retrying", exc, extra={"document_id": doc_id})
            time.sleep(backoff * 2 ** (attempt - 1))
    return None


# --- the actors -----------------------------------------------------------------------------
def _owner() -> str:
    message = CurrentMessage.get_current_message()
    mid = message.message_id[:12] if message is not None else "-"
    return f"{socket.gethostname()}:{os.getpid()}:{threading.get_ident()}:{mid}"


def run_stage(stage: str, doc_id: str, *, rt: Context, broker: dramatiq.Broker | None = None,
              policy: Policy | None = None) -> str:
    """Body of every actor: claim, run (the shared driver and its failure policy), release,
    enqueue the next stage. Returns the outcome (done | skipped | failed); raises for dramatiq
    to retry (transient error, Busy)."""
    broker = broker or dramatiq.get_broker()
    policy = policy or Policy.from_settings(rt.settings)
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
            run_once(rt, stage, doc_id, workers=policy.ocr_workers, attempt=attempt,
                     max_attempts=policy.max_attempts,
                     after_recorded=lambda: release(rt, doc_id, owner, success=False))
    except Failed as failed:
        metrics.count(stage, "failed")
        log.error("failed: %s", failed.reason, extra={**ids, "attempt": attempt,
                                                       "permanent": failed.permanent})
        return "failed"
    except Exception as exc:
        with contextlib.suppress(Exception):  # the lease expires on its own
            release(rt, doc_id, owner, success=False)
        metrics.count(stage, "retry")
        log.warning("attempt %d failed, will retry: %s", attempt, describe(exc),
                    extra={**ids, "attempt": attempt, "error": exc.__class__.__name__})
        raise
    except TimeLimitExceeded:  # a BaseException: without this the document stays mid-stage
        reason = f"timed out: the {stage} stage ran longer than {policy.time_limit_s} s"
        mark_failed(rt, doc_id, stage, reason)
        release(rt, doc_id, owner, success=False)
        metrics.count(stage, "failed")
        log.error("failed: %s", reason, extra={**ids, "attempt": attempt})
        return "failed"

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


def retry_when(retries: int, exc: BaseException) -> bool:
    """dramatiq's retry predicate: never retry permanent errors. Transient ones reach dramatiq
    only below max_attempts (run_stage gives up itself) or when recording the failure
    failed, which must keep trying rather than lose the document."""
    return not is_permanent(exc) and retries < RETRY_HARD_CAP


def declare_actors(broker: dramatiq.Broker, rt: Context,
                   policy: Policy | None = None) -> dict[str, dramatiq.Actor]:
    """Register one actor per stage description on `broker`, working on `rt`; {stage: actor}."""
    policy = policy or Policy.from_settings(rt.settings)

    def actor_for(name: str):
        def run(document_id: str) -> None:
            run_stage(name, document_id, rt=rt, broker=broker, policy=policy)

        run.__name__ = name
        return run

    return {
        name: dramatiq.actor(
            actor_for(name), broker=broker, actor_name=stage.actor_name, queue_name=stage.queue,
            retry_when=retry_when, min_backoff=policy.min_backoff_ms,
            max_backoff=policy.max_backoff_ms, time_limit=policy.time_limit_s * 1000,
        )
        for name, stage in STAGES.items()
    }


# --- the safety net and the queue summary -------------------------------------------------
def requeue_stale(rt: Context, broker, older_than_s: float) -> list[str]:
    """Enqueue again documents in flight (received/ocr_done/classified) untouched for
    `older_than_s` seconds and not leased: a safety net for messages a broker lost
    (e.g. a Redis without persistence restarted). Duplicates are harmless."""
    cutoff = utcnow() - timedelta(seconds=older_than_s)
    now = utcnow()
    with rt.session() as session:
        ids = list(session.scalars(
            select(Document.id).where(
                Document.state.in_([stage.input_state for stage in STAGES.values()]),
                Document.updated_at < cutoff,
                or_(Document.lease_until.is_(None), Document.lease_until < now))))
    for doc_id in ids:
        enqueue_with_retry(rt, broker, doc_id)
    return ids


def state_counts(rt: Context) -> dict[str, int]:
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
    for stage, queue in QUEUES.items():  # one per stage description
        if kind == "RabbitmqBroker":
            ready, delayed, dead = broker.get_queue_message_counts(queue)
            result[stage] = {"pending": ready, "delayed": delayed, "dead": dead}
        else:
            broker.declare_queue(queue)
            pending = int(broker.do_qsize(queue))
            dead = int(broker.client.zcard(f"{broker.namespace}:{queue}.XQ"))
            result[stage] = {"pending": pending, "delayed": None, "dead": dead}
    return result
