"""The OCR stage on a long scan: pages stream through it (never all in memory at once) and come
out complete, in order, with blank pages flagged and left out of the searchable PDF/A."""

from __future__ import annotations

import io
from dataclasses import dataclass

import pikepdf
import pytest

import ocr.pages
from ocr.pdf import pdf_text, pdfa_report
from pipeline import states
from pipeline.ingest import ingest_file
from pipeline.stages import ocr_stage
from storage.catalog import Document
from tests.ocr.conftest import LiveImages, render_lines

PAGES = 40
TEXT_PAGES = set(range(0, PAGES, 4)) | {PAGES - 1}  # the others are blank duplex backs


@pytest.fixture
def long_pdf(tmp_path):
    images = [render_lines([f"Trang số {n + 1} của sổ địa chính"] if n in TEXT_PAGES else [],
                           size=(900, 200), mode="L", font_px=36) for n in range(PAGES)]
    path = tmp_path / "so-dia-chinh.pdf"
    images[0].save(path, save_all=True, append_images=images[1:], resolution=200.0)
    return path


@pytest.fixture
def live_pages(monkeypatch) -> LiveImages:
    """Every page image `ocr.pages` hands out, counted while it is alive."""
    live = LiveImages()

    @dataclass
    class CountedPage(ocr.pages.Page):
        def __post_init__(self):
            live.add(self.image)

    monkeypatch.setattr(ocr.pages, "Page", CountedPage)
    return live


def test_long_scan_streams_through_ocr_in_order(runtime, long_pdf, live_pages):
    accepted = ingest_file(runtime, long_pdf, unit_code="00004")
    ocr_stage(runtime, accepted.document_id, workers=2)

    assert len(live_pages._refs) == PAGES
    assert live_pages.most <= 3  # two pages in Tesseract and one just rendered, never all 40
    with runtime.session() as s:
        doc = s.get(Document, accepted.document_id)
        assert doc.state == states.OCR_DONE and doc.page_count == PAGES
        rows = sorted(doc.pages, key=lambda p: p.index)
        assert [p.index for p in rows] == list(range(PAGES))
        assert [n for n, p in enumerate(rows) if not p.blank] == sorted(TEXT_PAGES)
        assert all(p.dpi == 200 and p.words for p in rows if not p.blank)
        texts = doc.ocr_text.split("\f")
        pdf = runtime.objects.get_bytes(doc.pdf_key)
    assert len(texts) == PAGES
    for n, text in enumerate(texts):
        assert (f"Trang số {n + 1} " in text) == (n in TEXT_PAGES), (n, text)
    with pikepdf.open(io.BytesIO(pdf)) as searchable:
        assert len(searchable.pages) == len(TEXT_PAGES)  # blank backs left out
    assert pdfa_report(pdf).passed
    found = [int(t.split("Trang số ")[1].split()[0]) for t in pdf_text(pdf).split("\f")
             if "Trang số" in t]
    assert found == [n + 1 for n in sorted(TEXT_PAGES)]
