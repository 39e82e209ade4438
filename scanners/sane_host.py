"""The SANE host: a child process that owns one SANE session and makes every SANE call.

Run as `python -m scanners.sane_host FD` by `scanners.sane_driver`, never imported by the
station or the test process for SANE work: libsane and its backends are not thread-safe, and
some are not even safe in a process of their own threads. The Debian build of sane-backends runs
a backend's reader (`sanei_thread`) as a pthread with *asynchronous* cancellation, and
`sane_cancel()` / the end of a page cancel it wherever it is — inside `malloc()` included. The
malloc arena lock it held is then never released: the reader hangs in its own thread exit and
`sane_cancel()` waits for it for ever, or a later `free()` anywhere in the process does (seen as
hung station tests; reproduced in ~1,000 jam/cancel cycles of the `test` backend). In a child,
that damage stays in the child: the driver stops answering, the parent kills it and starts a new
one.

The protocol is one request, one reply, over a `multiprocessing.connection.Connection` on the
socket whose descriptor is the first argument: requests are tuples `(verb, *args)`, replies
`("ok", value)` or `("error", text)`. A page comes back as `("ok", (mode, size, dpi))` followed
by the raw pixels as one `send_bytes` message. All calls run on this process's main thread.
"""

from __future__ import annotations

import contextlib
import os
import socket
import sys
from multiprocessing.connection import Connection

_PAGE_MM = {"A4": (210.0, 297.0), "A3": (297.0, 420.0), "A5": (148.0, 210.0)}

_WANTED_MODE = {"color": ("color", "colour"), "gray": ("gray", "grey"),
                "lineart": ("lineart", "binary", "halftone")}
_WANTED_SOURCE = {"flatbed": ("flatbed",), "adf": ("automatic document feeder", "adf", "feeder"),
                  "duplex": ("duplex",)}


class Refused(Exception):
    """A request the device cannot honour (unknown option, mode not offered): not a device fault."""


def _pick(choices, *wanted: str):
    """The first device choice matching one of `wanted` (case-insensitive substring)."""
    for want in wanted:
        for choice in choices or ():
            if isinstance(choice, str) and want.lower() in choice.lower():
                return choice
    return None


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


class Session:
    """One opened SANE device, driven from this process's main thread only."""

    def __init__(self):
        import sane  # python-sane

        self.sane = sane
        sane.init()
        self.dev = None

    def devices(self):
        return [tuple(d) for d in self.sane.get_devices()]

    def open(self, device: str):
        self.dev = self.sane.open(device)
        return True

    def _opt(self, name: str):
        return self.dev.opt.get(name.replace("-", "_"))

    def _set(self, key: str, value) -> None:
        """Set an option only when it changes (re-setting `source` refills a test feeder)."""
        if getattr(self.dev, key, None) != value:
            setattr(self.dev, key, value)

    def set_option(self, name: str, value):
        key = name.replace("-", "_")
        if key not in self.dev.opt:
            raise Refused(f"no option {name!r}")
        setattr(self.dev, key, _coerce(value, self.dev.opt[key]))
        return True

    def options(self):
        out = {}
        for name in ("source", "mode", "resolution"):
            opt = self._opt(name)
            if opt is not None:
                out[name] = {"value": getattr(self.dev, opt.py_name, None),
                             "choices": opt.constraint}
        return out

    def apply(self, mode: str, source: str, dpi: int, paper: str, extra: dict):
        opt = self._opt("mode")
        if opt is not None and opt.is_settable():
            choice = _pick(opt.constraint, *_WANTED_MODE[mode])
            if choice is None:
                raise Refused(f"mode {mode} not offered (device offers {opt.constraint})")
            self._set("mode", choice)
        opt = self._opt("source")
        if opt is not None and opt.is_settable():
            choice = _pick(opt.constraint, *_WANTED_SOURCE[source])
            if choice is None:
                raise Refused(f"source {source} not offered (device offers {opt.constraint})")
            self._set("source", choice)
        opt = self._opt("resolution")
        if opt is not None and opt.is_settable():
            self._set("resolution", dpi)
        width, height = _PAGE_MM.get(paper, _PAGE_MM["A4"])
        for name, value in (("tl-x", 0.0), ("tl-y", 0.0), ("br-x", width), ("br-y", height)):
            opt = self._opt(name)
            if opt is not None and opt.is_settable():
                if isinstance(opt.constraint, tuple):
                    value = min(value, opt.constraint[1])
                self._set(opt.py_name, value)
        for name, value in extra.items():
            self.set_option(name, value)
        return True

    def page(self, default_dpi: int):
        """One sheet: start + read, without the cancel python-sane's snap() does at its end
        (a backend may hang in that cancel: `serve` cancels after the reply).
        Returns (mode, size, dpi, pixels)."""
        self.dev.start()
        image = self.dev.snap(no_cancel=True)
        dpi = int(round(float(getattr(self.dev, "resolution", default_dpi) or default_dpi)))
        return image.mode, image.size, dpi, image.tobytes()

    def cancel(self) -> bool:
        """End the scan (after the last sheet of a batch, or after a failed one)."""
        with contextlib.suppress(Exception):
            self.dev.cancel()
        return True

    def close(self) -> None:
        if self.dev is not None:
            with contextlib.suppress(Exception):
                self.dev.close()
            self.dev = None


def serve(conn: Connection) -> None:
    session = None
    while True:
        try:
            request = conn.recv()
        except (EOFError, OSError):
            return  # the parent is gone
        verb, args = request[0], request[1:]
        if verb == "close":
            if session is not None:
                session.close()
            conn.send(("ok", True))
            return
        try:
            if session is None:
                session = Session()
            if verb == "page":
                mode, size, dpi, pixels = session.page(*args)
                conn.send(("ok", (mode, size, dpi)))
                conn.send_bytes(pixels)
                session.cancel()  # as snap() would have, once the sheet is safe with the parent
                continue
            value = getattr(session, verb)(*args)
        except Refused as exc:
            conn.send(("refused", str(exc)))
            continue
        except Exception as exc:  # noqa: BLE001 - _sane.error carries the SANE status text
            conn.send(("error", str(exc) or type(exc).__name__))
            if verb == "page":
                session.cancel()  # after the reply: if the backend hangs here, only we hang
            continue
        conn.send(("ok", value))


def main(argv: list[str]) -> int:
    fd = int(argv[1])
    # backends may print to stdout; keep it off anything the parent reads
    os.dup2(2, 1)
    sock = socket.socket(fileno=fd)
    conn = Connection(sock.detach())
    try:
        serve(conn)
    except (BrokenPipeError, ConnectionResetError):
        pass  # the parent went away (closed or killed us) while we answered
    finally:
        conn.close()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
