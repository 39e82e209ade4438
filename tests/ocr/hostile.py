"""Generators of hostile input files for the page loader: giant pages, decompression bombs,
page-tree loops, broken cross-reference tables, encrypted and truncated files, actions.

Each generator writes one small file (a few KB to a few MB) quickly: deflate bombs are built
from one compressed block repeated (a full flush makes identical input compress to identical
bytes), never by compressing gigabytes.
"""

from __future__ import annotations

import io
import struct
import zlib
from pathlib import Path

import pikepdf
from PIL import Image, ImageDraw

MB = 1024 * 1024


def deflate_zeros(total: int, block: int = MB) -> bytes:
    """A zlib stream that inflates to `total` zero bytes (a multiple of `block`)."""
    comp = zlib.compressobj(9)
    head = comp.compress(b"")  # the 2-byte zlib header comes out with the first block
    first = comp.compress(b"\0" * block) + comp.flush(zlib.Z_FULL_FLUSH)
    again = comp.compress(b"\0" * block) + comp.flush(zlib.Z_FULL_FLUSH)
    n = total // block
    body = head + first + again * (n - 1) + comp.flush(zlib.Z_FINISH)[:-4]
    # adler32 of n*block zeros: a stays 1, b grows by 1 per byte
    adler = ((n * block) % 65521) << 16 | 1
    return body + struct.pack(">I", adler)


def small_pdf(path: Path, *, pages: int = 1, size=(612, 792)) -> Path:
    pdf = pikepdf.new()
    for _ in range(pages):
        pdf.add_blank_page(page_size=size)
    pdf.save(path)
    return path


def giant_page_pdf(path: Path, inches: float = 200, user_unit: float | None = None) -> Path:
    """One page `inches` square (the PDF maximum is 200), optionally scaled by /UserUnit,
    with a little drawing on it."""
    pdf = pikepdf.new()
    pt = inches * 72
    pdf.add_blank_page(page_size=(pt, pt))
    page = pdf.pages[0]
    if user_unit:
        page.obj.UserUnit = user_unit
    page.obj.Contents = pdf.make_stream(b"0 0 1 rg 10 10 %d %d re f" % (pt - 20, pt - 20))
    pdf.save(path)
    return path


