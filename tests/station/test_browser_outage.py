"""The station in headless Chromium with a central server: the server down during submit and the
spool delivering later; the station process killed and restarted with work pending.
Screenshots go to test-artifacts/station/.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys

import pytest

from station import spool as sp
from station.app import create_app
from station.delivery import ServerSink
from tests.station.conftest import UNIT, ServerThread, free_port, wait_for
from tests.station.test_browser import _row_state, _scan_two, _station


@pytest.fixture
def central(runtime):
    from api.app import create_app as api_app
    from api.keys import create_client

    with runtime.session() as session:
        key = create_client(session, "tram-quet", ["ingest"], None)
    server = ServerThread(api_app(runtime=runtime, audit_batched=False), port=free_port())
    yield server, key
    server.stop()


def _server_document(runtime, doc_id):
    from storage.catalog import Document

    with runtime.session() as session:
        doc = session.get(Document, doc_id)
        return (doc.state, doc.source_sha256, doc.dossier_code) if doc else None


def test_server_down_during_submit_then_delivered(sane_document, runtime, central, tmp_path, page,
                                                  artifacts):
    api, key = central
    station = _station(tmp_path, ServerSink(api.url, key), scanner=sane_document)
    server = ServerThread(create_app(station)).start()
    try:
        _scan_two(page, server.url, "000.00.04.H26-250105-0007")
        page.click("#submit-btn")
        _row_state(page, "đang chờ")
        page.wait_for_selector("#today-list .reason:has-text('Mất kết nối')")
        page.screenshot(path=str(artifacts / "06-mat-ket-noi.png"), full_page=True)
        api.start(wait_path="/healthz")
        _row_state(page, "đã lưu")
        page.screenshot(path=str(artifacts / "07-da-gui-sau.png"), full_page=True)
    finally:
        server.stop()
    batch = station.spool.all()[0]
    assert batch["submission"]["attempts"] >= 2
    state, sha, dossier = _server_document(runtime, batch["submission"]["document_id"])
    assert (state, sha, dossier) == ("stored", batch["submission"]["sha256"], "000.00.04.H26-250105-0007")


def test_station_restart_resumes_spool(sane_document, runtime, central, tmp_path, page, artifacts):
    api, key = central
    profiles = tmp_path / "profiles.toml"
    profiles.write_text('[profiles.hai-trang]\ndpi = 200\nsource = "adf"\nmax_pages = 2\n')
    port = free_port()
    env = {**os.environ, "SOHOA_STATION_API_KEY": key, "SOHOA_HOME": str(tmp_path / "station-home")}
    cmd = [sys.executable, "-m", "sohoa.cli", "station", "--scanner", sane_document,
           "--server", api.url, "--unit", UNIT, "--port", str(port), "--spool",
           str(tmp_path / "spool"), "--profiles", str(profiles), "--profile", "hai-trang",
           "--no-recognize"]
    url = f"http://127.0.0.1:{port}"

    def launch():
        proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        import httpx

        def up():
            try:
                return httpx.get(url + "/api/info", timeout=1).status_code == 200
            except httpx.HTTPError:
                assert proc.poll() is None, proc.stderr.read().decode()
                return False

        wait_for(up, timeout=60, interval=0.2)
        return proc

    from api.app import create_app as api_app

    # the set-up check reaches the server once (another server process on the same address) …
    before = ServerThread(api_app(runtime=runtime, audit_batched=False), port=api.port)
    before.start(wait_path="/healthz")
    proc = launch()
    before.stop()  # … then the network drops
    try:
        _scan_two(page, url, "000.00.04.H26-250105-0099")
        page.click("#submit-btn")
        _row_state(page, "đang chờ")
        # a second batch scanned but not submitted when the PC goes down
        page.click("#new-btn")
        page.fill("#dossier", "000.00.04.H26-250105-0100")
        page.click("#scan-btn")
        page.wait_for_function("document.querySelectorAll('#pages .page img').length === 2")
        page.wait_for_function("!document.querySelector('#scan-btn').disabled")
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
    api.start(wait_path="/healthz")
    proc = launch()
    try:
        page.reload()
        page.wait_for_selector("body[data-ready]")
        page.wait_for_function("document.querySelectorAll('#pages .page img').length === 2")
        assert page.input_value("#dossier") == "000.00.04.H26-250105-0100"  # the unsent draft is back
        _row_state(page, "đã lưu")
        page.screenshot(path=str(artifacts / "08-sau-khoi-dong-lai.png"), full_page=True)
    finally:
        proc.terminate()
        proc.wait(timeout=15)
    spool = sp.Spool(tmp_path / "spool")
    sent = [b for b in spool.all() if b["dossier"] == "000.00.04.H26-250105-0099"][0]
    assert _server_document(runtime, sent["submission"]["document_id"])[1] == \
        sent["submission"]["sha256"]
    draft = [b for b in spool.all() if b["dossier"] == "000.00.04.H26-250105-0100"][0]
    assert draft["state"] == sp.DRAFT and len(draft["pages"]) == 2
