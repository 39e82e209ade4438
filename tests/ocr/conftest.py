"""Fixtures for the ocr tests: pages rendered at test time with a Vietnamese-capable font."""

from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image, ImageDraw, ImageFont

FONT_CANDIDATES = [
    "/usr/share/fonts/truetype/liberation2/LiberationSerif-Regular.ttf",
    "/usr/share/fonts/truetype/dejavu/DejaVuSerif.ttf",
    "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
]
PHRASE = "Quyết định về việc cấp giấy phép xây dựng"


def font(size_px: int) -> ImageFont.FreeTypeFont:
    for path in FONT_CANDIDATES:
        if Path(path).exists():
            return ImageFont.truetype(path, size_px)
    pytest.skip("no Vietnamese-capable TTF font installed")


def render_lines(lines: list[str], *, size=(1700, 420), mode: str = "RGB", font_px: int = 40) -> Image.Image:
    """A white page with black text lines, in `mode`."""
    img = Image.new("RGB", size, "white")
    draw = ImageDraw.Draw(img)
    f = font(font_px)
    y = 80
    for line in lines:
        draw.text((100, y), line, font=f, fill="black")
        y += int(font_px * 2)
    if mode == "1":
        return img.convert("L").point(lambda v: 255 if v > 128 else 0).convert("1")
    return img.convert(mode)


@pytest.fixture(scope="session")
def ocr_results():
    """OCR'd pages (colour 300 dpi, bilevel 200 dpi, gray 300 dpi) shared by the tests."""
    from ocr.engine import recognize_pages
    from ocr.pages import Page

    pages = [
        Page(0, render_lines([PHRASE, "Trang số 1"]), 300, "fixture.png"),
        Page(1, render_lines([PHRASE, "Trang số 2"], mode="1"), 200, "fixture.png"),
        Page(2, render_lines([PHRASE, "Trang số 3"], mode="L"), 300, "fixture.png"),
    ]
    return recognize_pages(pages, lang="vie", workers=2)


class LiveImages:
    """Counts page images still alive (weak references): `most` is the peak seen by `add`."""

    def __init__(self):
        import weakref

        self._ref = weakref.ref
        self._refs: list = []
        self.most = 0

    def add(self, image) -> None:
        self._refs.append(self._ref(image))
        self.most = max(self.most, self.alive())

    def alive(self) -> int:
        return sum(r() is not None for r in self._refs)
