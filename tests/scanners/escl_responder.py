"""A tiny eSCL scanner on 127.0.0.1 for tests: generated JPEG (or PDF) pages, busy/jam/empty modes.

It can also replay captured responses (`tests/scanners/captures/`): capability documents with
resolution ranges, a 409 at the end of the feed, an empty page body, a scanner still
"Processing", an open ADF door. Every request is recorded (`requests`), DELETEs included.
"""

from __future__ import annotations

import io
import threading
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from PIL import Image, ImageDraw

CAPS = """<?xml version="1.0" encoding="UTF-8"?>
<scan:ScannerCapabilities xmlns:scan="http://schemas.hp.com/imaging/escl/2011/05/03"
    xmlns:pwg="http://www.pwg.org/schemas/2010/12/sm">
 <pwg:Version>2.63</pwg:Version><pwg:MakeAndModel>Loopback eSCL</pwg:MakeAndModel>
 <scan:Platen><scan:PlatenInputCaps>
  <scan:MinWidth>16</scan:MinWidth><scan:MaxWidth>2550</scan:MaxWidth><scan:MinHeight>16</scan:MinHeight><scan:MaxHeight>3508</scan:MaxHeight>
  <scan:SettingProfiles><scan:SettingProfile>
  <scan:ColorModes><scan:ColorMode>RGB24</scan:ColorMode><scan:ColorMode>Grayscale8</scan:ColorMode></scan:ColorModes>
  <scan:DocumentFormats><pwg:DocumentFormat>image/jpeg</pwg:DocumentFormat><pwg:DocumentFormat>application/pdf</pwg:DocumentFormat></scan:DocumentFormats>
  <scan:SupportedResolutions><scan:DiscreteResolutions>
   <scan:DiscreteResolution><scan:XResolution>200</scan:XResolution><scan:YResolution>200</scan:YResolution></scan:DiscreteResolution>
   <scan:DiscreteResolution><scan:XResolution>300</scan:XResolution><scan:YResolution>300</scan:YResolution></scan:DiscreteResolution>
  </scan:DiscreteResolutions></scan:SupportedResolutions>
 </scan:SettingProfile></scan:SettingProfiles></scan:PlatenInputCaps></scan:Platen>
 <scan:Adf><scan:AdfSimplexInputCaps>
  <scan:MinWidth>16</scan:MinWidth><scan:MaxWidth>2550</scan:MaxWidth><scan:MinHeight>16</scan:MinHeight><scan:MaxHeight>3508</scan:MaxHeight>
  <scan:SettingProfiles><scan:SettingProfile>
  <scan:ColorModes><scan:ColorMode>RGB24</scan:ColorMode></scan:ColorModes>
  <scan:DocumentFormats><pwg:DocumentFormat>image/jpeg</pwg:DocumentFormat></scan:DocumentFormats>
  <scan:SupportedResolutions><scan:DiscreteResolutions>
   <scan:DiscreteResolution><scan:XResolution>300</scan:XResolution><scan:YResolution>300</scan:YResolution></scan:DiscreteResolution>
  </scan:DiscreteResolutions></scan:SupportedResolutions>
 </scan:SettingProfile></scan:SettingProfiles></scan:AdfSimplexInputCaps></scan:Adf>
</scan:ScannerCapabilities>"""

STATUS = """<?xml version="1.0" encoding="UTF-8"?>
<scan:ScannerStatus xmlns:scan="http://schemas.hp.com/imaging/escl/2011/05/03"
    xmlns:pwg="http://www.pwg.org/schemas/2010/12/sm">
 <pwg:Version>2.63</pwg:Version><pwg:State>{state}</pwg:State><scan:AdfState>{adf}</scan:AdfState>
</scan:ScannerStatus>"""


CAPTURES = Path(__file__).with_name("captures")


def capture(name: str) -> bytes:
    return (CAPTURES / name).read_bytes()


def make_page(number: int, dpi: int = 100, fmt: str = "JPEG") -> bytes:
    img = Image.new("RGB", (int(8.27 * dpi), int(11.69 * dpi)), "white")
    ImageDraw.Draw(img).text((40, 40), f"Trang {number}", fill="black")
    buf = io.BytesIO()
    img.save(buf, fmt, dpi=(dpi, dpi), **({"resolution": dpi} if fmt == "PDF" else {}))
    return buf.getvalue()


