"""Is this paper already stored under another dossier? The counter's check before submit.

A result is the same paper when it has the same document number (compared by its key,
storage.numbers: "12/QĐ-UBND" = "12/QD - UBND"), issuer (case, accents and spacing aside) and
issue date, or the same number and the same recognized text (whitespace and case aside). Only
results in another dossier count: a re-scan for the same dossier is the pipeline's business (it
links it). Only the asking unit's documents are looked at (by unit code, every version of it): a
counter never learns what another unit stores.
"""

from __future__ import annotations

import re
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from storage.catalog import AdminUnit, Document, Result
from storage.numbers import number_key
from storage.result_link import normalize_issuer


def _norm(text: str | None) -> str:
    return re.sub(r"\s+", " ", (text or "")).strip().casefold()


def stored_elsewhere(session: Session, *, unit: str, number: str | None, issuer: str | None,
                     issued_on: date | None, text: str | None, dossier: str | None,
                     limit: int = 5) -> list[dict]:
    """Stored results of unit `unit` (its code) that look like this paper, in dossiers other
    than `dossier`."""
    key = number_key((number or "").strip())
    if not key or not (unit or "").strip():
        return []
    rows = session.execute(
        select(Result.id, Result.dossier_code, Result.document_number, Result.issuer,
               Result.issued_on, Document.ocr_text, Document.id)
        .join(Document, Document.result_id == Result.id)
        .join(AdminUnit, AdminUnit.id == Document.unit_id)
        .where(AdminUnit.code == unit.strip())
        .where(Result.number_key == key)  # ix_results_number_key
        .where(Document.state == "stored")
        .order_by(Result.created_at)
        .limit(200)).all()
    same_text = _norm(text)
    found: dict[str, dict] = {}
    for rid, rdossier, rnumber, rissuer, ron, rtext, doc_id in rows:
        if (rdossier or "").upper() == (dossier or "").strip().upper() or rid in found:
            continue
        by_fields = bool(issuer and issued_on and ron == issued_on
                         and normalize_issuer(rissuer) == normalize_issuer(issuer))
        by_text = bool(same_text and _norm(rtext) == same_text)
        if by_fields or by_text:
            found[rid] = {"result_id": rid, "document_id": doc_id, "dossier": rdossier,
                          "number": rnumber, "issued_on": ron.isoformat() if ron else None,
                          "why": "fields" if by_fields else "text"}
        if len(found) >= limit:
            break
    return list(found.values())
