"""A page image's id by its stored bytes (ocr.stored): a spooled PNG and the image img2pdf
stores of it in a PDF have the same id, so a reading is found without decoding; any other
pixels or any encoding this module does not know has another id or none."""

from __future__ import annotations

import io

import img2pdf
import numpy as np
import pikepdf
import pytest
from PIL import Image

from ocr.stored import one_idat, png_chunks, png_id, xobject_id


def _png(mode: str, seed: int = 1, **save) -> bytes:
    rng = np.random.default_rng(seed)
    shape = (120, 90, 3) if mode == "RGB" else (120, 90)
    buf = io.BytesIO()
    Image.fromarray(rng.integers(0, 256, shape, dtype=np.uint8), mode).save(
        buf, "PNG", **{"compress_level": 1, **save})
    return buf.getvalue()


def _id_in_pdf(data: bytes) -> str | None:
    """The id of the one image img2pdf stores for `data` (as batch capture calls it)."""
    with pikepdf.open(io.BytesIO(img2pdf.convert([data], nodate=True,
                                                 rotation=img2pdf.Rotation.none))) as pdf:
        [(_, image)] = pdf.pages[0].get_images().items()
        return xobject_id(image)


@pytest.mark.parametrize("mode", ["L", "RGB"])
def test_a_spooled_png_and_its_image_in_the_capture_pdf_have_one_id(mode):
    png = _png(mode)
    assert png_id(png) is not None
    assert png_id(png) == _id_in_pdf(png)


def test_other_pixels_or_another_encoding_of_them_have_another_id():
    assert png_id(_png("L", seed=1)) != png_id(_png("L", seed=2))
    # the same pixels compressed otherwise: another id (a miss, never a wrong hit)
    assert png_id(_png("L", compress_level=9)) != png_id(_png("L"))


def test_what_img2pdf_would_not_copy_as_is_has_no_id():
    assert png_id(b"") is None
    palette = io.BytesIO()
    Image.new("P", (40, 40)).save(palette, "PNG")
    assert png_id(palette.getvalue()) is None  # palette: img2pdf handles it otherwise
    sixteen = io.BytesIO()
    Image.new("I;16", (40, 40)).save(sixteen, "PNG")
    assert png_id(sixteen.getvalue()) is None
    assert png_id(_png("L")[:200]) is None  # cut short
    assert png_id(b"\xff\xd8\xff\xe0 not a png") is None


def test_a_jpeg_image_in_a_pdf_has_no_id():
    jpeg = io.BytesIO()
    Image.new("RGB", (40, 40), "white").save(jpeg, "JPEG")
    assert _id_in_pdf(jpeg.getvalue()) is None


@pytest.mark.parametrize("mode", ["L", "RGB", "1"])
def test_one_idat_keeps_the_pixels_the_id_and_the_pdf_img2pdf_makes(mode):
    """A PNG as an encoder writes it (many 64 KB IDAT chunks) and the same file with one
    chunk: same pixels, same id, and img2pdf makes the very same PDF of either."""
    rng = np.random.default_rng(3)
    image = Image.fromarray(rng.integers(0, 256, (900, 700, 3), dtype=np.uint8)).convert(mode)
    buf = io.BytesIO()
    image.save(buf, "PNG", compress_level=1)
    chunked = buf.getvalue()
    merged = one_idat(chunked)
    kinds = [kind for kind, _, _ in png_chunks(chunked)]
    assert kinds.count(b"IDAT") > 1
    assert [kind for kind, _, _ in png_chunks(merged)] == [
        k for n, k in enumerate(kinds) if k != b"IDAT" or kinds.index(b"IDAT") == n]
    with Image.open(io.BytesIO(merged)) as again:
        assert again.tobytes() == image.tobytes()  # PIL checks each chunk's CRC as it reads
    assert png_id(merged) == png_id(chunked)
    convert = dict(nodate=True, rotation=img2pdf.Rotation.none)
    assert img2pdf.convert([merged], **convert) == img2pdf.convert([chunked], **convert)


def test_a_png_cut_short_has_no_id_and_cannot_be_merged():
    cut = _png("RGB")[:-40]
    assert png_id(cut) is None
    with pytest.raises(ValueError, match="cut short"):
        one_idat(cut)
    with pytest.raises(ValueError, match="not a PNG"):
        one_idat(b"GIF89a")
