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


# --- behaviour as sane-airscan drives eSCL, against captured responses ---------------------
from scanners.escl import EsclScanner, choose_settings, nearest_resolution, parse_capabilities  # noqa: E402
from tests.scanners.escl_responder import capture  # noqa: E402

RANGE_CAPS = capture("caps-range-simplex.xml").decode()


def _fast(srv) -> EsclScanner:
    scanner = open_scanner(f"escl:{srv.url}")
    scanner.retry_pause = 0.01
    return scanner


def test_capabilities_with_resolution_ranges_in_both_spellings():
    caps = parse_capabilities(RANGE_CAPS)
    assert caps["model"] == "Office MFP 4100"
    assert set(caps["sources"]) == {"flatbed", "adf"}  # no duplex advertised
    assert caps["sources"]["flatbed"]["resolution_range"] == {"min": 75, "max": 1200, "step": 25,
                                                              "normal": 300}
    adf = caps["sources"]["adf"]
    assert adf["resolutions"] == [] and adf["resolution_range"]["step"] == 150
    assert adf["max_width"] == 2475 and adf["modes"] == ["Grayscale8", "RGB24"]
    with EsclResponder(caps=RANGE_CAPS) as srv, _fast(srv) as scanner:
        assert scanner.capabilities()["sources"]["adf"]["resolution_range"]["max"] == 600


def test_nearest_supported_resolution_discrete_and_ranges():
    # 150 is nearer to 200 but under Decree 30's 200 dpi: the nearest at or above it wins
    assert nearest_resolution({"resolutions": [150, 300, 600]}, 200) == 300
    assert nearest_resolution({"resolutions": [150, 250, 350]}, 300) == 350  # tie goes up
    assert nearest_resolution({"resolutions": [100, 150]}, 300) == 150  # nothing better
    assert nearest_resolution({"resolutions": [150, 300, 600]}, 400) == 300
    rng = {"resolutions": [], "resolution_range": {"min": 100, "max": 600, "step": 150}}
    assert nearest_resolution(rng, 300) == 250  # 100, 250, 400, 550
    assert nearest_resolution(rng, 200) == 250
    assert nearest_resolution(rng, 1200) == 550  # never above the range
    assert nearest_resolution({"resolution_range": {"min": 75, "max": 1200, "step": 25}}, 300) == 300


def test_only_advertised_settings_are_requested():
    caps = parse_capabilities(RANGE_CAPS)
    chosen = choose_settings(caps, ScanProfile(dpi=200, mode="lineart", source="adf"))
    assert chosen["color_mode"] == "Grayscale8"  # no BlackAndWhite1 offered: nearest mode
    assert chosen["dpi"] == 250  # 200 is not offered on the feeder
    assert (chosen["width"], chosen["height"]) == (2475, 3300)  # A4 clamped to the feeder
    with pytest.raises(ScannerError) as err:
        choose_settings(caps, ScanProfile(source="duplex"))
    assert err.value.kind == "unsupported" and "offers: flatbed, adf" in str(err.value)
    with EsclResponder(pages=1, caps=RANGE_CAPS) as srv, _fast(srv) as scanner:
        scanner.scan(ScanProfile(dpi=200, mode="lineart", source="adf"))
        body = srv.settings[0]
    assert "BlackAndWhite1" not in body and "<scan:XResolution>250<" in body
    assert "<pwg:Width>2475</pwg:Width>" in body and "<scan:Duplex>false</scan:Duplex>" in body


def test_409_at_feed_end_is_the_clean_end_of_the_batch():
    with (EsclResponder(pages=10, feed_end="nextdocument-409-feed-end.http") as srv,
          _fast(srv) as scanner):
        pages = scanner.scan(ScanProfile(dpi=300, source="adf"))
    assert len(pages) == 10 and [p.index for p in pages] == list(range(10))


def test_empty_page_body_is_asked_again_not_delivered():
    with EsclResponder(pages=2, empty_bodies=2) as srv, _fast(srv) as scanner:
        pages = scanner.scan(ScanProfile(dpi=300, source="adf"))
        gets = [p for m, p in srv.requests if p.endswith("/NextDocument")]
    assert len(pages) == 2 and all(p.image.width > 100 for p in pages)
    assert len(gets) == 2 + 2 + 1  # two empty answers, two pages, the end of feed


def test_processing_scanner_is_waited_for_then_busy():
    with EsclResponder(pages=1, processing=3) as srv, _fast(srv) as scanner:
        assert len(scanner.scan(ScanProfile(source="adf"))) == 1
    with (EsclResponder(pages=1, processing=100) as srv, _fast(srv) as scanner,
          pytest.raises(ScannerError) as err):
        scanner.scan(ScanProfile(source="adf"))
    assert err.value.kind == "busy" and not any(m == "POST" for m, _ in srv.requests)


def test_failed_job_is_deleted_and_pages_kept():
    with (EsclResponder(pages=4, fail_at=3) as srv, _fast(srv) as scanner,
          pytest.raises(ScannerError) as err):
        scanner.scan(ScanProfile(source="adf"))
    assert err.value.kind == "io" and len(err.value.pages) == 2
    deletes = [p for m, p in srv.requests if m == "DELETE"]
    assert len(deletes) == 1 and deletes[0].startswith("/eSCL/ScanJobs/")


def test_adf_door_open_is_recognised_and_job_deleted():
    with (EsclResponder(pages=5, door_open_after=2) as srv, _fast(srv) as scanner,
          pytest.raises(ScannerError) as err):
        scanner.scan(ScanProfile(source="adf"))
    assert err.value.kind == "cover_open" and len(err.value.pages) == 2
    assert err.value.vi.startswith("Nắp máy quét")
    assert any(m == "DELETE" for m, _ in srv.requests)


