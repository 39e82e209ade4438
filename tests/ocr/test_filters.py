"""ocr.filters: the bounded decoders decode what qpdf decodes (so no honest file is refused or
misread), stop as soon as their output passes the cap, and the codec headers give the size the
decoder would allocate."""

from __future__ import annotations

import base64
import io
import zlib

import pikepdf
import pytest
from PIL import Image

from ocr.filters import TooLarge, codec_sizes, decode_general, jbig2_sizes, jpeg_size, jpx_size
from ocr.limits import Limits
from ocr.pages import load_pages
from tests.ocr import hostile


def _qpdf_decode(data: bytes, filters: list[str]) -> bytes:
    pdf = pikepdf.new()
    stream = pikepdf.Stream(pdf, data)
    stream.Filter = pikepdf.Array([pikepdf.Name(f) for f in filters])
    return stream.read_bytes(pikepdf.StreamDecodeLevel.specialized)


def _run_length(data: bytes) -> bytes:
    out = bytearray()
    for at in range(0, len(data), 100):
        chunk = data[at:at + 100]
        out += bytes([len(chunk) - 1]) + chunk
    return bytes(out) + b"\x80"


def _tiff_lzw_strip(image: Image.Image) -> bytes:
    """The LZW bytes libtiff writes (TIFF LZW is PDF LZW with EarlyChange 1)."""
    out = io.BytesIO()
    image.save(out, "TIFF", compression="tiff_lzw")
    with Image.open(io.BytesIO(out.getvalue())) as tif:
        offsets, counts = tif.tag_v2[273], tif.tag_v2[279]
    assert len(offsets) == 1
    return out.getvalue()[offsets[0]:offsets[0] + counts[0]]


@pytest.mark.parametrize("filters, encode", [
    (["/FlateDecode"], lambda d: zlib.compress(d)),
    (["/RunLengthDecode"], _run_length),
    (["/ASCIIHexDecode"], lambda d: d.hex().encode() + b">"),
    (["/ASCII85Decode"], lambda d: base64.a85encode(d) + b"~>"),
    (["/ASCII85Decode", "/FlateDecode"], lambda d: base64.a85encode(zlib.compress(d)) + b"~>"),
    (["/FlateDecode", "/RunLengthDecode"], lambda d: zlib.compress(_run_length(d))),
])
def test_general_filters_decode_what_qpdf_decodes(filters, encode):
    text = ("Số: 125/QĐ-UBND BT /F1 12 Tf (Quyết định) Tj ET " * 200).encode()
    raw = encode(text)
    assert _qpdf_decode(raw, filters) == text
    assert decode_general(raw, filters, None, 1 << 30).size == len(text)
    # kept and handed on when a codec follows: the codec's input is exactly the text
    decoded = decode_general(raw, [*filters, "/DCTDecode"], None, 1 << 30)
    assert decoded.codec == "/DCTDecode" and decoded.data == text
    with pytest.raises(TooLarge):
        decode_general(raw, filters, None, len(text) - 1)


def test_lzw_decodes_libtiff_output_and_qpdf_agrees():
    image = Image.radial_gradient("L").resize((300, 200))
    strip = _tiff_lzw_strip(image)
    assert _qpdf_decode(strip, ["/LZWDecode"]) == image.tobytes()
    decoded = decode_general(strip, ["/LZWDecode", "/JPXDecode"], None, 1 << 30)
    assert decoded.data == image.tobytes()
    assert decode_general(strip, ["/LZWDecode"], None, 1 << 30).size == len(image.tobytes())


def test_the_lzw_bomb_generator_is_what_qpdf_decodes_and_is_bounded():
    two = hostile.lzw_zeros(2)
    plain = _qpdf_decode(two, ["/LZWDecode"])
    assert set(plain) == {0} and len(plain) > 14_000_000
    assert decode_general(two, ["/LZWDecode"], None, 1 << 30).size == len(plain)
    bomb = hostile.lzw_zeros(45)
    with pytest.raises(TooLarge) as caught:
        decode_general(bomb, ["/LZWDecode"], None, 64 * hostile.MB)
    assert caught.value.filter == "/LZWDecode"


