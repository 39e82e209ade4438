"""Routes that are not about one stored result: verification of an uploaded PDF, progress, and
the operational endpoints (/healthz, /readyz, /metrics)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, File, Query, Request, UploadFile
from fastapi.responses import JSONResponse, Response
from sqlalchemy import select, text

from api.deps import require
from api.keys import ClientInfo
from api.problems import Problem, problem_response, problem_responses
from api.results import verification_body
from api.schemas import Progress, Verification
from pipeline.broker import BrokerUnavailable, ping_broker
from quotas.progress import digitized_counts
from storage.catalog import AdminUnit
from storage.objects import CHUNK

router = APIRouter(prefix="/v1", tags=["verification", "progress"])
ops = APIRouter(tags=["operations"])

MAX_VERIFY = 64 * 1024 * 1024


@router.post("/verify", response_model=Verification, responses=problem_responses(401, 413, 422),
             summary="Verify the signatures of an uploaded PDF")
def verify_upload(request: Request, info: Annotated[ClientInfo, Depends(require(None))],
                  file: Annotated[UploadFile, File(description="a signed PDF")]):
    parts, size = [], 0
    while chunk := file.file.read(CHUNK):
        size += len(chunk)
        if size > MAX_VERIFY:
            raise Problem(413, f"{file.filename}: larger than {MAX_VERIFY} bytes", kind="too-large")
        parts.append(chunk)
    return verification_body(b"".join(parts), request.app.state.rt.signers.trust_roots())


@router.get("/progress", response_model=Progress, responses=problem_responses(401, 403, 422),
            summary="Digitized results per unit and level (the numbers of `sohoa progress`)")
def progress(request: Request, info: Annotated[ClientInfo, Depends(require("read:metadata"))],
             level: Annotated[str | None, Query(pattern="^(city|district|commune)$")] = None,
             unit: Annotated[str | None, Query(max_length=5)] = None):
    # Depends on quotas.progress (being extended by the quotas work): rows keyed by unit code.

    with request.app.state.read() as session:
        rows = digitized_counts(session)
        if info.unit_id is not None:
            visible = set(session.scalars(select(AdminUnit.code).where(info.unit_filter(AdminUnit))))
            rows = [r for r in rows if r.get("code") in visible]
    if level:
        rows = [r for r in rows if r.get("level") == level]
    if unit:
        rows = [r for r in rows if r.get("code") == unit]
    totals: dict[str, int] = {}
    for row in rows:
        totals[row["level"]] = totals.get(row["level"], 0) + int(row.get("stored") or 0)
    return {"units": rows, "totals": totals}


@ops.get("/healthz", summary="The process is up")
def healthz():
    return {"status": "ok"}


@ops.get("/readyz", summary="The catalog, the object store and the broker answer",
         responses=problem_responses(503))
def readyz(request: Request):
    rt = request.app.state.rt
    checks = {}
    try:
        with rt.session() as session:
            session.execute(text("SELECT 1"))
        checks["database"] = "ok"
    except Exception as exc:  # noqa: BLE001 - report, never crash the probe
        checks["database"] = f"unreachable: {type(exc).__name__}"
    try:
        rt.objects.stat("readyz/probe")
        checks["objects"] = "ok"
    except Exception as exc:  # noqa: BLE001
        checks["objects"] = f"unreachable: {type(exc).__name__}"
    try:
        ping_broker(rt.settings.broker_url, timeout=2.0)
        checks["broker"] = "ok"
    except BrokerUnavailable as exc:
        checks["broker"] = f"unreachable: {type(exc.__cause__ or exc).__name__}"
    if all(v == "ok" for v in checks.values()):
        return JSONResponse({"status": "ready", "checks": checks})
    return problem_response(request, 503, "not ready: " + ", ".join(
        f"{k} {v}" for k, v in checks.items() if v != "ok"), kind="not-ready", checks=checks)


@ops.get("/metrics", summary="Prometheus metrics (a key with the read:metrics scope)",
         response_class=Response, responses=problem_responses(401, 403))
def metrics(request: Request, info: Annotated[ClientInfo, Depends(require("read:metrics"))]):
    from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

    return Response(generate_latest(request.app.state.metrics.registry),
                    media_type=CONTENT_TYPE_LATEST)
