"""Ingest for scanner stations: a multipart upload of one scan, idempotent by content hash.

The upload is streamed to a temporary file (bounded size), accepted with
`pipeline.ingest.ingest_file`, and handed to the process's dispatcher (`pipeline.dispatch`:
inline in a background thread, or enqueued for workers); the answer is 202 with a status
URL (200 for bytes this unit already sent: the same document id comes back). Bytes are
deduplicated per unit (pipeline.ingest): the same file sent for another unit is another document,
so no answer tells a key what another unit holds.
"""

from __future__ import annotations

import logging
import re
import tempfile
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Depends, File, Form, Query, Request, UploadFile
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy import select
from sqlalchemy.orm import aliased

from api.deps import require
from api.keys import ClientInfo
from api.problems import Problem, problem_responses
from api.schemas import IngestAccepted, IngestStatus
from pipeline.corrections import CorrectionsError, checked
from pipeline.errors import PermanentError
from pipeline.ingest import ingest_file
from storage.catalog import AdminUnit, Document, Result
from storage.duplicates import stored_elsewhere
from storage.objects import CHUNK
from storage.records import document_hints
from storage.units import UnknownUnit, find_unit

log = logging.getLogger(__name__)
Parent = aliased(AdminUnit)
router = APIRouter(prefix="/v1", tags=["ingest"])

MAX_UPLOAD = 200 * 1024 * 1024
MAGIC = {b"%PDF-": ".pdf", b"II*\x00": ".tif", b"MM\x00*": ".tif",
         b"\x89PNG\r\n\x1a\n": ".png", b"\xff\xd8\xff": ".jpg"}
TERMINAL = ("stored", "needs_review", "failed")
IN_FLIGHT = ("received", "ocr_done", "classified")


def _safe_name(name: str | None, suffix: str) -> str:
    stem = Path(name or "scan").stem
    stem = re.sub(r"[^\w.-]+", "-", stem, flags=re.UNICODE).strip(".-")[:80] or "scan"
    return stem + suffix


def _sniff(head: bytes) -> str | None:
    return next((ext for magic, ext in MAGIC.items() if head.startswith(magic)), None)


def _parse_corrections(raw: str | None) -> dict | None:
    if not raw:
        return None
    import json

    try:
        return checked(json.loads(raw))
    except CorrectionsError as exc:
        raise Problem(422, f"corrections: {exc}", kind="invalid-corrections") from None
    except (ValueError, RecursionError):  # RecursionError: brackets nested thousands deep
        raise Problem(422, "corrections: not JSON", kind="invalid-corrections") from None


def _unit_for(session, info: ClientInfo, unit: str, action: str) -> AdminUnit:
    """The unit `unit` names, if this key may act for it: 422 for an unknown code, 403 for a
    unit outside the key's scope."""
    try:
        target = find_unit(session, unit)
    except UnknownUnit as exc:
        raise Problem(422, str(exc), kind="unknown-unit") from None
    if not info.sees(target.id, target.parent_id, target.province_code, target.code,
                     target.parent.code if target.parent else None):
        raise Problem(403, f"this API key may not {action} unit {unit}", kind="forbidden")
    return target


def _status(doc_id: str) -> str:
    return f"/v1/ingest/{doc_id}"


@router.post("/ingest", response_model=IngestAccepted, status_code=202,
             responses={200: {"model": IngestAccepted, "description": "already received"},
                        **problem_responses(401, 403, 413, 415, 422, 503)},
             summary="Upload one scan (PDF, TIFF, PNG, JPEG)")
def ingest(
    request: Request,
    info: Annotated[ClientInfo, Depends(require("ingest"))],
    file: Annotated[UploadFile, File(description="the scan")],
    unit: Annotated[str, Form(pattern="^[0-9]{2,5}$", description="issuing unit code")],
    # no control characters (a NUL byte is refused by PostgreSQL: a 500 instead of a 422)
    procedure: Annotated[str | None, Form(max_length=20, pattern=r"^[^\x00-\x1f]*$")] = None,
    dossier: Annotated[str | None, Form(max_length=64, pattern=r"^[^\x00-\x1f]*$")] = None,
    corrections: Annotated[str | None, Form(
        max_length=20_000, description='JSON {"document_type": …, "fields": {…}} typed by staff: '
        "applied after recognition, kept as training data")] = None,
    sheets: Annotated[int | None, Form(ge=0, le=100_000, description=(
        "sheets of paper scanned (số lượng tờ), for the archive record"))] = None,
):
    rt = request.app.state.rt
    staff = _parse_corrections(corrections)
    with rt.session() as session:
        _unit_for(session, info, unit, "submit for")

    head = file.file.read(16)
    suffix = _sniff(head)
    if suffix is None:
        raise Problem(415, f"{file.filename or 'upload'}: not a PDF, TIFF, PNG or JPEG file",
                      kind="unsupported-file")
    with tempfile.TemporaryDirectory(prefix="sohoa-api-") as tmp:
        path = Path(tmp) / _safe_name(file.filename, suffix)
        size = len(head)
        with open(path, "wb") as out:
            out.write(head)
            while chunk := file.file.read(CHUNK):
                size += len(chunk)
                if size > MAX_UPLOAD:
                    raise Problem(413, f"{file.filename}: larger than {MAX_UPLOAD} bytes",
                                  kind="too-large")
                out.write(chunk)
        try:
            accepted = ingest_file(rt, path, unit_code=unit, procedure=procedure, dossier=dossier,
                                   actor=f"api:{info.name}", corrections=staff)
        except PermanentError as exc:
            raise Problem(422, str(exc).replace(str(path), file.filename or path.name),
                          kind="not-accepted") from None
    doc_id = accepted.document_id
    request.state.document_id = doc_id
    with rt.session() as session:
        row = session.execute(
            select(Document.state, AdminUnit.id, AdminUnit.parent_id, AdminUnit.province_code,
                   AdminUnit.code, Parent.code)
            .join(AdminUnit, AdminUnit.id == Document.unit_id)
            .outerjoin(Parent, Parent.id == AdminUnit.parent_id)
            .where(Document.id == doc_id)).one()
    state = row[0]
    if accepted.duplicate and not info.sees(*row[1:]):
        # unreachable while dedup is per unit code (the key sees the unit it submits for);
        # kept so a future change cannot hand out another unit's document id
        log.error("ingest by %s for unit %s answered document %s of unit %s", info.name, unit,
                  doc_id, row[4])
        raise Problem(503, "the scan could not be recorded; the operators have been told",
                      kind="unavailable")
    if sheets is not None:  # for the archive record, before the pipeline files the document
        with rt.session() as session:
            document_hints(session, doc_id, sheets=sheets)
    if not accepted.duplicate or state == "received":  # the dispatcher skips one running
        request.app.state.dispatcher.start(doc_id)
    body = {"document_id": doc_id, "duplicate": accepted.duplicate, "state": state,
            "status_url": _status(doc_id)}
    return JSONResponse(body, status_code=200 if accepted.duplicate else 202,
                        headers={"Location": _status(doc_id)})


