"""archive records (Circular 05/2025/TT-BNV): fonds, records, the archive data of documents and
recorded destruction decisions: storage/records.py, docs/records.md

New tables only: nothing existing is rebuilt (a batch "move and copy" of documents/results would
drop the triggers other branches define on them).

Revision ID: 0020_records
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0020_records"
down_revision = "0001"
branch_labels = None
depends_on = None


def _now():
    return sa.Column("created_at", sa.DateTime(timezone=True), nullable=False)


def upgrade() -> None:
    op.create_table(
        "archive_fonds",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("code", sa.String(length=40), nullable=False),
        sa.Column("name", sa.String(length=300), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("history", sa.Text(), nullable=True),
        sa.Column("start_date", sa.Date(), nullable=True),
        sa.Column("end_date", sa.Date(), nullable=True),
        sa.Column("document_count", sa.Integer(), nullable=False),
        sa.Column("classification", sa.Text(), nullable=True),
        sa.Column("language", sa.String(length=40), nullable=False),
        sa.Column("backup_mode", sa.String(length=80), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("unit_id", sa.Integer(), sa.ForeignKey("admin_units.id"), nullable=True),
        sa.UniqueConstraint("code", name="uq_archive_fonds_code"),
    )
    op.create_table(
        "archive_records",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("code", sa.String(length=80), nullable=False),
        sa.Column("fonds_id", sa.Integer(), sa.ForeignKey("archive_fonds.id"), nullable=True),
        sa.Column("unit_id", sa.Integer(), sa.ForeignKey("admin_units.id"), nullable=True),
        sa.Column("dossier_code", sa.String(length=64), nullable=True),
        sa.Column("title", sa.String(length=500), nullable=False),
        sa.Column("retention_years", sa.Integer(), nullable=True),
        sa.Column("access_level", sa.String(length=20), nullable=False),
        sa.Column("language", sa.String(length=40), nullable=False),
        sa.Column("start_date", sa.Date(), nullable=True),
        sa.Column("end_date", sa.Date(), nullable=True),
        sa.Column("keywords", sa.JSON(), nullable=True),
        sa.Column("document_count", sa.Integer(), nullable=False),
        sa.Column("sheet_count", sa.Integer(), nullable=True),
        sa.Column("page_count", sa.Integer(), nullable=True),
        sa.Column("physical_condition", sa.String(length=200), nullable=True),
        sa.Column("information_sign", sa.String(length=100), nullable=True),
        sa.Column("reliability", sa.String(length=20), nullable=False),
        sa.Column("paper_record_code", sa.String(length=80), nullable=True),
        sa.Column("backup_mode", sa.String(length=80), nullable=True),
        sa.Column("backup_status", sa.String(length=80), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("due_on", sa.Date(), nullable=True),
        sa.Column("set_by_hand", sa.JSON(), nullable=True),
        _now(),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("code", name="uq_archive_records_code"),
    )
    op.create_index("ix_archive_records_unit", "archive_records", ["unit_id", "code"])
    op.create_index("ix_archive_records_dossier", "archive_records", ["dossier_code"])
    op.create_index("ix_archive_records_due", "archive_records", ["due_on"])
    op.create_index("ix_archive_records_fonds", "archive_records", ["fonds_id"])
    op.create_table(
        "archive_documents",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("document_id", sa.String(length=32),
                  sa.ForeignKey("documents.id", ondelete="CASCADE"), nullable=False),
        sa.Column("record_id", sa.Integer(), sa.ForeignKey("archive_records.id"), nullable=True),
        sa.Column("sequence", sa.Integer(), nullable=True),
        sa.Column("code", sa.String(length=100), nullable=True),
        sa.Column("sheets", sa.Integer(), nullable=True),
        sa.Column("pages", sa.Integer(), nullable=True),
        sa.Column("physical_condition", sa.String(length=200), nullable=True),
        sa.Column("paper_code", sa.String(length=80), nullable=True),
        sa.Column("language", sa.String(length=40), nullable=False),
        sa.Column("reliability", sa.String(length=20), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("filed_at", sa.DateTime(timezone=True), nullable=True),
        sa.UniqueConstraint("document_id", name="uq_archive_documents_document"),
        sa.UniqueConstraint("record_id", "sequence", name="uq_archive_documents_record_seq"),
    )
    op.create_table(
        "archive_disposals",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("record_id", sa.Integer(), sa.ForeignKey("archive_records.id"),
                  nullable=False),
        sa.Column("decision", sa.String(length=120), nullable=False),
        sa.Column("decided_on", sa.Date(), nullable=False),
        sa.Column("decided_by", sa.String(length=300), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("recorded_by", sa.String(length=120), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_archive_disposals_record", "archive_disposals", ["record_id"])


def downgrade() -> None:
    op.drop_index("ix_archive_disposals_record", table_name="archive_disposals")
    op.drop_table("archive_disposals")
    op.drop_table("archive_documents")
    for name in ("ix_archive_records_fonds", "ix_archive_records_due",
                 "ix_archive_records_dossier", "ix_archive_records_unit"):
        op.drop_index(name, table_name="archive_records")
    op.drop_table("archive_records")
    op.drop_table("archive_fonds")
