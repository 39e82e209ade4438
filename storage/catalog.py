"""The catalog schema: SQLAlchemy 2 models for units, procedures, results, documents, pages, audit.

A *result* (kết quả giải quyết TTHC) is the legal act: a decision, a certificate. A *document* is
one digitized copy of it moving through the pipeline. Admin units carry validity dates because
codes were reused after the 2025 reorganisation; a row is identified by (code, valid_from).
"""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    event,
    false,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from storage.numbers import number_key

LEVELS = ("city", "district", "commune")


def utcnow() -> datetime:
    return datetime.now(UTC)


def new_id() -> str:
    return uuid.uuid4().hex


class Base(DeclarativeBase):
    pass


class AdminUnit(Base):
    __tablename__ = "admin_units"
    __table_args__ = (
        UniqueConstraint("code", "valid_from", name="uq_admin_units_code_from"),
        Index("ix_admin_units_code", "code"),
        Index("ix_admin_units_province_level", "province_code", "level"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(5))
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(40))  # Thành phố, Tỉnh, Quận, Huyện, Phường, Xã …
    level: Mapped[str] = mapped_column(String(10))  # city | district | commune
    province_code: Mapped[str] = mapped_column(String(2))
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("admin_units.id"))
    valid_from: Mapped[date] = mapped_column(Date)
    valid_to: Mapped[date | None] = mapped_column(Date)  # inclusive; None = still valid
    source: Mapped[str] = mapped_column(String(40))  # which list it came from

    parent: Mapped[AdminUnit | None] = relationship(remote_side="AdminUnit.id")

    def valid_on(self, day: date) -> bool:
        return self.valid_from <= day and (self.valid_to is None or day <= self.valid_to)


class Procedure(Base):
    __tablename__ = "procedures"

    code: Mapped[str] = mapped_column(String(20), primary_key=True)  # e.g. 1.001193
    name: Mapped[str] = mapped_column(String(400))
    level: Mapped[str | None] = mapped_column(String(10))


def _number_key_default(context) -> str | None:
    return number_key(context.get_current_parameters().get("document_number"))


