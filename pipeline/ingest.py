"""Accepting a scan: checksum it, record it once, and store the original before anything else.

The same bytes submitted twice are one document (the source sha256 is unique in the catalog).
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
from storage.catalog import AuditEvent, Document, new_id
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
    except IntegrityError:  # the same bytes were accepted concurrently
        return Accepted(_find_by_sha(rt, sha), duplicate=True)
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
    """Insert the document row; (existing id, None) when these bytes are already known."""
    with rt.session() as session:
        existing = session.scalar(select(Document.id).where(Document.source_sha256 == sha))
        if existing:
            return existing, None
        try:
            unit = find_unit(session, unit_code)
        except UnknownUnit as exc:
            raise PermanentError(f"{path}: {exc}") from None
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


def _find_by_sha(rt: Context, sha: str) -> str:
    with rt.session() as session:
        return session.scalar(select(Document.id).where(Document.source_sha256 == sha))
