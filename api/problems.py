"""RFC 9457 problem details: every error the API returns is application/problem+json."""

from __future__ import annotations

import logging
from http import HTTPStatus

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import OperationalError
from sqlalchemy.exc import TimeoutError as SQLAlchemyTimeoutError
from starlette.exceptions import HTTPException as StarletteHTTPException

from pipeline.broker import BrokerUnavailable
from storage.objects import ObjectStoreUnavailable

log = logging.getLogger(__name__)

PROBLEM = "application/problem+json"
TYPE_BASE = "https://sohoa.invalid/problems/"


class Problem(Exception):
    """Raise from a route to answer with a problem document."""

    def __init__(self, status: int, detail: str, *, kind: str | None = None,
                 headers: dict[str, str] | None = None, **extra):
        super().__init__(detail)
        self.status, self.detail, self.kind = status, detail, kind
        self.headers, self.extra = headers or {}, extra


def problem_response(request: Request | None, status: int, detail: str, *, kind: str | None = None,
                     headers: dict[str, str] | None = None, **extra) -> JSONResponse:
    phrase = HTTPStatus(status).phrase if status in HTTPStatus._value2member_map_ else "Error"
    body = {
        "type": TYPE_BASE + (kind or phrase.lower().replace(" ", "-").replace("'", "")),
        "title": phrase,
        "status": status,
        "detail": detail,
    }
    if request is not None:
        body["instance"] = request.url.path
    body.update(extra)
    return JSONResponse(body, status_code=status, media_type=PROBLEM, headers=headers)


# OpenAPI description shared by every route's error responses.
PROBLEM_SCHEMA = {
    "type": "object",
    "required": ["type", "title", "status"],
    "properties": {
        "type": {"type": "string"}, "title": {"type": "string"},
        "status": {"type": "integer"}, "detail": {"type": "string"},
        "instance": {"type": "string"},
    },
}


def problem_responses(*statuses: int) -> dict:
    return {s: {"description": HTTPStatus(s).phrase,
                "content": {PROBLEM: {"schema": PROBLEM_SCHEMA}}} for s in statuses}


MALFORMED_BODY = {"description": "the multipart body is malformed (no boundary, broken parts)",
                  "content": {PROBLEM: {"schema": PROBLEM_SCHEMA}}}


def document_problems(schema: dict) -> dict:
    """Make the OpenAPI document say what the handlers send: FastAPI documents request
    validation errors as 422 application/json (HTTPValidationError) on every route with
    parameters, but `install` answers them as problem+json; and a route with a multipart body
    answers a malformed one with 400 before its parameters are read."""
    for operations in schema.get("paths", {}).values():
        for operation in operations.values():
            responses = operation.get("responses", {})
            invalid = responses.get("422")
            if invalid is not None and PROBLEM not in invalid.get("content", {}):
                responses["422"] = {"description": "a parameter or the body is not valid",
                                    "content": {PROBLEM: {"schema": PROBLEM_SCHEMA}}}
            body = operation.get("requestBody", {}).get("content", {})
            if "multipart/form-data" in body:
                responses.setdefault("400", MALFORMED_BODY)
    schemas = schema.get("components", {}).get("schemas", {})
    text = str(schema.get("paths", {}))
    for name in ("HTTPValidationError", "ValidationError"):
        if f"/{name}'" not in text:
            schemas.pop(name, None)
    return schema


def install(app: FastAPI) -> None:
    default_openapi = app.openapi

    def openapi() -> dict:
        if app.openapi_schema is None:
            app.openapi_schema = document_problems(default_openapi())
        return app.openapi_schema

    app.openapi = openapi

    @app.exception_handler(Problem)
    async def _problem(request: Request, exc: Problem):
        return problem_response(request, exc.status, exc.detail, kind=exc.kind,
                                headers=exc.headers, **exc.extra)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException):
        detail = exc.detail if isinstance(exc.detail, str) else HTTPStatus(exc.status_code).phrase
        return problem_response(request, exc.status_code, detail,
                                headers=getattr(exc, "headers", None))

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError):
        errors = [{"loc": [str(p) for p in e.get("loc", ())], "msg": str(e.get("msg", "")),
                   "type": str(e.get("type", ""))} for e in exc.errors()]
        return problem_response(request, 422, "the request is not valid: " + "; ".join(
            f"{'.'.join(e['loc'])}: {e['msg']}" for e in errors), kind="invalid-request",
            errors=errors)

    @app.exception_handler(SQLAlchemyTimeoutError)
    async def _busy(request: Request, exc: SQLAlchemyTimeoutError):
        log.warning("no catalog connection free for %s %s", request.method, request.url.path)
        return problem_response(request, 503, "the catalog is busy; retry shortly", kind="busy",
                                headers={"Retry-After": "1"})

    @app.exception_handler(OperationalError)
    async def _unavailable(request: Request, exc: OperationalError):
        log.error("catalog unavailable on %s %s: %s", request.method, request.url.path, exc.orig)
        return problem_response(request, 503, "the catalog database is unavailable; retry later",
                                kind="unavailable", headers={"Retry-After": "5"})

    @app.exception_handler(ObjectStoreUnavailable)
    async def _store_unavailable(request: Request, exc: ObjectStoreUnavailable):
        log.error("object store unavailable on %s %s: %s", request.method, request.url.path, exc)
        return problem_response(request, 503, "the document store is unavailable; retry later",
                                kind="storage-unavailable", headers={"Retry-After": "5"})

    @app.exception_handler(BrokerUnavailable)
    async def _broker_unavailable(request: Request, exc: BrokerUnavailable):
        log.error("broker unavailable on %s %s: %s", request.method, request.url.path, exc)
        return problem_response(request, 503, "the work queue is unavailable; the scan is kept "
                                "and will be processed, retry to follow it", kind="queue-unavailable",
                                headers={"Retry-After": "10"})

    @app.exception_handler(Exception)
    async def _crash(request: Request, exc: Exception):
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return problem_response(request, 500, "internal error; it was logged")
