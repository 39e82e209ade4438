"""Archive records under Circular 05/2025/TT-BNV: the fonds (phông), the record (hồ sơ) and the
archive data of each document (tài liệu), and the queries over them (docs/records.md maps every
column to the circular's field).

A stored document is *filed* into a record — by default the record whose code is the dossier
code of its result — when the sign stage stores it (`file_document`). The record's counts
(documents, sheets, pages) and dates are recomputed from its documents in SQL each time one
joins (`recount`), so they stay right however often a stage runs. Values a person set by hand or
imported are listed in `Record.set_by_hand` and never overwritten by defaults or recounts.

Retention is in `storage.retention`; this module only stores `retention_years` (NULL: vĩnh
viễn, permanent) and the derived `due_on`.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import (
    JSON,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    func,
    select,
)
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship

from storage.catalog import AdminUnit, AuditEvent, Base, Document, Procedure, Result, utcnow
from storage.retention import due_on as compute_due_on

ACCESS_LEVELS = ("open", "conditional")  # tiếp cận rộng rãi | tiếp cận có điều kiện
RELIABILITY = ("digitized", "born_digital", "mixed")  # Số hóa | Gốc điện tử | Hỗn hợp
FONDS_STATUS = ("open", "closed")  # mở | đóng
# Record fields a person may set (`sohoa records set`, import); the rest sohoa keeps itself.
EDITABLE = ("title", "retention_years", "access_level", "language", "start_date", "end_date",
            "keywords", "sheet_count", "page_count", "physical_condition", "information_sign",
            "reliability", "paper_record_code", "backup_mode", "backup_status", "note",
            "fonds_id")
COUNTED = ("document_count", "sheet_count", "page_count", "start_date", "end_date")
CHUNK = 500


class RecordError(ValueError):
    """A record request that cannot be honoured; the message says why."""


class Fonds(Base):
    """Phông lưu trữ."""

    __tablename__ = "archive_fonds"
    __table_args__ = (UniqueConstraint("code", name="uq_archive_fonds_code"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(40))
    name: Mapped[str] = mapped_column(String(300))
    status: Mapped[str] = mapped_column(String(10), default="open")
    history: Mapped[str | None] = mapped_column(Text)
    start_date: Mapped[date | None] = mapped_column(Date)
    end_date: Mapped[date | None] = mapped_column(Date)
    document_count: Mapped[int] = mapped_column(Integer, default=0)
    classification: Mapped[str | None] = mapped_column(Text)
    language: Mapped[str] = mapped_column(String(40), default="vi")
    backup_mode: Mapped[str | None] = mapped_column(String(80))
    note: Mapped[str | None] = mapped_column(Text)
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("admin_units.id"))

    unit: Mapped[AdminUnit | None] = relationship()


class Record(Base):
    """Hồ sơ lưu trữ."""

    __tablename__ = "archive_records"
    __table_args__ = (
        UniqueConstraint("code", name="uq_archive_records_code"),
        Index("ix_archive_records_unit", "unit_id", "code"),
        Index("ix_archive_records_dossier", "dossier_code"),
        Index("ix_archive_records_due", "due_on"),
        Index("ix_archive_records_fonds", "fonds_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(80))
    fonds_id: Mapped[int | None] = mapped_column(ForeignKey("archive_fonds.id"))
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("admin_units.id"))
    dossier_code: Mapped[str | None] = mapped_column(String(64))
    title: Mapped[str] = mapped_column(String(500))
    retention_years: Mapped[int | None] = mapped_column(Integer)  # NULL: vĩnh viễn
    access_level: Mapped[str] = mapped_column(String(20), default="conditional")
    language: Mapped[str] = mapped_column(String(40), default="vi")
    start_date: Mapped[date | None] = mapped_column(Date)
    end_date: Mapped[date | None] = mapped_column(Date)
    keywords: Mapped[list | None] = mapped_column(JSON)
    document_count: Mapped[int] = mapped_column(Integer, default=0)
    sheet_count: Mapped[int | None] = mapped_column(Integer)
    page_count: Mapped[int | None] = mapped_column(Integer)
    physical_condition: Mapped[str | None] = mapped_column(String(200))
    information_sign: Mapped[str | None] = mapped_column(String(100))
    reliability: Mapped[str] = mapped_column(String(20), default="digitized")
    paper_record_code: Mapped[str | None] = mapped_column(String(80))
    backup_mode: Mapped[str | None] = mapped_column(String(80))
    backup_status: Mapped[str | None] = mapped_column(String(80))
    note: Mapped[str | None] = mapped_column(Text)
    due_on: Mapped[date | None] = mapped_column(Date)
    set_by_hand: Mapped[list | None] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow,
                                                 onupdate=utcnow)

    fonds: Mapped[Fonds | None] = relationship()
    unit: Mapped[AdminUnit | None] = relationship()

    def by_hand(self, name: str) -> bool:
        return name in (self.set_by_hand or [])

    def mark_by_hand(self, *names: str) -> None:
        self.set_by_hand = sorted(set(self.set_by_hand or []) | set(names))


class ArchiveDocument(Base):
    """The archive data of one catalog document (tài liệu lưu trữ). A row may exist before its
    document is filed (record_id NULL): the station or a batch import leaves what it knows
    about the paper (sheets, condition, paper code) for the filing to pick up."""

    __tablename__ = "archive_documents"
    __table_args__ = (
        UniqueConstraint("document_id", name="uq_archive_documents_document"),
        UniqueConstraint("record_id", "sequence", name="uq_archive_documents_record_seq"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    document_id: Mapped[str] = mapped_column(ForeignKey("documents.id", ondelete="CASCADE"))
    record_id: Mapped[int | None] = mapped_column(ForeignKey("archive_records.id"))
    sequence: Mapped[int | None] = mapped_column(Integer)
    code: Mapped[str | None] = mapped_column(String(100))
    sheets: Mapped[int | None] = mapped_column(Integer)
    pages: Mapped[int | None] = mapped_column(Integer)
    physical_condition: Mapped[str | None] = mapped_column(String(200))
    paper_code: Mapped[str | None] = mapped_column(String(80))
    language: Mapped[str] = mapped_column(String(40), default="vi")
    reliability: Mapped[str] = mapped_column(String(20), default="digitized")
    note: Mapped[str | None] = mapped_column(Text)
    filed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    record: Mapped[Record | None] = relationship()
    document: Mapped[Document] = relationship()


class Disposal(Base):
    """A destruction decision recorded against a record (quyết định hủy tài liệu hết giá trị).
    Recording it deletes nothing."""

    __tablename__ = "archive_disposals"
    __table_args__ = (Index("ix_archive_disposals_record", "record_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    record_id: Mapped[int] = mapped_column(ForeignKey("archive_records.id"))
    decision: Mapped[str] = mapped_column(String(120))
    decided_on: Mapped[date] = mapped_column(Date)
    decided_by: Mapped[str | None] = mapped_column(String(300))
    note: Mapped[str | None] = mapped_column(Text)
    recorded_by: Mapped[str] = mapped_column(String(120))
    recorded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    record: Mapped[Record] = relationship()


# ------------------------------------------------------------------ values


def retention_label(years: int | None) -> str:
    """"Vĩnh viễn" or "10 năm" — the way archive lists write it."""
    return "Vĩnh viễn" if years is None else f"{years} năm"


def longer_retention(a: int | None, b: int | None) -> int | None:
    """The longer of two retention periods (None, permanent, wins)."""
    if a is None or b is None:
        return None
    return max(a, b)


def stricter_access(a: str, b: str) -> str:
    return "conditional" if "conditional" in (a, b) else "open"


def default_record_code(dossier_code: str | None, result_id: str | None) -> str:
    if dossier_code:
        return dossier_code
    if result_id:
        return f"KQ-{result_id}"
    raise RecordError("a record needs a dossier code or a result")


@dataclass(frozen=True)
class FilingDefaults:
    """What the document type says about a record (ocr/doctypes.toml, read by the pipeline)."""

    retention_years: int | None = None  # None: permanent
    access_level: str = "conditional"
    type_name: str | None = None  # Vietnamese name of the document type, a keyword


# ------------------------------------------------------------------ filing


def document_hints(session: Session, document_id: str, *, sheets: int | None = None,
                   physical_condition: str | None = None, paper_code: str | None = None
                   ) -> ArchiveDocument:
    """Record what the station or a batch import knows about a document's paper; kept until the
    document is filed, and used then (only the values given are changed)."""
    if sheets is not None and sheets < 0:
        raise RecordError(f"sheets must not be negative ({sheets})")
    row = session.scalar(select(ArchiveDocument).where(ArchiveDocument.document_id == document_id))
    if row is None:
        row = ArchiveDocument(document_id=document_id)
        session.add(row)
    if sheets is not None:
        row.sheets = sheets
    if physical_condition:
        row.physical_condition = physical_condition
    if paper_code:
        row.paper_code = paper_code
    session.flush()
    if row.record_id is not None:  # already filed: the record's counts follow
        _apply_paper_hints(row.record, row)
        recount(session, row.record)
    return row


def file_document(session: Session, doc: Document, result: Result | None,
                  defaults: FilingDefaults = FilingDefaults()) -> ArchiveDocument:
    """File a stored document into its record (created on first use), and recount the record.
    Running it again for the same document changes nothing but the counts."""
    dossier = (result.dossier_code if result is not None else None) or doc.dossier_code
    result_id = result.id if result is not None else doc.result_id
    row = session.scalar(select(ArchiveDocument).where(ArchiveDocument.document_id == doc.id))
    if row is None:
        row = ArchiveDocument(document_id=doc.id)
        session.add(row)
    record = row.record
    if record is None:
        code = default_record_code(dossier, result_id)
        # locked (PostgreSQL) so two workers filing into one record number their documents in
        # turn; two creating the same new record: one fails on the unique code and its stage is
        # retried, finding the record then
        record = session.scalar(select(Record).where(Record.code == code).with_for_update())
        if record is None:
            record = _new_record(session, code, doc, result, defaults)
        else:
            _merge_defaults(record, defaults)
        row.record = record
        session.flush()
        row.sequence = (session.scalar(select(func.max(ArchiveDocument.sequence))
                                       .where(ArchiveDocument.record_id == record.id)) or 0) + 1
        row.code = f"{record.code}.{row.sequence:03d}"
        row.filed_at = utcnow()
    row.pages = doc.page_count
    _apply_paper_hints(record, row)
    session.flush()
    recount(session, record)
    return row


def _new_record(session: Session, code: str, doc: Document, result: Result | None,
                defaults: FilingDefaults) -> Record:
    procedure_code = (result.procedure_code if result is not None else None) or doc.procedure_code
    procedure = session.get(Procedure, procedure_code) if procedure_code else None
    what = procedure.name if procedure is not None else (defaults.type_name or "kết quả TTHC")
    dossier = (result.dossier_code if result is not None else None) or doc.dossier_code
    title = f"Hồ sơ {what}" + (f" {dossier}" if dossier else "")
    keywords = [k for k in (defaults.type_name, procedure_code) if k]
    record = Record(code=code, unit_id=(result.unit_id if result is not None else doc.unit_id),
                    dossier_code=dossier, title=title[:500],
                    retention_years=defaults.retention_years,
                    access_level=defaults.access_level, keywords=keywords or None,
                    language="vi", reliability="digitized", document_count=0)
    session.add(record)
    return record


def _merge_defaults(record: Record, defaults: FilingDefaults) -> None:
    if not record.by_hand("retention_years"):
        record.retention_years = longer_retention(record.retention_years,
                                                  defaults.retention_years)
    if not record.by_hand("access_level"):
        record.access_level = stricter_access(record.access_level, defaults.access_level)
    if defaults.type_name and not record.by_hand("keywords"):
        words = list(record.keywords or [])
        if defaults.type_name not in words:
            record.keywords = [*words, defaults.type_name]


def _apply_paper_hints(record: Record, row: ArchiveDocument) -> None:
    if row.paper_code and not record.paper_record_code:
        record.paper_record_code = row.paper_code
    if row.physical_condition and not record.physical_condition:
        record.physical_condition = row.physical_condition


def recount(session: Session, record: Record) -> None:
    """Counts and dates of a record from its documents, in SQL; then its due date and its
    fonds' totals. Values set by hand stay."""
    session.flush()
    docs, pages, sheets, first, last = session.execute(
        select(func.count(ArchiveDocument.id), func.sum(ArchiveDocument.pages),
               func.sum(ArchiveDocument.sheets), func.min(Result.issued_on),
               func.max(Result.issued_on))
        .select_from(ArchiveDocument)
        .join(Document, Document.id == ArchiveDocument.document_id)
        .outerjoin(Result, Result.id == Document.result_id)
        .where(ArchiveDocument.record_id == record.id)).one()
    record.document_count = docs or 0
    if not record.by_hand("page_count"):
        record.page_count = pages
    if not record.by_hand("sheet_count"):
        record.sheet_count = sheets
    if not record.by_hand("start_date"):
        record.start_date = first
    if not record.by_hand("end_date"):
        record.end_date = last
    refresh_due(record)
    if record.fonds_id is not None:
        recount_fonds(session, record.fonds_id)


