"""Benchmark: the counter's staff time — Scan to thumbnails, Submit to "submitted" and to stored.

Prints figures, asserts nothing. Run: ``.venv/bin/python -m bench.station [--runs 3] [--pages 2]``.

A real station (FastAPI + uvicorn) on 127.0.0.1 scanning through SANE (the `pnm` file-reader
device loaded with a rendered Vietnamese decision at 200 dpi, colour, feeder; pages must carry
text since the pipeline refuses blank documents) and the embedded pipeline (SQLite, local
objects, TEST signing key) in a temporary SOHOA_HOME, driven by headless Chromium (the system
`chromium`) like the browser tests: type a dossier code, press Quét, wait for the thumbnails,
wait for recognition, correct one field, press Gửi, wait for the submission to be acknowledged
("submitted": on disk and queued), then for "đã lưu" in today's list. Typing is not timed.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path


def _sane_config(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "dll.conf").write_text("test\npnm\n")
    (folder / "test.conf").write_text('number_of_devices 1\nmode Color\nresolution 200\n'
                                      'test-picture "Color pattern"\n')
    return folder


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--pages", type=int, default=2)
    parser.add_argument("--quick", action="store_true", help="record the run as quick mode")
    args = parser.parse_args(argv)
    chromium = shutil.which("chromium")
    if not chromium:
        sys.exit("bench.station: the Debian package chromium is needed")

    tmp = Path(tempfile.mkdtemp(prefix="sohoa-bench-station-"))
    os.environ["SOHOA_HOME"] = str(tmp / "home")
    os.environ["SANE_CONFIG_DIR"] = str(_sane_config(tmp / "sane.d"))
    for name in ("SOHOA_DATABASE_URL", "SOHOA_STORAGE_URL", "SOHOA_BROKER_URL", "SOHOA_SIGNING_KEY"):
        os.environ.pop(name, None)

    import httpx
    import uvicorn
    from PIL import Image
    from playwright.sync_api import sync_playwright

    from scanners.profiles import ScanProfile
    from sohoa.runtime import get_runtime
    from station.app import Station, create_app
    from station.delivery import EmbeddedSink
    from station.spool import Spool
    from tests.pipeline.conftest import render_decision

    ppm = tmp / "quyet-dinh.ppm"
    Image.open(render_decision(tmp / "quyet-dinh.png", dpi=200)).convert("RGB").save(ppm)
    rt = get_runtime()
    rt.open()  # migrate + seed before timing
    profile = ScanProfile(name="bench", dpi=200, mode="color", source="adf", max_pages=args.pages)
    station = Station(Spool(tmp / "spool"), scanner_uri=f"sane:pnm:0?filename={ppm}", unit="00004",
                      sink=EmbeddedSink(rt), profiles={"bench": profile}, profile="bench",
                      retry_base=0.2)
    config = uvicorn.Config(create_app(station), host="127.0.0.1", port=0, log_level="warning")
    server = uvicorn.Server(config)
    threading.Thread(target=server.run, daemon=True).start()
    while not server.started:
        time.sleep(0.05)
    port = server.servers[0].sockets[0].getsockname()[1]
    url = f"http://127.0.0.1:{port}"
    httpx.get(url + "/api/info").raise_for_status()

    rows = []
    args_chromium = ["--no-sandbox", "--headless", "--disable-gpu", "--disable-background-networking",
                     "--disable-component-update", "--disable-sync", "--no-first-run"]
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium, args=args_chromium)
        page = browser.new_page(viewport={"width": 1360, "height": 900})
        page.goto(url)
        for n in range(args.runs + 1):  # run 0 warms up tesseract, fonts and the signer
            page.click("#new-btn")
            page.fill("#dossier", f"000.00.04.H26-2512{n + 1:02d}-0001")
            page.dispatch_event("#dossier", "change")
            t0 = time.perf_counter()
            page.click("#scan-btn")
            page.wait_for_function(
                f"document.querySelectorAll('#pages .page img').length === {args.pages} && "
                "[...document.querySelectorAll('#pages .page img')].every(i => i.complete)")
            t_thumbs = time.perf_counter()
            page.wait_for_function("document.querySelector('#rec-state').textContent === '' && "
                                   "document.querySelectorAll('#fields input').length > 0",
                                   timeout=120_000)
            t_rec = time.perf_counter()
            page.fill("#field-issuer", f"Ủy ban nhân dân phường Trúc Bạch ({n})")  # one correction
            if page.is_visible("#allow-duplicate"):  # the same paper each run: a deliberate copy
                page.check("#allow-duplicate")
            t1 = time.perf_counter()
            page.click("#submit-btn")
            page.wait_for_selector("#message.info")
            t_sent = time.perf_counter()
            try:
                page.wait_for_selector(
                    f"#today-list tr:has-text('000.00.04.H26-2512{n + 1:02d}-0001') "
                    ".state:text-is('đã lưu')",
                    timeout=180_000)
            except Exception:
                print(httpx.get(url + "/api/today").json(), file=sys.stderr)
                raise
            t_stored = time.perf_counter()
            if n:
                rows.append({"thumbs": t_thumbs - t0, "recognized": t_rec - t0,
                             "submitted": t_sent - t1, "stored": t_stored - t1})
        browser.close()
    server.should_exit = True
    station.stop()

    from bench import results as bench_results

    record = bench_results.start("station", quick=args.quick, args=vars(args))

    def show(label, key, per_page=True):
        values = [r[key] for r in rows]
        med = statistics.median(values)
        record.timings(label, values, "s")
        extra = f"   {med / args.pages:6.2f} s/page" if per_page else ""
        print(f"  {label:<44} median {med:6.2f} s  (min {min(values):.2f}, max {max(values):.2f}){extra}")

    print(f"bench.station: {args.runs} runs of {args.pages} pages, SANE pnm device 200 dpi colour, "
          f"embedded pipeline, {os.cpu_count()} CPUs")
    show("Scan pressed -> all thumbnails shown", "thumbs")
    show("Scan pressed -> type and fields recognized", "recognized")
    show("Submit pressed -> submitted (on disk, queued)", "submitted")
    show("Submit pressed -> stored (signed, in catalog)", "stored")
    staff = [r["thumbs"] + r["submitted"] for r in rows]
    staff_rec = [r["recognized"] + r["submitted"] for r in rows]
    print(f"  staff time Scan -> submitted, not waiting for recognition: median "
          f"{statistics.median(staff):.2f} s (target < 10 s for 2 pages)")
    record.timings(f"staff time Scan -> submitted, {args.pages} page(s)", staff, "s",
                   target=10 if args.pages <= 2 else None)
    print(f"  staff time Scan -> submitted, waiting for recognition:     median "
          f"{statistics.median(staff_rec):.2f} s")
    shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
