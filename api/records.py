"""Routes over archive records (hồ sơ lưu trữ, storage.records): the list a client may see and
one record with its documents. The same rules as results: `read:metadata` to read, a record
outside the client's units answers 404 like one that does not exist, and the personal data of
its documents (subject name and ID) is masked unless the client holds `read:pii`."""

from __future__ import annotations

import base64
import binascii
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from starlette.concurrency import run_in_threadpool

from api.deps import require
from api.keys import ClientInfo
from api.problems import Problem, problem_responses
from api.reads import retry_read
from api.results import _pii
from api.schemas import RecordDetail, RecordPage
from storage.records import disposals, document_dict, get_record, list_records, record_dict, record_documents

router = APIRouter(prefix="/v1", tags=["records"])


def _cursor(code: str) -> str:
    return base64.urlsafe_b64encode(code.encode()).decode().rstrip("=")


def _after(cursor: str) -> str:
    try:
        code = base64.b64decode(cursor + "=" * (-len(cursor) % 4), altchars=b"-_",
                                validate=True).decode()
    except (ValueError, binascii.Error, UnicodeDecodeError):
        code = ""
    if not code or len(code) > 80 or "\x00" in code:
        raise Problem(422, "the cursor is not one this API returned", kind="invalid-cursor")
    return code


def _links(code: str) -> dict[str, str]:
    return {"self": f"/v1/records/{code}"}


def _visible(info: ClientInfo, unit) -> bool:
    if unit is None:  # a record imported without a unit: only unbound clients see it
        return info.unit_id is None
    parent = unit.parent
    return info.sees(unit.id, unit.parent_id, unit.province_code, unit.code,
                     parent.code if parent is not None else None)


@router.get("/records", response_model=RecordPage, responses=problem_responses(401, 403, 422),
            summary="List archive records")
async def list_records_route(
    request: Request,
    info: Annotated[ClientInfo, Depends(require("read:metadata"))],
    unit: Annotated[str | None, Query(max_length=5, description=(
        "unit code: records of that unit and of the units under it"))] = None,
    fonds: Annotated[str | None, Query(max_length=40, description="fonds code (mã phông)")] = None,
    cursor: Annotated[str | None, Query(max_length=400)] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
):
    state = request.app.state
    after = _after(cursor) if cursor is not None else None
    unit_ids = None
    if info.unit_id is not None:
        unit_ids = await state.unit_ids.get(state.read, (
            "client", info.unit_level, info.unit_id, info.province_code))
    if unit is not None:
        named = await state.unit_ids.get(state.read, ("code", unit))
        unit_ids = named if unit_ids is None else sorted(set(unit_ids) & set(named))

    def read():
        with state.read() as session:
            rows = list_records(session, unit_ids=unit_ids, fonds_code=fonds, after=after,
                                limit=limit + 1)
            return [record_dict(r) for r in rows]

    records = await run_in_threadpool(retry_read, read)
    more = len(records) > limit
    records = records[:limit]
    items = [{**r, "links": _links(r["code"])} for r in records]
    return {"items": items, "limit": limit,
            "next_cursor": _cursor(records[-1]["code"]) if more else None}


@router.get("/records/{code:path}", response_model=RecordDetail,
            responses=problem_responses(401, 403, 404), summary="An archive record and its "
            "documents")
async def get_record_route(code: str, request: Request,
                           info: Annotated[ClientInfo, Depends(require("read:metadata"))]):
    state = request.app.state

    def read():
        with state.read() as session:
            record = get_record(session, code) if len(code) <= 80 else None
            if record is None or not _visible(info, record.unit):
                return None
            return (record_dict(record), [document_dict(*row) for row in
                                          record_documents(session, record)],
                    [{"decision": d.decision, "decided_on": d.decided_on,
                      "decided_by": d.decided_by, "recorded_at": d.recorded_at}
                     for d in disposals(session, record)])

    found = await run_in_threadpool(retry_read, read)
    if found is None:
        raise Problem(404, f"no record {code}", kind="not-found")
    record, documents, decisions = found
    items = []
    for d in documents:
        name, ident = _pii(info, d["subject_name"], d["subject_id"])
        items.append({
            **{k: d[k] for k in ("code", "sequence", "result_id", "document_type",
                                 "document_number", "issued_on", "issuer", "summary",
                                 "language", "pages", "sheets", "reliability",
                                 "physical_condition", "paper_code", "state")},
            "subject_name": name, "subject_id": ident, "sha256": d["signed_sha256"],
            "links": {"result": f"/v1/results/{d['result_id']}"} if d["result_id"] else {}})
    return {**record, "links": _links(record["code"]), "documents": items,
            "disposals": decisions}
