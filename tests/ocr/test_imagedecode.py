"""ocr.imagedecode: image files are decoded in a child process under memory and time limits;
the loading process never runs a C decoder on the file's pixels."""

from __future__ import annotations

import pytest
from PIL import Image, ImageFile

from ocr.limits import Limits
from ocr.pages import InputError, iter_pages, load_pages
from tests.ocr import hostile
from tests.ocr.conftest import render_lines


def test_pixels_are_decoded_outside_this_process(tmp_path, monkeypatch):
    path = tmp_path / "ho-so.tif"
    frames = [render_lines([f"Trang {n}"], size=(400, 300), mode=m)
              for n, m in enumerate(("1", "L", "RGB", "P"))]
    frames[0].save(path, save_all=True, append_images=frames[1:], dpi=(300, 300),
                   compression="tiff_lzw")

    def no_decoding_here(self):
        raise AssertionError("an input image was decoded in the loading process")

    monkeypatch.setattr(ImageFile.ImageFile, "load", no_decoding_here)
    pages = load_pages(path)
    monkeypatch.undo()
    assert [(p.index, p.dpi, p.image.mode, p.original_mode) for p in pages] == [
        (0, 300, "1", "1"), (1, 300, "L", "L"), (2, 300, "RGB", "RGB"), (3, 300, "RGB", "P")]
    for page, frame in zip(pages, frames, strict=True):  # the very pixels, not a re-encoding
        expected = frame.convert("RGB") if frame.mode == "P" else frame
        assert page.image.tobytes() == expected.tobytes()


def test_a_child_out_of_memory_is_a_clear_refusal(tmp_path):
    path = tmp_path / "lon.png"
    Image.new("RGB", (6000, 6000), "white").save(path, dpi=(300, 300))
    with pytest.raises(InputError) as caught:
        load_pages(path, limits=Limits(decode_memory_mb=80))
    assert str(caught.value) == "lon.png: page 1 needs more than 80 MB to decode"
    assert caught.value.vi == "Tệp lon.png: trang 1 quá lớn, không đọc được"
    (page,) = load_pages(path)  # within the default limit
    assert page.image.size == (6000, 6000)


def test_a_child_past_its_time_is_killed_and_the_page_named(tmp_path):
    path = tmp_path / "cham.tif"
    Image.new("L", (5000, 5000), 255).save(path, compression="tiff_lzw", dpi=(300, 300))
    with pytest.raises(InputError, match=r"^cham\.tif: page 1 takes longer than 0 s to decode"):
        load_pages(path, limits=Limits(render_seconds=0.001))


def _children() -> set[int]:
    import os
    from pathlib import Path

    found = set()
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == os.getpid() and fields[0] != "Z":
            found.add(int(stat.parent.name))
    return found


def test_stopping_early_ends_the_child(tmp_path):
    path = tmp_path / "nhieu.tif"
    frames = [Image.new("L", (300, 200), 255) for _ in range(5)]
    frames[0].save(path, save_all=True, append_images=frames[1:], dpi=(300, 300))
    before = _children()
    pages = iter_pages(path)
    first = next(pages)
    assert first.index == 0 and len(pages) == 5
    assert _children() - before  # the child waits to be asked for the next page
    pages.close()
    assert not _children() - before


def test_a_corrupt_page_mid_file_names_the_file_without_internals(tmp_path):
    path = hostile.truncated(tmp_path / "hong.png", hostile.png_bytes((800, 600)), keep=0.6)
    with pytest.raises(InputError) as caught:
        load_pages(path)
    assert str(caught.value) == "hong.png: PNG file is corrupt or truncated"
    assert caught.value.vi == "Tệp hong.png: tệp PNG bị hỏng hoặc không đầy đủ, hãy quét lại"
