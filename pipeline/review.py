"""The review path: documents below the confidence thresholds wait, unsigned, for a person.

A reviewer approves what was recognized or corrects the type and fields; either way a Review
row keeps the before/after (training data for `sohoa model train`), the document goes back to
`classified` and continues to signing through the process's dispatcher (inline, or the broker).
The `reviews` table is `pipeline.models.Review`; applying corrections is `pipeline.corrections`.
"""

from __future__ import annotations

import contextlib
from datetime import date

from sqlalchemy import select

from ocr.crops import field_crop_png as render
from ocr.doctypes import load_doctypes
from pipeline import states
from pipeline.context import Context
from pipeline.corrections import FIELDS, CorrectionsError, checked, correct_in_session
from pipeline.models import Review
from storage.catalog import AuditEvent, Document
from storage.units import UnknownUnit, find_unit

__all__ = ["FIELDS", "Review", "ReviewError", "apply_corrections", "continue_processing",
           "correct_in_session", "decide", "field_crop_png", "pending", "review_record"]


class ReviewError(ValueError):
    pass


def _validate(fields: dict, document_type: str) -> None:
    if document_type not in load_doctypes():
        raise ReviewError(f"unknown document type {document_type!r}")
    unknown = set(fields) - set(FIELDS)
    if unknown:
        raise ReviewError(f"unknown field(s): {', '.join(sorted(unknown))}")
    try:
        checked({"fields": fields})
    except CorrectionsError as exc:
        raise ReviewError(str(exc)) from None
    if fields.get("issued_on"):
        try:
            date.fromisoformat(fields["issued_on"])
        except ValueError:
            raise ReviewError(f"issued_on {fields['issued_on']!r} is not an ISO date") from None
    subject_id = fields.get("subject_id")
    if subject_id and not (subject_id.isdigit() and len(subject_id) in (9, 10, 12, 13)):
        raise ReviewError(f"subject_id {subject_id!r} is not a personal ID or tax code")


def pending(rt: Context, limit: int = 200) -> list[dict]:
    with rt.session() as session:
        docs = session.scalars(select(Document).where(Document.state == states.NEEDS_REVIEW)
                               .order_by(Document.created_at).limit(limit)).all()
        return [review_record(d, rt.settings.review_threshold) for d in docs]


def review_record(doc: Document, threshold: float) -> dict:
    """What a reviewer sees. `crops`: {field: {"page": <0-based page index>, "box": [x0, y0,
    x1, y1]}} in pixels of the page image the OCR ran on, where number and date were read
    (render one with `field_crop_png`)."""
    confidence = doc.field_confidence or {}
    fields = dict(doc.fields or {})
    crops = fields.pop("crops", None) or {}
    return {
        "document_id": doc.id, "file": doc.source_name, "state": doc.state,
        "unit_code": doc.unit.code, "document_type": doc.document_type,
        "type_confidence": doc.type_confidence, "confidence": doc.confidence,
        "fields": fields, "field_confidence": confidence, "crops": crops,
        "low_confidence": sorted(k for k, v in confidence.items()
                                 if isinstance(v, int | float) and v < threshold),
        "created_at": doc.created_at,
    }


def field_crop_png(rt: Context, doc: Document, field: str) -> bytes | None:
    """PNG of where `field` was read on its page, cut from the stored searchable PDF (whose
    pages are the upright page images the OCR read, blank pages left out); None without one."""
    import subprocess
    import tempfile
    from io import BytesIO
    from pathlib import Path

    from PIL import Image

    crop = ((doc.fields or {}).get("crops") or {}).get(field)
    if not crop or not doc.pdf_key:
        return None
    pages = sorted(doc.pages, key=lambda p: p.index)
    page = next((p for p in pages if p.index == crop["page"]), None)
    if page is None or page.blank:
        return None
    pdf_page = 1 + sum(1 for p in pages if p.index < page.index and not p.blank)
    with tempfile.TemporaryDirectory(prefix="sohoa-crop-") as tmp:
        local = Path(tmp) / "searchable.pdf"
        with rt.objects.open(doc.pdf_key) as stream, open(local, "wb") as out:
            while chunk := stream.read(1 << 20):
                out.write(chunk)
        run = subprocess.run(["pdftoppm", "-r", str(page.dpi), "-f", str(pdf_page), "-l",
                              str(pdf_page), "-png", str(local)], capture_output=True,
                             timeout=120, check=False)
    if run.returncode != 0 or not run.stdout:
        return None
    return render(Image.open(BytesIO(run.stdout)), crop["box"])


def decide(rt: Context, doc_id: str, *, reviewer: str, document_type: str | None = None,
           fields: dict | None = None) -> str:
    """Approve (no changes) or correct a document under review; returns the action recorded."""
    changes = {k: (v or None) for k, v in (fields or {}).items()}
    with rt.session() as session:
        doc = session.get(Document, doc_id)
        if doc is None:
            raise ReviewError(f"no document {doc_id}")
        if doc.state != states.NEEDS_REVIEW:
            raise ReviewError(f"document {doc_id} is {doc.state}, not waiting for review")
        new_type = document_type or doc.document_type
        _validate(changes, new_type)
        before = {"document_type": doc.document_type, "fields": dict(doc.fields or {})}
        after_fields = {**(doc.fields or {}), **changes}
        action = "correct" if changes or new_type != doc.document_type else "approve"
        doc.document_type, doc.fields = new_type, after_fields
        confirmed = dict.fromkeys(after_fields, 1.0)
        doc.field_confidence, doc.type_confidence, doc.confidence = confirmed, 1.0, 1.0
        if changes.get("issued_on"):  # the result belongs to the unit of its issue date
            with contextlib.suppress(UnknownUnit):
                doc.unit = find_unit(session, doc.unit.code, date.fromisoformat(changes["issued_on"]))
        states.check_transition(doc.state, states.CLASSIFIED)
        doc.state = states.CLASSIFIED
        session.add(Review(document_id=doc.id, reviewer=reviewer, action=action,
                           document_type=new_type, before=before,
                           after={"document_type": new_type, "fields": after_fields}))
        session.add(AuditEvent(actor=reviewer, action=f"review.{action}", document_id=doc.id,
                               detail={"changed": sorted(changes)}))
    return action


def apply_corrections(rt: Context, doc_id: str, corrections: dict, *, actor: str = "station") -> str:
    """Corrections for a document already classified (or waiting for review); its new state."""
    with rt.session() as session:
        doc = session.get(Document, doc_id, with_for_update=True)
        if doc.state in (states.CLASSIFIED, states.NEEDS_REVIEW):
            correct_in_session(session, doc, corrections, actor=actor,
                               threshold=rt.settings.review_threshold)
        return doc.state


def continue_processing(rt, doc_id: str) -> str:
    """Sign and store a reviewed document through the process's dispatcher: inline (its state
    afterwards) or on the broker ("queued")."""
    return rt.dispatcher.run(doc_id)
