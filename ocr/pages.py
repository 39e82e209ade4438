"""Page loading: turn an input file (PDF, TIFF, PNG, JPEG) into page images with their dpi.

This module owns input validation for OCR. The file type is detected from its magic bytes,
never from its extension. Image sizes are checked from the file header *before* any pixel is
decoded (decompression bombs). Every problem becomes an `InputError` naming the file, with an
English message for logs and a Vietnamese one (`.vi`) for counter staff.

Decisions worth knowing:
- A PDF that needs a password to open (user password) is refused. A PDF with only an owner
  password (permission restrictions, opens without a password) is accepted: we only render its
  pages, like any viewer does, and the original file is kept unchanged by the caller.
- Resolution: PNG pHYs, JPEG JFIF/EXIF and TIFF resolution tags are used when they look like a
  scan resolution (100..2400 dpi). Values below 100 dpi (72 and 96 are what screen software
  writes by default) or missing values fall back to `default_dpi`.
- PDF pages are rasterized at the native resolution of their largest image (image pixels /
  page inches), clamped to 150..600 dpi; pages without images use `default_dpi`. They are
  rendered in colour; a rendered page without any colour pixel is kept as gray (L).
- Image modes: 1-bit stays 1-bit, gray stays L, colour becomes RGB (palette, CMYK, alpha and
  16-bit images are converted); the file's mode is kept in `Page.original_mode`.
- JPEG EXIF orientation is applied, so pages are upright as the camera/scanner declared.
- Memory: `iter_pages` checks the whole file first without decoding pixels (type, page count,
  every page's size from TIFF directories or PDF page boxes, PDF structure) and raises
  `InputError` right away; it then decodes (or renders, one pdftoppm call per page) each page
  only when it is asked for, so a 100-page scan never sits in memory at once. `load_pages` is
  `list(iter_pages(...))` for small callers (scanners, station, tests).
- No C decoder runs on an input's pixels in this process: image files are decoded in a child
  under memory and time limits (`ocr.imagedecode`, one child per file, one page in flight),
  PDF pages rendered by pdftoppm in a child under limits, and a repaired PDF's images test-
  decoded in a child too. Headers (PNG, TIFF directories, JPEG markers) are parsed here by
  Pillow's Python code, before any child starts.
- Limits (`ocr.limits.Limits`): page count, pixels per page and per image, decoded stream
  sizes under every filter (`ocr.filters`) and the sizes image codecs' headers declare are
  checked before rendering; renderer and decoder run in children with a memory and time limit.
  A page too large for the pixel limit at 200 dpi is refused as too large rather than
  rendered coarser. Messages never carry library text (it is logged at debug level).
"""

from __future__ import annotations

import logging
import math
import re
import struct
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, ImageChops, ImageSequence, UnidentifiedImageError

from ocr import textlayer
from ocr.imagedecode import DecodeFailed, check_pdf_images, decode_pages, normalize_mode
from ocr.limits import (
    LimitExceeded,
    Limits,
    RenderFailed,
    check_every_stream,
    check_page_count,
    check_page_resources,
    check_pixels,
    page_inches,
    render_pdf_page,
)

log = logging.getLogger(__name__)

PDF_DPI_MIN = 150
PDF_DPI_MAX = 600

_KIND_NAMES_VI = {"pdf": "PDF", "tiff": "TIFF", "png": "PNG", "jpeg": "JPEG"}


class InputError(Exception):
    """An input file cannot be used: `str(e)` is English and names the file, `e.vi` Vietnamese."""

    def __init__(self, message: str, vi: str, *, path: Path | str | None = None):
        super().__init__(message)
        self.vi = vi
        self.path = str(path) if path is not None else None


@dataclass
class Page:
    """One page image ready for OCR. `dpi` gives its physical size: inches = pixels / dpi."""

    index: int
    image: Image.Image
    dpi: int
    source: str
    original_mode: str = ""
    dpi_from_file: bool = True
    text_layer: object = None  # a PDF page's own text, decided (`ocr.textlayer.TextLayer`)
    stored_id: str | None = None  # the image's id by its stored bytes (`ocr.stored`)
    reading: object = None  # its recognition, found by that id before decoding (`ocr.cache`)


