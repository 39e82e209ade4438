"""Routes over stored results: search, metadata, the signed PDF (streamed, ETag, Range) and the
verification of its signature. A result outside the client's units answers 404, like one that
does not exist, so unit scope leaks nothing."""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import logging
import re
import tempfile
from datetime import date, datetime
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response, StreamingResponse
from starlette.concurrency import run_in_threadpool

from api.deps import require
from api.keys import ClientInfo
from api.lookup import RESULT_BY_ID
from api.problems import Problem, problem_responses
from api.schemas import ResultDetail, ResultPage, Verification
from api.search_query import search_parameters, search_statement
from signing.verify import verify_pdf
from storage.objects import CHUNK, ObjectIntegrityError, ObjectNotFound, read_all
from storage.pii import mask_id, mask_name
from storage.result_search import newest_matching

router = APIRouter(prefix="/v1", tags=["results"])
log = logging.getLogger(__name__)


# --- personal data (the rule itself is storage.pii's, shared with the archive's DIP) -------
def _pii(info: ClientInfo, name, ident) -> tuple[str | None, str | None]:
    if info.has("read:pii"):
        return name, ident
    return mask_name(name), mask_id(ident)


def _links(result_id: str) -> dict:
    base = f"/v1/results/{result_id}"
    return {"self": base, "pdf": f"{base}/pdf", "verification": f"{base}/verification"}


def _summary(row, info: ClientInfo) -> dict:
    name, ident = _pii(info, row.subject_name, row.subject_id)
    return {
        "id": row.id, "dossier_code": row.dossier_code, "procedure_code": row.procedure_code,
        "document_number": row.document_number, "document_type": row.document_type,
        "issued_on": row.issued_on, "in_force": bool(row.in_force),
        "valid_until": row.valid_until, "issuer": row.issuer,
        "subject_name": name, "subject_id": ident,
        "unit": {"code": row.unit_code, "name": row.unit_name, "level": row.unit_level},
        "created_at": row.created_at, "links": _links(row.id),
    }


# --- cursor ----------------------------------------------------------------------------------
def encode_cursor(created_at: datetime, result_id: str) -> str:
    raw = json.dumps([created_at.isoformat(), result_id]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, str]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        stamp, result_id = json.loads(raw)
        return datetime.fromisoformat(stamp), str(result_id)
    except (ValueError, TypeError, binascii.Error, UnicodeDecodeError):
        raise Problem(422, "the cursor is not one this API returned", kind="invalid-cursor") from None


# --- search ----------------------------------------------------------------------------------
SEARCH_RESPONSES = {**problem_responses(401, 403, 422)}
SEARCH_RESPONSES[422] = {**SEARCH_RESPONSES[422], "description": (
    "a parameter is not valid, or the cursor is not one this API returned")}


@router.get("/results", response_model=ResultPage, responses=SEARCH_RESPONSES,
            summary="Search results")
async def search_results(
    request: Request,
    info: Annotated[ClientInfo, Depends(require("read:metadata"))],
    dossier: Annotated[str | None, Query(max_length=64, description="dossier (hồ sơ) code")] = None,
    number: Annotated[str | None, Query(max_length=80, description="document number")] = None,
    subject_id: Annotated[str | None, Query(max_length=12, description="needs read:pii")] = None,
    unit: Annotated[str | None, Query(max_length=5, description=(
        "unit code: results of that unit and of the units under it"))] = None,
    level: Annotated[str | None, Query(pattern="^(city|district|commune)$")] = None,
    procedure: Annotated[str | None, Query(max_length=20)] = None,
    type: Annotated[str | None, Query(max_length=40, description="document type")] = None,  # noqa: A002
    issued_from: date | None = None,
    issued_to: date | None = None,
    q: Annotated[str | None, Query(min_length=2, max_length=200, description=(
        "words of the OCR text (every one must appear), ignoring case and diacritics; needs "
        "read:pii, since that text holds names and personal ID numbers"))] = None,
    cursor: Annotated[str | None, Query(max_length=400)] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
):
    if subject_id is not None and not info.has("read:pii"):
        raise Problem(403, "searching by subject_id needs the scope 'read:pii'", kind="forbidden",
                      required_scope="read:pii")
    if q is not None and not info.has("read:pii"):  # the OCR text names people and their IDs
        raise Problem(403, "full-text search (q) covers names and personal ID numbers: it needs "
                      "the scope 'read:pii'", kind="forbidden", required_scope="read:pii")
    state = request.app.state
    params = search_parameters(dossier=dossier, number=number, subject_id=subject_id,
                               level=level, procedure=procedure, type=type,
                               issued_from=issued_from, issued_to=issued_to, limit=limit + 1)
    if cursor is not None:
        params["cursor_at"], params["cursor_id"] = decode_cursor(cursor)
    if info.unit_id is not None:
        params["client_units"] = await state.unit_ids.get(state.read, (
            "client", info.unit_level, info.unit_id, info.province_code))
    if unit is not None:
        params["units"] = await state.unit_ids.get(state.read, ("code", unit))
    query = search_statement(frozenset(params), state.reads.dialect)
    if q is not None:  # storage.result_search picks how, by how many documents match
        rows = await newest_matching(state.reads.all, state.reads.dialect,
                                     query.params(**params), q)
    else:
        rows = await state.reads.rows(query, params)
    more = len(rows) > limit
    rows = rows[:limit]
    return {"items": [_summary(r, info) for r in rows], "limit": limit,
            "next_cursor": encode_cursor(rows[-1].created_at, rows[-1].id) if more else None}


