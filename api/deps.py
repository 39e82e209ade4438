"""Request dependencies: the runtime, and Bearer-key authentication with scope checks.

Authenticated clients are cached per key hash for a few seconds (`auth_cache_seconds`), so a hot
client costs one dict lookup, and a revoked key stops working within that time.
"""

from __future__ import annotations

import threading
import time
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from api.keys import ClientInfo, authenticate, hash_key
from api.problems import Problem

bearer = HTTPBearer(auto_error=False, description="an API key from `sohoa api-client create`")


class Authenticator:
    def __init__(self, runtime, ttl: float = 5.0):
        self._rt = runtime
        self._ttl = ttl
        self._cache: dict[str, tuple[ClientInfo, float]] = {}
        self._lock = threading.Lock()

    def __call__(self, key: str) -> ClientInfo | None:
        digest = hash_key(key)
        hit = self._cache.get(digest)
        now = time.monotonic()
        if hit is not None and hit[1] > now:
            return hit[0]
        with self._rt.session() as session:
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
