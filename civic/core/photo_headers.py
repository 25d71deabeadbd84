"""A photo's real format and pixel size, read from its first bytes before anything is decoded
(:mod:`civic.core.photos` refuses an unsupported format or too many pixels on these, cheaply).

JPEG (SOF markers; whether it is sequential), PNG (IHDR), WebP (VP8, VP8L, VP8X), HEIF/HEIC (the
``ftyp`` brands, then ``ispe`` in ``meta/iprp/ipco``).  Each size reader raises :class:`BadHeader`
(or ``struct.error``/``IndexError`` on truncated data) for a header it cannot read.
"""

from __future__ import annotations

import struct

__all__ = ["BadHeader", "heif_size", "jpeg_size", "png_size", "sniff_format", "webp_size"]


_HEIF_BRANDS = {b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx", b"hevm", b"hevs"}
_HEIF_GENERIC_BRANDS = {b"mif1", b"msf1"}
# AVIF uses the same container (and often lists mif1); it is not a format we promise to read.
_AVIF_BRANDS = {b"avif", b"avis"}


def sniff_format(data: bytes) -> str | None:
    """The image format the bytes really are: ``"JPEG"``, ``"PNG"``, ``"WEBP"``, ``"HEIF"``, or ``None``
    for anything else (GIF, SVG, text, empty...).  Only the first bytes are looked at; the file name is
    never consulted.  The returned names are Pillow's format names."""
    head = bytes(data[:64])
    if head.startswith(b"\xff\xd8\xff"):
        return "JPEG"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "PNG"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "WEBP"
    if head[4:8] == b"ftyp":
        (box_size,) = struct.unpack(">I", head[:4])
        if box_size < 16 or box_size > len(data):
            return None
        ftyp = bytes(data[8:box_size])
        major = ftyp[:4]
        brands = {major} | {ftyp[i : i + 4] for i in range(8, len(ftyp) - 3, 4)}
        if major in _AVIF_BRANDS:
            return None
        if brands & _HEIF_BRANDS or (major in _HEIF_GENERIC_BRANDS and not brands & _AVIF_BRANDS):
            return "HEIF"
    return None


# ------------------------------------------------------------------------------ header size (no decode)


class BadHeader(Exception):
    pass


def jpeg_size(data: bytes) -> tuple[int, int, bool]:
    """(width, height, sequential) from the first SOF marker.  ``sequential`` is False for progressive,
    lossless or arithmetic-coded frames, which libjpeg cannot decode in bounded memory."""
    pos, n = 2, len(data)
    while pos + 4 <= n:
        if data[pos] != 0xFF:
            raise BadHeader("no marker")
        marker = data[pos + 1]
        if marker == 0xFF:  # fill byte
            pos += 1
            continue
        if marker == 0x01 or 0xD0 <= marker <= 0xD7:  # standalone markers carry no length
            pos += 2
            continue
        if marker in (0xD9, 0xDA):  # end of image / start of scan before any frame header
            raise BadHeader("no SOF")
        (length,) = struct.unpack(">H", data[pos + 2 : pos + 4])
        if length < 2:
            raise BadHeader("bad segment length")
        if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
            if pos + 9 > n:
                raise BadHeader("short SOF")
            height, width = struct.unpack(">HH", data[pos + 5 : pos + 9])
            return width, height, marker in (0xC0, 0xC1)
        pos += 2 + length
    raise BadHeader("no SOF")


def png_size(data: bytes) -> tuple[int, int]:
    if len(data) < 24 or data[12:16] != b"IHDR":
        raise BadHeader("no IHDR")
    return struct.unpack(">II", data[16:24])


def webp_size(data: bytes) -> tuple[int, int]:
    if len(data) < 30:
        raise BadHeader("short")
    chunk = data[12:16]
    if chunk == b"VP8X":
        w = int.from_bytes(data[24:27], "little") + 1
        h = int.from_bytes(data[27:30], "little") + 1
        return w, h
    if chunk == b"VP8 ":
        if data[23:26] != b"\x9d\x01\x2a":
            raise BadHeader("no VP8 start code")
        w, h = struct.unpack("<HH", data[26:30])
        return w & 0x3FFF, h & 0x3FFF
    if chunk == b"VP8L":
        if data[20] != 0x2F:
            raise BadHeader("no VP8L signature")
        bits = int.from_bytes(data[21:25], "little")
        return (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1
    raise BadHeader("unknown WebP chunk")


def heif_boxes(data: bytes, start: int, end: int):
    pos = start
    while pos + 8 <= end:
        size, kind = struct.unpack(">I4s", data[pos : pos + 8])
        header = 8
        if size == 1:
            if pos + 16 > end:
                raise BadHeader("short largesize")
            (size,) = struct.unpack(">Q", data[pos + 8 : pos + 16])
            header = 16
        elif size == 0:
            size = end - pos
        if size < header or pos + size > end:
            raise BadHeader("box overruns")
        yield kind, pos + header, pos + size
        pos += size


def heif_size(data: bytes) -> tuple[int, int]:
    """The largest image spatial extent (``ispe``) declared in meta/iprp/ipco.  The primary image (or the
    grid it is tiled into) is the largest item, so capping the largest caps what libheif will decode."""
    best: tuple[int, int] | None = None
    for kind, s, e in heif_boxes(data, 0, len(data)):
        if kind != b"meta":
            continue
        for kind2, s2, e2 in heif_boxes(data, s + 4, e):  # meta is a full box: skip version/flags
            if kind2 != b"iprp":
                continue
            for kind3, s3, e3 in heif_boxes(data, s2, e2):
                if kind3 != b"ipco":
                    continue
                for kind4, s4, e4 in heif_boxes(data, s3, e3):
                    if kind4 == b"ispe" and e4 - s4 >= 12:
                        w, h = struct.unpack(">II", data[s4 + 4 : s4 + 12])
                        if best is None or w * h > best[0] * best[1]:
                            best = (w, h)
    if best is None:
        raise BadHeader("no ispe")
    return best
