"""documents.pending_corrections: what staff typed at the counter, applied after classification

Revision ID: 0008_corrections
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0008_corrections"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("documents", sa.Column("pending_corrections", sa.JSON(), nullable=True))


def downgrade() -> None:
    # a plain DROP COLUMN (SQLite >= 3.35): a batch rebuild of documents would drop the
    # triggers other parts keep on it
    op.drop_column("documents", "pending_corrections")
