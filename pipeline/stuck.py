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
import os
import re
import shutil
import socket
import tempfile
import threading
from datetime import timedelta
from pathlib import Path

from sqlalchemy import update

from pipeline import states
from pipeline.runtime import Runtime
from storage.catalog import AuditEvent, Document, utcnow

INLINE_LEASE_SECONDS = 60


def inline_owner() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{threading.get_ident()}:inline"


def owner_alive(owner: str | None) -> bool:
    """False when `owner` names a process on this host that no longer exists; True otherwise
    (another host's process is judged by its lease's expiry alone)."""
    if not owner:
        return False
    parts = owner.split(":")
    if len(parts) < 2 or parts[0] != socket.gethostname():
        return True
    try:
        pid = int(parts[1])
    except ValueError:
        return True
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


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
    if doc.state not in states.NEXT_STAGE or lease_live(doc):
        return False
    if doc.lease_owner:
        return True
    touched = _aware(doc.updated_at)
    return touched is None or utcnow() - touched > timedelta(seconds=INLINE_LEASE_SECONDS)


def take_lease(rt: Runtime, doc_id: str, owner: str,
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


def drop_lease(rt: Runtime, doc_id: str, owner: str) -> None:
    with contextlib.suppress(Exception), rt.session() as session:  # it expires on its own
        session.execute(update(Document).where(Document.id == doc_id,
                                               Document.lease_owner == owner)
                        .values(lease_owner=None, lease_until=None)
                        .execution_options(synchronize_session=False))


def temp_prefix(kind: str) -> str:
    """Prefix of a stage's temp folder, naming this process so leftovers can be swept."""
    return f"sohoa-{kind}-{os.getpid()}-"


_TEMP_NAME = re.compile(r"^sohoa-[a-z]+-(\d+)-")


def sweep_temp(folder: Path | None = None) -> list[Path]:
    """Remove temp folders left by sohoa processes on this host that no longer exist."""
    folder = Path(folder or tempfile.gettempdir())
    removed = []
    try:
        entries = list(folder.iterdir())
    except OSError:
        return removed
    for entry in entries:
        match = _TEMP_NAME.match(entry.name)
        if not match or not entry.is_dir():
            continue
        if owner_alive(f"{socket.gethostname()}:{match.group(1)}"):
            continue
        shutil.rmtree(entry, ignore_errors=True)
        removed.append(entry)
    return removed


def recover(rt: Runtime, doc_id: str, *, actor: str = "pipeline") -> bool:
    """Record a stuck document as failed at the stage it was in; True if it was stuck. The
    temp folders its stopped process left are removed."""
    with rt.session() as session:
        doc = session.get(Document, doc_id, with_for_update=True)
        if doc is None or not is_stuck(doc):
            return False
        stage = states.NEXT_STAGE[doc.state]
        since = _aware(doc.updated_at)
        reason = (f"interrupted: the {stage} stage did not finish (its process stopped"
                  + (f" after {since:%Y-%m-%d %H:%M:%S} UTC" if since else "") + ")")
        doc.state, doc.failed_stage, doc.error = states.FAILED, stage, reason
        doc.lease_owner = doc.lease_until = None
        session.add(AuditEvent(actor=actor, action="failed", document_id=doc_id,
                               detail={"stage": stage, "reason": reason}))
    sweep_temp()
    return True
