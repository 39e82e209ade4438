"""Bounded decoding of PDF stream filters, and the real size behind an image codec's header.

`ocr.limits` uses this to refuse decompression bombs before the renderer meets them, whatever
the filter chain. Nothing here calls a C decoder on hostile bytes except zlib (incremental, with
an output bound): the general filters are decoded by small pure-Python loops that stop as soon
as their output passes the cap, and the image codecs are not decoded at all; their headers
are read for the size the decoder would allocate.

- general filters (decoded, bounded): FlateDecode (nested layers too), LZWDecode (with
  /EarlyChange), RunLengthDecode, ASCIIHexDecode, ASCII85Decode, and chains of them;
- image codecs (header only): DCTDecode (SOF marker: width, height, components), JPXDecode
  (SIZ marker: image and tile sizes, components), JBIG2Decode (page information and region
  segments, in the stream and in its /JBIG2Globals), CCITTFaxDecode (/Columns x /Rows).

A filter we do not know is left to the renderer (which runs under a memory and time limit).
"""

from __future__ import annotations

import base64
import binascii
import re
import struct
import zlib
from dataclasses import dataclass

MB = 1024 * 1024

FLATE = {"/FlateDecode", "/Fl"}
LZW = {"/LZWDecode", "/LZW"}
RUNLENGTH = {"/RunLengthDecode", "/RL"}
ASCIIHEX = {"/ASCIIHexDecode", "/AHx"}
ASCII85 = {"/ASCII85Decode", "/A85"}
GENERAL = FLATE | LZW | RUNLENGTH | ASCIIHEX | ASCII85
DCT = {"/DCTDecode", "/DCT"}
JPX = {"/JPXDecode"}
JBIG2 = {"/JBIG2Decode"}
CCITT = {"/CCITTFaxDecode", "/CCF"}
CODECS = DCT | JPX | JBIG2 | CCITT


class TooLarge(Exception):
    """A filter's output passed the cap: `filter` names it."""

    def __init__(self, filter_name: str, cap: int):
        super().__init__(f"{filter_name} output passes {cap:,} bytes")
        self.filter = filter_name


@dataclass
class Decoded:
    """What the general filters of a chain produced. `data` is None when the chain held only
    general filters (their output was counted, not kept); `codec` names the image codec that
    follows them (its input is `data`), `unknown` a filter we could not follow."""

    data: bytes | None
    size: int
    codec: str | None = None
    unknown: str | None = None


def _inflate(data: bytes, cap: int, keep: bool) -> tuple[bytes | None, int]:
    inflater, out, total, chunk = zlib.decompressobj(), bytearray(), 0, data
    while chunk:
        try:
            piece = inflater.decompress(chunk, MB)
        except zlib.error:
            break  # corrupt: what inflated so far counts (the renderer meets the rest)
        total += len(piece)
        if total > cap:
            raise TooLarge("/FlateDecode", cap)
        if keep:
            out += piece
        chunk = inflater.unconsumed_tail
        if inflater.eof:
            break
    return (bytes(out) if keep else None), total


def _lzw(data: bytes, cap: int, keep: bool, early: int) -> tuple[bytes | None, int]:
    """LZW as PDF uses it (MSB first, 9..12-bit codes, 256 clear, 257 end)."""
    out, total = bytearray(), 0
    table: list[bytes] = [bytes([i]) for i in range(256)] + [b"", b""]
    width, bits, nbits, prev = 9, 0, 0, None
    for byte in data:
        bits, nbits = (bits << 8) | byte, nbits + 8
        while nbits >= width:
            nbits -= width
            code = (bits >> nbits) & ((1 << width) - 1)
            bits &= (1 << nbits) - 1
            if code == 256:
                table, width, prev = table[:258], 9, None
                continue
            if code == 257:
                return (bytes(out) if keep else None), total
            if code < len(table):
                entry = table[code]
                if prev is not None and len(table) < 4096:
                    table.append(prev + entry[:1])
            elif code == len(table) and prev is not None:
                entry = prev + prev[:1]
                if len(table) < 4096:
                    table.append(entry)
            else:
                return (bytes(out) if keep else None), total  # corrupt
            total += len(entry)
            if total > cap:
                raise TooLarge("/LZWDecode", cap)
            if keep:
                out += entry
            prev = entry
            if len(table) + early >= (1 << width) and width < 12:
                width += 1
    return (bytes(out) if keep else None), total


