"""The pipeline stages. Each takes a document id, reads what the previous stage stored, writes
its own output, then advances the document's state. A stage whose work is already done returns
without doing it again, so redelivered or repeated calls never duplicate objects or rows.
Nothing is marked done before its bytes are stored and their checksum verified.
"""

from __future__ import annotations

import hashlib
import logging
import shutil
import tempfile
from datetime import date
from pathlib import Path

from sqlalchemy import select

from pipeline import states
from pipeline.runtime import Runtime
from storage.catalog import AuditEvent, Document, Page, Procedure, Result, utcnow
from storage.objects import CHUNK
from storage.units import UnknownUnit, find_unit

log = logging.getLogger(__name__)


def object_prefix(doc: Document) -> str:
    unit = doc.unit
    return f"{unit.province_code}/{unit.code}/{doc.created_at:%Y}/{doc.id}"


def _advance(doc: Document, new_state: str) -> None:
    states.check_transition(doc.state, new_state)
    doc.state = new_state


def _store_verified(rt: Runtime, prefix: str, name: str, data: bytes | Path, content_type: str):
    """Store bytes or a file under a key carrying the content hash, so two racing runs of one
    stage never overwrite each other's bytes: the catalog always points at what it verified."""
    if isinstance(data, Path):
        from storage.objects import sha256_file

        sha, size = sha256_file(data), data.stat().st_size
    else:
        sha, size = hashlib.sha256(data).hexdigest(), len(data)
    stem, _, ext = name.rpartition(".")
    key = f"{prefix}/{stem}-{sha[:16]}.{ext}"
    if isinstance(data, Path):
        stored = rt.objects.put_file(key, data, content_type)
    else:
        stored = rt.objects.put_bytes(key, data, content_type)
    check = rt.objects.stat(key)
    if stored.sha256 != sha or check is None or check.sha256 != sha or check.size != size:
        raise OSError(f"object {key}: stored copy does not match what was written")
    return key, stored.sha256


def _fetch_to(rt: Runtime, key: str, target: Path) -> None:
    with rt.objects.open(key) as stream, open(target, "wb") as out:
        shutil.copyfileobj(stream, out, CHUNK)


def ocr_stage(rt: Runtime, doc_id: str, *, workers: int | None = None) -> None:
    """Recognize the original into a searchable PDF/A. Pages stream from the file through
    Tesseract into a spool on disk: about `workers` page images are in memory at a time,
    whatever the page count (a bad file is refused before any page is decoded)."""
    from ocr.engine import iter_recognize
    from ocr.pages import iter_pages
    from ocr.pdf import PageSpool

    with rt.session() as session:
        doc = session.get(Document, doc_id)
        if doc.state != states.RECEIVED:
            return
        original_key, source_name = doc.original_key, doc.source_name
        prefix = object_prefix(doc)

    settings = rt.settings
    with tempfile.TemporaryDirectory(prefix="sohoa-ocr-") as tmp:
        local = Path(tmp) / "original" / Path(source_name).name
        local.parent.mkdir()
        _fetch_to(rt, original_key, local)
        pages = iter_pages(local, max_pixels=settings.max_image_pixels,
                           max_side=settings.max_image_side)
        try:
            with PageSpool(Path(tmp) / "pages") as spool:
                # results keep text and words; their page PDFs wait on disk in the spool
                results = [spool.add(r) for r in iter_recognize(
                    pages, lang=settings.ocr_lang, workers=workers or settings.ocr_workers)]
                pdf = spool.write(Path(tmp) / "searchable.pdf", title=source_name,
                                  author=None, subject=None)
        finally:
            pages.close()
        pdf_key, pdf_sha = _store_verified(rt, prefix, "searchable.pdf", pdf, "application/pdf")

    with rt.session() as session:
        # Row lock: two racing runs (a redelivered message) commit one after the other, and
        # the second sees the state the first wrote.
        doc = session.get(Document, doc_id, with_for_update=True)
        if doc.state != states.RECEIVED:
            return
        doc.pages.clear()
        session.flush()
        for result in results:
            doc.pages.append(Page(
                index=result.index, width=result.width, height=result.height, dpi=result.dpi,
                confidence=result.confidence, blank=getattr(result, "blank", False),
                rotation=getattr(result, "rotation", 0),
                words=[[w.text, round(w.conf, 3), w.left, w.top, w.width, w.height]
                       for w in result.words],
            ))
        doc.page_count = len(results)
        doc.ocr_text = "\f".join(r.text for r in results)
        confidences = [r.confidence for r in results if r.words]
        doc.ocr_confidence = sum(confidences) / len(confidences) if confidences else 0.0
        doc.pdf_key, doc.pdf_sha256 = pdf_key, pdf_sha
        _advance(doc, states.OCR_DONE)


