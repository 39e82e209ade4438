"""Visible signature text and QR code on page 1 of a digitized copy.

Owns: :class:`SealInfo` (what the seal shows and what the QR code carries), the QR payload,
:class:`SealLayout` (where the signature box and the QR code go, and at what size),
:func:`seal_needs` (the sizes a layout must find room for) and :func:`prepare_seal`, which adds
the QR code to page 1 of an incremental writer and returns the pyHanko stamp style and field
spec for the visible signature. The signature made afterwards covers both.

Rules followed (DESIGN.md, "Domain facts"):

* Decree 30/2020/NĐ-CP, Appendix I: the agency's signature on a digitized copy sits top-right
  of page 1 and shows the kind of copy ("SAO Y" by default), the agency's name and the signing
  time in ISO 8601 with Vietnam's offset, Times New Roman 10 pt, upright, black. We embed
  Liberation Serif (metric-compatible with Times New Roman) so Vietnamese glyphs render.
  Where the page has no room at 10 pt the caller may shrink it to ``MIN_FONT_SIZE`` (7 pt).
* Circular 01/2023/TT-VPCP: a QR code top-left (ISO/IEC 18004) carrying at least the dossier
  code, procedure code, applicant identifier, document name, issuing system and time (results:
  also validity and scope), and the agency that made the copy. The payload is compact UTF-8
  JSON, see :func:`qr_payload`; a module is never smaller than ``QR_MIN_MODULE`` (3 pixels of
  a 200 dpi print).

A copy must not change what the original shows: the caller finds free space on the page
(``ocr.freespace``, composed in ``pipeline.placement``) and passes a :class:`SealLayout`.
Without one — or when the page has no free space — page 1 gets a margin strip: its boxes grow
upward by the strip's height, every original pixel stays where it was, and the seal and QR
code are drawn in the strip. Placement assumes an unrotated page (``/Rotate`` 0; sohoa's
searchable PDFs are drawn upright).
"""

from __future__ import annotations

import datetime as dt
import functools
import io
import json
import math
from dataclasses import dataclass, field
from pathlib import Path

import qrcode
from fontTools import subset
from fontTools.ttLib import TTFont
from fontTools.ttLib.scaleUpem import scale_upem
from pyhanko.pdf_utils import generic, text
from pyhanko.pdf_utils import layout as layout_rules
from pyhanko.pdf_utils.font.opentype import GlyphAccumulator, GlyphAccumulatorFactory
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.sign import fields
from pyhanko.stamp import TextStampStyle

VN_TZ = dt.timezone(dt.timedelta(hours=7), "ICT")  # Vietnam: UTC+07:00, no DST
FONT_SIZE = 10
MIN_FONT_SIZE = 7  # legible limit when the page has little room
LEADING = 12
PAD = 2.0  # pt between the signature box's edge and its text
QR_MIN_MODULE = 1.12  # pt: 3.1 pixels of a 200 dpi print (3.0 did not always decode)
STRIP_STEP = 36.0  # pt: a margin strip is a whole number of half-inches high
MARGIN = 12.0  # pt from the page edges: inside the 20–25 mm top margin of Decree 30
QR_SIZE = 68.0  # pt (24 mm): small enough to stay in the top margin of most documents
FONT_CANDIDATES = (
    "/usr/share/fonts/truetype/liberation2/LiberationSerif-Regular.ttf",
    "/usr/share/fonts/truetype/liberation/LiberationSerif-Regular.ttf",
    "/usr/share/fonts/liberation-serif/LiberationSerif-Regular.ttf",
)


class SealError(ValueError):
    """The seal cannot be drawn (missing data, missing font, unusable page)."""


Box = tuple[float, float, float, float]  # x1, y1, x2, y2 in PDF user space of page 1


@dataclass(frozen=True)
class SealLayout:
    """Where the visible signature and the QR code go on page 1 (PDF user space, points).

    ``strip``: points added above the page (its boxes grow upward) before drawing; boxes
    given in the strip lie above the original page's top edge."""

    sig_box: Box
    font_size: float = FONT_SIZE
    qr_box: Box | None = None  # a square
    strip: float = 0.0


