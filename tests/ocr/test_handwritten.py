"""Handwritten blanks of a printed template (ocr.handwritten): found from the page's word boxes,
read by two independent readers, used only when they agree (ocr.classify)."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFont

from bench.corpus import HANDWRITING_FONTS, generate_document, write_document
from ocr import handwritten
from ocr.classify import classify_document
from ocr.engine import recognize_pages
from ocr.pages import load_pages


def _row(text, x, width, y=500, height=50, conf=0.95):
    return [text, conf, x, y, width, height]


# a line as Tesseract boxes it at 300 dpi: ~26 px per character
LINE = [_row("Quảng", 1240, 144), _row("Ngãi,", 1398, 112)]


def test_the_serial_blank_lies_between_the_label_and_the_printed_part():
    rows = [_row("Số:", 468, 65), _row("4‡", 554, 72, conf=0.3), _row("/QĐ-UBND", 660, 267),
            *LINE]
    x0, y0, x1, y1 = handwritten.slots(rows, 3500)["number"]
    assert 533 <= x0 < 554 and 626 < x1 <= 660  # the pen's digits, not "Số:" nor "/QĐ"
    assert y0 < 500 and y1 > 550  # a pen overflows the printed line


def test_a_serial_glued_to_the_printed_part_is_cut_before_it():
    rows = [_row("Số:", 396, 62), _row("$†4/UBND-KTTH", 478, 438, conf=0.25), *LINE]
    x0, _, x1, _ = handwritten.slots(rows, 3500)["number"]
    # "/UBND-KTTH" is 10 printed characters at the line's width per character
    assert 455 < x0 <= 480 and 560 < x1 < 660


def test_a_day_glued_to_ngay_is_cut_after_the_printed_word():
    rows = [*LINE, _row("ngày0ÿ", 1530, 204, conf=0.7), _row("tháng", 1732, 134),
            _row("02", 1881, 55), _row("năm", 1952, 97), _row("2025", 2066, 115)]
    x0, _, x1, _ = handwritten.slots(rows, 3500)["day"]
    assert 1610 < x0 < 1660 and 1700 < x1 <= 1732


def test_no_blank_without_the_template_lines():
    rows = [_row("Số", 100, 60), _row("định", 170, 80), _row("danh", 260, 80),
            _row("ngày", 400, 90), _row("tháng", 520, 110)]  # no "<place>," before "ngày"
    assert handwritten.slots(rows, 3500) == {}


DIGIT_FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"


def _pen(digits: str, font_file: str = HANDWRITING_FONTS[0], size: int = 70) -> np.ndarray:
    """Digits written with a handwriting font the corpus generator uses, as a gray crop."""
    font = ImageFont.truetype(font_file, size)
    img = Image.new("L", (int(size * (len(digits) * 0.7 + 0.6)), int(size * 1.6)), 255)
    ImageDraw.Draw(img).text((size // 4, size // 4), digits, font=font, fill=0,
                             stroke_width=2, stroke_fill=0)
    return np.asarray(img)


@pytest.mark.parametrize("digits", ["16"])
def test_both_readers_read_pen_digits(digits):
    gray = _pen(digits)
    box = [0, 0, gray.shape[1], gray.shape[0]]
    assert handwritten.read_tesseract(gray, box) == digits
    assert digits in handwritten.read_glyphs(gray, box)


def test_the_renderings_of_a_blank_are_read_in_one_tesseract_run(monkeypatch):
    runs = []
    real_run = handwritten.subprocess.run
    monkeypatch.setattr(handwritten.subprocess, "run",
                        lambda *a, **k: runs.append(a) or real_run(*a, **k))
    gray = _pen("16")
    assert handwritten.read_tesseract(gray, [0, 0, gray.shape[1], gray.shape[0]]) == "16"
    assert len(runs) == 1  # four renderings, one process (its start-up costs most)


def test_all_the_blanks_of_a_page_are_read_in_one_tesseract_run(monkeypatch):
    """The serial and the day of a page: one Tesseract process for both (its start-up and
    model load cost more than reading eight small crops), each blank its own vote."""
    number, day = _pen("47", DIGIT_FONT), _pen("305", DIGIT_FONT)
    gray = np.full((400, 600), 255, np.uint8)
    gray[20:20 + number.shape[0], 30:30 + number.shape[1]] = number
    gray[200:200 + day.shape[0], 300:300 + day.shape[1]] = day
    boxes = {"number": [30, 20, 30 + number.shape[1], 20 + number.shape[0]],
             "day": [300, 200, 300 + day.shape[1], 200 + day.shape[0]]}
    monkeypatch.setattr(handwritten, "slots", lambda words, height=None: boxes)
    monkeypatch.setattr(handwritten, "band_of", lambda box: None)
    runs = []
    real_run = handwritten.subprocess.run
    monkeypatch.setattr(handwritten.subprocess, "run",
                        lambda *a, **k: runs.append(a) or real_run(*a, **k))
    read = handwritten.read_slots(gray, [])
    assert len(runs) == 1
    assert {name: slot["tesseract"] for name, slot in read.items()} == {"number": "47",
                                                                        "day": "305"}


def test_one_run_gives_each_image_its_own_reading_in_order():
    blank = np.full((80, 200), 255, np.uint8)
    texts = handwritten._tesseract_digits([_pen("47", DIGIT_FONT), blank, _pen("305", DIGIT_FONT)],
                                          timeout=20)
    assert texts == ["47", "", "305"]


def test_the_readers_agree_only_on_the_right_digits():
    # this handwriting font is hard for both (Tesseract reads "23" as "14", the classifier
    # "29"): they must not agree on anything wrong, so nothing wrong is ever taken
    agreed = 0
    for font_file in HANDWRITING_FONTS:
        for digits in ("47", "23", "84", "05", "16", "31", "19", "62"):
            gray = _pen(digits, font_file)
            box = [0, 0, gray.shape[1], gray.shape[0]]
            tess, glyphs = (handwritten.read_tesseract(gray, box),
                            handwritten.read_glyphs(gray, box))
            if tess and tess in glyphs:
                assert tess == digits
                agreed += 1
    assert agreed >= 2


def test_an_empty_blank_reads_nothing():
    gray = np.full((100, 160), 250, np.uint8)
    box = [0, 0, 160, 100]
    assert handwritten.read_tesseract(gray, box) == ""
    assert handwritten.read_glyphs(gray, box) == []


HEADER = ("ỦY BAN NHÂN DÂN CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM\n"
          "TỈNH QUẢNG NGÃI Độc lập - Tự do - Hạnh phúc\n"
          "Số: đ4 /QĐ-UBND Quảng Ngãi, ngàyà tháng 02 năm 2025\n"
          "QUYẾT ĐỊNH\nVề việc phê duyệt Kế hoạch ứng phó sự cố tràn dầu\n"
          "ỦY BAN NHÂN DÂN TỈNH QUẢNG NGÃI\n"
          "Căn cứ Luật Tổ chức chính quyền địa phương ngày 19/6/2015;\n"
          "QUYẾT ĐỊNH:\nĐiều 1. Phê duyệt Kế hoạch.\n")


def _slot(value, tess=None, glyphs=None):
    return {"box": [0, 0, 10, 10], "tesseract": tess or value or "1",
            "glyphs": glyphs or value or "7", "value": value}


def test_agreeing_readings_complete_number_and_date():
    plain = classify_document(HEADER)
    assert plain.field_confidence["number"] < 0.6 and plain.fields["issued_on"] is None
    found = classify_document(HEADER, readings={"0": {"number": _slot("84"),
                                                      "day": _slot("03")}})
    assert found.fields["number"] == "84/QĐ-UBND"
    assert found.fields["issued_on"] == "2025-02-03"
    assert found.field_confidence["number"] >= 0.6
    assert found.field_confidence["issued_on"] >= 0.6


def test_disagreeing_readings_leave_the_fields_held():
    found = classify_document(HEADER, readings={"0": {"number": _slot(None, "84", "64"),
                                                      "day": _slot(None, "03", "08")}})
    assert found.field_confidence["number"] < 0.6
    assert found.fields["issued_on"] is None


def test_a_reading_is_never_used_for_an_impossible_or_future_date():
    year = dt.date.today().year + 1
    text = HEADER.replace("năm 2025", f"năm {year}")
    found = classify_document(text, readings={"0": {"day": _slot("03")}})
    assert found.fields["issued_on"] is None
    found = classify_document(HEADER.replace("tháng 02", "tháng 02"),
                              readings={"0": {"day": _slot("30")}})  # 30 February
    assert found.fields["issued_on"] is None


def test_readings_contradicting_a_printed_value_hold_it():
    text = HEADER.replace("Số: đ4 /QĐ-UBND", "Số: 84/QĐ-UBND").replace("ngàyà", "ngày 03")
    sure = classify_document(text)
    assert sure.fields["number"] == "84/QĐ-UBND" and sure.field_confidence["number"] >= 0.6
    found = classify_document(text, readings={"0": {"number": _slot("64"),
                                                    "day": _slot("08")}})
    assert found.field_confidence["number"] < 0.6
    assert found.field_confidence["issued_on"] < 0.6


@pytest.mark.parametrize("seed", [31, 32])
def test_generated_handwritten_template_is_read_right_or_held(tmp_path, seed):
    doc = generate_document(seed, doc_type="quyet_dinh", pages=1, dpi=300, hard=("handwritten",))
    path = write_document(doc, tmp_path, f"doc{seed}", "pdf")
    results = recognize_pages(load_pages(path), workers=1)
    slots = results[0].extra.get("slots") or {}
    assert set(slots) == {"number", "day"}  # both blanks found on the page
    truth = doc.truth["fields"]
    serial, day = truth["number"].split("/")[0], str(int(truth["issued_on"][-2:]))
    for name, want in (("number", serial), ("day", day)):
        if slots[name]["value"] is not None:  # used only when both readers agree: then right
            assert slots[name]["value"].lstrip("0") == want.lstrip("0")
    found = classify_document(results[0].text, [results[0].words],
                              readings={"0": slots})
    for name in ("number", "issued_on"):
        if found.field_confidence[name] >= 0.6:
            assert found.fields[name] == truth[name]
