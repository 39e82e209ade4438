"""Limits on what one input file may cost, checked before any page is rendered or decoded.

`ocr.pages` calls these: a file that would need more pages, pixels, inflated bytes, render time
or render memory than `Limits` allows is refused with an `InputError` naming the file and the
reason (the caller quarantines the original). What is checked, and where:

- page count: from the PDF page tree or the TIFF directory chain, before any page is planned;
- pixels: every page's size × render dpi (PDF pages, /UserUnit included), every image's
  declared Width × Height (PDF image XObjects, PNG/TIFF/JPEG headers);
- decoded stream sizes: every stream of the file (page contents and forms first, naming the
  page; then fonts, patterns, annotation appearances, profiles …) has its general filters
  (Flate, LZW, RunLength, ASCIIHex, ASCII85, any chain) decoded with a bounded output and is
  given up on past `max_stream_bytes` (`ocr.filters`: a 1 MB stream decoding to gigabytes is
  refused after a bounded amount); images are bounded by their declared Width x Height x
  components x bits (the renderer reads no more) and, behind an image codec (DCT, JPX, JBIG2,
  CCITT), by the size the codec's header says it will allocate; Form XObjects are followed
  with a visited set, so a form that draws itself is no loop;
- rendering: pdf2image runs pdftoppm (and pdfinfo) through `ocr.poppler`'s wrappers, with an
  address-space limit (`render_memory_mb`), a CPU limit and a wall-clock timeout
  (`render_seconds`); a renderer that runs out of either is killed and the file refused
  ("needs more than … to render", "takes longer than …").

English messages name the file and the limit; `InputError.vi` is the Vietnamese line for
counter staff. Library exception text never reaches either: it is logged at debug level.
"""

from __future__ import annotations

import logging
import os
import signal
import tempfile
from dataclasses import dataclass
from pathlib import Path

from PIL import Image

from ocr.filters import CODECS, JBIG2, TooLarge, codec_parms, codec_sizes, decode_general

log = logging.getLogger(__name__)

MB = 1024 * 1024
# Below this many pixels on a side there is no page to read, and the image analysis (scaled to
# 1/16 at 2400 dpi) would shrink it to nothing.
MIN_SIDE = 16


@dataclass(frozen=True)
class Limits:
    """What one input file may cost. Defaults suit A0 sheets at 300 dpi and A3 at 600 dpi."""

    max_pages: int = 1000
    max_pixels: int = 100_000_000  # per page image, rendered or decoded
    max_side: int = 30_000  # pixels on either side of a page image
    max_stream_bytes: int = 256 * MB  # one PDF stream once inflated
    render_seconds: float = 60.0  # wall time for one page's renderer
    render_memory_mb: int = 1024  # address space of the renderer process
    # address space of the child that decodes an image file (Python and Pillow included): the
    # largest page allowed (max_pixels, RGB) decodes in about 700 MB
    decode_memory_mb: int = 1536
    # a PDF page that is one plain scan image on exactly pdftoppm's grid: its stored image is
    # used instead of a render (ocr.pages._decode_plain_scan) — about 2 s less per 300 dpi page, the
    # exact scanned pixels; off by default because pdftoppm's render is slightly smoother: the
    # synthetic OCR benchmark read one character differently and its output grew ~25%
    stored_scans: bool = False

    def with_overrides(self, **values) -> Limits:
        """A copy with the given fields replaced (None values keep the default)."""
        from dataclasses import replace

        return replace(self, **{k: v for k, v in values.items() if v is not None})


class LimitExceeded(Exception):
    """Internal: raised by the checks below, turned into an `InputError` by `ocr.pages`."""

    def __init__(self, en: str, vi: str):
        super().__init__(en)
        self.vi = vi


# --- page count and pixels ------------------------------------------------------------------


def check_page_count(count: int, limits: Limits) -> None:
    if count > limits.max_pages:
        raise LimitExceeded(
            f"too many pages ({count:,}; the limit is {limits.max_pages:,} per file)",
            f"tệp có quá nhiều trang ({count:,} trang, tối đa {limits.max_pages:,} trang), "
            "hãy tách thành nhiều tệp",
        )


def check_pixels(width: int, height: int, limits: Limits, where: str = "") -> None:
    """A page or image of width x height pixels must fit `max_side` and `max_pixels`."""
    if width <= 0 or height <= 0:
        raise LimitExceeded(f"invalid image size {width}x{height}{where}",
                            "kích thước ảnh không hợp lệ")
    if width > limits.max_side or height > limits.max_side or width * height > limits.max_pixels:
        raise LimitExceeded(
            f"image too large: {width}x{height} pixels{where} (limit {limits.max_side:,} "
            f"pixels per side, {limits.max_pixels:,} pixels in total)",
            f"ảnh quá lớn ({width}x{height} điểm ảnh), hãy quét lại với độ phân giải thấp hơn",
        )
    if width < MIN_SIDE or height < MIN_SIDE:
        raise LimitExceeded(
            f"image too small to be a scanned page: {width}x{height} pixels{where} "
            f"(at least {MIN_SIDE} pixels per side)",
            f"ảnh quá nhỏ ({width}x{height} điểm ảnh), không phải trang văn bản quét")


