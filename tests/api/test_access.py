"""Authorization matrix, unit scope, PII masking and problem+json errors."""

from __future__ import annotations

import pytest

PROBLEM = "application/problem+json"

ENDPOINTS = [  # method, path template (filled with the Trúc Bạch result id), needed scope
    ("GET", "/v1/results", "read:metadata"),
    ("GET", "/v1/results/{id}", "read:metadata"),
    ("GET", "/v1/results/{id}/pdf", "read:documents"),
    ("GET", "/v1/results/{id}/verification", "read:metadata"),
    ("GET", "/v1/progress", "read:metadata"),
    ("POST", "/v1/verify", None),
    ("POST", "/v1/ingest", "ingest"),
]


def _problem(response, status):
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(PROBLEM)
    body = response.json()
    assert body["status"] == status and body["title"] and body["type"].startswith("https://")
    return body


@pytest.mark.parametrize(("method", "path", "scope"), ENDPOINTS)
def test_no_key_wrong_key_and_revoked_key_are_401(catalog, method, path, scope):
    http = catalog.client()
    url = path.format(id=catalog.results["truc-bach"])
    for headers in ({}, {"Authorization": "Bearer sohoa_0000_nope"},
                    {"Authorization": "Basic abc"}, catalog.auth("revoked")):
        response = http.request(method, url, headers=headers)
        _problem(response, 401)
        assert response.headers["www-authenticate"].startswith("Bearer")


def test_missing_scope_is_403(catalog):
    http = catalog.client()
    rid = catalog.results["truc-bach"]
    _problem(http.get(f"/v1/results/{rid}/pdf", headers=catalog.auth("meta")), 403)
    _problem(http.get("/v1/results", headers=catalog.auth("station")), 403)
    body = _problem(http.post("/v1/ingest", headers=catalog.auth("district"),
                              data={"unit": "001"}, files={"file": ("a.pdf", b"%PDF-1.4")}), 403)
    assert body["required_scope"] == "ingest"
    # searching by citizen ID reveals personal data: read:pii only
    _problem(http.get("/v1/results", params={"subject_id": "001085012345"},
                      headers=catalog.auth("district")), 403)
    # … and so does full text, which holds names and ID numbers (before: found by either)
    for text in ("001085012345", "Nguyễn Văn Hùng", "quyết định"):
        body = _problem(http.get("/v1/results", params={"q": text},
                                 headers=catalog.auth("district")), 403)
        assert body["required_scope"] == "read:pii" and "Hùng" not in str(body)
    found = http.get("/v1/results", params={"q": "Nguyễn Văn Hùng"},
                     headers=catalog.auth("district-pii")).json()["items"]
    assert [i["id"] for i in found] == [catalog.results["truc-bach"]]
    # admin holds every scope
    assert http.get(f"/v1/results/{rid}/pdf", headers=catalog.auth("admin")).status_code == 200


def test_unit_scope_district_sees_itself_and_its_wards_only(catalog):
    http = catalog.client()
    ids = catalog.results
    for label, visible in (("truc-bach", True), ("ba-dinh", True), ("hoan-kiem", False),
                           ("hcm", False)):
        for path in ("/v1/results/{}", "/v1/results/{}/pdf", "/v1/results/{}/verification"):
            response = http.get(path.format(ids[label]), headers=catalog.auth("district"))
            if visible:
                assert response.status_code == 200, (label, path, response.text)
            else:
                _problem(response, 404)
    listed = {item["id"] for item in http.get(
        "/v1/results", params={"limit": 200}, headers=catalog.auth("district")).json()["items"]}
    assert ids["truc-bach"] in listed and ids["ba-dinh"] in listed
    assert ids["hoan-kiem"] not in listed and ids["hcm"] not in listed
    # the same 404 for an id that does not exist at all
    _problem(http.get("/v1/results/" + "0" * 32, headers=catalog.auth("district")), 404)


