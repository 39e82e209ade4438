"""quotas: baseline totals per unit and year, progress indexes on results and documents

Revision ID: 0003_quotas
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0003_quotas"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "quota_baselines",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("unit_id", sa.Integer(), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("valid_results", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(length=400), nullable=False),
        sa.Column("imported_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["unit_id"], ["admin_units.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("unit_id", "year", name="uq_quota_baselines_unit_year"),
    )
    op.create_index("ix_quota_baselines_year", "quota_baselines", ["year"])
    op.create_index("ix_quota_results_progress", "results",
                    ["unit_id", "in_force", "issued_on", "valid_until"])
    op.create_index("ix_quota_documents_stored", "documents",
                    ["result_id", "stored_at", "unit_id", "state"])


def downgrade() -> None:
    op.drop_index("ix_quota_documents_stored", table_name="documents")
    op.drop_index("ix_quota_results_progress", table_name="results")
    op.drop_index("ix_quota_baselines_year", table_name="quota_baselines")
    op.drop_table("quota_baselines")
