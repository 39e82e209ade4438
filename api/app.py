"""The retrieval API's application factory: `create_app(runtime=…) -> FastAPI`.

Wires the routers, problem+json errors, and one ASGI middleware that, for every /v1 request,
appends an access-log row (client, endpoint, document, X-Purpose, status, outcome) and feeds
the Prometheus metrics.
"""

from __future__ import annotations

import gc
import time
from contextlib import asynccontextmanager
from dataclasses import dataclass
from urllib.parse import unquote

from fastapi import Depends, FastAPI

from api import docs, ingest, problems, records, results, service
from api.audit import AuditWriter
from api.deps import Authenticator, UnitIds, no_nul_characters
from api.head import HeadAsGet
from api.pipeline_metrics import PipelineCollector
from api.reads import AsyncReads, ReadSessions
from api.revocations import RevocationListener
from storage.catalog import utcnow

OUTCOMES = {401: "denied", 403: "denied", 404: "not_found", 409: "conflict", 416: "invalid",
            413: "invalid", 415: "invalid", 422: "invalid"}


@dataclass
class Metrics:
    registry: object
    requests: object
    latency: object

    @classmethod
    def create(cls) -> Metrics:
        from prometheus_client import CollectorRegistry, Counter, Histogram

        registry = CollectorRegistry()
        return cls(
            registry=registry,
            requests=Counter("sohoa_api_requests", "API requests", ["method", "endpoint", "status"],
                             registry=registry),
            latency=Histogram("sohoa_api_request_seconds", "API request latency", ["endpoint"],
                              registry=registry,
                              buckets=(.002, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10)),
        )


def outcome(status: int) -> str:
    if status < 400:
        return "ok"
    return OUTCOMES.get(status, "error" if status >= 500 else "invalid")


class AccessMiddleware:
    """Pure ASGI (no body buffering, streaming stays streaming)."""

    def __init__(self, app, api: FastAPI):
        self.app, self.api = app, api

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        started = time.perf_counter()
        scope.setdefault("state", {})
        status = 500

        async def send_status(message):
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_status)
        finally:
            self._record(scope, status, time.perf_counter() - started)

    def _record(self, scope, status: int, elapsed: float) -> None:
        route = scope.get("route")
        endpoint = getattr(route, "path", None) or "(unmatched)"
        metrics = self.api.state.metrics
        metrics.requests.labels(scope["method"], endpoint, str(status)).inc()
        metrics.latency.labels(endpoint).observe(elapsed)
        path = scope.get("path", "")
        if not path.startswith("/v1/"):
            return
        state = scope.get("state") or {}
        client = state.get("client")
        headers = dict(scope.get("headers") or ())
        # X-Purpose is free text; non-ASCII goes percent-encoded UTF-8 (HTTP headers are ASCII)
        purpose = unquote(headers.get(b"x-purpose", b"").decode("latin-1"))[:300] or None
        remote = scope.get("client")
        self.api.state.audit.record({
            "at": _now(), "client_id": client.id if client else None,
            "client_name": client.name if client else None, "method": scope["method"][:10],
            "endpoint": endpoint[:200], "path": path[:500],
            "document_id": (state.get("document_id") or None),
            "purpose": purpose, "status": status, "outcome": outcome(status),
            "remote": f"{remote[0]}"[:64] if remote else None,
            "duration_ms": round(elapsed * 1000),
        })


def _now():
    return utcnow()


def create_app(*, runtime, audit_batched: bool = True,
               auth_cache_seconds: float = 5.0) -> FastAPI:
    """The API over `runtime` (the composition root, `sohoa.runtime.create_api`, passes the
    process's)."""
    rt = runtime.open()  # migrate (SQLite) / check the schema once, before serving

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        await app.state.reads.open()  # this loop's async engine (PostgreSQL)
        if app.state.revocations is not None:
            app.state.revocations.start()
        # What exists now (routes, schemas, table metadata) lives as long as the process: keep it
        # out of the garbage collector's full passes, which otherwise walk it on every request
        # burst and show up as latency spikes.
        gc.collect()
        gc.freeze()
        yield
        if app.state.revocations is not None:
            await app.state.revocations.stop()
        await app.state.reads.close()
        app.state.audit.close()
        app.state.dispatcher.close()
        app.state.read.close()

    app = FastAPI(
        title="sohoa retrieval API",
        version="1",
        description=(
            "Find digitized results of administrative procedures, fetch their signed PDFs, verify "
            "signatures, report progress and accept scans. Authenticate with `Authorization: "
            "Bearer <key>`; send `X-Purpose` (percent-encoded UTF-8) to say why you read "
            "personal data. Every /v1 request is recorded. Errors are RFC 9457 problem+json."),
        lifespan=lifespan,
        dependencies=[Depends(no_nul_characters)],
        docs_url=None,  # api.docs serves the page and its assets itself (no CDN)
        redoc_url=None,
    )
    app.state.rt = rt
    app.state.audit = AuditWriter(rt.session, batched=audit_batched)
    app.state.read = ReadSessions(rt)
    app.state.reads = AsyncReads(app.state.read)
    app.state.unit_ids = UnitIds()
    app.state.auth = Authenticator(rt, ttl=auth_cache_seconds, read=app.state.read)
    app.state.revocations = None
    if app.state.read.dialect == "postgresql" and auth_cache_seconds > 0:
        app.state.revocations = RevocationListener(rt.database_url, app.state.auth.forget)
    app.state.metrics = Metrics.create()
    app.state.metrics.registry.register(PipelineCollector(rt))
    app.state.dispatcher = rt.dispatcher  # inline or broker, chosen once from the settings
    problems.install(app)

    app.include_router(results.router)
    app.include_router(records.router)
    app.include_router(service.router)
    app.include_router(ingest.router)
    app.include_router(service.ops)

    docs.install(app)
    app.add_middleware(HeadAsGet)  # inside the access log, which then records HEAD
    app.add_middleware(AccessMiddleware, api=app)
    return app