def refresh_due(record: Record) -> None:
    end = record.end_date or record.start_date
    if end is None and record.created_at is not None:
        end = record.created_at.date()
    record.due_on = compute_due_on(end, record.retention_years)


def recount_fonds(session: Session, fonds_id: int) -> None:
    session.flush()
    total, first, last = session.execute(
        select(func.coalesce(func.sum(Record.document_count), 0), func.min(Record.start_date),
               func.max(Record.end_date)).where(Record.fonds_id == fonds_id)).one()
    fonds = session.get(Fonds, fonds_id)
    fonds.document_count, fonds.start_date, fonds.end_date = total, first, last


# ------------------------------------------------------------------ records managers' edits


def get_record(session: Session, code: str) -> Record | None:
    return session.scalar(select(Record).where(Record.code == code))


def get_fonds(session: Session, code: str) -> Fonds | None:
    return session.scalar(select(Fonds).where(Fonds.code == code))


def upsert_fonds(session: Session, code: str, name: str | None = None, **values) -> Fonds:
    code = (code or "").strip()
    if not code:
        raise RecordError("a fonds needs a code (mã phông)")
    fonds = get_fonds(session, code)
    if fonds is None:
        if not name:
            raise RecordError(f"fonds {code} does not exist yet: give its name (tên phông)")
        fonds = Fonds(code=code, name=name, status="open", language="vi", document_count=0)
        session.add(fonds)
    elif name:
        fonds.name = name
    for key, value in values.items():
        if key == "status" and value not in FONDS_STATUS:
            raise RecordError(f"fonds status must be one of {', '.join(FONDS_STATUS)}")
        if value is not None:
            setattr(fonds, key, value)
    session.flush()
    return fonds


