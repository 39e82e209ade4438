"""Helpers for the archive-record tests: an emptied archive, results with stored documents."""

from __future__ import annotations

import hashlib
import uuid
from datetime import UTC, date, datetime

from sqlalchemy import text

ARCHIVE_TABLES = ("archive_disposals", "archive_documents", "archive_records", "archive_fonds")


def clear_archive(session) -> None:
    for table in ARCHIVE_TABLES:
        session.execute(text(f"DELETE FROM {table}"))


def stored_copy(session, *, unit_code: str = "00001", dossier: str | None = "H26-0001",
                issued: date | None = date(2024, 3, 1), pages: int = 2,
                document_type: str = "trich_luc_khai_sinh", number: str | None = None,
                subject_name: str | None = "Nguyễn Văn An", subject_id: str | None = "001099012345",
                result=None):
    """A result (or `result`) and one stored, signed document of it: (result, document)."""
    from storage.catalog import Document, Result
    from storage.units import find_unit

    if result is None:
        unit = find_unit(session, unit_code, on=issued or date(2024, 1, 1))
        result = Result(unit_id=unit.id, dossier_code=dossier, procedure_code="1.001193",
                        document_number=number or f"{uuid.uuid4().int % 10000}/TLKS",
                        document_type=document_type, issued_on=issued,
                        issuer="UBND phường Phúc Xá", subject_name=subject_name,
                        subject_id=subject_id)
        session.add(result)
        session.flush()
    digest = hashlib.sha256(uuid.uuid4().bytes).hexdigest()
    doc = Document(state="stored", source_name=f"{digest[:8]}.pdf", source_sha256=digest,
                   source_size=1000, unit_id=result.unit_id, dossier_code=result.dossier_code,
                   procedure_code=result.procedure_code, result_id=result.id,
                   original_key=f"originals/{digest}.pdf", pdf_key=f"pdf/{digest}",
                   signed_key=f"signed/{digest}.pdf", signed_sha256=digest[::-1],
                   document_type=document_type, page_count=pages,
                   fields={"summary": "Trích lục khai sinh", "subject_name": subject_name},
                   stored_at=datetime.now(UTC))
    session.add(doc)
    session.flush()
    return result, doc
