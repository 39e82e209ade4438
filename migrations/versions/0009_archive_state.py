"""documents.signature_level, archive_expires_at: a stored PDF's PAdES level and when its newest
timestamp's TSA certificate expires, so `sohoa signatures status/refresh` read the catalog
instead of every signed PDF

Revision ID: 0009_archive_state
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0009_archive_state"
down_revision = "0001"
branch_labels = None
depends_on = None


# Plain ALTER TABLE (SQLite >= 3.35 drops columns in place): a batch "move and copy" of
# `documents` would drop the triggers other branches define on it.


def upgrade() -> None:
    op.add_column("documents", sa.Column("signature_level", sa.String(length=8), nullable=True))
    op.add_column("documents", sa.Column("archive_expires_at", sa.DateTime(timezone=True),
                                         nullable=True))
    op.create_index("ix_documents_archive_expires", "documents", ["archive_expires_at"])


def downgrade() -> None:
    # the index first: SQLite refuses to drop an indexed column
    op.drop_index("ix_documents_archive_expires", table_name="documents")
    op.drop_column("documents", "archive_expires_at")
    op.drop_column("documents", "signature_level")
