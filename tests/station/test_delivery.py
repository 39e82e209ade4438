"""Delivery to the central server's ingest API: outage and retry, idempotency, refused key."""

from __future__ import annotations

import httpx
import pytest
from PIL import Image

from station import spool as sp
from station.delivery import Deliverer, ServerSink
from tests.pipeline.conftest import render_decision
from tests.station.conftest import UNIT, ServerThread, free_port, wait_for


@pytest.fixture
def central(runtime):
    """The real API app over the test runtime, and an ingest key for this station's unit."""
    from api.app import create_app
    from api.keys import create_client

    with runtime.session() as session:
        # A key for the whole province: the API scopes by unit *version*, and a result issued
        # in 2021 moves to the 2021 version of code 00004 (reported to the API's owner).
        key = create_client(session, "tram-quet-1", ["ingest"], None)
    server = ServerThread(create_app(runtime=runtime, audit_batched=False), port=free_port())
    yield server, key
    server.stop()


def _queued_batch(spool: sp.Spool, image: Image.Image, dossier="H26-KS-0001") -> str:
    batch = spool.create(dossier=dossier, procedure="1.001193", unit=UNIT)
    spool.add_page(batch["id"], image, dpi=200, mode="color")
    path, sha = spool.build_submission(batch["id"])
    with spool.edit(batch["id"]) as b:
        b["submission"] = {"sha256": sha, "idempotency_key": f"{b['id']}.{sha[:32]}",
                           "attempts": 0, "next_attempt_at": 0, "document_id": None}
        b["state"] = sp.QUEUED
    return batch["id"]


def test_server_down_then_up_delivers_from_the_spool(central, tmp_path):
    server, key = central
    spool = sp.Spool(tmp_path / "spool")
    page = Image.open(render_decision(tmp_path / "qd.png", dpi=200))
    bid = _queued_batch(spool, page)
    deliverer = Deliverer(spool, ServerSink(server.url, key), base_delay=0.05, max_delay=0.2)
    deliverer.tick()
    deliverer.tick()
    batch = spool.load(bid)
    assert batch["state"] == sp.QUEUED and batch["submission"]["attempts"] >= 1
    assert "Mất kết nối" in batch["submission"]["error_vi"]
    assert (spool.dir(bid) / "submission.pdf").exists()  # nothing deleted while undelivered

    server.start(wait_path="/healthz")
    wait_for(lambda: (deliverer.tick(), spool.load(bid)["state"])[1] in sp.FINAL, timeout=90,
             interval=0.3)
    batch = spool.load(bid)
    assert batch["state"] == sp.STORED, batch
    doc_id = batch["submission"]["document_id"]
    from sohoa.runtime import get_runtime
    from storage.catalog import Document

    with get_runtime().session() as session:
        doc = session.get(Document, doc_id)
        assert doc.state == "stored" and doc.dossier_code == "H26-KS-0001"
        assert doc.source_sha256 == batch["submission"]["sha256"]
        # the sheet count travelled with the upload to the archive record of the dossier
        from storage.records import ArchiveDocument, get_record

        row = session.query(ArchiveDocument).filter_by(document_id=doc_id).one()
        assert row.sheets == 1 and row.record.code == "H26-KS-0001"
        assert get_record(session, "H26-KS-0001").sheet_count == 1

    # A resend of the same submission (e.g. the answer was lost) gives the same document.
    again = ServerSink(server.url, key).submit(batch, spool.dir(bid) / "submission.pdf")
    assert again == {"document_id": doc_id, "duplicate": True}


def test_refused_key_fails_with_a_reason_and_keeps_the_scan(central, tmp_path):
    server, _key = central
    server.start(wait_path="/healthz")
    spool = sp.Spool(tmp_path / "spool")
    bid = _queued_batch(spool, Image.new("RGB", (400, 560), "white"))
    Deliverer(spool, ServerSink(server.url, "sohoa_bad_key"), base_delay=0.05).tick()
    batch = spool.load(bid)
    assert batch["state"] == sp.FAILED
    assert "SOHOA_STATION_API_KEY" in batch["submission"]["error_vi"]
    assert (spool.dir(bid) / "submission.pdf").exists()


def test_a_refused_submission_says_so_in_vietnamese_without_server_details(central, tmp_path):
    """The server refuses (here: a unit it does not know); the page's reason carries no path,
    no English — the details go to the log and the batch's last_error."""
    import re

    server, key = central
    server.start(wait_path="/healthz")
    spool = sp.Spool(tmp_path / "spool")
    bid = _queued_batch(spool, Image.new("RGB", (400, 560), "white"))
    with spool.edit(bid) as b:
        b["unit"] = "99999"
    Deliverer(spool, ServerSink(server.url, key), base_delay=0.05).tick()
    batch = spool.load(bid)
    assert batch["state"] == sp.FAILED
    reason = batch["submission"]["error_vi"]
    assert reason.startswith("Hệ thống không nhận bản quét này")
    assert "/" not in reason and not re.search(r"\b(unit|unknown|error|code)\b", reason, re.I)
    assert "99999" in batch["submission"]["last_error"]  # for the technician, in the log/spool


