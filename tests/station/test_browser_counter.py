"""The counter as a clerk uses it, in headless Chromium at counter screen sizes: keyboard only,
a Vietnamese date, a duplicate under another dossier, where a doubtful field was read, and the
layout at 1366×768, 1024×768 and a half-width window. Screenshots go to test-artifacts/station/.

Scanner and recognizer are quick stand-ins (the real ones are played in test_browser.py): what
is tested here is the page and the station server behind it.
"""

from __future__ import annotations

from datetime import date

from PIL import Image, ImageDraw

from scanners.base import ScannedPage
from station import spool as sp
from station.app import Station, create_app
from station.delivery import EmbeddedSink
from storage.units import unit_label
from tests.station.conftest import UNIT, ServerThread

DOSSIER = "000.00.04.H26-261205-0007"


class FeederScanner:
    """An ADF that feeds `pages` pages per scan."""

    def __init__(self, pages: int = 2):
        self.pages = pages

    def scan(self, profile, on_page):
        for i in range(self.pages):
            image = Image.new("L", (827, 1169), 255)  # A4 at 100 dpi: small and quick
            ImageDraw.Draw(image).rectangle((60, 60 + 30 * i, 400, 90 + 30 * i), fill=0)
            on_page(ScannedPage(image=image, dpi=200, mode="gray", index=i))

    def close(self):
        pass


def recognizer(fields: dict, *, low=(), confidence=0.95):
    def recognize(images, lang="vie"):
        conf = {f: (0.3 if f in low else confidence) for f in fields}
        return {"document_type": "quyet_dinh", "type_name": "Quyết định", "type_confidence": 0.95,
                "confidence": min(conf.values()), "fields": dict(fields),
                "field_confidence": conf, "required": ["number", "issued_on", "issuer", "title",
                                                       "summary"],
                "low": sorted(low), "ocr_confidence": 0.9, "chars": 500, "text": "văn bản"}
    return recognize


CLEAN = {"number": "15/QĐ-UBND", "issued_on": "2026-12-05", "issuer": "UBND phường Ba Đình",
         "title": "QUYẾT ĐỊNH", "summary": "Về việc cấp giấy phép kinh doanh",
         "subject_name": "Nguyễn Văn An"}


def make_station(tmp_path, *, sink=None, fields=CLEAN, low=(), pages=2) -> Station:
    return Station(sp.Spool(tmp_path / "spool"), scanner_uri="sane:test:0", unit=UNIT,
                   sink=sink, scanner=FeederScanner(pages), recognizer=recognizer(fields, low=low),
                   unit_name=unit_label(UNIT), province="H26")


def open_page(browser, url, width=1366, height=768):
    ctx = browser.new_context(viewport={"width": width, "height": height}, locale="vi-VN")
    page = ctx.new_page()
    page.goto(url)
    page.wait_for_selector("body[data-ready]")
    return ctx, page


def wait_recognized(page):
    page.wait_for_function("document.querySelector('#rec-state').textContent === ''"
                           " && !!document.querySelector('#field-number')"
                           " && !document.querySelector('#scan-btn').disabled")