def _issue_date(fields: dict) -> date | None:
    try:
        return date.fromisoformat(fields["issued_on"]) if fields.get("issued_on") else None
    except ValueError:
        return None


def _consult_model(rt: Runtime, doc: Document) -> None:
    """Rules first; the model trained on reviewed documents decides only where it is surer."""
    from pipeline.doctype_model import predict

    guess = predict(rt, doc.ocr_text or "")
    if guess is None or guess[1] <= (doc.type_confidence or 0.0):
        return
    doc.field_confidence = {**(doc.field_confidence or {}), "model": guess[1]}
    fields_limit = doc.confidence if (doc.confidence or 0) < (doc.type_confidence or 0) else 1.0
    doc.document_type, doc.type_confidence = guess
    doc.confidence = min(guess[1], fields_limit)


def classify_stage(rt: Runtime, doc_id: str) -> None:
    from ocr.classify import classify_document

    with rt.session() as session:
        doc = session.get(Document, doc_id, with_for_update=True)
        if doc.state != states.OCR_DONE:
            return
        found = classify_document(doc.ocr_text or "", [p.words or [] for p in doc.pages])
        doc.document_type = found.document_type
        doc.type_confidence = found.type_confidence
        doc.fields = {k: v for k, v in found.fields.items()}
        if found.crops:  # stored evidence: where the person reviewing looks (ocr/crops.py)
            doc.fields["crops"] = found.crops
        doc.field_confidence = dict(found.field_confidence)
        doc.confidence = found.confidence
        _consult_model(rt, doc)
        # A result stays under the unit that carried the code when it was issued.
        issued = _issue_date(doc.fields)
        if issued is not None:
            try:
                doc.unit = find_unit(session, doc.unit.code, issued)
            except UnknownUnit as exc:
                log.warning("document %s: %s; keeping unit %s", doc_id, exc, doc.unit_id)
        low = doc.confidence < rt.settings.review_threshold
        _advance(doc, states.NEEDS_REVIEW if low else states.CLASSIFIED)
        if doc.pending_corrections:  # typed at the counter before recognition finished
            from pipeline.review import correct_in_session

            correct_in_session(session, doc, doc.pending_corrections,
                               actor=doc.pending_corrections.get("actor", "station"),
                               threshold=rt.settings.review_threshold)
            doc.pending_corrections = None


def _ensure_procedure(session, code: str | None) -> None:
    if code and session.get(Procedure, code) is None:
        session.add(Procedure(code=code, name=f"Thủ tục {code}"))
        session.flush()


def seal_for(rt: Runtime, doc: Document):
    """What the visible signature shows (Decree 30) and the QR code carries (Circular 01/2023).

    The QR code needs the dossier and procedure codes; without a dossier code only the visible
    signature text is drawn."""
    from ocr.doctypes import load_doctypes
    from signing.seal import SealInfo

    doctype = load_doctypes().get(doc.document_type or "")
    fields = doc.fields or {}
    procedure = doc.procedure_code or (doctype.procedures[0] if doctype and doctype.procedures
                                       else None)
    name = doctype.name_vi if doctype else "Kết quả giải quyết thủ tục hành chính"
    if fields.get("number"):
        name = f"{name} số {fields['number']}"
    return SealInfo(
        agency_name=doc.unit.name.upper() if doc.unit.level == "commune" else doc.unit.name,
        dossier_code=doc.dossier_code, procedure_code=procedure,
        applicant_id=fields.get("subject_id"), document_name=name,
        issuing_system=rt.settings.issuing_system, issued_at=fields.get("issued_on"),
        verify_url=f"{rt.settings.public_url.rstrip('/')}/v1/results/{doc.id}/verification",
        qr=bool(doc.dossier_code and procedure),
    )


