"""Assembly of the searchable document PDF from the one-page PDFs Tesseract wrote.

This module owns the output PDF: pages merged in order with pikepdf, document info and XMP
metadata (producer "sohoa"), and PDF/A-2b conformance (XMP pdfaid part 2 / conformance B,
an sRGB OutputIntent, embedded fonts), checked by pikepdf's PDF/A validator on the bytes
written. Output is deterministic for the same inputs and `created` time.

Blank pages (`PageResult.blank`, duplex backs) are left out of the searchable PDF: they have no
page PDF. They are not lost: the caller keeps the original file with every page, and the page
results (one per original page) say which pages were left out. A document whose pages are all
blank is refused (`BlankDocumentError`, an `InputError`: rescanning is the only fix).

Memory: `PageSpool` takes page results one at a time as they are recognised and keeps nothing
big in memory. Each page's image stream (still JPEG or Flate, never decoded) is appended to an
image store file on disk (a minimal PDF written by hand), its text layer (a few KB) goes to a
small page file. `PageSpool.write` opens the store with pikepdf (objects are read lazily from
the file), attaches the text pages, points them at their stored images and saves the PDF/A to
a file, so the images are copied file to file. (Merging whole page PDFs with pikepdf would copy
every image into memory: pikepdf copies foreign stream data eagerly.) `assemble_pdf` is the same
path for results held in a list.
"""

from __future__ import annotations

import dataclasses
import io
import subprocess
import tempfile
import threading
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


class PageSpool:
    """One-page searchable PDFs spooled to `folder` as they come; `write` makes the document.

    `add` keeps a page's text layer and image on disk and returns its result without the PDF
    bytes. Blank pages are counted, not stored. See the module docstring."""

    def __init__(self, folder: Path):
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        self.store_path = self.folder / "images.pdf"
        self._store = open(self.store_path, "wb")  # noqa: SIM115 - closed by `write`/`close`
        self._store.write(b"%PDF-1.3\n%\xe2\xe3\xcf\xd3\n")
        self._offsets: list[int] = []  # object n (1-based) starts at _offsets[n - 1]
        self._pages: list[tuple[int, Path, dict[str, int]]] = []  # index, text page, images
        self.count = 0  # pages added, blank ones included
        self.source = ""

    def __enter__(self) -> PageSpool:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        if not self._store.closed:
            self._store.close()

    def _append_object(self, body: bytes, stream: bytes | None = None) -> int:
        self._offsets.append(self._store.tell())
        number = len(self._offsets)
        self._store.write(f"{number} 0 obj\n".encode() + body)
        if stream is not None:
            self._store.write(b"\nstream\n" + stream + b"\nendstream")
        self._store.write(b"\nendobj\n")
        return number

    def add(self, result: PageResult) -> PageResult:
        """Spool one page's PDF (any order); the result comes back without its `pdf` bytes."""
        self.count += 1
        self.source = self.source or result.source
        if result.blank:
            return result
        try:
            page_pdf = pikepdf.open(io.BytesIO(result.pdf))
        except pikepdf.PdfError as e:
            raise PdfAssemblyError(
                f"page {result.index + 1}: tesseract PDF is unreadable ({e})") from e
        with page_pdf:
            if len(page_pdf.pages) != 1:
                raise PdfAssemblyError(f"page {result.index + 1}: expected a one-page PDF, "
                                       f"got {len(page_pdf.pages)} pages")
            moved: dict[str, int] = {}
            xobjects = page_pdf.pages[0].obj.get("/Resources", {}).get("/XObject")
            if isinstance(xobjects, pikepdf.Dictionary):
                for name in list(xobjects.keys()):
                    image = xobjects[name]
                    entries = _movable_image(image)
                    if entries is None:
                        continue  # stays in the page file (rare: indirect colour space …)
                    raw = image.read_raw_bytes()
                    entries["/Length"] = len(raw)
                    moved[name] = self._append_object(entries.unparse(), raw)
                    xobjects[name] = pikepdf.Stream(page_pdf, b"")  # replaced in `write`
            text_page = self.folder / f"page-{result.index:06d}.pdf"
            page_pdf.save(text_page)
        self._pages.append((result.index, text_page, moved))
        return dataclasses.replace(result, pdf=b"")

    def _finish_store(self) -> None:
        if self._store.closed:
            return
        pages = self._append_object(b"<< /Type /Pages /Kids [ ] /Count 0 >>")
        root = self._append_object(f"<< /Type /Catalog /Pages {pages} 0 R >>".encode())
        xref = self._store.tell()
        lines = [f"xref\n0 {len(self._offsets) + 1}\n", "0000000000 65535 f \n"]
        lines += [f"{offset:010d} 00000 n \n" for offset in self._offsets]
        lines.append(f"trailer\n<< /Size {len(self._offsets) + 1} /Root {root} 0 R >>\n"
                     f"startxref\n{xref}\n%%EOF\n")
        self._store.write("".join(lines).encode())
        self._store.close()

    def write(
        self,
        out: Path,
        *,
        title: str | None = None,
        author: str | None = None,
        subject: str | None = None,
        keywords: str | None = None,
        pdfa: bool = True,
        created: datetime | None = None,
    ) -> Path:
        """Write the document (pages in index order, blank ones left out) to the file `out`.

        Raises `BlankDocumentError` if every page was blank, like `assemble_pdf`."""
        if not self.count:
            raise PdfAssemblyError("no pages to assemble")
        if not self._pages:
            source = self.source or "input"
            raise BlankDocumentError(
                f"{source}: all {self.count} pages are blank; nothing to digitize",
                f"Tệp {source}: tất cả {self.count} trang đều trắng. Hãy kiểm tra mặt giấy "
                "khi đặt vào máy quét và quét lại.",
                path=self.source or None,
            )
        created = created or datetime.now(UTC).replace(microsecond=0)
        if created.tzinfo is None:
            created = created.replace(tzinfo=UTC)
        self._finish_store()
        with pikepdf.open(self.store_path) as pdf:  # images stay in the file until saved
            for _index, text_page, moved in sorted(self._pages, key=lambda p: p[0]):
                with pikepdf.open(text_page) as src:  # a few KB: copied, then closed
                    pdf.pages.append(src.pages[0])
                page = pdf.pages[-1]
                for name, number in moved.items():
                    page.obj.Resources.XObject[name] = pdf.get_object((number, 0))
            _dedupe_fonts(pdf)
            _set_metadata(pdf, title=title, author=author, subject=subject, keywords=keywords,
                          created=created)
            if not pdfa:
                pdf.save(out, deterministic_id=True, min_version="1.7", compress_streams=True)
            else:
                _save_pdfa(pdf, out, created)
        return Path(out)


