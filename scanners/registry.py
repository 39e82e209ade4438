"""Pick a driver from a scanner URI and list the devices this machine can reach.

URIs: `sane:<device>[?option=value…]`, `escl:http://host[:port]/eSCL`, `folder:/path`,
`file:/a.pdf[,/b.tif…]`.
"""

from __future__ import annotations

import os
from pathlib import Path

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
    """Every way to reach a scanner: SANE devices (USB, and network eSCL scanners through
    sane-airscan) and the same network scanners directly (`escl:` URIs from airscan.conf)."""
    devices: list[DeviceInfo] = []
    try:
        from scanners.sane_driver import list_sane_devices

        devices.extend(list_sane_devices())
    except ImportError:
        pass
    except ScannerError:
        pass
    devices.extend(escl_devices_from_airscan_conf())
    return devices


def airscan_conf_paths() -> list[Path]:
    folders = [p for p in os.environ.get("SANE_CONFIG_DIR", "").split(":") if p] or ["/etc/sane.d"]
    return [Path(f) / "airscan.conf" for f in folders]


def escl_devices_from_airscan_conf() -> list[DeviceInfo]:
    """eSCL scanners named in sane-airscan's `[devices]` section (`"Name" = http://…, eSCL`),
    offered as direct `escl:` URIs beside their `sane:airscan:` twins."""
    found: list[DeviceInfo] = []
    for path in airscan_conf_paths():
        try:
            lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
        except OSError:
            continue
        section = ""
        for raw in lines:
            line = raw.split(";", 1)[0].split("#", 1)[0].strip()
            if line.startswith("[") and line.endswith("]"):
                section = line[1:-1].strip().lower()
                continue
            if section != "devices" or "=" not in line:
                continue
            name, _, value = line.partition("=")
            url, _, proto = (v.strip() for v in value.partition(","))
            if url.startswith("http") and proto.lower() in ("", "escl"):
                found.append(DeviceInfo(uri=f"escl:{url.rstrip('/')}", vendor="eSCL",
                                        model=name.strip().strip('"'), kind="escl (direct)"))
    return found