def page_inches(page) -> tuple[float, float]:
    """A PDF page's visible size in inches (the crop box pdftoppm renders, or the media box;
    the larger of the two on each side, times /UserUnit)."""
    boxes = [page.obj.get("/MediaBox"), page.obj.get("/CropBox")]
    unit = 1.0
    try:
        raw_unit = page.obj.get("/UserUnit")
        if raw_unit is not None:
            unit = max(float(raw_unit), 1.0)
    except (TypeError, ValueError):
        unit = 1.0
    width = height = 0.0
    for box in boxes:
        try:
            if box is None:
                box = page.mediabox  # inherited from a parent node
            x0, y0, x1, y1 = (float(v) for v in list(box)[:4])
        except (TypeError, ValueError, AttributeError):
            continue
        width, height = max(width, abs(x1 - x0)), max(height, abs(y1 - y0))
    return width * unit / 72.0, height * unit / 72.0


# --- decoded stream sizes ---------------------------------------------------------------------

_FLATE = ("/FlateDecode", "/Fl")
BOMB_VI = "tệp PDF chứa dữ liệu nén bất thường (có thể là tệp độc hại), không xử lý được"
MAX_TILES = 16_384
IMAGE_VI = "tệp PDF chứa ảnh quá lớn, hãy quét lại với độ phân giải thấp hơn"


def _filters(stream) -> list[str]:
    import pikepdf

    value = stream.get("/Filter")
    if value is None:
        return []
    if isinstance(value, pikepdf.Array):
        return [str(v) for v in value]
    return [str(value)]


def inflated_size_exceeds(raw: bytes, layers: int, cap: int) -> bool:
    """True when `layers` nested zlib layers of `raw` inflate past `cap` bytes. Reads in
    bounded steps: holds no output of the last layer, at most `cap` bytes of the others.
    A corrupt stream counts what inflated before the error (the renderer meets the rest)."""
    try:
        decode_general(raw, ["/FlateDecode"] * layers, None, cap)
    except TooLarge:
        return True
    return False


def _raw(stream, what: str) -> bytes | None:
    try:
        return stream.read_raw_bytes()
    except Exception as exc:  # noqa: BLE001 - unreadable: the renderer will say so
        log.debug("%s: raw stream unreadable: %s", what, exc)
        return None


def _bomb(what: str, filter_name: str, raw_size: int, limits: Limits) -> LimitExceeded:
    verb = "inflates" if filter_name in _FLATE else f"decodes ({filter_name[1:]})"
    return LimitExceeded(
        f"{what} {verb} to more than {limits.max_stream_bytes // MB} MB "
        f"({raw_size:,} bytes in the file): refused as a decompression bomb", BOMB_VI)


def check_stream(stream, limits: Limits, what: str) -> None:
    """Refuse a non-image stream (page content, form, font, pattern, profile …) whose filter
    chain decodes past `max_stream_bytes`: every general filter (Flate, LZW, RunLength,
    ASCIIHex, ASCII85, in any chain) is decoded with a bounded output (`ocr.filters`). An image
    codec on a stream that is not an image is refused: nothing legitimate does that."""
    filters = _filters(stream)
    if not filters:
        return
    raw = _raw(stream, what)
    if raw is None:
        return
    try:
        decoded = decode_general(raw, filters, stream.get("/DecodeParms"), limits.max_stream_bytes)
    except TooLarge as exc:
        raise _bomb(what, exc.filter, len(raw), limits) from None
    if decoded.codec:
        raise LimitExceeded(
            f"{what} is not an image but is encoded with the image filter {decoded.codec[1:]}",
            "tệp PDF có cấu trúc bất thường (có thể là tệp độc hại), không xử lý được")
    if decoded.unknown:
        log.debug("%s: filter %s not checked (left to the renderer)", what, decoded.unknown)


def _int(value, default: int = 0) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return default


def _too_large(where: str, w: int, h: int, components: int, bits: int, limits: Limits,
               how: str = "") -> None:
    decoded = w * h * components * max(bits, 1) // 8
    if w * h > 4 * limits.max_pixels or decoded > limits.max_stream_bytes:
        raise LimitExceeded(
            f"an image on {where} is too large to decode{how}: {w}x{h} pixels, "
            f"{decoded / MB:,.0f} MB decoded (limit {limits.max_stream_bytes // MB} MB)",
            IMAGE_VI)


