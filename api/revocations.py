"""Key revocation that takes effect at once in every API process, on PostgreSQL.

API processes cache authenticated keys for a few seconds (`api.deps.Authenticator`). Revoking a
client (`api.keys.revoke_client`) sends `NOTIFY sohoa_api_clients` in the same transaction; each
event loop that ran the app's lifespan keeps one connection LISTENing and empties its process's
cache when a notification comes. If that connection drops, it reconnects with backoff and
empties the cache then too (a revocation may have been missed). On SQLite (one host, no
LISTEN) the cache's time limit is the bound.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from sqlalchemy import text

log = logging.getLogger(__name__)

CHANNEL = "sohoa_api_clients"


def notify_revoked(session, name: str) -> None:
    """Tell every API process (when the transaction commits) that `name` was revoked."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_notify(:channel, :name)"),
                        {"channel": CHANNEL, "name": name})


class RevocationListener:
    """One background task per event loop: LISTEN, and `forget()` the cache on every NOTIFY."""

    def __init__(self, database_url: str, forget, *, backoff: float = 1.0):
        self._url = database_url.replace("postgresql+psycopg://", "postgresql://")
        self._forget = forget
        self._backoff = backoff
        self._tasks: dict[asyncio.AbstractEventLoop, asyncio.Task] = {}
        self.listening = asyncio.Event()

    def start(self) -> None:
        loop = asyncio.get_running_loop()
        if loop not in self._tasks:
            self.listening = asyncio.Event()
            self._tasks[loop] = loop.create_task(self._run(), name="api-revocations")

    async def stop(self) -> None:
        task = self._tasks.pop(asyncio.get_running_loop(), None)
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _run(self) -> None:
        import psycopg

        while True:
            try:
                async with await psycopg.AsyncConnection.connect(
                        self._url, autocommit=True, connect_timeout=5) as connection:
                    await connection.execute(f"LISTEN {CHANNEL}")
                    self._forget()  # anything revoked while we were not listening
                    self.listening.set()
                    async for notice in connection.notifies():
                        log.info("API client %s revoked: authentication cache cleared",
                                 notice.payload)
                        self._forget()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - keep listening whatever happened
                self.listening.clear()
                log.warning("listening for key revocations failed (%s); retrying", exc)
                await asyncio.sleep(self._backoff)
