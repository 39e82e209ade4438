"""Delivery to the central server's ingest API: outage and retry, idempotency, refused key."""

from __future__ import annotations

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