def test_city_client_sees_its_whole_province(catalog):
    http = catalog.client()
    listed = {item["id"] for item in http.get(
        "/v1/results", params={"limit": 200}, headers=catalog.auth("city")).json()["items"]}
    assert {catalog.results[k] for k in ("truc-bach", "ba-dinh", "hoan-kiem")} <= listed
    assert catalog.results["hcm"] not in listed
    _problem(http.get(f"/v1/results/{catalog.results['hcm']}", headers=catalog.auth("city")), 404)
    assert http.get(f"/v1/results/{catalog.results['hcm']}",
                    headers=catalog.auth("meta")).status_code == 200  # unbound client


def test_pii_is_masked_without_read_pii(catalog):
    http = catalog.client()
    rid = catalog.results["truc-bach"]
    masked = http.get(f"/v1/results/{rid}", headers=catalog.auth("district")).json()
    assert masked["subject_name"] == "N*** V*** H***"
    assert masked["subject_id"] == "**********45"
    assert masked["document"]["fields"]["subject_name"] == "N*** V*** H***"
    assert "001085012345" not in str(masked) and "Hùng" not in str(masked)
    listed = http.get("/v1/results", params={"number": "125/QĐ-UBND"},
                      headers=catalog.auth("district")).json()["items"]
    assert [i["subject_id"] for i in listed] == ["**********45"]

    full = http.get(f"/v1/results/{rid}", headers=catalog.auth("district-pii")).json()
    assert full["subject_name"] == "Nguyễn Văn Hùng" and full["subject_id"] == "001085012345"
    assert full["document"]["fields"]["subject_id"] == "001085012345"
    found = http.get("/v1/results", params={"subject_id": "001085012345"},
                     headers=catalog.auth("district-pii")).json()["items"]
    assert [i["id"] for i in found] == [rid]


def test_metadata_has_state_unit_procedure_pages_sha_and_signature(catalog):
    rid = catalog.results["truc-bach"]
    body = catalog.client().get(f"/v1/results/{rid}", headers=catalog.auth("admin")).json()
    assert body["state"] == "stored" and body["pages"] == 1
    assert body["unit"] == {"code": "00004", "name": "Phường Trúc Bạch", "level": "commune"}
    assert body["procedure_code"] == "1.001193"
    assert body["procedure_name"] == "Thủ tục đăng ký khai sinh"
    import hashlib

    assert body["sha256"] == hashlib.sha256(catalog.pdf["truc-bach"]).hexdigest()
    assert body["signature"]["signed"] is True and body["signature"]["sha256"] == body["sha256"]
    assert body["links"]["pdf"] == f"/v1/results/{rid}/pdf"


def test_problem_json_for_404_422_and_500(catalog, monkeypatch):
    http = catalog.client(raise_server_exceptions=False)
    _problem(http.get("/v1/nowhere", headers=catalog.auth("admin")), 404)
    body = _problem(http.get("/v1/results", params={"issued_from": "yesterday"},
                             headers=catalog.auth("admin")), 422)
    assert body["errors"][0]["loc"] == ["query", "issued_from"]
    _problem(http.get("/v1/results", params={"limit": 0}, headers=catalog.auth("admin")), 422)
    _problem(http.get("/v1/results", params={"cursor": "!!"}, headers=catalog.auth("admin")), 422)

    import api.service

    def broken(session):
        raise RuntimeError("boom")

    monkeypatch.setattr(api.service, "digitized_counts", broken)
    body = _problem(http.get("/v1/progress", headers=catalog.auth("admin")), 500)
    assert "boom" not in body["detail"]  # internals are logged, not shown


@pytest.mark.parametrize("params", [{"number": "12\x00/QĐ"}, {"q": "ng\x00uyen"},
                                    {"dossier": "\x00"}])
def test_a_nul_character_in_a_query_parameter_is_422_not_a_server_error(catalog, params):
    http = catalog.client(raise_server_exceptions=False)
    body = _problem(http.get("/v1/results", params=params, headers=catalog.auth("admin")), 422)
    assert "NUL" in body["detail"] and next(iter(params)) in body["detail"]


