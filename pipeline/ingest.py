"""Accepting a scan: checksum it, record it once, and store the original before anything else.

The same bytes submitted twice for one admin unit are one document ((source sha256, unit) is
unique in the catalog); the same bytes submitted for another unit are another document, and the
submitter learns nothing about the first (migration 0020_dedup_per_unit).
"""

from __future__ import annotations

import hashlib
import mimetypes
import os
import socket
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from sqlalchemy import false, or_, select, update
from sqlalchemy.exc import IntegrityError

from pipeline.context import Context
from pipeline.errors import PermanentError
from pipeline.outputs import object_prefix
from storage import states
from storage.catalog import AdminUnit, AuditEvent, Document, new_id, utcnow
from storage.objects import CHUNK
from storage.units import UnknownUnit, find_unit


@dataclass
class Accepted:
    document_id: str
    duplicate: bool


def file_sha256(path: Path) -> tuple[str, int]:
    digest, size = hashlib.sha256(), 0
    with open(path, "rb") as handle:
        while chunk := handle.read(CHUNK):
            digest.update(chunk)
            size += len(chunk)
    return digest.hexdigest(), size


def ingest_file(
    rt: Context,
    path: Path,
    *,
    unit_code: str,
    procedure: str | None = None,
    dossier: str | None = None,
    actor: str = "cli",
    corrections: dict | None = None,
) -> Accepted:
    """Record and store one scan. Raises PermanentError for a file that cannot be accepted."""
    path = Path(path)
    if not path.is_file():
        raise PermanentError(f"{path}: no such file")
    sha, size = file_sha256(path)
    if size == 0:
        raise PermanentError(f"{path}: file is empty (0 bytes)")

    try:
        doc_id, key, adopted = _create(rt, path, sha, size, unit_code, procedure, dossier,
                                       {**corrections, "actor": actor} if corrections else None)
    except IntegrityError:  # the same bytes were accepted concurrently for this unit
        existing = _find_by_sha(rt, sha, unit_code)
        if existing is None:
            raise
        return Accepted(existing, duplicate=True)
    if key is None:
        return Accepted(doc_id, duplicate=True)

    content_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    try:
        stored = rt.objects.put_file(key, path, content_type)
        if stored.sha256 != sha:
            raise OSError(f"{path}: file changed while it was being stored")
    except BaseException:
        if not adopted:
            with rt.session() as session:  # nothing half-accepted: forget the row, no object
                session.delete(session.get(Document, doc_id))
            rt.objects.delete(key)
        raise

    with rt.session() as session:
        doc = session.get(Document, doc_id)
        doc.original_key = key
        doc.lease_owner = doc.lease_until = None
        if adopted and doc.state == states.FAILED:  # it failed for want of its original
            doc.state, doc.failed_stage, doc.error, doc.attempts = states.RECEIVED, None, None, 0
        session.add(AuditEvent(actor=actor, action="received", document_id=doc_id,
                               detail={"file": path.name, "sha256": sha, "size": size}))
    return Accepted(doc_id, duplicate=False)


INGEST_LEASE_S = 600  # how long an ingest may take to store its original before another adopts it


def _ingest_owner() -> str:
    return f"ingest:{socket.gethostname()}:{os.getpid()}"


def _dead_here(owner: str | None) -> bool:
    """True when `owner` is an ingest of this machine whose process is gone (SIGKILLed)."""
    if not owner or not owner.startswith("ingest:"):
        return False
    host, _, pid = owner[len("ingest:"):].rpartition(":")
    if host != socket.gethostname() or not pid.isdigit():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


def _create(rt, path, sha, size, unit_code, procedure, dossier, corrections
            ) -> tuple[str, str | None, bool]:
    """Insert the document row, leased to this ingest until its original is stored:
    (id, key to store the original under, adopted). Known bytes: (existing id, None, False) —
    unless the ingest that accepted them died before their original was stored (no
    original_key, and its lease ran out or its process on this machine is gone): that row is
    adopted and the original stored now, so a resumed submission finishes what the killed one
    began. A concurrent ingest of the same bytes that is still alive is left alone."""
    now = utcnow()
    with rt.session() as session:
        try:
            unit = find_unit(session, unit_code)
        except UnknownUnit as exc:
            raise PermanentError(f"{path}: {exc}") from None
        existing = _same_bytes(session, sha, unit.code)  # never another unit's row
        if existing and existing.original_key is None:
            adopted = session.execute(
                update(Document)
                .where(Document.id == existing.id, Document.original_key.is_(None),
                       or_(Document.lease_owner.is_(None), Document.lease_until < now,
                           Document.lease_owner == existing.lease_owner
                           if _dead_here(existing.lease_owner) else false()))
                .values(lease_owner=_ingest_owner(),
                        lease_until=now + timedelta(seconds=INGEST_LEASE_S))
                .execution_options(synchronize_session=False)).rowcount
            if adopted:
                doc = session.get(Document, existing.id)
                return doc.id, f"{object_prefix(doc)}/original{path.suffix.lower()[:10]}", True
        if existing:
            return existing.id, None, False
        doc = Document(id=new_id(), state=states.RECEIVED, source_name=path.name,
                       source_sha256=sha, source_size=size, unit=unit,
                       procedure_code=procedure, dossier_code=dossier,
                       pending_corrections=corrections, lease_owner=_ingest_owner(),
                       lease_until=now + timedelta(seconds=INGEST_LEASE_S))
        from pipeline.stages import copy_agency

        # the agency this counter copies for travels with the scan (a worker signs it later)
        agency = copy_agency(rt, session, doc)
        doc.agency_id = agency.id if agency is not None else None
        session.add(doc)
        session.flush()
        return doc.id, f"{object_prefix(doc)}/original{path.suffix.lower()[:10]}", False


def _same_bytes(session, sha: str, unit_code: str):
    """(id, original_key, lease_owner) of the document of this unit holding these bytes, or
    None. By unit *code*: the pipeline files a document under the version of its unit valid on
    the issue date (00004 was Phường Trúc Bạch before July 2025), and the same file sent again
    for 00004 is still that document."""
    return session.execute(
        select(Document.id, Document.original_key, Document.lease_owner)
        .join(AdminUnit, AdminUnit.id == Document.unit_id)
        .where(Document.source_sha256 == sha, AdminUnit.code == unit_code)
        .order_by(Document.created_at).limit(1)).first()


def _find_by_sha(rt: Context, sha: str, unit_code: str) -> str | None:
    with rt.session() as session:
        row = _same_bytes(session, sha, unit_code)
        return row.id if row is not None else None
