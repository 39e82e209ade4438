"""Visible signature text and QR code on page 1 of a digitized copy.

Owns: :class:`SealInfo` (what the seal shows and what the QR code carries), the QR payload,
and :func:`prepare_seal`, which adds the QR code to page 1 (top-left) of an incremental
writer and returns the pyHanko stamp style and field spec for a visible signature at the
top-right. The signature made afterwards covers both.

Rules followed (DESIGN.md, "Domain facts"):

* Decree 30/2020/NĐ-CP, Appendix I: the agency's signature on a digitized copy sits top-right
  of page 1 and shows the kind of copy ("SAO Y" by default), the agency's name and the signing
  time in ISO 8601 with Vietnam's offset, Times New Roman 10 pt, upright, black. We embed
  Liberation Serif (metric-compatible with Times New Roman) so Vietnamese glyphs render.
* Circular 01/2023/TT-VPCP: a QR code top-left (ISO/IEC 18004) carrying at least the dossier
  code, procedure code, applicant identifier, document name, issuing system and time (results:
  also validity and scope). The payload is compact UTF-8 JSON, see :func:`qr_payload`.

Limitation: placement assumes an unrotated page (``/Rotate`` 0); other rotations are placed
on the unrotated page's top corners.
"""

from __future__ import annotations

import datetime as dt
import functools
import io
import json
from dataclasses import dataclass, field
from pathlib import Path

import qrcode
from fontTools import subset
from fontTools.ttLib import TTFont
from fontTools.ttLib.scaleUpem import scale_upem
from pyhanko.pdf_utils import generic, text
from pyhanko.pdf_utils.font.opentype import GlyphAccumulator, GlyphAccumulatorFactory
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.sign import fields
from pyhanko.stamp import TextStampStyle

VN_TZ = dt.timezone(dt.timedelta(hours=7), "ICT")  # Vietnam: UTC+07:00, no DST
FONT_SIZE = 10
LEADING = 12
MARGIN = 12.0  # pt from the page edges: inside the 20–25 mm top margin of Decree 30
QR_SIZE = 68.0  # pt (24 mm): small enough to stay in the top margin of most documents
FONT_CANDIDATES = (
    "/usr/share/fonts/truetype/liberation2/LiberationSerif-Regular.ttf",
    "/usr/share/fonts/truetype/liberation/LiberationSerif-Regular.ttf",
    "/usr/share/fonts/liberation-serif/LiberationSerif-Regular.ttf",
)


class SealError(ValueError):
    """The seal cannot be drawn (missing data, missing font, unusable page)."""


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
QR_KEYS = {
    "dossier_code": "hs", "procedure_code": "tthc", "applicant_id": "dd", "document_name": "kq",
    "issuing_system": "ht", "issued_at": "tg", "valid_until": "hl", "scope": "pv",
    "verify_url": "xm",
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


def _text_width(font: Path, line: str) -> float:
    from PIL import ImageFont

    return ImageFont.truetype(str(font), size=100).getlength(line) * FONT_SIZE / 100


def _page_box(writer: IncrementalPdfFileWriter) -> tuple[float, float, float, float]:
    try:
        page = writer.root["/Pages"]["/Kids"][0].get_object()
        while "/Kids" in page:  # nested page tree: follow the first leaf
            page = page["/Kids"][0].get_object()
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


def _qr_stream(payload: str, x: float, y: float, size: float) -> bytes:
    """Vector QR code: one filled rectangle per horizontal run of dark modules."""
    qr = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_L, border=2)
    qr.add_data(payload.encode("utf-8"))
    qr.make(fit=True)
    matrix = qr.get_matrix()  # includes the quiet zone
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


def add_qr(writer: IncrementalPdfFileWriter, payload: str) -> None:
    """Draw the QR code at the top-left of page 1 in an incremental update."""
    x1, _y1, _x2, y2 = _page_box(writer)
    size = QR_SIZE
    # wrap existing content in q ... Q so its graphics state cannot move our drawing
    pre = writer.add_object(generic.StreamObject(stream_data=b"q\n"))
    writer.add_stream_to_page(0, pre, prepend=True)
    post = writer.add_object(
        generic.StreamObject(stream_data=_qr_stream(payload, x1 + MARGIN, y2 - MARGIN - size,
                                                    size))
    )
    writer.add_stream_to_page(0, post)


def prepare_seal(
    writer: IncrementalPdfFileWriter, seal: SealInfo, *, field_name: str
) -> tuple[TextStampStyle, fields.SigFieldSpec, dict[str, str], dt.datetime]:
    """Add the QR code (if asked) and lay out the visible signature box.

    Returns the stamp style, the new field spec, the text parameters and the signing time to
    use, so the time shown equals the time in the signature.
    """
    if not seal.agency_name or not seal.agency_name.strip():
        raise SealError("SealInfo.agency_name is empty: the seal must name the agency")
    font = find_font(seal.font_path)
    when = seal.resolved_time()
    if seal.qr:
        add_qr(writer, qr_payload(seal, when))
    lines = [seal.copy_kind, seal.agency_name, iso_time(when)]
    # pyHanko's text box keeps a 10 pt margin; size the box so the text needs no shrinking
    width = max(_text_width(font, line) for line in lines) + 2 * 10 + 4
    height = len(lines) * LEADING + 2 * 10 + 4
    x1, _y1, x2, y2 = _page_box(writer)
    width = min(width, (x2 - x1) / 2)
    box = (
        int(x2 - MARGIN - width), int(y2 - MARGIN - height),
        int(x2 - MARGIN + 0.999), int(y2 - MARGIN + 0.999),
    )
    style = TextStampStyle(
        stamp_text="%(copy_kind)s\n%(agency)s\n%(when)s",
        text_box_style=text.TextBoxStyle(
            font=_PreparedFontFactory(str(font), font_size=FONT_SIZE),
            font_size=FONT_SIZE,
            leading=LEADING,
            text_color=(0, 0, 0),
            box_layout_rule=None,
        ),
        border_width=0,
        background=None,
    )
    spec = fields.SigFieldSpec(sig_field_name=field_name, on_page=0, box=box)
    params = {"copy_kind": seal.copy_kind, "agency": seal.agency_name, "when": iso_time(when)}
    return style, spec, params, when
