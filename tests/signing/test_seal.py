"""Visible signature (Decree 30/2020) and QR code (Circular 01/2023) on page 1."""

from __future__ import annotations

import datetime as dt
import io
import json
import shutil
import subprocess

import pikepdf
import pytest

from signing.seal import SealInfo, qr_payload, read_qr_payload
from signing.signer import SigningError
from signing.verify import verify_pdf
from tests.signing.helpers import make_pdf

SEAL = SealInfo(
    agency_name="Ủy ban nhân dân phường Trúc Bạch",
    dossier_code="000.00.04.H26-250301-0001",
    procedure_code="1.001193",
    applicant_id="001203004567",
    document_name="Giấy khai sinh",
    verify_url="https://sohoa.example/verify/abc",
    signing_time=dt.datetime(2025, 3, 1, 2, 5, 7, 123456, tzinfo=dt.UTC),
)


@pytest.fixture(scope="module")
def sealed(unit_signer):
    return unit_signer.sign(make_pdf(), reason="Sao y bản chính", signer_name="UBND",
                            seal=SEAL)


def _actual_texts(stream) -> list[str]:
    texts = []
    for operands, op in pikepdf.parse_content_stream(stream):
        if (op == pikepdf.Operator("BDC") and isinstance(operands[1], pikepdf.Dictionary)
                and "/ActualText" in operands[1]):
            texts.append(str(operands[1].ActualText))
    return texts


def _all_streams(obj, seen=None):
    seen = seen if seen is not None else set()
    if isinstance(obj, pikepdf.Stream):
        key = obj.objgen
        if key in seen and key != (0, 0):
            return
        seen.add(key)
        yield obj
        res = obj.get("/Resources")
        if res is not None and "/XObject" in res:
            for x in res.XObject.values():
                yield from _all_streams(x, seen)


def test_sealed_pdf_is_valid(sealed, pki):
    report = verify_pdf(sealed, pki.trust_roots())
    assert report.valid, report.problems
    assert report.coverage == "ENTIRE_FILE"
    # the time on the seal is the signing time in the signature
    assert report.signing_time == "2025-03-01T09:05:07+07:00"


def test_visible_text_top_right_of_page_one(sealed):
    pdf = pikepdf.open(io.BytesIO(sealed))
    page = pdf.pages[0]
    width, height = float(page.MediaBox[2]), float(page.MediaBox[3])
    (annot,) = [a for a in page.Annots if a.get("/FT") == "/Sig"]
    x1, y1, x2, y2 = (float(v) for v in annot.Rect)
    assert x1 > width / 2 and y1 > height * 0.8 and x2 <= width and y2 <= height
    texts = [t for s in _all_streams(annot.AP.N) for t in _actual_texts(s)]
    assert texts == ["SAO Y", "Ủy ban nhân dân phường Trúc Bạch", "2025-03-01T09:05:07+07:00"]


def test_font_embedded_with_sane_widths(sealed):
    pdf = pikepdf.open(io.BytesIO(sealed))
    fonts = [o for o in pdf.objects
             if isinstance(o, pikepdf.Dictionary) and o.get("/Subtype") == "/CIDFontType2"]
    assert fonts, "the seal font must be embedded"
    font = fonts[0]
    assert "LiberationSerif" in str(font.BaseFont)
    assert "/FontFile2" in font.FontDescriptor
    widths = [float(w) for item in font.W if isinstance(item, pikepdf.Array) for w in item]
    # PDF widths are in 1/1000 em: a Times-like font has no glyph wider than ~1 em
    assert widths and max(widths) <= 1100


@pytest.mark.skipif(shutil.which("pdftoppm") is None, reason="poppler pdftoppm missing")
def test_qr_code_top_left_decodes(sealed, tmp_path):
    cv2 = pytest.importorskip("cv2")
    f = tmp_path / "s.pdf"
    f.write_bytes(sealed)
    subprocess.run(["pdftoppm", "-r", "200", "-png", "-f", "1", "-l", "1", str(f),
                    str(tmp_path / "p")], check=True, timeout=60)
    (png,) = tmp_path.glob("p*.png")
    img = cv2.imread(str(png))
    h, w = img.shape[:2]
    text, points, _ = cv2.QRCodeDetector().detectAndDecode(img)
    assert text, "no QR code found on page 1"
    assert points[0][:, 0].max() < w / 2 and points[0][:, 1].max() < h / 4  # top-left
    assert json.loads(text)["hs"] == "000.00.04.H26-250301-0001"  # short keys keep it small
    data = read_qr_payload(text)
    assert data["dossier_code"] == "000.00.04.H26-250301-0001"
    assert data["procedure_code"] == "1.001193"
    assert data["applicant_id"] == "001203004567"
    assert data["document_name"] == "Giấy khai sinh"
    assert data["issuing_system"] == "sohoa"
    assert data["issued_at"] == "2025-03-01T09:05:07+07:00"
    assert data["verify_url"] == "https://sohoa.example/verify/abc"
    assert text == qr_payload(SEAL, SEAL.resolved_time())


@pytest.mark.skipif(shutil.which("pdfsig") is None, reason="poppler pdfsig missing")
def test_pdfsig_accepts_sealed(sealed, tmp_path):
    f = tmp_path / "s.pdf"
    f.write_bytes(sealed)
    out = subprocess.run(["pdfsig", str(f)], capture_output=True, text=True, timeout=60)
    assert "Signature is Valid" in out.stdout and "Total document signed" in out.stdout


def test_qr_needs_required_fields(unit_signer):
    seal = SealInfo(agency_name="UBND xã A", document_name="Giấy phép")
    with pytest.raises(SigningError, match="dossier_code, procedure_code"):
        unit_signer.sign(make_pdf(), reason="r", signer_name="x", seal=seal)


def test_seal_without_qr(unit_signer, pki):
    seal = SealInfo(agency_name="Sở Tư pháp Hà Nội", qr=False)
    out = unit_signer.sign(make_pdf(), reason="r", signer_name="x", seal=seal)
    assert verify_pdf(out, pki.trust_roots()).valid
    pdf = pikepdf.open(io.BytesIO(out))
    assert not isinstance(pdf.pages[0].Contents, pikepdf.Array)  # page content untouched


def test_empty_agency_refused(unit_signer):
    with pytest.raises(SigningError, match="agency"):
        unit_signer.sign(make_pdf(), reason="r", signer_name="x",
                         seal=SealInfo(agency_name=" ", qr=False))