def check_image(xobj, limits: Limits, where: str) -> None:
    """An image XObject: its declared Width x Height x components x bits (the renderer decodes
    it whole whatever the page's size) must stay within four pages' worth of pixels and
    `max_stream_bytes`. Behind an image codec (DCT, JPX, JBIG2, CCITT) the codec's own header
    says what its decoder allocates, whatever /Width says: that is checked too, after the
    general filters in front of it are decoded with a bound. An image with general filters only
    is not decoded here: the renderer reads no more than its declared size."""
    w, h = _int(xobj.get("/Width")), _int(xobj.get("/Height"))
    bpc = max(1, min(_int(xobj.get("/BitsPerComponent"), 8), 16))
    space = str(xobj.get("/ColorSpace", "/DeviceGray"))
    components = 4 if "CMYK" in space else 3 if ("RGB" in space or "ICC" in space) else 1
    if w > 0 and h > 0:  # the renderer skips an image without dimensions
        _too_large(where, w, h, components, bpc, limits)
    filters = _filters(xobj)
    if not any(name in CODECS for name in filters):
        return
    raw = _raw(xobj, f"an image on {where}")
    if raw is None:
        return
    parms = xobj.get("/DecodeParms")
    try:
        decoded = decode_general(raw, filters, parms, limits.max_stream_bytes)
    except TooLarge as exc:
        raise _bomb(f"an image on {where}", exc.filter, len(raw), limits) from None
    if not decoded.codec:
        return
    globals_data = None
    if decoded.codec in JBIG2:
        jbig2_parms = codec_parms(parms, filters, decoded.codec)
        stream = jbig2_parms.get("/JBIG2Globals") if hasattr(jbig2_parms, "get") else None
        if stream is not None and hasattr(stream, "read_raw_bytes"):
            check_stream(stream, limits, f"the JBIG2 globals of an image on {where}")
            try:
                globals_data = stream.read_bytes()  # bounded by the check just made
            except Exception as exc:  # noqa: BLE001
                log.debug("%s: JBIG2 globals unreadable: %s", where, exc)
    sizes = codec_sizes(decoded.codec, decoded.data or b"",
                        codec_parms(parms, filters, decoded.codec), h, globals_data)
    how = f" ({decoded.codec[1:]} header)"
    for size in sizes:
        _too_large(where, size.width, size.height, size.components, size.bits, limits, how)
        if size.tiles > MAX_TILES:  # JPEG 2000 cut into tiny tiles: one structure per tile
            raise LimitExceeded(
                f"an image on {where} is cut into {size.tiles:,} tiles{how} (limit "
                f"{MAX_TILES:,}): refused", IMAGE_VI)


def _key(obj):
    return obj.objgen if getattr(obj, "is_indirect", False) else (id(obj), -1)


def check_page_resources(page, index: int, limits: Limits,
                         seen: set[tuple[int, int]] | None = None) -> None:
    """Content streams, and every image, form and font program the page draws with (named by
    page in the message; everything else is swept by `check_every_stream`). Forms are followed once
    (a form that draws itself is no loop); pass one `seen` set for all pages of a file so
    resources the pages share are checked once."""
    where = f"page {index + 1}"
    seen = set() if seen is None else seen
    contents = page.obj.get("/Contents")
    if contents is not None:
        items = list(contents) if contents.__class__.__name__ == "Array" else [contents]
        for item in items:
            key = _key(item)
            if key in seen or not hasattr(item, "read_raw_bytes"):
                continue
            seen.add(key)
            check_stream(item, limits, f"the content of {where}")
    pending = [page.obj.get("/Resources")]
    while pending:
        resources = pending.pop()
        if resources is None or not hasattr(resources, "get"):
            continue
        for what, stream in _font_streams(resources.get("/Font")):
            key = _key(stream)
            if key not in seen:
                seen.add(key)
                check_stream(stream, limits, f"{what} on {where}")
        xobjects = resources.get("/XObject")
        if xobjects is None or not hasattr(xobjects, "items"):
            continue
        for _name, xobj in xobjects.items():
            key = _key(xobj)
            if key in seen or not hasattr(xobj, "read_raw_bytes"):
                continue
            seen.add(key)
            subtype = str(xobj.get("/Subtype", ""))
            if subtype == "/Image":
                check_image(xobj, limits, where)
            elif subtype == "/Form":
                check_stream(xobj, limits, f"a form on {where}")
                pending.append(xobj.get("/Resources"))