class EsclResponder:
    """Serve `pages` scan pages per job; `busy` 503s first; `jam_after` pages then a jam."""

    def __init__(self, pages: int = 2, *, busy: int = 0, jam_after: int | None = None,
                 empty: bool = False, fmt: str = "JPEG", caps: str | None = None,
                 feed_end: str | None = None, empty_bodies: int = 0, processing: int = 0,
                 location_host: str | None = None, fail_at: int | None = None,
                 door_open_after: int | None = None, page_dpi: int = 100,
                 page_bodies: list[bytes] | None = None, duplex: bool = False,
                 hold_before: int | None = None):
        """`feed_end`: a capture replayed when the feeder is out (default a bare 404);
        `empty_bodies`: empty 200 answers before the first page; `processing`: status reads
        that say Processing before Idle; `location_host`: the host written into Location;
        `fail_at`: page number answered with 500; `door_open_after`: pages before the door opens;
        `page_bodies`: the pages of a feeder job (a prepared stack) instead of generated ones;
        `duplex`: the feeder also scans backs (stated as an ADF option, as many devices do);
        `hold_before`: the page number (1-based) the feeder stops before until `resume` is set
        (at most 25 s: a client reads with a 30 s timeout), to look at a scan in progress."""
        self.pages, self.busy, self.jam_after, self.empty, self.fmt = pages, busy, jam_after, empty, fmt
        self.caps = caps or CAPS
        if duplex:
            self.caps = self.caps.replace(
                "</scan:AdfSimplexInputCaps>", "</scan:AdfSimplexInputCaps><scan:AdfOptions>"
                "<scan:AdfOption>Duplex</scan:AdfOption></scan:AdfOptions>")
        self.feed_end, self.empty_bodies, self.processing = feed_end, empty_bodies, processing
        self.location_host, self.fail_at, self.door_open_after = location_host, fail_at, door_open_after
        self.page_dpi = page_dpi
        self.page_bodies = page_bodies
        self.hold_before, self.resume = hold_before, threading.Event()
        self.served = 0
        self.adf = "ScannerAdfEmpty" if empty else "ScannerAdfLoaded"
        self.jobs: dict[str, list[bytes]] = {}
        self.requests: list[tuple[str, str]] = []
        self.settings: list[str] = []
        responder = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def _send(self, code: int, body: bytes = b"", ctype="text/xml", headers=None):
                self.send_response(code)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(body)))
                for k, v in (headers or {}).items():
                    self.send_header(k, v)
                self.end_headers()
                self.wfile.write(body)

            def _replay(self, name: str):
                self.wfile.write(capture(name))

            def do_GET(self):
                responder.requests.append(("GET", self.path))
                if self.path == "/eSCL/ScannerCapabilities":
                    return self._send(200, responder.caps.encode())
                if self.path == "/eSCL/ScannerStatus":
                    if responder.processing > 0:
                        responder.processing -= 1
                        return self._send(200, capture("status-processing.xml"))
                    if responder.adf == "ScannerAdfDoorOpen":
                        return self._send(200, capture("status-door-open.xml"))
                    state = "Processing" if any(responder.jobs.values()) else "Idle"  # pages left
                    return self._send(200, STATUS.format(state=state, adf=responder.adf).encode())
                if self.path.endswith("/NextDocument"):
                    job = self.path.split("/")[-2]
                    queue = responder.jobs.get(job)
                    if queue is None:
                        return self._send(404)
                    if responder.empty_bodies > 0:
                        responder.empty_bodies -= 1
                        return self._replay("nextdocument-200-empty.http")
                    if not queue:
                        responder.jobs.pop(job, None)
                        if responder.door_open_after is not None:
                            responder.adf = "ScannerAdfDoorOpen"
                        if responder.feed_end:
                            return self._replay(responder.feed_end)
                        return self._send(404)
                    if responder.hold_before == responder.served + 1:
                        responder.resume.wait(25)
                    responder.served += 1
                    if responder.fail_at == responder.served:
                        return self._send(500)
                    body = queue.pop(0)
                    return self._send(200, body,
                                      "application/pdf" if responder.fmt == "PDF" else "image/jpeg")
                return self._send(404)

            def do_POST(self):
                responder.requests.append(("POST", self.path))
                body = self.rfile.read(int(self.headers.get("Content-Length", 0))).decode()
                if self.path != "/eSCL/ScanJobs":
                    return self._send(404)
                if responder.busy > 0:
                    responder.busy -= 1
                    return self._send(503)
                if responder.empty and "<pwg:InputSource>Feeder" in body:
                    return self._send(409)
                responder.settings.append(body)
                job = uuid.uuid4().hex
                count = responder.pages
                if responder.jam_after is not None:
                    count = responder.jam_after
                    responder.adf = "ScannerAdfJam"
                if responder.door_open_after is not None:
                    count = responder.door_open_after
                if "<pwg:InputSource>Platen" in body:
                    count = 1
                if responder.page_bodies is not None and "<pwg:InputSource>Feeder" in body:
                    responder.jobs[job] = list(responder.page_bodies)
                else:
                    responder.jobs[job] = [make_page(i + 1, dpi=responder.page_dpi, fmt=responder.fmt)
                                           for i in range(count)]
                location = f"/eSCL/ScanJobs/{job}"
                if responder.location_host:
                    location = f"http://{responder.location_host}{location}"
                return self._send(201, headers={"Location": location})

            def do_DELETE(self):
                responder.requests.append(("DELETE", self.path))
                responder.jobs.pop(self.path.split("/")[-1], None)
                return self._send(200)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/eSCL"
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.02},
                                       daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()