def image_bomb_pdf(path: Path, side: int = 100_000) -> Path:
    """A letter page drawing a 1-bit `side` x `side` image that inflates to side²/8 bytes."""
    pdf = pikepdf.new()
    pdf.add_blank_page(page_size=(612, 792))
    raw = side * ((side + 7) // 8)
    data = deflate_zeros(-(-raw // MB) * MB)
    image = pikepdf.Stream(pdf, data)
    image.Type, image.Subtype = pikepdf.Name.XObject, pikepdf.Name.Image
    image.Width, image.Height, image.BitsPerComponent = side, side, 1
    image.ColorSpace, image.Filter = pikepdf.Name.DeviceGray, pikepdf.Name.FlateDecode
    page = pdf.pages[0]
    page.obj.Resources = pikepdf.Dictionary(XObject=pikepdf.Dictionary(Im0=image))
    page.obj.Contents = pdf.make_stream(b"q 612 0 0 792 0 0 cm /Im0 Do Q")
    pdf.save(path, compress_streams=False, stream_decode_level=pikepdf.StreamDecodeLevel.none)
    return path


def content_bomb_pdf(path: Path, inflated: int = 2048 * MB) -> Path:
    """A page whose content stream is a few MB on disk and `inflated` bytes once inflated."""
    pdf = pikepdf.new()
    pdf.add_blank_page(page_size=(612, 792))
    stream = pikepdf.Stream(pdf, deflate_zeros(inflated))
    stream.Filter = pikepdf.Name.FlateDecode
    pdf.pages[0].obj.Contents = stream
    pdf.save(path, compress_streams=False, stream_decode_level=pikepdf.StreamDecodeLevel.none)
    return path


def lzw_zeros(blocks: int) -> bytes:
    """An LZW stream (PDF flavour: MSB first, early change) of `blocks` table fills of zeros;
    each fill is ~5.5 KB that decodes to ~7.4 MB."""
    bits, nbits, out = 0, 0, bytearray()

    def emit(code: int, width: int) -> None:
        nonlocal bits, nbits
        bits, nbits = (bits << width) | code, nbits + width
        while nbits >= 8:
            nbits -= 8
            out.append((bits >> nbits) & 0xFF)
        bits &= (1 << nbits) - 1

    for _ in range(blocks):
        emit(256, 9 if not out else 12)  # clear (the width the decoder is at)
        table, width = 258, 9
        emit(0, width)
        while table < 4095:
            emit(table, width)  # the string just made, one zero longer each time
            table += 1
            if table + 1 >= (1 << width) and width < 12:
                width += 1
    emit(257, 12)
    if nbits:
        out.append((bits << (8 - nbits)) & 0xFF)
    return bytes(out)


def _content_pdf(path: Path, data: bytes, filters: list[str], parms=None) -> Path:
    """A letter page whose content stream is `data` under the filter chain `filters`."""
    pdf = pikepdf.new()
    pdf.add_blank_page(page_size=(612, 792))
    stream = pikepdf.Stream(pdf, data)
    stream.Filter = pikepdf.Array([pikepdf.Name(f) for f in filters])
    if parms is not None:
        stream.DecodeParms = parms
    pdf.pages[0].obj.Contents = stream
    pdf.save(path, compress_streams=False, stream_decode_level=pikepdf.StreamDecodeLevel.none)
    return path


def lzw_bomb_pdf(path: Path) -> Path:
    """A content stream of ~250 KB in LZW that decodes to ~330 MB."""
    return _content_pdf(path, lzw_zeros(45), ["/LZWDecode"])


def runlength_bomb_pdf(path: Path) -> Path:
    """[/FlateDecode /RunLengthDecode]: a few KB inflating to 6 MB of run-length pairs, each
    pair 128 bytes: 384 MB in the end."""
    pairs = b"\x81\x00" * (3 * MB)
    return _content_pdf(path, zlib.compress(pairs, 9), ["/FlateDecode", "/RunLengthDecode"])


def ascii_chain_bomb_pdf(path: Path, *, hex_first: bool = True) -> Path:
    """[/ASCIIHexDecode or /ASCII85Decode, /FlateDecode]: a text-encoded deflate bomb."""
    import base64

    bomb = deflate_zeros(512 * MB)
    if hex_first:
        return _content_pdf(path, bomb.hex().encode() + b">", ["/ASCIIHexDecode", "/FlateDecode"])
    return _content_pdf(path, base64.a85encode(bomb) + b"~>", ["/ASCII85Decode", "/FlateDecode"])


def _image_pdf(path: Path, data: bytes, filters: list[str], *, width=100, height=100, bpc=8,
               space="/DeviceGray", parms=None) -> Path:
    """A letter page drawing one image XObject of `data` under `filters`, declared small."""
    pdf = pikepdf.new()
    pdf.add_blank_page(page_size=(612, 792))
    image = pikepdf.Stream(pdf, data)
    image.Type, image.Subtype = pikepdf.Name.XObject, pikepdf.Name.Image
    image.Width, image.Height, image.BitsPerComponent = width, height, bpc
    image.ColorSpace = pikepdf.Name(space)
    image.Filter = pikepdf.Array([pikepdf.Name(f) for f in filters])
    if parms is not None:
        image.DecodeParms = parms
    page = pdf.pages[0]
    page.obj.Resources = pikepdf.Dictionary(XObject=pikepdf.Dictionary(Im0=image))
    page.obj.Contents = pdf.make_stream(b"q 612 0 0 792 0 0 cm /Im0 Do Q")
    pdf.save(path, compress_streams=False, stream_decode_level=pikepdf.StreamDecodeLevel.none)
    return path


def dct_header_bomb_pdf(path: Path, side: int = 60_000) -> Path:
    """A JPEG image declared 100x100 in the PDF whose frame header (SOF) says side x side."""
    out = io.BytesIO()
    Image.new("RGB", (100, 100), "white").save(out, "JPEG")
    data = out.getvalue()
    sof = data.index(b"\xff\xc0")
    data = data[:sof + 5] + struct.pack(">HH", side, side) + data[sof + 9:]
    return _image_pdf(path, data, ["/DCTDecode"], space="/DeviceRGB")


def _jpx_codestream(width: int, height: int, tile: int) -> bytes:
    siz = struct.pack(">HHIIIIIIIIH", 41 + 3 * 3 - 3, 0, width, height, 0, 0, tile, tile, 0, 0, 3)
    siz += b"\x07\x01\x01" * 3
    return b"\xff\x4f\xff\x51" + siz + b"\xff\xd9"


def jpx_header_bomb_pdf(path: Path, side: int = 100_000) -> Path:
    """A JPEG 2000 image declared 100x100 whose SIZ marker says side x side."""
    return _image_pdf(path, _jpx_codestream(side, side, side), ["/JPXDecode"],
                      space="/DeviceRGB")


def jpx_tiles_pdf(path: Path) -> Path:
    """A 4000x4000 JPEG 2000 image cut into one-pixel tiles (16 million tile structures)."""
    return _image_pdf(path, _jpx_codestream(4000, 4000, 1), ["/JPXDecode"],
                      space="/DeviceRGB", width=4000, height=4000)


def jbig2_header_bomb_pdf(path: Path, side: int = 1_000_000) -> Path:
    """A JBIG2 image declared 100x100 whose page information segment says side x side."""
    info = struct.pack(">IIIIBH", side, side, 0, 0, 0, 0)
    segment = struct.pack(">IBBBI", 0, 48, 0, 1, len(info)) + info
    return _image_pdf(path, segment, ["/JBIG2Decode"], bpc=1)


def ccitt_header_bomb_pdf(path: Path) -> Path:
    """A CCITT G4 image declared 100x100 whose /DecodeParms say a million columns and rows."""
    parms = pikepdf.Dictionary(K=-1, Columns=1_000_000, Rows=1_000_000)
    return _image_pdf(path, b"\x00" * 64, ["/CCITTFaxDecode"], bpc=1, parms=parms)


def font_bomb_pdf(path: Path) -> Path:
    """A page whose (embedded) font program is a deflate bomb: no page content is large."""
    pdf = pikepdf.Pdf.open(io.BytesIO(actions_pdf_bytes()))
    program = pikepdf.Stream(pdf, deflate_zeros(512 * MB))
    program.Filter = pikepdf.Name.FlateDecode
    font = pdf.pages[0].obj.Resources.Font.F1
    font.FontDescriptor = pdf.make_indirect(pikepdf.Dictionary(
        Type=pikepdf.Name.FontDescriptor, FontName=pikepdf.Name.Helvetica,
        FontFile2=pdf.make_indirect(program)))
    pdf.save(path, compress_streams=False, stream_decode_level=pikepdf.StreamDecodeLevel.none)
    return path


def codec_content_pdf(path: Path) -> Path:
    """A page content stream encoded with an image codec (DCTDecode)."""
    return _content_pdf(path, b"\xff\xd8\xff\xd9", ["/DCTDecode"])


def many_pages_pdf(path: Path, pages: int = 20_000) -> Path:
    """`pages` pages in one flat page tree: a small file with a huge page count."""
    page = b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] >>"
    kids = b" ".join(b"%d 0 R" % (3 + i) for i in range(pages))
    path.write_bytes(_raw_pdf([
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [%s] /Count %d >>" % (kids, pages),
        *([page] * pages),
    ]))
    return path


def _raw_pdf(objects: list[bytes], *, root: int = 1, xref: bool = True, tail: bytes = b"") -> bytes:
    out = io.BytesIO()
    out.write(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(out.tell())
        out.write(b"%d 0 obj\n%s\nendobj\n" % (number, body))
    start = out.tell()
    if xref:
        out.write(b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1))
        for offset in offsets:
            out.write(b"%010d 00000 n \n" % offset)
    out.write(b"trailer\n<< /Size %d /Root %d 0 R >>\nstartxref\n%d\n%%%%EOF\n"
              % (len(objects) + 1, root, start))
    return out.getvalue() + tail


def page_tree_loop_pdf(path: Path) -> Path:
    """/Pages whose Kids contain the /Pages node itself (and a second node pointing back)."""
    path.write_bytes(_raw_pdf([
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [2 0 R 3 0 R] /Count 2 >>",
        b"<< /Type /Pages /Parent 2 0 R /Kids [2 0 R] /Count 1 >>",
    ]))
    return path


def broken_xref_pdf(path: Path) -> Path:
    """A one-page PDF whose xref offsets and startxref are garbage."""
    data = _raw_pdf([
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] >>",
    ])
    data = data.replace(b"00000 n", b"99999 n").replace(b"startxref\n", b"startxref\n9")
    path.write_bytes(data)
    return path


def no_xref_garbage_pdf(path: Path) -> Path:
    """A PDF header followed by garbage: nothing a reader can reconstruct."""
    path.write_bytes(b"%PDF-1.7\n" + bytes(range(256)) * 40)
    return path


def encrypted_pdf(path: Path, *, user: str = "secret", owner: str = "owner",
                  r: int = 6) -> Path:
    pdf = pikepdf.new()
    pdf.add_blank_page(page_size=(612, 792))
    pdf.save(path, encryption=pikepdf.Encryption(user=user, owner=owner, R=r,
                                                 metadata=r >= 4, aes=r >= 4))
    return path


def unknown_security_handler_pdf(path: Path) -> Path:
    """Encrypted with a security handler no reader has (/Filter /Nonexistent)."""
    path.write_bytes(_raw_pdf([
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] >>",
        b"<< /Filter /Nonexistent /V 9 /R 9 /Length 128 >>",
    ]).replace(b"/Root 1 0 R", b"/Root 1 0 R /Encrypt 4 0 R /ID [<00> <00>]"))
    return path


