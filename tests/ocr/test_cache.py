"""Recognition results kept by page (ocr.cache): a page read once is found again by its
pixels and how it was read, whatever document it is in; anything else is a miss."""

from __future__ import annotations

import dataclasses

from ocr.cache import ResultCache
from ocr.engine import PageResult, Steps, Word, recognize_cached
from ocr.pages import Page, scan_page
from tests.ocr.conftest import render_lines


def _page(text="Số: 12/QĐ-UBND", index=0, dpi=300, source="a.pdf"):
    return Page(index, render_lines([text], size=(900, 400), mode="L"), dpi, source, "L", True)


def test_same_pixels_read_the_same_way_share_a_key_and_nothing_else_does(tmp_path):
    cache = ResultCache(tmp_path)
    key = cache.key(_page(), "vie", None)
    assert key == cache.key(_page(index=5, source="other.pdf"), "vie", None)  # position: not
    assert key != cache.key(_page("Số: 13/QĐ-UBND"), "vie", None)  # the pixels
    assert key != cache.key(_page(dpi=200), "vie", None)  # the resolution
    assert key != cache.key(_page(), "eng", None)  # the language
    assert key != cache.key(_page(), "vie", Steps(denoise=False))  # the preprocessing
    rgb = _page()
    rgb.image = rgb.image.convert("RGB")
    assert key != cache.key(rgb, "vie", None)
    assert cache.key(scan_page(rgb.image, 0, 300), "vie", None) == key  # neutral RGB → L


def test_a_result_comes_back_whole_as_a_result_of_the_page_asking(tmp_path):
    cache = ResultCache(tmp_path)
    page = _page()
    result = PageResult(index=0, pdf=b"%PDF-1.4 page", text="Số: 12/QĐ-UBND", confidence=0.93,
                        words=[Word("Số:", 0.9, 10, 20, 30, 12, 1, 1, 1)], width=900, height=400,
                        dpi=300, source="a.pdf", image_format="jpeg", rotation=180, skew=0.4,
                        extra={"analysis": object(), "slots": {"number": ["12", "12"]}})
    key = cache.key(page, "vie", None)
    assert cache.get(key, page) is None and cache.misses == 1
    cache.put(key, result)
    again = cache.get(key, _page(index=3, source="b.pdf"))
    assert cache.hits == 1
    assert (again.index, again.source) == (3, "b.pdf")
    for name in ("pdf", "text", "confidence", "words", "width", "height", "dpi", "image_format",
                 "rotation", "skew", "blank"):
        assert getattr(again, name) == getattr(result, name), name
    assert again.extra == {"slots": {"number": ["12", "12"]}}  # the analysis is not kept
    blank = dataclasses.replace(result, pdf=b"", blank=True, words=[], extra={})
    other = _page("blank")
    cache.put(cache.key(other, "vie", None), blank)
    assert cache.get(cache.key(other, "vie", None), other).blank


def test_a_damaged_entry_is_a_miss_and_a_pdf_text_layer_that_matters_is_not_cached(tmp_path):
    cache = ResultCache(tmp_path)
    page = _page()
    key = cache.key(page, "vie", None)
    (tmp_path / f"{key}.json").write_text("{not json")
    assert cache.get(key, page) is None

    class Layer:
        use_as_is, signature_boxes = False, []

    page.text_layer = Layer()  # a PDF page with no text of its own: read like a scan
    assert cache.key(page, "vie", None) == key
    Layer.signature_boxes = [(0, 0, 10, 10)]  # signature text is masked before reading
    assert cache.key(page, "vie", None) is None


def test_recognize_cached_reads_a_page_once(tmp_path, monkeypatch):
    from ocr import engine

    calls = []
    real = engine.recognize_page
    monkeypatch.setattr(engine, "recognize_page",
                        lambda page, **kw: calls.append(page.index) or real(page, **kw))
    cache = ResultCache(tmp_path)
    first = recognize_cached(_page(), lang="vie", cache=cache)
    second = recognize_cached(_page(index=7), lang="vie", cache=cache)
    assert calls == [0] and second.index == 7
    assert second.text == first.text and "12" in second.text
    assert second.words == first.words and second.pdf == first.pdf


def test_a_page_with_a_stored_id_is_keyed_by_it_and_found_before_it_is_decoded(tmp_path):
    cache = ResultCache(tmp_path)
    stored = dataclasses.replace(_page(), stored_id="ab" * 20)
    key = cache.key(stored, "vie", None)
    # the id stands for the pixels: another image with the same id has the same key
    assert key == cache.key(dataclasses.replace(_page("other"), stored_id="ab" * 20), "vie", None)
    assert key != cache.key(_page(), "vie", None)  # pixels alone: another key
    assert key != cache.key(dataclasses.replace(stored, dpi=200), "vie", None)
    assert key != cache.key(stored, "eng", None)
    find = cache.finder("vie")
    assert find(stored) is None  # not read yet
    first = recognize_cached(stored, lang="vie", cache=cache)
    found = find(dataclasses.replace(stored, index=4, source="b.pdf"))
    assert found is not None and (found.index, found.source) == (4, "b.pdf")
    assert found.text == first.text and "12" in found.text
    assert find(_page()) is None  # no stored id: the finder does not look