def _check(values: dict) -> None:
    unknown = set(values) - set(EDITABLE)
    if unknown:
        raise RecordError(f"not an editable record field: {', '.join(sorted(unknown))}")
    if values.get("access_level") is not None and values["access_level"] not in ACCESS_LEVELS:
        raise RecordError(f"access level must be one of {', '.join(ACCESS_LEVELS)}")
    if values.get("reliability") is not None and values["reliability"] not in RELIABILITY:
        raise RecordError(f"reliability must be one of {', '.join(RELIABILITY)}")
    years = values.get("retention_years")
    if years is not None and not (isinstance(years, int) and 0 < years <= 200):
        raise RecordError(f"retention must be a number of years from 1 to 200 or permanent "
                          f"({years!r})")
    for key in ("sheet_count", "page_count"):
        if values.get(key) is not None and values[key] < 0:
            raise RecordError(f"{key} must not be negative")
    start, end = values.get("start_date"), values.get("end_date")
    if start and end and end < start:
        raise RecordError(f"end date {end} is before start date {start}")
    if values.get("title") is not None and not str(values["title"]).strip():
        raise RecordError("a record's title must not be empty")


def update_record(session: Session, record: Record, values: dict) -> Record:
    """Set fields by hand (`retention_years=None` means permanent when given). Marks them so
    defaults and recounts leave them alone."""
    _check(values)
    for key, value in values.items():
        setattr(record, key, value)
    record.mark_by_hand(*values)
    refresh_due(record)
    session.flush()
    if record.fonds_id is not None:
        recount_fonds(session, record.fonds_id)
    return record


