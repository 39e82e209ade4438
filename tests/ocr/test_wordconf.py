"""Tesseract word confidences folded into field confidences: a field read from doubtful words
sends its document to review, the same document read confidently passes."""

from __future__ import annotations

from ocr import wordconf
from ocr.classify import classify_document
from ocr.engine import Word

THRESHOLD = 0.6  # SOHOA_REVIEW_THRESHOLD's default

GIAY_PHEP = """\
UBND QUẬN ĐỐNG ĐA CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM
Độc lập - Tự do - Hạnh phúc
Số: 88/GPXD Đống Đa, ngày 17 tháng 03 năm 2021

GIẤY PHÉP XÂY DỰNG

1. Cấp cho: Bà NGUYỄN THỊ HOA
Số định danh cá nhân: 001190023456
Địa chỉ: số 5 ngõ 12 phố Tây Sơn, phường Quang Trung, quận Đống Đa
2. Được phép xây dựng công trình: nhà ở riêng lẻ
- Diện tích xây dựng tầng 1: 60 m2; chiều cao công trình: 15 m; số tầng: 4
"""


def page_words(text: str, conf: float = 0.95, doubtful: dict[str, float] | None = None
               ) -> list[list]:
    """One page's words as the OCR stage stores them ([text, conf, left, top, width, height]),
    the words in `doubtful` with the given confidence."""
    doubtful = doubtful or {}
    return [[w, doubtful.get(w, conf), 0, 0, 10, 10] for line in text.splitlines()
            for w in line.split()]


def test_word_score_maps_the_doubt_level_to_the_threshold():
    assert wordconf.word_score(wordconf.WORD_DOUBT) == wordconf.WORD_AT_THRESHOLD
    assert wordconf.word_score(1.0) == 1.0 and wordconf.word_score(0.0) == 0.0
    scores = [wordconf.word_score(c / 20) for c in range(21)]
    assert scores == sorted(scores)


def test_value_confidence_is_the_lowest_word_it_came_from():
    text = "Họ và tên: NGUYỄN THỊ HOA\nGiới tính: Nữ\nNgày sinh: 01/02/1990"
    wc = wordconf.WordConfidences(text, [page_words(text, doubtful={"THỊ": 0.31})])
    assert wc.value_confidence("Nguyễn Thị Hoa") == 0.31
    assert wc.value_confidence("01/02/1990") == 0.95
    assert wc.value_confidence("Trần Văn Bình") is None  # not read from this text
    assert wordconf.WordConfidences(text, None).value_confidence("Nguyễn Thị Hoa") is None


def test_value_confidence_prefers_the_occurrence_spelled_like_the_value():
    # the name read twice: once with a diacritic slip (doubtful), once cleanly
    text = "Cấp cho: Bà Lê Thị Hằng\nĐiều 1. Bà Lê Thị Hàng được cấp"
    words = page_words(text, doubtful={"Hàng": 0.2})
    wc = wordconf.WordConfidences(text, [words])
    assert wc.value_confidence("Lê Thị Hằng") == 0.95
    assert wc.value_confidence("Lê Thị Hàng") == 0.2


def test_words_align_when_cleaning_changed_the_text():
    text = "Số: 12/UBND–VX\fKính gửi: Ông Phạm Văn Đức"  # en dash, form feed between pages
    second = ["Kính", "gửi:", "Ông", "Phạm", "Văn", "Đức"]
    pages = [[Word("Số:", 0.9, 0, 0, 1, 1), Word("12/UBND–VX", 0.8, 0, 0, 1, 1)],
             [[w, 0.9 if w != "Đức" else 0.4] for w in second]]
    wc = wordconf.WordConfidences(text, pages)
    assert wc.value_confidence("Phạm Văn Đức") == 0.4


def test_date_found_as_printed():
    text = "Đống Đa, ngày 17 tháng 03 năm 2021"
    wc = wordconf.WordConfidences(text, [page_words(text, doubtful={"17": 0.28})])
    assert wc.value_confidence(*wordconf.date_forms("2021-03-17")) == 0.28


def test_confident_words_pass_review():
    r = classify_document(GIAY_PHEP, [page_words(GIAY_PHEP)])
    assert r.document_type == "giay_phep_xay_dung"
    assert r.fields["subject_id"] == "001190023456"
    assert r.fields["issued_on"] == "2021-03-17"
    assert r.word_confidence["subject_id"] == 0.95
    assert r.confidence >= THRESHOLD, r.field_confidence


def test_doubtful_digit_in_the_id_sends_the_document_to_review():
    r = classify_document(GIAY_PHEP, [page_words(GIAY_PHEP, doubtful={"001190023456": 0.3})])
    assert r.fields["subject_id"] == "001190023456"  # the rule alone is sure of it
    assert r.field_confidence["subject_id"] < THRESHOLD
    assert r.confidence < THRESHOLD


def test_doubtful_date_or_name_sends_the_document_to_review():
    date = classify_document(GIAY_PHEP, [page_words(GIAY_PHEP, doubtful={"17": 0.25})])
    assert date.field_confidence["issued_on"] < THRESHOLD and date.confidence < THRESHOLD
    name = classify_document(GIAY_PHEP, [page_words(GIAY_PHEP, doubtful={"THỊ": 0.2})])
    assert name.fields["subject_name"] == "Nguyễn Thị Hoa"
    assert name.field_confidence["subject_name"] < THRESHOLD and name.confidence < THRESHOLD


def test_without_words_only_the_rules_count():
    bare = classify_document(GIAY_PHEP)
    assert bare.word_confidence == {}
    assert bare.confidence == classify_document(GIAY_PHEP, [page_words(GIAY_PHEP)]).confidence


def test_a_doubtful_number_code_alone_does_not_send_to_review():
    # Tesseract scores "88/GPXD"-like codes low even when they read right (see classify)
    r = classify_document(GIAY_PHEP, [page_words(GIAY_PHEP, doubtful={"88/GPXD": 0.1})])
    assert r.confidence >= THRESHOLD