def test_keyboard_only_clean_two_page_result(tmp_path, module_browser, artifacts):
    station = make_station(tmp_path)
    server = ServerThread(create_app(station, manage_lifecycle=False)).start()
    try:
        ctx, page = open_page(module_browser, server.url)
        assert page.evaluate("document.activeElement.id") == "dossier"  # ready to type a code
        assert "Phường Ba Đình" in page.text_content("header")  # the unit's name, not a code
        assert "sane:" not in page.text_content("header")
        # a malformed code is refused at the field, in Vietnamese, and nothing is scanned
        page.keyboard.type("hồ sơ 12 ?")
        page.keyboard.press("Enter")
        page.wait_for_selector("#dossier-error:not([hidden])")
        assert "không đúng cấu trúc" in page.text_content("#dossier-error")
        assert station.spool.all() == []
        page.fill("#dossier", "")
        # the clean path: code, Enter (scans both pages), recognition, Enter on Gửi
        page.keyboard.type(DOSSIER)
        actions = 0
        page.keyboard.press("Enter")
        actions += 1
        wait_recognized(page)
        page.wait_for_function("document.activeElement.id === 'submit-btn'")
        assert page.locator("#pages .page").count() == 2
        page.screenshot(path=str(artifacts / "10-ban-phim-da-quet.png"))
        page.keyboard.press("Enter")
        actions += 1
        page.wait_for_selector("#message.info")
        assert actions <= 4
        assert "Đã gửi hồ sơ " + DOSSIER + " (2 trang)" in page.text_content("#message")
        assert "Nhập mã hồ sơ tiếp theo" in page.text_content("#message")
        # ready for the next dossier: empty code field with the focus, no pages
        assert page.evaluate("document.activeElement.id") == "dossier"
        assert page.input_value("#dossier") == "" and page.locator("#pages .page").count() == 0
        page.screenshot(path=str(artifacts / "11-ban-phim-da-gui.png"))
        batch = station.spool.in_state(sp.QUEUED)[0]
        assert batch["dossier"] == DOSSIER and len(batch["pages"]) == 2
        assert batch["fields"]["issued_on"] == "2026-12-05"

        # every control is reachable by Tab, in the order of the work
        page.keyboard.type("000.00.04.H26-261205-0008")
        page.keyboard.press("Enter")
        wait_recognized(page)
        page.focus("#dossier")
        order = []
        for _ in range(40):
            page.keyboard.press("Tab")
            order.append(page.evaluate(
                "(() => { const e = document.activeElement;"
                " return e.id || (e.dataset.act ? 'page-' + e.dataset.act : e.tagName); })()"))
            if order[-1] == "dossier":  # round the page once
                break
        for control in ("procedure", "scan-btn", "import-btn", "new-btn", "page-rotate",
                        "page-rescan", "page-delete", "doctype", "field-number",
                        "field-issued_on", "submit-btn"):
            assert control in order, (control, order)
        # the order of the work: code → Quét → fields → Gửi, the page tools after
        assert order.index("scan-btn") < order.index("field-number") < order.index("submit-btn") \
            < order.index("page-rotate")
        tabs = order.index("submit-btn") - order.index("scan-btn")
        print(f"tabs from Quét to Gửi: {tabs}")
        assert tabs <= 13
        # shortcuts are shown, and Ctrl+Enter sends from anywhere
        assert "Ctrl" in page.text_content("#shortcuts")
        page.focus("#field-issuer")
        page.keyboard.press("Control+Enter")
        page.wait_for_selector("#message.info")
        assert len(station.spool.in_state(sp.QUEUED)) == 2
        ctx.close()
    finally:
        server.stop()
        station.stop()


def test_vietnamese_dates_stored_as_dates_and_bad_ones_refused_at_the_field(tmp_path, module_browser,
                                                                             artifacts):
    station = make_station(tmp_path, fields={**CLEAN, "issued_on": None}, low=("issued_on",))
    server = ServerThread(create_app(station, manage_lifecycle=False)).start()
    try:
        ctx, page = open_page(module_browser, server.url)
        page.fill("#dossier", DOSSIER)
        page.press("#dossier", "Enter")
        wait_recognized(page)
        page.wait_for_function("document.activeElement.id === 'field-issued_on'")  # the doubtful one
        page.keyboard.type("31/02/2026")
        page.keyboard.press("Tab")
        err = page.locator("#fields .field:has(#field-issued_on) .field-error")
        assert err.is_visible() and "Ngày không hợp lệ" in err.text_content()
        page.click("#submit-btn")
        assert station.spool.all()[0]["state"] == sp.DRAFT  # refused before submit
        page.screenshot(path=str(artifacts / "12-ngay-sai.png"))
        page.fill("#field-issued_on", "5/12/2026")
        page.keyboard.press("Tab")
        assert not err.is_visible()
        page.click("#submit-btn")
        page.wait_for_selector("#message.info")
        batch = station.spool.all()[0]
        assert batch["fields"]["issued_on"] == "2026-12-05"
        assert batch["corrections"]["fields"]["issued_on"] == "2026-12-05"
        assert date.fromisoformat(batch["corrections"]["fields"]["issued_on"]) == date(2026, 12, 5)
        ctx.close()

        # the server refuses an unreadable date and a malformed code too (a page that skipped them)
        import httpx

        b = httpx.post(server.url + "/api/batches", json={"dossier": DOSSIER}).json()
        station.scan(b["id"])
        station._recognize(b["id"])
        url = f"{server.url}/api/batches/{b['id']}/submit"
        resp = httpx.post(url, json={"fields": {"issued_on": "ngày 5 tháng 12"}})
        assert resp.status_code == 422
        assert resp.json()["detail"].startswith("Ngày ban hành: Ngày không hợp lệ")
        resp = httpx.post(url, json={"dossier": "AB", "fields": {}})
        assert resp.status_code == 422 and "không đúng cấu trúc" in resp.json()["detail"]
    finally:
        server.stop()
        station.stop()

