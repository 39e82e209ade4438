"""The Decree 30 copy's seal and QR code never cover the document: measured on rendered pages.

Each case signs page 1 with the layout `pipeline.placement.seal_layout` finds, renders the
signed page and the unsigned one at 200 dpi (poppler, annotations drawn) and checks that:
no pixel the seal or the QR code changed lies on ink of the unsigned page; the seal is there;
the QR code decodes (OpenCV) to the payload; pdftotext of the signed copy is the unsigned
copy's text plus the seal's three lines, each on a line of its own. Pages: generated (roomy
Decree 30 margins, tight margins with a full page of text, a full-width header), a scan whose
first page lies on its side (through OCR, placed in the corrected frame), and the real pages
of ``../shared/real-dev``. Screenshots go to test-artifacts/placement/.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import io
import subprocess
from pathlib import Path

import cv2
import numpy as np
import pikepdf
import pytest

from pipeline.placement import seal_layout
from signing.seal import SealInfo, qr_payload, read_qr_payload
from signing.signer import UnitSigner
from tests.support.qr import decode_qr

FONT = "/usr/share/fonts/truetype/liberation2/LiberationSerif-Regular.ttf"
BOLD = "/usr/share/fonts/truetype/liberation2/LiberationSerif-Bold.ttf"
_REPO = Path(__file__).resolve().parents[2]
# ../shared/real-dev beside the main checkout (worktrees sit one level deeper)
REAL_DEV = next((p for p in (_REPO.parent / "shared" / "real-dev",
                             _REPO.parent.parent / "shared" / "real-dev") if p.is_dir()),
                _REPO.parent / "shared" / "real-dev")
ARTIFACTS = _REPO / "test-artifacts" / "placement"
DPI = 200
SEAL = SealInfo(
    agency_name="Ủy ban nhân dân phường Trúc Bạch",
    agency_code="000.00.04.H26",
    dossier_code="000.00.04.H26-250301-0001",
    procedure_code="1.001193",
    applicant_id="001203004567",
    document_name="Quyết định số 125/QĐ-UBND",
    verify_url="https://sohoa.example/v1/results/0123456789abcdef/verification",
    signing_time=dt.datetime(2025, 3, 1, 2, 5, 7, tzinfo=dt.UTC),
)
MOTTO = ("CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", "Độc lập - Tự do - Hạnh phúc")
BODY = ("Căn cứ Luật Tổ chức chính quyền địa phương ngày 19 tháng 6 năm 2015; căn cứ Nghị định "
        "số 30/2020/NĐ-CP ngày 05 tháng 3 năm 2020 của Chính phủ về công tác văn thư; xét đề "
        "nghị của công chức Tư pháp - Hộ tịch phường về việc công nhận tổ hòa giải ở cơ sở.")


@pytest.fixture(scope="module")
def signer(tmp_path_factory):
    from signing.dev_pki import ensure_dev_pki

    pki = ensure_dev_pki(tmp_path_factory.mktemp("keys"))
    return UnitSigner.from_pkcs12(pki.unit_pkcs12("00004", "UBND phường Trúc Bạch"),
                                  pki.unit_passphrase("00004"))


def _fpdf(margin_mm: float):
    from fpdf import FPDF

    pdf = FPDF(format="A4", unit="pt")
    pdf.set_margins(margin_mm * 72 / 25.4, margin_mm * 72 / 25.4)
    pdf.set_auto_page_break(False)
    pdf.add_font("serif", "", FONT)
    pdf.add_font("serif", "B", BOLD)
    pdf.add_page()
    return pdf


def _header(pdf, top: float) -> None:
    """Issuing body top-left, national motto top-right (Decree 30 layout)."""
    pdf.set_font("serif", "B", 13)
    pdf.set_xy(pdf.l_margin, top)
    pdf.cell(180, 16, "UBND PHƯỜNG TRÚC BẠCH", align="C")
    pdf.set_font("serif", "B", 12)
    for n, line in enumerate(MOTTO):
        pdf.set_xy(pdf.w - pdf.r_margin - 260, top + n * 16)
        pdf.cell(260, 16, line, align="C")


def roomy_page() -> bytes:
    """Decree 30 margins: 20 mm top, 30 mm left, 15 mm right."""
    pdf = _fpdf(20)
    pdf.set_right_margin(15 * 72 / 25.4)
    pdf.set_left_margin(30 * 72 / 25.4)
    _header(pdf, 20 * 72 / 25.4)
    pdf.set_font("serif", "", 13)
    pdf.set_xy(pdf.l_margin, 200)
    pdf.multi_cell(0, 18, BODY * 3)
    return bytes(pdf.output())


def tight_page() -> bytes:
    """6 mm margins and text from the top edge to the bottom: no room anywhere."""
    pdf = _fpdf(6)
    _header(pdf, 6 * 72 / 25.4)
    pdf.set_font("serif", "", 13)
    pdf.set_xy(pdf.l_margin, 52)
    pdf.multi_cell(0, 16, BODY * 14)
    return bytes(pdf.output())


def full_width_header_page() -> bytes:
    """A letterhead band across the whole width at the top, then the usual header below."""
    pdf = _fpdf(10)
    pdf.set_fill_color(40, 40, 40)
    pdf.rect(0, 0, pdf.w, 70, style="F")
    pdf.set_font("serif", "B", 15)
    pdf.set_xy(20, 85)
    pdf.cell(pdf.w - 40, 18, "ỦY BAN NHÂN DÂN PHƯỜNG TRÚC BẠCH - BỘ PHẬN MỘT CỬA - "
             "TRUNG TÂM PHỤC VỤ HÀNH CHÍNH CÔNG", align="C")
    _header(pdf, 200)
    pdf.set_font("serif", "", 13)
    pdf.set_xy(pdf.l_margin, 330)
    pdf.multi_cell(0, 18, BODY * 3)
    return bytes(pdf.output())


def first_page(path: Path) -> bytes:
    with pikepdf.open(path) as src:
        out = pikepdf.new()
        out.pages.append(src.pages[0])
        buf = io.BytesIO()
        out.save(buf)
    return buf.getvalue()


def render(pdf: bytes, tmp: Path, dpi: int = DPI) -> np.ndarray:
    """Page 1 as 8-bit gray by poppler's pdftoppm (annotations, i.e. the signature's
    appearance, drawn), at exactly ``dpi``: the page's top edge is pixel row 0."""
    path = tmp / "r.pdf"
    path.write_bytes(pdf)
    subprocess.run(["pdftoppm", "-r", str(dpi), "-gray", "-f", "1", "-l", "1", "-singlefile",
                    str(path), str(tmp / "r")], check=True, timeout=120)
    return cv2.imread(str(tmp / "r.pgm"), cv2.IMREAD_GRAYSCALE)


