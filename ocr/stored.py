"""The identity of a page image by its stored (compressed) bytes, without decoding it.

Batch capture spools each scanned page as a PNG and later wraps the pages of a document in a
PDF with img2pdf, which copies a PNG's compressed data (its IDAT chunks) into the PDF as is:
a Flate stream with PNG predictors. So the id of the spooled PNG and the id of the image in
the capture PDF are the same, and the OCR stage can find a page's reading (`ocr.cache`) before
decoding it — the decode costs about as long as everything else the commit does for a page.

An id covers the compressed bytes and everything that says how they decode (filter, predictor
parameters, size, channels, bits), so equal ids mean equal pixels. Anything this module does
not recognize has no id (None): the page is then decoded and keyed by its pixels.
"""

from __future__ import annotations

import hashlib
import json
import struct
import zlib

_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_PNG_CHANNELS = {0: 1, 2: 3}  # colour types img2pdf copies as is: gray, RGB
_SPACE_CHANNELS = {"/DeviceGray": 1, "/DeviceRGB": 3}


def image_id(filter_name: str, params: dict[str, int], width: int, height: int, channels: int,
             bits: int, data: bytes) -> str:
    """The id of an image stored as `data` compressed with `filter_name` (and its decode
    `params`), `width` × `height` pixels of `channels` channels of `bits` bits."""
    digest = hashlib.sha256()  # hardware SHA (x86 SHA-NI, ARMv8): ~3x blake2b
    digest.update(json.dumps([filter_name, sorted(params.items()), width, height, channels,
                              bits]).encode())
    digest.update(data)
    return digest.hexdigest()


def png_chunks(data: bytes):
    """(type, body, whole chunk) of each chunk of a PNG file up to IEND, as views of `data`
    (nothing copied); ValueError if it is not a PNG or is cut short."""
    if not data.startswith(_PNG_SIGNATURE):
        raise ValueError("not a PNG file")
    view, pos = memoryview(data), len(_PNG_SIGNATURE)
    while pos + 8 <= len(data):
        (length,), kind = struct.unpack(">I", view[pos:pos + 4]), bytes(view[pos + 4:pos + 8])
        if pos + 12 + length > len(data):
            raise ValueError("PNG file cut short")
        yield kind, view[pos + 8:pos + 8 + length], view[pos:pos + 12 + length]
        if kind == b"IEND":
            return
        pos += 12 + length


def one_idat(data: bytes) -> bytes:
    """The same PNG file with its image data in one IDAT chunk: the same pixels and id.
    Encoders write a PNG's data in 64 KB chunks, and img2pdf joins them one at a time, copying
    what it has joined each time (a 300-dpi colour page's hundred chunks cost it 0.04 s);
    given one chunk it copies it once. ValueError if `data` is not a whole PNG file."""
    out, bodies, crc = [_PNG_SIGNATURE], [], zlib.crc32(b"IDAT")
    for kind, body, chunk in png_chunks(data):
        if kind != b"IDAT":
            out.append(chunk)
            continue
        if not bodies:
            out.append(None)  # the merged chunk goes where the first one was
        bodies.append(body)
        crc = zlib.crc32(body, crc)
    if not bodies:
        return data
    at = out.index(None)
    out[at:at + 1] = [struct.pack(">I", sum(len(b) for b in bodies)), b"IDAT", *bodies,
                      struct.pack(">I", crc & 0xFFFFFFFF)]
    return b"".join(out)


def png_id(data: bytes) -> str | None:
    """The id of a PNG file's image as img2pdf stores it in a PDF (8-bit gray or RGB, not
    interlaced); None for any other PNG."""
    if not data.startswith(_PNG_SIGNATURE):
        return None
    header, idat = None, []
    try:
        for kind, body, _ in png_chunks(data):
            if kind == b"IHDR":
                header = struct.unpack(">IIBBBBB", body)
            elif kind == b"IDAT":
                idat.append(body)
    except ValueError:
        return None
    if header is None or not idat:
        return None
    width, height, bits, colour, _, _, interlace = header
    channels = _PNG_CHANNELS.get(colour)
    if channels is None or bits != 8 or interlace:
        return None
    params = {"/BitsPerComponent": 8, "/Colors": channels, "/Columns": width, "/Predictor": 15}
    return image_id("/FlateDecode", params, width, height, channels, 8, b"".join(idat))


def xobject_id(xobj) -> str | None:
    """The id of a PDF image XObject (pikepdf) stored with one Flate filter, 8-bit gray or RGB,
    with or without predictors; None for anything else."""
    try:
        if str(xobj.get("/Filter")) != "/FlateDecode":
            return None
        channels = _SPACE_CHANNELS.get(str(xobj.get("/ColorSpace")))
        bits = int(xobj.get("/BitsPerComponent", 0))
        if channels is None or bits != 8:
            return None
        parms = xobj.get("/DecodeParms")
        params = {str(k): int(v) for k, v in parms.items()} if parms is not None else {}
        return image_id("/FlateDecode", params, int(xobj.Width), int(xobj.Height), channels,
                        bits, xobj.read_raw_bytes())
    except Exception:  # noqa: BLE001 - an odd dictionary: no id, the page is decoded
        return None
