"""The pipeline's own catalog table: `reviews`, what people approved or corrected.

Each row keeps a document's type and fields before and after a person looked at them; they are
the training data of `sohoa model train`. Imported by `migrations/env.py` with the other parts'
tables.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, DateTime, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from storage.catalog import Base, utcnow


class Review(Base):
    __tablename__ = "reviews"
    __table_args__ = (Index("ix_reviews_document", "document_id", "at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    document_id: Mapped[str] = mapped_column(ForeignKey("documents.id", ondelete="CASCADE"))
    reviewer: Mapped[str] = mapped_column(String(120))
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    action: Mapped[str] = mapped_column(String(20))  # approve | correct
    document_type: Mapped[str] = mapped_column(String(40))
    before: Mapped[dict] = mapped_column(JSON)
    after: Mapped[dict] = mapped_column(JSON)