def _runlength(data: bytes, cap: int, keep: bool) -> tuple[bytes | None, int]:
    out, total, i = bytearray(), 0, 0
    while i < len(data):
        length = data[i]
        if length == 128:
            break
        if length < 128:
            piece = data[i + 1:i + 2 + length]
            i += 2 + length
        else:
            piece = data[i + 1:i + 2] * (257 - length)
            i += 2
        total += len(piece)
        if total > cap:
            raise TooLarge("/RunLengthDecode", cap)
        if keep:
            out += piece
    return (bytes(out) if keep else None), total


def _asciihex(data: bytes) -> bytes:
    digits = re.sub(rb"[^0-9A-Fa-f]", b"", data.split(b">", 1)[0])
    if len(digits) % 2:
        digits += b"0"
    return binascii.unhexlify(digits)


def _ascii85(data: bytes) -> bytes:
    body = re.sub(rb"\s", b"", data)
    if body.startswith(b"<~"):
        body = body[2:]
    body = body.split(b"~>", 1)[0]
    try:
        return base64.a85decode(body)
    except ValueError:
        return b""


def _names(value) -> list[str]:
    if value is None:
        return []
    if isinstance(value, list | tuple) or value.__class__.__name__ == "Array":
        return [str(v) for v in value]
    return [str(value)]


def _parms(value, count: int) -> list:
    if value is None:
        return [None] * count
    if isinstance(value, list | tuple) or value.__class__.__name__ == "Array":
        items = list(value)
        return (items + [None] * count)[:count]
    return [value] + [None] * (count - 1)


def _get(parms, key: str, default: int) -> int:
    try:
        value = parms.get(key) if parms is not None and hasattr(parms, "get") else None
        return default if value is None else int(value)
    except (TypeError, ValueError):
        return default


def decode_general(raw: bytes, filters, parms, cap: int) -> Decoded:
    """Apply the chain's leading general filters to `raw` with every output bounded by `cap`
    (raises TooLarge). Stops before an image codec or a filter we do not know."""
    names = _names(filters)
    all_parms = _parms(parms, len(names))
    data, size = raw, len(raw)
    for index, name in enumerate(names):
        if name not in GENERAL:
            return Decoded(data, size, codec=name if name in CODECS else None,
                           unknown=None if name in CODECS else name)
        keep = index + 1 < len(names)  # the last general layer's output is only counted
        if name in FLATE:
            out, size = _inflate(data, cap, keep)
        elif name in LZW:
            out, size = _lzw(data, cap, keep, _get(all_parms[index], "/EarlyChange", 1))
        elif name in RUNLENGTH:
            out, size = _runlength(data, cap, keep)
        else:  # the ASCII filters shrink or at most quadruple: decode, then count
            out = _asciihex(data) if name in ASCIIHEX else _ascii85(data)
            size = len(out)
            if size > cap:
                raise TooLarge(name, cap)
        data = out
    return Decoded(None, size)


# --- image codec headers ----------------------------------------------------------------------


@dataclass
class CodecSize:
    width: int
    height: int
    components: int = 1
    bits: int = 8
    tiles: int = 1


_SOF = {0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF}


def jpeg_size(data: bytes) -> CodecSize | None:
    """The frame size in a JPEG's SOF marker (what libjpeg allocates for)."""
    i = 2 if data[:2] == b"\xff\xd8" else -1
    if i < 0:
        return None
    while i + 4 <= len(data):
        if data[i] != 0xFF:
            i += 1
            continue
        marker = data[i + 1]
        if marker == 0xFF or 0xD0 <= marker <= 0xD8 or marker == 0x01:
            i += 1 if marker == 0xFF else 2
            continue
        length = struct.unpack(">H", data[i + 2:i + 4])[0]
        if marker in _SOF and i + 10 <= len(data):
            bits, height, width, comps = struct.unpack(">BHHB", data[i + 4:i + 10])
            return CodecSize(width, height, comps, bits)
        if marker == 0xDA:  # start of scan before any frame header
            return None
        i += 2 + length
    return None


