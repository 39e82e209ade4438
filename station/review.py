"""Staff corrections in the embedded pipeline: a person's confirmation of type and fields.

The document runs OCR and classification as usual; then the station's corrections replace the
recognized values (confidence 1.0 for what a person typed or confirmed), an audit event records
which fields changed, and a `needs_review` document whose confidence is now high enough moves on
to `classified` (the person-confirms transition of pipeline.states) and is signed and stored.
"""

from __future__ import annotations

from pipeline import states
from pipeline.inline import process_document
from pipeline.runtime import Runtime
from storage.catalog import AuditEvent, Document

EDITABLE = ("number", "issued_on", "issuer", "subject_name", "subject_id", "title", "summary")


def apply_corrections(rt: Runtime, doc_id: str, corrections: dict, *, actor: str = "station") -> str:
    """Write corrections onto a classified / needs-review document; returns its new state."""
    from ocr.doctypes import load_doctypes

    fields_in = {k: (v.strip() if isinstance(v, str) else v)
                 for k, v in (corrections.get("fields") or {}).items() if k in EDITABLE}
    new_type = corrections.get("document_type")
    with rt.session() as session:
        doc = session.get(Document, doc_id, with_for_update=True)
        if doc.state not in (states.CLASSIFIED, states.NEEDS_REVIEW):
            return doc.state
        fields = dict(doc.fields or {})
        conf = dict(doc.field_confidence or {})
        changed = sorted(k for k, v in fields_in.items() if fields.get(k) != (v or None))
        for key, value in fields_in.items():
            fields[key] = value or None
            conf[key] = 1.0 if value else 0.0
        types = load_doctypes()
        if new_type and new_type in types:
            if new_type != doc.document_type:
                changed.append("document_type")
            doc.document_type = new_type
            doc.type_confidence = 1.0
        dtype = types.get(doc.document_type)
        required = list(dtype.required) if dtype else []
        doc.fields, doc.field_confidence = fields, conf
        doc.confidence = min([doc.type_confidence or 0.0]
                             + [conf.get(f, 0.0) if fields.get(f) else 0.0 for f in required])
        if doc.state == states.NEEDS_REVIEW and doc.confidence >= rt.settings.review_threshold:
            states.check_transition(doc.state, states.CLASSIFIED)
            doc.state = states.CLASSIFIED
        session.add(AuditEvent(actor=actor, action="corrected", document_id=doc_id,
                               detail={"fields": changed, "confidence": round(doc.confidence, 3),
                                       "state": doc.state}))
        return doc.state


def process_with_corrections(rt: Runtime, doc_id: str, corrections: dict | None,
                             *, actor: str = "station") -> str:
    """OCR and classify, apply the staff's corrections, then sign and store when confident."""
    with rt.session() as session:
        state = session.get(Document, doc_id).state
    if state in (states.RECEIVED, states.OCR_DONE):
        _run_until_classified(rt, doc_id)
    if corrections:
        apply_corrections(rt, doc_id, corrections, actor=actor)
    return process_document(rt, doc_id)


def _run_until_classified(rt: Runtime, doc_id: str) -> None:
    from pipeline.errors import describe, is_permanent
    from pipeline.ingest import quarantine
    from pipeline.stages import STAGES, mark_failed

    while True:
        with rt.session() as session:
            state = session.get(Document, doc_id).state
        if state not in (states.RECEIVED, states.OCR_DONE):
            return
        stage = states.NEXT_STAGE[state]
        try:
            STAGES[stage](rt, doc_id)
        except Exception as exc:  # noqa: BLE001 - recorded like pipeline.inline does
            mark_failed(rt, doc_id, stage, describe(exc))
            if is_permanent(exc):
                quarantine(rt, doc_id)
            return
