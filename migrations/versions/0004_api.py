"""api: API clients, append-only access log, results (created_at, id) index

Revision ID: 0004_api
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0004_api"
down_revision = "0001"
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

PG_GUARD = """
CREATE OR REPLACE FUNCTION api_access_log_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'api_access_log is append-only';
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER api_access_log_no_update BEFORE UPDATE OR DELETE ON api_access_log
    FOR EACH ROW EXECUTE FUNCTION api_access_log_append_only();
"""


def upgrade() -> None:
    op.create_table(
        "api_clients",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("key_prefix", sa.String(length=16), nullable=False),
        sa.Column("key_sha256", sa.String(length=64), nullable=False),
        sa.Column("scopes", sa.String(length=200), nullable=False),
        sa.Column("unit_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["unit_id"], ["admin_units.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("name"),
    )
    op.create_index("ix_api_clients_prefix", "api_clients", ["key_prefix"], unique=True)
    op.create_table(
        "api_access_log",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("client_id", sa.Integer(), nullable=True),
        sa.Column("client_name", sa.String(length=120), nullable=True),
        sa.Column("method", sa.String(length=10), nullable=False),
        sa.Column("endpoint", sa.String(length=200), nullable=False),
        sa.Column("path", sa.String(length=500), nullable=False),
        sa.Column("document_id", sa.String(length=32), nullable=True),
        sa.Column("purpose", sa.String(length=300), nullable=True),
        sa.Column("status", sa.Integer(), nullable=False),
        sa.Column("outcome", sa.String(length=20), nullable=False),
        sa.Column("remote", sa.String(length=64), nullable=True),
        sa.Column("duration_ms", sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_api_access_at", "api_access_log", ["at"])
    op.create_index("ix_api_access_client_at", "api_access_log", ["client_id", "at"])
    op.create_index("ix_api_access_document_at", "api_access_log", ["document_id", "at"])
    op.create_index("ix_results_created_id", "results", ["created_at", "id"])

    dialect = op.get_bind().dialect.name
    if dialect == "postgresql":
        op.execute(PG_GUARD)
    elif dialect == "sqlite":
        for event in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER api_access_log_no_{event.lower()} BEFORE {event} ON api_access_log "
                "BEGIN SELECT RAISE(ABORT, 'api_access_log is append-only'); END"
            )


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    if dialect == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS api_access_log_no_update ON api_access_log")
        op.execute("DROP FUNCTION IF EXISTS api_access_log_append_only()")
    elif dialect == "sqlite":
        op.execute("DROP TRIGGER IF EXISTS api_access_log_no_update")
        op.execute("DROP TRIGGER IF EXISTS api_access_log_no_delete")
    op.drop_index("ix_results_created_id", table_name="results")
    op.drop_index("ix_api_access_document_at", table_name="api_access_log")
    op.drop_index("ix_api_access_client_at", table_name="api_access_log")
    op.drop_index("ix_api_access_at", table_name="api_access_log")
    op.drop_table("api_access_log")
    op.drop_index("ix_api_clients_prefix", table_name="api_clients")
    op.drop_table("api_clients")
