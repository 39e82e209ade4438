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
