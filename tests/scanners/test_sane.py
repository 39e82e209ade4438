"""SANE driver against the SANE `test` device: flatbed, feeder runs empty, jam / cover / no paper."""

from __future__ import annotations

import os
import signal

import pytest

from scanners import ScannerError, ScanProfile, list_devices, open_scanner


def test_lists_the_test_devices(sane_test):
    uris = [d.uri for d in list_devices()]
    assert "sane:test:0" in uris and "sane:test:1" in uris


def test_flatbed_gives_one_page_at_profile_dpi(sane_test):
    with open_scanner(sane_test) as scanner:
        pages = scanner.scan(ScanProfile(dpi=200, source="flatbed", mode="gray"))
    assert len(pages) == 1
    page = pages[0]
    assert page.dpi == 200 and page.mode == "gray" and page.image.mode == "L"
    # A4 clamped to the test device's 200 mm maximum, at 200 dpi
    assert page.image.width == pytest.approx(200 / 25.4 * 200, abs=3)


def test_feeder_scans_until_empty_then_says_no_paper(sane_test):
    received = []
    with open_scanner(sane_test) as scanner:
        pages = scanner.scan(ScanProfile(dpi=200, source="adf"), on_page=received.append)
        assert len(pages) == 10  # the test device's feeder holds 10 sheets
        assert [p.index for p in received] == list(range(10))
        assert all(p.image.mode == "RGB" for p in pages)
        scanner.set_option("read-return-value", "SANE_STATUS_NO_DOCS")  # nothing in the tray
        with pytest.raises(ScannerError) as err:
            scanner.scan(ScanProfile(dpi=200, source="adf"))
    assert err.value.kind == "no_docs"
    assert "hết giấy" in err.value.vi and err.value.pages == []


@pytest.mark.parametrize("status, kind, words", [
    ("SANE_STATUS_JAMMED", "jammed", "Kẹt giấy"),
    ("SANE_STATUS_COVER_OPEN", "cover_open", "Nắp máy quét đang mở"),
])
def test_device_failure_mid_batch_keeps_delivered_pages(sane_test, status, kind, words):
    stored = []
    with open_scanner(sane_test) as scanner:
        def store(page):
            stored.append(page)
            if len(stored) == 2:  # the third sheet fails
                scanner.set_option("read-return-value", status)

        with pytest.raises(ScannerError) as err:
            scanner.scan(ScanProfile(dpi=200, source="adf", max_pages=5), on_page=store)
    exc = err.value
    assert exc.kind == kind and words in exc.vi
    assert len(exc.pages) == 2 and exc.pages[0] is stored[0] and exc.pages[1] is stored[1]
    assert exc.to_dict()["pages_kept"] == 2


def test_no_docs_after_pages_ends_the_batch(sane_test):
    with open_scanner(sane_test) as scanner:
        def store(page):
            if page.index == 1:
                scanner.set_option("read-return-value", "SANE_STATUS_NO_DOCS")

        pages = scanner.scan(ScanProfile(dpi=200, source="adf"), on_page=store)
    assert len(pages) == 2


def test_uri_options_and_unknown_device(sane_test):
    with open_scanner("sane:test:0?test-picture=Solid white") as scanner:
        page = scanner.scan(ScanProfile(dpi=200, source="flatbed", mode="gray"))[0]
    assert page.image.getextrema() == (255, 255)
    with pytest.raises(ScannerError) as err:
        open_scanner("sane:nosuch:9")
    assert err.value.kind == "offline"


def test_pnm_device_scans_a_document_page(sane_document):
    with open_scanner(sane_document) as scanner:
        pages = scanner.scan(ScanProfile(dpi=200, source="adf", max_pages=2))
    assert len(pages) == 2 and pages[0].dpi == 200
    assert pages[0].image.size == (1653, 2339)  # A4 at 200 dpi as rendered
    assert pages[0].image.convert("L").getextrema()[0] < 50  # there is ink on it


def test_no_sane_call_runs_in_this_process(sane_test):
    """libsane's backends are not thread-safe, and Debian's build cancels their reader threads
    asynchronously (inside malloc() at times): they run in a child process, never in ours."""
    import sys

    with open_scanner(sane_test) as scanner:
        pages = scanner.scan(ScanProfile(dpi=200, source="adf", max_pages=3))
        host = scanner._host
        assert host is not None and host.proc.pid != os.getpid() and host.alive()
    assert len(pages) == 3
    assert "_sane" not in sys.modules and "sane" not in sys.modules
    assert host.proc.poll() is not None  # closing the scanner ends its host


def test_a_hung_scanner_is_killed_pages_kept_and_the_next_scan_works(sane_test, monkeypatch):
    from scanners import sane_driver

    monkeypatch.setattr(sane_driver, "PAGE_TIMEOUT", 3.0)
    with open_scanner(sane_test) as scanner:
        scanner.set_option("test-picture", "Solid white")  # kept across a new session
        hung = []

        def store(page):
            if page.index == 1:  # the backend stops answering while the third sheet feeds
                hung.append(scanner._host.proc)
                os.kill(hung[0].pid, signal.SIGSTOP)

        with pytest.raises(ScannerError) as err:
            scanner.scan(ScanProfile(dpi=200, source="adf", max_pages=5), on_page=store)
        assert err.value.kind == "io" and "did not answer within 3 s" in str(err.value)
        assert len(err.value.pages) == 2
        assert hung[0].poll() is not None  # killed, not left behind
        page = scanner.scan(ScanProfile(dpi=200, source="flatbed", mode="gray"))[0]
        assert scanner._host.proc.pid != hung[0].pid
    assert page.image.getextrema() == (255, 255)


def test_every_jam_ends_in_a_jam_message_and_the_next_scan_works(sane_test):
    """Each jam cancels the backend's reader thread just after it started (often in malloc()):
    in this process ~1,000 such cycles hung it; the host that cancelled is retired each time."""
    with open_scanner(sane_test) as scanner:
        for _ in range(8):
            scanner.set_option("read-return-value", "SANE_STATUS_JAMMED")
            with pytest.raises(ScannerError) as err:
                scanner.scan(ScanProfile(dpi=200, source="adf", max_pages=2))
            assert err.value.kind == "jammed"
            scanner.set_option("read-return-value", "Default")
            assert len(scanner.scan(ScanProfile(dpi=200, source="adf", max_pages=1))) == 1
