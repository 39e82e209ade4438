"""ocr.limits: the renderer's memory and time limits, bounded inflation, configurable limits."""

from __future__ import annotations

import zlib

import pytest

from ocr.limits import Limits, inflated_size_exceeds
from ocr.pages import InputError, load_pages
from tests.ocr import hostile


@pytest.fixture
def text_pdf(tmp_path):
    return hostile.actions_pdf(tmp_path / "trang.pdf")


def test_renderer_out_of_memory_is_refused_not_a_1x1_page(text_pdf):
    # poppler out of memory exits 0 with a 1x1 image: it must not pass as a page
    limits = Limits(render_memory_mb=60)
    with pytest.raises(InputError) as caught:
        load_pages(text_pdf, default_dpi=600, limits=limits)
    assert str(caught.value) == "trang.pdf: page 1 needs more than 60 MB to render"
    assert caught.value.vi == "Tệp trang.pdf: trang 1 quá lớn, không hiển thị được"
    (page,) = load_pages(text_pdf, default_dpi=600, limits=Limits(render_memory_mb=400))
    assert page.image.size == (5100, 6600)


def test_renderer_time_limit_kills_it_and_names_the_page(text_pdf):
    with pytest.raises(InputError, match=r"^trang\.pdf: page 1 takes longer than 0 s to render"):
        load_pages(text_pdf, limits=Limits(render_seconds=0.001))


def test_page_count_limit(tmp_path):
    path = hostile.small_pdf(tmp_path / "ba.pdf", pages=3)
    with pytest.raises(InputError, match=r"^ba\.pdf: too many pages \(3; the limit is 2 "):
        load_pages(path, limits=Limits(max_pages=2))
    assert len(load_pages(path, limits=Limits(max_pages=3))) == 3


def test_stream_limit_is_configurable(tmp_path):
    path = hostile.content_bomb_pdf(tmp_path / "c.pdf", inflated=8 * hostile.MB)
    with pytest.raises(InputError, match="inflates to more than 4 MB"):
        load_pages(path, limits=Limits(max_stream_bytes=4 * hostile.MB))
    assert len(load_pages(path, limits=Limits(max_stream_bytes=16 * hostile.MB))) == 1


def test_inflation_is_bounded_and_nested_layers_are_followed():
    once = hostile.deflate_zeros(64 * hostile.MB)
    twice = zlib.compress(once, 9)
    assert len(twice) < 64 * 1024
    assert inflated_size_exceeds(once, 1, 32 * hostile.MB)
    assert not inflated_size_exceeds(once, 1, 64 * hostile.MB)
    assert inflated_size_exceeds(twice, 2, 32 * hostile.MB)
    assert not inflated_size_exceeds(twice, 1, 32 * hostile.MB)  # only the outer layer
    assert not inflated_size_exceeds(b"not zlib at all", 1, 10)  # left to the renderer


def test_a_large_page_is_rendered_coarser_only_down_to_200_dpi(tmp_path):
    # 30 x 30 inches: 9000 px a side at 300 dpi is over 16 M pixels; at 200 dpi it fits 36 M
    path = hostile.giant_page_pdf(tmp_path / "bando.pdf", inches=30)
    (page,) = load_pages(path, limits=Limits(max_pixels=40_000_000))
    assert 200 <= page.dpi < 300 and page.image.size[0] * page.image.size[1] <= 40_000_000
    with pytest.raises(InputError, match=r"page 1 is too large: 30\.0x30\.0 inches is "
                                         r"36,000,000 pixels at 200 dpi"):
        load_pages(path, limits=Limits(max_pixels=30_000_000))


def test_a_content_stream_shared_by_many_pages_is_inflated_once(tmp_path):
    import time

    import pikepdf

    path = hostile.content_bomb_pdf(tmp_path / "chung.pdf", inflated=64 * hostile.MB)
    with pikepdf.open(path, allow_overwriting_input=True) as pdf:
        for _ in range(199):  # 200 pages drawing the same 64 MB stream
            pdf.pages.append(pdf.pages[0])
            pdf.pages[-1].obj.Contents = pdf.pages[0].obj.Contents
        pdf.save(path)
    start = time.perf_counter()
    with pytest.raises(InputError, match="inflates to more than 32 MB"):
        load_pages(path, limits=Limits(max_stream_bytes=32 * hostile.MB))
    limits = Limits(max_stream_bytes=128 * hostile.MB, max_pages=200)
    from ocr.pages import iter_pages

    pages = iter_pages(path, limits=limits)  # checked, nothing rendered
    assert len(pages) == 200 and time.perf_counter() - start < 10
    pages.close()
