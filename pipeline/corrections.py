"""Applying what a person typed (at the counter or in review) to a recognized document.

Used by the classify stage (corrections typed at the counter before recognition finished) and
by the review workflow (`pipeline.review`); every change is kept as a `Review` row.
"""

from __future__ import annotations

import re

from ocr.doctypes import load_doctypes
from pipeline.models import Review
from storage import states
from storage.catalog import AuditEvent, Document

FIELDS = ("number", "issued_on", "issuer", "subject_name", "subject_id", "title", "summary",
          "issuer_parent")
MAX_VALUE = 2_000  # characters in one typed field
# control characters other than tab and line breaks (a NUL also fails deep in PostgreSQL)
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


class CorrectionsError(ValueError):
    """What was sent as corrections is not {"document_type": str, "fields": {name: str}}."""


def checked(value: object) -> dict:
    """Corrections as sent (parsed JSON) made safe to keep: {"document_type": str | None,
    "fields": {known field: str | None}}. Unknown field names are dropped (an older or newer
    station may know others); a value that is not text, too long or holding control characters
    raises `CorrectionsError` naming the field."""
    if not isinstance(value, dict):
        raise CorrectionsError('expected {"document_type": …, "fields": {…}}')
    doc_type, fields = value.get("document_type"), value.get("fields") or {}
    if doc_type is not None and not (isinstance(doc_type, str) and doc_type.isidentifier()):
        raise CorrectionsError("document_type must be a document type's name")
    if not isinstance(fields, dict):
        raise CorrectionsError('fields: expected {"name": "value", …}')
    kept = {}
    for name, text in fields.items():
        if name not in FIELDS:
            continue
        if text is not None and not isinstance(text, str):
            raise CorrectionsError(f"fields.{name}: expected text or null")
        if text and len(text) > MAX_VALUE:
            raise CorrectionsError(f"fields.{name}: longer than {MAX_VALUE} characters")
        if text and _CONTROL.search(text):
            raise CorrectionsError(f"fields.{name}: contains a control character")
        kept[name] = text
    return {"document_type": doc_type, "fields": kept}


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