def test_metadata_names_the_signer_of_the_latest_stored_event(catalog):
    from datetime import UTC, datetime

    from sqlalchemy import select

    from storage.catalog import AuditEvent, Document

    rid = catalog.results["hoan-kiem"]
    with catalog.rt.session() as session:
        doc_id = session.scalar(select(Document.id).where(Document.result_id == rid))
        for at, who in ((datetime(2024, 6, 1, 9, tzinfo=UTC), "UBND (old key)"),
                        (datetime(2024, 6, 2, 9, tzinfo=UTC), "UBND Phường Hoàn Kiếm")):
            session.add(AuditEvent(actor="pipeline", action="stored", document_id=doc_id, at=at,
                                   detail={"signer": who}))
        session.add(AuditEvent(actor="pipeline", action="exported", document_id=doc_id,
                               at=datetime(2024, 6, 3, tzinfo=UTC), detail={"signer": "no"}))
    body = catalog.client().get(f"/v1/results/{rid}", headers=catalog.auth("admin")).json()
    assert body["signature"]["signer"] == "UBND Phường Hoàn Kiếm"
    assert body["document"]["id"] == doc_id
    assert body["document"]["fields"]["number"] == "9/QĐ-UBND"
    assert body["issued_on"] == "2023-07-01" and body["in_force"] is True


def test_metadata_shows_the_stored_document_when_a_rescan_is_under_review(catalog):
    import hashlib

    from sqlalchemy import select

    from storage.catalog import Document

    rid = catalog.results["page-3"]
    with catalog.rt.session() as session:
        stored = session.scalars(select(Document).where(Document.result_id == rid)).one()
        session.add(Document(state="needs_review", source_name="rescan.pdf",
                             source_sha256=hashlib.sha256(b"rescan" + catalog.kind.encode())
                             .hexdigest(), source_size=1, unit_id=stored.unit_id, result_id=rid,
                             page_count=3))
        stored_id = stored.id
    body = catalog.client().get(f"/v1/results/{rid}", headers=catalog.auth("admin")).json()
    assert body["document"]["id"] == stored_id and body["state"] == "stored"
    assert body["pages"] == 1 and body["signature"]["signed"] is True


def test_a_stored_pdf_that_fails_its_checksum_is_an_error_not_a_download(catalog):
    import hashlib
    import uuid
    from datetime import date

    from storage.catalog import Document, Result
    from storage.units import find_unit
    from tests.signing.helpers import make_pdf
    from tests.storage.test_objects import corrupt

    signed = make_pdf("KET QUA corrupt")
    key = f"test/{uuid.uuid4().hex}/signed.pdf"
    catalog.rt.objects.put_bytes(key, signed, "application/pdf")
    with catalog.rt.session() as session:
        unit = find_unit(session, "00004", date(2024, 5, 1))
        result = Result(unit_id=unit.id, document_number="HONG/1")
        session.add(Document(state="stored", source_name="c.pdf", source_size=1, unit_id=unit.id,
                             source_sha256=hashlib.sha256(uuid.uuid4().bytes).hexdigest(),
                             result=result, signed_key=key, page_count=1,
                             signed_sha256=hashlib.sha256(signed).hexdigest()))
        session.flush()
        rid = result.id
    http = catalog.client(raise_server_exceptions=False)
    pdf = http.get(f"/v1/results/{rid}/pdf", headers=catalog.auth("admin"))
    assert pdf.status_code == 200 and pdf.content == signed
    corrupt(catalog.rt.objects, key)
    body = _problem(http.get(f"/v1/results/{rid}/pdf", headers=catalog.auth("admin")), 500)
    assert body["type"].endswith("object-corrupt") and rid in body["detail"]
    _problem(http.get(f"/v1/results/{rid}/pdf", headers=catalog.auth("admin", Range="bytes=0-9")),
             500)
    check = http.get(f"/v1/results/{rid}/verification", headers=catalog.auth("admin")).json()
    assert check["valid"] is False and check["matches_catalog"] is False
