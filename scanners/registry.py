"""Pick a driver from a scanner URI and list the devices this machine can reach.

URIs: `sane:<device>[?option=value…]`, `escl:http://host[:port]/eSCL`, `folder:/path`,
`file:/a.pdf[,/b.tif…]`.
"""

from __future__ import annotations

from scanners.base import DeviceInfo, Scanner, ScannerError

SCHEMES = ("sane", "escl", "folder", "file")


def open_scanner(uri: str, **kw) -> Scanner:
    scheme = uri.split(":", 1)[0].lower() if ":" in uri else ""
    if scheme == "sane":
        from scanners.sane_driver import SaneScanner

        return SaneScanner.from_uri(uri)
    if scheme == "escl":
        from scanners.escl import EsclScanner

        return EsclScanner.from_uri(uri)
    if scheme == "folder":
        from scanners.hotfolder import HotFolder

        return HotFolder.from_uri(uri, **kw)
    if scheme == "file":
        from scanners.files import FileImport

        return FileImport.from_uri(uri)
    raise ScannerError("unsupported", f"{uri!r}: unknown scanner URI (expected one of "
                       f"{', '.join(s + ':' for s in SCHEMES)})",
                       vi=f"Địa chỉ máy quét không hợp lệ: {uri}")


def list_devices() -> list[DeviceInfo]:
    """SANE devices (which include eSCL scanners found by the airscan/escl backends)."""
    try:
        from scanners.sane_driver import list_sane_devices

        return list_sane_devices()
    except ImportError:
        return []
