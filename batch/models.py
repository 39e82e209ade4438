"""The batch journal's catalog tables: `batches` (a scanned stack or an imported folder) and
`batch_items` (one document split from a stack, or one file of a folder, with its outcome).

They live in the catalog with the documents, so every back-office PC of a province writes to
the same journal, `sohoa backup` copies it, and a file refused before any document existed
(unknown unit, unreadable) is still recorded. An item points at its document when one exists
(`ON DELETE SET NULL`: the journal never blocks removing a document). Imported by
`migrations/env.py` with the other parts' tables; migration `0021_batch_journal`.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    JSON,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from storage.catalog import Base, utcnow

# item outcomes; `pending` = not yet handed to the pipeline, `queued` = a worker will finish it
OUTCOMES = ("pending", "queued", "stored", "needs_review", "refused")
KINDS = ("scan", "import")


class Batch(Base):
    __tablename__ = "batches"
    __table_args__ = (Index("ix_batches_created_at", "created_at"),)

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    kind: Mapped[str] = mapped_column(String(10))  # scan | import
    source: Mapped[str] = mapped_column(Text)  # scanner URI, or the imported folder
    host: Mapped[str | None] = mapped_column(String(255))  # the PC that ran it (its spool)
    params: Mapped[dict] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class BatchItem(Base):
    __tablename__ = "batch_items"
    __table_args__ = (
        UniqueConstraint("batch_id", "name", name="uq_batch_items_batch_name"),
        Index("ix_batch_items_document_id", "document_id"),
    )

    batch_id: Mapped[str] = mapped_column(ForeignKey("batches.id", ondelete="CASCADE"),
                                          primary_key=True)
    seq: Mapped[int] = mapped_column(Integer, primary_key=True)  # position in the batch, from 0
    name: Mapped[str] = mapped_column(Text)  # "doc-001 pages 1,2" or the file's relative path
    sha256: Mapped[str | None] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16), default="pending")
    document_id: Mapped[str | None] = mapped_column(
        ForeignKey("documents.id", ondelete="SET NULL"))
    reason: Mapped[str | None] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
