"""Ingest over HTTP: the real pipeline runs (Tesseract), duplicates return the same id."""

from __future__ import annotations

import time

from tests.pipeline.conftest import DECISION, render_decision

# The pipeline's sample decision with its own number, person and subject, so this document
# (it joins the shared catalog) never matches the searches of the other API tests.
LINES = [
    (left.replace("125/QĐ-UBND", "931/QĐ-UBND")
     .replace("Về việc công nhận tổ hòa giải ở cơ sở", "Về việc công nhận tổ dân phố văn hóa")
     .replace("Nguyễn Văn Hùng", "Đỗ Thị Mai").replace("001085012345", "001085099999")
     .replace("tổ hòa giải", "tổ dân phố"), right)
    for left, right in DECISION
]


def _wait(http, catalog, doc_id: str, timeout: float = 180) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status = http.get(f"/v1/ingest/{doc_id}", headers=catalog.auth("station")).json()
        if status["state"] in ("stored", "needs_review", "failed"):
            return status
        time.sleep(0.5)
    raise AssertionError(f"document {doc_id} still {status['state']} after {timeout}s")


def test_ingest_is_idempotent_and_runs_the_pipeline(catalog, tmp_path):
    http = catalog.client()
    scan = render_decision(tmp_path / f"scan-{catalog.kind}.png", dpi=200, lines=LINES).read_bytes()
    form = {"unit": "00004", "procedure": "1.001193", "dossier": f"H01.API.{catalog.kind}"}
    first = http.post("/v1/ingest", data=form, files={"file": ("quyet-dinh.png", scan, "image/png")},
                      headers=catalog.auth("station"))
    assert first.status_code == 202, first.text
    doc_id = first.json()["document_id"]
    assert first.json()["duplicate"] is False
    assert first.headers["location"] == first.json()["status_url"] == f"/v1/ingest/{doc_id}"

    again = http.post("/v1/ingest", data=form, files={"file": ("other-name.png", scan)},
                      headers=catalog.auth("station"))
    assert again.status_code == 200 and again.json()["document_id"] == doc_id
    assert again.json()["duplicate"] is True

    status = _wait(http, catalog, doc_id)
    assert status["state"] in ("stored", "needs_review"), status
    if status["state"] == "stored":
        result = http.get(status["result_url"], headers=catalog.auth("admin")).json()
        assert result["dossier_code"] == form["dossier"]
        assert result["signature"]["signed"] is True
        pdf = http.get(f"{status['result_url']}/pdf", headers=catalog.auth("admin"))
        assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF-")
    # other clients' documents are invisible; unknown ids are 404
    assert http.get("/v1/ingest/" + "f" * 32, headers=catalog.auth("station")).status_code == 404


def test_ingest_refuses_bad_input(catalog):
    http, auth = catalog.client(), catalog.auth("station")
    junk = http.post("/v1/ingest", data={"unit": "00004"}, files={"file": ("x.png", b"not an image")},
                     headers=auth)
    assert junk.status_code == 415 and "x.png" in junk.json()["detail"]
    elsewhere = http.post("/v1/ingest", data={"unit": "760"},
                          files={"file": ("x.pdf", b"%PDF-1.4 x")}, headers=auth)
    assert elsewhere.status_code == 403
    unknown = http.post("/v1/ingest", data={"unit": "99999"},
                        files={"file": ("x.pdf", b"%PDF-1.4 x")}, headers=auth)
    assert unknown.status_code == 422 and "99999" in unknown.json()["detail"]
    missing = http.post("/v1/ingest", data={"unit": "00004"}, headers=auth)
    assert missing.status_code == 422
    assert missing.headers["content-type"].startswith("application/problem+json")
    # a NUL byte (schemathesis found it): PostgreSQL refuses it in a text field, so it must
    # be a 422 before any query, on every catalog
    for field, value in (("unit", "\u00d8\x00\x00"), ("dossier", "H26\x00"),
                         ("procedure", "1.0\x00")):
        nul = http.post("/v1/ingest", data={"unit": "00004", field: value},
                        files={"file": ("x.pdf", b"%PDF-1.4 x")}, headers=auth)
        assert nul.status_code == 422, (field, nul.status_code)


