"""agencies (cơ quan, tổ chức) and the agency of each document (made the copy) and result
(issued it): storage/agencies.py

Revision ID: 0010_agencies
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0010_agencies"
down_revision = "0001"
branch_labels = None
depends_on = None


# Plain ALTER TABLE for the two new columns (like 0009): a batch "move and copy" of
# `documents`/`results` would drop the triggers other branches define on them. No foreign key
# on them: SQLite cannot drop a column a foreign key uses; the code keeps them consistent.


def upgrade() -> None:
    op.create_table(
        "agencies",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("code", sa.String(length=40), nullable=False),
        sa.Column("name", sa.String(length=300), nullable=False),
        sa.Column("parent_code", sa.String(length=40), nullable=True),
        sa.Column("unit_id", sa.Integer(), sa.ForeignKey("admin_units.id"), nullable=False),
        sa.Column("valid_from", sa.Date(), nullable=False),
        sa.Column("valid_to", sa.Date(), nullable=True),
        sa.Column("signing_key", sa.String(length=500), nullable=True),
        sa.UniqueConstraint("code", "valid_from", name="uq_agencies_code_from"),
    )
    op.create_index("ix_agencies_code", "agencies", ["code"])
    op.create_index("ix_agencies_unit_id", "agencies", ["unit_id"])
    op.add_column("documents", sa.Column("agency_id", sa.Integer(), nullable=True))
    op.add_column("results", sa.Column("agency_id", sa.Integer(), nullable=True))
    op.create_index("ix_results_agency_id", "results", ["agency_id"])


def downgrade() -> None:
    op.drop_index("ix_results_agency_id", table_name="results")
    op.drop_column("results", "agency_id")
    op.drop_column("documents", "agency_id")
    op.drop_index("ix_agencies_unit_id", table_name="agencies")
    op.drop_index("ix_agencies_code", table_name="agencies")
    op.drop_table("agencies")
