"""The pipeline stages: each one description (`Stage`) and the function it runs.

A stage takes a document id, reads what the previous stage stored, writes its own output, then
advances the document's state. A stage whose work is already done returns without doing it
again, so redelivered or repeated calls never duplicate objects or rows. Nothing is marked done
before its bytes are stored and their checksum verified.

Everything else reads the descriptions in `STAGES`: the drivers (`pipeline.driver`), the
actors and their queues (`pipeline.actors`), the sweeper, `failed retry` and the state machine
(`pipeline.states`). Adding a stage = its function + one `Stage(...)` line below.
"""

from __future__ import annotations

import logging
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from ocr.classify import classify_document
from ocr.doctypes import load_doctypes
from ocr.engine import iter_recognize
from ocr.limits import Limits
from ocr.pages import iter_pages
from ocr.pdf import PageSpool
from pipeline.context import Context
from pipeline.corrections import correct_in_session
from pipeline.doctype_model import predict
from pipeline.errors import InvalidTransition, PermanentError
from pipeline.outputs import fetch_to, object_prefix, store_verified
from pipeline.placement import seal_layout
from pipeline.tempdirs import temp_prefix
from signing.archive import catalog_values, inspect_file
from signing.seal import SealInfo
from storage import states
from storage.agencies import Agency, UnknownAgency, agency_for_dossier, find_agency, match_issuer
from storage.catalog import AuditEvent, Document, Page, Procedure, utcnow
from storage.records import FilingDefaults, file_document
from storage.result_link import link_scanned
from storage.units import UnknownUnit, find_unit

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Stage:
    """One pipeline stage: what it is called, the state it starts from, the states it may leave
    the document in, the queue its messages go to, the object it writes (file stem and the
    document column pointing at it, for orphan clean-up) and the function that runs it:
    `run(ctx, document_id, *, workers=None)` (`workers`: CPU parallelism it may use)."""
    name: str
    input_state: str
    output_states: tuple[str, ...]
    queue: str
    run: Callable[..., None]
    output: tuple[str, str] | None = None  # ("signed-", "signed_key")

    @property
    def actor_name(self) -> str:
        return f"sohoa_{self.name}"


def _advance(doc: Document, new_state: str) -> None:
    stage = BY_INPUT_STATE.get(doc.state)
    if stage is None or new_state not in stage.output_states:
        raise InvalidTransition(f"document cannot go from {doc.state} to {new_state}")
    doc.state = new_state


def ocr_stage(rt: Context, doc_id: str, *, workers: int | None = None) -> None:
    """Recognize the original into a searchable PDF/A. Pages stream from the file through
    Tesseract into a spool on disk: about `workers` page images are in memory at a time,
    whatever the page count (a bad file is refused before any page is decoded)."""
    with rt.session() as session:
        doc = session.get(Document, doc_id)
        if doc.state != states.RECEIVED:
            return
        original_key, source_name = doc.original_key, doc.source_name
        source_sha = doc.source_sha256
        prefix = object_prefix(doc)
    if original_key is None:  # its submitter was killed between the catalog row and the bytes
        raise PermanentError(f"{source_name}: the original was never stored (its submission was "
                             f"interrupted); submit the file again")

    settings = rt.settings
    with tempfile.TemporaryDirectory(prefix=temp_prefix("ocr")) as tmp:
        local = Path(tmp) / "original" / Path(source_name).name
        local.parent.mkdir()
        fetch_to(rt.objects, original_key, local, doc_id=doc_id, expected=source_sha)
        limits = Limits(
            max_pages=settings.max_pages, max_pixels=settings.max_image_pixels,
            max_side=settings.max_image_side, max_stream_bytes=settings.max_stream_mb << 20,
            render_seconds=settings.render_seconds,
            render_memory_mb=settings.render_memory_mb,
            decode_memory_mb=settings.decode_memory_mb, stored_scans=settings.pdf_stored_scans)
        # rt.ocr_cache: pages already read (a batch reads its stack while splitting it); a
        # page found there by its stored bytes is not even decoded
        cache = getattr(rt, "ocr_cache", None)
        pages = iter_pages(local, limits=limits,
                           known=cache.finder(settings.ocr_lang) if cache else None)
        try:
            with PageSpool(Path(tmp) / "pages") as spool:
                # results keep text and words; their page PDFs wait on disk in the spool
                results = [spool.add(r) for r in iter_recognize(
                    pages, lang=settings.ocr_lang, workers=workers or settings.ocr_workers,
                    cache=cache)]
                pdf = spool.write(Path(tmp) / "searchable.pdf", title=source_name,
                                  author=None, subject=None)
        finally:
            pages.close()
        pdf_key, pdf_sha = store_verified(rt.objects, prefix, "searchable.pdf", pdf, "application/pdf")

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
                confidence=result.confidence, blank=result.blank, rotation=result.rotation,
                words=[[w.text, round(w.conf, 3), w.left, w.top, w.width, w.height]
                       for w in result.words],
            ))
        doc.page_count = len(results)
        # the handwritten blanks read twice (ocr.handwritten), for the classify stage
        readings = {str(r.index): r.extra["slots"] for r in results if r.extra.get("slots")}
        if readings:
            doc.fields = {**(doc.fields or {}), "readings": readings}
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


