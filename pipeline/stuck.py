"""Documents stuck mid-pipeline: who is working on a document, and recovering it when nobody is.

A stage run in-process (`pipeline.inline`) holds the document's lease like a worker does, with
an owner naming its host and process ("host:pid:thread:inline"), renewed while it runs. A
document in a working state (received, ocr_done, classified) is *stuck* when nobody holds a
live lease on it: no lease, an expired one, or one whose owner process on this host is gone
(killed, out of memory, power cut). `recover` records such a document as failed at the stage
it was in ("interrupted: …") and removes the temp folders the stopped process left (they carry
its pid), so `sohoa failed retry` and digitizing the same file again resume it instead of
answering `duplicate` for good. `sohoa fsck` lists documents sitting in
a working state longer than a bound (`storage.fsck.stuck_documents`).
"""

from __future__ import annotations

import contextlib
import logging
import os
import socket
import threading
from datetime import timedelta

from sqlalchemy import update

from pipeline.context import Context
from pipeline.stages import next_stage
from pipeline.tempdirs import owner_alive, sweep_temp
from storage.catalog import AuditEvent, Document, utcnow
from storage.states import FAILED

log = logging.getLogger("sohoa.pipeline")

INLINE_LEASE_SECONDS = 60


def inline_owner() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{threading.get_ident()}:inline"


def _aware(moment):
    if moment is not None and moment.tzinfo is None:  # SQLite drops the zone; we store UTC
        return moment.replace(tzinfo=utcnow().tzinfo)
    return moment


def lease_live(doc: Document) -> bool:
    until = _aware(doc.lease_until)
    return bool(doc.lease_owner and until is not None and until > utcnow()
                and owner_alive(doc.lease_owner))


def is_stuck(doc: Document) -> bool:
    """In a working state with nobody on it: a lease left by a gone or expired owner, or no
    lease and untouched for a lease's length (a document just accepted has no lease yet)."""
    if next_stage(doc.state) is None or lease_live(doc):
        return False
    if doc.lease_owner:
        return True
    touched = _aware(doc.updated_at)
    return touched is None or utcnow() - touched > timedelta(seconds=INLINE_LEASE_SECONDS)


def take_lease(rt: Context, doc_id: str, owner: str,
               seconds: int = INLINE_LEASE_SECONDS) -> bool:
    """Hold the document's lease for an in-process stage run. False when another live owner
    holds it (a worker, or another `sohoa` process on the same file)."""
    with rt.session() as session:
        doc = session.get(Document, doc_id, with_for_update=True)
        if doc is None:
            return False
        if doc.lease_owner not in (None, owner) and lease_live(doc):
            return False
        doc.lease_owner, doc.lease_until = owner, utcnow() + timedelta(seconds=seconds)
    return True


def drop_lease(rt: Context, doc_id: str, owner: str) -> None:
    with contextlib.suppress(Exception), rt.session() as session:  # it expires on its own
        session.execute(update(Document).where(Document.id == doc_id,
                                               Document.lease_owner == owner)
                        .values(lease_owner=None, lease_until=None)
                        .execution_options(synchronize_session=False))


def recover(rt: Context, doc_id: str, *, actor: str = "pipeline") -> bool:
    """Record a stuck document as failed at the stage it was in; True if it was stuck. The
    temp folders its stopped process left are removed."""
    with rt.session() as session:
        doc = session.get(Document, doc_id, with_for_update=True)
        if doc is None or not is_stuck(doc):
            return False
        stage = next_stage(doc.state).name
        since = _aware(doc.updated_at)
        reason = (f"interrupted: the {stage} stage did not finish (its process stopped"
                  + (f" after {since:%Y-%m-%d %H:%M:%S} UTC" if since else "") + ")")
        doc.state, doc.failed_stage, doc.error = FAILED, stage, reason
        doc.lease_owner = doc.lease_until = None
        session.add(AuditEvent(actor=actor, action="failed", document_id=doc_id,
                               detail={"stage": stage, "reason": reason}))
    sweep_temp()
    return True


class LeaseKeeper:
    """Renews a lease every third of its length while a stage runs (best effort): the workers'
    (`pipeline.actors`) and the in-process driver's (`pipeline.driver`)."""

    def __init__(self, rt: Context, doc_id: str, owner: str, seconds: int):
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
