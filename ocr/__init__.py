"""OCR: page loading, Tesseract recognition and searchable PDF/A assembly (no database here).

Preprocessing, classification and field extraction live in sibling modules of this package.

The names below are imported from their modules when first used (`from ocr import load_pages` works),
so importing one light module of the package does not load the heavy ones.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "OcrError": "ocr.engine",
    "PageResult": "ocr.engine",
    "Word": "ocr.engine",
    "iter_recognize": "ocr.engine",
    "recognize_pages": "ocr.engine",
    "InputError": "ocr.pages",
    "Page": "ocr.pages",
    "iter_pages": "ocr.pages",
    "load_pages": "ocr.pages",
    "PageSpool": "ocr.pdf",
    "PdfAssemblyError": "ocr.pdf",
    "assemble_pdf": "ocr.pdf",
    "pdf_text": "ocr.pdf",
}

__all__ = [
    "InputError",
    "OcrError",
    "Page",
    "PageResult",
    "PageSpool",
    "PdfAssemblyError",
    "Word",
    "assemble_pdf",
    "iter_pages",
    "iter_recognize",
    "load_pages",
    "pdf_text",
    "recognize_pages",
]


def __getattr__(name: str) -> Any:
    """A re-exported name, imported from its module when first used."""
    if name not in _EXPORTS:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(_EXPORTS[name]), name)
    globals()[name] = value
    return value