def _archive_state(signer, signed: Path):
    """(signature_level, archive_expires_at) of the just-signed local file, recorded with the
    document so `sohoa signatures status/refresh` need not read it back from the object store.
    A B-B signature has no timestamp to look at; an unreadable file leaves both unknown (NULL:
    `sohoa signatures status` inspects it once later)."""
    from signing.archive import catalog_values, inspect_file

    if signer.level == "B-B":
        return "B-B", None
    try:
        return catalog_values(inspect_file(signed))
    except ValueError as exc:
        log.warning("%s: archive state not recorded: %s", signed.name, exc)
        return None, None


def sign_stage(rt: Runtime, doc_id: str) -> None:
    with rt.session() as session:
        doc = session.get(Document, doc_id)
        if doc.state != states.CLASSIFIED:
            return
        pdf_key, unit_code, unit_name = doc.pdf_key, doc.unit.code, doc.unit.name
        prefix = object_prefix(doc)
        fields = dict(doc.fields or {})
        seal = seal_for(rt, doc)

    signer = rt.signers.for_unit(unit_code, unit_name)
    with tempfile.TemporaryDirectory(prefix="sohoa-sign-") as tmp:  # streamed, never whole
        unsigned, signed = Path(tmp) / "searchable.pdf", Path(tmp) / "signed.pdf"
        _fetch_to(rt, pdf_key, unsigned)
        signer.sign_file(unsigned, signed, reason="Bản sao điện tử từ bản chính",
                         location=unit_name, signer_name=unit_name, seal=seal)
        level, expires = _archive_state(signer, signed)
        signed_key, signed_sha = _store_verified(rt, prefix, "signed.pdf", signed,
                                                 "application/pdf")

    with rt.session() as session:
        doc = session.get(Document, doc_id, with_for_update=True)
        if doc.state != states.CLASSIFIED:
            return
        _ensure_procedure(session, doc.procedure_code)
        result = doc.result or Result(
            dossier_code=doc.dossier_code, procedure_code=doc.procedure_code, unit=doc.unit)
        result.unit = doc.unit
        result.document_type = doc.document_type
        result.document_number = fields.get("number")
        result.issued_on = _issue_date(fields)
        result.issuer = fields.get("issuer")
        result.subject_name = fields.get("subject_name")
        result.subject_id = fields.get("subject_id")
        doc.result = result
        doc.signed_key, doc.signed_sha256 = signed_key, signed_sha
        doc.signature_level, doc.archive_expires_at = level, expires
        doc.stored_at = utcnow()
        _advance(doc, states.STORED)
        session.add(AuditEvent(actor="pipeline", action="stored", document_id=doc.id,
                               detail={"signed_sha256": signed_sha, "signer": signer.subject_cn}))


STAGES = {"ocr": ocr_stage, "classify": classify_stage, "sign": sign_stage}


def mark_failed(rt: Runtime, doc_id: str, stage: str, reason: str) -> None:
    with rt.session() as session:
        doc = session.get(Document, doc_id, with_for_update=True)
        if doc is None or doc.state in (states.STORED, states.FAILED):
            return
        doc.state, doc.failed_stage, doc.error = states.FAILED, stage, reason
        session.add(AuditEvent(actor="pipeline", action="failed", document_id=doc_id,
                               detail={"stage": stage, "reason": reason}))


def documents_in(rt: Runtime, state: str) -> list[str]:
    with rt.session() as session:
        return list(session.scalars(select(Document.id).where(Document.state == state)))