@dataclass(frozen=True)
class SealNeeds:
    """The room a seal needs: the signature box at 10 pt, and the QR code's side."""

    sig_width: float
    sig_height: float
    min_scale: float  # MIN_FONT_SIZE / FONT_SIZE
    qr_side: float | None  # preferred; None: no QR code
    qr_min_side: float | None


@dataclass(frozen=True)
class SealInfo:
    """What the visible signature shows and what the QR code carries."""

    agency_name: str
    copy_kind: str = "SAO Y"
    signing_time: dt.datetime | None = None  # default: now; shown in Vietnam time
    dossier_code: str | None = None
    procedure_code: str | None = None
    applicant_id: str | None = None
    document_name: str | None = None
    issuing_system: str = "sohoa"
    issued_at: dt.datetime | str | None = None  # default: the signing time
    valid_until: str | None = None
    scope: str | None = None
    verify_url: str | None = None
    qr: bool = True
    font_path: Path | None = None
    extra: dict[str, str] = field(default_factory=dict)
    agency_code: str | None = None  # the agency's electronic identifier, where known
    layout: SealLayout | None = None  # None: a margin strip above page 1

    def lines(self, when: dt.datetime) -> list[str]:
        return [self.copy_kind, self.agency_name, iso_time(when)]

    def resolved_time(self) -> dt.datetime:
        t = self.signing_time or dt.datetime.now(dt.UTC)
        if t.tzinfo is None:
            raise SealError("SealInfo.signing_time must carry a time zone")
        return t.astimezone(VN_TZ).replace(microsecond=0)


def iso_time(t: dt.datetime) -> str:
    """ISO 8601 with seconds and the +07:00 offset, e.g. 2025-03-01T09:05:00+07:00."""
    return t.astimezone(VN_TZ).replace(microsecond=0).isoformat()


# The QR payload's keys (Vietnamese abbreviations): mã hồ sơ, mã thủ tục, định danh người yêu
# cầu, tên kết quả, hệ thống, thời gian ban hành, hiệu lực, phạm vi, đường dẫn xác minh.
# cơ quan (mã định danh), tên cơ quan.
QR_KEYS = {
    "dossier_code": "hs", "procedure_code": "tthc", "applicant_id": "dd", "document_name": "kq",
    "issuing_system": "ht", "issued_at": "tg", "valid_until": "hl", "scope": "pv",
    "verify_url": "xm", "agency_code": "cq", "agency_name": "tcq",
}


def read_qr_payload(text: str) -> dict:
    """The QR payload with its long field names (for other systems and tests)."""
    long = {short: name for name, short in QR_KEYS.items()}
    return {long.get(k, k): v for k, v in json.loads(text).items()}


def qr_payload(seal: SealInfo, signing_time: dt.datetime) -> str:
    """Compact UTF-8 JSON for the QR code; raises :class:`SealError` if required data lacks."""
    missing = [
        name for name in ("dossier_code", "procedure_code", "document_name")
        if not getattr(seal, name)
    ]
    if missing:
        raise SealError(
            "the QR code needs " + ", ".join(missing)
            + " (Circular 01/2023/TT-VPCP); pass them in SealInfo or set qr=False"
        )
    issued = seal.issued_at or signing_time
    if isinstance(issued, dt.datetime):
        issued = iso_time(issued)
    data = {  # short keys (QR_KEYS) keep the code small enough to read from a 200 dpi scan
        QR_KEYS["dossier_code"]: seal.dossier_code,
        QR_KEYS["procedure_code"]: seal.procedure_code,
        QR_KEYS["applicant_id"]: seal.applicant_id,
        QR_KEYS["document_name"]: seal.document_name,
        QR_KEYS["issuing_system"]: seal.issuing_system,
        QR_KEYS["issued_at"]: issued,
        QR_KEYS["valid_until"]: seal.valid_until,
        QR_KEYS["scope"]: seal.scope,
        QR_KEYS["verify_url"]: seal.verify_url,
        # the agency that made the copy: its code when it has one (short), else its name
        QR_KEYS["agency_code"]: seal.agency_code,
        QR_KEYS["agency_name"]: None if seal.agency_code else seal.agency_name,
        **seal.extra,
    }
    return json.dumps(
        {k: v for k, v in data.items() if v not in (None, "")},
        ensure_ascii=False, separators=(",", ":"),
    )


