"""load_pages: type detected by content, dpi from the file, bad input refused (InputError)."""

from __future__ import annotations

import io
import struct
import zlib
from pathlib import Path

import pikepdf
import pytest
from PIL import Image, ImageDraw

from ocr.limits import Limits
from ocr.pages import InputError, load_pages, sniff_kind
from tests.ocr.conftest import render_lines


def _save(img: Image.Image, path: Path, **kw) -> Path:
    img.save(path, **kw)
    return path


def _png_header_only(width: int, height: int) -> bytes:
    """A PNG whose IHDR claims width x height, with a tiny (invalid) IDAT: nothing allocated."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = zlib.crc32(kind + data) & 0xFFFFFFFF
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", ihdr)
        + chunk(b"IDAT", zlib.compress(b"\x00" * 16))
        + chunk(b"IEND", b"")
    )


# --- formats and dpi ------------------------------------------------------------------------


def test_png_dpi_from_phys(tmp_path):
    path = _save(render_lines(["a"], size=(400, 300)), tmp_path / "a.png", dpi=(200, 200))
    pages = load_pages(path)
    assert len(pages) == 1
    p = pages[0]
    assert (p.index, p.dpi, p.source, p.dpi_from_file) == (0, 200, "a.png", True)
    assert p.image.size == (400, 300)
    assert p.image.mode == "RGB"


def test_png_without_or_with_screen_dpi_falls_back_to_default(tmp_path):
    none = _save(render_lines(["a"], size=(400, 300)), tmp_path / "none.png")
    screen = _save(render_lines(["a"], size=(400, 300)), tmp_path / "s.png", dpi=(72, 72))
    for path in (none, screen):
        (p,) = load_pages(path, default_dpi=250)
        assert p.dpi == 250
        assert p.dpi_from_file is False


def test_jpeg_dpi_from_jfif_and_exif(tmp_path):
    img = render_lines(["a"], size=(400, 300))
    jfif = _save(img, tmp_path / "jfif.jpg", dpi=(240, 240))
    assert load_pages(jfif)[0].dpi == 240

    exif = Image.Exif()
    exif[0x0128] = 2  # ResolutionUnit: inch
    exif[0x011A] = 400.0  # XResolution
    exif[0x011B] = 400.0  # YResolution
    exif_only = _save(img, tmp_path / "exif.jpg", exif=exif.tobytes())
    (p,) = load_pages(exif_only)
    assert p.dpi == 400


def test_jpeg_exif_orientation_is_applied(tmp_path):
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 CW to display
    path = _save(render_lines(["a"], size=(400, 300)), tmp_path / "o.jpg", exif=exif.tobytes())
    (p,) = load_pages(path)
    assert p.image.size == (300, 400)


def test_multipage_tiff_keeps_modes_and_dpi(tmp_path):
    frames = [
        render_lines(["one"], size=(300, 200), mode="1"),
        render_lines(["two"], size=(310, 200), mode="L"),
        render_lines(["three"], size=(320, 200), mode="RGB"),
    ]
    path = tmp_path / "scan.tif"
    frames[0].save(path, save_all=True, append_images=frames[1:], dpi=(300, 300), compression="tiff_lzw")
    pages = load_pages(path)
    assert [p.index for p in pages] == [0, 1, 2]
    assert [p.image.mode for p in pages] == ["1", "L", "RGB"]
    assert [p.image.width for p in pages] == [300, 310, 320]
    assert all(p.dpi == 300 for p in pages)


def test_palette_and_alpha_images_are_normalized(tmp_path):
    rgba = Image.new("RGBA", (100, 80), (0, 0, 0, 0))  # fully transparent -> white page
    (p,) = load_pages(_save(rgba, tmp_path / "t.png"))
    assert p.image.mode == "RGB" and p.original_mode == "RGBA"
    assert p.image.getpixel((5, 5)) == (255, 255, 255)
    gray_palette = render_lines(["a"], size=(100, 80), mode="L").convert("P")
    (q,) = load_pages(_save(gray_palette, tmp_path / "p.png"))
    assert q.original_mode == "P" and q.image.mode in ("L", "RGB")


def test_16_bit_gray_and_cmyk_are_converted_without_stretching(tmp_path):
    import numpy as np

    ramp = np.linspace(0, 65535, 200 * 100).reshape(100, 200).astype(np.uint16)
    sixteen = _save(Image.fromarray(ramp), tmp_path / "g16.png")
    (p,) = load_pages(sixteen)
    assert p.original_mode.startswith("I") and p.image.mode == "L"
    assert p.image.getpixel((0, 0)) == 0 and p.image.getpixel((199, 99)) == 255
    assert abs(p.image.getpixel((100, 50)) - 128) <= 2

    flat = np.full((100, 200), 30000, dtype=np.uint16)  # mid-gray must stay mid-gray
    (q,) = load_pages(_save(Image.fromarray(flat), tmp_path / "flat16.png"))
    assert abs(q.image.getpixel((5, 5)) - 30000 // 257) <= 1

    cmyk = _save(Image.new("CMYK", (60, 40), (0, 0, 0, 0)), tmp_path / "c.jpg", dpi=(300, 300))
    (c,) = load_pages(cmyk)
    assert (c.original_mode, c.image.mode, c.dpi) == ("CMYK", "RGB", 300)
    assert c.image.getpixel((3, 3)) == (255, 255, 255)


def test_two_page_pdf_rendered_at_native_image_resolution(tmp_path):
    a = render_lines(["một"], size=(800, 1000))
    ImageDraw.Draw(a).ellipse((300, 500, 500, 700), outline=(200, 20, 20), width=6)  # red seal
    b = render_lines(["hai"], size=(800, 1000))
    path = tmp_path / "two.pdf"
    a.save(path, save_all=True, append_images=[b], resolution=200.0)
    pages = load_pages(path)
    assert [p.index for p in pages] == [0, 1]
    assert all(p.dpi == 200 for p in pages)
    assert all(abs(p.image.width - 800) <= 2 and abs(p.image.height - 1000) <= 2 for p in pages)
    assert pages[0].image.mode == "RGB"  # colour kept
    assert pages[1].image.mode == "L"  # a page with no colour pixel rendered as gray

    gray = tmp_path / "gray.pdf"
    render_lines(["ba"], size=(800, 1000), mode="L").save(gray, resolution=300.0)
    (g,) = load_pages(gray)
    assert g.dpi == 300 and g.image.mode == "L"


def test_pdf_dpi_is_clamped_and_imageless_pages_use_default(tmp_path):
    low = tmp_path / "low.pdf"
    render_lines(["a"], size=(300, 400)).save(low, resolution=50.0)  # 6x8 inch page
    (p,) = load_pages(low)
    assert p.dpi == 150
    assert abs(p.image.width - 900) <= 2

    blank = tmp_path / "blank.pdf"
    pdf = pikepdf.new()
    pdf.add_blank_page(page_size=(72 * 2, 72 * 3))  # 2x3 inches, no images
    pdf.save(blank)
    (q,) = load_pages(blank, default_dpi=100)
    assert q.dpi == 100
    assert (q.image.width, q.image.height) == (200, 300)


def test_owner_password_only_pdf_is_accepted(tmp_path):
    path = tmp_path / "restricted.pdf"
    src = tmp_path / "src.pdf"
    render_lines(["a"], size=(300, 400)).save(src, resolution=200.0)
    with pikepdf.open(src) as pdf:
        pdf.save(
            path,
            encryption=pikepdf.Encryption(
                owner="owner-secret", user="", allow=pikepdf.Permissions(extract=False)
            ),
        )
    assert len(load_pages(path)) == 1


def test_type_is_detected_by_content_not_extension(tmp_path):
    path = _save(render_lines(["a"], size=(120, 90)), tmp_path / "looks-like.pdf", format="PNG")
    (p,) = load_pages(path)
    assert p.image.size == (120, 90)
    assert sniff_kind(b"%PDF-1.7\n") == "pdf"
    assert sniff_kind(b"PK\x03\x04") is None


# --- bad input ------------------------------------------------------------------------------


def _assert_input_error(path: Path, *words: str, **kw) -> InputError:
    with pytest.raises(InputError) as info:
        load_pages(path, **kw)
    err = info.value
    assert path.name in str(err)
    assert path.name in err.vi
    for w in words:
        assert w in str(err).lower()
    return err


def test_zero_byte_file(tmp_path):
    path = tmp_path / "empty.pdf"
    path.write_bytes(b"")
    err = _assert_input_error(path, "empty")
    assert "rỗng" in err.vi


def test_missing_file(tmp_path):
    _assert_input_error(tmp_path / "nope.png", "not found")


def test_unsupported_types(tmp_path):
    docx = tmp_path / "letter.docx"
    docx.write_bytes(b"PK\x03\x04" + b"\x00" * 100)
    err = _assert_input_error(docx, "unsupported")
    assert "không được hỗ trợ" in err.vi
    text = tmp_path / "notes.txt"
    text.write_text("Quyết định số 1", encoding="utf-8")
    _assert_input_error(text, "unsupported")


def test_truncated_png_and_jpeg(tmp_path):
    img = render_lines(["a"], size=(600, 400))
    for fmt, name in (("PNG", "cut.png"), ("JPEG", "cut.jpg")):
        buf = io.BytesIO()
        img.save(buf, format=fmt)
        data = buf.getvalue()
        path = tmp_path / name
        path.write_bytes(data[: len(data) // 2])
        err = _assert_input_error(path, "corrupt")
        assert "hỏng" in err.vi


def test_corrupt_and_truncated_pdf(tmp_path):
    garbage = tmp_path / "garbage.pdf"
    garbage.write_bytes(b"%PDF-1.4\n" + b"this is not a pdf at all\n" * 20)
    _assert_input_error(garbage)

    src = tmp_path / "src.pdf"
    render_lines(["a"], size=(600, 800)).save(src, resolution=200.0)
    data = src.read_bytes()
    cut = tmp_path / "cut.pdf"
    cut.write_bytes(data[: len(data) // 3])
    _assert_input_error(cut)


def test_encrypted_pdf(tmp_path):
    src = tmp_path / "src.pdf"
    render_lines(["a"], size=(300, 400)).save(src, resolution=200.0)
    path = tmp_path / "locked.pdf"
    with pikepdf.open(src) as pdf:
        pdf.save(path, encryption=pikepdf.Encryption(owner="o", user="user-secret"))
    err = _assert_input_error(path, "password")
    assert "mật khẩu" in err.vi


def test_decompression_bomb_is_refused_from_header(tmp_path):
    path = tmp_path / "bomb.png"
    path.write_bytes(_png_header_only(60_000, 60_000))
    err = _assert_input_error(path, "too large")
    assert "quá lớn" in err.vi


def test_image_limits_are_configurable(tmp_path):
    wide = tmp_path / "wide.png"
    wide.write_bytes(_png_header_only(31_000, 10))  # few pixels, but one side too long
    _assert_input_error(wide, "too large")
    small = _save(render_lines(["a"], size=(400, 300)), tmp_path / "small.png")
    _assert_input_error(small, "too large", max_pixels=100_000)


# --- streaming: checked up front, decoded one page at a time --------------------------------


def _long_pdf(path: Path, count: int) -> Path:
    pages = [render_lines([f"Trang {n + 1}"], size=(300, 200), mode="L") for n in range(count)]
    pages[0].save(path, save_all=True, append_images=pages[1:], resolution=200.0)
    return path


def test_iter_pages_counts_without_rendering_and_renders_on_demand(tmp_path, monkeypatch):
    from ocr import pages as pages_module
    from ocr.pages import iter_pages

    calls: list[int] = []  # pages decoded: rendered, or a plain scan's image read as stored
    real, stored = pages_module.render_pdf_page, pages_module._decode_plain_scan

    def counting(path, index, dpi, limits):
        calls.append(index + 1)
        return real(path, index, dpi, limits)

    def counting_stored(xobj, filter_name, channels, dpi, limits):
        image = stored(xobj, filter_name, channels, dpi, limits)
        if image is not None:
            calls.append(len(calls) + 1)
        return image

    monkeypatch.setattr(pages_module, "render_pdf_page", counting)
    monkeypatch.setattr(pages_module, "_decode_plain_scan", counting_stored)
    pages = iter_pages(_long_pdf(tmp_path / "dai.pdf", 12), limits=STORED)
    assert (pages.count, len(pages), calls) == (12, 12, [])  # nothing rendered yet
    first = next(pages)
    assert first.index == 0 and calls == [1]
    rest = list(pages)
    assert [p.index for p in rest] == list(range(1, 12)) and calls == list(range(1, 13))
    assert all(p.dpi == 200 and p.image.size == (300, 200) for p in rest)


def test_iter_pages_matches_load_pages(tmp_path):
    from ocr.pages import iter_pages

    path = tmp_path / "scan.tif"
    frames = [render_lines([f"Trang {n}"], size=(300 + n, 200), mode=m)
              for n, m in enumerate(("1", "L", "RGB", "L"))]
    frames[0].save(path, save_all=True, append_images=frames[1:], dpi=(300, 300))
    for p in (path, _long_pdf(tmp_path / "dai.pdf", 3)):
        loaded, streamed = load_pages(p), list(iter_pages(p))
        assert [(q.index, q.dpi, q.image.mode, q.image.size, q.original_mode) for q in loaded] \
            == [(q.index, q.dpi, q.image.mode, q.image.size, q.original_mode) for q in streamed]
        assert all(a.image.tobytes() == b.image.tobytes() for a, b in zip(loaded, streamed, strict=True))


def test_oversized_tiff_page_is_refused_before_any_page_is_decoded(tmp_path, monkeypatch):
    from ocr import pages as pages_module

    path = tmp_path / "ho-so.tif"
    small = render_lines(["a"], size=(300, 200), mode="1")
    small.save(path, save_all=True, append_images=[Image.new("1", (31_000, 8), 1), small],
               dpi=(300, 300), compression="group4")
    decoded: list[int] = []
    real = pages_module.decode_pages
    monkeypatch.setattr(pages_module, "decode_pages",
                        lambda *a, **kw: decoded.append(1) or real(*a, **kw))
    with pytest.raises(InputError) as info:
        pages_module.iter_pages(path)
    assert "ho-so.tif" in str(info.value) and "too large" in str(info.value)
    assert "on page 2" in str(info.value) and "quá lớn" in info.value.vi
    assert decoded == []


def test_corrupt_page_found_while_streaming_names_the_file(tmp_path):
    from ocr.pages import iter_pages

    path = tmp_path / "hong.tif"
    frames = [render_lines([f"Trang {n}"], size=(300, 200), mode="L") for n in range(3)]
    frames[0].save(path, save_all=True, append_images=frames[1:], dpi=(300, 300))
    with Image.open(path) as img:  # cut the file inside the last page's pixels
        img.seek(2)
        strip = img.tag_v2[273][0]
    path.write_bytes(path.read_bytes()[: strip + 100])
    pages = iter_pages(path)
    assert pages.count == 3
    got = []
    with pytest.raises(InputError) as info:
        for p in pages:
            got.append(p.index)
    assert got == [0, 1]
    assert "hong.tif" in str(info.value) and "corrupt" in str(info.value)
    assert "hong.tif" in info.value.vi and "hỏng" in info.value.vi


STORED = Limits(stored_scans=True)  # the stored-scan shortcut on (SOHOA_PDF_STORED_SCANS)


@pytest.fixture
def rendered(monkeypatch) -> list[str]:
    """The names of the PDFs pdftoppm is asked to render a page of (it still renders them)."""
    from ocr import pages as pages_module

    names: list[str] = []
    real = pages_module.render_pdf_page
    monkeypatch.setattr(pages_module, "render_pdf_page",
                        lambda path, *a: names.append(path.name) or real(path, *a))
    return names


def _scan_pdf(path: Path, image: Image.Image, fmt: str, dpi: int = 200) -> Path:
    import img2pdf

    buf = io.BytesIO()
    image.save(buf, fmt, dpi=(dpi, dpi))
    path.write_bytes(img2pdf.convert(buf.getvalue(),
                                     layout_fun=img2pdf.get_fixed_dpi_layout_fun((dpi, dpi))))
    return path


def test_a_plain_scan_pdf_page_is_read_as_stored_not_rendered(tmp_path, rendered):
    """A page that is one scan image over the whole page (scanners, img2pdf) is decoded as
    stored: the exact scanned pixels, and no pdftoppm run (as long as the page's OCR)."""
    import numpy as np

    from ocr.pages import iter_pages

    colour = render_lines(["Số: 12/QĐ-UBND"], size=(1654, 2339), mode="RGB")
    ImageDraw.Draw(colour).rectangle([100, 100, 300, 200], fill=(200, 30, 30))  # a red seal
    for fmt in ("PNG", "JPEG"):
        for mode in ("RGB", "L"):
            source = colour.convert(mode)
            path = _scan_pdf(tmp_path / f"scan-{fmt}-{mode}.pdf", source, fmt)
            [page] = list(iter_pages(path, limits=STORED))
            assert (page.dpi, page.image.size, page.image.mode) == (200, source.size, mode)
            if fmt == "PNG":  # lossless: the very pixels that were scanned
                assert np.array_equal(np.asarray(page.image), np.asarray(source))
    assert rendered == []


def test_pages_that_are_more_than_one_scan_image_are_rendered(tmp_path, rendered):
    from ocr.pages import iter_pages

    gray = render_lines(["Trang"], size=(1654, 2339), mode="L")
    # turned by /Rotate, with a line drawn over the image, or an image not filling the page
    turned = _scan_pdf(tmp_path / "turned.pdf", gray, "PNG")
    with pikepdf.open(turned, allow_overwriting_input=True) as pdf:
        pdf.pages[0].obj.Rotate = 90
        pdf.save(turned)
    drawn = _scan_pdf(tmp_path / "drawn.pdf", gray, "PNG")
    with pikepdf.open(drawn, allow_overwriting_input=True) as pdf:
        pdf.pages[0].contents_add(pdf.make_stream(b"0 0 m 100 100 l S"))
        pdf.save(drawn)
    small = _scan_pdf(tmp_path / "small.pdf", gray, "PNG")
    with pikepdf.open(small, allow_overwriting_input=True) as pdf:
        pdf.pages[0].obj.MediaBox = [0, 0, 700, 1000]
        pdf.save(small)
    for path in (turned, drawn, small):
        [page] = list(iter_pages(path))
        assert page.image.size[0] > 100
    assert rendered == ["turned.pdf", "drawn.pdf", "small.pdf"]


def test_a_stored_jpeg_is_decoded_in_the_limited_child_and_a_bad_one_rendered(tmp_path,
                                                                              monkeypatch,
                                                                              rendered):
    """libjpeg never sees a PDF's JPEG in this process (like any input image): the stored scan
    goes through ocr.imagedecode's child; one the child cannot decode is rendered instead."""
    from ocr import pages as pages_module
    from ocr.pages import iter_pages

    children: list[str] = []
    real_decode = pages_module.decode_pages
    monkeypatch.setattr(pages_module, "decode_pages",
                        lambda path, kind, **kw: children.append(kind) or real_decode(path, kind,
                                                                                       **kw))
    gray = render_lines(["Số: 12/QĐ-UBND"], size=(1654, 2339), mode="L")
    good = _scan_pdf(tmp_path / "good.pdf", gray, "JPEG")
    [page] = list(iter_pages(good, limits=STORED))
    assert (children, rendered, page.image.size) == (["jpeg-stream"], [], gray.size)

    broken = _scan_pdf(tmp_path / "broken.pdf", gray, "JPEG")
    with pikepdf.open(broken, allow_overwriting_input=True) as pdf:
        [image] = [v for _, v in pdf.pages[0].images.items()]
        raw = bytearray(image.read_raw_bytes())
        raw[len(raw) // 2:] = b"\0" * (len(raw) - len(raw) // 2)  # the scan data wiped
        image.write(bytes(raw), filter=pikepdf.Name.DCTDecode)
        pdf.save(broken)
    children.clear()
    [page] = list(iter_pages(broken, limits=STORED))  # the child or pdftoppm; no exception
    assert children == ["jpeg-stream"] and page.image.size == gray.size


def test_a_page_a_fraction_of_a_pixel_off_its_image_grid_is_rendered(tmp_path, rendered):
    """pdftoppm renders a page 2466.0001 px wide as 2467 px (resampling the scan); OCR is
    sensitive to that, so only a page whose grid is exactly its image's is read as stored."""
    from ocr.pages import iter_pages

    gray = render_lines(["Trang"], size=(1654, 2339), mode="L")
    off = _scan_pdf(tmp_path / "off.pdf", gray, "PNG")
    with pikepdf.open(off, allow_overwriting_input=True) as pdf:
        box = [float(v) for v in pdf.pages[0].mediabox]
        wider = box[2] + 0.0005 * 72 / 200 * 100  # a few ten-thousandths of a pixel at 200 dpi
        pdf.pages[0].obj.MediaBox = [0, 0, wider, box[3]]
        content = pdf.pages[0].obj.Contents.read_bytes().replace(
            f"{box[2]:g}".encode(), f"{wider:.6f}".encode(), 1)
        pdf.pages[0].obj.Contents.write(content)
        pdf.save(off)
    [page] = list(iter_pages(off, limits=STORED))
    assert rendered == ["off.pdf"] and page.image.size[0] == gray.size[0] + 1


def test_plain_scan_pages_are_rendered_unless_the_shortcut_is_on(tmp_path, rendered):
    """Off by default (SOHOA_PDF_STORED_SCANS): pdftoppm renders every PDF page."""
    from ocr.pages import iter_pages

    path = _scan_pdf(tmp_path / "scan.pdf", render_lines(["Trang"], size=(1654, 2339), mode="L"),
                     "PNG")
    list(iter_pages(path))
    list(iter_pages(path, limits=STORED))
    assert rendered == ["scan.pdf"]


def test_batch_capture_pdfs_are_read_as_stored_with_the_shortcut_off(tmp_path, rendered):
    """A PDF whose Creator is batch capture's own (its lossless page scans, img2pdf) is decoded
    as stored by default; the same pages under another Creator are rendered."""
    import img2pdf
    import numpy as np

    from ocr.pages import CAPTURE_CREATOR, iter_pages

    source = render_lines(["Số: 12/QĐ-UBND"], size=(1654, 2339), mode="L")
    buf = io.BytesIO()
    source.save(buf, "PNG", dpi=(200, 200))
    layout = img2pdf.get_fixed_dpi_layout_fun((200, 200))
    for name, creator in (("own.pdf", CAPTURE_CREATOR), ("other.pdf", "some scanner")):
        (tmp_path / name).write_bytes(img2pdf.convert(buf.getvalue(), layout_fun=layout,
                                                      creator=creator))
    [own] = list(iter_pages(tmp_path / "own.pdf"))
    assert np.array_equal(np.asarray(own.image), np.asarray(source))
    list(iter_pages(tmp_path / "other.pdf"))
    assert rendered == ["other.pdf"]


def test_a_capture_page_known_by_its_stored_bytes_is_not_decoded(tmp_path, rendered,
                                                                  monkeypatch):
    """`known` (a cache of readings) is asked about each plain-scan page by its stored id: a
    page it knows comes with that reading and no pixels; one it does not is decoded as usual,
    carrying its id (its reading is kept under it)."""
    import img2pdf
    import numpy as np

    from ocr import pages as pages_module
    from ocr.pages import CAPTURE_CREATOR, iter_pages
    from ocr.stored import png_id

    scans = [render_lines([f"Trang {n}"], size=(1654, 2339), mode="L") for n in (1, 2)]
    pngs = []
    for scan in scans:
        buf = io.BytesIO()
        scan.save(buf, "PNG", dpi=(200, 200))
        pngs.append(buf.getvalue())
    path = tmp_path / "lo.pdf"
    path.write_bytes(img2pdf.convert(pngs, creator=CAPTURE_CREATOR, nodate=True,
                                     layout_fun=img2pdf.get_fixed_dpi_layout_fun((200, 200)),
                                     rotation=img2pdf.Rotation.none))
    decoded = []
    real = pages_module._decode_plain_scan
    monkeypatch.setattr(pages_module, "_decode_plain_scan",
                        lambda *a: decoded.append(1) or real(*a))
    asked = []

    def known(page):
        asked.append((page.index, page.stored_id, page.dpi))
        return "the reading of page 1" if page.index == 0 else None

    first, second = iter_pages(path, known=known)
    assert asked == [(0, png_id(pngs[0]), 200), (1, png_id(pngs[1]), 200)]
    assert first.reading == "the reading of page 1" and first.image.size == (1, 1)
    assert second.reading is None and second.stored_id == png_id(pngs[1])
    assert np.array_equal(np.asarray(second.image), np.asarray(scans[1]))
    assert len(decoded) == 1 and rendered == []
