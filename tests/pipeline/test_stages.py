"""The classify stage reads the page words the OCR stage stored: a field read from doubtful
words holds the document for review."""

from __future__ import annotations

from pipeline import states
from pipeline.ingest import ingest_file
from pipeline.inline import process_document
from pipeline.stages import classify_stage
from storage.catalog import Document


def test_doubtful_words_of_a_field_send_the_document_to_review(runtime, decision_png):
    rt = runtime
    doc_id = ingest_file(rt, decision_png, unit_code="00004").document_id
    assert process_document(rt, doc_id, stop_before="classify") == states.OCR_DONE

    classify_stage(rt, doc_id)  # the clean scan, as read
    with rt.session() as s:
        doc = s.get(Document, doc_id)
        assert doc.state == states.CLASSIFIED, doc.field_confidence
        assert doc.fields["subject_id"] == "001085012345"
        # as if Tesseract had hesitated over the ID number's digits
        page = doc.pages[0]
        page.words = [[w[0], 0.2 if w[0].startswith("001085012345") else w[1], *w[2:]]
                      for w in page.words]
        doc.state = states.OCR_DONE

    classify_stage(rt, doc_id)
    with rt.session() as s:
        doc = s.get(Document, doc_id)
        assert doc.state == states.NEEDS_REVIEW
        assert doc.fields["subject_id"] == "001085012345"
        assert doc.field_confidence["subject_id"] < rt.settings.review_threshold


def test_a_swapped_original_fails_the_document_before_any_work(runtime, decision_png, tmp_path):
    """Another scan put under this document's original key (its own checksum metadata matching
    it): the OCR stage checks the catalog's sha256 and fails the document, naming it."""
    rt = runtime
    doc_id = ingest_file(rt, decision_png, unit_code="00004").document_id
    with rt.session() as s:
        key = s.get(Document, doc_id).original_key
    other = tmp_path / "other.png"
    other.write_bytes(decision_png.read_bytes() + b"\0another scan")
    rt.objects.put_file(key, other, "image/png")

    assert process_document(rt, doc_id) == states.FAILED
    with rt.session() as s:
        doc = s.get(Document, doc_id)
        assert doc.failed_stage == "ocr" and doc_id in doc.error
        assert "catalog's sha256" in doc.error and doc.pdf_key is None
