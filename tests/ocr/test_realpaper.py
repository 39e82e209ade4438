"""What real paper has, generated (bench.corpus HARD_CASES), read end to end by the OCR stack:
a field is read right or held for a person with the crop of where it was read, never wrong."""

from __future__ import annotations

import pytest

from bench.corpus import generate_document, write_document
from ocr import crops
from ocr.classify import classify_document
from ocr.engine import recognize_pages
from ocr.pages import load_pages

THRESHOLD = 0.6


def _read(tmp_path, seed: int, hard: tuple[str, ...], *, doc_type="quyet_dinh", pages=1):
    doc = generate_document(seed, doc_type=doc_type, pages=pages, dpi=200, hard=hard)
    path = write_document(doc, tmp_path, f"doc{seed}", "pdf")
    results = recognize_pages(load_pages(path), workers=2)
    text = "\f".join(r.text for r in results)
    found = classify_document(text, [r.words for r in results])
    return doc.truth, found, results


def _right_or_held(found, truth, name):
    value, conf = found.fields[name], found.field_confidence.get(name, 0.0)
    if conf >= THRESHOLD:
        assert value == truth["fields"][name], f"{name} stored wrong: {value!r}"
        return "right"
    return "held"


@pytest.mark.parametrize("seed", [31])
def test_handwritten_template_esign_and_stamp(tmp_path, seed):
    truth, found, results = _read(tmp_path, seed, ("esign", "handwritten", "stamp"))
    # the e-signature box ("Ký bởi … Văn phòng Ủy ban nhân dân") is not the issuer
    assert found.fields["issuer"] == truth["fields"]["issuer"]
    verdicts = {n: _right_or_held(found, truth, n) for n in ("number", "issued_on")}
    # whatever is held carries the crop of where it was read, on the page OCR read
    for name, verdict in verdicts.items():
        crop = found.crops[name]
        assert crop["page"] == 0
        x0, y0, x1, y1 = crop["box"]
        page = results[0]
        assert 0 <= x0 < x1 <= page.width + crops.PAD and 0 <= y0 < y1 < page.height / 3
        if verdict == "held":
            assert found.confidence < THRESHOLD


def test_number_and_date_on_the_last_page(tmp_path):
    truth, found, _results = _read(tmp_path, 41, ("last_page",), pages=2)
    assert _right_or_held(found, truth, "number") == "right"
    assert _right_or_held(found, truth, "issued_on") == "right"
    assert found.crops["number"]["page"] == 1


def test_a_two_line_header_keeps_its_parent_body(tmp_path):
    # seed 5 of a business household registration: "UBND QUẬN … / PHÒNG TÀI CHÍNH - KẾ HOẠCH"
    for seed in range(5, 60):
        doc = generate_document(seed, doc_type="dang_ky_ho_kinh_doanh", pages=1)
        if doc.truth["fields"]["issuer_parent"]:
            break
    else:
        pytest.fail("no two-line header generated")
    text = "\n".join(doc.truth["text"])
    found = classify_document(text)
    assert found.fields["issuer"] == doc.truth["fields"]["issuer"]
    assert found.fields["issuer_parent"] == doc.truth["fields"]["issuer_parent"]


def test_number_zone_needs_the_printed_slash():
    row = lambda text, x: (text, 0.9, x, 100, 60, 30)  # noqa: E731
    assert crops.number_zone([row("Số:", 100), row("47", 170), row("/QĐ-UBND", 240)]) == [
        100 - crops.PAD, 100 - crops.PAD, 240 + 60 + crops.PAD, 130 + crops.PAD]
    assert crops.number_zone([row("Số", 100), row("định", 170), row("danh", 240)]) is None


def test_a_name_the_document_spells_otherwise_is_held():
    text = ("UBND TỈNH CAO BẰNG\nSố: 157/QĐ-UB Cao Bằng, ngày 22 tháng 02 năm 1999\n"
            "QUYẾT ĐỊNH\nVề việc giao quyền sử dụng đất cho ông Nông Bích Sang\n"
            "Xét đơn của ông Nông Bích Sảng, thường trú tại phường Hợp Giang;\n"
            "Điều 1. Giao cho ông Nông Bích Sảng quyền sử dụng 120 m2 đất ở.\n"
            "Điều 2. Ông Nông Bích Sảng có trách nhiệm nộp lệ phí.")
    from ocr.classify import _spelled_otherwise

    assert _spelled_otherwise("Nông Bích Sang", text)
    assert not _spelled_otherwise("Nông Bích Sảng", text)
    assert not _spelled_otherwise("Nông Bích Sảng", text.replace("Sảng", "SẢNG"))


def test_a_scanner_streak_and_an_urgency_stamp(tmp_path):
    truth, found, _results = _read(tmp_path, 51, ("streak",), doc_type="cong_van")
    assert found.document_type == "cong_van"
    for name in ("number", "issued_on", "issuer"):
        _right_or_held(found, truth, name)  # never stored wrong
