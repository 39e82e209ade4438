"""Quota tables: imported still-valid result totals per unit and year (the baseline), and the
indexes the progress report needs on the catalog's results and documents.

The baseline is one of the two sources of the denominator; see quotas/progress.py for how it
combines with the registered results.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from storage.catalog import AdminUnit, Base, Document, Result, utcnow


class Baseline(Base):
    """How many results of a unit were still in force in a year, as reported by the unit."""

    __tablename__ = "quota_baselines"
    __table_args__ = (UniqueConstraint("unit_id", "year", name="uq_quota_baselines_unit_year"),
                      Index("ix_quota_baselines_year", "year"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("admin_units.id"))
    year: Mapped[int] = mapped_column(Integer)
    valid_results: Mapped[int] = mapped_column(Integer)
    source: Mapped[str] = mapped_column(String(400))  # the file it was imported from
    imported_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    unit: Mapped[AdminUnit] = relationship()


# Covering indexes for the progress aggregates (quotas/progress.py): the denominator is read from
# an index-only scan of results per unit, the numerator from stored documents by result.
RESULTS_PROGRESS_INDEX = Index(
    "ix_quota_results_progress", Result.unit_id, Result.in_force, Result.issued_on,
    Result.valid_until)
DOCUMENTS_STORED_INDEX = Index(
    "ix_quota_documents_stored", Document.result_id, Document.stored_at, Document.unit_id,
    Document.state)
