"""SANE scanners through python-sane: `sane:<device>` (e.g. `sane:test:0`, `sane:epson2:libusb:001:004`).

Extra SANE options may follow as a query: `sane:test:0?test-picture=Grid`. No SANE call runs in
this process: each opened device gets a SANE host, a child process (`scanners.sane_host`, started
with exec, never a fork of this threaded process) whose main thread makes every SANE call. SANE
backends are not thread-safe, and Debian's build cancels backend reader threads asynchronously,
which can leave a malloc arena locked for ever (see `sane_host`); in a child that costs a
restarted session, not a hung station. The child reads SANE_CONFIG_DIR when it starts.

Feeder pages are fetched one `start()`/`snap()` at a time so that each page reaches the caller
before the next is pulled; a jam or an open cover mid-batch keeps the pages already delivered.
After a device error, or when the host does not answer in time (it is then killed), the session
is retired; the next call starts a new one and sets again the options set with `set_option`.
"""

from __future__ import annotations

import logging
import socket
import subprocess
import sys
import threading
from multiprocessing.connection import Connection
from urllib.parse import parse_qsl

from PIL import Image

from scanners.base import DeviceInfo, PageCallback, ScannedPage, Scanner, ScannerError, deliver
from scanners.profiles import ScanProfile

log = logging.getLogger(__name__)

# sane_strstatus() texts (sanei) → our error kinds
_STATUS_KINDS = [
    ("jammed", "jammed"), ("out of documents", "no_docs"), ("no docs", "no_docs"),
    ("cover is open", "cover_open"), ("cover open", "cover_open"), ("busy", "busy"),
    ("cancel", "cancelled"), ("not supported", "unsupported"), ("invalid argument", "unsupported"),
    ("access", "denied"), ("i/o", "io"), ("out of memory", "io"),
]

CALL_TIMEOUT = 60.0  # open, options, device list (network discovery takes seconds)
PAGE_TIMEOUT = 180.0  # one sheet, ADF warm-up and 600 dpi colour included
RETIRE_GRACE = 3.0  # a retired host closes its device within this, or is killed


def error_kind(exc: BaseException | str) -> str:
    text = str(exc).lower()
    for needle, kind in _STATUS_KINDS:
        if needle in text:
            return kind
    return "other"


class HostDied(Exception):
    """The SANE host stopped answering (killed) or exited."""


class SaneHost:
    """One child process running `scanners.sane_host`; requests are serialised with a lock."""

    def __init__(self):
        parent, child = socket.socketpair()
        try:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "scanners.sane_host", str(child.fileno())],
                pass_fds=(child.fileno(),), stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                close_fds=True)
        except OSError:
            parent.close()
            raise
        finally:
            child.close()
        self.conn = Connection(parent.detach())
        self.lock = threading.Lock()

    def call(self, verb: str, *args, timeout: float = CALL_TIMEOUT):
        """Send one request; the reply's (status, value), plus the pixels for `page`."""
        with self.lock:
            try:
                self.conn.send((verb, *args))
                status, value = self._recv(timeout)
                if verb == "page" and status == "ok":
                    return status, value, self._recv_bytes(timeout)
                return status, value
            except (EOFError, OSError) as exc:
                self.kill()
                raise HostDied(f"the SANE host exited ({exc or type(exc).__name__})") from exc

    def _recv(self, timeout: float):
        if not self.conn.poll(timeout):
            self.kill()
            raise HostDied(f"the scanner did not answer within {timeout:.0f} s")
        return self.conn.recv()

    def _recv_bytes(self, timeout: float) -> bytes:
        if not self.conn.poll(timeout):
            self.kill()
            raise HostDied(f"the scanner did not answer within {timeout:.0f} s")
        return self.conn.recv_bytes()

    def alive(self) -> bool:
        return self.proc.poll() is None and not self.conn.closed

    def close(self, grace: float = RETIRE_GRACE) -> None:
        """Ask the host to close its device and exit; kill it if it does not within `grace`."""
        if self.proc.poll() is None and not self.conn.closed:
            try:
                self.conn.send(("close",))
                self.proc.wait(timeout=grace)
            except (OSError, subprocess.TimeoutExpired):
                log.warning("SANE host %s did not close in %.0f s: killed", self.proc.pid, grace)
        self.kill()

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        if not self.conn.closed:
            self.conn.close()


def list_sane_devices() -> list[DeviceInfo]:
    host = SaneHost()
    try:
        status, value = host.call("devices")
    except HostDied as exc:
        raise ScannerError("offline", f"SANE device list: {exc}") from exc
    finally:
        host.close()
    if status != "ok":
        raise ScannerError(error_kind(value), f"SANE device list: {value}")
    return [DeviceInfo(uri=f"sane:{name}", vendor=vendor, model=model, kind=kind)
            for name, vendor, model, kind in value]


