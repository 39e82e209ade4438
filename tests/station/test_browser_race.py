"""The recognition race, played in headless Chromium: actions that start a new recognition while
one runs (rotate an upside-down page twice, scan the next page, move, delete, a plain scan) with
recognition made slow on purpose. 50 scripted runs; every run must end showing the recognition
of the pages as they are (never frozen), and at no moment may the page show a superseded result
as current (never stale).

The recognizer here is slow and reads the page images themselves: each page carries a black
square whose size says which page it is and whose corner says how it is turned, so a result made
for other pages or another rotation reads differently.
"""

from __future__ import annotations

import random
import threading
import time

from PIL import Image, ImageDraw

from scanners.base import ScannedPage
from station import spool as sp
from station.app import Station, create_app
from tests.station.conftest import UNIT, ServerThread

RUNS = 50
DELAY = 0.12  # seconds a recognition takes: long enough for actions to land inside it
CORNERS = {0: "TL", 90: "TR", 180: "BR", 270: "BL"}


class CountingScanner:
    """A scanner that feeds one new numbered page per scan, at once."""

    def __init__(self):
        self.count = 0

    def scan(self, profile, on_page):
        self.count += 1
        image = Image.new("L", (240, 340), 255)
        side = 20 + 8 * (self.count % 12)  # which page: the square's size
        ImageDraw.Draw(image).rectangle((4, 4, 4 + side, 4 + side), fill=0)  # top-left, upright
        on_page(ScannedPage(image=image, dpi=200, mode="gray", source_name=f"p{self.count}"))

    def close(self):
        pass


def read_pages(images) -> str:
    """What a recognizer sees: per page, the marker's size step and corner ("3TL,5BR")."""
    out = []
    for image, _dpi in images:
        g = image.convert("L")
        w, h = g.size
        dark = [(x, y) for x, y in ((6, 6), (w - 7, 6), (w - 7, h - 7), (6, h - 7))
                if g.getpixel((x, y)) < 128]
        corner = {(6, 6): "TL", (w - 7, 6): "TR", (w - 7, h - 7): "BR", (6, h - 7): "BL"}[dark[0]]
        row = h - 7 if corner[0] == "B" else 6
        xs = [x for x in range(w) if g.getpixel((x, row)) < 128]
        out.append(f"{round((len(xs) - 21) / 8)}{corner}")  # JPEG edges: ±1 pixel
    return ",".join(out)


def expected(station: Station, batch_id: str) -> str:
    """What the pages are now, from the batch on disk (sizes from the images, corners from the
    rotations staff applied)."""
    batch = station.spool.load(batch_id)
    out = []
    for page in batch["pages"]:
        image = station.spool.page_image(batch_id, page, rotated=False)
        size = read_pages([(image, 200)])[:-2]  # upright on disk: "<step>TL"
        out.append(f"{size}{CORNERS[page.get('rotation', 0)]}")
    return ",".join(out)


def slow_recognizer(calls: list):
    def recognize(images, lang="vie"):
        calls.append(threading.get_ident())
        time.sleep(DELAY)
        seen = read_pages(images)
        return {"document_type": "quyet_dinh", "type_name": "Quyết định", "type_confidence": 0.95,
                "confidence": 0.95, "fields": {"number": seen, "issued_on": "2026-12-05",
                                               "issuer": "UBND phường Ba Đình"},
                "field_confidence": {"number": 0.95, "issued_on": 0.95, "issuer": 0.95},
                "required": ["number", "issued_on", "issuer"], "low": [], "ocr_confidence": 0.9,
                "chars": 100, "text": seen}
    return recognize


# sampled in the page every 15 ms: a result shown as current (no "đang nhận dạng…") that was made
# for another version of the pages than the one on screen
WATCH = """() => {
  window.__stale = 0; window.__samples = 0;
  setInterval(() => {
    const rec = document.querySelector('#recognition');
    if (rec.hidden) return;
    window.__samples++;
    const pending = document.querySelector('#rec-state').textContent.includes('đang nhận dạng');
    if (!pending && rec.dataset.version !== document.body.dataset.batchVersion) window.__stale++;
  }, 15);
}"""

