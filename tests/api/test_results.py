"""Search filters and cursor pagination, the streamed PDF (ETag, Range), verification, audit."""

from __future__ import annotations

import hashlib
import os

import pytest


def _ids(response) -> list[str]:
    assert response.status_code == 200, response.text
    return [item["id"] for item in response.json()["items"]]


def test_search_filters(catalog):
    http, ids, admin = catalog.client(), catalog.results, catalog.auth("admin")

    def search(**params):
        return set(_ids(http.get("/v1/results", params={"limit": 200, **params}, headers=admin)))

    assert search(number="125/QĐ-UBND") == {ids["truc-bach"]}
    assert search(dossier="H01.0001") == {ids["ba-dinh"]}
    assert search(type="giay_chung_nhan") == {ids["hcm"]}
    assert search(level="district") == {ids["ba-dinh"], ids["hcm"]}
    assert search(unit="002") == {ids["hoan-kiem"]}  # a district: itself and its wards
    assert search(unit="79") == {ids["hcm"]}  # a province
    assert ids["truc-bach"] in search(unit="001") and ids["ba-dinh"] in search(unit="001")
    assert search(issued_from="2023-01-01", issued_to="2023-03-01") == {ids["hcm"]}
    assert search(procedure="1.000894") == set()
    assert search(number="125/QĐ-UBND", unit="002") == set()


def test_full_text_ignores_case_and_diacritics(catalog):
    http, ids, admin = catalog.client(), catalog.results, catalog.auth("admin")

    def q(text):
        return set(_ids(http.get("/v1/results", params={"q": text}, headers=admin)))

    assert q("nguyen van hung") == {ids["truc-bach"]}
    assert q("Nguyễn Văn Hùng") == {ids["truc-bach"]}
    assert q("HÒA GIẢI") == {ids["truc-bach"]}
    assert q("xay dung") == {ids["ba-dinh"]}
    assert q("100%_") == set()  # LIKE wildcards are literal


def test_cursor_pagination_is_stable_and_complete(catalog):
    http, admin = catalog.client(), catalog.auth("admin")
    everything = _ids(http.get("/v1/results", params={"limit": 200}, headers=admin))
    assert set(catalog.results.values()) <= set(everything)  # (other tests may add results)
    assert len(set(everything)) == len(everything)
    walked, cursor = [], None
    while True:
        params = {"limit": 3, **({"cursor": cursor} if cursor else {})}
        page = http.get("/v1/results", params=params, headers=admin)
        walked += _ids(page)
        cursor = page.json()["next_cursor"]
        if cursor is None:
            break
    assert walked == everything  # same order, nothing twice, nothing missed
    created = [i["created_at"] for i in http.get("/v1/results", params={"limit": 200},
                                                 headers=admin).json()["items"]]
    assert created == sorted(created, reverse=True)


WAYS = {  # the estimates (matches, candidates) PostgreSQL gets, FEW_SQLITE, MATCH_BOUND
    "matches first": ((0, float("inf")), 10**9, 10**6),
    "past the bound": ((0, float("inf")), 10**9, 2),
    "walk": ((float("inf"), float("inf")), -1, 10**6),
    "sorted walk": ((float("inf"), 0), -1, 10**6),
}