def find_font(explicit: Path | None = None) -> Path:
    candidates = [Path(explicit)] if explicit else [Path(p) for p in FONT_CANDIDATES]
    for c in candidates:
        if c.is_file():
            return c
    raise SealError(
        "no Times-compatible TrueType font found (tried "
        + ", ".join(str(c) for c in candidates)
        + "); install fonts-liberation2 or set SealInfo.font_path"
    )


@functools.lru_cache(maxsize=4)
def _prepared_font(path: str) -> bytes:
    """Latin + Vietnamese subset of the font, rescaled to 1000 units per em.

    pyHanko 0.38 writes glyph widths in font units into /W, which PDF reads as 1/1000 em:
    fonts with 2048 units per em (Liberation) come out with letters spread far apart.
    Rescaling to 1000 units per em makes the widths right; subsetting first keeps it fast.
    """
    tt = TTFont(path)
    opts = subset.Options()
    opts.layout_features = ["*"]
    opts.hinting = False
    opts.name_IDs = ["*"]
    opts.notdef_outline = True
    opts.drop_tables = [*opts.drop_tables, "FFTM"]
    sub = subset.Subsetter(options=opts)
    sub.populate(unicodes=_UNICODES)
    sub.subset(tt)
    if tt["head"].unitsPerEm != 1000:
        scale_upem(tt, 1000)
    buf = io.BytesIO()
    tt.save(buf)
    return buf.getvalue()


_UNICODES = [
    *range(0x20, 0x7F), *range(0xA0, 0x250), *range(0x300, 0x370),
    *range(0x1E00, 0x1F00), *range(0x2000, 0x2070), 0x20AB,
]


class _PreparedFontFactory(GlyphAccumulatorFactory):
    """GlyphAccumulatorFactory reading the prepared (subset, 1000-upem) font from memory."""

    def create_font_engine(self, writer, obj_stream=None) -> GlyphAccumulator:
        if obj_stream is None and writer.stream_xrefs and self.create_objstream_if_needed:
            obj_stream = writer.prepare_object_stream()
        return GlyphAccumulator(
            writer=writer,
            font_handle=io.BytesIO(_prepared_font(self.font_file)),
            font_size=self.font_size,
            obj_stream=obj_stream,
        )


@functools.lru_cache(maxsize=8)
def _pil_font(path: str):
    from PIL import ImageFont

    return ImageFont.truetype(path, size=100)


def _text_width(font: Path, line: str, size: float = FONT_SIZE) -> float:
    return _pil_font(str(font)).getlength(line) * size / 100


def _first_page(writer: IncrementalPdfFileWriter):
    try:
        page = writer.root["/Pages"]["/Kids"][0].get_object()
        while "/Kids" in page:  # nested page tree: follow the first leaf
            page = page["/Kids"][0].get_object()
    except (KeyError, IndexError, TypeError) as exc:
        raise SealError(f"cannot find page 1: {exc}") from exc
    return page


def _page_box(writer: IncrementalPdfFileWriter) -> Box:
    page = _first_page(writer)
    try:
        box = page.get("/CropBox") or _inherited(page, "/MediaBox")
        x1, y1, x2, y2 = (float(v) for v in box)
    except (KeyError, IndexError, TypeError, ValueError) as exc:
        raise SealError(f"cannot find the size of page 1: {exc}") from exc
    return min(x1, x2), min(y1, y2), max(x1, x2), max(y1, y2)


def _inherited(page, key):
    node = page
    while node is not None:
        if key in node:
            return node[key]
        node = node.get("/Parent")
        node = node.get_object() if node is not None else None
    raise KeyError(key)


@functools.lru_cache(maxsize=32)
def _qr_matrix(payload: str) -> tuple[tuple[bool, ...], ...]:
    """The QR code's modules, quiet zone included (cached: placing and drawing share it)."""
    qr = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_L, border=2)
    qr.add_data(payload.encode("utf-8"))
    qr.make(fit=True)
    return tuple(tuple(row) for row in qr.get_matrix())


def _qr_modules(payload: str) -> int:
    """The QR code's side in modules (quiet zone included), from the payload's length only:
    no mask is evaluated, so it is cheap next to drawing the code."""
    qr = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_L, border=2)
    qr.add_data(payload.encode("utf-8"))
    version = qr.best_fit()
    return 17 + 4 * version + 2 * qr.border