def _consult_model(rt: Context, doc: Document) -> None:
    """Rules first; the model trained on reviewed documents decides only where it is surer."""
    guess = predict(rt, doc.ocr_text or "")
    if guess is None or guess[1] <= (doc.type_confidence or 0.0):
        return
    doc.field_confidence = {**(doc.field_confidence or {}), "model": guess[1]}
    fields_limit = doc.confidence if (doc.confidence or 0) < (doc.type_confidence or 0) else 1.0
    doc.document_type, doc.type_confidence = guess
    doc.confidence = min(guess[1], fields_limit)


def classify_stage(rt: Context, doc_id: str, *, workers: int | None = None) -> None:

    with rt.session() as session:
        doc = session.get(Document, doc_id, with_for_update=True)
        if doc.state != states.OCR_DONE:
            return
        readings = (doc.fields or {}).get("readings")
        found = classify_document(doc.ocr_text or "", [p.words or [] for p in doc.pages],
                                  readings=readings)
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
            correct_in_session(session, doc, doc.pending_corrections,
                               actor=doc.pending_corrections.get("actor", "station"),
                               threshold=rt.settings.review_threshold)
            doc.pending_corrections = None


def _ensure_procedure(session, code: str | None) -> None:
    if code and session.get(Procedure, code) is None:
        session.add(Procedure(code=code, name=f"Thủ tục {code}"))
        session.flush()


class NoSuchAgency(PermanentError):
    """The agency configured for this counter is not in the catalog: retrying will not help."""


def copy_agency(rt: Context, session, doc: Document):
    """The agency that makes this copy: the one already recorded, else the one the dossier
    code names (its prefix), else this counter's (SOHOA_AGENCY); None: the unit signs."""
    if doc.agency_id is not None:
        return session.get(Agency, doc.agency_id)
    agency = agency_for_dossier(session, doc.dossier_code)
    if agency is None and rt.settings.agency:
        try:
            agency = find_agency(session, rt.settings.agency)
        except UnknownAgency as exc:
            raise NoSuchAgency(f"SOHOA_AGENCY={rt.settings.agency}: {exc}") from None
    return agency


def seal_for(rt: Context, doc: Document, agency=None):
    """What the visible signature shows (Decree 30) and the QR code carries (Circular 01/2023).

    The seal names the agency that makes the copy (else the unit). The QR code needs the
    dossier and procedure codes; without a dossier code only the visible signature text is
    drawn."""
    doctype = load_doctypes().get(doc.document_type or "")
    fields = doc.fields or {}
    procedure = doc.procedure_code or (doctype.procedures[0] if doctype and doctype.procedures
                                       else None)
    name = doctype.name_vi if doctype else "Kết quả giải quyết thủ tục hành chính"
    if fields.get("number"):
        name = f"{name} số {fields['number']}"
    if agency is not None:
        agency_name, agency_code = agency.name, agency.code
    else:
        agency_name = doc.unit.name.upper() if doc.unit.level == "commune" else doc.unit.name
        agency_code = None
    return SealInfo(
        agency_name=agency_name, agency_code=agency_code,
        dossier_code=doc.dossier_code, procedure_code=procedure,
        applicant_id=fields.get("subject_id"), document_name=name,
        issuing_system=rt.settings.issuing_system, issued_at=fields.get("issued_on"),
        verify_url=f"{rt.settings.public_url.rstrip('/')}/v1/results/{doc.id}/verification",
        qr=bool(doc.dossier_code and procedure),
    )


def _placed(seal, pdf: Path, words, size_px):
    """``seal`` with its layout found on page 1 of ``pdf`` (free space from the page image and
    the stored word boxes; a margin strip if there is none). The signing time stays unset: it
    is taken when signing, after any revocation check (B-LT needs answers older than it)."""
    import dataclasses

    return dataclasses.replace(seal, layout=seal_layout(pdf, seal, words=words,
                                                        page_size_px=size_px))


def _issuing_agency(session, fields: dict, unit_id: int, copy_agency_id: int | None):
    """The result's issuing agency: the one whose name the header (`issuer`) ends with, among
    the agencies of the result's unit, else any; else the agency that made the copy."""
    issued = _issue_date(fields)
    found = (match_issuer(session, fields.get("issuer"), issued, [unit_id])
             or match_issuer(session, fields.get("issuer"), issued))
    return found.id if found is not None else copy_agency_id


