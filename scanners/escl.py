"""eSCL/AirScan network scanners over HTTP: `escl:http://host:port/eSCL`.

The protocol (Mopria eSCL): GET ScannerCapabilities; POST ScanJobs with ScanSettings XML (201 +
Location of the job, 503 when busy, 409 when the feeder is empty); GET <job>/NextDocument until
404 (no more pages); GET ScannerStatus tells a jam or an open cover apart from the end of a job.
"""

from __future__ import annotations

import contextlib
import io
import logging
import tempfile
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import httpx
from PIL import Image

from scanners.base import PageCallback, ScannedPage, Scanner, ScannerError, deliver
from scanners.profiles import ScanProfile

log = logging.getLogger(__name__)

NS = {"scan": "http://schemas.hp.com/imaging/escl/2011/05/03",
      "pwg": "http://www.pwg.org/schemas/2010/12/sm"}
_COLOR = {"color": "RGB24", "gray": "Grayscale8", "lineart": "BlackAndWhite1"}
_SOURCE = {"flatbed": "Platen", "adf": "Feeder", "duplex": "Feeder"}
_A4_300THS = (2480, 3508)  # A4 in 1/300 inch, the unit eSCL regions use

BUSY_RETRIES = 5


def scan_settings_xml(profile: ScanProfile, document_format: str = "image/jpeg") -> str:
    width, height = _A4_300THS
    duplex = "<scan:Duplex>true</scan:Duplex>" if profile.duplex else ""
    return (
        '<?xml version="1.0" encoding="UTF-8"?>'
        f'<scan:ScanSettings xmlns:scan="{NS["scan"]}" xmlns:pwg="{NS["pwg"]}">'
        "<pwg:Version>2.6</pwg:Version><scan:Intent>Document</scan:Intent>"
        "<pwg:ScanRegions><pwg:ScanRegion>"
        f"<pwg:Height>{height}</pwg:Height><pwg:Width>{width}</pwg:Width>"
        "<pwg:XOffset>0</pwg:XOffset><pwg:YOffset>0</pwg:YOffset>"
        "<pwg:ContentRegionUnits>escl:ThreeHundredthsOfInches</pwg:ContentRegionUnits>"
        "</pwg:ScanRegion></pwg:ScanRegions>"
        f"<pwg:InputSource>{_SOURCE[profile.source]}</pwg:InputSource>"
        f"<scan:ColorMode>{_COLOR[profile.mode]}</scan:ColorMode>"
        f"<scan:XResolution>{profile.dpi}</scan:XResolution>"
        f"<scan:YResolution>{profile.dpi}</scan:YResolution>"
        f"<pwg:DocumentFormat>{document_format}</pwg:DocumentFormat>"
        f"<scan:DocumentFormatExt>{document_format}</scan:DocumentFormatExt>{duplex}"
        "</scan:ScanSettings>"
    )


def parse_capabilities(xml: bytes | str) -> dict:
    root = ET.fromstring(xml)
    model = root.findtext("pwg:MakeAndModel", default="", namespaces=NS)
    caps: dict = {"model": model, "sources": {}}
    for tag, name in (("scan:Platen/scan:PlatenInputCaps", "flatbed"),
                      ("scan:Adf/scan:AdfSimplexInputCaps", "adf"),
                      ("scan:Adf/scan:AdfDuplexInputCaps", "duplex")):
        node = root.find(tag, NS)
        if node is None:
            continue
        caps["sources"][name] = {
            "modes": sorted({e.text for e in node.iterfind(".//scan:ColorMode", NS)}),
            "resolutions": sorted({int(e.text) for e in node.iterfind(".//scan:XResolution", NS)}),
            "formats": sorted({e.text for e in node.iterfind(".//pwg:DocumentFormat", NS)}),
        }
    return caps


def parse_status(xml: bytes | str) -> dict:
    root = ET.fromstring(xml)
    return {"state": root.findtext("pwg:State", default="", namespaces=NS),
            "adf": root.findtext("scan:AdfState", default="", namespaces=NS)}


_ADF_KINDS = {"ScannerAdfJam": "jammed", "ScannerAdfHatchOpen": "cover_open",
              "ScannerAdfEmpty": "no_docs", "ScannerAdfMispick": "jammed",
              "ScannerAdfMultipickDetected": "jammed"}