def _qr_stream(payload: str, x: float, y: float, size: float) -> bytes:
    """Vector QR code: one filled rectangle per horizontal run of dark modules."""
    matrix = _qr_matrix(payload)
    n = len(matrix)
    m = size / n
    ops = ["Q", "q", "1 g", f"{x:.2f} {y:.2f} {size:.2f} {size:.2f} re f", "0 g"]
    for r, row in enumerate(matrix):
        c = 0
        while c < n:
            if row[c]:
                start = c
                while c < n and row[c]:
                    c += 1
                px = x + start * m
                py = y + size - (r + 1) * m
                ops.append(f"{px:.3f} {py:.3f} {(c - start) * m:.3f} {m:.3f} re")
            else:
                c += 1
    ops += ["f", "Q"]
    return ("\n".join(ops) + "\n").encode("ascii")


def seal_needs(seal: SealInfo) -> SealNeeds:
    """The room ``seal`` needs on page 1 (for a caller that places it)."""
    font = find_font(seal.font_path)
    when = seal.resolved_time()
    # the size at 10 pt such that, scaled to s/10, it holds the text set at s pt (s = 10 … 7)
    sizes = [_sig_size(font, seal.lines(when), s) for s in range(FONT_SIZE, MIN_FONT_SIZE - 1, -1)]
    scales = [s / FONT_SIZE for s in range(FONT_SIZE, MIN_FONT_SIZE - 1, -1)]
    width = max(w / k for (w, _h), k in zip(sizes, scales, strict=True))
    height = max(h / k for (_w, h), k in zip(sizes, scales, strict=True))
    qr_side = qr_min = None
    if seal.qr:
        modules = _qr_modules(qr_payload(seal, when))  # the signing time's length is fixed
        qr_min = modules * QR_MIN_MODULE
        qr_side = max(QR_SIZE, qr_min)
    return SealNeeds(sig_width=width, sig_height=height, min_scale=MIN_FONT_SIZE / FONT_SIZE,
                     qr_side=qr_side, qr_min_side=qr_min)


def _leading(size: int) -> int:
    return size + LEADING - FONT_SIZE


def _sig_size(font: Path, lines: list[str], size: int) -> tuple[float, float]:
    leading = _leading(size)
    width = max(_text_width(font, line, size) for line in lines) + 2 * PAD + 2
    height = len(lines) * leading + 2 * PAD + 2
    return width, height


def strip_layout(page_box: Box, needs: SealNeeds) -> SealLayout:
    """The fallback: a strip added above page 1 holding the signature (right) and QR (left).

    Nothing of the page is covered; the page grows by the strip's height."""
    x1, _y1, x2, y2 = page_box
    qr = needs.qr_side or 0.0
    # whole half-inches: rasterizing the copy at 72, 100, 144, 150, 200 or 300 dpi puts the
    # original page on the same pixel grid as the original alone
    strip = math.ceil((max(needs.sig_height, qr) + 2 * MARGIN) / STRIP_STEP) * STRIP_STEP
    top = y2 + strip
    sig_w = min(needs.sig_width, (x2 - x1) - qr - 3 * MARGIN)
    sig_box = (x2 - MARGIN - sig_w, top - MARGIN - needs.sig_height, x2 - MARGIN, top - MARGIN)
    qr_box = (x1 + MARGIN, top - MARGIN - qr, x1 + MARGIN + qr, top - MARGIN) if qr else None
    return SealLayout(sig_box=sig_box, font_size=FONT_SIZE, qr_box=qr_box, strip=strip)


def _grow_page(writer: IncrementalPdfFileWriter, strip: float) -> None:
    """Extend page 1's MediaBox (and CropBox) upward by ``strip`` points."""
    page = _first_page(writer)
    for key in ("/MediaBox", "/CropBox"):
        try:
            box = page.get(key) if key == "/CropBox" else _inherited(page, key)
        except KeyError:
            box = None
        if box is None:
            continue
        x1, y1, x2, y2 = (float(v) for v in box)
        x1, x2, y1, y2 = min(x1, x2), max(x1, x2), min(y1, y2), max(y1, y2)
        page[generic.NameObject(key)] = generic.ArrayObject(
            [generic.FloatObject(v) for v in (x1, y1, x2, y2 + strip)])
    for key in ("/BleedBox", "/TrimBox", "/ArtBox"):  # must stay inside the grown boxes: drop
        if key in page:
            del page[key]
    writer.update_container(page)