def actions_pdf(path: Path) -> Path:
    """A readable page with an /OpenAction JavaScript and a Launch action on page open."""
    path.write_bytes(actions_pdf_bytes())
    return path


def actions_pdf_bytes() -> bytes:
    pdf = pikepdf.new()
    pdf.add_blank_page(page_size=(612, 792))
    pdf.pages[0].obj.Contents = pdf.make_stream(
        b"BT /F1 24 Tf 72 700 Td (Hello) Tj ET")
    pdf.pages[0].obj.Resources = pikepdf.Dictionary(Font=pikepdf.Dictionary(
        F1=pikepdf.Dictionary(Type=pikepdf.Name.Font, Subtype=pikepdf.Name.Type1,
                              BaseFont=pikepdf.Name.Helvetica)))
    pdf.Root.OpenAction = pikepdf.Dictionary(S=pikepdf.Name.JavaScript,
                                             JS=pikepdf.String("app.alert('x')"))
    pdf.pages[0].obj.AA = pikepdf.Dictionary(O=pikepdf.Dictionary(
        S=pikepdf.Name.Launch, F=pikepdf.String("/bin/sh")))
    out = io.BytesIO()
    pdf.save(out)
    return out.getvalue()


def png_bytes(size=(300, 200)) -> bytes:
    img = Image.new("L", size, 255)
    ImageDraw.Draw(img).rectangle((20, 20, size[0] - 20, size[1] - 20), outline=0)
    out = io.BytesIO()
    img.save(out, "PNG", dpi=(300, 300))
    return out.getvalue()


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return (struct.pack(">I", len(data)) + kind + data
            + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))


