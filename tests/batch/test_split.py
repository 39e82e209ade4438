"""Splitting rules on page facts: separators, blank backs and sheets, first pages, collation,
and moving a boundary by hand."""

from __future__ import annotations

import pytest

from batch.pages import PageFacts, header_signals, is_first_page
from batch.split import SplitError, collate, move_boundary, split_stack


def F(kind: str, dossier: str | None = None) -> PageFacts:
    return PageFacts(kind=kind, dossier=dossier)


def duplex(*fronts_backs):
    facts, sides = [], []
    for front, back in fronts_backs:
        facts += [F(*front) if isinstance(front, tuple) else F(front), F(back)]
        sides += ["front", "back"]
    return facts, sides


def test_duplex_stack_mixing_separators_blank_sheets_and_first_pages():
    facts, sides = duplex(
        ("first", "blank"),                  # 0,1   doc 1
        ("other", "blank"),                  # 2,3   doc 1 page 2
        (("separator", "H26-0007"), "blank"),  # 4,5 separator carrying a dossier
        ("first", "blank"),                  # 6,7   doc 2 (dossier H26-0007)
        ("blank", "blank"),                  # 8,9   a blank sheet between documents
        ("other", "blank"),                  # 10,11 doc 3 (no motto read: blank sheet split)
        ("first", "other"),                  # 12,13 doc 4, printed on both sides
    )
    result = split_stack(facts, sides, "auto")
    assert [d.pages for d in result.documents] == [[0, 2], [6], [10], [12, 13]]
    assert [d.reason for d in result.documents] == ["start", "separator", "blank", "first"]
    assert result.documents[1].dossier == "H26-0007"
    assert result.dropped == [1, 3, 4, 5, 7, 8, 9, 11]
    # each method alone uses only its signal; blank backs are dropped whatever the method
    by_sep = split_stack(facts, sides, "separator")
    assert [d.pages for d in by_sep.documents] == [[0, 2], [6, 10, 12, 13]]
    by_first = split_stack(facts, sides, "first")
    assert [d.pages for d in by_first.documents] == [[0, 2], [6, 10], [12, 13]]


def test_simplex_blank_page_separates_and_no_page_is_lost():
    facts = [F("other"), F("other"), F("blank"), F("other"), F("blank"), F("blank"), F("other")]
    result = split_stack(facts, ["front"] * len(facts), "blank")
    assert [d.pages for d in result.documents] == [[0, 1], [3], [6]]
    kept = {p for d in result.documents for p in d.pages}
    assert kept | set(result.dropped) == set(range(len(facts)))


def test_unknown_method_is_refused():
    with pytest.raises(SplitError, match="unknown split method 'magic'"):
        split_stack([F("other")], ["front"], "magic")


def test_operator_moves_a_boundary_both_ways():
    facts, sides = duplex(("first", "blank"), ("other", "blank"), ("first", "blank"))
    result = split_stack(facts, sides, "auto")
    assert [d.pages for d in result.documents] == [[0, 2], [4]]
    cut = move_boundary(result, 2, start=True)
    assert [d.pages for d in cut.documents] == [[0], [2], [4]] and cut.documents[1].reason == "manual"
    joined = move_boundary(cut, 4, start=False)
    assert [d.pages for d in joined.documents] == [[0], [2, 4]]
    with pytest.raises(SplitError, match="page 2 is not in any document"):
        move_boundary(result, 1, start=True)
    with pytest.raises(SplitError, match="first document"):
        move_boundary(result, 0, start=False)


def test_two_single_sided_passes_are_collated():
    fronts = ["f1", "f2", "f3"]
    backs_reversed = ["b3", "b2", "b1"]  # the stack turned over for the second pass
    assert collate(fronts, backs_reversed) == ["f1", "b1", "f2", "b2", "f3", "b3"]
    with pytest.raises(SplitError, match="fronts pass has 3 page.*backs pass 2"):
        collate(fronts, ["b2", "b1"])


@pytest.mark.parametrize("text, first", [
    ("UBND PHƯỜNG TRÚC BẠCH   CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM\n"
     "Số: 12/QĐ-UBND  Độc lập - Tự do - Hạnh phúc", True),
    ("CONG HOA XA HOI CHU NGHIA VIET NAM", True),  # OCR without diacritics
    ("Số: 12/UBND-VX  Độc lập", True),  # one motto word read, and the Số line
    ("Điều 2. Quyết định này có hiệu lực kể từ ngày ký. Số CCCD 001", False),
])
def test_first_page_signals(text, first):
    assert is_first_page(*header_signals(text)) is first
