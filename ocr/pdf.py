"""Assembly of the searchable document PDF from the one-page PDFs Tesseract wrote.

This module owns the output PDF: pages merged in order with pikepdf, document info and XMP
metadata (producer "sohoa"), and PDF/A-2b conformance (XMP pdfaid part 2 / conformance B,
an sRGB OutputIntent, embedded fonts), checked by pikepdf's PDF/A validator on the bytes
written. Output is deterministic for the same inputs and `created` time.

Blank pages (`PageResult.blank`, duplex backs) are left out of the searchable PDF: they have no
page PDF. They are not lost: the caller keeps the original file with every page, and the page
results (one per original page) say which pages were left out. A document whose pages are all
blank is refused (`BlankDocumentError`, an `InputError`: rescanning is the only fix).
"""

from __future__ import annotations

import io
import subprocess
import tempfile
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

import pikepdf

from ocr.engine import PageResult
from ocr.pages import InputError

PRODUCER = "sohoa"
PDFA_FLAVOUR = "2b"


class PdfAssemblyError(RuntimeError):
    """The page PDFs could not be merged, or the result failed PDF/A validation."""


class BlankDocumentError(InputError, PdfAssemblyError):
    """Every page of the document is blank: nothing to digitize (English message, `.vi`)."""


def _merge(results: Sequence[PageResult]) -> pikepdf.Pdf:
    out = pikepdf.new()
    sources: list[pikepdf.Pdf] = []
    for r in sorted(results, key=lambda r: r.index):
        try:
            src = pikepdf.open(io.BytesIO(r.pdf))
        except pikepdf.PdfError as e:
            raise PdfAssemblyError(f"page {r.index + 1}: tesseract PDF is unreadable ({e})") from e
        sources.append(src)
        if len(src.pages) != 1:
            raise PdfAssemblyError(f"page {r.index + 1}: expected a one-page PDF, got {len(src.pages)} pages")
        out.pages.extend(src.pages)
    _dedupe_fonts(out)
    # pages are copied (foreign objects resolved) on extend; the sources can be closed now
    for src in sources:
        src.close()
    return out


def _fingerprint(obj: pikepdf.Object, depth: int = 0) -> bytes:
    """Content key of a PDF object, following indirect references (streams by raw bytes)."""
    if depth > 16:
        return b"?"
    if isinstance(obj, pikepdf.Stream):
        return b"S" + _fingerprint(obj.stream_dict, depth + 1) + obj.read_raw_bytes()
    if isinstance(obj, pikepdf.Dictionary):
        items = sorted((k, _fingerprint(v, depth + 1)) for k, v in obj.items() if k != "/Length")
        return b"D<" + b";".join(k.encode() + b"=" + v for k, v in items) + b">"
    if isinstance(obj, pikepdf.Array):
        return b"A[" + b",".join(_fingerprint(v, depth + 1) for v in obj) + b"]"
    unparse = getattr(obj, "unparse", None)
    return unparse() if unparse else repr(obj).encode()


def _dedupe_fonts(pdf: pikepdf.Pdf) -> None:
    """Tesseract embeds the same GlyphLessFont in every page PDF: share one copy."""
    seen: dict[bytes, pikepdf.Object] = {}
    for page in pdf.pages:
        fonts = page.obj.get("/Resources", {}).get("/Font")
        if not isinstance(fonts, pikepdf.Dictionary):
            continue
        for name in list(fonts.keys()):
            font = fonts[name]
            key = _fingerprint(font)
            if key in seen:
                fonts[name] = seen[key]
            else:
                seen[key] = font


def _set_metadata(
    pdf: pikepdf.Pdf,
    *,
    title: str | None,
    author: str | None,
    subject: str | None,
    keywords: str | None,
    created: datetime,
) -> None:
    stamp = created.isoformat(timespec="seconds")
    with pdf.open_metadata(set_pikepdf_as_editor=False, update_docinfo=True) as meta:
        if title:
            meta["dc:title"] = title
        if author:
            meta["dc:creator"] = [author]
        if subject:
            meta["dc:description"] = subject
        if keywords:
            meta["pdf:Keywords"] = keywords
        meta["pdf:Producer"] = PRODUCER
        meta["xmp:CreatorTool"] = PRODUCER
        meta["xmp:CreateDate"] = stamp
        meta["xmp:ModifyDate"] = stamp
        meta["xmp:MetadataDate"] = stamp
    pdf.docinfo["/Producer"] = PRODUCER
    pdf.docinfo["/Creator"] = PRODUCER


