"""The streaming BagIt writer and checker (archive.bag) against the `bagit` library: what we
write it validates, what we find wrong it finds wrong too."""

from __future__ import annotations

import io

import bagit
import pytest

from archive.bag import BagWriter, check_bag, decode_path, encode_path


def small_bag(root):
    bag = BagWriter(root)
    bag.add_stream("HS 01/001/tệp 1.bin", io.BytesIO(b"a" * 3_000_000))  # > one chunk
    bag.add_bytes("HS 01/record.json", '{"tiêu đề": "Hồ sơ"}'.encode())
    bag.add_tag_file("package.json", "{}\n")
    bag.finish([("Source-Organization", "UBND phường Phúc Xá")])
    return bag


def test_what_we_write_the_bagit_library_validates(tmp_path):
    bag = small_bag(tmp_path / "b")
    assert (bag.files, bag.octets) == (2, 3_000_000 + len('{"tiêu đề": "Hồ sơ"}'.encode()))
    read = bagit.Bag(str(tmp_path / "b"))
    read.validate()
    assert read.info["Payload-Oxum"] == f"{bag.octets}.2"
    assert read.info["Source-Organization"] == "UBND phường Phúc Xá"
    assert "data/HS 01/001/tệp 1.bin" in set(read.payload_files())
    assert check_bag(tmp_path / "b") == []


def test_percent_cr_and_lf_are_encoded_in_manifests():
    """RFC 8493 §2.1.3 (the `bagit` library 1.9 decodes %0A and %0D but not %25, which is one
    reason package folder names never hold '%': see archive.package.safe_name)."""
    assert encode_path("a%b\r\nc") == "a%25b%0D%0Ac"
    assert decode_path(encode_path("a%0Ab%\n")) == "a%0Ab%\n"


@pytest.mark.parametrize("damage, expected", [
    (lambda r: (r / "data/HS 01/record.json").write_text("{}"), "sha256"),
    (lambda r: (r / "data/HS 01/record.json").unlink(), "missing"),
    (lambda r: (r / "data/extra.txt").write_text("x"), "not in manifest-sha256.txt"),
    (lambda r: (r / "package.json").write_text("[]"), "tag file changed"),
])
def test_damage_is_found_by_us_and_by_bagit(tmp_path, damage, expected):
    root = tmp_path / "b"
    small_bag(root)
    damage(root)
    problems = check_bag(root)
    assert problems and expected in problems[0], problems
    with pytest.raises(bagit.BagValidationError):
        bagit.Bag(str(root)).validate()


def test_a_folder_that_is_not_a_bag(tmp_path):
    assert "no bagit.txt" in check_bag(tmp_path)[0]


def test_record_codes_become_safe_folder_names():
    from archive.package import safe_name

    assert safe_name("000.00.01.H26-240301-0001") == "000.00.01.H26-240301-0001"
    assert safe_name("12/HS-2024 Hộ tịch") == "12_HS-2024_H__t_ch"
    assert safe_name("../x") == "_.._x" and safe_name("%0A") == "_0A"