# --- one result --------------------------------------------------------------------------------
def _check_id(result_id: str) -> None:
    if not re.fullmatch(r"[0-9a-f]{32}", result_id):
        raise Problem(404, f"no result {result_id}", kind="not-found")


async def _visible_result(request: Request, info: ClientInfo, result_id: str):
    """The `api.lookup.RESULT_BY_ID` row of a result the client may see; 404 otherwise."""
    _check_id(result_id)
    request.state.document_id = result_id
    row = await request.app.state.reads.lookup(RESULT_BY_ID, {"result_id": result_id})
    if row is None or not info.sees(row.unit_id, row.parent_id, row.province_code,
                                    row.unit_code, row.parent_code):
        raise Problem(404, f"no result {result_id}", kind="not-found")
    return row


def _agency(code: str | None, name: str | None) -> dict | None:
    return {"code": code, "name": name} if code else None


def _signer(event) -> str | None:
    return (event or {}).get("signer")


@router.get("/results/{result_id}", response_model=ResultDetail,
            responses=problem_responses(401, 403, 404), summary="A result's metadata")
async def get_result(result_id: str, request: Request,
                     info: Annotated[ClientInfo, Depends(require("read:metadata"))]):
    row = await _visible_result(request, info, result_id)
    body = _summary(row, info)
    has_doc = row.doc_id is not None
    signed = bool(row.signed_key)
    body.update(procedure_name=row.procedure_name, province_code=row.province_code,
                state=row.doc_state, pages=row.page_count,
                sha256=row.signed_sha256 if has_doc else None, document=None)
    if has_doc:
        fields = dict(row.fields or {})
        if "subject_name" in fields or "subject_id" in fields:
            fields["subject_name"], fields["subject_id"] = _pii(
                info, fields.get("subject_name"), fields.get("subject_id"))
        body["document"] = {
            "id": row.doc_id, "state": row.doc_state, "pages": row.page_count,
            "sha256": row.signed_sha256, "source_sha256": row.source_sha256,
            "document_type": row.doc_type, "confidence": row.confidence,
            "fields": fields, "stored_at": row.stored_at}
    body["agency"] = _agency(row.agency_code, row.agency_name)
    body["signature"] = {"signed": signed,
                         "signer": _signer(row.stored_event) if signed else None,
                         "agency": _agency(row.copy_agency_code, row.copy_agency_name)
                         if signed else None,
                         "signed_at": row.stored_at if has_doc else None,
                         "sha256": row.signed_sha256 if has_doc else None}
    return body


async def _signed_object(request: Request, info: ClientInfo, result_id: str
                         ) -> tuple[str, str]:
    row = await _visible_result(request, info, result_id)
    if not row.signed_key:
        raise Problem(404, f"result {result_id} has no signed PDF", kind="not-found")
    return row.signed_key, row.signed_sha256


# --- the PDF ---------------------------------------------------------------------------------
RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")


