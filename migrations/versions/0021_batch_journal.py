"""batch journal in the catalog: batches (a scanned stack or an imported folder) and their items
with outcomes: batch/models.py, batch/journal.py (was $SOHOA_HOME/batches/journal.sqlite3)

New tables only: nothing existing is rebuilt (a batch "move and copy" of documents would drop
the triggers other branches define on it).

Revision ID: 0021_batch_journal
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0021_batch_journal"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "batches",
        sa.Column("id", sa.String(length=64), primary_key=True),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("host", sa.String(length=255), nullable=True),
        sa.Column("params", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
    )
    op.create_index("ix_batches_created_at", "batches", ["created_at"])
    op.create_table(
        "batch_items",
        sa.Column("batch_id", sa.String(length=64),
                  sa.ForeignKey("batches.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("seq", sa.Integer(), primary_key=True),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("document_id", sa.String(length=32),
                  sa.ForeignKey("documents.id", ondelete="SET NULL"), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("batch_id", "name", name="uq_batch_items_batch_name"),
    )
    op.create_index("ix_batch_items_document_id", "batch_items", ["document_id"])


def downgrade() -> None:
    op.drop_index("ix_batch_items_document_id", table_name="batch_items")
    op.drop_table("batch_items")
    op.drop_index("ix_batches_created_at", table_name="batches")
    op.drop_table("batches")
