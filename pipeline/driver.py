"""Running a stage once, and the failure policy every driver shares.

`run_once` runs one stage of one document. When it fails, the policy is written here once:
a permanent error (bad input) or the last allowed attempt marks the document failed with the
stage and the reason and, for a permanent error, moves its original to quarantine/; any other
error is raised for the caller to retry (dramatiq's backoff in `pipeline.actors`). The inline
driver (`process_document`) allows one attempt per stage: a failure is recorded at once.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from pipeline.context import Context
from pipeline.errors import describe, is_permanent
from pipeline.outputs import quarantine
from pipeline.stages import STAGES, Stage, next_stage
from pipeline.states import check_transition
from pipeline.stuck import (
    INLINE_LEASE_SECONDS,
    LeaseKeeper,
    drop_lease,
    inline_owner,
    take_lease,
)
from storage import states
from storage.catalog import AuditEvent, Document

log = logging.getLogger("sohoa.pipeline")


def mark_failed(rt: Context, doc_id: str, stage: str, reason: str,
                reason_vi: str | None = None) -> None:
    """Record the failure (state failed, the stage, the reason, an audit event); a document
    already stored or failed is left as it is. `reason_vi` (an InputError's Vietnamese line) is
    kept in the audit event for the counter station to show staff."""
    with rt.session() as session:
        doc = session.get(Document, doc_id, with_for_update=True)
        if doc is None or doc.state in (states.STORED, states.FAILED):
            return
        doc.state, doc.failed_stage, doc.error = states.FAILED, stage, reason
        detail = {"stage": stage, "reason": reason}
        if reason_vi:
            detail["reason_vi"] = reason_vi
        session.add(AuditEvent(actor="pipeline", action="failed", document_id=doc_id,
                               detail=detail))


class Failed(Exception):
    """The stage failed for good and the failure is recorded (`reason`, `permanent`)."""

    def __init__(self, reason: str, *, permanent: bool):
        super().__init__(reason)
        self.reason, self.permanent = reason, permanent


def run_once(rt: Context, stage: Stage | str, doc_id: str, *, workers: int | None = None,
             attempt: int = 1, max_attempts: int = 1,
             after_recorded: Callable[[], None] | None = None, name: str | None = None) -> None:
    """Run `stage` once on the document. On failure apply the policy: raise Failed once the
    failure is recorded (permanent error, or `attempt` reached `max_attempts`), else re-raise the
    error for a later attempt. `after_recorded` runs once the failure is recorded, before the
    quarantine (the actors drop their lease there). If recording the failure itself fails, that error is
    raised (the caller must try again rather than lose the document)."""
    stage = STAGES[stage] if isinstance(stage, str) else STAGES[stage.name]
    try:
        stage.run(rt, doc_id, workers=workers)
    except Exception as exc:
        permanent = is_permanent(exc)
        if not permanent and attempt < max_attempts:
            raise
        reason = describe(exc, name) if permanent or max_attempts == 1 else (
            f"gave up after {attempt} attempts: {describe(exc, name)}")
        mark_failed(rt, doc_id, stage.name, reason, getattr(exc, "vi", None) if permanent else None)
        if after_recorded is not None:
            after_recorded()
        if permanent:
            try:
                quarantine(rt, doc_id)
            except Exception:  # noqa: BLE001 - the failure is recorded; quarantine is housekeeping
                log.exception("quarantine failed", extra={"document_id": doc_id})
        raise Failed(reason, permanent=permanent) from exc


def process_document(rt: Context, doc_id: str, *, ocr_workers: int | None = None,
                     stop_before: str | None = None) -> str:
    """Run the remaining stages of one document in this process (all, or up to the stage named
    `stop_before`); its state afterwards.

    Holds the document's lease while a stage runs (`pipeline.stuck`): another process finds
    it busy, and once this one is gone the document can be recovered. A stage interrupted
    (Ctrl-C, SystemExit, a time limit) records `failed` with the reason before unwinding."""
    owner = inline_owner()
    while True:
        with rt.session() as session:
            doc = session.get(Document, doc_id)
            state, name = doc.state, doc.source_name
        stage = next_stage(state)
        if stage is None or stage.name == stop_before:
            return state
        if not take_lease(rt, doc_id, owner):
            log.info("document %s is being processed elsewhere", doc_id)
            return state
        try:
            with LeaseKeeper(rt, doc_id, owner, INLINE_LEASE_SECONDS):
                run_once(rt, stage, doc_id, workers=ocr_workers, name=name)
        except Failed as failed:
            log.warning("document %s failed in %s: %s", doc_id, stage.name, failed.reason)
            return states.FAILED
        except BaseException as exc:  # interrupted: never leave the document mid-pipeline
            mark_failed(rt, doc_id, stage.name, f"interrupted during the {stage.name} stage "
                                                f"({type(exc).__name__})")
            raise
        finally:
            drop_lease(rt, doc_id, owner)


def resume_state(doc: Document) -> str:
    """Where a retried document resumes: the input state of the stage that failed when the
    outputs of the stages before it are there (each stage description names its output
    column); otherwise the input state of the earliest stage whose output is missing."""
    order = list(STAGES.values())
    failed_at = next((i for i, s in enumerate(order) if s.name == doc.failed_stage), 0)
    for stage in order[:failed_at]:
        if stage.output is not None and getattr(doc, stage.output[1]) is None:
            return stage.input_state
    return order[failed_at].input_state


def reopen_failed(rt: Context, doc_id: str, *, actor: str) -> str | None:
    """Put a failed document back where it failed (an audit event says so); the state it
    resumes from, or None when it is not failed. LookupError when there is no such document."""
    with rt.session() as session:
        doc = session.get(Document, doc_id, with_for_update=True)
        if doc is None:
            raise LookupError(f"no document {doc_id} in the catalog")
        if doc.state != states.FAILED:
            return None
        resume = resume_state(doc)
        session.add(AuditEvent(actor=actor, action="retried", document_id=doc_id,
                               detail={"stage": doc.failed_stage, "reason": doc.error,
                                       "resume": resume}))
        check_transition(doc.state, resume)  # retry edges resume where it failed
        doc.state, doc.failed_stage, doc.error = resume, None, None
        doc.attempts, doc.lease_owner, doc.lease_until = 0, None, None
    return resume