def test_duplicate_under_another_dossier_needs_a_deliberate_choice(runtime, tmp_path, module_browser,
                                                                  artifacts):
    from storage.catalog import Document, Result
    from storage.units import find_unit

    with runtime.session() as session:  # the same paper, stored last week for another dossier
        unit = find_unit(session, UNIT)
        result = Result(dossier_code="000.00.04.H26-261128-0003", unit=unit,
                        document_number="15/QĐ-UBND", issuer="UBND phường Ba Đình",
                        issued_on=date(2026, 12, 5), document_type="quyet_dinh")
        session.add(result)
        session.flush()
        session.add(Document(state="stored", source_name="a.pdf", source_sha256="a" * 64,
                             source_size=1, unit=unit, result_id=result.id,
                             dossier_code=result.dossier_code))
        session.commit()

    station = make_station(tmp_path, sink=EmbeddedSink(runtime))
    server = ServerThread(create_app(station, manage_lifecycle=False)).start()
    try:
        ctx, page = open_page(module_browser, server.url)
        page.fill("#dossier", DOSSIER)
        page.press("#dossier", "Enter")
        wait_recognized(page)
        page.wait_for_selector("#duplicate:not([hidden])")
        text = page.text_content("#duplicate")
        assert "000.00.04.H26-261128-0003" in text and "15/QĐ-UBND" in text and "05/12/2026" in text
        assert page.is_disabled("#submit-btn")
        page.wait_for_function("document.activeElement.id === 'allow-duplicate'")
        page.screenshot(path=str(artifacts / "13-trung-giay-to.png"))
        page.keyboard.press("Control+Enter")  # not without the deliberate choice
        assert station.spool.all()[0]["state"] == sp.DRAFT
        page.check("#allow-duplicate")
        page.click("#submit-btn")
        page.wait_for_selector("#message.info")
        batch = station.spool.all()[0]
        assert batch["state"] in (sp.QUEUED, sp.PROCESSING, sp.STORED, sp.NEEDS_REVIEW, sp.FAILED)
        assert any("đã lưu ở hồ sơ khác" in e["text"] for e in batch["events"])
        ctx.close()
    finally:
        server.stop()
        station.stop()


def test_a_doubtful_field_shows_where_it_was_read(tmp_path, module_browser, artifacts):
    fields = {**CLEAN, "number": {"value": "15/QĐ-UBND", "crop": {"page": 1, "box": [60, 90, 400, 120]}}}
    station = make_station(tmp_path, fields=fields, low=("number",))
    server = ServerThread(create_app(station, manage_lifecycle=False)).start()
    try:
        ctx, page = open_page(module_browser, server.url)
        page.fill("#dossier", DOSSIER)
        page.press("#dossier", "Enter")
        wait_recognized(page)
        crop = page.locator("#fields .field:has(#field-number) img.crop")
        page.wait_for_function("(() => { const i = document.querySelector('#fields img.crop');"
                               " return i && i.complete && i.naturalWidth > 0; })()")
        assert page.input_value("#field-number") == "15/QĐ-UBND"
        # the crop is the black bar of page 2 (rows 90–120), with a little margin around it
        width, height = crop.evaluate("i => [i.naturalWidth, i.naturalHeight]")
        assert (width, height) == (340 + 24, 30 + 24)
        assert page.locator("#fields img.crop").count() == 1  # only beside doubtful fields
        page.screenshot(path=str(artifacts / "14-vung-anh.png"))
        ctx.close()
    finally:
        server.stop()
        station.stop()


def test_layout_at_counter_screen_sizes(tmp_path, module_browser, artifacts):
    station = make_station(tmp_path, pages=3, low=("issuer",))
    server = ServerThread(create_app(station, manage_lifecycle=False)).start()
    try:
        for name, width, height in (("1366x768", 1366, 768), ("1024x768", 1024, 768),
                                    ("nua-man-hinh-683x768", 683, 768)):
            ctx, page = open_page(module_browser, server.url, width, height)
            if not page.locator("#pages .page").count():
                page.fill("#dossier", DOSSIER)
                page.press("#dossier", "Enter")
            wait_recognized(page)
            # nothing wider than the window; the today panel is whole; Gửi is in view
            assert page.evaluate("document.documentElement.scrollWidth") <= width, name
            box = page.locator("#today").bounding_box()
            assert box["x"] >= 0 and box["x"] + box["width"] <= width, name
            submit = page.locator("#submit-btn").bounding_box()
            assert submit["y"] >= 0 and submit["y"] + submit["height"] <= height, name
            assert page.locator("#field-issuer").is_visible()
            page.screenshot(path=str(artifacts / f"15-bo-cuc-{name}.png"))
            ctx.close()
    finally:
        server.stop()
        station.stop()
