"""The station in headless Chromium against the SANE test device.

Scan → correct → submit → stored (embedded pipeline), and a jam mid-batch. The central-server
cases (outage, restart) are in test_browser_outage.py. Screenshots go to test-artifacts/station/.
"""

from __future__ import annotations

from scanners.profiles import ScanProfile
from station import spool as sp
from station.app import Station, create_app
from station.delivery import EmbeddedSink
from tests.station.conftest import UNIT, ServerThread

TWO = ScanProfile(name="hai-trang", dpi=200, mode="color", source="adf", max_pages=2)
FIVE = ScanProfile(name="nam-trang", dpi=200, mode="color", source="adf", max_pages=5)


def _station(tmp_path, sink, *, profile=TWO, recognize=False, scanner="sane:test:0"):
    return Station(sp.Spool(tmp_path / "spool"), scanner_uri=scanner, unit=UNIT, sink=sink,
                   profiles={profile.name: profile}, profile=profile.name, recognize=recognize,
                   retry_base=0.2)


def _open(page, url):
    page.goto(url)
    page.wait_for_selector("body[data-ready]")


def _scan_two(page, url, dossier, procedure=None):
    _open(page, url)
    page.fill("#dossier", dossier)
    page.dispatch_event("#dossier", "change")
    if procedure:
        page.select_option("#procedure", procedure)
    page.click("#scan-btn")
    page.wait_for_function("document.querySelectorAll('#pages .page img').length === 2")
    page.wait_for_function("!document.querySelector('#scan-btn').disabled")


def _row_state(page, text: str, timeout=120_000):
    page.wait_for_selector(f"#today-list .state:text-is('{text}')", timeout=timeout)


def test_scan_correct_submit_stored(sane_document, runtime, tmp_path, page, artifacts):
    station = _station(tmp_path, EmbeddedSink(runtime), recognize=True, scanner=sane_document)
    server = ServerThread(create_app(station)).start()
    try:
        _scan_two(page, server.url, "000.00.04.H26-250105-0001", procedure="1.001193")
        page.screenshot(path=str(artifacts / "01-da-quet.png"), full_page=True)
        # recognition of the batch: type and fields, the doubtful ones highlighted
        page.wait_for_function("document.querySelector('#rec-state').textContent === ''"
                               " && document.querySelectorAll('#fields input').length > 0",
                               timeout=60_000)
        rec = station.spool.in_state(sp.DRAFT)[0]["recognition"]
        assert rec["document_type"] == "quyet_dinh"
        assert page.input_value("#doctype") == "quyet_dinh"
        assert page.input_value("#field-number") == (rec["fields"]["number"] or "")
        assert page.locator("#fields .row.low").count() == len(
            [f for f in rec["low"] if f != "document_type"])
        page.screenshot(path=str(artifacts / "02-nhan-dang.png"), full_page=True)
        # rotate the second page, then correct a field
        page.locator("#pages .page").nth(1).locator("button[data-act=rotate]").click()
        page.fill("#field-issuer", "Ủy ban nhân dân phường Trúc Bạch")
        page.screenshot(path=str(artifacts / "03-sua-truong.png"), full_page=True)
        page.click("#submit-btn")
        page.wait_for_selector("#message.info")
        assert "Đã gửi hồ sơ 000.00.04.H26-250105-0001 (2 trang)" in page.text_content("#message")
        _row_state(page, "đã lưu")
        page.wait_for_function("document.querySelector('#count-stored').textContent === '1'")
        page.screenshot(path=str(artifacts / "04-da-luu.png"), full_page=True)
    finally:
        server.stop()

    batch = station.spool.in_state(sp.STORED)[0]
    assert batch["pages"][1]["rotation"] == 90
    from storage.catalog import AuditEvent, Document

    with runtime.session() as session:
        doc = session.get(Document, batch["submission"]["document_id"])
        assert doc.state == "stored" and doc.page_count == 2
        assert doc.document_type == "quyet_dinh"
        assert doc.fields["issuer"] == "Ủy ban nhân dân phường Trúc Bạch" == doc.result.issuer
        assert doc.field_confidence["issuer"] == 1.0
        assert doc.result.dossier_code == batch["dossier"]
        assert doc.procedure_code == "1.001193"
        actions = [e.action for e in session.query(AuditEvent).filter_by(document_id=doc.id)]
        assert "corrected" in actions


def test_jam_keeps_scanned_pages_and_scanning_resumes(sane_test, runtime, tmp_path, page,
                                                      artifacts):
    station = _station(tmp_path, EmbeddedSink(runtime), profile=FIVE)

    def jam_after_two(batch_id, saved):
        if len(station.spool.load(batch_id)["pages"]) == 2:
            station.scanner().set_option("read-return-value", "SANE_STATUS_JAMMED")

    station.page_hooks.append(jam_after_two)
    server = ServerThread(create_app(station)).start()
    try:
        _open(page, server.url)
        page.fill("#dossier", "000.00.04.H26-250105-0042")
        page.click("#scan-btn")
        page.wait_for_selector("#message:not([hidden])")
        page.wait_for_function("!document.querySelector('#scan-btn').disabled")
        text = page.text_content("#message")
        assert "Kẹt giấy trong máy quét" in text and "(2) vẫn được giữ" in text
        assert page.locator("#pages .page").count() == 2
        assert page.text_content("#scan-btn") == "Quét"
        page.screenshot(path=str(artifacts / "05-ket-giay.png"), full_page=True)
        station.page_hooks.clear()
        station.scanner().set_option("read-return-value", "Default")
        page.click("#scan-btn")
        page.wait_for_function("document.querySelectorAll('#pages .page').length === 7")
        assert page.locator("#message").is_hidden()
    finally:
        server.stop()
    batch = station.spool.all()[0]
    assert len(batch["pages"]) == 7
    assert all((station.spool.dir(batch["id"]) / p["file"]).exists() for p in batch["pages"])
