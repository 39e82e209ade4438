"""One key for a document number however it is written (storage/numbers.py)."""

from __future__ import annotations

import unicodedata

import pytest

from storage.numbers import fold, number_key

SAME_12 = ["12/QĐ-UBND", "12/QD-UBND", "12/QD - UBND", "12/qđ-ubnd", "12 / QĐ – UBND",
           "12/QĐ—UBND", "12/QĐ\u2011UBND", "12/QĐ\u2212UBND", "12\u00a0/\u00a0QĐ-UBND",
           "Số: 12/QĐ-UBND", "số 12/QĐ-UBND".replace("số ", "Số:"), "12／QĐ－UBND",
           unicodedata.normalize("NFD", "12/QĐ-UBND"), "12/Q\u0110-UBND", "12/QĐ-\u200bUBND",
           " 12/QĐ-UBND\n"]


@pytest.mark.parametrize("written", SAME_12)
def test_every_spelling_of_one_number_has_one_key(written):
    assert number_key(written) == "12/QD-UBND"


def test_short_form_and_letters_with_tone_marks():
    assert number_key("12/QĐ") == number_key("12/QD") == "12/QD"
    assert number_key("05/2024/TT-BTP") == "05/2024/TT-BTP"
    # tone and vowel marks go in both spellings of a Vietnamese abbreviation
    assert number_key("15/GCN-ỦBND") == number_key("15/GCN-UBND")
    assert fold("Quyết định Phường Phúc Xá") == "Quyet dinh Phuong Phuc Xa"


@pytest.mark.parametrize("other", ["21/QĐ-UBND", "12/QĐ-UBND-VX", "12/QĐ-UB", "120/QĐ-UBND",
                                   "12/NQ-UBND", "1/2/QĐ-UBND"])
def test_different_numbers_keep_different_keys(other):
    assert number_key(other) != number_key("12/QĐ-UBND")


@pytest.mark.parametrize("empty", [None, "", "   ", "\u200b", "Số:"])
def test_no_number_has_no_key(empty):
    assert number_key(empty) is None
