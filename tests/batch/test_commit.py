"""A split document's PDF (batch.commit.images_to_pdf): the same bytes on every run, and read
back by the OCR stage as the very pixels scanned, without rendering."""

from __future__ import annotations

import numpy as np
import pikepdf
from PIL import Image, ImageDraw

from batch.commit import images_to_pdf
from ocr import pages as pages_module
from ocr.pages import CAPTURE_CREATOR, iter_pages


def _page(path, text: str):
    image = Image.new("L", (1654, 2339), 247)
    ImageDraw.Draw(image).text((200, 200), text, fill=0)
    image.save(path, dpi=(200, 200))
    return image


def test_document_pdf_is_reproducible_and_read_as_the_scanned_pixels(tmp_path, monkeypatch):
    scans = [_page(tmp_path / f"p{i}.png", f"Trang {i}") for i in range(2)]
    first = images_to_pdf([tmp_path / "p0.png", tmp_path / "p1.png"], tmp_path / "a.pdf", 200)
    again = images_to_pdf([tmp_path / "p0.png", tmp_path / "p1.png"], tmp_path / "b.pdf", 200)
    assert first.read_bytes() == again.read_bytes()  # a rebuilt document is the same document
    with pikepdf.open(first) as pdf:
        assert str(pdf.docinfo["/Creator"]) == CAPTURE_CREATOR and len(pdf.pages) == 2

    rendered: list = []
    monkeypatch.setattr(pages_module, "render_pdf_page",
                        lambda *a, **k: rendered.append(a) or None)
    pages = list(iter_pages(first))
    assert rendered == []
    assert [p.dpi for p in pages] == [200, 200]
    for page, scan in zip(pages, scans, strict=True):
        assert np.array_equal(np.asarray(page.image), np.asarray(scan))