def _movable_image(obj) -> pikepdf.Dictionary | None:
    """The stream dictionary of an image XObject whose entries are all direct, else None."""
    if not isinstance(obj, pikepdf.Stream) or obj.get("/Subtype") != pikepdf.Name.Image:
        return None
    entries = pikepdf.Dictionary()
    for key, value in obj.stream_dict.items():
        if key == "/Length":
            continue
        if getattr(value, "is_indirect", False) or _has_indirect(value):
            return None
        entries[key] = value
    return entries


def _has_indirect(value) -> bool:
    if isinstance(value, pikepdf.Array):
        return any(getattr(v, "is_indirect", False) or _has_indirect(v) for v in value)
    if isinstance(value, pikepdf.Dictionary):
        return any(getattr(v, "is_indirect", False) or _has_indirect(v) for v in value.values())
    return False


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
    is written without the PDF/A declaration and validation. For long documents use
    `PageSpool` (what this does, through a temporary folder) and keep the output in a file.
    """
    if not results:
        raise PdfAssemblyError("no pages to assemble")
    with tempfile.TemporaryDirectory(prefix="sohoa-pdf-") as tmp, PageSpool(Path(tmp)) as spool:
        for r in results:
            spool.add(r)
        out = spool.write(Path(tmp) / "out.pdf", title=title, author=author, subject=subject,
                          keywords=keywords, pdfa=pdfa, created=created)
        return out.read_bytes()


# One PDF/A save-and-validate at a time in a process. A batch commits two documents at once in
# threads, and once their pages came from the OCR cache (no decode, no Tesseract) their
# assemblies overlapped far more often; the fresh-clone CI then saw one document out of many
# fail validation with one violation. Not proven to be pikepdf.pdfa's thread-safety, but
# serializing costs ~0.03 s a document and rules it out.
_PDFA_LOCK = threading.Lock()


def _save_pdfa(pdf: pikepdf.Pdf, out: Path, created: datetime) -> None:
    with _PDFA_LOCK:
        _save_pdfa_unlocked(pdf, out, created)


def _save_pdfa_unlocked(pdf: pikepdf.Pdf, out: Path, created: datetime) -> None:
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
        pikepdf_pdfa.save(pdf, out, PDFA_FLAVOUR, repair=False, deterministic_id=True)
    except pikepdf_pdfa.PdfaError as e:
        raise PdfAssemblyError(
            f"assembled PDF is not valid PDF/A-{PDFA_FLAVOUR}: {e.report.summary()}"
        ) from e


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
