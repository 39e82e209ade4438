"""The station's batch view (/lo) in headless Chromium: a stack fed through an eSCL scanner
(the responder, 409 at feed end) shows its split so far while the feeder runs, is split, the
operator sees what each separator sheet carried
(a dossier's QR code, a patch code), moves a boundary both ways, commits, and the documents are
in the catalog. Screenshots go to test-artifacts/station/."""

from __future__ import annotations

import io

from PIL import Image

from batch import patchcode
from batch.separator import render_sheet
from station import spool as sp
from station.app import Station, create_app
from station.delivery import EmbeddedSink
from tests.pipeline.conftest import DECISION, render_decision
from tests.scanners.escl_responder import EsclResponder
from tests.station.conftest import UNIT, ServerThread


def _jpeg(image: Image.Image) -> bytes:
    buf = io.BytesIO()
    image.convert("RGB").save(buf, "JPEG", quality=85, dpi=(300, 300))
    return buf.getvalue()


def test_batch_view_scan_review_commit(runtime, tmp_path, page, artifacts):
    other = [(left.replace("125/QĐ", "126/QĐ"), right) for left, right in DECISION]
    stack = [_jpeg(Image.open(render_decision(tmp_path / "a.png", dpi=300))),
             _jpeg(render_sheet("H26.01-0009", dpi=300)),
             _jpeg(Image.open(render_decision(tmp_path / "b.png", dpi=300, lines=other))),
             _jpeg(patchcode.render_sheet("T", 300))]  # a trailing patch sheet: nothing after
    with EsclResponder(page_bodies=stack, feed_end="nextdocument-409-feed-end.http",
                       hold_before=3) as scanner:
        station = Station(sp.Spool(tmp_path / "spool"), scanner_uri=f"escl:{scanner.url}",
                          unit=UNIT, sink=EmbeddedSink(runtime), recognize=False)
        server = ServerThread(create_app(station)).start()
        try:
            page.goto(server.url)
            page.wait_for_selector("body[data-ready]")
            page.click("#batch-link")
            page.wait_for_selector("body[data-ready]")
            assert page.title() == "Quét theo lô — sohoa"
            assert page.input_value("#scanner") == f"escl:{scanner.url}"  # the station's own
            page.click("#new-btn")
            # the feeder stops before page 3: what is examined so far shows as it comes,
            # split for a look but not editable, and nothing can be committed yet
            page.wait_for_selector(".doc.provisional", timeout=20_000)
            assert "(tạm)" in page.locator(".doc.provisional h3").first.text_content()
            assert page.locator(".doc.provisional button").count() == 0
            assert page.is_disabled("#commit-btn")
            assert "đã xem" in page.text_content("#summary")
            page.screenshot(path=str(artifacts / "lo-00-dang-quet.png"), full_page=True)
            scanner.resume.set()
            page.wait_for_selector("#state[data-state=ready]", timeout=120_000)
            assert page.locator(".doc.provisional").count() == 0
            # thumbnails are asked for by page and file, and kept by the browser: the view
            # re-renders every 0.7 s while a stack is scanned
            src = page.get_attribute(".thumb[data-page='0'] img", "src")
            assert src.endswith("/pages/0/thumb?v=00000.png")
            answer = page.request.get(server.url.rstrip("/") + src)
            assert answer.ok and "immutable" in answer.headers["cache-control"]
            assert page.locator(".doc:not(.dropped)").count() == 2
            assert "hồ sơ H26.01-0009" in page.locator(".doc h3").nth(1).text_content()
            dropped = page.locator(".dropped .thumb")  # the two separator sheets
            assert dropped.count() == 2
            assert "tờ phân cách (hồ sơ H26.01-0009)" in dropped.nth(0).text_content()
            assert "tờ phân cách (mã patch T)" in dropped.nth(1).text_content()
            page.wait_for_function("[...document.querySelectorAll('.thumb img')].every("
                                   "i => i.complete && i.naturalWidth > 100)", timeout=60_000)
            page.screenshot(path=str(artifacts / "lo-01-da-tach.png"), full_page=True)

            page.click(".thumb[data-page='2'] button[data-act=join]")
            page.wait_for_function("document.querySelectorAll('.doc:not(.dropped)').length === 1")
            page.click(".thumb[data-page='2'] button[data-act=start]")
            page.wait_for_function("document.querySelectorAll('.doc:not(.dropped)').length === 2")

            page.fill("#procedure", "1.001193")
            page.click("#commit-btn")
            page.wait_for_selector("#state[data-state=done]", timeout=180_000)
            assert "bị từ chối 0" in page.text_content("#summary")
            page.screenshot(path=str(artifacts / "lo-02-da-gui.png"), full_page=True)
        finally:
            server.stop()

    from storage.catalog import Document

    with runtime.session() as session:
        docs = session.query(Document).order_by(Document.dossier_code).all()
        assert len(docs) == 2 and {d.state for d in docs} <= {"stored", "needs_review"}
        assert [d.dossier_code for d in docs] == [None, "H26.01-0009"]
        assert all(d.procedure_code == "1.001193" for d in docs)