def test_every_layer_of_a_chain_is_bounded():
    inner = hostile.deflate_zeros(128 * hostile.MB)
    for filters, data in (
            (["/ASCIIHexDecode", "/FlateDecode"], inner.hex().encode()),
            (["/FlateDecode", "/FlateDecode"], zlib.compress(inner, 9)),
            (["/FlateDecode", "/RunLengthDecode"], zlib.compress(b"\x81\x00" * 600_000, 9))):
        with pytest.raises(TooLarge):
            decode_general(data, filters, None, 64 * hostile.MB)
    # stops before an image codec and hands it its input; an unknown filter is left alone
    decoded = decode_general(zlib.compress(b"\xff\xd8 jpeg"), ["/Fl", "/DCT"], None, 1 << 20)
    assert decoded.codec == "/DCT" and decoded.data == b"\xff\xd8 jpeg"
    assert decode_general(b"x", ["/Crypt2"], None, 10).unknown == "/Crypt2"


def test_codec_headers_give_the_size_the_decoder_allocates():
    for progressive in (False, True):
        out = io.BytesIO()
        Image.new("RGB", (321, 123), "white").save(out, "JPEG", progressive=progressive)
        size = jpeg_size(out.getvalue())
        assert (size.width, size.height, size.components) == (321, 123, 3)
    out = io.BytesIO()
    Image.new("L", (150, 90), 255).save(out, "JPEG2000")
    size = jpx_size(out.getvalue())  # a JP2 file: the codestream is inside its boxes
    assert (size.width, size.height, size.components, size.tiles) == (150, 90, 1, 1)
    assert jpx_size(hostile._jpx_codestream(4000, 4000, 1)).tiles == 16_000_000
    info = b"\x00\x00\x00\x00\x30\x00\x01\x00\x00\x00\x13" + bytes.fromhex(
        "000009c4" "00000da0" "00000000" "00000000" "00" "0000")
    (page,) = jbig2_sizes(info)
    assert (page.width, page.height) == (2500, 3488)
    (ccitt,) = codec_sizes("/CCITTFaxDecode", b"", pikepdf.Dictionary(K=-1, Columns=2480), 3508)
    assert (ccitt.width, ccitt.height) == (2480, 3508)


def test_honest_pdfs_under_each_general_filter_still_render(tmp_path):
    content = b"0 0 1 rg 72 72 200 200 re f"
    for name, filters, data in (
            ("lzw", ["/LZWDecode"], None),
            ("rl", ["/RunLengthDecode"], _run_length(content)),
            ("a85", ["/ASCII85Decode", "/FlateDecode"],
             base64.a85encode(zlib.compress(content)) + b"~>")):
        if data is None:  # LZW from libtiff: the bytes of a gray strip that spell the content
            image = Image.frombytes("L", (len(content), 1), content)
            data = _tiff_lzw_strip(image)
        path = hostile._content_pdf(tmp_path / f"{name}.pdf", data, filters)
        (page,) = load_pages(path, limits=Limits())
        assert page.image.mode == "RGB", name  # the blue square was drawn: not a blank page


# --- property-based: whatever the bytes, a bounded answer and no other exception --------------

from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

GENERAL = ["/FlateDecode", "/LZWDecode", "/RunLengthDecode", "/ASCIIHexDecode", "/ASCII85Decode"]
CAP = 1 << 16


@settings(max_examples=300, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=2048), st.lists(st.sampled_from(GENERAL), min_size=1, max_size=3))
def test_general_filters_on_any_bytes_answer_within_the_cap(data, chain):
    try:
        decoded = decode_general(data, chain, None, CAP)
    except TooLarge as exc:
        assert exc.filter in GENERAL
        return
    assert decoded.size <= CAP and decoded.data is None


@settings(max_examples=300, deadline=None, derandomize=True, database=None)
@given(st.binary(max_size=512), st.sampled_from(["/DCTDecode", "/JPXDecode", "/JBIG2Decode",
                                                 "/CCITTFaxDecode"]))
def test_codec_headers_of_any_bytes_never_raise(data, codec):
    prefix = {"/DCTDecode": b"\xff\xd8", "/JPXDecode": b"\xff\x4f\xff\x51"}.get(codec, b"")
    for blob in (data, prefix + data):
        for size in codec_sizes(codec, blob, None, 100, blob):
            assert size.width >= 0 and size.height >= 0 and size.tiles >= 0