class Result(Base):
    __tablename__ = "results"
    __table_args__ = (
        Index("ix_results_unit_issued", "unit_id", "issued_on"),
        Index("ix_results_number", "document_number"),
        Index("ix_results_number_key", "number_key", "issued_on"),  # 0020_number_key
        Index("ix_results_dossier", "dossier_code"),
        Index("ix_results_subject", "subject_id"),
        Index("ix_results_procedure", "procedure_code"),
        Index("ix_results_issued", "issued_on"),  # migration 0007_search
        # the API lists results newest first: keeps its cursor walk cheap (migration 0004_api)
        Index("ix_results_created_id", "created_at", "id"),
        # migration 0016_result_registered: which units have registered results
        Index("ix_results_unit_registered", "unit_id", postgresql_where=text("registered"),
              sqlite_where=text("registered")),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    dossier_code: Mapped[str | None] = mapped_column(String(64))
    procedure_code: Mapped[str | None] = mapped_column(ForeignKey("procedures.code"))
    unit_id: Mapped[int] = mapped_column(ForeignKey("admin_units.id"))
    document_number: Mapped[str | None] = mapped_column(String(80))
    # the number as compared (storage.numbers.number_key), kept in step with document_number:
    # on insert by this default (ORM and Core), on ORM updates by the listener below
    number_key: Mapped[str | None] = mapped_column(String(80), default=_number_key_default)
    document_type: Mapped[str | None] = mapped_column(String(40))
    issued_on: Mapped[date | None] = mapped_column(Date)
    in_force: Mapped[bool] = mapped_column(Boolean, default=True)
    valid_until: Mapped[date | None] = mapped_column(Date)
    issuer: Mapped[str | None] = mapped_column(String(300))
    subject_name: Mapped[str | None] = mapped_column(String(200))
    subject_id: Mapped[str | None] = mapped_column(String(12))
    # Registered by the one-stop system (`sohoa results import`), not only inferred from a scan
    # (migration 0016_result_registered): a unit's registered results are a real denominator.
    registered: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    # the issuing agency (storage.agencies, migration 0010_agencies), matched from the header
    # (`issuer`) or else the agency that made the copy; quotas still count by `unit_id`
    agency_id: Mapped[int | None] = mapped_column(Integer, index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    unit: Mapped[AdminUnit] = relationship()


@event.listens_for(Result.document_number, "set")
def _number_changed(target: Result, value, _old, _initiator) -> None:
    target.number_key = number_key(value)


class Document(Base):
    __tablename__ = "documents"
    __table_args__ = (
        # one document per scan and admin unit (migration 0020_dedup_per_unit): the same file
        # submitted for two units is two documents, neither learns about the other
        UniqueConstraint("source_sha256", "unit_id", name="uq_documents_source_sha256_unit"),
        Index("ix_documents_state", "state"),
        Index("ix_documents_unit", "unit_id", "created_at"),
        Index("ix_documents_result", "result_id"),
        # migration 0007_search; it also adds the full-text index (storage/search.py):
        # PostgreSQL column `search_vector` (not mapped here), SQLite table `document_fts`.
        Index("ix_documents_dossier", "dossier_code"),
        Index("ix_documents_created", "created_at", "id"),
        Index("ix_documents_archive_expires", "archive_expires_at"),  # 0009_archive_state
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    state: Mapped[str] = mapped_column(String(20))
    failed_stage: Mapped[str | None] = mapped_column(String(20))
    error: Mapped[str | None] = mapped_column(Text)
    source_name: Mapped[str] = mapped_column(String(400))
    source_sha256: Mapped[str] = mapped_column(String(64))
    source_size: Mapped[int] = mapped_column(Integer)
    unit_id: Mapped[int] = mapped_column(ForeignKey("admin_units.id"))
    procedure_code: Mapped[str | None] = mapped_column(String(20))
    dossier_code: Mapped[str | None] = mapped_column(String(64))
    result_id: Mapped[str | None] = mapped_column(ForeignKey("results.id"))
    original_key: Mapped[str | None] = mapped_column(String(300))
    pdf_key: Mapped[str | None] = mapped_column(String(300))
    pdf_sha256: Mapped[str | None] = mapped_column(String(64))
    signed_key: Mapped[str | None] = mapped_column(String(300))
    signed_sha256: Mapped[str | None] = mapped_column(String(64))
    document_type: Mapped[str | None] = mapped_column(String(40))
    type_confidence: Mapped[float | None] = mapped_column(Float)
    confidence: Mapped[float | None] = mapped_column(Float)
    ocr_confidence: Mapped[float | None] = mapped_column(Float)
    fields: Mapped[dict | None] = mapped_column(JSON)
    field_confidence: Mapped[dict | None] = mapped_column(JSON)
    ocr_text: Mapped[str | None] = mapped_column(Text)
    page_count: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), default=utcnow, onupdate=utcnow
    )
    stored_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # What a person typed at the counter before recognition ran; applied by the classify stage.
    pending_corrections: Mapped[dict | None] = mapped_column(JSON)
    # Distributed pipeline (migration 0005_pipeline): who runs the current stage, until when,
    # and how many attempts that stage has had (reset when a stage succeeds).
    lease_owner: Mapped[str | None] = mapped_column(String(120))
    lease_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # Archive state of the signed PDF (migration 0009_archive_state), recorded when it is stored
    # or extended so `sohoa signatures status/refresh` need not read every PDF: the PAdES level
    # ("B-B" … "B-LTA", "unsigned" when no PAdES signature was found; NULL: not known yet) and
    # when the newest timestamp's TSA certificate expires (UTC; NULL: no timestamp).
    signature_level: Mapped[str | None] = mapped_column(String(8))
    archive_expires_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # the agency that made and signed the copy (storage.agencies, migration 0010_agencies);
    # None: the unit's own name and key
    agency_id: Mapped[int | None] = mapped_column(Integer)

    unit: Mapped[AdminUnit] = relationship()
    result: Mapped[Result | None] = relationship()
    pages: Mapped[list[Page]] = relationship(
        back_populates="document", order_by="Page.index", cascade="all, delete-orphan"
    )


class Page(Base):
    __tablename__ = "pages"
    __table_args__ = (UniqueConstraint("document_id", "index", name="uq_pages_document_index"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    document_id: Mapped[str] = mapped_column(ForeignKey("documents.id", ondelete="CASCADE"))
    index: Mapped[int] = mapped_column(Integer)
    width: Mapped[int] = mapped_column(Integer)
    height: Mapped[int] = mapped_column(Integer)
    dpi: Mapped[int] = mapped_column(Integer)
    confidence: Mapped[float | None] = mapped_column(Float)
    blank: Mapped[bool] = mapped_column(Boolean, default=False)
    rotation: Mapped[int] = mapped_column(Integer, default=0)
    words: Mapped[list | None] = mapped_column(JSON)

    document: Mapped[Document] = relationship(back_populates="pages")


class AuditEvent(Base):
    __tablename__ = "audit_events"
    __table_args__ = (Index("ix_audit_document", "document_id", "at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    actor: Mapped[str] = mapped_column(String(120))
    action: Mapped[str] = mapped_column(String(60))
    document_id: Mapped[str | None] = mapped_column(String(32))
    detail: Mapped[dict | None] = mapped_column(JSON)