def parse_range(header: str | None, size: int) -> tuple[int, int] | None:
    """(start, end inclusive) for a single satisfiable range; None to send the whole file.
    Raises Problem 416 when unsatisfiable."""
    if not header:
        return None
    match = RANGE.match(header.strip().replace(" ", ""))
    if match is None:
        return None  # multiple or malformed ranges: ignore the header (RFC 9110 §14.2)
    first, last = match.groups()
    if first == "" and last == "":
        return None
    if first == "":
        length = int(last)
        if length == 0 or size == 0:
            raise _unsatisfiable(size)
        return max(0, size - length), size - 1
    start = int(first)
    end = min(int(last), size - 1) if last else size - 1
    if start >= size or (last and int(last) < start):
        raise _unsatisfiable(size)
    return start, end


def _unsatisfiable(size: int) -> Problem:
    return Problem(416, f"the range is outside the file ({size} bytes)",
                   kind="range-not-satisfiable", headers={"Content-Range": f"bytes */{size}"})


def _stream(handle, start: int, length: int):
    """`length` bytes from `start` of a spooled, already verified copy; closes it."""
    try:
        handle.seek(start)
        remaining = length
        while remaining > 0:
            chunk = handle.read(min(CHUNK, remaining))
            if not chunk:
                return
            remaining -= len(chunk)
            yield chunk
    finally:
        handle.close()


# Objects up to this size are read whole (in a worker thread) and sent as one body; larger ones
# are spooled to a temporary file while hashed, then streamed from it. Either way the bytes are
# checked against the catalog's sha256 before the first one is sent: an object swapped under the
# key (even with matching checksum metadata) is an error response, never handed out, and the
# ETag / X-Content-SHA256 are the hash of exactly the bytes sent.
SMALL_OBJECT = CHUNK


def _mismatch(result_id: str, key: str) -> Problem:
    log.error("result %s: stored object %s does not match the catalog's sha256", result_id, key)
    return Problem(500, f"result {result_id}: the stored PDF does not match the catalog's "
                   "checksum and is not handed out; the operators have been told",
                   kind="object-corrupt")


def _read_verified(store, key: str, sha: str, result_id: str) -> bytes:
    try:
        with store.open(key, sha) as handle:
            return read_all(handle)  # the store checks the catalog's sha256 at EOF
    except ObjectNotFound:
        raise Problem(404, f"result {result_id}: its signed PDF is missing from the store",
                      kind="object-missing") from None
    except ObjectIntegrityError:
        raise _mismatch(result_id, key) from None


def _spool_verified(store, key: str, sha: str, result_id: str):
    """A temporary file holding the object, checked against the catalog's sha256."""
    spool = tempfile.TemporaryFile(prefix="sohoa-pdf-")  # noqa: SIM115 - closed by _stream
    try:
        with store.open(key, sha) as handle:
            while chunk := handle.read(CHUNK):
                spool.write(chunk)
    except ObjectNotFound:
        spool.close()
        raise Problem(404, f"result {result_id}: its signed PDF is missing from the store",
                      kind="object-missing") from None
    except ObjectIntegrityError:
        spool.close()
        raise _mismatch(result_id, key) from None
    except BaseException:
        spool.close()
        raise
    return spool


def etag_matches(if_none_match: str, etag: str) -> bool:
    """RFC 9110 §13.1.2: If-None-Match uses the weak comparison (a W/ prefix is ignored)."""
    if if_none_match.strip() == "*":
        return True
    strong = etag.removeprefix("W/")
    return any(t.strip().removeprefix("W/") == strong for t in if_none_match.split(","))


PDF_RESPONSES = {
    200: {"description": "the signed PDF", "content": {"application/pdf": {}}},
    206: {"description": "the requested byte range", "content": {"application/pdf": {}}},
    304: {"description": "not modified (If-None-Match, weak or strong)"},
    **problem_responses(401, 403, 404, 416, 500),
}


@router.get("/results/{result_id}/pdf", response_class=Response, responses=PDF_RESPONSES,
            summary="The signed PDF (ETag, Range)")
