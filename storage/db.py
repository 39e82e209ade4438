"""Catalog connections: engine and session factory per database URL, and schema upgrades.

The embedded SQLite catalog is upgraded automatically on first use; PostgreSQL is upgraded by the
operator with `sohoa db upgrade`. Both go through the same Alembic migrations in `migrations/`.
"""

from __future__ import annotations

from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path

from sqlalchemy import Engine, create_engine, event, inspect
from sqlalchemy.orm import Session, sessionmaker

MIGRATIONS_DIR = Path(__file__).resolve().parent.parent / "migrations"


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


@lru_cache(maxsize=8)
def get_engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"timeout": 30})
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    return create_engine(url, pool_pre_ping=True, pool_size=5, max_overflow=10)


@lru_cache(maxsize=8)
def get_sessionmaker(url: str) -> sessionmaker[Session]:
    return sessionmaker(get_engine(url), expire_on_commit=False)


@contextmanager
def session_scope(url: str):
    """A session that commits on success and rolls back on error."""
    session = get_sessionmaker(url)()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def alembic_config(url: str):
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def _release_sqlite(url: str) -> None:
    """Close this process's pooled connections to an SQLite catalog before Alembic opens its own
    (foreign keys off, for batch table rebuilds): a second connection of the same process to the
    same new file was seen to wait for ever on the first one's locks."""
    if url.startswith("sqlite"):
        get_engine(url).dispose()


def upgrade(url: str, revision: str = "heads") -> None:
    from alembic import command

    _release_sqlite(url)
    command.upgrade(alembic_config(url), revision)


def downgrade(url: str, revision: str) -> None:
    from alembic import command

    _release_sqlite(url)
    command.downgrade(alembic_config(url), revision)


def current_revision(url: str) -> str | None:
    """The applied revision(s), comma-joined and sorted when branches are applied side by side."""
    from alembic.runtime.migration import MigrationContext

    with get_engine(url).connect() as connection:
        heads = MigrationContext.configure(connection).get_current_heads()
    return ",".join(sorted(heads)) or None


def head_revision(url: str) -> str | None:
    from alembic.script import ScriptDirectory

    heads = ScriptDirectory.from_config(alembic_config(url)).get_heads()
    return ",".join(sorted(heads)) or None


def ensure_schema(url: str) -> None:
    """Upgrade the embedded SQLite catalog; refuse to run on an outdated server database."""
    if current_revision(url) == head_revision(url):
        return
    if url.startswith("sqlite"):
        upgrade(url)
        return
    has_tables = bool(inspect(get_engine(url)).get_table_names())
    if not has_tables:
        upgrade(url)
        return
    raise RuntimeError(
        f"catalog schema at {current_revision(url)}, code expects {head_revision(url)}: "
        "run `sohoa db upgrade`"
    )
