"""File import: `file:/path/a.pdf,/path/b.tif` — PDF, TIFF, PNG and JPEG files as scanned pages.

Validation (type by magic bytes, decompression bombs, encrypted PDFs) is `ocr.pages.load_pages`;
its errors become `ScannerError("bad_file")` carrying the Vietnamese text that names the file.
"""

from __future__ import annotations

from pathlib import Path

from ocr.pages import InputError, load_pages
from scanners.base import PageCallback, ScannedPage, Scanner, ScannerError, deliver, mode_of
from scanners.profiles import ScanProfile


def read_file_pages(path: Path, *, default_dpi: int = 300) -> list[ScannedPage]:
    """All pages of one file, or ScannerError('bad_file') naming the file and the problem."""
    path = Path(path)
    try:
        loaded = load_pages(path, default_dpi=default_dpi)
    except InputError as exc:
        raise ScannerError("bad_file", str(exc), vi=exc.vi) from exc
    return [ScannedPage(image=p.image, dpi=p.dpi, mode=mode_of(p.image), source_name=path.name)
            for p in loaded]


class FileImport(Scanner):
    def __init__(self, paths: list[Path]):
        self.paths = [Path(p) for p in paths]
        self.uri = "file:" + ",".join(str(p) for p in self.paths)

    @classmethod
    def from_uri(cls, uri: str) -> FileImport:
        return cls([Path(p) for p in uri.split(":", 1)[1].split(",") if p])

    def scan(self, profile: ScanProfile, on_page: PageCallback | None = None) -> list[ScannedPage]:
        pages: list[ScannedPage] = []
        for path in self.paths:
            try:
                found = read_file_pages(path, default_dpi=profile.dpi)
            except ScannerError as exc:
                exc.pages = pages
                raise
            for page in found:
                deliver(pages, page, on_page)
        return pages
