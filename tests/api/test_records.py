"""GET /v1/records and /v1/records/{code} (api/records.py): the same scopes and unit rules as
results, personal data masked without read:pii, on SQLite and on PostgreSQL."""

from __future__ import annotations


def get(catalog, who: str, path: str, **params):
    return catalog.client().get(path, params=params, headers=catalog.auth(who))


def codes(response) -> set[str]:
    assert response.status_code == 200, response.text
    return {r["code"] for r in response.json()["items"]}


def test_records_follow_the_unit_rules_of_results(catalog):
    every = codes(get(catalog, "meta", "/v1/records", limit=200))
    assert {"H01.0000", "H01.0001", "H01.0002", "H01.0003"} <= every
    district = codes(get(catalog, "district", "/v1/records", limit=200))
    # Quận Ba Đình and its wards (Trúc Bạch 00004), not Hoàn Kiếm (00037) nor Hồ Chí Minh City
    assert {"H01.0000", "H01.0001"} <= district
    assert not {"H01.0002", "H01.0003"} & district
    city = codes(get(catalog, "city", "/v1/records", limit=200))
    assert "H01.0002" in city and "H01.0003" not in city
    assert codes(get(catalog, "meta", "/v1/records", unit="00037")) == {"H01.0002"}
    assert get(catalog, "district", "/v1/records/H01.0002").status_code == 404
    assert get(catalog, "city", "/v1/records/H01.0003").status_code == 404
    assert get(catalog, "meta", "/v1/records/NO-SUCH").status_code == 404
    refused = get(catalog, "station", "/v1/records")
    assert refused.status_code == 403 and "read:metadata" in refused.text
    assert catalog.client().get("/v1/records").status_code == 401


def test_a_record_with_its_documents_and_masked_personal_data(catalog):
    body = get(catalog, "district", "/v1/records/H01.0000").json()
    assert body["code"] == "H01.0000" and body["dossier_code"] == "H01.0000"
    assert body["document_count"] == 1 and body["page_count"] == 1
    assert body["retention"] == "Vĩnh viễn" and body["access_level"] == "conditional"
    assert body["unit"]["code"] == "00004" and body["links"]["self"] == "/v1/records/H01.0000"
    (doc,) = body["documents"]
    assert doc["code"] == "H01.0000.001" and doc["document_number"] == "125/QĐ-UBND"
    assert doc["subject_name"] == "N*** V*** H***" and doc["subject_id"] == "**********45"
    assert doc["links"]["result"] == f"/v1/results/{catalog.results['truc-bach']}"
    assert len(doc["sha256"]) == 64
    full = get(catalog, "district-pii", "/v1/records/H01.0000").json()["documents"][0]
    assert (full["subject_name"], full["subject_id"]) == ("Nguyễn Văn Hùng", "001085012345")


def test_record_pages_walk_every_record_once(catalog):
    seen, cursor = [], None
    while True:
        params = {"limit": 3, **({"cursor": cursor} if cursor else {})}
        page = get(catalog, "meta", "/v1/records", **params).json()
        seen += [r["code"] for r in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == sorted(seen) and len(seen) == len(set(seen))
    assert set(seen) == codes(get(catalog, "meta", "/v1/records", limit=200))
    bad = get(catalog, "meta", "/v1/records", cursor="!!!")
    assert bad.status_code == 422


def test_imported_record_data_is_served_and_listed_when_due(catalog, tmp_path):
    """From the unit's archive list to the API and the appraisal list, on each backend."""
    from datetime import date

    from archive.record_import import import_records
    from storage.records import due_documents

    archive_list = tmp_path / "muc-luc.csv"
    archive_list.write_text(
        "Mã hồ sơ;Thời hạn lưu trữ;Mức độ tiếp cận;Số lượng tờ;Mã hồ sơ gốc giấy;Ký hiệu thông tin\n"
        "H01.0001;10 năm;Tiếp cận rộng rãi;3;BD-2022-09;XD.02\n", encoding="utf-8")
    with catalog.rt.session() as session:
        summary = import_records(session, archive_list)
    assert (summary.created, summary.updated) == (0, 1)  # the record the scan was filed in
    body = get(catalog, "district", "/v1/records/H01.0001").json()
    assert (body["retention"], body["access_level"], body["sheet_count"]) == ("10 năm", "open", 3)
    assert body["paper_record_code"] == "BD-2022-09" and body["information_sign"] == "XD.02"
    assert body["due_on"] == "2033-01-01"  # issued 9 March 2022, kept 10 years
    assert body["documents"][0]["document_number"] == "77/GP-UBND"
    with catalog.rt.session() as session:
        due = [(r.code, d.id) for r, _a, d, _res in due_documents(session, date(2033, 1, 1))]
        assert [code for code, _ in due] == ["H01.0001"]
        assert list(due_documents(session, date(2032, 12, 31))) == []
