"""The one masking rule for personal data (storage.pii), shared by the API and the DIP."""

from __future__ import annotations

from storage.pii import mask_id, mask_name, mask_personal


def test_names_keep_first_letters_and_ids_their_last_two():
    assert mask_name("Nguyễn Văn An") == "N*** V*** A***"
    assert mask_id("001204012345") == "**********45"
    assert mask_name(None) is None and mask_id("") == ""


def test_mask_personal_masks_only_the_personal_fields_and_copies():
    fields = {"subject_name": "Trần Thị Bích", "subject_id": "079301000123", "number": "12/QĐ"}
    masked = mask_personal(fields)
    assert masked == {"subject_name": "T*** T*** B***", "subject_id": "**********23",
                      "number": "12/QĐ"}
    assert fields["subject_name"] == "Trần Thị Bích"  # the input is left alone


def test_the_api_uses_the_same_rule():
    import api.results

    assert api.results.mask_name is mask_name and api.results.mask_id is mask_id
