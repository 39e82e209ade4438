"""Quota tables: imported still-valid result totals per unit and year (the baseline), and a narrow
per-result fact table that database triggers keep in step with `results` and `documents`.

`quota_result_facts` holds, per registered result, what the progress measure needs — unit,
in-force flag, issue date, valid-until date, and when its first copy was stored — and
`quota_result_years` counts those facts per unit and year of issue / end of validity /
digitization, so a full-year report reads a few thousand counters and a report as of a day reads
only that year's facts, never a join of results with documents. Triggers (migration
0003_quotas, SQLite and PostgreSQL) maintain both on every insert, update and delete of results
and documents, in the same transaction; `quotas.facts.rebuild_facts`
recomputes it from scratch (after bulk loads done with triggers disabled).
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    Boolean,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from storage.catalog import AdminUnit, Base, Document, utcnow


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


class ResultFact(Base):
    """One row per registered result, maintained by triggers: never write it from code."""

    __tablename__ = "quota_result_facts"
    __table_args__ = (
        Index("ix_quota_result_facts_issued", "unit_id", "issued_on", "in_force", "valid_until",
              "digitized_at"),
        Index("ix_quota_result_facts_digitized", "unit_id", "digitized_at", "in_force",
              "issued_on", "valid_until"),
    )

    result_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    unit_id: Mapped[int] = mapped_column(Integer)
    in_force: Mapped[bool] = mapped_column(Boolean)
    issued_on: Mapped[date | None] = mapped_column(Date)
    valid_until: Mapped[date | None] = mapped_column(Date)
    digitized_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class ResultYear(Base):
    """In-force results counted per unit and by the (Vietnam-time) years they were issued, stop
    being valid and were first digitized; maintained by triggers on quota_result_facts.

    A year with no date is stored as a sentinel: issued_year 0 (issued before records began),
    valid_year and digitized_year 9999 (no end of validity, not digitized)."""

    __tablename__ = "quota_result_years"

    unit_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    issued_year: Mapped[int] = mapped_column(Integer, primary_key=True)
    valid_year: Mapped[int] = mapped_column(Integer, primary_key=True)
    digitized_year: Mapped[int] = mapped_column(Integer, primary_key=True)
    results: Mapped[int] = mapped_column(Integer)


NO_YEAR_BEFORE, NO_YEAR_AFTER = 0, 9999


# Stored documents not linked to a result count per unit (quotas/progress.py).
DOCUMENTS_UNLINKED_INDEX = Index(
    "ix_quota_documents_unlinked", Document.unit_id, Document.stored_at,
    postgresql_where=(Document.state == "stored") & Document.result_id.is_(None),
    sqlite_where=(Document.state == "stored") & Document.result_id.is_(None))

# Documents waiting for review counted per unit (quotas/progress.py, migration
# 0016_result_registered): a small partial index, read index-only.
DOCUMENTS_REVIEW_INDEX = Index(
    "ix_quota_documents_review", Document.unit_id,
    postgresql_where=Document.state == "needs_review",
    sqlite_where=Document.state == "needs_review")
