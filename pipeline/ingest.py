"""Accepting a scan: checksum it, record it once, and store the original before anything else.

The same bytes submitted twice for one admin unit are one document ((source sha256, unit) is
unique in the catalog); the same bytes submitted for another unit are another document, and the
submitter learns nothing about the first (migration 0020_dedup_per_unit).
"""

from __future__ import annotations

import hashlib
import mimetypes
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from pipeline.context import Context
from pipeline.errors import PermanentError
from pipeline.outputs import object_prefix
from storage import states
from storage.catalog import AdminUnit, AuditEvent, Document, new_id
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
        doc_id, key = _create(rt, path, sha, size, unit_code, procedure, dossier,
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
        with rt.session() as session:  # nothing half-accepted: forget the row, keep no object
            session.delete(session.get(Document, doc_id))
        rt.objects.delete(key)
        raise

    with rt.session() as session:
        doc = session.get(Document, doc_id)
        doc.original_key = key
        session.add(AuditEvent(actor=actor, action="received", document_id=doc_id,
                               detail={"file": path.name, "sha256": sha, "size": size}))
    return Accepted(doc_id, duplicate=False)


def _create(rt, path, sha, size, unit_code, procedure, dossier, corrections) -> tuple[str, str | None]:
    """Insert the document row; (existing id, None) when this unit already has these bytes."""
    with rt.session() as session:
        try:
            unit = find_unit(session, unit_code)
        except UnknownUnit as exc:
            raise PermanentError(f"{path}: {exc}") from None
        existing = _same_bytes(session, sha, unit.code)
        if existing:
            return existing, None
        doc = Document(id=new_id(), state=states.RECEIVED, source_name=path.name,
                       source_sha256=sha, source_size=size, unit=unit,
                       procedure_code=procedure, dossier_code=dossier,
                       pending_corrections=corrections)
        from pipeline.stages import copy_agency

        # the agency this counter copies for travels with the scan (a worker signs it later)
        agency = copy_agency(rt, session, doc)
        doc.agency_id = agency.id if agency is not None else None
        session.add(doc)
        session.flush()
        return doc.id, f"{object_prefix(doc)}/original{path.suffix.lower()[:10]}"


def _same_bytes(session, sha: str, unit_code: str) -> str | None:
    """The document of this unit holding these bytes. By unit *code*: the pipeline files a
    document under the version of its unit valid on the issue date (00004 was Phường Trúc Bạch
    before July 2025), and the same file sent again for 00004 is still that document."""
    return session.scalar(
        select(Document.id).join(AdminUnit, AdminUnit.id == Document.unit_id)
        .where(Document.source_sha256 == sha, AdminUnit.code == unit_code)
        .order_by(Document.created_at).limit(1))


def _find_by_sha(rt: Context, sha: str, unit_code: str) -> str | None:
    with rt.session() as session:
        return _same_bytes(session, sha, unit_code)
