"""Request dependencies: the runtime, and Bearer-key authentication with scope checks.

Authenticated clients are cached per key hash for a few seconds (`auth_cache_seconds`), so a hot
client costs one dict lookup, and a revoked key stops working within that time.
"""

from __future__ import annotations

import threading
import time
from contextlib import contextmanager
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from api.keys import ClientInfo, authenticate, hash_key
from api.problems import Problem

bearer = HTTPBearer(auto_error=False, description="an API key from `sohoa api-client create`")


class ReadSessions:
    """Sessions for the read paths. On PostgreSQL they come from an engine of the API's own in
    autocommit mode and without a ping per checkout, so a lookup is one round trip to the
    server instead of four (ping, BEGIN, query, COMMIT). A connection broken by a server restart
    fails one request; SQLAlchemy then drops the pool. Elsewhere: the runtime's sessions."""

    def __init__(self, runtime):
        self._rt = runtime
        self._factory = None
        self.engine = None
        url = runtime.database_url
        if url.startswith("postgresql"):
            from sqlalchemy import create_engine
            from sqlalchemy.orm import sessionmaker

            self.engine = create_engine(url, isolation_level="AUTOCOMMIT", pool_size=8,
                                        max_overflow=24, pool_recycle=600)
            self._factory = sessionmaker(self.engine, expire_on_commit=False)

    @contextmanager
    def __call__(self):
        if self._factory is None:
            with self._rt.session() as session:
                yield session
            return
        session = self._factory()
        try:
            yield session
        finally:
            session.close()

    def close(self) -> None:
        if self.engine is not None:
            self.engine.dispose()


class UnitIds:
    """Admin unit id lists behind a unit condition, cached (units change a few times a year).

    ("client", level, unit_id, province): the units a bound client sees;
    ("code", code): a unit code's versions and the units under them (a 2-digit code: the province).
    """

    def __init__(self, ttl: float = 300.0):
        self._ttl = ttl
        self._cache: dict[tuple, tuple[list[int], float]] = {}

    def __call__(self, session, key: tuple) -> list[int]:
        hit = self._cache.get(key)
        now = time.monotonic()
        if hit is not None and hit[1] > now:
            return hit[0]
        from sqlalchemy import or_, select

        from storage.catalog import AdminUnit

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

    def __call__(self, key: str) -> ClientInfo | None:
        digest = hash_key(key)
        hit = self._cache.get(digest)
        now = time.monotonic()
        if hit is not None and hit[1] > now:
            return hit[0]
        with self._read() as session:
            info = authenticate(session, key)
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


def client(request: Request,
           credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]
           ) -> ClientInfo:
    challenge = {"WWW-Authenticate": 'Bearer realm="sohoa"'}
    if credentials is None or not credentials.credentials:
        raise Problem(401, "send an API key: Authorization: Bearer <key>", kind="unauthenticated",
                      headers=challenge)
    info = request.app.state.auth(credentials.credentials)
    if info is None:
        raise Problem(401, "the API key is unknown or revoked", kind="unauthenticated",
                      headers={"WWW-Authenticate": 'Bearer realm="sohoa", error="invalid_token"'})
    request.state.client = info
    return info


def require(scope: str | None):
    """A dependency: an authenticated client holding `scope` (any client when None)."""

    def check(request: Request, info: Annotated[ClientInfo, Depends(client)]) -> ClientInfo:
        if scope is not None and not info.has(scope):
            raise Problem(403, f"this API key lacks the scope {scope!r}", kind="forbidden",
                          required_scope=scope)
        return info

    check.__name__ = f"require_{(scope or 'client').replace(':', '_')}"
    return check