def test_full_text_pages_are_the_same_whichever_way_the_search_goes(catalog, monkeypatch):
    """Rare and common words, with a unit filter and a bound client, page by page: the same
    items, order and next cursors whether the matches are read first or results are walked."""
    import hashlib
    import uuid
    from datetime import UTC, date, datetime, timedelta

    from storage import result_search
    from storage.catalog import Document, Result
    from storage.units import find_unit

    http, admin = catalog.client(), catalog.auth("admin")
    t0, made = datetime(2031, 1, 1, 8, 0, tzinfo=UTC), []
    try:
        with catalog.rt.session() as session:
            unit = find_unit(session, "00004", date(2024, 5, 1))
            for i in range(14):  # three to a minute: ties broken by id
                result = Result(unit_id=unit.id, document_number=f"P{i}",
                                created_at=t0 + timedelta(minutes=i // 3))
                session.add(Document(
                    state="stored", source_name="p.pdf", source_size=1, unit_id=unit.id,
                    source_sha256=hashlib.sha256(uuid.uuid4().bytes).hexdigest(), result=result,
                    ocr_text=f"Pangolin {i}" + (" ông Okapi" if i % 5 == 1 else "")))
                session.flush()
                made.append((result.id, result.created_at))

        def newest(indexes):
            return [rid for rid, _ in sorted((made[i] for i in indexes),
                                             key=lambda r: (r[1], r[0]), reverse=True)]

        def pages(way, **params):
            estimated, few, bound = WAYS[way]
            monkeypatch.setattr(result_search, "read_estimates", lambda plan: estimated)
            monkeypatch.setattr(result_search, "FEW_SQLITE", few)
            monkeypatch.setattr(result_search, "MATCH_BOUND", bound)
            out, cursor, headers = [], None, params.pop("headers", admin)
            while True:
                page = http.get("/v1/results", headers=headers, params={
                    "limit": 3, **params, **({"cursor": cursor} if cursor else {})})
                cursor = page.json()["next_cursor"]
                out.append((_ids(page), cursor))
                if cursor is None:
                    return out

        for q, matching in (("pangolin", range(14)), ("OKAPI", (1, 6, 11))):
            for params in ({}, {"unit": "00004"}, {"headers": catalog.auth("district-pii")}):
                walked = pages("walk", q=q, **params)
                assert [i for ids, _ in walked for i in ids] == newest(matching)
                for way in WAYS:
                    assert pages(way, q=q, **params) == walked, (way, q, params)
    finally:
        with catalog.rt.session() as session:
            ids = [rid for rid, _ in made]
            session.query(Document).filter(Document.result_id.in_(ids)).delete()
            session.query(Result).filter(Result.id.in_(ids)).delete()


# --- PDF -------------------------------------------------------------------------------------
def test_pdf_download_etag_and_sha(catalog):
    http, rid = catalog.client(), catalog.results["truc-bach"]
    data = catalog.pdf["truc-bach"]
    sha = hashlib.sha256(data).hexdigest()
    response = http.get(f"/v1/results/{rid}/pdf", headers=catalog.auth("district"))
    assert response.status_code == 200
    assert response.content == data
    assert response.headers["content-type"] == "application/pdf"
    assert response.headers["content-length"] == str(len(data))
    assert response.headers["etag"] == f'"{sha}"'
    assert response.headers["x-content-sha256"] == sha
    assert response.headers["accept-ranges"] == "bytes"
    again = http.get(f"/v1/results/{rid}/pdf",
                     headers=catalog.auth("district", **{"If-None-Match": f'"{sha}"'}))
    assert again.status_code == 304 and again.content == b""


@pytest.mark.parametrize(("header", "start", "end"), [
    ("bytes=0-99", 0, 99),
    ("bytes=-50", -50, None),
    ("bytes=100-", 100, None),
    ("bytes=1048000-1049999", 1048000, 1049999),  # across a 1 MiB read chunk
    ("bytes=0-999999999", 0, None),  # end past the file: clamped
])
def test_pdf_range_requests(catalog, header, start, end):
    http, rid, data = catalog.client(), catalog.results["big"], catalog.pdf["big"]
    size = len(data)
    response = http.get(f"/v1/results/{rid}/pdf", headers=catalog.auth("district", Range=header))
    assert response.status_code == 206, response.text
    first = start if start >= 0 else size + start
    last = size - 1 if end is None else end
    assert response.content == data[first:last + 1]
    assert response.headers["content-range"] == f"bytes {first}-{last}/{size}"
    assert response.headers["content-length"] == str(last - first + 1)


def test_pdf_unsatisfiable_range_is_416_and_if_range_mismatch_sends_all(catalog):
    http, rid, data = catalog.client(), catalog.results["big"], catalog.pdf["big"]
    response = http.get(f"/v1/results/{rid}/pdf",
                        headers=catalog.auth("district", Range=f"bytes={len(data)}-"))
    assert response.status_code == 416
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.headers["content-range"] == f"bytes */{len(data)}"
    stale = http.get(f"/v1/results/{rid}/pdf",
                     headers=catalog.auth("district", Range="bytes=0-9", **{"If-Range": '"old"'}))
    assert stale.status_code == 200 and len(stale.content) == len(data)
    multi = http.get(f"/v1/results/{rid}/pdf", headers=catalog.auth("district",
                                                                    Range="bytes=0-1,5-6"))
    assert multi.status_code == 200 and multi.content == data  # multiple ranges: whole file


# --- verification ------------------------------------------------------------------------------
def test_verification_of_a_stored_result(catalog):
    http = catalog.client()
    body = http.get(f"/v1/results/{catalog.results['truc-bach']}/verification",
                    headers=catalog.auth("district")).json()
    assert body["valid"] is True and body["intact"] and body["trusted"]
    assert body["matches_catalog"] is True and body["signature_count"] == 1
    assert body["signer"]
    broken = http.get(f"/v1/results/{catalog.results['big']}/verification",
                      headers=catalog.auth("district")).json()
    assert broken["valid"] is False and broken["problems"]


def test_verify_upload_good_and_tampered(catalog):
    http, data = catalog.client(), catalog.pdf["truc-bach"]
    good = http.post("/v1/verify", files={"file": ("a.pdf", data, "application/pdf")},
                     headers=catalog.auth("meta"))
    assert good.status_code == 200 and good.json()["valid"] is True
    assert good.json()["sha256"] == hashlib.sha256(data).hexdigest()
    marker = b"KET QUA truc-bach"
    assert marker in data
    tampered = data.replace(marker, b"KET QUA TRUC-BACH", 1)
    bad = http.post("/v1/verify", files={"file": ("a.pdf", tampered, "application/pdf")},
                    headers=catalog.auth("meta")).json()
    assert bad["valid"] is False and bad["intact"] is False and bad["problems"]
    junk = http.post("/v1/verify", files={"file": ("x.pdf", b"hello")},
                     headers=catalog.auth("meta")).json()
    assert junk["valid"] is False and "not a PDF" in junk["problems"][0]


# --- audit ---------------------------------------------------------------------------------------
def test_every_access_is_audited_append_only(catalog):
    from sqlalchemy import select, text
    from sqlalchemy.exc import DBAPIError

    from api.audit import query_audit
    from api.models import ApiAccess

    http, rid = catalog.client(), catalog.results["truc-bach"]
    purpose = "kiem-tra-ho-so-H01.0000"
    http.get(f"/v1/results/{rid}", headers=catalog.auth("district-pii", **{"X-Purpose": purpose}))
    http.get(f"/v1/results/{catalog.results['hcm']}/pdf",
             headers=catalog.auth("district", **{"X-Purpose": purpose}))
    http.get("/v1/results", headers={"X-Purpose": purpose})
    catalog.app.state.audit.flush()
    with catalog.rt.session() as session:
        rows = [r for r in query_audit(session, limit=1000) if r["purpose"] == purpose]
    by_outcome = {r["outcome"]: r for r in rows}
    ok = by_outcome["ok"]
    assert ok["client_name"] == "district-pii" and ok["document_id"] == rid
    assert ok["endpoint"] == "/v1/results/{result_id}" and ok["status"] == 200
    assert by_outcome["not_found"]["client_name"] == "district"
    assert by_outcome["not_found"]["document_id"] == catalog.results["hcm"]
    assert by_outcome["denied"]["client_name"] is None and by_outcome["denied"]["status"] == 401

    with catalog.rt.session() as session:
        some_id = session.scalar(select(ApiAccess.id).limit(1))
    for statement in (f"UPDATE api_access_log SET outcome = 'ok' WHERE id = {some_id}",
                      f"DELETE FROM api_access_log WHERE id = {some_id}"):
        with pytest.raises(DBAPIError, match="append-only"), catalog.rt.session() as session:
            session.execute(text(statement))


def test_progress_is_scoped(catalog):
    http = catalog.client()
    everything = http.get("/v1/progress", headers=catalog.auth("admin")).json()
    codes = {u["code"] for u in everything["units"]}
    assert {"00004", "001", "00037", "760"} <= codes
    scoped = http.get("/v1/progress", headers=catalog.auth("district")).json()
    assert {u["code"] for u in scoped["units"]} == {"00004", "001"}
    assert sum(scoped["totals"].values()) == sum(u["stored"] for u in scoped["units"])
    communes = http.get("/v1/progress", params={"level": "commune"},
                        headers=catalog.auth("district")).json()
    assert {u["code"] for u in communes["units"]} == {"00004"}


def test_health_ready_metrics(catalog):
    http = catalog.client()
    assert http.get("/healthz").json() == {"status": "ok"}
    ready = http.get("/readyz")
    assert ready.status_code == 200 and ready.json()["checks"] == {"database": "ok",
                                                                    "objects": "ok", "broker": "ok"}
    http.get("/v1/results", headers=catalog.auth("admin"))
    assert http.get("/metrics").status_code == 401  # metrics need a key
    assert http.get("/metrics", headers=catalog.auth("meta")).status_code == 403
    metrics = http.get("/metrics", headers=catalog.auth("admin")).text
    assert 'sohoa_documents{state="stored"}' in metrics
    assert 'sohoa_document_oldest_in_flight_seconds{state="received"} 0.0' in metrics
    assert 'sohoa_metrics_scrape_errors{source="catalog"} 0.0' in metrics
    assert "sohoa_signing_certificate_expiry_timestamp_seconds" in metrics
    assert 'sohoa_api_requests_total{endpoint="/v1/results",method="GET",status="200"}' in metrics
    assert "sohoa_api_request_seconds_bucket" in metrics
    spec = http.get("/openapi.json").json()
    assert {"/v1/results", "/v1/results/{result_id}", "/v1/results/{result_id}/pdf",
            "/v1/results/{result_id}/verification", "/v1/verify", "/v1/progress",
            "/v1/ingest"} <= set(spec["paths"])


# --- the catalog is the truth: swapped objects -------------------------------------------------
def _swap_bytes(catalog, label: str, data: bytes):
    """Put `data` under result `label`'s signed key (with metadata matching `data`)."""
    from storage.catalog import Document

    with catalog.rt.session() as session:
        key = session.query(Document.signed_key).filter(
            Document.result_id == catalog.results[label]).scalar()
    catalog.rt.objects.put_bytes(key, data, "application/pdf")
    return key


@pytest.mark.parametrize(("label", "other"), [("page-4", "ba-dinh"), ("big", None)])
def test_a_swapped_object_is_never_handed_out(catalog, label, other):
    """Another document's validly signed PDF (or, above 1 MiB, other bytes of the same size)
    under this result's key, with checksum metadata matching what is stored: refused."""
    http, rid = catalog.client(), catalog.results[label]
    original = catalog.pdf[label]
    swapped = catalog.pdf[other] if other else os.urandom(len(original))
    key = _swap_bytes(catalog, label, swapped)
    try:
        response = http.get(f"/v1/results/{rid}/pdf", headers=catalog.auth("district"))
        assert response.status_code == 500, response.status_code
        assert response.headers["content-type"].startswith("application/problem+json")
        problem = response.json()
        assert problem["type"].endswith("/object-corrupt") and rid in problem["detail"]
        assert swapped[:64] not in response.content
        ranged = http.get(f"/v1/results/{rid}/pdf",
                          headers=catalog.auth("district", Range="bytes=0-99"))
        assert ranged.status_code == 500
        body = http.get(f"/v1/results/{rid}/verification",
                        headers=catalog.auth("district")).json()
        assert body["valid"] is False and body["matches_catalog"] is False
        assert body["signer"] is None and rid in body["problems"][0]
    finally:
        catalog.rt.objects.put_bytes(key, original, "application/pdf")
    again = http.get(f"/v1/results/{rid}/pdf", headers=catalog.auth("district"))
    assert again.status_code == 200 and again.content == original