def _font_streams(fonts):
    """(what, stream) for the font programs and Type 3 glyph procedures of a /Font dictionary."""
    if fonts is None or not hasattr(fonts, "items"):
        return
    for _name, font in fonts.items():
        if not hasattr(font, "get"):
            continue
        for descendant in [font, *list(font.get("/DescendantFonts") or [])]:
            descriptor = descendant.get("/FontDescriptor") if hasattr(descendant, "get") else None
            if descriptor is None or not hasattr(descriptor, "get"):
                continue
            for key in ("/FontFile", "/FontFile2", "/FontFile3"):
                program = descriptor.get(key)
                if program is not None and hasattr(program, "read_raw_bytes"):
                    yield "a font program", program
        procs = font.get("/CharProcs")
        if procs is not None and hasattr(procs, "items"):
            for _glyph, proc in procs.items():
                if hasattr(proc, "read_raw_bytes"):
                    yield "a Type 3 glyph", proc


# qpdf decoded these itself when it opened the file
_STRUCTURE = {"/ObjStm", "/XRef"}


def check_every_stream(pdf, limits: Limits, seen: set[tuple[int, int]]) -> None:
    """Every other stream object of the file (fonts, patterns, shadings, annotation appearances,
    soft masks, ICC profiles, JBIG2 globals …) once: the renderer may decode any of them."""
    import pikepdf

    for obj in pdf.objects:
        if not isinstance(obj, pikepdf.Stream):
            continue
        key = _key(obj)
        if key in seen:
            continue
        seen.add(key)
        if str(obj.get("/Type", "")) in _STRUCTURE:
            continue
        what = f"stream object {key[0]} {key[1]}"
        if str(obj.get("/Subtype", "")) == "/Image":
            check_image(obj, limits, f"{what} (an image)")
        else:
            check_stream(obj, limits, what)


# --- rendering ------------------------------------------------------------------------------


# exit statuses of a renderer that was killed: `timeout` (wall time), SIGKILL (CPU hard limit
# or the kernel), SIGXCPU (CPU soft limit)
_KILLED = {124, 128 + signal.SIGKILL, 128 + signal.SIGXCPU}
# a renderer that ran out of memory may also abort or crash while failing to allocate
_CRASHED = {128 + signal.SIGABRT, 128 + signal.SIGSEGV, 128 + signal.SIGBUS}


def render_pdf_page(path: Path, index: int, dpi: int, limits: Limits) -> Image.Image:
    """Render page `index` (0-based) of `path` at `dpi` with pdf2image (pdftoppm), the tools
    run by `ocr.poppler`'s wrappers inside the memory and time limits. Returns an RGB image.
    Raises LimitExceeded or RenderFailed."""
    import pdf2image
    from pdf2image.exceptions import PDFPageCountError, PDFPopplerTimeoutError

    from ocr.poppler import RENDER_MARK, outcome, tools_dir

    too_slow = LimitExceeded(
        f"page {index + 1} takes longer than {limits.render_seconds:.0f} s to render",
        f"trang {index + 1} quá phức tạp, không hiển thị được trong thời gian cho phép")
    tools = tools_dir(limits.render_memory_mb, limits.render_seconds)
    with tempfile.TemporaryDirectory(prefix=f"{RENDER_MARK}{os.getpid()}-") as tmp:
        root = Path(tmp) / "page"
        try:
            found = pdf2image.convert_from_path(
                path, dpi=dpi, first_page=index + 1, last_page=index + 1, output_folder=tmp,
                output_file="page", single_file=True, paths_only=True, poppler_path=tools,
                timeout=limits.render_seconds + 10)  # the wrapper's own timeout comes first
        except PDFPopplerTimeoutError:
            raise too_slow from None
        except PDFPageCountError as exc:  # pdfinfo could not read it (or was killed)
            log.debug("pdfinfo %s: %s", path.name, str(exc)[-500:])
            raise RenderFailed(index) from None
        status, stderr = outcome(root)
        if status in _KILLED:
            raise too_slow
        # poppler out of memory may still exit 0 with a 1x1 image: read what it said first
        lowered = stderr.lower()
        if "out of memory" in lowered or "bad_alloc" in lowered or status in _CRASHED:
            log.debug("pdftoppm %s page %d exit %s: %s", path.name, index + 1, status,
                      stderr[-500:])
            raise LimitExceeded(
                f"page {index + 1} needs more than {limits.render_memory_mb} MB to render",
                f"trang {index + 1} quá lớn, không hiển thị được")
        if status != 0 or len(found) != 1:
            log.debug("pdftoppm %s page %d exit %s: %s", path.name, index + 1, status,
                      stderr[-500:])
            raise RenderFailed(index)
        if stderr:
            log.debug("pdftoppm %s page %d: %s", path.name, index + 1, stderr[-500:])
        with Image.open(found[0]) as img:
            check_pixels(img.width, img.height, limits, f" on page {index + 1}")
            img.load()
            return img.copy() if img.mode == "RGB" else img.convert("RGB")


class RenderFailed(Exception):
    """pdftoppm could not render the page (a damaged page, not a limit)."""

    def __init__(self, index: int):
        super().__init__(f"page {index + 1} cannot be rendered")
        self.index = index