def test_ward_station_sees_its_older_results_and_staff_corrections_apply(catalog, tmp_path):
    """A key bound to today's 00004 (Phường Ba Đình) uploads a 2021 decision, which the
    catalog files under 00004's 2021 version (Phường Trúc Bạch): the station still sees it, and
    what staff typed at the counter replaces what was read, kept as training data."""
    from api.keys import create_client
    from pipeline.review import Review
    from storage.catalog import Document

    with catalog.rt.session() as session:
        key = create_client(session, f"ward-station-{catalog.kind}",
                            ["ingest", "read:metadata", "read:pii"], "00004")
    auth = {"Authorization": f"Bearer {key}"}
    lines = [(left.replace("931/QĐ-UBND", "932/QĐ-UBND").replace("001085099999", "001085099998"),
              right) for left, right in LINES]
    scan = render_decision(tmp_path / "ward.png", dpi=200, lines=lines).read_bytes()
    corrections = '{"fields": {"subject_name": "Đỗ Thị Mai Anh"}}'
    http = catalog.client()
    sent = http.post("/v1/ingest", data={"unit": "00004", "dossier": f"H01.WARD.{catalog.kind}",
                                         "corrections": corrections},
                     files={"file": ("ward.png", scan, "image/png")}, headers=auth)
    assert sent.status_code == 202, sent.text
    doc_id = sent.json()["document_id"]
    deadline = time.monotonic() + 180
    while (status := http.get(f"/v1/ingest/{doc_id}", headers=auth)).status_code == 200 \
            and status.json()["state"] not in ("stored", "needs_review", "failed") \
            and time.monotonic() < deadline:
        time.sleep(0.5)
    assert status.status_code == 200, status.text  # not hidden by the unit's 2021 version
    assert status.json()["state"] == "stored", status.json()
    result = http.get(status.json()["result_url"], headers=auth)
    assert result.status_code == 200, result.text
    assert result.json()["subject_name"] == "Đỗ Thị Mai Anh"
    with catalog.rt.session() as session:
        doc = session.get(Document, doc_id)
        assert doc.unit.name == "Phường Trúc Bạch" and doc.pending_corrections is None
        review = session.query(Review).filter_by(document_id=doc_id).one()
        assert review.after["fields"]["subject_name"] == "Đỗ Thị Mai Anh"
    bad = http.post("/v1/ingest", data={"unit": "00004", "corrections": "{not json"},
                    files={"file": ("x.png", scan, "image/png")}, headers=auth)
    assert bad.status_code == 422 and "corrections" in bad.json()["detail"]
    # what cannot be kept is refused before anything is accepted: a NUL inside a typed value
    # (PostgreSQL refuses it in JSON), a value that is not text, brackets nested too deep
    for raw, says in (('{"fields": {"number": "12/Q\\u0000"}}', "fields.number"),
                      ('{"fields": {"title": ["a"]}}', "fields.title"),
                      ('{"fields": ' + "[" * 5000 + "]" * 5000 + "}", "corrections"),
                      ('{"document_type": {"x": 1}}', "document_type")):
        refused = http.post("/v1/ingest", data={"unit": "00004", "corrections": raw},
                            files={"file": ("x.png", scan, "image/png")}, headers=auth)
        assert refused.status_code == 422, (raw[:40], refused.text)
        assert says in refused.json()["detail"]


def test_a_file_of_another_unit_tells_nothing_about_it(catalog):
    """Before: 409 for bytes another unit had sent (so a key learnt that they exist there).
    Now dedup is per unit: the same file sent for another unit is another document."""
    import hashlib
    import uuid

    from api.keys import create_client
    from storage.catalog import Document
    from storage.units import find_unit

    data = b"%PDF-1.4\n% a scan of unit 00004 " + uuid.uuid4().hex.encode()
    with catalog.rt.session() as session:
        doc = Document(state="failed", source_name="ward.pdf",
                       source_sha256=hashlib.sha256(data).hexdigest(), source_size=len(data),
                       unit=find_unit(session, "00004"))
        session.add(doc)
        session.flush()
        other_id = doc.id
        key = create_client(session, f"hk-station-{uuid.uuid4().hex[:6]}", ["ingest"], "00037")
    auth = {"Authorization": f"Bearer {key}"}
    http = catalog.client()
    response = http.post("/v1/ingest", data={"unit": "00037"}, files={"file": ("scan.pdf", data)},
                         headers=auth)
    assert response.status_code == 202, response.text
    body = response.json()
    assert body["duplicate"] is False and body["document_id"] != other_id
    assert other_id not in response.text and "00004" not in response.text
    again = http.post("/v1/ingest", data={"unit": "00037"}, files={"file": ("scan.pdf", data)},
                      headers=auth)  # twice for one unit: still one document
    assert again.status_code == 200 and again.json()["document_id"] == body["document_id"]
    with catalog.rt.session() as session:
        mine = session.get(Document, body["document_id"])
        assert mine.unit.code == "00037" and mine.source_sha256 == doc.source_sha256
        assert mine.original_key and other_id not in mine.original_key
        assert session.get(Document, other_id).state == "failed"  # the other unit's untouched