def _archive_state(signer, signed: Path):
    """(signature_level, archive_expires_at) of the just-signed local file, recorded with the
    document so `sohoa signatures status/refresh` need not read it back from the object store.
    A B-B signature has no timestamp to look at; an unreadable file leaves both unknown (NULL:
    `sohoa signatures status` inspects it once later)."""
    if signer.level == "B-B":
        return "B-B", None
    try:
        return catalog_values(inspect_file(signed))
    except ValueError as exc:
        log.warning("%s: archive state not recorded: %s", signed.name, exc)
        return None, None


def filing_defaults(document_type: str | None) -> FilingDefaults:
    """The archive defaults (retention, access) of a document type, for the record it joins."""
    types = load_doctypes()
    doctype = types.get(document_type or "") or types["khac"]
    return FilingDefaults(retention_years=doctype.retention_years, access_level=doctype.access,
                          type_name=doctype.name_vi)


def sign_stage(rt: Context, doc_id: str, *, workers: int | None = None) -> None:
    with rt.session() as session:
        doc = session.get(Document, doc_id)
        if doc.state != states.CLASSIFIED:
            return
        pdf_key, unit_code, unit_name = doc.pdf_key, doc.unit.code, doc.unit.name
        pdf_sha = doc.pdf_sha256
        prefix = object_prefix(doc)
        fields = dict(doc.fields or {})
        agency = copy_agency(rt, session, doc)
        agency_id = agency.id if agency else None
        key_args = (agency.code, agency.name, agency.signing_key) if agency else None
        seal = seal_for(rt, doc, agency)
        # the searchable PDF leaves blank pages out: its page 1 is the first non-blank page
        first = next((p for p in sorted(doc.pages, key=lambda p: p.index) if not p.blank), None)
        words, size_px = (first.words, (first.width, first.height)) if first else (None, None)

    if key_args is not None:
        signer = rt.signers.for_agency(key_args[0], key_args[1], unit_code=unit_code,
                                       unit_name=unit_name, key_spec=key_args[2])
    else:
        signer = rt.signers.for_unit(unit_code, unit_name)
    with tempfile.TemporaryDirectory(prefix=temp_prefix("sign")) as tmp:  # streamed
        unsigned, signed = Path(tmp) / "searchable.pdf", Path(tmp) / "signed.pdf"
        fetch_to(rt.objects, pdf_key, unsigned, doc_id=doc_id, expected=pdf_sha)
        seal = _placed(seal, unsigned, words, size_px)
        signer.sign_file(unsigned, signed, reason="Bản sao điện tử từ bản chính",
                         location=unit_name, signer_name=seal.agency_name, seal=seal)
        level, expires = _archive_state(signer, signed)
        signed_key, signed_sha = store_verified(rt.objects, prefix, "signed.pdf", signed,
                                                 "application/pdf")

    with rt.session() as session:
        doc = session.get(Document, doc_id, with_for_update=True)
        if doc.state != states.CLASSIFIED:
            return
        _ensure_procedure(session, doc.procedure_code)
        result = link_scanned(session, doc, fields, _issue_date(fields))  # registered, or new
        if result.agency_id is None or not result.registered:  # a registered agency stays
            result.agency_id = _issuing_agency(session, fields, doc.unit_id, agency_id)
        doc.signed_key, doc.signed_sha256 = signed_key, signed_sha
        doc.signature_level, doc.archive_expires_at = level, expires
        doc.agency_id = agency_id
        doc.stored_at = utcnow()
        file_document(session, doc, result, filing_defaults(doc.document_type))
        _advance(doc, states.STORED)
        session.add(AuditEvent(actor="pipeline", action="stored", document_id=doc.id,
                               detail={"signed_sha256": signed_sha, "signer": signer.subject_cn,
                                       "agency": seal.agency_code}))


STAGES: dict[str, Stage] = {stage.name: stage for stage in (
    Stage("ocr", states.RECEIVED, (states.OCR_DONE,), "sohoa-ocr", ocr_stage,
          output=("searchable-", "pdf_key")),
    Stage("classify", states.OCR_DONE, (states.CLASSIFIED, states.NEEDS_REVIEW), "sohoa-classify",
          classify_stage),
    Stage("sign", states.CLASSIFIED, (states.STORED,), "sohoa-sign", sign_stage,
          output=("signed-", "signed_key")),
)}
# The stage that moves a document out of each state (states no stage leaves are settled).
BY_INPUT_STATE: dict[str, Stage] = {stage.input_state: stage for stage in STAGES.values()}


def next_stage(state: str) -> Stage | None:
    """The stage that moves a document on from `state`, or None (needs_review, stored, failed)."""
    return BY_INPUT_STATE.get(state)