def test_job_url_is_resolved_against_the_scanners_own_address():
    # the scanner writes a host it cannot be reached at (its mDNS name, another interface)
    with EsclResponder(pages=2, location_host="printer.local:8080") as srv, _fast(srv) as scanner:
        pages = scanner.scan(ScanProfile(source="adf"))
    assert len(pages) == 2


def test_busy_retries_follow_sane_airscan(monkeypatch):
    from scanners import escl

    slept = []
    monkeypatch.setattr(escl.time, "sleep", slept.append)
    with EsclResponder(pages=1, busy=50) as srv, open_scanner(f"escl:{srv.url}") as scanner:
        with pytest.raises(ScannerError) as err:
            scanner.scan(ScanProfile(source="adf"))
        posts = [r for r in srv.requests if r[0] == "POST"]
    assert err.value.kind == "busy" and len(posts) == escl.RETRY_ATTEMPTS == 10
    assert slept and set(slept) == {1.0}  # 1 s apart, as ESCL_RETRY_PAUSE
    assert escl.RETRY_ATTEMPTS_LOAD == 30


def test_scanners_list_offers_sane_airscan_and_direct_escl(tmp_path, monkeypatch):
    """`sohoa scanners list` shows a network scanner both through sane-airscan and directly."""
    import os
    import subprocess
    import sys

    from tests.scanners.conftest import sane_backend_available

    if not sane_backend_available("airscan"):
        from tests.conftest import service_unavailable

        service_unavailable("sane-airscan is not installed (scripts/apt-packages.txt)")
    conf = tmp_path / "sane.d"
    conf.mkdir()
    (conf / "dll.conf").write_text("airscan\n")
    with EsclResponder() as srv:
        (conf / "airscan.conf").write_text(
            f'[devices]\n"Phong mot cua" = {srv.url}/, eSCL\n[options]\ndiscovery = disable\n')
        env = {**os.environ, "SANE_CONFIG_DIR": str(conf)}
        out = subprocess.run([sys.executable, "-m", "sohoa.cli", "scanners", "list"], env=env,
                             capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert "sane:airscan:e0:Phong mot cua" in out.stdout
    assert f"escl:{srv.url}\t" in out.stdout


def test_cli_adf_batch_ending_in_409_exits_0(tmp_path):
    """The reported failure: 10 good pages, then 409 at feed end → exit 2. Now a clean end."""
    import subprocess
    import sys

    with EsclResponder(pages=10, feed_end="nextdocument-409-feed-end.http") as srv:
        run = subprocess.run([sys.executable, "-m", "sohoa.cli", "scanners", "scan",
                              f"escl:{srv.url}", "--source", "adf", "--out", str(tmp_path)],
                             capture_output=True, text=True, timeout=120)
        deletes = [r for r in srv.requests if r[0] == "DELETE"]
    assert run.returncode == 0, run.stderr
    assert len(list(tmp_path.glob("page-*.png"))) == 10 and len(deletes) == 1


def _protocol(requests) -> list[str]:
    """The eSCL conversation as method + resource (job ids and status polls left out)."""
    out = []
    for method, path in requests:
        if path.endswith("ScannerStatus") or path.endswith("ScannerCapabilities"):
            continue
        out.append(f"{method} {'NextDocument' if path.endswith('/NextDocument') else path.split('/')[2]}")
    return out


def test_same_conversation_as_sane_airscan_on_the_same_server(tmp_path):
    """sane-airscan (scanimage) and our driver against the same responder, 409 at feed end:
    one job, one NextDocument per page plus the one answered 409, then the job DELETEd."""
    import os
    import subprocess

    from tests.scanners.conftest import sane_backend_available

    if not sane_backend_available("airscan"):
        from tests.conftest import service_unavailable

        service_unavailable("sane-airscan is not installed (scripts/apt-packages.txt)")
    conf = tmp_path / "sane.d"
    conf.mkdir()
    (conf / "dll.conf").write_text("airscan\n")
    with EsclResponder(pages=3, page_dpi=300, feed_end="nextdocument-409-feed-end.http") as srv:
        (conf / "airscan.conf").write_text(
            f'[devices]\n"Loopback" = {srv.url}/, eSCL\n[options]\ndiscovery = disable\n')
        run = subprocess.run(["scanimage", "-d", "airscan:e0:Loopback", "--source", "ADF",
                              "--resolution", "300", f"--batch={tmp_path}/p%d.pnm"],
                             env={**os.environ, "SANE_CONFIG_DIR": str(conf)},
                             capture_output=True, text=True, timeout=120)
        theirs = _protocol(srv.requests)
        srv.requests.clear()
        with _fast(srv) as scanner:
            pages = scanner.scan(ScanProfile(dpi=300, source="adf"))
        ours = _protocol(srv.requests)
    assert "3 pages scanned" in run.stderr and len(list(tmp_path.glob("p*.pnm"))) == 3
    assert len(pages) == 3
    assert theirs == ours == ["POST ScanJobs"] + ["GET NextDocument"] * 4 + ["DELETE ScanJobs"]


def test_two_flatbed_scans_in_a_row_do_not_wait():
    with EsclResponder() as srv, _fast(srv) as scanner:
        for _ in range(2):
            assert len(scanner.scan(ScanProfile(source="flatbed"))) == 1
        posts = [r for r in srv.requests if r[0] == "POST"]
        polls = [r for r in srv.requests if r[1].endswith("ScannerStatus")]
    assert len(posts) == 2 and len(polls) == 2  # one Idle check before each job