def assemble_pdf(
    results: Sequence[PageResult],
    *,
    title: str | None = None,
    author: str | None = None,
    subject: str | None = None,
    keywords: str | None = None,
    pdfa: bool = True,
    created: datetime | None = None,
) -> bytes:
    """Merge one-page searchable PDFs (in page order) into one PDF/A-2b document.

    Blank pages (`blank=True`) are skipped; if every page is blank, `BlankDocumentError`.
    `created` fixes the metadata dates (default: now, UTC). With `pdfa=False` a plain PDF 1.7
    is written without the PDF/A declaration and validation.
    """
    if not results:
        raise PdfAssemblyError("no pages to assemble")
    kept = [r for r in results if not getattr(r, "blank", False)]
    if not kept:
        source = results[0].source or "input"
        raise BlankDocumentError(
            f"{source}: all {len(results)} pages are blank; nothing to digitize",
            f"Tệp {source}: tất cả {len(results)} trang đều trắng. Hãy kiểm tra mặt giấy "
            "khi đặt vào máy quét và quét lại.",
            path=results[0].source or None,
        )
    results = kept
    created = created or datetime.now(UTC).replace(microsecond=0)
    if created.tzinfo is None:
        created = created.replace(tzinfo=UTC)
    pdf = _merge(results)
    _set_metadata(pdf, title=title, author=author, subject=subject, keywords=keywords, created=created)
    buf = io.BytesIO()
    if not pdfa:
        pdf.save(buf, deterministic_id=True, min_version="1.7", compress_streams=True)
        return buf.getvalue()
    return _save_pdfa(pdf, buf, created)


def _save_pdfa(pdf: pikepdf.Pdf, buf: io.BytesIO, created: datetime) -> bytes:
    from pikepdf import pdfa as pikepdf_pdfa

    # prepare adds the sRGB OutputIntent and the pdfaid declaration, and stamps pikepdf as
    # producer and "now" as MetadataDate: restore ours, then save and validate what was written.
    pikepdf_pdfa.prepare(pdf, PDFA_FLAVOUR, output_intent="sRGB")
    stamp = created.isoformat(timespec="seconds")
    with pdf.open_metadata(set_pikepdf_as_editor=False, update_docinfo=True) as meta:
        meta["pdf:Producer"] = PRODUCER
        meta["xmp:MetadataDate"] = stamp
    pdf.docinfo["/Producer"] = PRODUCER
    try:
        pikepdf_pdfa.save(pdf, buf, PDFA_FLAVOUR, repair=False, deterministic_id=True)
    except pikepdf_pdfa.PdfaError as e:
        raise PdfAssemblyError(
            f"assembled PDF is not valid PDF/A-{PDFA_FLAVOUR}: {e.report.summary()}"
        ) from e
    return buf.getvalue()


def pdfa_report(data: bytes, flavour: str = PDFA_FLAVOUR):
    """pikepdf's PDF/A validation report for PDF bytes (`.passed`, `.summary()`)."""
    from pikepdf import pdfa as pikepdf_pdfa

    return pikepdf_pdfa.validate_written(io.BytesIO(data), flavour)


def pdf_text(data: bytes) -> str:
    """Text of a PDF as `pdftotext` extracts it (UTF-8, layout-free)."""
    with tempfile.TemporaryDirectory(prefix="sohoa-pdftext-") as tmp:
        path = Path(tmp) / "in.pdf"
        path.write_bytes(data)
        proc = subprocess.run(
            ["pdftotext", "-enc", "UTF-8", str(path), "-"],
            capture_output=True,
            timeout=120,
            check=False,
        )
    if proc.returncode != 0:
        raise PdfAssemblyError(
            f"pdftotext failed (exit {proc.returncode}): {proc.stderr.decode(errors='replace')}"
        )
    return proc.stdout.decode("utf-8", "replace")