def test_the_server_names_a_stored_paper_only_to_keys_that_may_see_it(central, runtime):
    """`GET /v1/ingest/duplicates`: what a station in server mode asks before submitting."""
    from datetime import date

    from api.keys import create_client
    from storage.catalog import Document, Result
    from storage.units import find_unit

    server, key = central
    with runtime.session() as session:
        unit = find_unit(session, UNIT)
        result = Result(dossier_code="000.00.04.H26-261128-0003", unit=unit,
                        document_number="15/QĐ-UBND", issuer="UBND phường Ba Đình",
                        issued_on=date(2026, 12, 5), document_type="quyet_dinh")
        session.add(result)
        session.flush()
        session.add(Document(state="stored", source_name="a.pdf", source_sha256="b" * 64,
                             source_size=1, unit=unit, result_id=result.id,
                             dossier_code=result.dossier_code))
        other = create_client(session, "tram-quet-xa-khac", ["ingest"], "00007")
        session.commit()
    server.start(wait_path="/healthz")
    ask = {"unit": UNIT, "number": "15/QĐ-UBND", "issuer": "UBND phường Ba Đình",
           "issued_on": date(2026, 12, 5), "text": None}
    found = ServerSink(server.url, key).stored_elsewhere(**ask, dossier="000.00.04.H26-261205-0007")
    assert [d["dossier"] for d in found] == ["000.00.04.H26-261128-0003"]
    same_dossier = ServerSink(server.url, key).stored_elsewhere(
        **ask, dossier="000.00.04.H26-261128-0003")
    assert same_dossier == []
    assert ServerSink(server.url, key).stored_elsewhere(
        **{**ask, "issued_on": date(2026, 12, 6)}, dossier=None) == []
    with pytest.raises(httpx.HTTPStatusError) as refused:  # not its unit: asking is refused
        ServerSink(server.url, other).stored_elsewhere(**ask, dossier=None)
    assert refused.value.response.status_code == 403
    # its own unit: the other unit's paper is not named
    assert ServerSink(server.url, other).stored_elsewhere(
        **{**ask, "unit": "00007"}, dossier=None) == []


def test_embedded_failure_reaches_staff_in_vietnamese(runtime, tmp_path):
    import time

    from station.delivery import EmbeddedSink
    from tests.ocr import hostile

    sink = EmbeddedSink(runtime)
    try:
        pdf = hostile.giant_page_pdf(tmp_path / "khong-lo.pdf", inches=116)
        accepted = sink.submit({"unit": UNIT}, pdf)
        batch = {"submission": {"document_id": accepted["document_id"]}}
        deadline = time.monotonic() + 60
        while (status := sink.status(batch))["state"] == sp.PROCESSING:
            assert time.monotonic() < deadline, status
            time.sleep(0.1)
    finally:
        sink.close()
    assert status["state"] == sp.FAILED
    assert status["error"] == "Tệp khong-lo.pdf: trang 1 của tệp PDF quá lớn (295x295 cm), " \
                              "không xử lý được", status


def test_a_scan_the_server_holds_but_no_worker_took_shows_waiting_for_the_server(
        central, runtime, tmp_path):
    """A broker outage or a lost message: the server has the scan (`received`) but nobody works
    on it. The counter says "đang chờ máy chủ xử lý", not "đang xử lý"; it clears on its own."""
    from datetime import timedelta

    from station.app import summary
    from storage.catalog import Document, utcnow
    from storage.units import find_unit

    server, key = central
    server.start(wait_path="/healthz")
    with runtime.session() as session:
        doc = Document(state="received", source_name="cho.pdf", source_sha256="c" * 64,
                       source_size=1, unit=find_unit(session, UNIT))
        session.add(doc)
        session.flush()
        doc.updated_at = utcnow() - timedelta(minutes=3)
        doc_id = doc.id
    spool = sp.Spool(tmp_path / "spool")
    bid = _queued_batch(spool, Image.new("RGB", (400, 560), "white"))
    with spool.edit(bid) as b:
        b["state"], b["submission"]["document_id"] = sp.PROCESSING, doc_id
    deliverer = Deliverer(spool, ServerSink(server.url, key))
    deliverer.follow(bid)
    assert summary(spool.load(bid))["state_vi"] == "đang chờ máy chủ xử lý"
    with runtime.session() as session:  # a worker takes it
        session.get(Document, doc_id).lease_owner = "worker-1:123:1:m"
    deliverer.follow(bid)
    assert summary(spool.load(bid))["state_vi"] == "đang xử lý"