def upsert_record(session: Session, code: str, values: dict, unit_id: int | None = None
                  ) -> tuple[Record, bool]:
    """An imported record: created (with a title, else one from its code) or updated."""
    code = (code or "").strip()
    if not code:
        raise RecordError("a record needs a code (mã hồ sơ)")
    _check(values)
    record = get_record(session, code)
    created = record is None
    if created:
        record = Record(code=code, dossier_code=None, unit_id=unit_id,
                        title=values.get("title") or f"Hồ sơ {code}", access_level="conditional",
                        language="vi", reliability="digitized", document_count=0,
                        created_at=utcnow())
        session.add(record)
    elif unit_id is not None and record.unit_id is None:
        record.unit_id = unit_id
    update_record(session, record, values)
    return record, created


def record_disposal(session: Session, record: Record, *, decision: str, decided_on: date,
                    decided_by: str | None, actor: str, note: str | None = None) -> Disposal:
    """Record a destruction decision; nothing is deleted."""
    if not decision.strip():
        raise RecordError("give the decision's number (số quyết định)")
    if record.retention_years is None:
        raise RecordError(f"record {record.code} is kept permanently (vĩnh viễn): set its "
                          "retention first if the appraisal changed it")
    disposal = Disposal(record_id=record.id, decision=decision.strip(), decided_on=decided_on,
                        decided_by=decided_by, note=note, recorded_by=actor)
    session.add(disposal)

    session.add(AuditEvent(actor=actor, action="record.disposal", document_id=None,
                           detail={"record": record.code, "decision": disposal.decision,
                                   "decided_on": decided_on.isoformat()}))
    session.flush()
    return disposal


