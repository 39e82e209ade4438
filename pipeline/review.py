"""The review path: documents below the confidence thresholds wait, unsigned, for a person.

A reviewer approves what was recognized or corrects the type and fields; either way a Review
row keeps the before/after (training data for `sohoa model train`), the document goes back to
`classified` and continues to signing (inline, or through the broker when one is configured).
"""

from __future__ import annotations

import contextlib
from datetime import date, datetime

from sqlalchemy import JSON, DateTime, ForeignKey, Index, Integer, String, select
from sqlalchemy.orm import Mapped, mapped_column

from pipeline import states
from pipeline.runtime import Runtime
from storage.catalog import AuditEvent, Base, Document, utcnow
from storage.units import UnknownUnit, find_unit

FIELDS = ("number", "issued_on", "issuer", "subject_name", "subject_id", "title", "summary",
          "issuer_parent")


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


class ReviewError(ValueError):
    pass


def _validate(fields: dict, document_type: str) -> None:
    from ocr.doctypes import load_doctypes

    if document_type not in load_doctypes():
        raise ReviewError(f"unknown document type {document_type!r}")
    unknown = set(fields) - set(FIELDS)
    if unknown:
        raise ReviewError(f"unknown field(s): {', '.join(sorted(unknown))}")
    if fields.get("issued_on"):
        try:
            date.fromisoformat(fields["issued_on"])
        except ValueError:
            raise ReviewError(f"issued_on {fields['issued_on']!r} is not an ISO date") from None
    subject_id = fields.get("subject_id")
    if subject_id and not (subject_id.isdigit() and len(subject_id) in (9, 10, 12, 13)):
        raise ReviewError(f"subject_id {subject_id!r} is not a personal ID or tax code")


def pending(rt: Runtime, limit: int = 200) -> list[dict]:
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


def field_crop_png(rt: Runtime, doc: Document, field: str) -> bytes | None:
    """PNG of where `field` was read on its page, cut from the stored searchable PDF (whose
    pages are the upright page images the OCR read, blank pages left out); None without one."""
    import subprocess
    import tempfile
    from io import BytesIO
    from pathlib import Path

    from PIL import Image

    from ocr.crops import field_crop_png as render

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


def decide(rt: Runtime, doc_id: str, *, reviewer: str, document_type: str | None = None,
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


def correct_in_session(session, doc: Document, corrections: dict, *, actor: str,
                       threshold: float) -> list[str]:
    """Apply a person's corrections to a classified / needs-review document in this session.

    What a person typed gets confidence 1.0; a `needs_review` document whose confidence is
    then high enough moves on to `classified`. Changes are kept as a Review (training data).
    Returns the names of what changed."""
    from ocr.doctypes import load_doctypes

    fields_in = {k: (v.strip() if isinstance(v, str) else v)
                 for k, v in (corrections.get("fields") or {}).items() if k in FIELDS}
    new_type = corrections.get("document_type")
    types = load_doctypes()
    before = {"document_type": doc.document_type, "fields": dict(doc.fields or {})}
    fields, conf = dict(doc.fields or {}), dict(doc.field_confidence or {})
    changed = sorted(k for k, v in fields_in.items() if fields.get(k) != (v or None))
    for key, value in fields_in.items():
        fields[key] = value or None
        conf[key] = 1.0 if value else 0.0
    if new_type and new_type in types:
        if new_type != doc.document_type:
            changed.append("document_type")
        doc.document_type, doc.type_confidence = new_type, 1.0
    dtype = types.get(doc.document_type)
    required = list(dtype.required) if dtype else []
    doc.fields, doc.field_confidence = fields, conf
    doc.confidence = min([doc.type_confidence or 0.0]
                         + [conf.get(f, 0.0) if fields.get(f) else 0.0 for f in required])
    if doc.state == states.NEEDS_REVIEW and doc.confidence >= threshold:
        states.check_transition(doc.state, states.CLASSIFIED)
        doc.state = states.CLASSIFIED
    if changed:
        session.add(Review(document_id=doc.id, reviewer=actor, action="correct",
                           document_type=doc.document_type, before=before,
                           after={"document_type": doc.document_type, "fields": fields}))
    session.add(AuditEvent(actor=actor, action="corrected", document_id=doc.id,
                           detail={"fields": changed, "confidence": round(doc.confidence, 3),
                                   "state": doc.state}))
    return changed


def apply_corrections(rt: Runtime, doc_id: str, corrections: dict, *, actor: str = "station") -> str:
    """Corrections for a document already classified (or waiting for review); its new state."""
    with rt.session() as session:
        doc = session.get(Document, doc_id, with_for_update=True)
        if doc.state in (states.CLASSIFIED, states.NEEDS_REVIEW):
            correct_in_session(session, doc, corrections, actor=actor,
                               threshold=rt.settings.review_threshold)
        return doc.state


def continue_processing(rt: Runtime, doc_id: str) -> str:
    """Sign and store a reviewed document: inline here, or through the configured broker."""
    if rt.settings.broker_url == "inline":
        from pipeline.inline import process_document

        return process_document(rt, doc_id)
    from pipeline.actors import enqueue_document
    from pipeline.broker import get_broker

    enqueue_document(rt, get_broker(rt.settings.broker_url), doc_id)
    return "queued"


def training_examples(rt: Runtime) -> list[tuple[str, str]]:
    """(OCR text, confirmed type) for every document a person approved or corrected."""
    with rt.session() as session:
        rows = session.execute(
            select(Document.ocr_text, Review.document_type)
            .join(Review, Review.document_id == Document.id)
            .order_by(Review.at)
        ).all()
    latest: dict[str, str] = {}
    for text, doc_type in rows:
        latest[text or ""] = doc_type
    return [(text, doc_type) for text, doc_type in latest.items() if text]