class EsclScanner(Scanner):
    def __init__(self, base_url: str, *, timeout: float = 30.0, busy_wait: float = 0.5):
        self.base = base_url.rstrip("/")
        self.uri = f"escl:{self.base}"
        self.busy_wait = busy_wait
        self.http = httpx.Client(timeout=timeout)

    @classmethod
    def from_uri(cls, uri: str) -> EsclScanner:
        return cls(uri.split(":", 1)[1])

    def _get(self, path: str) -> httpx.Response:
        try:
            return self.http.get(path if path.startswith("http") else f"{self.base}/{path}")
        except httpx.HTTPError as exc:
            raise ScannerError("offline", f"{self.uri}: {exc}") from exc

    def capabilities(self) -> dict:
        resp = self._get("ScannerCapabilities")
        if resp.status_code != 200:
            raise ScannerError("offline", f"{self.uri}: ScannerCapabilities answered {resp.status_code}")
        return parse_capabilities(resp.content)

    def status(self) -> dict:
        resp = self._get("ScannerStatus")
        return parse_status(resp.content) if resp.status_code == 200 else {}

    def options(self) -> dict:
        return self.capabilities()

    def _status_kind(self) -> str | None:
        try:
            return _ADF_KINDS.get(self.status().get("adf", ""))
        except ScannerError:
            return None

    def _create_job(self, profile: ScanProfile) -> str:
        body = scan_settings_xml(profile)
        for attempt in range(BUSY_RETRIES):
            try:
                resp = self.http.post(f"{self.base}/ScanJobs", content=body,
                                      headers={"Content-Type": "text/xml"})
            except httpx.HTTPError as exc:
                raise ScannerError("offline", f"{self.uri}: {exc}") from exc
            if resp.status_code in (200, 201) and resp.headers.get("location"):
                location = resp.headers["location"]
                return location if location.startswith("http") else str(
                    httpx.URL(self.base + "/").join(location))
            if resp.status_code == 503:
                time.sleep(self.busy_wait * (attempt + 1))
                continue
            if resp.status_code == 409:
                kind = self._status_kind() or "no_docs"
                raise ScannerError(kind, f"{self.uri}: ScanJobs refused (409, {kind})")
            raise ScannerError("other", f"{self.uri}: ScanJobs answered {resp.status_code}")
        raise ScannerError("busy", f"{self.uri}: still busy after {BUSY_RETRIES} attempts")

    def scan(self, profile: ScanProfile, on_page: PageCallback | None = None) -> list[ScannedPage]:
        job = self._create_job(profile)
        pages: list[ScannedPage] = []
        busy = 0
        while not (profile.max_pages and len(pages) >= profile.max_pages):
            try:
                resp = self.http.get(f"{job}/NextDocument")
            except httpx.HTTPError as exc:
                raise ScannerError("offline", f"{self.uri}: page {len(pages) + 1}: {exc}",
                                   pages=pages) from exc
            if resp.status_code == 200:
                busy = 0
                for image, dpi in _decode(resp.content, resp.headers.get("content-type", ""),
                                          profile.dpi, self.uri):
                    side = "back" if profile.duplex and len(pages) % 2 else "front"
                    deliver(pages, ScannedPage(image=image, dpi=dpi, mode=profile.mode, side=side),
                            on_page)
                if profile.source == "flatbed":
                    break
                continue
            if resp.status_code == 503 and busy < BUSY_RETRIES * 4:
                busy += 1
                time.sleep(self.busy_wait)
                continue
            if resp.status_code == 404:  # no more documents in this job — or did it stop?
                kind = self._status_kind()
                if kind in ("jammed", "cover_open") or (kind == "no_docs" and not pages):
                    raise ScannerError(kind, f"{self.uri}: job stopped after {len(pages)} page(s) "
                                       f"({kind})", pages=pages)
                if not pages:
                    raise ScannerError("no_docs", f"{self.uri}: the job delivered no page")
                break
            raise ScannerError("io", f"{self.uri}: NextDocument answered {resp.status_code}",
                               pages=pages)
        if profile.max_pages and len(pages) >= profile.max_pages:
            with contextlib.suppress(httpx.HTTPError):
                self.http.delete(job)
        return pages

    def close(self) -> None:
        self.http.close()


def _decode(data: bytes, content_type: str, dpi: int, where: str) -> list[tuple[Image.Image, int]]:
    if data[:5] == b"%PDF-" or "pdf" in content_type:
        from ocr.pages import InputError, load_pages

        with tempfile.TemporaryDirectory(prefix="sohoa-escl-") as tmp:
            path = Path(tmp) / "page.pdf"
            path.write_bytes(data)
            try:
                return [(p.image.copy(), p.dpi) for p in load_pages(path, default_dpi=dpi)]
            except InputError as exc:
                raise ScannerError("io", f"{where}: unreadable PDF page: {exc}") from exc
    try:
        image = Image.open(io.BytesIO(data))
        image.load()
    except Exception as exc:  # noqa: BLE001
        raise ScannerError("io", f"{where}: unreadable page image: {exc}") from exc
    found = image.info.get("dpi")
    page_dpi = int(round(found[0])) if found and found[0] >= 100 else dpi
    if image.mode not in ("1", "L", "RGB"):
        image = image.convert("RGB")
    return [(image, page_dpi)]
