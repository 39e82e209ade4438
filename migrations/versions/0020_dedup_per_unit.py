"""documents: the same bytes are one document per admin unit, not one in the whole catalog.

The unique key `uq_documents_source_sha256` (source_sha256) becomes
`uq_documents_source_sha256_unit` (source_sha256, unit_id): the same file submitted for two
units is two documents, and a submission never learns that another unit holds these bytes.

SQLite cannot drop a table constraint, so the table is rebuilt the way SQLite documents it
(create the new table from the stored CREATE statement, copy, drop, rename), keeping every column,
index and trigger that any branch added to `documents` (the full-text and quota triggers live
there). Downgrading refuses while two units hold the same bytes: the old key cannot hold them.

Revision ID: 0020_dedup_per_unit
Revises: 0001
"""

import re

from alembic import op

revision = "0020_dedup_per_unit"
down_revision = "0001"
branch_labels = None
depends_on = None

OLD = ("uq_documents_source_sha256", "source_sha256")
NEW = ("uq_documents_source_sha256_unit", "source_sha256, unit_id")


def upgrade() -> None:
    _swap(OLD, NEW)


def downgrade() -> None:
    shared = op.get_bind().exec_driver_sql(
        "SELECT source_sha256 FROM documents GROUP BY source_sha256 HAVING count(*) > 1 "
        "LIMIT 1").scalar()
    if shared is not None:
        raise RuntimeError(
            f"cannot downgrade 0020_dedup_per_unit: several units hold the same scan "
            f"(source_sha256 {shared}); the one-document-per-file key cannot hold them")
    _swap(NEW, OLD)


def _swap(old: tuple[str, str], new: tuple[str, str]) -> None:
    bind = op.get_bind()
    if bind.dialect.name != "sqlite":
        op.drop_constraint(old[0], "documents", type_="unique")
        op.create_unique_constraint(new[0], "documents", [c.strip() for c in new[1].split(",")])
        return
    _sqlite_rebuild(bind, old, new)


def _sqlite_rebuild(bind, old, new) -> None:
    create = bind.exec_driver_sql(
        "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'documents'").scalar()
    pattern = re.compile(r"CONSTRAINT\s+\"?" + old[0] + r"\"?\s+UNIQUE\s*\([^)]*\)", re.I)
    if not pattern.search(create):
        raise RuntimeError(f"documents has no constraint {old[0]}: {create}")
    create = pattern.sub(f"CONSTRAINT {new[0]} UNIQUE ({new[1]})", create)
    create = re.sub(r"^CREATE TABLE\s+\"?documents\"?", "CREATE TABLE documents_0020", create)
    # indexes and triggers on documents (every branch's), recreated after the copy
    keep = [row[0] for row in bind.exec_driver_sql(
        "SELECT sql FROM sqlite_master WHERE tbl_name = 'documents' AND type IN "
        "('index', 'trigger') AND sql IS NOT NULL ORDER BY type, name")]
    columns = ", ".join(f'"{row[1]}"' for row in bind.exec_driver_sql(
        "PRAGMA table_info(documents)"))
    # legacy rename: other tables' triggers that read `documents` are left as written (a
    # modern rename re-parses the whole schema and fails while `documents` does not exist)
    bind.exec_driver_sql("PRAGMA legacy_alter_table = ON")
    try:
        bind.exec_driver_sql(create)
        bind.exec_driver_sql(
            f"INSERT INTO documents_0020 ({columns}) SELECT {columns} FROM documents")
        bind.exec_driver_sql("DROP TABLE documents")
        bind.exec_driver_sql("ALTER TABLE documents_0020 RENAME TO documents")
    finally:
        bind.exec_driver_sql("PRAGMA legacy_alter_table = OFF")
    for statement in keep:
        bind.exec_driver_sql(statement)
