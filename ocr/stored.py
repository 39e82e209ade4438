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

_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_PNG_CHANNELS = {0: 1, 2: 3}  # colour types img2pdf copies as is: gray, RGB
_SPACE_CHANNELS = {"/DeviceGray": 1, "/DeviceRGB": 3}


def image_id(filter_name: str, params: dict[str, int], width: int, height: int, channels: int,
             bits: int, data: bytes) -> str:
    """The id of an image stored as `data` compressed with `filter_name` (and its decode
    `params`), `width` × `height` pixels of `channels` channels of `bits` bits."""
    digest = hashlib.blake2b(digest_size=20)
    digest.update(json.dumps([filter_name, sorted(params.items()), width, height, channels,
                              bits]).encode())
    digest.update(data)
    return digest.hexdigest()


def png_id(data: bytes) -> str | None:
    """The id of a PNG file's image as img2pdf stores it in a PDF (8-bit gray or RGB, not
    interlaced); None for any other PNG."""
    if not data.startswith(_PNG_SIGNATURE):
        return None
    pos, header, idat = len(_PNG_SIGNATURE), None, []
    while pos + 8 <= len(data):
        (length,), kind = struct.unpack(">I", data[pos:pos + 4]), data[pos + 4:pos + 8]
        body = data[pos + 8:pos + 8 + length]
        if len(body) != length:
            return None  # cut short
        if kind == b"IHDR":
            header = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            idat.append(body)
        elif kind == b"IEND":
            break
        pos += 12 + length
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
