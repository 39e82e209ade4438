"""OCR: page loading, Tesseract recognition and searchable PDF/A assembly (no database here).

Preprocessing, classification and field extraction live in sibling modules of this package.
"""

from ocr.engine import OcrError, PageResult, Word, iter_recognize, recognize_pages
from ocr.pages import InputError, Page, iter_pages, load_pages
from ocr.pdf import PageSpool, PdfAssemblyError, assemble_pdf, pdf_text

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
