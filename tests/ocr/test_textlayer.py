"""Existing text layers, decided per page (ocr.textlayer), through the page loader and engine."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
from fpdf import FPDF
from PIL import Image

from bench.corpus import generate_document, write_document
from ocr import textlayer
from ocr.engine import recognize_page
from ocr.pages import iter_pages
from ocr.pdf import assemble_pdf, pdf_text, pdfa_report

FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSerif.ttf"
LETTER = [
    "ỦY BAN NHÂN DÂN                 CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM",
    "PHƯỜNG TRÚC BẠCH                     Độc lập - Tự do - Hạnh phúc",
    "Số: 125/UBND-VP                 Trúc Bạch, ngày 14 tháng 03 năm 2025",
    "V/v hướng dẫn hồ sơ đăng ký hộ kinh doanh",
    "Kính gửi: Ông Nguyễn Văn An, phường Trúc Bạch",
    "Ủy ban nhân dân phường Trúc Bạch nhận được đơn đề nghị của ông về việc",
    "đăng ký hộ kinh doanh tại số 12 phố Đội Cấn. Sau khi xem xét, Ủy ban",
    "nhân dân phường hướng dẫn ông chuẩn bị hồ sơ theo quy định hiện hành và",
    "nộp tại Bộ phận một cửa của phường trong giờ hành chính các ngày làm việc.",
    "Nơi nhận: Như trên; Lưu: VT.            TM. ỦY BAN NHÂN DÂN",
]


def _text_pdf(path: Path, lines: list[str], *, invisible: bool = False,
              image: Image.Image | None = None) -> Path:
    """A one-page A4 PDF with `lines` as real text (over `image` when given)."""
    doc = FPDF(unit="pt", format="A4")
    doc.add_page()
    doc.add_font("serif", fname=FONT)
    doc.set_font("serif", size=11)
    if image is not None:
        buf = io.BytesIO()
        image.save(buf, "PNG")
        doc.image(buf, x=0, y=0, w=595.28, h=841.89)
    if invisible:
        doc.text_mode = "INVISIBLE"
    for k, line in enumerate(lines):
        doc.text(50, 80 + 22 * k, line)
    path.write_bytes(bytes(doc.output()))
    return path


def test_word_quality_tells_vietnamese_from_a_layer_without_marks():
    good = " ".join(LETTER).split()
    assert textlayer.word_quality(good) >= textlayer.GOOD_TEXT_MIN
    folded = [textlayer.fold(w) for w in good]
    assert textlayer.word_quality(folded) < textlayer.GOOD_TEXT_MIN
    garbled = ["l1UY", "BAr", "NHAr", "tl1e", "xXa", "Ngh1a", "tEn", "qUa"] * 6
    assert textlayer.word_quality(garbled) < 0.5


def test_a_born_digital_page_is_used_as_it_is_without_ocr(tmp_path, monkeypatch):
    pdf = _text_pdf(tmp_path / "letter.pdf", LETTER)
    [page] = list(iter_pages(pdf))
    assert page.text_layer.decision == "born_digital"

    def no_tesseract(*a, **k):
        raise AssertionError("a born-digital page must not be OCR'd")

    monkeypatch.setattr("ocr.engine._run_tesseract", no_tesseract)
    result = recognize_page(page)
    assert result.extra["text_layer"] == "born_digital"
    assert "Số: 125/UBND-VP" in result.text and "Kính gửi: Ông Nguyễn Văn An" in result.text
    words = {w.text: w for w in result.words}
    assert words["125/UBND-VP"].left > words["Số:"].left  # boxes in page pixels
    data = assemble_pdf([result])
    assert pdfa_report(data).passed
    assert "hướng dẫn hồ sơ đăng ký hộ kinh doanh" in pdf_text(data)


def test_an_invisible_layer_without_diacritics_is_redone(tmp_path):
    scan = generate_document(3, doc_type="cong_van", pages=1, dpi=200).pages[0]
    poor = [textlayer.fold(line) for line in LETTER] * 2
    pdf = _text_pdf(tmp_path / "ocr-layer.pdf", poor, invisible=True, image=scan)
    [page] = list(iter_pages(pdf))
    assert page.text_layer.decision == "poor"
    result = recognize_page(page)
    assert "text_layer" not in result.extra
    assert "CỘNG HÒA" in result.text  # read again, with its diacritics


@pytest.fixture(scope="module")
def signed_scan(tmp_path_factory):
    folder = tmp_path_factory.mktemp("hard")
    doc = generate_document(21, doc_type="quyet_dinh", pages=1, dpi=200,
                            hard=("esign", "handwritten", "stamp"))
    return write_document(doc, folder, "signed", "pdf"), doc.truth


def test_an_esignature_box_is_found_in_the_text_layer_and_not_read(signed_scan):
    path, truth = signed_scan
    [page] = list(iter_pages(path))
    layer = page.text_layer
    assert layer.decision == "none" and len(layer.signature_boxes) == 1
    x0, y0, x1, y1 = layer.signature_boxes[0]
    assert x0 > layer.width_pt / 2 and y1 < 60  # top right, where it was stamped
    result = recognize_page(page)
    assert "Ký bởi" not in result.text and "Thời gian ký" not in result.text
    # the stored page image keeps the box: only what is read loses it
    assert np.asarray(page.image.convert("L"))[round(y0 * 200 / 72) + 4:
                                                  round(y1 * 200 / 72), round(x0 * 200 / 72):
                                                  round(x1 * 200 / 72)].min() < 128