def reset() -> None:
    """Nothing to forget: each device's SANE session lives and ends with its own host process
    (kept for callers that switch SANE_CONFIG_DIR between runs)."""


class SaneScanner(Scanner):
    def __init__(self, device: str, extra: dict[str, str] | None = None):
        self.device_name = device
        self.uri = f"sane:{device}"
        self.extra = dict(extra or {})
        self._set_options: dict[str, object] = {}  # set again on a new host
        self._lock = threading.RLock()
        self._host: SaneHost | None = None
        self._session()  # open now: a wrong device name fails here

    @classmethod
    def from_uri(cls, uri: str) -> SaneScanner:
        rest = uri.split(":", 1)[1]
        device, _, query = rest.partition("?")
        return cls(device, dict(parse_qsl(query)))

    def _session(self) -> SaneHost:
        """The live host with the device open (a new one after a retired or dead one)."""
        with self._lock:
            if self._host is not None and self._host.alive():
                return self._host
            self._host = None
            try:
                host = SaneHost()
            except OSError as exc:
                raise ScannerError("offline", f"{self.uri}: cannot start the SANE host: {exc}") \
                    from exc
            try:
                status, value = host.call("open", self.device_name)
                if status != "ok":
                    raise ScannerError("offline", f"{self.uri}: cannot open device: {value}")
                for name, val in self._set_options.items():
                    status, value = host.call("set_option", name, val)
                    if status != "ok":
                        raise ScannerError(error_kind(value), f"{self.uri}: option {name}: {value}")
            except HostDied as exc:
                host.kill()
                raise ScannerError("offline", f"{self.uri}: cannot open device: {exc}") from exc
            except ScannerError:
                host.close()
                raise
            self._host = host
            return host

    def _retire(self) -> None:
        """End the current session (after a device error or a hang); the next call opens anew."""
        with self._lock:
            host, self._host = self._host, None
        if host is not None:
            host.close()

    def _call(self, verb: str, *args, where: str, pages=(), timeout: float = CALL_TIMEOUT):
        try:
            return self._session().call(verb, *args, timeout=timeout)
        except HostDied as exc:
            self._retire()
            log.error("%s: %s: %s; SANE session restarted", self.uri, where, exc)
            raise ScannerError("io", f"{self.uri}: {where}: {exc}", pages=list(pages)) from exc

    def set_option(self, name: str, value) -> None:
        """Set one SANE option by its SANE name (e.g. `read-return-value`)."""
        status, text = self._call("set_option", name, value, where=f"option {name}")
        if status == "refused":
            raise ScannerError("unsupported", f"{self.uri}: {text}")
        if status != "ok":
            raise ScannerError(error_kind(text), f"{self.uri}: option {name}: {text}")
        self._set_options[name] = value

    def options(self) -> dict:
        status, value = self._call("options", where="options")
        return value if status == "ok" else {}

    def scan(self, profile: ScanProfile, on_page: PageCallback | None = None) -> list[ScannedPage]:
        pages: list[ScannedPage] = []
        status, text = self._call("apply", profile.mode, profile.source, profile.dpi,
                                  profile.paper, self.extra, where="setting options")
        if status == "refused":
            raise ScannerError("unsupported", f"{self.uri}: {text}")
        if status != "ok":
            self._retire()
            raise ScannerError(error_kind(text), f"{self.uri}: setting options: {text}")
        feeder = profile.source in ("adf", "duplex")
        while True:
            if profile.max_pages and len(pages) >= profile.max_pages:
                break
            reply = self._call("page", profile.dpi, where=f"page {len(pages) + 1}", pages=pages,
                               timeout=PAGE_TIMEOUT)
            if reply[0] != "ok":
                kind = error_kind(reply[1])
                if kind == "no_docs" and pages:
                    break  # the feeder ran empty: the batch is complete
                self._retire()  # the host cancels the scan; a backend hung there stays there
                raise ScannerError(kind, f"{self.uri}: page {len(pages) + 1}: {reply[1]}",
                                   pages=list(pages))
            (mode, size, dpi), pixels = reply[1], reply[2]
            image = Image.frombytes(mode, tuple(size), pixels)
            side = "back" if profile.duplex and len(pages) % 2 else "front"
            deliver(pages, ScannedPage(image=image, dpi=dpi, mode=profile.mode, side=side), on_page)
            if not feeder:
                break
        return pages

    def close(self) -> None:
        self._retire()
