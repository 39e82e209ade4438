"""Scanner drivers behind one small interface (`scanners.base.Scanner`).

Drivers: SANE (`sane:`), eSCL/AirScan over HTTP (`escl:`), a watched hot folder (`folder:`) and
file import (`file:`). `scanners.registry.open_scanner(uri)` picks one from a URI. Device errors
(jam, no paper, cover open …) become `ScannerError` with a Vietnamese message for counter staff.
This package knows nothing of the database.
"""

from scanners.base import DeviceInfo, ScannedPage, Scanner, ScannerError
from scanners.profiles import ScanProfile
from scanners.registry import list_devices, open_scanner

__all__ = ["DeviceInfo", "ScanProfile", "ScannedPage", "Scanner", "ScannerError", "list_devices",
           "open_scanner"]
