"""Alembic environment: runs migrations against the URL given by storage.db.alembic_config."""

from alembic import context
from sqlalchemy import create_engine, pool

# Every part's tables, so the metadata is the whole schema. A part that adds tables defines them
# in its own module on `storage.catalog.Base` and adds one import line here.
import api.models  # noqa: F401
import batch.models  # noqa: F401
import pipeline.models  # noqa: F401
import quotas.models  # noqa: F401
import storage.agencies  # noqa: F401
import storage.records  # noqa: F401
from storage.catalog import Base

config = context.config
target_metadata = Base.metadata


def run_migrations_offline() -> None:
    context.configure(
        url=config.get_main_option("sqlalchemy.url"),
        target_metadata=target_metadata,
        literal_binds=True,
        render_as_batch=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connectable = config.attributes.get("connection")
    if connectable is None:
        engine = create_engine(config.get_main_option("sqlalchemy.url"), poolclass=pool.NullPool)
        with engine.connect() as connection:
            _run(connection)
    else:
        _run(connectable)


def _run(connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
    )
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
