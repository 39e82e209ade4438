"""Catalog reads for the request paths, without a thread per request where the database allows.

`ReadSessions` gives sync sessions and connections (the runtime's on SQLite; on PostgreSQL an
engine of the API's own in autocommit mode, so a read is one round trip, not BEGIN/query/COMMIT).

`AsyncReads` runs a statement from an `async def` route. On PostgreSQL every event loop that runs
the app's lifespan (each uvicorn worker; a test client used as a context manager) opens its own
`AsyncEngine` (psycopg in asyncio mode, autocommit, a fixed pool) and the statement runs on that
loop. Elsewhere — SQLite, or a loop that never ran the lifespan — the same statement runs on the
sync engine in a worker thread. Measured at 1M results on 2 cores (`bench/api.py`): a lookup by
id through the thread pool and three ORM queries served 650 req/s with p99 > 70 ms; one prebuilt
statement on the async engine's pooled connections serves 1,500-1,900 req/s with p99 13-19 ms
(the load generator on the same cores). The handoffs between
the event loop and the worker threads, and their fight for the GIL while another process holds
the other core, made most of that tail.

Reads are idempotent, so a statement that fails because its pooled connection died (a database
restart) is run once more on a fresh connection instead of failing the request.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from contextlib import contextmanager
from typing import TypeVar

import psycopg
from psycopg.rows import namedtuple_row
from sqlalchemy import create_engine
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import sessionmaker
from starlette.concurrency import run_in_threadpool

from storage import db

T = TypeVar("T")

# Connections per API process: the async pool of each loop serves the request paths; the sync
# pool only the thread fallback, authentication misses, unit lists, progress and ingest status.
# With the runtime's own pool (5 + 10 overflow) and the revocation listener's connection
# (api/revocations.py) a process holds at most 31, so a few uvicorn
# workers stay well inside PostgreSQL's default max_connections (100). Beyond its pool a request
# waits (POOL_TIMEOUT) for a connection instead of opening one.
ASYNC_POOL_SIZE = 10
SYNC_POOL_SIZE = 5
POOL_TIMEOUT = 10  # seconds to wait for a pooled connection


def _engine_options(pool_size: int) -> dict:
    # A fixed pool: connections beyond it would be opened and closed per request (a PostgreSQL
    # backend fork each), which had put hundreds of milliseconds into the latency tail.
    return {"isolation_level": "AUTOCOMMIT", "pool_size": pool_size, "max_overflow": 0,
            "pool_timeout": POOL_TIMEOUT, "pool_recycle": 600}


def retry_read(read: Callable[[], T]) -> T:
    """`read()`, run once more if its pooled connection turned out dead (the pool has then
    been invalidated, so the second run gets a fresh connection). Only for reads."""
    try:
        return read()
    except DBAPIError as exc:
        if not exc.connection_invalidated:
            raise
    return read()


class ReadSessions:
    """Sync sessions and connections for the read paths (see the module docstring)."""

    def __init__(self, runtime):
        self._rt = runtime
        self._factory = None
        self.engine = None
        self.url = runtime.database_url
        self.dialect = "postgresql" if self.url.startswith("postgresql") else "sqlite"
        if self.dialect == "postgresql":
            self.engine = create_engine(self.url, **_engine_options(SYNC_POOL_SIZE))
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

    @contextmanager
    def connection(self):
        """A Core connection (autocommit on PostgreSQL; a read transaction on SQLite)."""
        if self.engine is None:
            with db.get_engine(self.url).connect() as connection:
                yield connection
            return
        with self.engine.connect() as connection:
            yield connection

    def execute(self, statement, params: dict | None = None) -> list:
        def run():
            with self.connection() as connection:
                return connection.execute(statement, params or {}).all()

        return retry_read(run)

    def close(self) -> None:
        if self.engine is not None:
            self.engine.dispose()


class AsyncReads:
    """`await reads.all(statement)` (any statement) / `reads.rows(...)`, `reads.lookup(...)`
    (fixed statements, run by the driver) from a route."""

    def __init__(self, sessions: ReadSessions):
        self.sessions = sessions
        self.dialect = sessions.dialect
        self._engines: dict[asyncio.AbstractEventLoop, object] = {}
        self._sql: dict[int, tuple[object, str, dict]] = {}  # fixed statements, compiled

    async def open(self) -> None:
        """Give the running loop its own async engine (PostgreSQL; a no-op elsewhere)."""
        if self.dialect != "postgresql":
            return
        loop = asyncio.get_running_loop()
        if loop not in self._engines:
            from sqlalchemy.ext.asyncio import create_async_engine

            self._engines[loop] = create_async_engine(self.sessions.url,
                                                      **_engine_options(ASYNC_POOL_SIZE))

    async def close(self) -> None:
        engine = self._engines.pop(asyncio.get_running_loop(), None)
        if engine is not None:
            await engine.dispose()

    @property
    def loops(self) -> int:
        """How many event loops have an async engine open (tests check the fast path ran)."""
        return len(self._engines)

    async def all(self, statement, params: dict | None = None) -> list:
        engine = self._engines.get(asyncio.get_running_loop())
        if engine is None:
            return await run_in_threadpool(self.sessions.execute, statement, params)
        for attempt in (1, 2):
            try:
                async with engine.connect() as connection:
                    result = await connection.execute(statement, params or {})
                    return result.all()
            except DBAPIError as exc:
                if attempt == 2 or not exc.connection_invalidated:
                    raise
        raise AssertionError("unreachable")

    async def rows(self, statement, params: dict) -> list:
        """The rows of a fixed statement: one built once and kept (like `api.lookup`'s, or one
        per search shape), whose values all come in `params`.

        On PostgreSQL the statement is compiled once and run by psycopg directly on a connection
        of this loop's pool: SQLAlchemy's execution layer had cost about half the CPU of a
        lookup (measured in the API process: ~190 us instead of ~400 us a lookup by id). Rows
        are named tuples, typed by psycopg. A connection that fails is dropped from the pool and
        the statement runs once more the ordinary way (`all`), which retries a dead connection.
        """
        engine = self._engines.get(asyncio.get_running_loop())
        if engine is None:
            return await self.all(statement, params)
        sql, defaults = self._compiled(statement)
        async with engine.connect() as connection:
            raw = await connection.get_raw_connection()
            try:
                async with raw.driver_connection.cursor(row_factory=namedtuple_row) as cursor:
                    await cursor.execute(sql, {**defaults, **params})
                    return await cursor.fetchall()
            except psycopg.OperationalError:
                await connection.invalidate()
        return await self.all(statement, params)

    async def lookup(self, statement, params: dict):
        """The first row of `rows(statement, params)`, or None."""
        found = await self.rows(statement, params)
        return found[0] if found else None

    def _compiled(self, statement) -> tuple[str, dict]:
        hit = self._sql.get(id(statement))
        if hit is None or hit[0] is not statement:
            from sqlalchemy.dialects import postgresql

            compiled = statement.compile(dialect=postgresql.psycopg.dialect())
            hit = self._sql[id(statement)] = (statement, str(compiled), dict(compiled.params))
        return hit[1], hit[2]
