"""Request dependencies: the runtime, and Bearer-key authentication with scope checks; the
cached admin-unit id lists behind unit conditions.

Authenticated clients are cached per key hash for a few seconds (`auth_cache_seconds`), so a hot
client costs one dict lookup on the event loop, and a revoked key stops working within that time;
only a miss goes to the database (in a worker thread). The dependencies are `async def`: FastAPI
runs a sync dependency in the thread pool, two thread handoffs per request for a dict lookup.
"""

from __future__ import annotations

import threading
import time
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.concurrency import run_in_threadpool

from api.keys import ClientInfo, authenticate, hash_key
from api.problems import Problem
from api.reads import retry_read
from storage.catalog import AdminUnit

bearer = HTTPBearer(auto_error=False, description="an API key from `sohoa api-client create`")


class UnitIds:
    """Admin unit id lists behind a unit condition, cached (units change a few times a year).

    ("client", level, unit_id, province): the units a bound client sees;
    ("code", code): a unit code's versions and the units under them (a 2-digit code: the province).
    """

    def __init__(self, ttl: float = 300.0):
        self._ttl = ttl
        self._cache: dict[tuple, tuple[list[int], float]] = {}

    def cached(self, key: tuple) -> list[int] | None:
        hit = self._cache.get(key)
        if hit is not None and hit[1] > time.monotonic():
            return hit[0]
        return None

    async def get(self, reads, key: tuple) -> list[int]:
        """From the cache, or loaded in a worker thread (`reads`: the app's ReadSessions)."""
        ids = self.cached(key)
        if ids is None:
            ids = await run_in_threadpool(self._load_with, reads, key)
        return ids

    def _load_with(self, reads, key: tuple) -> list[int]:
        def read():
            with reads() as session:
                return self(session, key)

        return retry_read(read)

    def __call__(self, session, key: tuple) -> list[int]:
        hit = self.cached(key)
        if hit is not None:
            return hit
        now = time.monotonic()
        from sqlalchemy import or_, select

        if key[0] == "client":
            _, level, unit_id, province = key
            if level == "city":
                condition = AdminUnit.province_code == province
            else:  # every version of the client's unit code (see ClientInfo), and their children
                code = session.scalar(select(AdminUnit.code).where(AdminUnit.id == unit_id))
                versions = list(session.scalars(select(AdminUnit.id).where(AdminUnit.code == code)))
                condition = AdminUnit.id.in_(versions)
                if level == "district":
                    condition = or_(condition, AdminUnit.parent_id.in_(versions))
        elif len(key[1]) <= 2:
            condition = AdminUnit.province_code == key[1]
        else:
            named_ids = list(session.scalars(select(AdminUnit.id).where(AdminUnit.code == key[1])))
            condition = or_(AdminUnit.id.in_(named_ids), AdminUnit.parent_id.in_(named_ids))
        ids = sorted(session.scalars(select(AdminUnit.id).where(condition)))
        if len(self._cache) > 10_000:
            self._cache.clear()
        self._cache[key] = (ids, now + self._ttl)
        return ids


class Authenticator:
    def __init__(self, runtime, ttl: float = 5.0, read=None):
        self._rt = runtime
        self._read = read or runtime.session
        self._ttl = ttl
        self._cache: dict[str, tuple[ClientInfo, float]] = {}
        self._lock = threading.Lock()

    def cached(self, key: str) -> ClientInfo | None:
        hit = self._cache.get(hash_key(key))
        if hit is not None and hit[1] > time.monotonic():
            return hit[0]
        return None

    def __call__(self, key: str) -> ClientInfo | None:
        digest = hash_key(key)
        hit = self._cache.get(digest)
        now = time.monotonic()
        if hit is not None and hit[1] > now:
            return hit[0]
        def read():
            with self._read() as session:
                return authenticate(session, key)

        info = retry_read(read)
        with self._lock:
            if info is None:
                self._cache.pop(digest, None)
            elif self._ttl > 0:
                if len(self._cache) > 10_000:
                    self._cache.clear()
                self._cache[digest] = (info, now + self._ttl)
        return info

    def forget(self) -> None:
        with self._lock:
            self._cache.clear()


def runtime(request: Request):
    return request.app.state.rt


async def client(request: Request,
                 credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]
                 ) -> ClientInfo:
    challenge = {"WWW-Authenticate": 'Bearer realm="sohoa"'}
    if credentials is None or not credentials.credentials:
        raise Problem(401, "send an API key: Authorization: Bearer <key>", kind="unauthenticated",
                      headers=challenge)
    auth = request.app.state.auth
    info = auth.cached(credentials.credentials)
    if info is None:  # not seen lately (or unknown): ask the database, off the event loop
        info = await run_in_threadpool(auth, credentials.credentials)
    if info is None:
        raise Problem(401, "the API key is unknown or revoked", kind="unauthenticated",
                      headers={"WWW-Authenticate": 'Bearer realm="sohoa", error="invalid_token"'})
    request.state.client = info
    return info


def require(scope: str | None):
    """A dependency: an authenticated client holding `scope` (any client when None)."""

    async def check(request: Request, info: Annotated[ClientInfo, Depends(client)]) -> ClientInfo:
        if scope is not None and not info.has(scope):
            raise Problem(403, f"this API key lacks the scope {scope!r}", kind="forbidden",
                          required_scope=scope)
        return info

    check.__name__ = f"require_{(scope or 'client').replace(':', '_')}"
    return check


async def no_nul_characters(request: Request) -> None:
    """Refuse query parameters holding a NUL character (422): PostgreSQL text cannot hold one,
    so such a value would otherwise fail deep in the database as a server error."""
    for name, value in request.query_params.multi_items():
        if "\x00" in value:
            raise Problem(422, f"the query parameter {name!r} contains a NUL character",
                          kind="invalid-request")