def pdftotext(pdf: bytes, tmp: Path) -> list[str]:
    path = tmp / "t.pdf"
    path.write_bytes(pdf)
    out = subprocess.run(["pdftotext", "-f", "1", "-l", "1", str(path), "-"],
                         capture_output=True, text=True, check=True, timeout=60).stdout
    return [line for line in out.splitlines() if line.strip()]


def check_page(name: str, unsigned: bytes, signer, tmp: Path, *, words=None, size_px=None,
               screenshot: str | None = None):
    """Sign page 1 with its found layout and measure it; returns the layout."""
    layout = seal_layout(unsigned, SEAL, words=words, page_size_px=size_px)
    seal = dataclasses.replace(SEAL, layout=layout)
    signed = signer.sign(unsigned, reason="Sao y bản chính", signer_name=SEAL.agency_name,
                         seal=seal)
    before = render(unsigned, tmp).astype(np.int16)
    whole = render(signed, tmp)
    top = round(layout.strip * DPI / 72)  # a strip is whole half-inches: whole pixels
    after = whole[top:top + before.shape[0], :before.shape[1]].astype(np.int16)
    assert after.shape == before.shape, f"{name}: rendered page sizes differ"
    paper = np.percentile(before, 90)
    ink = before < paper - 48
    changed = np.abs(after - before) > 40
    on_ink = int((changed & ink).sum())
    if screenshot:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        cv2.imwrite(str(ARTIFACTS / f"{screenshot}.png"), render(signed, tmp, dpi=100))
    assert on_ink == 0, f"{name}: {on_ink} seal/QR pixels on ink ({layout})"
    if layout.strip == 0:
        assert changed.sum() > 500, f"{name}: nothing drawn? ({layout})"
    # the QR code decodes from a 200 dpi rendering, and carries the payload
    k = DPI / 72
    qx1, qy1, qx2, qy2 = layout.qr_box
    with pikepdf.open(io.BytesIO(signed)) as pdf:
        page_top = float(pdf.pages[0].mediabox[3])
    text = decode_qr(whole[max(0, int((page_top - qy2) * k) - 40):
                           int((page_top - qy1) * k) + 40,
                           max(0, int(qx1 * k) - 40):int(qx2 * k) + 40])
    assert text, f"{name}: QR code not decoded at {DPI} dpi ({layout})"
    assert read_qr_payload(text) == read_qr_payload(qr_payload(SEAL, SEAL.resolved_time()))
    # the scan's own text is unchanged: the signed text is it plus the seal's own lines
    seal_lines = SEAL.lines(SEAL.resolved_time())
    signed_text = pdftotext(signed, tmp)
    for line in seal_lines:
        assert line in signed_text, f"{name}: seal line {line!r} not on a line of its own"
        signed_text.remove(line)
    assert signed_text == pdftotext(unsigned, tmp), f"{name}: the page's text changed"
    return layout


