"""The driver interface: devices, scanned pages, and device errors with Vietnamese messages.

A driver's `scan(profile, on_page=...)` delivers pages one by one as they come off the device,
calling `on_page(page)` for each before scanning the next, so a caller can put every page on disk
first. When the device fails mid-batch it raises `ScannerError` whose `.pages` holds the pages
already delivered: they are good and must be kept.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field

from PIL import Image

from scanners.profiles import ScanProfile

# Error kinds and what counter staff read. Keep them short, in plain words, with what to do next.
MESSAGES_VI = {
    "jammed": "Kẹt giấy trong máy quét. Hãy gỡ giấy kẹt rồi bấm Quét.",
    "no_docs": "Khay nạp giấy đã hết giấy. Hãy đặt giấy vào khay rồi bấm Quét.",
    "cover_open": "Nắp máy quét đang mở. Hãy đóng nắp rồi bấm Quét.",
    "busy": "Máy quét đang bận. Hãy chờ vài giây rồi thử lại.",
    "offline": "Không kết nối được máy quét. Hãy kiểm tra dây cáp/mạng và nguồn điện của máy.",
    "io": "Máy quét báo lỗi khi đọc dữ liệu. Hãy thử quét lại; nếu vẫn lỗi, tắt rồi bật lại máy quét.",
    "denied": "Không có quyền dùng máy quét này. Hãy báo bộ phận kỹ thuật.",
    "cancelled": "Đã hủy lượt quét.",
    "unsupported": "Máy quét không hỗ trợ thiết lập này. Hãy chọn cấu hình quét khác.",
    "bad_file": "Tệp không đọc được như một bản quét.",
    "other": "Máy quét gặp lỗi. Hãy thử lại; nếu vẫn lỗi, báo bộ phận kỹ thuật.",
}


class ScannerError(Exception):
    """A device or input problem. `str(e)` is English for logs, `.vi` is for counter staff.

    `.pages` holds the pages delivered before the failure (they are good and must be kept).
    """

    def __init__(self, kind: str, message: str, *, vi: str | None = None,
                 pages: list[ScannedPage] | None = None):
        super().__init__(message)
        self.kind = kind if kind in MESSAGES_VI else "other"
        self.vi = vi or MESSAGES_VI[self.kind]
        self.pages: list[ScannedPage] = pages or []

    def to_dict(self) -> dict:
        return {"kind": self.kind, "message": str(self), "vi": self.vi,
                "pages_kept": len(self.pages)}


@dataclass
class DeviceInfo:
    uri: str
    vendor: str = ""
    model: str = ""
    kind: str = ""

    @property
    def label(self) -> str:
        return " ".join(p for p in (self.vendor, self.model) if p) or self.uri


@dataclass
class ScannedPage:
    """One page image off a device: `dpi` gives its physical size, `mode` is color|gray|lineart."""

    image: Image.Image
    dpi: int
    mode: str
    index: int = 0
    side: str = "front"  # front | back (duplex)
    source_name: str = ""  # the file it came from (hot folder, file import)
    extra: dict = field(default_factory=dict)


PageCallback = Callable[[ScannedPage], None]


class Scanner(ABC):
    """One opened device. Drivers are used from one thread at a time."""

    uri: str

    @abstractmethod
    def scan(self, profile: ScanProfile, on_page: PageCallback | None = None) -> list[ScannedPage]:
        """Scan one batch (all pages in the feeder, or one flatbed page)."""

    def options(self) -> dict:
        """What the device supports (sources, resolutions, modes), for display."""
        return {}

    def close(self) -> None:  # noqa: B027 - most drivers hold nothing to release
        """Release the device."""

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def mode_of(image: Image.Image) -> str:
    return {"1": "lineart", "L": "gray"}.get(image.mode, "color")


def deliver(pages: list[ScannedPage], page: ScannedPage, on_page: PageCallback | None) -> None:
    """Number a page, hand it to the caller (who stores it), then count it as delivered."""
    page.index = len(pages)
    if on_page is not None:
        on_page(page)
    pages.append(page)
