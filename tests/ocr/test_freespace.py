"""Free space on a page (ocr/freespace.py): the ink map from page images and word boxes, and
the search for a free rectangle near a corner."""

from __future__ import annotations

import io

import numpy as np
import pikepdf
import pytest
from PIL import Image, ImageDraw

from ocr.freespace import GAP, InkMap, find_place, page_ink


def image_pdf(img: Image.Image, size=(595, 842), turn: int = 0) -> bytes:
    """A page drawing ``img`` over the whole page, turned ``turn`` degrees by its matrix (as
    the searchable PDF turns a scan upright)."""
    pdf = pikepdf.new()
    pdf.add_blank_page(page_size=size)
    buf = io.BytesIO()
    img.convert("L").save(buf, format="JPEG", quality=90)
    xo = pikepdf.Stream(pdf, buf.getvalue())
    xo.Type, xo.Subtype = pikepdf.Name.XObject, pikepdf.Name.Image
    xo.Width, xo.Height = img.size
    xo.ColorSpace, xo.BitsPerComponent = pikepdf.Name.DeviceGray, 8
    xo.Filter = pikepdf.Name.DCTDecode
    page = pdf.pages[0]
    page.Resources = pikepdf.Dictionary(XObject=pikepdf.Dictionary(Im0=xo))
    w, h = size
    cm = {0: f"{w} 0 0 {h} 0 0", 90: f"0 {-h} {w} 0 0 {h}"}[turn]
    page.Contents = pdf.make_stream(f"q {cm} cm /Im0 Do Q".encode())
    out = io.BytesIO()
    pdf.save(out)
    return out.getvalue()


def scan_with_block(box_pt, size=(595, 842), dpi=150) -> Image.Image:
    k = dpi / 72
    img = Image.new("L", (round(size[0] * k), round(size[1] * k)), 255)
    x, y, w, h = (v * k for v in box_pt)
    ImageDraw.Draw(img).rectangle([x, y, x + w, y + h], fill=0)
    return img


def test_image_pages_are_read_in_their_displayed_frame():
    ink = page_ink(image_pdf(scan_with_block((400, 30, 150, 40))))
    assert ink.coverage(400, 30, 150, 40) > 0.9 * 150 * 40
    assert ink.coverage(0, 100, 595, 742) == 0 and ink.coverage(0, 0, 390, 100) == 0
    # the same scan stored lying on its side and turned upright by the page's matrix
    sideways = scan_with_block((400, 30, 150, 40)).rotate(90, expand=True)
    turned = page_ink(image_pdf(sideways, turn=90))
    assert (turned.ink ^ ink.ink).sum() < 0.05 * ink.ink.sum()


def test_a_single_speck_is_ink():
    img = Image.new("L", (1240, 1754), 255)
    img.putpixel((600, 200), 120)  # one 150-dpi pixel: 0.5 pt
    ink = page_ink(image_pdf(img))
    assert ink.coverage(280, 90, 10, 10) > 0


def test_vector_pages_and_annotations_count():
    pdf = pikepdf.new()
    pdf.add_blank_page(page_size=(595, 842))
    page = pdf.pages[0]
    page.Contents = pdf.make_stream(b"0 g 50 700 100 50 re f")
    page.Annots = pdf.make_indirect(pikepdf.Array([pdf.make_indirect(pikepdf.Dictionary(
        Type=pikepdf.Name.Annot, Subtype=pikepdf.Name.Widget, Rect=[372, 789, 590, 841],
        AP=pikepdf.Dictionary(N=pdf.make_stream(b"")), F=4))]))
    buf = io.BytesIO()
    pdf.save(buf)
    ink = page_ink(buf.getvalue())
    assert ink.coverage(50, 842 - 750, 100, 50) > 4000  # the rectangle (rendered by PDFium)
    assert ink.coverage(372, 1, 218, 52) == 218 * 52  # the earlier signature box


def test_word_boxes_block_their_place():
    ink = InkMap.blank(595, 842)
    ink.add_words([["CỘNG", 0.9, 1250, 100, 400, 60], [" ", 0.0, 0, 0, 2480, 3508]],
                  2480, 3508)
    assert ink.coverage(300, 24, 96, 14) == 96 * 14  # 1250 px of 2480 -> 300 pt
    assert ink.coverage(0, 100, 595, 700) == 0  # blank "words" are not ink


def test_find_place_prefers_the_corner_then_shrinks_then_moves_then_gives_up():
    ink = InkMap.blank(595, 842)
    at = find_place(ink, 200, 45, corner="top-right", min_scale=0.7)
    assert (at.x, at.y, at.scale) == (595 - 12 - 200, 12, 1.0)
    left = find_place(ink, 68, 68, corner="top-left")
    assert (left.x, left.y) == (12, 12)
    ink.block(0, 50, 595, 20)  # a full-width header 50..70 pt from the top
    # shrinking a little above it is nearer than moving below it at full size...
    small = find_place(ink, 200, 45, corner="top-right", min_scale=0.7)
    assert small.y >= 6 and small.y + small.height <= 50 - GAP and small.scale < 1
    # ...unless it may not shrink
    below = find_place(ink, 200, 45, corner="top-right", min_scale=1.0)
    assert below.y >= 70 + GAP and below.scale == 1.0
    ink.block(0, 0, 595, 842)
    assert find_place(ink, 200, 45, corner="top-right", min_scale=0.7) is None
    with pytest.raises(ValueError):
        find_place(ink, 1, 1, corner="bottom")


def test_found_rectangles_hold_no_ink():
    rng = np.random.default_rng(7)
    ink = InkMap(rng.random((842, 595)) > 0.9995, 595, 842)
    place = find_place(ink, 120, 30, corner="top-right", min_scale=0.7)
    assert place is not None
    assert ink.coverage(place.x - GAP, place.y - GAP, place.width + 2 * GAP,
                        place.height + 2 * GAP) == 0
