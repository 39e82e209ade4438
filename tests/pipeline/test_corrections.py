"""What staff typed is checked before it is kept (`pipeline.corrections.checked`)."""

import pytest

from pipeline.corrections import MAX_VALUE, CorrectionsError, checked


def test_typed_fields_are_kept_and_unknown_names_dropped():
    sent = {"document_type": "quyet_dinh", "fields": {"subject_name": "Đỗ Thị Mai Anh",
                                                      "summary": "dòng 1\ndòng 2\tcột",
                                                      "number": None, "colour": "đỏ"}}
    assert checked(sent) == {"document_type": "quyet_dinh",
                             "fields": {"subject_name": "Đỗ Thị Mai Anh",
                                        "summary": "dòng 1\ndòng 2\tcột", "number": None}}
    assert checked({}) == {"document_type": None, "fields": {}}


@pytest.mark.parametrize("sent, names", [
    ([], "expected"),
    ({"fields": ["number"]}, "fields"),
    ({"fields": {"number": "12\x00"}}, "fields.number"),
    ({"fields": {"issuer": "UBND\x1b[31m"}}, "fields.issuer"),
    ({"fields": {"title": 12}}, "fields.title"),
    ({"fields": {"title": "x" * (MAX_VALUE + 1)}}, "fields.title"),
    ({"document_type": "quyết định; drop"}, "document_type"),
])
def test_what_cannot_be_kept_is_refused_by_name(sent, names):
    with pytest.raises(CorrectionsError, match=names.replace(".", r"\.")):
        checked(sent)
