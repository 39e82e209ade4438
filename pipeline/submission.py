"""Submitting scans, retrying failed documents, and the dead-letter views (`sohoa submit`,
`sohoa failed list|show|retry`). Moving a document on is the dispatcher's job
(`pipeline.dispatch`): inline here, or enqueued for workers.
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select

from pipeline import states
from pipeline.actors import UnknownDocument
from pipeline.context import Context
from pipeline.dispatch import Dispatcher
from pipeline.errors import describe
from pipeline.ingest import ingest_file
from pipeline.inline import outcome
from pipeline.stages import STAGES
from storage.catalog import AuditEvent, Document


def submit(rt: Context, dispatcher: Dispatcher, paths, *, unit_code: str,
           procedure: str | None = None, dossier: str | None = None,
           actor: str = "cli") -> list[dict]:
    """Ingest files and dispatch them; one record per file:
    {file, document_id, status: queued|duplicate|failed|<final state when inline>, state, error}."""
    records = []
    for path in [Path(p) for p in paths]:
        record = {"file": str(path), "document_id": None, "status": "failed", "state": None,
                  "error": None}
        try:
            accepted = ingest_file(rt, path, unit_code=unit_code, procedure=procedure,
                                   dossier=dossier, actor=actor)
        except Exception as exc:  # noqa: BLE001 - reported per file
            record["error"] = describe(exc)
            records.append(record)
            continue
        doc_id = record["document_id"] = accepted.document_id
        if dispatcher.inline:
            if not accepted.duplicate:
                dispatcher.run(doc_id)
            records.append(outcome(rt, path, doc_id, duplicate=accepted.duplicate))
            continue
        try:
            # a duplicate still in flight is enqueued again: harmless, and rescues a document
            # whose first submission never reached the broker
            dispatcher.run(doc_id)
            record["status"] = "duplicate" if accepted.duplicate else "queued"
        except Exception as exc:  # noqa: BLE001
            record["status"] = "received"
            record["error"] = f"stored but not queued (broker unreachable): {describe(exc)}"
        with rt.session() as session:
            record["state"] = session.scalar(select(Document.state)
                                             .where(Document.id == doc_id))
        records.append(record)
    return records


def failed_documents(rt: Context, limit: int = 1000) -> list[dict]:
    with rt.session() as session:
        docs = session.scalars(select(Document).where(Document.state == states.FAILED)
                               .order_by(Document.updated_at.desc()).limit(limit)).all()
        return [{"document_id": d.id, "file": d.source_name, "failed_stage": d.failed_stage,
                 "error": d.error, "attempts": d.attempts, "updated_at": d.updated_at}
                for d in docs]


def document_history(rt: Context, doc_id: str) -> dict:
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


def _resume_state(doc: Document) -> str:
    """Where a retried document resumes: the input state of the stage that failed when the
    outputs of the stages before it are there (each stage description names its output
    column); otherwise the input state of the earliest stage whose output is missing."""
    order = list(STAGES.values())
    failed_at = next((i for i, s in enumerate(order) if s.name == doc.failed_stage), 0)
    for stage in order[:failed_at]:
        if stage.output is not None and getattr(doc, stage.output[1]) is None:
            return stage.input_state
    return order[failed_at].input_state


def retry_failed(rt: Context, dispatcher: Dispatcher, doc_ids: list[str], *,
                 actor: str = "cli") -> list[dict]:
    """Put failed documents back where they failed and dispatch them (inline: run them now)."""
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
        state = dispatcher.run(doc_id)
        if not dispatcher.inline:
            state = resume
        records.append({"document_id": doc_id, "state": state, "error": None})
    return records