SETTLED = """([batch, version]) =>
  (document.body.dataset.batch !== batch || document.body.dataset.batchVersion !== version)
  && document.querySelector('#rec-state').textContent === ''
  && !document.querySelector('#recognition').hidden
  && document.querySelector('#recognition').dataset.version === document.body.dataset.batchVersion
  && !document.querySelector('#scan-btn').disabled
  && !!document.querySelector('#field-number')"""


def test_fifty_races_leave_no_stale_or_frozen_page(tmp_path, page, artifacts):
    calls: list = []
    station = Station(sp.Spool(tmp_path / "spool"), scanner_uri="test:counting", unit=UNIT,
                      sink=None, scanner=CountingScanner(), recognizer=slow_recognizer(calls))
    server = ServerThread(create_app(station, manage_lifecycle=False)).start()
    rnd = random.Random(15)
    frozen, stale_end, kinds = 0, 0, {}
    try:
        page.goto(server.url)
        page.wait_for_selector("body[data-ready]")
        page.evaluate(WATCH)

        def pages_on_screen() -> int:
            return page.locator("#pages .page").count()

        def scan_and_wait_for(n: int):
            page.click("#scan-btn")
            page.wait_for_function(f"document.querySelectorAll('#pages .page').length === {n}")

        def new_dossier(i: int):
            page.click("#new-btn")
            page.fill("#dossier", f"000.00.04.H26-261205-{i:04d}")
            page.press("#dossier", "Enter")  # Enter in the code field scans
            page.wait_for_function("document.querySelectorAll('#pages .page').length === 1")

        for run in range(RUNS):
            n = pages_on_screen()
            before = page.evaluate("[document.body.dataset.batch || '',"
                                   " document.body.dataset.batchVersion || '']")
            kind = rnd.choice(["rotate-twice", "two-quick-pages", "move", "delete", "plain"])
            if n == 0 or n >= 4 or kind == "plain":
                kind = "plain"
                new_dossier(run)
            elif kind == "rotate-twice":  # an upside-down page: ⟳ twice, the 2nd inside the 1st's run
                rotate = page.locator("#pages .page").nth(rnd.randrange(n)).locator("[data-act=rotate]")
                rotate.click()
                time.sleep(rnd.uniform(0, DELAY))
                rotate.click()
            elif kind == "two-quick-pages":
                scan_and_wait_for(n + 1)
                time.sleep(rnd.uniform(0, DELAY))
                page.wait_for_function("!document.querySelector('#scan-btn').disabled")
                scan_and_wait_for(n + 2)
            elif kind == "move" and n > 1:
                page.locator("#pages .page").nth(1).locator("[data-act=left]").click()
            elif kind == "delete" and n > 1:
                page.once("dialog", lambda d: d.accept())
                page.locator("#pages .page").nth(n - 1).locator("[data-act=delete]").click()
            else:
                kind = "rotate-once"
                page.locator("#pages .page").nth(0).locator("[data-act=rotate]").click()
            kinds[kind] = kinds.get(kind, 0) + 1
            try:
                page.wait_for_function(SETTLED, arg=before, timeout=10_000)
            except Exception:  # noqa: BLE001 - counted, then the test fails below
                frozen += 1
                page.screenshot(path=str(artifacts / f"race-frozen-{run:02d}.png"), full_page=True)
                continue
            batch_id = page.evaluate("document.body.dataset.batch")
            if page.input_value("#field-number") != expected(station, batch_id):
                stale_end += 1
                page.screenshot(path=str(artifacts / f"race-stale-{run:02d}.png"), full_page=True)
        stale_seen = page.evaluate("window.__stale")
        samples = page.evaluate("window.__samples")
        page.screenshot(path=str(artifacts / "race-last.png"), full_page=True)
    finally:
        server.stop()
        station.stop()
    print(f"race: {RUNS} runs {kinds}; frozen {frozen}, stale at the end {stale_end}, "
          f"stale samples {stale_seen}/{samples}; {len(calls)} recognitions")
    assert (frozen, stale_end, stale_seen) == (0, 0, 0)
    assert samples > 100 and len(kinds) >= 5
    # superseded work is dropped, not queued up: fewer recognitions than actions plus scans
    assert len(calls) < 3 * RUNS