def png_bomb(path: Path, side: int = 100_000) -> Path:
    """A gray PNG claiming `side` x `side` whose IDAT inflates to gigabytes."""
    raw = side * (side + 1)
    idat = deflate_zeros(min(-(-raw // MB), 64) * MB)  # the header alone must stop it
    path.write_bytes(b"\x89PNG\r\n\x1a\n"
                     + _png_chunk(b"IHDR", struct.pack(">IIBBBBB", side, side, 8, 0, 0, 0, 0))
                     + _png_chunk(b"IDAT", idat) + _png_chunk(b"IEND", b""))
    return path


def png_text_bomb(path: Path) -> Path:
    """A small valid PNG with a zTXt chunk inflating to 256 MB."""
    data = png_bytes()
    ztxt = _png_chunk(b"zTXt", b"Comment\0\0" + deflate_zeros(256 * MB))
    path.write_bytes(data[:-12] + ztxt + data[-12:])
    return path


def _tiff(entries: list[tuple[int, int, int, int]], next_ifd: int = 0,
          body: bytes = b"") -> bytes:
    """A little-endian TIFF with one IFD at offset 8 (+ `body` after it)."""
    ifd = struct.pack("<H", len(entries))
    for tag, typ, count, value in sorted(entries):
        ifd += struct.pack("<HHII", tag, typ, count, value)
    ifd += struct.pack("<I", next_ifd)
    return b"II*\x00" + struct.pack("<I", 8) + ifd + body


def tiff_bomb(path: Path, side: int = 200_000) -> Path:
    """A deflate TIFF claiming `side` x `side` pixels with one strip of a few KB."""
    strip = deflate_zeros(4 * MB)
    n_entries = 9
    data_at = 8 + 2 + 12 * n_entries + 4
    path.write_bytes(_tiff([
        (256, 4, 1, side), (257, 4, 1, side), (258, 3, 1, 8), (259, 3, 1, 8),
        (262, 3, 1, 1), (273, 4, 1, data_at), (277, 3, 1, 1), (278, 4, 1, side),
        (279, 4, 1, len(strip)),
    ], body=strip))
    return path


def tiff_ifd_loop(path: Path) -> Path:
    """A 64x64 TIFF whose first IFD names itself as the next one (an endless page list)."""
    n_entries = 9
    data_at = 8 + 2 + 12 * n_entries + 4
    path.write_bytes(_tiff([
        (256, 4, 1, 64), (257, 4, 1, 64), (258, 3, 1, 8), (259, 3, 1, 1),
        (262, 3, 1, 1), (273, 4, 1, data_at), (277, 3, 1, 1), (278, 4, 1, 64),
        (279, 4, 1, 64 * 64),
    ], next_ifd=8, body=b"\xff" * 64 * 64))
    return path


def truncated(path: Path, source: bytes, keep: float = 0.5) -> Path:
    path.write_bytes(source[: max(1, int(len(source) * keep))])
    return path


def jpeg_bytes(size=(300, 200)) -> bytes:
    out = io.BytesIO()
    Image.open(io.BytesIO(png_bytes(size))).convert("RGB").save(out, "JPEG", dpi=(300, 300))
    return out.getvalue()


def tiff_bytes(size=(300, 200)) -> bytes:
    out = io.BytesIO()
    Image.open(io.BytesIO(png_bytes(size))).save(out, "TIFF", compression="tiff_deflate",
                                                 dpi=(300, 300))
    return out.getvalue()


def corpus(folder: Path) -> dict[str, Path]:
    """Every hostile class, one file each, keyed by class name (about 20 MB, under a second)."""
    files = {
        "zero-byte": folder / "empty.pdf",
        "giant-page": giant_page_pdf(folder / "giant.pdf", inches=200),
        "giant-page-userunit": giant_page_pdf(folder / "giant-uu.pdf", inches=100, user_unit=50),
        "large-page-116in": giant_page_pdf(folder / "large.pdf", inches=116),
        "pdf-image-bomb": image_bomb_pdf(folder / "imgbomb.pdf"),
        "pdf-content-bomb": content_bomb_pdf(folder / "contentbomb.pdf"),
        "pdf-lzw-bomb": lzw_bomb_pdf(folder / "lzw.pdf"),
        "pdf-runlength-chain-bomb": runlength_bomb_pdf(folder / "rl.pdf"),
        "pdf-asciihex-chain-bomb": ascii_chain_bomb_pdf(folder / "ahx.pdf"),
        "pdf-ascii85-chain-bomb": ascii_chain_bomb_pdf(folder / "a85.pdf", hex_first=False),
        "pdf-dct-header-bomb": dct_header_bomb_pdf(folder / "dct.pdf"),
        "pdf-jpx-header-bomb": jpx_header_bomb_pdf(folder / "jpx.pdf"),
        "pdf-jpx-tiles": jpx_tiles_pdf(folder / "jpxtiles.pdf"),
        "pdf-jbig2-header-bomb": jbig2_header_bomb_pdf(folder / "jbig2.pdf"),
        "pdf-ccitt-header-bomb": ccitt_header_bomb_pdf(folder / "ccitt.pdf"),
        "pdf-font-bomb": font_bomb_pdf(folder / "font.pdf"),
        "pdf-codec-on-content": codec_content_pdf(folder / "codec.pdf"),
        "many-pages": many_pages_pdf(folder / "many.pdf"),
        "page-tree-loop": page_tree_loop_pdf(folder / "loop.pdf"),
        "broken-xref": broken_xref_pdf(folder / "xref.pdf"),
        "garbage-pdf": no_xref_garbage_pdf(folder / "garbage.pdf"),
        "encrypted-user-password": encrypted_pdf(folder / "enc.pdf"),
        "encrypted-owner-only": encrypted_pdf(folder / "owner.pdf", user=""),
        "encrypted-rc4-owner-only": encrypted_pdf(folder / "rc4.pdf", user="", r=3),
        "encrypted-unknown-handler": unknown_security_handler_pdf(folder / "handler.pdf"),
        "actions-js-launch": actions_pdf(folder / "actions.pdf"),
        "png-bomb": png_bomb(folder / "bomb.png"),
        "png-text-bomb": png_text_bomb(folder / "text.png"),
        "tiff-bomb": tiff_bomb(folder / "bomb.tif"),
        "tiff-ifd-loop": tiff_ifd_loop(folder / "loop.tif"),
        "truncated-pdf": truncated(folder / "trunc.pdf",
                                   small_pdf(folder / "whole.pdf").read_bytes()),
        "truncated-png": truncated(folder / "trunc.png", png_bytes()),
        "truncated-jpeg": truncated(folder / "trunc.jpg", jpeg_bytes(), keep=0.3),
        "truncated-tiff": truncated(folder / "trunc.tif", tiff_bytes(), keep=0.6),
        "tiny-image": folder / "tiny.png",
    }
    files["zero-byte"].write_bytes(b"")
    Image.new("L", (1, 4000), 255).save(files["tiny-image"])
    return files