def test_roomy_page_gets_the_seal_top_right_at_10pt(signer, tmp_path):
    layout = check_page("roomy", roomy_page(), signer, tmp_path, screenshot="roomy")
    x1, y1, x2, y2 = layout.sig_box
    assert layout.strip == 0 and layout.font_size == 10
    assert x1 > 595 / 2 and y2 > 842 - 40  # in the top-right corner
    qx1, _qy1, _qx2, qy2 = layout.qr_box
    assert qx1 < 595 / 2 and qy2 > 842 - 40  # the QR code top-left


def test_tight_page_falls_back_to_a_margin_strip(signer, tmp_path):
    layout = check_page("tight", tight_page(), signer, tmp_path, screenshot="tight")
    assert layout.strip > 0
    assert layout.sig_box[1] >= 842 and layout.qr_box[1] >= 842  # both above the old page


def test_full_width_header_seal_goes_to_the_nearest_free_band(signer, tmp_path):
    layout = check_page("full-width header", full_width_header_page(), signer, tmp_path)
    assert layout.strip == 0
    assert layout.sig_box[1] > 842 - 200 and layout.sig_box[3] < 842 - 70  # below the band


def test_rotated_first_page_is_placed_in_its_corrected_frame(runtime, tmp_path, signer):
    """A scan lying on its side goes through OCR (turned upright); the seal lands top-right of
    the upright page, off its ink, using the page image and the stored word boxes."""
    from PIL import Image

    from pipeline.stages import ocr_stage  # noqa: F401  (the stage the document went through)
    from storage.catalog import Document
    from tests.pipeline.conftest import render_decision

    scan = render_decision(tmp_path / "upright.png", dpi=200)
    Image.open(scan).rotate(90, expand=True).save(tmp_path / "sideways.png", dpi=(200, 200))
    from pipeline.inline import digitize

    [record] = digitize(runtime, [tmp_path / "sideways.png"], unit_code="00004")
    with runtime.session() as s:
        doc = s.get(Document, record["document_id"])
        unsigned = runtime.objects.get_bytes(doc.pdf_key)
        page = min(doc.pages, key=lambda p: p.index)
        words, size_px = page.words, (page.width, page.height)
        assert page.rotation in (90, 270)
    assert size_px[1] > size_px[0]  # the upright page is portrait
    layout = check_page("rotated", unsigned, signer, tmp_path, words=words, size_px=size_px)
    with pikepdf.open(io.BytesIO(unsigned)) as pdf:
        w, h = (float(v) for v in pdf.pages[0].mediabox[2:])
    assert h > w and layout.sig_box[0] > w / 2 and layout.sig_box[3] > h * 0.75


def test_real_pages_never_get_a_seal_on_ink(signer, tmp_path):
    pages = sorted(REAL_DEV.glob("dev*.pdf"))
    if not pages:
        from tests.conftest import service_unavailable

        service_unavailable(f"{REAL_DEV} is not there")
    strips = 0
    for path in pages:
        layout = check_page(path.name, first_page(path), signer, tmp_path,
                            screenshot="real-dev01" if path.name == "dev01.pdf" else None)
        strips += layout.strip > 0
    assert strips < len(pages)  # most real pages have room


def test_a_page_turned_by_rotate_gets_the_strip():
    with pikepdf.open(io.BytesIO(roomy_page())) as pdf:
        pdf.pages[0].Rotate = 90
        buf = io.BytesIO()
        pdf.save(buf)
    layout = seal_layout(buf.getvalue(), SEAL)
    assert layout.strip > 0 and layout.sig_box[1] >= 842
