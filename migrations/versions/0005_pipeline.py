"""pipeline: stage lease (owner, until) and attempt count on documents

Revision ID: 0005_pipeline
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0005_pipeline"
down_revision = "0001"
branch_labels = None
depends_on = None


# Plain ALTER TABLE (SQLite >= 3.35 drops columns in place): a batch "move and copy" of
# `documents` would trip over the triggers other branches define on it.


def upgrade() -> None:
    op.add_column("documents", sa.Column("lease_owner", sa.String(length=120), nullable=True))
    op.add_column("documents", sa.Column("lease_until", sa.DateTime(timezone=True),
                                         nullable=True))
    op.add_column("documents", sa.Column("attempts", sa.Integer(), nullable=False,
                                         server_default="0"))


def downgrade() -> None:
    op.drop_column("documents", "attempts")
    op.drop_column("documents", "lease_until")
    op.drop_column("documents", "lease_owner")
