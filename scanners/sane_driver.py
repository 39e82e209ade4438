"""SANE scanners through python-sane: `sane:<device>` (e.g. `sane:test:0`, `sane:epson2:libusb:001:004`).

Extra SANE options may follow as a query: `sane:test:0?test-picture=Grid`. SANE is initialised
once per process (python-sane reads SANE_CONFIG_DIR then); calls are serialised with a lock.
Feeder pages are fetched one `start()`/`snap()` at a time so that each page reaches the caller
before the next is pulled; a jam or an open cover mid-batch keeps the pages already delivered.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from urllib.parse import parse_qsl

from scanners.base import DeviceInfo, PageCallback, ScannedPage, Scanner, ScannerError, deliver
from scanners.profiles import ScanProfile

log = logging.getLogger(__name__)

_lock = threading.RLock()
_initialised = False

# sane_strstatus() texts (sanei) → our error kinds
_STATUS_KINDS = [
    ("jammed", "jammed"), ("out of documents", "no_docs"), ("no docs", "no_docs"),
    ("cover is open", "cover_open"), ("cover open", "cover_open"), ("busy", "busy"),
    ("cancel", "cancelled"), ("not supported", "unsupported"), ("invalid argument", "unsupported"),
    ("access", "denied"), ("i/o", "io"), ("out of memory", "io"),
]

_PAGE_MM = {"A4": (210.0, 297.0), "A3": (297.0, 420.0), "A5": (148.0, 210.0)}


def _sane():
    global _initialised
    import sane  # python-sane; imported lazily so other drivers work without libsane

    with _lock:
        if not _initialised:
            sane.init()
            _initialised = True
    return sane


def reset() -> None:
    """Forget the SANE session (tests switch SANE_CONFIG_DIR between runs)."""
    global _initialised
    with _lock:
        if _initialised:
            import sane

            sane.exit()
            _initialised = False


def error_kind(exc: BaseException) -> str:
    text = str(exc).lower()
    for needle, kind in _STATUS_KINDS:
        if needle in text:
            return kind
    return "other"


def _as_error(exc: BaseException, where: str, pages: list[ScannedPage]) -> ScannerError:
    kind = error_kind(exc)
    return ScannerError(kind, f"{where}: {exc}", pages=list(pages))


def list_sane_devices() -> list[DeviceInfo]:
    sane = _sane()
    with _lock:
        found = sane.get_devices()
    return [DeviceInfo(uri=f"sane:{name}", vendor=vendor, model=model, kind=kind)
            for name, vendor, model, kind in found]


def _pick(choices, *wanted: str):
    """The first device choice matching one of `wanted` (case-insensitive substring)."""
    if not choices:
        return None
    for want in wanted:
        for choice in choices:
            if isinstance(choice, str) and want.lower() in choice.lower():
                return choice
    return None


class SaneScanner(Scanner):
    def __init__(self, device: str, extra: dict[str, str] | None = None):
        self.device_name = device
        self.uri = f"sane:{device}"
        self.extra = dict(extra or {})
        sane = _sane()
        with _lock:
            try:
                self.dev = sane.open(device)
            except Exception as exc:  # noqa: BLE001 - _sane.error / RuntimeError
                raise ScannerError("offline", f"{self.uri}: cannot open device: {exc}") from exc

    @classmethod
    def from_uri(cls, uri: str) -> SaneScanner:
        rest = uri.split(":", 1)[1]
        device, _, query = rest.partition("?")
        return cls(device, dict(parse_qsl(query)))

    def _opt(self, name: str):
        return self.dev.opt.get(name.replace("-", "_"))

    def set_option(self, name: str, value) -> None:
        """Set one SANE option by its SANE name (e.g. `read-return-value`)."""
        key = name.replace("-", "_")
        if key not in self.dev.opt:
            raise ScannerError("unsupported", f"{self.uri}: no option {name!r}")
        with _lock:
            setattr(self.dev, key, _coerce(value, self.dev.opt[key]))

    def options(self) -> dict:
        out = {}
        for name in ("source", "mode", "resolution"):
            opt = self._opt(name)
            if opt is not None:
                out[name] = {"value": getattr(self.dev, opt.py_name, None), "choices": opt.constraint}
        return out

    def _set(self, key: str, value) -> None:
        """Set an option only when it changes (re-setting `source` refills a test feeder)."""
        if getattr(self.dev, key, None) != value:
            setattr(self.dev, key, value)

    def _apply(self, profile: ScanProfile) -> None:
        mode = self._opt("mode")
        if mode is not None and mode.is_settable():
            wanted = {"color": ("color", "colour"), "gray": ("gray", "grey"),
                      "lineart": ("lineart", "binary", "halftone")}[profile.mode]
            choice = _pick(mode.constraint, *wanted)
            if choice is None:
                raise ScannerError("unsupported", f"{self.uri}: mode {profile.mode} not offered "
                                   f"(device offers {mode.constraint})")
            self._set("mode", choice)
        source = self._opt("source")
        if source is not None and source.is_settable():
            wanted = {"flatbed": ("flatbed",), "adf": ("automatic document feeder", "adf", "feeder"),
                      "duplex": ("duplex",)}[profile.source]
            choice = _pick(source.constraint, *wanted)
            if choice is None:
                raise ScannerError("unsupported", f"{self.uri}: source {profile.source} not offered "
                                   f"(device offers {source.constraint})")
            self._set("source", choice)
        res = self._opt("resolution")
        if res is not None and res.is_settable():
            self._set("resolution", profile.dpi)
        width, height = _PAGE_MM.get(profile.paper, _PAGE_MM["A4"])
        for name, value in (("tl-x", 0.0), ("tl-y", 0.0), ("br-x", width), ("br-y", height)):
            opt = self._opt(name)
            if opt is not None and opt.is_settable():
                if isinstance(opt.constraint, tuple):
                    value = min(value, opt.constraint[1])
                self._set(opt.py_name, value)
        for name, value in self.extra.items():
            self.set_option(name, value)

    def scan(self, profile: ScanProfile, on_page: PageCallback | None = None) -> list[ScannedPage]:
        pages: list[ScannedPage] = []
        with _lock:
            try:
                self._apply(profile)
            except ScannerError:
                raise
            except Exception as exc:  # noqa: BLE001
                raise _as_error(exc, f"{self.uri}: setting options", pages) from exc
        feeder = profile.source in ("adf", "duplex")
        while True:
            if profile.max_pages and len(pages) >= profile.max_pages:
                break
            with _lock:
                try:
                    self.dev.start()
                    image = self.dev.snap()
                except Exception as exc:  # noqa: BLE001 - _sane.error carries the SANE status text
                    kind = error_kind(exc)
                    if kind == "no_docs" and pages:
                        break  # the feeder ran empty: the batch is complete
                    with contextlib.suppress(Exception):
                        self.dev.cancel()
                    raise _as_error(exc, f"{self.uri}: page {len(pages) + 1}", pages) from exc
            dpi = int(round(float(getattr(self.dev, "resolution", profile.dpi) or profile.dpi)))
            side = "back" if profile.duplex and len(pages) % 2 else "front"
            deliver(pages, ScannedPage(image=image, dpi=dpi, mode=profile.mode, side=side), on_page)
            if not feeder:
                break
        return pages

    def close(self) -> None:
        with _lock, contextlib.suppress(Exception):
            self.dev.close()


def _coerce(value, opt):
    if not isinstance(value, str):
        return value
    if opt.type == 0:  # SANE_TYPE_BOOL
        return value.lower() in ("1", "yes", "true", "on")
    if opt.type == 1:  # SANE_TYPE_INT
        return int(value)
    if opt.type == 2:  # SANE_TYPE_FIXED
        return float(value)
    return value
