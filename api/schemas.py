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
