"""results.registered: the result was registered by the one-stop system (`sohoa results import`)
rather than only inferred from a scan, so a progress report can tell a real denominator from
"what we digitized"; existing results without any document can only have come from an import.
Also a partial index on documents waiting for review, counted per unit by progress reports.

Revision ID: 0016_result_registered
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0016_result_registered"
down_revision = "0001"
branch_labels = None
depends_on = None


# Plain ALTER TABLE: a batch "move and copy" of `results` would drop the quota triggers on it.


def upgrade() -> None:
    op.add_column("results", sa.Column("registered", sa.Boolean(), nullable=False,
                                       server_default=sa.false()))
    op.execute("UPDATE results SET registered = true WHERE NOT EXISTS "
               "(SELECT 1 FROM documents d WHERE d.result_id = results.id)")
    op.create_index("ix_results_unit_registered", "results", ["unit_id"],
                    postgresql_where=sa.text("registered"), sqlite_where=sa.text("registered"))
    op.create_index("ix_quota_documents_review", "documents", ["unit_id"],
                    postgresql_where=sa.text("state = 'needs_review'"),
                    sqlite_where=sa.text("state = 'needs_review'"))


def downgrade() -> None:
    op.drop_index("ix_quota_documents_review", table_name="documents")
    op.drop_index("ix_results_unit_registered", table_name="results")
    op.drop_column("results", "registered")
