"""Response bodies of the retrieval API (these shape the OpenAPI document other systems code
against)."""

from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel, ConfigDict, Field


class UnitRef(BaseModel):
    code: str
    name: str
    level: str


class Links(BaseModel):
    self: str
    pdf: str
    verification: str


class ResultSummary(BaseModel):
    id: str
    dossier_code: str | None
    procedure_code: str | None
    document_number: str | None
    document_type: str | None
    issued_on: date | None
    in_force: bool
    valid_until: date | None
    issuer: str | None
    subject_name: str | None = Field(description="masked unless the client has read:pii")
    subject_id: str | None = Field(description="masked unless the client has read:pii")
    unit: UnitRef
    created_at: datetime
    links: Links


class ResultPage(BaseModel):
    items: list[ResultSummary]
    next_cursor: str | None = Field(description="pass as ?cursor= for the next page; null at end")
    limit: int


class AgencyRef(BaseModel):
    code: str = Field(description="the agency's electronic identifier, e.g. 000.00.04.H26")
    name: str


class SignatureSummary(BaseModel):
    signed: bool
    signer: str | None
    agency: AgencyRef | None = Field(None, description="the agency that made and signed the "
                                     "copy (Decree 30/2020); null: signed in the unit's name")
    signed_at: datetime | None
    sha256: str | None


class DocumentInfo(BaseModel):
    id: str
    state: str
    pages: int | None
    sha256: str | None = Field(description="sha256 of the signed PDF (also its ETag)")
    source_sha256: str
    document_type: str | None
    confidence: float | None
    fields: dict
    stored_at: datetime | None


class ResultDetail(ResultSummary):
    procedure_name: str | None
    province_code: str
    state: str | None
    pages: int | None
    sha256: str | None
    document: DocumentInfo | None
    agency: AgencyRef | None = Field(None, description="the issuing agency, read from the "
                                     "document's header; the unit and level still count")
    signature: SignatureSummary


class SignatureReport(BaseModel):
    field_name: str
    kind: str
    intact: bool
    trusted: bool
    coverage: str | None
    modification_level: str | None
    signer: str | None
    signing_time: str | None
    timestamp: str | None
    problems: list[str]


class Verification(BaseModel):
    valid: bool
    intact: bool
    trusted: bool
    coverage: str | None
    modified_after_signing: bool
    signer: str | None
    signing_time: str | None
    signature_count: int
    problems: list[str]
    signatures: list[SignatureReport]
    sha256: str = Field(description="sha256 of the verified bytes")
    matches_catalog: bool | None = Field(
        None, description="for a stored result: the bytes match the catalog's sha256")


class IngestAccepted(BaseModel):
    document_id: str
    duplicate: bool
    state: str
    status_url: str


class IngestStatus(BaseModel):
    document_id: str
    state: str
    result_id: str | None
    error: str | None
    status_url: str
    result_url: str | None
    waiting: bool = Field(False, description="accepted, but no worker has taken it for a while "
                          "(the work queue is down or behind): the scan is kept and will be "
                          "processed")


class ProgressRow(BaseModel):
    """One unit's counts, as `quotas.progress.digitized_counts` gives them (extra keys pass)."""

    model_config = ConfigDict(extra="allow")
    level: str
    code: str
    name: str
    documents: int | None = None
    stored: int | None = None
    needs_review: int | None = None
    failed: int | None = None


class Progress(BaseModel):
    units: list[ProgressRow]
    totals: dict[str, int] = Field(description="stored results per level")


# --- archive records (Circular 05/2025/TT-BNV; docs/records.md) ------------------------------
class FondsRef(BaseModel):
    code: str = Field(description="mã phông")
    name: str = Field(description="tên phông")


class RecordSummary(BaseModel):
    code: str = Field(description="mã hồ sơ (by default the dossier code)")
    title: str = Field(description="tiêu đề hồ sơ")
    retention_years: int | None = Field(description="thời hạn lưu trữ in years; null: vĩnh viễn")
    retention: str = Field(description='"Vĩnh viễn" or "N năm"')
    access_level: str = Field(description="mức độ tiếp cận: open | conditional")
    language: str
    start_date: date | None
    end_date: date | None
    keywords: list[str] | None
    document_count: int
    sheet_count: int | None
    page_count: int | None
    physical_condition: str | None
    information_sign: str | None
    reliability: str = Field(description="mức độ tin cậy: digitized | born_digital | mixed")
    paper_record_code: str | None = Field(description="mã hồ sơ gốc giấy")
    backup_mode: str | None
    backup_status: str | None
    note: str | None
    dossier_code: str | None
    due_on: date | None = Field(description="first day past retention (for appraisal); null: "
                                "permanent")
    fonds: FondsRef | None
    unit: UnitRef | None
    links: dict[str, str]


class RecordPage(BaseModel):
    items: list[RecordSummary]
    next_cursor: str | None = Field(description="pass as ?cursor= for the next page; null at end")
    limit: int


class RecordDocument(BaseModel):
    code: str | None = Field(description="mã định danh tài liệu: <record code>.<sequence>")
    sequence: int | None = Field(description="số thứ tự tài liệu trong hồ sơ")
    result_id: str | None
    document_type: str | None
    document_number: str | None
    issued_on: date | None
    issuer: str | None
    summary: str | None
    subject_name: str | None = Field(description="masked unless the client has read:pii")
    subject_id: str | None = Field(description="masked unless the client has read:pii")
    language: str
    pages: int | None
    sheets: int | None
    reliability: str
    physical_condition: str | None
    paper_code: str | None
    sha256: str | None = Field(description="SHA-256 of the signed PDF")
    state: str
    links: dict[str, str]


class Disposal(BaseModel):
    decision: str
    decided_on: date
    decided_by: str | None
    recorded_at: datetime


class RecordDetail(RecordSummary):
    documents: list[RecordDocument]
    disposals: list[Disposal]