class StoredElsewhere(BaseModel):
    result_id: str
    document_id: str
    dossier: str | None
    number: str | None
    issued_on: str | None
    why: str


class Duplicates(BaseModel):
    duplicates: list[StoredElsewhere]


@router.get("/ingest/duplicates", response_model=Duplicates,
            responses=problem_responses(401, 403, 422),
            summary="This unit's stored results with this number, issuer and date (a station's "
                    "check)")
def ingest_duplicates(
    request: Request,
    info: Annotated[ClientInfo, Depends(require("ingest"))],
    unit: Annotated[str, Query(min_length=2, max_length=5, description="the counter's unit code")],
    number: Annotated[str, Query(min_length=1, max_length=80)],
    issuer: Annotated[str | None, Query(max_length=300)] = None,
    issued_on: date | None = None,
    dossier: Annotated[str | None, Query(max_length=64)] = None,
):
    """The counter asks before submitting whether this paper is stored under another dossier of
    its unit; only that unit's results are looked at, and only if the key may see the unit
    (storage.duplicates.stored_elsewhere)."""
    with request.app.state.read() as session:
        target = _unit_for(session, info, unit, "ask about")
        found = stored_elsewhere(session, unit=target.code, number=number, issuer=issuer,
                                 issued_on=issued_on, text=None, dossier=dossier)
        visible = []
        for item in found:
            row = session.execute(
                select(AdminUnit.id, AdminUnit.parent_id, AdminUnit.province_code, AdminUnit.code,
                       Parent.code)
                .join(Result, Result.unit_id == AdminUnit.id)
                .outerjoin(Parent, Parent.id == AdminUnit.parent_id)
                .where(Result.id == item["result_id"])).first()
            if row is not None and info.sees(*row):
                visible.append(item)
    return {"duplicates": visible}


@router.get("/ingest/{document_id}", response_model=IngestStatus,
            responses=problem_responses(401, 403, 404), summary="Where an uploaded scan is")
def ingest_status(document_id: str, request: Request,
                  info: Annotated[ClientInfo, Depends(require("ingest"))]):
    request.state.document_id = document_id[:32]
    with request.app.state.read() as session:
        row = session.execute(
            select(Document.state, Document.result_id, Document.error, AdminUnit.id,
                   AdminUnit.parent_id, AdminUnit.province_code, AdminUnit.code, Parent.code,
                   Document.lease_owner, Document.updated_at)
            .join(AdminUnit, AdminUnit.id == Document.unit_id)
            .outerjoin(Parent, Parent.id == AdminUnit.parent_id)
            .where(Document.id == document_id)
        ).first()
    if row is None or not info.sees(*row[3:8]):
        raise Problem(404, f"no document {document_id}", kind="not-found")
    return {"document_id": document_id, "state": row.state, "result_id": row.result_id,
            "error": row.error, "status_url": _status(document_id),
            "result_url": f"/v1/results/{row.result_id}" if row.result_id else None,
            "waiting": _waiting(row.state, row.lease_owner, row.updated_at)}


WAITING_AFTER_S = 30


def _waiting(state: str, lease_owner: str | None, updated_at) -> bool:
    """In flight, nobody working on it, untouched for WAITING_AFTER_S: its message waits in a
    queue that is down or behind (the sweeper re-sends lost ones)."""
    if state not in IN_FLIGHT or lease_owner or updated_at is None:
        return False
    if updated_at.tzinfo is None:  # SQLite hands back naive UTC
        updated_at = updated_at.replace(tzinfo=UTC)
    return (datetime.now(UTC) - updated_at).total_seconds() > WAITING_AFTER_S