# ------------------------------------------------------------------ reading


def list_records(session: Session, *, unit_ids: list[int] | None = None,
                 fonds_code: str | None = None, after: str | None = None, limit: int = 100
                 ) -> list[Record]:
    """Records by code (keyset: `after` the last code seen)."""
    query = select(Record).order_by(Record.code).limit(limit)
    if unit_ids is not None:
        query = query.where(Record.unit_id.in_(unit_ids))
    if fonds_code is not None:
        query = query.join(Fonds, Fonds.id == Record.fonds_id).where(Fonds.code == fonds_code)
    if after is not None:
        query = query.where(Record.code > after)
    return list(session.scalars(query))


def record_documents(session: Session, record: Record) -> list[tuple]:
    """(ArchiveDocument, Document, Result | None) of a record, in sequence."""
    return list(session.execute(
        select(ArchiveDocument, Document, Result)
        .join(Document, Document.id == ArchiveDocument.document_id)
        .outerjoin(Result, Result.id == Document.result_id)
        .where(ArchiveDocument.record_id == record.id)
        .order_by(ArchiveDocument.sequence)))


def disposals(session: Session, record: Record) -> list[Disposal]:
    return list(session.scalars(select(Disposal).where(Disposal.record_id == record.id)
                                .order_by(Disposal.recorded_at)))


RECORD_FIELDS = ("code", "title", "retention_years", "access_level", "language", "start_date",
                 "end_date", "keywords", "document_count", "sheet_count", "page_count",
                 "physical_condition", "information_sign", "reliability", "paper_record_code",
                 "backup_mode", "backup_status", "note", "dossier_code", "due_on")


def record_dict(record: Record, fonds: Fonds | None = None, unit: AdminUnit | None = None) -> dict:
    out = {name: getattr(record, name) for name in RECORD_FIELDS}
    out["retention"] = retention_label(record.retention_years)
    fonds = fonds if fonds is not None else record.fonds
    out["fonds"] = ({"code": fonds.code, "name": fonds.name} if fonds is not None else None)
    unit = unit if unit is not None else record.unit
    out["unit"] = ({"code": unit.code, "name": unit.name, "level": unit.level}
                   if unit is not None else None)
    return out