def add_qr(writer: IncrementalPdfFileWriter, payload: str, box: Box | None = None) -> None:
    """Draw the QR code on page 1 in an incremental update (default: top-left corner)."""
    if box is None:
        x1, _y1, _x2, y2 = _page_box(writer)
        box = (x1 + MARGIN, y2 - MARGIN - QR_SIZE, x1 + MARGIN + QR_SIZE, y2 - MARGIN)
    x, y, x2, y2 = box
    size = min(x2 - x, y2 - y)
    # wrap existing content in q ... Q so its graphics state cannot move our drawing
    pre = writer.add_object(generic.StreamObject(stream_data=b"q\n"))
    writer.add_stream_to_page(0, pre, prepend=True)
    post = writer.add_object(generic.StreamObject(stream_data=_qr_stream(payload, x, y, size)))
    writer.add_stream_to_page(0, post)


def prepare_seal(
    writer: IncrementalPdfFileWriter, seal: SealInfo, *, field_name: str
) -> tuple[TextStampStyle, fields.SigFieldSpec, dict[str, str], dt.datetime]:
    """Add the QR code (if asked) and lay out the visible signature box.

    Uses ``seal.layout``; without one, adds a margin strip above page 1 (see
    :func:`strip_layout`). Returns the stamp style, the new field spec, the text parameters
    and the signing time to use, so the time shown equals the time in the signature.
    """
    if not seal.agency_name or not seal.agency_name.strip():
        raise SealError("SealInfo.agency_name is empty: the seal must name the agency")
    font = find_font(seal.font_path)
    when = seal.resolved_time()
    layout = seal.layout or strip_layout(_page_box(writer), seal_needs(seal))
    if layout.font_size < MIN_FONT_SIZE - 1e-6:
        raise SealError(f"seal text of {layout.font_size:.1f} pt is below the legible "
                        f"{MIN_FONT_SIZE} pt")
    if layout.strip > 0:
        _grow_page(writer, layout.strip)
    if seal.qr:
        payload = qr_payload(seal, when)
        if layout.qr_box is None:
            raise SealError("the seal layout has no place for the QR code")
        side = min(layout.qr_box[2] - layout.qr_box[0], layout.qr_box[3] - layout.qr_box[1])
        if side < len(_qr_matrix(payload)) * QR_MIN_MODULE - 0.01:
            raise SealError(f"a QR code of {side:.0f} pt would not decode from a 200 dpi print")
        add_qr(writer, payload, layout.qr_box)
    size = int(layout.font_size)  # whole points: pyHanko's text layout wants rationals
    x1, y1, x2, y2 = layout.sig_box
    box = (math.floor(x1), math.floor(y1), math.ceil(x2), math.ceil(y2))
    style = TextStampStyle(
        stamp_text="%(copy_kind)s\n%(agency)s\n%(when)s",
        text_box_style=text.TextBoxStyle(
            font=_PreparedFontFactory(str(font), font_size=size),
            font_size=size,
            leading=_leading(size),
            text_color=(0, 0, 0),
            box_layout_rule=layout_rules.SimpleBoxLayoutRule(
                x_align=layout_rules.AxisAlignment.ALIGN_MIN,
                y_align=layout_rules.AxisAlignment.ALIGN_MAX,
                margins=layout_rules.Margins.uniform(0),
            ),
        ),
        inner_content_layout=layout_rules.SimpleBoxLayoutRule(
            x_align=layout_rules.AxisAlignment.ALIGN_MIN,
            y_align=layout_rules.AxisAlignment.ALIGN_MAX,
            margins=layout_rules.Margins.uniform(PAD),
        ),
        border_width=0,
        background=None,
    )
    spec = fields.SigFieldSpec(sig_field_name=field_name, on_page=0, box=box)
    params = {"copy_kind": seal.copy_kind, "agency": seal.agency_name, "when": iso_time(when)}
    return style, spec, params, when
