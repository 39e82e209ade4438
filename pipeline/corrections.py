"""Applying what a person typed (at the counter or in review) to a recognized document.

Used by the classify stage (corrections typed at the counter before recognition finished) and
by the review workflow (`pipeline.review`); every change is kept as a `Review` row.
"""

from __future__ import annotations

from ocr.doctypes import load_doctypes
from pipeline.models import Review
from storage import states
from storage.catalog import AuditEvent, Document

FIELDS = ("number", "issued_on", "issuer", "subject_name", "subject_id", "title", "summary",
          "issuer_parent")


def correct_in_session(session, doc: Document, corrections: dict, *, actor: str,
                       threshold: float) -> list[str]:
    """Apply a person's corrections to a classified / needs-review document in this session.

    What a person typed gets confidence 1.0; a `needs_review` document whose confidence is
    then high enough moves on to `classified`. Changes are kept as a Review (training data).
    Returns the names of what changed."""
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
        doc.state = states.CLASSIFIED  # the review edge of the state machine
    if changed:
        session.add(Review(document_id=doc.id, reviewer=actor, action="correct",
                           document_type=doc.document_type, before=before,
                           after={"document_type": doc.document_type, "fields": fields}))
    session.add(AuditEvent(actor=actor, action="corrected", document_id=doc.id,
                           detail={"fields": changed, "confidence": round(doc.confidence, 3),
                                   "state": doc.state}))
    return changed