def document_dict(row: ArchiveDocument, doc: Document, result: Result | None) -> dict:
    fields = doc.fields or {}
    return {
        "code": row.code, "sequence": row.sequence, "document_id": doc.id,
        "result_id": doc.result_id,
        "document_type": (result.document_type if result is not None else None)
        or doc.document_type,
        "document_number": result.document_number if result is not None else None,
        "issued_on": result.issued_on if result is not None else None,
        "issuer": result.issuer if result is not None else None,
        "summary": fields.get("summary"),
        "subject_name": result.subject_name if result is not None else None,
        "subject_id": result.subject_id if result is not None else None,
        "language": row.language, "pages": row.pages, "sheets": row.sheets,
        "reliability": row.reliability, "physical_condition": row.physical_condition,
        "paper_code": row.paper_code, "note": row.note,
        "signed_key": doc.signed_key, "signed_sha256": doc.signed_sha256,
        "original_key": doc.original_key, "original_sha256": doc.source_sha256,
        "original_name": doc.source_name, "state": doc.state,
        "stored_at": doc.stored_at,
    }


@dataclass(frozen=True)
class ExportEntry:
    """One document of a record, for an export package: `record` is `record_dict` (the same
    object for every document of one record), `document` is `document_dict`."""

    record: dict
    document: dict


def iter_export_entries(session: Session, codes: Iterable[str], *, chunk: int = CHUNK
                        ) -> Iterator[ExportEntry]:
    """Stream the documents of the records `codes` (every record when empty), by record code and
    sequence, `chunk` rows at a time (`yield_per`): memory stays bounded whatever the size."""
    codes = sorted({c for c in codes})
    query = (select(Record, ArchiveDocument, Document, Result, Fonds, AdminUnit)
             .join(ArchiveDocument, ArchiveDocument.record_id == Record.id)
             .join(Document, Document.id == ArchiveDocument.document_id)
             .outerjoin(Result, Result.id == Document.result_id)
             .outerjoin(Fonds, Fonds.id == Record.fonds_id)
             .outerjoin(AdminUnit, AdminUnit.id == Record.unit_id)
             .order_by(Record.code, ArchiveDocument.sequence)
             .execution_options(yield_per=chunk))
    if codes:
        missing = set(codes) - set(session.scalars(select(Record.code)
                                                   .where(Record.code.in_(codes))))
        if missing:
            raise RecordError(f"no record {', '.join(sorted(missing))}")
        query = query.where(Record.code.in_(codes))
    current, current_dict = None, None
    for record, row, doc, result, fonds, unit in session.execute(query):
        if record is not current:
            if current is not None and current in session:
                session.expunge(current)  # the session keeps no more than the rows in flight
            current, current_dict = record, record_dict(record, fonds, unit)
        yield ExportEntry(current_dict, document_dict(row, doc, result))
        for done in (row, doc, result):
            if done is not None and done in session:
                session.expunge(done)


def due_documents(session: Session, on: date, *, unit_ids: list[int] | None = None,
                  include_decided: bool = False, chunk: int = CHUNK
                  ) -> Iterator[tuple[Record, ArchiveDocument, Document, Result | None]]:
    """Documents of records whose retention ended before `on` (due_on <= on), for appraisal;
    those with a destruction decision recorded are left out unless `include_decided`."""
    query = (select(Record, ArchiveDocument, Document, Result)
             .join(ArchiveDocument, ArchiveDocument.record_id == Record.id)
             .join(Document, Document.id == ArchiveDocument.document_id)
             .outerjoin(Result, Result.id == Document.result_id)
             .where(Record.due_on.is_not(None), Record.due_on <= on)
             .order_by(Record.due_on, Record.code, ArchiveDocument.sequence)
             .execution_options(yield_per=chunk))
    if unit_ids is not None:
        query = query.where(Record.unit_id.in_(unit_ids))
    if not include_decided:
        query = query.where(~select(Disposal.id).where(Disposal.record_id == Record.id).exists())
    yield from session.execute(query)


def unfiled_documents(session: Session, limit: int) -> list[Document]:
    """Stored documents in no record yet (stored before records existed), oldest first."""
    filed = select(ArchiveDocument.id).where(ArchiveDocument.document_id == Document.id,
                                             ArchiveDocument.record_id.is_not(None))
    return list(session.scalars(select(Document).where(Document.state == "stored", ~filed.exists())
                                .order_by(Document.stored_at, Document.id).limit(limit)))