def jpx_size(data: bytes) -> CodecSize | None:
    """Image and tile sizes from a JPEG 2000 codestream's SIZ marker (JP2 boxes skipped)."""
    at = data.find(b"\xff\x4f\xff\x51")
    if at < 0 or at + 42 > len(data):
        return None
    (_lsiz, _rsiz, xsiz, ysiz, xo, yo, xt, yt, xto, yto,
     csiz) = struct.unpack(">HHIIIIIIIIH", data[at + 4:at + 42])
    width, height = max(0, xsiz - xo), max(0, ysiz - yo)
    tiles = 1
    if xt and yt:
        tiles = -(-max(0, xsiz - xto) // xt) * -(-max(0, ysiz - yto) // yt)
    return CodecSize(width, height, max(1, csiz), 8, tiles)


# page information (48) and the text, halftone, generic and refinement region segments
_JBIG2_SIZED = {48, 4, 6, 7, 20, 22, 23, 36, 38, 39, 40, 42, 43}


def jbig2_sizes(data: bytes) -> list[CodecSize]:
    """Page information (type 48) and region segments' sizes of an embedded JBIG2 stream
    (the PDF form: no file header)."""
    sizes, i = [], 0
    while i + 11 <= len(data):
        number = struct.unpack(">I", data[i:i + 4])[0]
        flags = data[i + 4]
        kind, long_page = flags & 0x3F, flags & 0x40
        i += 5
        count = data[i] >> 5
        if count == 7:
            if i + 4 > len(data):
                break
            count = struct.unpack(">I", data[i:i + 4])[0] & 0x1FFFFFFF
            i += 4 + (count + 8) // 8
        else:
            i += 1
        i += count * (1 if number <= 256 else 2 if number <= 65536 else 4)
        i += 4 if long_page else 1
        if i + 4 > len(data):
            break
        length = struct.unpack(">I", data[i:i + 4])[0]
        i += 4
        if kind in _JBIG2_SIZED and i + 8 <= len(data):  # page info, region info: w, h first
            width, height = struct.unpack(">II", data[i:i + 8])
            # a striped page may say "height unknown" (0xffffffff): its stripes say more
            sizes.append(CodecSize(width, 0 if height == 0xFFFFFFFF else height, 1, 1))
        if length == 0xFFFFFFFF:
            break  # an immediate generic region of unknown length ends what we can walk
        i += length
    return sizes


def ccitt_size(parms, height: int) -> CodecSize:
    return CodecSize(_get(parms, "/Columns", 1728), _get(parms, "/Rows", 0) or height, 1, 1)


def codec_sizes(codec: str, data: bytes, parms, declared_height: int,
                globals_data: bytes | None = None) -> list[CodecSize]:
    """What an image codec would allocate for, read from its header ([] when unreadable)."""
    try:
        return _codec_sizes(codec, data, parms, declared_height, globals_data)
    except (struct.error, IndexError, ValueError, TypeError, OverflowError):
        return []  # a header too broken to read: the renderer (under its limits) refuses it


def _codec_sizes(codec, data, parms, declared_height, globals_data) -> list[CodecSize]:
    if codec in DCT:
        found = jpeg_size(data)
        return [found] if found else []
    if codec in JPX:
        found = jpx_size(data)
        return [found] if found else []
    if codec in JBIG2:
        return jbig2_sizes(globals_data or b"") + jbig2_sizes(data)
    if codec in CCITT:
        return [ccitt_size(parms, declared_height)]
    return []


def codec_parms(parms, filters, codec: str):
    """The /DecodeParms entry that belongs to `codec` in the chain."""
    names = _names(filters)
    return _parms(parms, len(names))[names.index(codec)] if codec in names else None
