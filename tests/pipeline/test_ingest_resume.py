"""A submission killed between the catalog row and the original's bytes (SIGKILL: no cleanup
runs) leaves a document without an original. Submitting the file again adopts that row and
stores the original under it — also after a worker gave up on it for want of its original —
instead of answering `duplicate` for a document no worker can ever read."""

from __future__ import annotations

from pipeline import states
from pipeline.dispatch import InlineDispatcher
from pipeline.driver import process_document
from pipeline.ingest import ingest_file
from pipeline.submission import submit
from storage.catalog import Document


def _killed_mid_ingest(rt, path) -> str:
    accepted = ingest_file(rt, path, unit_code="00004")
    with rt.session() as session:  # what a SIGKILL before the upload leaves behind
        doc = session.get(Document, accepted.document_id)
        key, doc.original_key = doc.original_key, None
    rt.objects.delete(key)
    return accepted.document_id


def test_a_resubmission_adopts_the_row_and_stores_the_original(runtime, decision_png):
    doc_id = _killed_mid_ingest(runtime, decision_png)
    [record] = submit(runtime, InlineDispatcher(runtime), [decision_png], unit_code="00004")
    assert record["document_id"] == doc_id and record["status"] == states.STORED, record
    with runtime.session() as session:
        doc = session.get(Document, doc_id)
        assert doc.original_key and runtime.objects.stat(doc.original_key) is not None


def test_a_worker_fails_it_with_the_reason_and_a_resubmission_revives_it(runtime,
                                                                         decision_png):
    doc_id = _killed_mid_ingest(runtime, decision_png)
    assert process_document(runtime, doc_id) == states.FAILED
    with runtime.session() as session:
        doc = session.get(Document, doc_id)
        assert doc.failed_stage == "ocr" and doc.attempts <= 1
        assert doc.error == ("quyet-dinh.png: the original was never stored (its submission "
                             "was interrupted); submit the file again")
    again = ingest_file(runtime, decision_png, unit_code="00004")
    assert (again.document_id, again.duplicate) == (doc_id, False)
    assert process_document(runtime, doc_id) == states.STORED
    # and from then on the same bytes are a plain duplicate
    assert ingest_file(runtime, decision_png, unit_code="00004").duplicate


def test_a_live_ingest_is_left_alone_a_dead_one_is_adopted(runtime, decision_png):
    import subprocess
    from datetime import timedelta

    from pipeline import ingest
    from storage.catalog import utcnow

    doc_id = _killed_mid_ingest(runtime, decision_png)
    gone = subprocess.Popen(["true"])
    gone.wait()
    for owner, adopted in ((ingest._ingest_owner(), False),  # this process: still uploading
                           (f"ingest:{ingest.socket.gethostname()}:{gone.pid}", True)):
        with runtime.session() as session:
            doc = session.get(Document, doc_id)
            doc.lease_owner, doc.lease_until = owner, utcnow() + timedelta(minutes=5)
        again = ingest_file(runtime, decision_png, unit_code="00004")
        assert (again.document_id, again.duplicate) == (doc_id, not adopted)
    with runtime.session() as session:
        doc = session.get(Document, doc_id)
        assert doc.original_key and doc.lease_owner is None