def sniff_kind(head: bytes) -> str | None:
    """Return 'pdf', 'tiff', 'png' or 'jpeg' from the first bytes of a file, else None."""
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if head.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if head.startswith((b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+")):
        return "tiff"
    # The PDF header may be preceded by junk (up to 1024 bytes is tolerated by readers).
    if b"%PDF-" in head[:1024]:
        return "pdf"
    return None


def _err(path: Path, en: str, vi: str) -> InputError:
    return InputError(f"{path.name}: {en}", f"Tệp {path.name}: {vi}", path=path)


class PageIterator(Iterator[Page]):
    """The pages of one checked file, decoded one at a time as they are asked for.

    `count` is the number of pages (known before any pixel is decoded). A page that turns out
    to be undecodable raises `InputError` naming the file and the page when it is reached."""

    def __init__(self, path: Path, kind: str, count: int, pages: Iterator[Page]):
        self.path, self.kind, self.count = path, kind, count
        self._pages = pages

    def __iter__(self) -> PageIterator:
        return self

    def __next__(self) -> Page:
        return next(self._pages)

    def __len__(self) -> int:
        return self.count

    def close(self) -> None:
        """Release the open file (or stop rendering) when the pages are not all read."""
        close = getattr(self._pages, "close", None)
        if close:
            close()


def iter_pages(
    path: Path,
    *,
    max_pixels: int | None = None,
    max_side: int | None = None,
    default_dpi: int = 300,
    limits: Limits | None = None,
    known=None,
) -> PageIterator:
    """Check `path` and return its pages as a lazy iterator (see the module docstring).
    `known(page)`: a recognition already made of a PDF page taken as stored, looked up by the
    page's `stored_id` before its image is decoded (`ocr.cache.ResultCache.finder`); a page
    it gives is yielded with that `reading` and without its pixels.

    Everything that can be checked without decoding pixels is checked here: a file that is
    missing, empty, of an unknown type, encrypted, structurally corrupt, without pages, with
    too many pages, an oversized page or image, or a stream that inflates past the limit
    raises `InputError` before any page is decoded (`ocr.limits`). PDF pages are then rendered
    one at a time by pdftoppm inside the memory and time limits."""
    path = Path(path)
    limits = (limits or Limits()).with_overrides(max_pixels=max_pixels, max_side=max_side)
    try:
        with path.open("rb") as fh:
            head = fh.read(1024)
    except FileNotFoundError:
        raise _err(path, "file not found", "không tìm thấy tệp") from None
    except OSError as e:
        raise _err(path, f"cannot read file ({e.strerror or e})", "không đọc được tệp") from e
    if not head:
        raise _err(path, "file is empty (0 bytes)", "tệp rỗng (0 byte), hãy quét lại")
    kind = sniff_kind(head)
    if kind is None:
        raise _err(
            path,
            "unsupported file type (expected PDF, TIFF, PNG or JPEG)",
            "định dạng tệp không được hỗ trợ (chỉ nhận PDF, TIFF, PNG hoặc JPEG)",
        )
    if kind == "pdf":
        plan = _plan_pdf(path, limits=limits, default_dpi=default_dpi)
        pages = _render_pdf(path, plan, limits, known)
        count = len(plan)
    else:
        count = _count_image(path, kind, limits=limits)
        pages = _decode_image(path, kind, default_dpi=default_dpi, limits=limits, count=count)
    if count == 0:
        raise _err(path, "file has no pages", "tệp không có trang nào")
    return PageIterator(path, kind, count, pages)


def load_pages(
    path: Path,
    *,
    max_pixels: int | None = None,
    max_side: int | None = None,
    default_dpi: int = 300,
    limits: Limits | None = None,
) -> list[Page]:
    """Load every page of `path` as an image with its dpi. Raises `InputError`, never returns [].

    Holds every page in memory: for long documents use `iter_pages`."""
    pages = list(iter_pages(path, max_pixels=max_pixels, max_side=max_side,
                            default_dpi=default_dpi, limits=limits))
    if not pages:
        raise _err(path, "file has no pages", "tệp không có trang nào")
    return pages


# --- images -------------------------------------------------------------------------------


def _limit_err(path: Path, exc: LimitExceeded) -> InputError:
    return _err(path, str(exc), exc.vi)


def _check_size(path: Path, width: int, height: int, limits: Limits, where=""):
    try:
        check_pixels(width, height, limits, where)
    except LimitExceeded as e:
        raise _limit_err(path, e) from None


def scan_page(image: Image.Image, index: int, dpi: int, source: str = "",
              text_layer=None, stored_id: str | None = None) -> Page:
    """A PDF page's image (rendered, or decoded as stored) or a spooled scan, normalized for
    OCR. Batch capture makes its pages with this too, so a page read while a stack is examined
    is the page the OCR stage later reads from the capture PDF (`ocr.cache`)."""
    im = _gray_if_neutral(normalize_mode(image))
    return Page(index, im, dpi, source, im.mode, True, text_layer, stored_id)


def _gray_if_neutral(img: Image.Image) -> Image.Image:
    """pdftoppm always renders RGB: a page with no colour at all becomes L (smaller, faster)."""
    if img.mode != "RGB":
        return img
    r, g, b = img.split()
    if ImageChops.difference(r, g).getbbox() is None and ImageChops.difference(g, b).getbbox() is None:
        return r
    return img


def _image_errors(path: Path, kind: str, e: BaseException) -> InputError:
    """The user-facing error for a decoder exception: the library's text is logged only (it
    names in-memory objects, temp paths and decoder internals)."""
    log.debug("%s: %s decoder: %s: %s", path.name, kind, type(e).__name__, e)
    if isinstance(e, Image.DecompressionBombError):
        size = re.search(r"\((\d+) pixels\)", str(e))
        return _err(
            path,
            "image too large to decode safely"
            + (f" ({int(size.group(1)):,} pixels)" if size else ""),
            "ảnh quá lớn, hãy quét lại với độ phân giải thấp hơn",
        )
    if "decompressed data too large" in str(e).lower():
        return _err(
            path,
            f"{_KIND_NAMES_VI[kind]} file holds a block that inflates too far "
            "(decompression bomb)",
            f"tệp {_KIND_NAMES_VI[kind]} chứa dữ liệu nén bất thường, không xử lý được",
        )
    return _err(
        path,
        f"{_KIND_NAMES_VI[kind]} file is corrupt or truncated",
        f"tệp {_KIND_NAMES_VI[kind]} bị hỏng hoặc không đầy đủ, hãy quét lại",
    )


# Pillow on hostile bytes raises far more than its documented errors (TypeError "Missing
# dimensions" from a TIFF without a width, KeyError, IndexError, struct.error ...): any of them
# means the file cannot be decoded.
_IMAGE_ERRORS = (UnidentifiedImageError, OSError, SyntaxError, ValueError, EOFError, TypeError,
                 LookupError, ArithmeticError, AttributeError, struct.error, MemoryError)


def _count_image(path: Path, kind: str, *, limits: Limits) -> int:
    """Number of pages, every page's size checked from its header (no pixel decoded)."""
    try:
        with Image.open(path, formats=[kind.upper()]) as img:
            # Image.open reads the header only; check the size before decoding any pixel.
            _check_size(path, img.width, img.height, limits)
            if kind != "tiff":
                return 1
            count = 0
            for i, frame in enumerate(ImageSequence.Iterator(img)):  # reads each directory
                _check_size(path, frame.width, frame.height, limits, f" on page {i + 1}")
                count += 1
                if count > limits.max_pages:  # also ends a directory chain that loops
                    check_page_count(count, limits)
            return count
    except LimitExceeded as e:
        raise _limit_err(path, e) from None
    except InputError:
        raise
    except (Image.DecompressionBombError, *_IMAGE_ERRORS) as e:
        raise _image_errors(path, kind, e) from e


def _decode_image(path: Path, kind: str, *, default_dpi: int, limits: Limits,
                  count: int) -> Iterator[Page]:
    """Decode the pages in a child process under the limits (`ocr.imagedecode`): the C
    decoders never see hostile bytes in this process."""
    try:
        for i, (im, dpi, from_file, original_mode) in enumerate(decode_pages(
                path, kind, default_dpi=default_dpi, memory_mb=limits.decode_memory_mb,
                seconds=limits.render_seconds, pages=count)):
            yield Page(i, im, dpi, path.name, original_mode, from_file)
            del im
    except DecodeFailed as e:
        raise _decode_failed(path, kind, e, limits) from None


def _decode_failed(path: Path, kind: str, e: DecodeFailed, limits: Limits) -> InputError:
    log.debug("%s: %s decoder, page %d: %s: %s", path.name, kind, e.page + 1, e.reason, e.detail)
    page = e.page + 1
    if e.reason == "time":
        return _err(path, f"page {page} takes longer than {limits.render_seconds:.0f} s to decode",
                    f"trang {page} quá phức tạp, không đọc được trong thời gian cho phép")
    if e.reason == "memory":
        return _err(path, f"page {page} needs more than {limits.decode_memory_mb} MB to decode",
                    f"trang {page} quá lớn, không đọc được")
    if e.reason == "bomb":
        return _image_errors(path, kind, Image.DecompressionBombError(e.detail))
    return _image_errors(path, kind, ValueError(e.detail))


# --- PDF ----------------------------------------------------------------------------------


def _pdf_page_dpi(page, default_dpi: int) -> int:
    """Native resolution of the page's largest image, clamped to PDF_DPI_MIN..PDF_DPI_MAX."""
    width_in, height_in = page_inches(page)
    if width_in <= 0 or height_in <= 0:
        return default_dpi
    best = None
    try:
        images = list(page.get_images().values())
    except Exception:  # broken resources: render at the default resolution
        images = []
    for xobj in images:
        try:
            w, h = int(xobj.Width), int(xobj.Height)
        except Exception:
            continue
        if best is None or w * h > best[0] * best[1]:
            best = (w, h)
    if best is None:
        return default_dpi
    # compare long side to long side so images drawn rotated still give their resolution
    dpi = max(best) / max(width_in, height_in)
    return int(round(min(max(dpi, PDF_DPI_MIN), PDF_DPI_MAX)))


def _check_images_decode(path: Path, limits: Limits) -> None:
    try:
        check_pdf_images(path, memory_mb=limits.decode_memory_mb, seconds=limits.render_seconds)
    except DecodeFailed as e:
        log.debug("%s: page %d image: %s: %s", path.name, e.page + 1, e.reason, e.detail)
        if e.reason == "time":
            raise _err(path, f"the images of page {e.page + 1} take longer than "
                       f"{limits.render_seconds:.0f} s to decode",
                       f"trang {e.page + 1} quá phức tạp, không đọc được trong thời gian cho phép"
                       ) from None
        raise _err(
            path,
            f"PDF is damaged: an image on page {e.page + 1} cannot be decoded",
            f"tệp PDF bị hỏng: không đọc được ảnh ở trang {e.page + 1}, hãy quét lại",
        ) from None


# A page too large to render at this resolution within the pixel limit is refused as too
# large, not rendered coarser (the quality gate would then blame the scan's resolution).
PDF_MIN_RENDER_DPI = 200


def _plan_pdf(path: Path, *, limits: Limits, default_dpi) -> list[tuple[int, int]]:
    """Check the PDF's structure, page count, every page's size and the streams it uses;
    [(page index, render dpi)]."""
    import pikepdf

    plan: list[tuple[int, int]] = []  # (page index, dpi)
    try:
        with pikepdf.open(path) as pdf:
            count = len(pdf.pages)
            if count == 0:
                raise _err(path, "PDF has no pages", "tệp PDF không có trang nào")
            check_page_count(count, limits)
            checked: set = set()  # resources shared by pages are checked once
            for i, page in enumerate(pdf.pages):
                check_page_resources(page, i, limits, checked)
                dpi = _pdf_page_dpi(page, default_dpi)
                w_in, h_in = page_inches(page)
                # lower the dpi of a large page (A0 at 600 dpi) rather than allocate a bomb,
                # but never below what a digitized copy needs: such a page is too large
                fit = min(
                    limits.max_side / max(w_in, h_in, 1e-9),
                    (limits.max_pixels / max(w_in * h_in, 1e-9)) ** 0.5,
                )
                if dpi > fit:
                    if fit < min(dpi, PDF_MIN_RENDER_DPI):
                        floor = min(dpi, PDF_MIN_RENDER_DPI)
                        pixels = int(w_in * floor) * int(h_in * floor)
                        raise _err(
                            path,
                            f"PDF page {i + 1} is too large: {w_in:.1f}x{h_in:.1f} inches is "
                            f"{pixels:,} pixels at {floor} dpi (limit {limits.max_pixels:,} "
                            f"pixels, {limits.max_side:,} per side)",
                            f"trang {i + 1} của tệp PDF quá lớn ({w_in * 2.54:.0f}x"
                            f"{h_in * 2.54:.0f} cm), không xử lý được",
                        )
                    dpi = int(fit)
                plan.append((i, dpi))
            check_every_stream(pdf, limits, checked)
            warnings = pdf.get_warnings()
            if warnings:
                # qpdf repaired the structure (bad xref, missing trailer ...): acceptable if
                # every image still decodes in full, otherwise a page would silently be partial
                log.warning("%s: damaged PDF repaired: %s", path.name, warnings[:3])
                _check_images_decode(path, limits)
    except LimitExceeded as e:
        raise _limit_err(path, e) from None
    except InputError:
        raise
    except pikepdf.PasswordError as e:
        raise _err(
            path,
            "PDF is encrypted with a password; export it without a password",
            "tệp PDF có mật khẩu, hãy xuất lại tệp không đặt mật khẩu",
        ) from e
    except (pikepdf.PdfError, OSError, ValueError, RuntimeError, RecursionError) as e:
        # qpdf's text names the temp path and byte offsets: logged, not shown
        log.debug("%s: pikepdf: %s: %s", path.name, type(e).__name__, e)
        raise _pdf_error(path, e) from None
    return plan


# What qpdf says (it also names the temp path and offsets) → what the user is told.
_PDF_REASONS = (
    ("loop detected", "PDF page tree is corrupt (it loops back on itself)",
     "cấu trúc trang của tệp PDF bị hỏng"),
    ("unsupported encryption", "PDF is encrypted with an unsupported method",
     "tệp PDF được mã hóa theo cách không hỗ trợ, hãy xuất lại tệp không mã hóa"),
    ("encrypt", "PDF encryption is damaged or unsupported",
     "tệp PDF được mã hóa theo cách không hỗ trợ, hãy xuất lại tệp không mã hóa"),
    ("maximum recursion", "PDF structure nests too deeply", "cấu trúc tệp PDF bị hỏng"),
)


def _pdf_error(path: Path, exc: BaseException) -> InputError:
    text = str(exc).lower()
    if isinstance(exc, RecursionError):
        text = "maximum recursion"
    for needle, en, vi in _PDF_REASONS:
        if needle in text:
            return _err(path, en, vi)
    return _err(path, "PDF file is corrupt or truncated",
                "tệp PDF bị hỏng hoặc không đầy đủ, hãy quét lại")


def _render_pdf(path: Path, plan: list[tuple[int, int]], limits: Limits,
                known=None) -> Iterator[Page]:
    """Render the planned pages one pdftoppm call each, as they are asked for, each inside
    the render memory and time limits (`ocr.limits.render_pdf_page`). A page that is nothing
    but one scan image filling it is not rendered when the stored-scan shortcut is on or the
    PDF is batch capture's own (`CAPTURE_CREATOR`): its image is decoded as stored
    (`_decode_plain_scan`) — or not at all when `known` has its reading (`iter_pages`)."""
    import pikepdf

    from ocr.stored import xobject_id

    try:
        pdf = pikepdf.open(path)
    except Exception:  # noqa: BLE001 - checked by _plan_pdf; render every page then
        pdf = None
    own_capture = pdf is not None and is_capture_pdf(pdf)
    try:
        for i, dpi in plan:
            plain = (_plain_scan(pdf, i, dpi)
                     if pdf is not None and (limits.stored_scans or own_capture) else None)
            layer = textlayer.read_page(path, i)
            stored_id = xobject_id(plain[0]) if plain is not None and known is not None else None
            if stored_id is not None:
                stub = Page(i, _NO_PIXELS, dpi, path.name, "", True, layer, stored_id)
                reading = known(stub)
                if reading is not None:
                    stub.reading = reading
                    yield stub
                    continue
            image = _decode_plain_scan(*plain, dpi, limits) if plain is not None else None
            if image is None:
                try:
                    image = render_pdf_page(path, i, dpi, limits)
                except LimitExceeded as e:
                    raise _limit_err(path, e) from None
                except RenderFailed:
                    raise _err(
                        path,
                        f"PDF page {i + 1} cannot be rendered (the page is damaged)",
                        f"không hiển thị được trang {i + 1} của tệp PDF, tệp có thể bị hỏng",
                    ) from None
                stored_id = None  # rendered: not necessarily the stored pixels
            page = scan_page(image, i, dpi, path.name, layer, stored_id)
            del image
            yield page
            del page
    finally:
        if pdf is not None:
            pdf.close()


_NO_PIXELS = Image.new("L", (1, 1), 255)  # a page yielded with its reading, not its image


def _decode_stored_jpeg(data: bytes, dpi: int, limits: Limits) -> Image.Image | None:
    """A PDF page's JPEG, decoded in the limited child; None when it does not decode."""
    with tempfile.NamedTemporaryFile(suffix=".jpg") as tmp:
        tmp.write(data)
        tmp.flush()
        pages = decode_pages(tmp.name, "jpeg-stream", default_dpi=dpi,
                             memory_mb=limits.decode_memory_mb, seconds=limits.render_seconds,
                             pages=1)
        try:
            first = next(pages, None)
        except DecodeFailed as e:
            log.debug("stored JPEG not decoded (%s: %s): the page is rendered", e.reason, e.detail)
            return None
        finally:
            pages.close()  # the child stops now
    return first[0] if first is not None else None


# The Creator of the PDFs batch capture builds from its own lossless page scans (img2pdf,
# `batch.commit.images_to_pdf`). Their pages are decoded as stored whatever
# `Limits.stored_scans` says: the stored image is the scan itself, and rendering it again
# costs about as long as its OCR. Another PDF claiming it gains nothing unsafe: a stored image
# is bounded and decoded like any page image, and a page that is not a plain scan is rendered.
CAPTURE_CREATOR = "sohoa batch capture"


def is_capture_pdf(pdf) -> bool:
    """Whether an open pikepdf document is one of batch capture's own scan PDFs."""
    try:
        return str(pdf.docinfo.get("/Creator", "")) == CAPTURE_CREATOR
    except Exception:  # noqa: BLE001 - a damaged info dictionary: an ordinary PDF
        return False


_SCAN_FILTERS = ("/DCTDecode", "/FlateDecode")
_SCAN_SPACES = {"/DeviceGray": 1, "/DeviceRGB": 3}


def _times(m: list[float], n: list[float]) -> list[float]:
    """PDF matrix product m × n ([a b c d e f] matrices)."""
    a, b, c, d, e, f = m
    return [a * n[0] + b * n[2], a * n[1] + b * n[3], c * n[0] + d * n[2], c * n[1] + d * n[3],
            e * n[0] + f * n[2] + n[4], e * n[1] + f * n[3] + n[5]]


def _plain_scan(pdf, index: int, dpi: int) -> tuple | None:
    """(image XObject, filter, channels) when the page is a plain scan — one 8-bit gray or RGB
    image (JPEG or Flate), unmasked, drawn upright over the whole page and nothing else, at the
    planned resolution (what scanners and img2pdf write); None for any other page (it is
    rendered). Decoding that image (`_decode_plain_scan`) gives the pixels pdftoppm would
    render, without rasterizing the page and a PPM round trip (about as long as the page's OCR
    at 300 dpi)."""
    import pikepdf

    try:
        page = pdf.pages[index]
        obj = page.obj
        if int(obj.get("/Rotate", 0)) % 360 or "/UserUnit" in obj:
            return None
        box = [float(v) for v in page.mediabox]
        crop = obj.get("/CropBox")
        if crop is not None and any(abs(float(u) - v) > 0.5 for u, v in zip(crop, box,
                                                                             strict=False)):
            return None
        images = dict(page.get_images())
        if len(images) != 1:
            return None
        [(name, xobj)] = images.items()
        filters = xobj.get("/Filter")
        filters = [str(f) for f in (filters if isinstance(filters, pikepdf.Array)
                                    else [filters])]
        space = xobj.get("/ColorSpace")
        if isinstance(space, pikepdf.Array) and len(space) == 2 and \
                str(space[0]) == "/ICCBased":
            channels = int(space[1].get("/N", 0))
        else:
            channels = _SCAN_SPACES.get(str(space), 0)
        if (len(filters) != 1 or filters[0] not in _SCAN_FILTERS or channels not in (1, 3)
                or int(xobj.get("/BitsPerComponent", 0)) != 8
                or any(k in xobj for k in ("/SMask", "/Mask", "/Decode", "/ImageMask"))):
            return None
        ctm, saved, drawn = [1.0, 0.0, 0.0, 1.0, 0.0, 0.0], [], None
        for operands, operator in pikepdf.parse_content_stream(page):
            op = str(operator)
            if op == "q":
                saved.append(ctm)
            elif op == "Q":
                ctm = saved.pop() if saved else ctm
            elif op == "cm":
                ctm = _times([float(v) for v in operands], ctm)
            elif op == "Do" and drawn is None and str(operands[0]) == name:
                drawn = ctm
            else:
                return None
        width, height = box[2] - box[0], box[3] - box[1]
        want = [width, 0.0, 0.0, height, box[0], box[1]]
        if drawn is None or any(abs(u - v) > 0.5 for u, v in zip(drawn, want, strict=True)):
            return None
        w_px, h_px = int(xobj.Width), int(xobj.Height)
        # only when pdftoppm would render exactly this grid: a page a fraction of a pixel
        # wider than its image (2466.0001 px) is rendered 1 px wider, i.e. resampled, and
        # OCR on real scans is sensitive to that (bench.real: one number fewer read right)
        if (w_px, h_px) != (math.ceil(width / 72 * dpi - 1e-9),
                            math.ceil(height / 72 * dpi - 1e-9)):
            return None  # not the grid pdftoppm renders at the planned resolution: rendered
    except Exception as e:  # noqa: BLE001 - anything odd: let pdftoppm render the page
        log.debug("page %d not taken as stored: %s: %s", index + 1, type(e).__name__, e)
        return None
    return xobj, filters[0], channels


def _decode_plain_scan(xobj, filter_name: str, channels: int, dpi: int,
                       limits: Limits) -> Image.Image | None:
    """A plain scan's stored image, decoded (None when it does not decode: it is rendered). A
    JPEG is decoded in the limited child of `ocr.imagedecode` like any input image (libjpeg
    never sees the bytes in this process)."""
    try:
        w_px, h_px = int(xobj.Width), int(xobj.Height)
        if filter_name == "/DCTDecode":
            image = _decode_stored_jpeg(xobj.read_raw_bytes(), dpi, limits)
            if image is None:
                return None
        else:  # inflated (and un-predicted) once, straight into the image
            data = xobj.read_bytes()
            if len(data) != w_px * h_px * channels:
                return None
            image = Image.frombuffer("L" if channels == 1 else "RGB", (w_px, h_px), data,
                                     "raw", "L" if channels == 1 else "RGB", 0, 1)
    except Exception as e:  # noqa: BLE001 - anything odd: let pdftoppm render the page
        log.debug("stored image not decoded: %s: %s", type(e).__name__, e)
        return None
    if image.size != (w_px, h_px) or image.mode not in ("L", "RGB"):
        return None
    return image
