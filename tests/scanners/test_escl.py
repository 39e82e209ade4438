"""eSCL client against a loopback eSCL responder."""

from __future__ import annotations

import pytest

from scanners import ScannerError, ScanProfile, open_scanner
from tests.scanners.escl_responder import EsclResponder


def test_capabilities():
    with EsclResponder() as srv, open_scanner(f"escl:{srv.url}") as scanner:
        caps = scanner.capabilities()
    assert caps["model"] == "Loopback eSCL"
    assert caps["sources"]["flatbed"]["resolutions"] == [200, 300]
    assert "RGB24" in caps["sources"]["adf"]["modes"]


def test_feeder_job_delivers_every_page_then_ends_on_404():
    got = []
    with EsclResponder(pages=3) as srv, open_scanner(f"escl:{srv.url}") as scanner:
        pages = scanner.scan(ScanProfile(dpi=300, source="adf"), on_page=got.append)
        settings = srv.settings[0]
    assert len(pages) == 3 and got == pages
    assert pages[0].dpi == 100  # the JPEG's own resolution wins over the request
    assert "<pwg:InputSource>Feeder</pwg:InputSource>" in settings
    assert "<scan:XResolution>300</scan:XResolution>" in settings
    assert "<scan:ColorMode>RGB24</scan:ColorMode>" in settings


def test_busy_scanner_is_retried():
    with EsclResponder(pages=1, busy=2) as srv:
        scanner = open_scanner(f"escl:{srv.url}")
        scanner.busy_wait = 0.01
        pages = scanner.scan(ScanProfile(source="flatbed"))
        posts = [r for r in srv.requests if r[0] == "POST"]
    assert len(pages) == 1 and len(posts) == 3


def test_jam_keeps_delivered_pages():
    with (EsclResponder(pages=5, jam_after=2) as srv, open_scanner(f"escl:{srv.url}") as scanner,
          pytest.raises(ScannerError) as err):
        scanner.scan(ScanProfile(source="adf"))
    assert err.value.kind == "jammed" and len(err.value.pages) == 2
    assert err.value.vi.startswith("Kẹt giấy")


def test_empty_feeder_and_offline():
    with (EsclResponder(empty=True) as srv, open_scanner(f"escl:{srv.url}") as scanner,
          pytest.raises(ScannerError) as err):
        scanner.scan(ScanProfile(source="adf"))
    assert err.value.kind == "no_docs"
    with pytest.raises(ScannerError) as err:
        open_scanner("escl:http://127.0.0.1:9/eSCL").capabilities()
    assert err.value.kind == "offline"


def test_pdf_pages_are_rasterized():
    with EsclResponder(pages=2, fmt="PDF") as srv, open_scanner(f"escl:{srv.url}") as scanner:
        pages = scanner.scan(ScanProfile(source="adf"))
    assert len(pages) == 2 and pages[0].image.width > 500
