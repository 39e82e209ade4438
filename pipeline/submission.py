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
from pipeline.driver import reopen_failed
from pipeline.errors import describe
from pipeline.ingest import ingest_file
from pipeline.inline import outcome, resume_if_stuck
from pipeline.stuck import recover
from storage.catalog import AuditEvent, Document
from storage.records import document_hints


def submit(rt: Context, dispatcher: Dispatcher, paths, *, unit_code: str,
           procedure: str | None = None, dossier: str | None = None,
           actor: str = "cli", corrections: dict | None = None,
           archive: dict | None = None) -> list[dict]:
    """Ingest files and dispatch them; one record per file:
    {file, document_id, status: queued|duplicate|failed|<final state when inline>, state, error}.
    `archive`: what is known of the paper (sheets, physical_condition, paper_code), kept for the
    archive record the document is filed in (storage.records.document_hints)."""
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
        if archive:
            with rt.session() as session:
                document_hints(session, doc_id, **archive)
        if dispatcher.inline:
            duplicate = accepted.duplicate
            if not duplicate:
                dispatcher.run(doc_id)
            elif resume_if_stuck(rt, doc_id, None):  # left mid-pipeline by a killed process
                duplicate = False
            records.append(outcome(rt, path, doc_id, duplicate=duplicate))
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


def retry_failed(rt: Context, dispatcher: Dispatcher, doc_ids: list[str], *,
                 actor: str = "cli") -> list[dict]:
    """Put failed documents back where they failed and dispatch them (inline: run them now).
    Inline, a document left mid-pipeline by a stopped process is recovered first
    (`pipeline.stuck`) and retried like a failed one."""
    records = []
    for doc_id in doc_ids:
        if dispatcher.inline:
            recover(rt, doc_id, actor=actor)
        try:
            resume = reopen_failed(rt, doc_id, actor=actor)
        except LookupError as exc:
            raise UnknownDocument(str(exc)) from None
        if resume is None:
            with rt.session() as session:
                state = session.scalar(select(Document.state).where(Document.id == doc_id))
            records.append({"document_id": doc_id, "state": state,
                            "error": f"not failed (state {state})"})
            continue
        state = dispatcher.run(doc_id)
        if not dispatcher.inline:
            state = resume
        records.append({"document_id": doc_id, "state": state, "error": None})
    return records