async def get_pdf(result_id: str, request: Request,
                  info: Annotated[ClientInfo, Depends(require("read:documents"))]):
    key, sha = await _signed_object(request, info, result_id)
    store = request.app.state.rt.objects
    etag = f'"{sha}"'
    headers = {"ETag": etag, "Accept-Ranges": "bytes", "X-Content-SHA256": sha,
               "Cache-Control": "private, no-transform",
               "Content-Disposition": f'inline; filename="{result_id}.pdf"'}
    if_none = request.headers.get("if-none-match")
    if if_none and etag_matches(if_none, etag):
        return Response(status_code=304, headers=headers)
    stat = await run_in_threadpool(store.stat, key)  # a HEAD request on S3: off the event loop
    if stat is None:
        raise Problem(404, f"result {result_id}: its signed PDF is missing from the store",
                      kind="object-missing")
    wanted = request.headers.get("range")
    if_range = request.headers.get("if-range")
    if if_range is not None and if_range.strip() != etag:
        wanted = None  # the client's copy is another version: send the whole file
    if stat.size <= SMALL_OBJECT:  # most signed results: one read, checked before a byte is sent
        data = await run_in_threadpool(_read_verified, store, key, sha, result_id)
        span = parse_range(wanted, len(data))
        if span is None:
            return Response(data, media_type="application/pdf", headers=headers)
        start, end = span
        headers["Content-Range"] = f"bytes {start}-{end}/{len(data)}"
        return Response(data[start:end + 1], status_code=206, media_type="application/pdf",
                        headers=headers)
    spool = await run_in_threadpool(_spool_verified, store, key, sha, result_id)
    size = spool.tell()
    try:
        span = parse_range(wanted, size)
    except Problem:
        spool.close()
        raise
    if span is None:
        headers["Content-Length"] = str(size)
        return StreamingResponse(_stream(spool, 0, size), media_type="application/pdf",
                                 headers=headers)
    start, end = span
    headers["Content-Length"] = str(end - start + 1)
    headers["Content-Range"] = f"bytes {start}-{end}/{size}"
    return StreamingResponse(_stream(spool, start, end - start + 1), status_code=206,
                             media_type="application/pdf", headers=headers)


# --- verification ------------------------------------------------------------------------------
def verification_body(data, trust_roots, expected_sha: str | None = None,
                      sha256: str | None = None) -> dict:
    """`data`: PDF bytes, or the path of a spooled copy (then `sha256` is already known)."""
    body = verify_pdf(data, trust_roots).to_dict()
    body["sha256"] = sha256 or hashlib.sha256(data).hexdigest()
    body["matches_catalog"] = None if expected_sha is None else body["sha256"] == expected_sha
    if body["matches_catalog"] is False:
        body["valid"] = False
        body["problems"].append("the stored bytes do not match the catalog's sha256")
    return body


@router.get("/results/{result_id}/verification", response_model=Verification,
            responses=problem_responses(401, 403, 404), summary="Verify a stored result")
async def get_verification(result_id: str, request: Request,
                           info: Annotated[ClientInfo, Depends(require("read:metadata"))]):
    key, sha = await _signed_object(request, info, result_id)
    # reading, hashing and validating take a while: a worker thread, not the event loop
    return await run_in_threadpool(_verify_stored, request.app.state.rt, result_id, key, sha)


def _verify_stored(rt, result_id: str, key: str, sha: str) -> dict:
    spool = tempfile.NamedTemporaryFile(prefix="sohoa-verify-", suffix=".pdf")  # noqa: SIM115
    try:  # spooled to disk while hashing: a large result never sits whole in memory
        digest = hashlib.sha256()
        with rt.objects.open(key, sha) as stream:  # the catalog's sha256, not the object's own
            while chunk := stream.read(CHUNK):
                digest.update(chunk)
                spool.write(chunk)
        spool.flush()
    except ObjectNotFound:
        spool.close()
        raise Problem(404, f"result {result_id}: its signed PDF is missing from the store",
                      kind="object-missing") from None
    except Exception as exc:  # noqa: BLE001 - a checksum mismatch is a verification result
        spool.close()
        if not isinstance(exc, ObjectIntegrityError):
            raise
        log.error("result %s: stored object %s does not match the catalog's sha256",
                  result_id, key)
        # the bytes are not this result's: nothing about them (another document's signer…)
        return {"valid": False, "intact": False, "trusted": False, "coverage": None,
                "modified_after_signing": True, "signer": None, "signing_time": None,
                "signature_count": 0, "signatures": [], "sha256": "", "matches_catalog": False,
                "problems": [f"result {result_id}: the stored PDF does not match the catalog's "
                             f"sha256 {sha}; it is not this result's signed copy"]}
    with spool:
        return verification_body(Path(spool.name), rt.signers.trust_roots(), sha,
                                 sha256=digest.hexdigest())
