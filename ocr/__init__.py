"""OCR: page loading, Tesseract recognition and searchable PDF/A assembly (no database here).

Preprocessing, classification and field extraction live in sibling modules of this package.
"""

from ocr.engine import OcrError, PageResult, Word, recognize_pages
from ocr.pages import InputError, Page, load_pages
from ocr.pdf import PdfAssemblyError, assemble_pdf, pdf_text

__all__ = [
    "InputError",
    "OcrError",
    "Page",
    "PageResult",
    "PdfAssemblyError",
    "Word",
    "assemble_pdf",
    "load_pages",
    "pdf_text",
    "recognize_pages",
]
