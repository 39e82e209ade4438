"""api: the access log partitioned by month on PostgreSQL (retention without row deletes)

The log is append-only (a trigger refuses UPDATE and DELETE), so it can only shrink by whole
partitions: `sohoa access-log archive` exports a month to the object store and drops its
partition. This migration turns the table into one partitioned by range of `at` with a monthly
partition for every month it holds and the next three, plus a DEFAULT partition for rows no
monthly one takes (`sohoa access-log maintain` creates months ahead). The primary key becomes
(id, at), as PostgreSQL requires of a partitioned table. SQLite keeps one table.

Revision ID: 0010_access_log_partitions
Revises: 0004_api
"""

from datetime import date

import sqlalchemy as sa
from alembic import op

revision = "0010_access_log_partitions"
down_revision = "0004_api"
branch_labels = None
depends_on = None

INDEXES = {"ix_api_access_at": "(at)", "ix_api_access_client_at": "(client_id, at)",
           "ix_api_access_document_at": "(document_id, at)"}
GUARD = ("CREATE TRIGGER api_access_log_no_update BEFORE UPDATE OR DELETE ON api_access_log "
         "FOR EACH ROW EXECUTE FUNCTION api_access_log_append_only()")


def _month(day: date, ahead: int = 0) -> date:
    index = day.year * 12 + day.month - 1 + ahead
    return date(index // 12, index % 12 + 1, 1)


def _partition_sql(start: date) -> str:
    return (f"CREATE TABLE IF NOT EXISTS api_access_log_{start:%Y%m} PARTITION OF api_access_log "
            f"FOR VALUES FROM ('{start.isoformat()}') TO ('{_month(start, 1).isoformat()}')")


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return
    op.execute("ALTER TABLE api_access_log RENAME TO api_access_log_unpartitioned")
    op.execute("ALTER TABLE api_access_log_unpartitioned "
               "RENAME CONSTRAINT api_access_log_pkey TO api_access_log_unpartitioned_pkey")
    for name in INDEXES:
        op.execute(f"ALTER INDEX {name} RENAME TO {name}_unpartitioned")
    op.execute("ALTER SEQUENCE api_access_log_id_seq OWNED BY NONE")
    op.execute("CREATE TABLE api_access_log (LIKE api_access_log_unpartitioned INCLUDING DEFAULTS "
               "INCLUDING CONSTRAINTS) PARTITION BY RANGE (at)")
    op.execute("ALTER TABLE api_access_log ADD CONSTRAINT api_access_log_pkey PRIMARY KEY (id, at)")
    for name, columns in INDEXES.items():
        op.execute(f"CREATE INDEX {name} ON api_access_log {columns}")
    op.execute("CREATE TABLE api_access_log_default PARTITION OF api_access_log DEFAULT")
    first = bind.execute(sa.text("SELECT min(at) FROM api_access_log_unpartitioned")).scalar()
    today = date.today()
    start = _month(first.date() if first else today)
    while start <= _month(today, 3):
        op.execute(_partition_sql(start))
        start = _month(start, 1)
    op.execute("INSERT INTO api_access_log SELECT * FROM api_access_log_unpartitioned")
    op.execute("DROP TABLE api_access_log_unpartitioned")
    op.execute("ALTER SEQUENCE api_access_log_id_seq OWNED BY api_access_log.id")
    op.execute(GUARD)


def downgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return
    op.execute("ALTER TABLE api_access_log RENAME TO api_access_log_partitioned")
    op.execute("ALTER TABLE api_access_log_partitioned "
               "RENAME CONSTRAINT api_access_log_pkey TO api_access_log_partitioned_pkey")
    for name in INDEXES:
        op.execute(f"ALTER INDEX {name} RENAME TO {name}_partitioned")
    op.execute("ALTER SEQUENCE api_access_log_id_seq OWNED BY NONE")
    op.execute("CREATE TABLE api_access_log (LIKE api_access_log_partitioned INCLUDING DEFAULTS "
               "INCLUDING CONSTRAINTS)")
    op.execute("ALTER TABLE api_access_log ADD CONSTRAINT api_access_log_pkey PRIMARY KEY (id)")
    for name, columns in INDEXES.items():
        op.execute(f"CREATE INDEX {name} ON api_access_log {columns}")
    op.execute("INSERT INTO api_access_log SELECT * FROM api_access_log_partitioned")
    op.execute("DROP TABLE api_access_log_partitioned")
    op.execute("ALTER SEQUENCE api_access_log_id_seq OWNED BY api_access_log.id")
    op.execute(GUARD)
