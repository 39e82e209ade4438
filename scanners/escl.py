"""eSCL/AirScan network scanners over HTTP: `escl:http://host:port/eSCL`.

Follows the protocol the way sane-airscan (`airscan-escl.c`) drives it, since that driver works
with every eSCL scanner we met:
- GET ScannerCapabilities; only advertised sources, colour modes, resolutions (discrete lists
  or ranges with a step: the nearest supported one is used) and scan areas (clamped to the
  source's maximum) are ever asked for;
- POST ScanJobs (201 + Location; the Location's path is resolved against the scanner's own
  address, never the host the scanner wrote into it); 503 is retried 10 times, 1 s apart;
- GET <job>/NextDocument per page; 503 is retried 30 times, 1 s apart (slow high-resolution
  devices need that); an empty 200 body is not a page and is asked again; 404/409/410 after at
  least one feeder page is the clean end of the batch ("feeder out of documents"), after which
  the job is DELETEd as sane-airscan does, so the server frees it at once;
- on any failure ScannerStatus tells a jam or an open ADF door from the end of the feed, and
  the job is DELETEd (a job left open keeps some scanners "Processing" until they crash);
- before a job, a scanner still "Processing" a previous job is waited for, then reported busy.
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

from ocr.pages import InputError, load_pages
from scanners.base import PageCallback, ScannedPage, Scanner, ScannerError, deliver
from scanners.profiles import MIN_DPI, ScanProfile

log = logging.getLogger(__name__)

NS = {"scan": "http://schemas.hp.com/imaging/escl/2011/05/03",
      "pwg": "http://www.pwg.org/schemas/2010/12/sm"}
# our mode → eSCL colour mode, and the fallbacks tried (in order) when a mode is not advertised
_COLOR = {"color": "RGB24", "gray": "Grayscale8", "lineart": "BlackAndWhite1"}
_MODE_FALLBACK = {"lineart": ("lineart", "gray", "color"), "gray": ("gray", "color"),
                  "color": ("color", "gray")}
_SOURCE = {"flatbed": "Platen", "adf": "Feeder", "duplex": "Feeder"}
_PAPER_300THS = {"A4": (2480, 3508), "A3": (3508, 4961), "A5": (1748, 2480)}
_FORMATS = ("image/jpeg", "application/pdf", "image/png")  # preferred order

# sane-airscan's retry policy (ESCL_RETRY_ATTEMPTS, ESCL_RETRY_ATTEMPTS_LOAD, ESCL_RETRY_PAUSE)
RETRY_ATTEMPTS = 10
RETRY_ATTEMPTS_LOAD = 30
RETRY_PAUSE_S = 1.0
BUSY_RETRIES = RETRY_ATTEMPTS  # kept for callers of the old name

# ScannerStatus AdfState → our error kind (None = loaded / fine)
_ADF_KINDS = {"ScannerAdfJam": "jammed", "ScannerAdfMispick": "jammed",
              "ScannerAdfMultipickDetected": "jammed", "ScannerAdfDoorOpen": "cover_open",
              "ScannerAdfHatchOpen": "cover_open", "ScannerAdfEmpty": "no_docs",
              "ScannerAdfProcessing": "no_docs",  # Kyocera says this once the feeder is empty
              "ScannerAdfLoaded": None}
_END_OF_FEED = (404, 409, 410)


def _int(node: ET.Element | None, path: str) -> int | None:
    text = node.findtext(path, default="", namespaces=NS) if node is not None else ""
    return int(text) if text.strip().isdigit() else None


def _parse_range(node: ET.Element) -> dict | None:
    """A ResolutionRange, in either spelling devices use (XResolutionRange or XResolution)."""
    for tag in ("scan:XResolutionRange", "scan:XResolution"):
        x = node.find(tag, NS)
        if x is not None and _int(x, "scan:Min") is not None:
            lo, hi = _int(x, "scan:Min"), _int(x, "scan:Max") or _int(x, "scan:Min")
            step = _int(x, "scan:Step") or 1
            return {"min": lo, "max": hi, "step": max(1, step), "normal": _int(x, "scan:Normal")}
    return None


def _parse_source(node: ET.Element) -> dict:
    modes, formats, discrete, ranges = set(), set(), set(), []
    for profile in node.iterfind(".//scan:SettingProfile", NS):
        modes |= {e.text.strip() for e in profile.iterfind(".//scan:ColorMode", NS) if e.text}
        for tag in ("pwg:DocumentFormat", "scan:DocumentFormatExt"):
            formats |= {e.text.strip().lower() for e in profile.iterfind(f".//{tag}", NS)
                        if e.text}
        for res in profile.iterfind(".//scan:DiscreteResolution", NS):
            x, y = _int(res, "scan:XResolution"), _int(res, "scan:YResolution")
            if x and (y is None or y == x):
                discrete.add(x)
        for rng in profile.iterfind(".//scan:ResolutionRange", NS):
            parsed = _parse_range(rng)
            if parsed:
                ranges.append(parsed)
    source = {"modes": sorted(modes), "formats": sorted(formats),
              "resolutions": sorted(discrete),
              # sane-airscan prefers the discrete list when a device gives both
              "resolution_range": ranges[0] if ranges and not discrete else None,
              "max_width": _int(node, "scan:MaxWidth"), "max_height": _int(node, "scan:MaxHeight"),
              "min_width": _int(node, "scan:MinWidth"), "min_height": _int(node, "scan:MinHeight")}
    return source


def parse_capabilities(xml: bytes | str) -> dict:
    """Model and, per source (flatbed, adf, duplex), modes, formats, resolutions and areas.

    `resolutions` is the discrete list; `resolution_range` ({min, max, step}) is set instead
    when the device gives only a range. Sizes are in 1/300 inch, as eSCL states them.
    """
    try:
        root = ET.fromstring(xml)
    except ET.ParseError as exc:
        raise ScannerError("io", f"ScannerCapabilities is not valid XML: {exc}") from None
    model = (root.findtext("pwg:MakeAndModel", default="", namespaces=NS)
             or root.findtext("pwg:ModelName", default="", namespaces=NS))
    caps: dict = {"model": model, "sources": {}}
    for tag, name in (("scan:Platen/scan:PlatenInputCaps", "flatbed"),
                      ("scan:Adf/scan:AdfSimplexInputCaps", "adf"),
                      ("scan:Adf/scan:AdfDuplexInputCaps", "duplex")):
        node = root.find(tag, NS)
        if node is not None:
            caps["sources"][name] = _parse_source(node)
    # some devices state duplex as an ADF option over the simplex capabilities
    options = {e.text for e in root.iterfind("scan:Adf/scan:AdfOptions/scan:AdfOption", NS)}
    if "duplex" not in caps["sources"] and "Duplex" in options and "adf" in caps["sources"]:
        caps["sources"]["duplex"] = dict(caps["sources"]["adf"])
    return caps


def nearest_resolution(source: dict, wanted: int, floor: int = MIN_DPI) -> int:
    """The supported resolution nearest to `wanted`, ties going up; never one under `floor`
    (Decree 30's 200 dpi) when the device offers any at or above it."""
    if source.get("resolutions"):
        choices = [r for r in source["resolutions"] if r >= floor] or source["resolutions"]
    elif source.get("resolution_range"):
        rng = source["resolution_range"]
        choices = list(range(rng["min"], rng["max"] + 1, rng["step"]))
        choices = [r for r in choices if r >= floor] or choices
    else:
        return wanted
    return min(choices, key=lambda r: (abs(r - wanted), -r))


def choose_settings(caps: dict, profile: ScanProfile) -> dict:
    """What to ask the scanner for: only what it advertised, nearest to the profile.

    Raises ScannerError('unsupported') when the source itself is not offered (a duplex batch
    on a simplex feeder would silently lose every back).
    """
    sources = caps.get("sources", {})
    if profile.source not in sources:
        offered = ", ".join(sources) or "none"
        raise ScannerError("unsupported", f"source {profile.source} not offered by the scanner "
                           f"(it offers: {offered})")
    source = sources[profile.source]
    modes = set(source.get("modes") or [])
    mode = next((m for m in _MODE_FALLBACK[profile.mode] if not modes or _COLOR[m] in modes), None)
    if mode is None:
        raise ScannerError("unsupported", f"no usable colour mode (scanner offers {sorted(modes)})")
    formats = source.get("formats") or ["image/jpeg"]
    fmt = next((f for f in _FORMATS if f in formats), formats[0])
    width, height = _PAPER_300THS.get(profile.paper, _PAPER_300THS["A4"])
    if source.get("max_width"):
        width = min(width, source["max_width"])
    if source.get("max_height"):
        height = min(height, source["max_height"])
    return {"source": profile.source, "input_source": _SOURCE[profile.source],
            "duplex": profile.duplex, "mode": mode, "color_mode": _COLOR[mode],
            "dpi": nearest_resolution(source, profile.dpi), "format": fmt,
            "width": width, "height": height}


def scan_settings_xml(settings: dict | ScanProfile, document_format: str = "image/jpeg") -> str:
    """The ScanSettings body; `settings` from `choose_settings` (a profile is taken as is)."""
    if isinstance(settings, ScanProfile):
        width, height = _PAPER_300THS.get(settings.paper, _PAPER_300THS["A4"])
        settings = {"input_source": _SOURCE[settings.source], "duplex": settings.duplex,
                    "color_mode": _COLOR[settings.mode], "dpi": settings.dpi,
                    "format": document_format, "width": width, "height": height}
    duplex = ""
    if settings["input_source"] == "Feeder":  # like sane-airscan: stated for the feeder only
        duplex = f"<scan:Duplex>{'true' if settings['duplex'] else 'false'}</scan:Duplex>"
    fmt = settings["format"]
    return (
        '<?xml version="1.0" encoding="UTF-8"?>'
        f'<scan:ScanSettings xmlns:scan="{NS["scan"]}" xmlns:pwg="{NS["pwg"]}">'
        "<pwg:Version>2.6</pwg:Version><scan:Intent>Document</scan:Intent>"
        "<pwg:ScanRegions><pwg:ScanRegion>"
        f"<pwg:Height>{settings['height']}</pwg:Height><pwg:Width>{settings['width']}</pwg:Width>"
        "<pwg:XOffset>0</pwg:XOffset><pwg:YOffset>0</pwg:YOffset>"
        "<pwg:ContentRegionUnits>escl:ThreeHundredthsOfInches</pwg:ContentRegionUnits>"
        "</pwg:ScanRegion></pwg:ScanRegions>"
        f"<pwg:InputSource>{settings['input_source']}</pwg:InputSource>"
        f"<scan:ColorMode>{settings['color_mode']}</scan:ColorMode>"
        f"<scan:XResolution>{settings['dpi']}</scan:XResolution>"
        f"<scan:YResolution>{settings['dpi']}</scan:YResolution>"
        f"<pwg:DocumentFormat>{fmt}</pwg:DocumentFormat>"
        f"<scan:DocumentFormatExt>{fmt}</scan:DocumentFormatExt>{duplex}"
        "</scan:ScanSettings>"
    )


def parse_status(xml: bytes | str) -> dict:
    try:
        root = ET.fromstring(xml)
    except ET.ParseError:
        return {}
    return {"state": root.findtext("pwg:State", default="", namespaces=NS),
            "adf": root.findtext("scan:AdfState", default="", namespaces=NS)}


def status_kind(status: dict) -> str | None:
    """The error kind a ScannerStatus reports (jam, open door, empty feeder), or None."""
    state = status.get("state", "")
    if state in ("Stopped", "Down"):
        adf = _ADF_KINDS.get(status.get("adf", ""))
        return adf or "offline"
    return _ADF_KINDS.get(status.get("adf", ""))


class EsclScanner(Scanner):
    def __init__(self, base_url: str, *, timeout: float = 30.0, retry_pause: float = RETRY_PAUSE_S):
        self.base = base_url.rstrip("/")
        self.uri = f"escl:{self.base}"
        self.retry_pause = retry_pause
        self.http = httpx.Client(timeout=timeout)
        self._caps: dict | None = None
        self.last_settings: dict | None = None

    @classmethod
    def from_uri(cls, uri: str) -> EsclScanner:
        return cls(uri.split(":", 1)[1])

    # kept for callers and tests that set the old attribute
    @property
    def busy_wait(self) -> float:
        return self.retry_pause

    @busy_wait.setter
    def busy_wait(self, value: float) -> None:
        self.retry_pause = value

    def _url(self, path: str) -> str:
        """A URL on the scanner's own address: a Location's host is never trusted, its path is."""
        if "://" in path:
            url = httpx.URL(path)
            path = url.raw_path.decode()
        base = httpx.URL(self.base + "/")
        return str(base.join(path))

    def _request(self, method: str, path: str, **kw) -> httpx.Response:
        try:
            return self.http.request(method, self._url(path), **kw)
        except httpx.HTTPError as exc:
            raise ScannerError("offline", f"{self.uri}: {method} {path}: {exc}") from exc

    def capabilities(self) -> dict:
        resp = self._request("GET", "ScannerCapabilities")
        if resp.status_code != 200:
            raise ScannerError("offline", f"{self.uri}: ScannerCapabilities answered {resp.status_code}")
        caps = parse_capabilities(resp.content)
        if not caps["sources"]:
            raise ScannerError("unsupported", f"{self.uri}: capabilities list neither platen nor ADF")
        self._caps = caps
        return caps

    def status(self) -> dict:
        resp = self._request("GET", "ScannerStatus")
        return parse_status(resp.content) if resp.status_code == 200 else {}

    def options(self) -> dict:
        return self.capabilities()

    def _status_kind(self) -> str | None:
        try:
            return status_kind(self.status())
        except ScannerError:
            return None

    def _cancel(self, job: str) -> None:
        """DELETE a job, as sane-airscan does after any error (never raises)."""
        with contextlib.suppress(ScannerError, httpx.HTTPError):
            self._request("DELETE", job)

    def _wait_idle(self) -> None:
        """A scanner still 'Processing' a previous job refuses or garbles a new one: wait."""
        for _ in range(RETRY_ATTEMPTS):
            try:
                state = self.status().get("state")
            except ScannerError:
                return  # ScanJobs will tell
            if state != "Processing":
                return
            time.sleep(self.retry_pause)
        raise ScannerError("busy", f"{self.uri}: scanner still Processing after "
                           f"{RETRY_ATTEMPTS} checks")

    def _create_job(self, settings: dict) -> str:
        body = scan_settings_xml(settings)
        for _ in range(RETRY_ATTEMPTS):
            resp = self._request("POST", "ScanJobs", content=body,
                                 headers={"Content-Type": "text/xml"})
            if resp.status_code in (200, 201) and resp.headers.get("location"):
                return self._url(resp.headers["location"])
            if resp.status_code == 503:
                time.sleep(self.retry_pause)
                continue
            if resp.status_code == 409:
                kind = self._status_kind() or "no_docs"
                raise ScannerError(kind, f"{self.uri}: ScanJobs refused (409, {kind})")
            raise ScannerError("other", f"{self.uri}: ScanJobs answered {resp.status_code}")
        raise ScannerError("busy", f"{self.uri}: still busy after {RETRY_ATTEMPTS} attempts")

    def scan(self, profile: ScanProfile, on_page: PageCallback | None = None) -> list[ScannedPage]:
        settings = choose_settings(self._caps or self.capabilities(), profile)
        self.last_settings = settings
        if settings["dpi"] != profile.dpi or settings["mode"] != profile.mode:
            log.info("%s: asking %s dpi %s (profile wanted %s dpi %s)", self.uri, settings["dpi"],
                     settings["mode"], profile.dpi, profile.mode)
        self._wait_idle()
        job = self._create_job(settings)
        pages: list[ScannedPage] = []
        try:
            self._load_pages(job, settings, profile, pages, on_page)
        except ScannerError as exc:
            self._cancel(job)
            exc.pages = pages
            raise
        except BaseException:
            self._cancel(job)
            raise
        if profile.max_pages and len(pages) >= profile.max_pages:
            self._cancel(job)  # stop the feeder: the rest stays in the tray
        return pages

    def _load_pages(self, job: str, settings: dict, profile: ScanProfile,
                    pages: list[ScannedPage], on_page: PageCallback | None) -> None:
        feeder = settings["input_source"] == "Feeder"
        retries = 0
        next_doc = job.rstrip("/") + "/NextDocument"
        while not (profile.max_pages and len(pages) >= profile.max_pages):
            resp = self._request("GET", next_doc)
            where = f"{self.uri}: page {len(pages) + 1}"
            if resp.status_code == 200 and resp.content:
                retries = 0
                for image, dpi in _decode(resp.content, resp.headers.get("content-type", ""),
                                          settings["dpi"], where):
                    side = "back" if settings["duplex"] and len(pages) % 2 else "front"
                    deliver(pages, ScannedPage(image=image, dpi=dpi, mode=settings["mode"],
                                               side=side), on_page)
                if not feeder:
                    return
                continue
            if resp.status_code in (200, 503):  # empty body or busy: ask again, like a 503
                retries += 1
                if retries >= RETRY_ATTEMPTS_LOAD:
                    raise ScannerError("io", f"{where}: no page after {retries} attempts "
                                       f"(last answer {resp.status_code}, "
                                       f"{len(resp.content)} bytes)")
                kind = self._status_kind()
                if kind in ("jammed", "cover_open", "offline"):
                    raise ScannerError(kind, f"{where}: scanner reports {kind}")
                time.sleep(self.retry_pause)
                continue
            if resp.status_code in _END_OF_FEED:
                kind = self._status_kind()
                if kind in ("jammed", "cover_open", "offline"):
                    raise ScannerError(kind, f"{where}: job stopped ({kind})")
                if pages:
                    log.info("%s: feeder out of documents after %d page(s) (%d)", self.uri,
                             len(pages), resp.status_code)
                    self._cancel(job)  # as sane-airscan: the server frees the job at once
                    return  # the clean end of a batch
                raise ScannerError("no_docs", f"{where}: the job delivered no page "
                                   f"(NextDocument {resp.status_code})")
            raise ScannerError("io", f"{where}: NextDocument answered {resp.status_code}")

    def close(self) -> None:
        self.http.close()


def _decode(data: bytes, content_type: str, dpi: int, where: str) -> list[tuple[Image.Image, int]]:
    if data[:5] == b"%PDF-" or "pdf" in content_type:
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
