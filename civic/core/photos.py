"""The photo pipeline: what happens to a resident's photo between upload and storage.

For each photo, in this order (cheap refusals first, nothing stored until everything succeeded):

1. byte size (``PhotoLimits.max_bytes``);
2. the real format, from the bytes (:func:`sniff_format`): JPEG, PNG, WebP or HEIF/HEIC, whatever the
   file is called;
3. the pixel size, read from the format's own header by this module (not by Pillow) and checked against
   the cap for that format, so a decompression bomb is refused before any decoder runs;
4. one decode: JPEG through ``Image.draft`` at the smallest libjpeg scale (1/2, 1/4, 1/8) that still
   covers the display size, which is what keeps a 108-megapixel phone photo under 300 MB;
5. resize to the display size (long side ``display_long_side``), turn upright by EXIF orientation (after
   the resize, so the transpose touches few pixels), convert to RGB with alpha flattened onto white;
6. a thumbnail (long side ``thumb_long_side``) made from the display copy;
7. both encoded as fresh JPEGs from pixels only: no EXIF (so no GPS, make, model), XMP, IPTC/APP13, ICC
   profile or comment can survive, whatever the source carried;
8. only then both written to the store, each under the SHA-256 of its own bytes.

With the resident's consent (``read_gps=True``) the EXIF GPS position is read before the metadata is
dropped and returned as WGS-84 decimal degrees if it is a plausible fix; otherwise it is never read.

Fail closed: any failure raises a :class:`~civic.core.errors.CivicError` naming the photo, and no copy
(let alone one carrying metadata) is written.  FixMyStreet stores the original when processing fails;
civic never stores an original.
"""

from __future__ import annotations

import functools
import io
import math
import struct
import threading
import warnings
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from civic.core.errors import CivicError, PayloadTooLarge, UnsupportedMedia, ValidationFailed
from civic.core.photo_headers import BadHeader, heif_size, jpeg_size, png_size, sniff_format, webp_size
from civic.core.storage import MediaBackend, key_for

if TYPE_CHECKING:
    from PIL import Image

__all__ = [
    "PhotoLimits",
    "StoredPhoto",
    "check_photo",
    "process_photo",
    "process_photos",
    "sniff_format",
]

SUPPORTED_LABEL = "JPEG、PNG、WebP、HEIC"


@dataclass(frozen=True)
class PhotoLimits:
    """Limits and output sizes.  Bytes, pixels (width × height) and pixels of the long side.

    JPEG gets a higher pixel cap than the others because it is decoded at reduced scale (``draft``); a
    PNG, WebP or HEIF is always decoded at full size, so its cap bounds the memory one photo can take
    (40 MP × 4 bytes RGBA = 160 MB).  Progressive JPEGs also get the lower cap: libjpeg keeps the whole
    coefficient buffer of a progressive file in memory whatever the output scale.
    """

    max_bytes: int = 20 * 1024 * 1024
    max_pixels_jpeg: int = 120_000_000
    max_pixels_other: int = 40_000_000
    display_long_side: int = 2048
    thumb_long_side: int = 320
    jpeg_quality: int = 85


DEFAULT_LIMITS = PhotoLimits()


class PixelBudget:
    """The pixels a process decodes at once, bounded.  A decoded photo takes ≈ 4 bytes per pixel (a
    40 MP PNG: 160 MB) plus its resized copies; each photo is bounded by :class:`PhotoLimits`, but
    without this, four requests of three such photos at once took a server to 1.2 GB.  A decode takes
    its pixels from the budget for as long as it and its encoding run, and waits while the budget has
    too few free; a photo larger than the whole budget waits for all of it.  ``peak``: the most taken
    at once since the process started (read by tests and benches)."""

    def __init__(self, pixels: int):
        self.total = pixels
        self.free = pixels
        self.peak = 0
        self._cv = threading.Condition()

    @contextmanager
    def take(self, pixels: int) -> Iterator[None]:
        n = max(1, min(pixels, self.total))
        with self._cv:
            while self.free < n:
                self._cv.wait()
            self.free -= n
            self.peak = max(self.peak, self.total - self.free)
        try:
            yield
        finally:
            with self._cv:
                self.free += n
                self._cv.notify_all()


# 80 MP: two full-size 40 MP decodes at once (≈ 320 MB), or a dozen 12 MP JPEGs decoded at half scale.
DECODE_BUDGET = PixelBudget(80_000_000)


@dataclass(frozen=True)
class StoredPhoto:
    """A photo as stored: two metadata-free JPEGs and what a caller needs to know about them.

    ``display_key``/``thumb_key`` are store keys (``"ab/cd/<sha256>.jpg"``); ``width``/``height`` and
    ``byte_size`` describe the display copy (pixels, bytes); ``source_format`` is the sniffed upload format
    (``"JPEG"``, ``"PNG"``, ``"WEBP"`` or ``"HEIF"``); ``gps`` is ``(lat, lng)`` in WGS-84 decimal degrees,
    only when the resident consented and the photo carried a valid position.
    """

    display_key: str
    thumb_key: str
    width: int
    height: int
    byte_size: int
    source_format: str
    gps: tuple[float, float] | None


@dataclass(frozen=True)
class _Encoded:
    """A photo fully processed in memory, not yet stored."""

    display: bytes
    thumb: bytes
    width: int
    height: int
    source_format: str
    gps: tuple[float, float] | None


# ---------------------------------------------------------------------------------------------- errors


def _label(name: str, index: int | None) -> str:
    name = str(name)[:80]
    return f"第{index + 1}张照片（{name}）" if index is not None else f"照片（{name}）"


def _details(name: str, index: int | None, **extra: Any) -> dict[str, Any]:
    details: dict[str, Any] = {"name": str(name)[:200]}
    if index is not None:
        details["index"] = index
    details.update(extra)
    return details


def _unsupported(name: str, index: int | None) -> UnsupportedMedia:
    return UnsupportedMedia(
        f"{_label(name, index)}不是支持的图片格式（{SUPPORTED_LABEL}）",
        code="photo_format_unsupported",
        details=_details(name, index, supported=["JPEG", "PNG", "WEBP", "HEIF"]),
    )


def _corrupt(name: str, index: int | None, fmt: str | None) -> ValidationFailed:
    return ValidationFailed(
        f"{_label(name, index)}已损坏或不完整，无法读取，请重新拍摄或选择",
        code="photo_corrupt",
        details=_details(name, index, format=fmt),
    )


def _too_many_pixels(name: str, index: int | None, fmt: str, w: int, h: int, cap: int) -> PayloadTooLarge:
    return PayloadTooLarge(
        f"{_label(name, index)}像素过多（{w}×{h}），请缩小后再上传",
        code="photo_too_many_pixels",
        details=_details(name, index, format=fmt, width=w, height=h, max_pixels=cap),
    )


# ------------------------------------------------ the header check (the bytes read by civic.core.photo_headers)

def _check_header(data: bytes, name: str, index: int | None, limits: PhotoLimits) -> tuple[str, int, int]:
    """Byte size, format and pixel size, all without decoding.  Returns (format, width, height)."""
    if not data:
        raise ValidationFailed(
            f"{_label(name, index)}是空文件", code="photo_empty", details=_details(name, index, byte_size=0)
        )
    if len(data) > limits.max_bytes:
        raise PayloadTooLarge(
            f"{_label(name, index)}太大（{len(data) / 1048576:.1f} MB），"
            f"单张照片不能超过 {limits.max_bytes / 1048576:g} MB",
            code="photo_too_large",
            details=_details(name, index, byte_size=len(data), max_bytes=limits.max_bytes),
        )
    fmt = sniff_format(data)
    if fmt is None:
        raise _unsupported(name, index)
    cap = limits.max_pixels_other
    try:
        if fmt == "JPEG":
            w, h, sequential = jpeg_size(data)
            if sequential:
                cap = limits.max_pixels_jpeg
        elif fmt == "PNG":
            w, h = png_size(data)
        elif fmt == "WEBP":
            w, h = webp_size(data)
        else:
            w, h = heif_size(data)
    except (BadHeader, struct.error, IndexError):
        raise _corrupt(name, index, fmt) from None
    if w <= 0 or h <= 0:
        raise _corrupt(name, index, fmt)
    if w * h > cap:
        raise _too_many_pixels(name, index, fmt, w, h, cap)
    return fmt, w, h


# ------------------------------------------------------------------------------------ EXIF: orientation

@functools.cache
def _pillow():
    """Pillow's ``Image`` module with the HEIF opener registered, imported at the first photo rather
    than at start-up (≈ 15 ms of every process's start, most of it libheif)."""
    import pillow_heif
    from PIL import Image

    # Thumbnails, depth maps and auxiliary images inside a HEIF are never used: don't let libheif load them.
    pillow_heif.register_heif_opener(thumbnails=False, depth_images=False, aux_images=False)
    return Image


@functools.cache
def _upright() -> dict:
    """EXIF orientation -> the transpose that makes the image upright (ImageOps.exif_transpose's table)."""
    t = _pillow().Transpose
    return {2: t.FLIP_LEFT_RIGHT, 3: t.ROTATE_180, 4: t.FLIP_TOP_BOTTOM, 5: t.TRANSPOSE, 6: t.ROTATE_270,
            7: t.TRANSVERSE, 8: t.ROTATE_90}
_ORIENTATION = 0x0112
_GPS_IFD = 0x8825


def _read_exif(im: Image.Image, read_gps: bool) -> tuple[int, tuple[float, float] | None]:
    """(orientation 1-8, GPS or None).  A corrupt or odd EXIF block means upright and no position: the
    photo itself is still good, and the EXIF is about to be dropped anyway."""
    orientation, gps = 1, None
    with warnings.catch_warnings():
        # Pillow warns ("Corrupt EXIF data") rather than raising on damaged blocks; damage is expected here.
        warnings.simplefilter("ignore")
        try:
            exif = im.getexif()
            value = exif.get(_ORIENTATION)
            if isinstance(value, int) and 1 <= value <= 8:
                orientation = value
        except Exception:
            return 1, None
        if read_gps:
            try:
                gps = _gps_from_ifd(exif.get_ifd(_GPS_IFD))
            except Exception:
                gps = None
    return orientation, gps


# ------------------------------------------------------------------------------------------- EXIF: GPS


def _ref(value: Any) -> str:
    if isinstance(value, bytes):
        value = value.decode("ascii", "replace")
    return str(value).strip("\x00 ").upper() if value is not None else ""


def _dms(value: Any) -> float | None:
    """EXIF degrees/minutes/seconds (1 to 3 rationals) to decimal degrees, or None if malformed."""
    if not isinstance(value, tuple | list) or not 1 <= len(value) <= 3:
        return None
    parts = [float(v) for v in value]
    if not all(math.isfinite(p) and p >= 0 for p in parts):
        return None
    deg, minutes, seconds = (parts + [0.0, 0.0])[:3]
    if minutes >= 60 or seconds >= 60:
        return None
    return deg + minutes / 60 + seconds / 3600


def _gps_from_ifd(ifd: dict[int, Any]) -> tuple[float, float] | None:
    """(lat, lng) in WGS-84 decimal degrees, or None unless the GPS IFD holds a plausible fix.

    EXIF 2.3 GPS tags: 1/2 latitude ref and value, 3/4 longitude ref and value, 9 status (``V`` = void
    measurement), 18 map datum (EXIF's default is WGS-84; any other stated datum is refused because the
    position would be off by up to hundreds of metres).  0/0 ("null island") is what broken GPS writes.
    """
    if not ifd:
        return None
    if _ref(ifd.get(9)) == "V":
        return None
    datum = _ref(ifd.get(18)).replace("-", "").replace(" ", "")
    if datum and "WGS84" not in datum:
        return None
    lat_ref, lng_ref = _ref(ifd.get(1)), _ref(ifd.get(3))
    if lat_ref not in ("N", "S") or lng_ref not in ("E", "W"):
        return None
    lat, lng = _dms(ifd.get(2)), _dms(ifd.get(4))
    if lat is None or lng is None or lat > 90 or lng > 180:
        return None
    if lat == 0 and lng == 0:
        return None
    if lat_ref == "S":
        lat = -lat
    if lng_ref == "W":
        lng = -lng
    return round(lat, 7), round(lng, 7)


# --------------------------------------------------------------------------------- pixels and encoding


def _fit(size: tuple[int, int], long_side: int) -> tuple[int, int]:
    w, h = size
    scale = long_side / max(w, h)
    if scale >= 1:
        return w, h
    return max(1, round(w * scale)), max(1, round(h * scale))


def _resizable(im: Image.Image) -> Image.Image:
    """A mode Pillow resizes well: L, LA, RGB, RGBA or CMYK (the colour conversion of the last waits until
    after the resize, when there are fewer pixels to convert)."""
    mode = im.mode
    if mode in ("L", "LA", "RGB", "RGBA", "CMYK"):
        return im
    if mode in ("P", "PA"):
        return im.convert("RGBA" if mode == "PA" or "transparency" in im.info else "RGB")
    if mode.startswith("I") or mode == "F":
        # 16-bit grey: convert("L") would clip everything above 255 to white; scale instead.
        return im.convert("I").point(lambda v: v * (1 / 256)).convert("L")
    if mode == "1":
        return im.convert("L")
    return im.convert("RGBA" if "A" in im.getbands() or "a" in im.getbands() else "RGB")


def _to_rgb(im: Image.Image) -> Image.Image:
    """RGB, with any alpha flattened onto white (a transparent PNG must not turn black)."""
    if im.mode == "RGB":
        return im
    if im.mode in ("LA", "RGBA"):
        rgba = im.convert("RGBA")
        flat = _pillow().new("RGB", rgba.size, (255, 255, 255))
        flat.paste(rgba, mask=rgba.getchannel("A"))
        return flat
    return im.convert("RGB")


def _encode_jpeg(im: Image.Image, quality: int) -> bytes:
    # Pillow writes im.info["comment"] by default and carries info through convert/resize; clear it so
    # the only metadata written is what is passed here, i.e. none.
    im.info = {}
    out = io.BytesIO()
    im.save(out, "JPEG", quality=quality, exif=b"", icc_profile=None, comment=b"")
    return out.getvalue()


def _encode(data: bytes, name: str, index: int | None, read_gps: bool, limits: PhotoLimits) -> _Encoded:
    fmt, _, _ = _check_header(data, name, index, limits)
    cap = limits.max_pixels_jpeg if fmt == "JPEG" else limits.max_pixels_other
    target = limits.display_long_side
    try:
        with warnings.catch_warnings():
            # Our own header check above already enforced the pixel caps; Pillow's global bomb warning
            # (raised as an error under pytest) would only duplicate it.  catch_warnings swaps the
            # process-wide filter list (not thread-safe before Python 3.14): another thread may briefly
            # share this one "ignore", which is acceptable; MAX_IMAGE_PIXELS itself is left untouched.
            Image = _pillow()
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            im = Image.open(io.BytesIO(data), formats=[fmt])
            # The source size as the decoder delivers it: for HEIF, libheif has already applied the
            # container's rotation (irot/imir), so this can be the header's ispe size turned by 90°.
            src_size = im.size
            # The decoder's own idea of the size must agree with the header we checked.
            if im.width * im.height > cap or im.width <= 0 or im.height <= 0:
                raise _too_many_pixels(name, index, fmt, im.width, im.height, cap)
            box = None
            if fmt == "JPEG" and max(im.size) > target:
                # Ask for a scale whose long side still covers the display size; libjpeg then decodes
                # only 1/2, 1/4 or 1/8 of the pixels. draft() returns the exact source box at that scale.
                want = _fit(im.size, target)
                drafted = im.draft(None, want)
                if drafted is not None:
                    box = drafted[1]
    except CivicError:
        raise
    except Exception:
        raise _corrupt(name, index, fmt) from None
    # The pixels decoded (after draft: the reduced size), held from the decode to the encoded bytes.
    with DECODE_BUDGET.take(im.width * im.height):
        return _decoded(im, src_size, box, name, index, fmt, read_gps, limits)


def _decoded(im, src_size, box, name: str, index: int | None, fmt: str, read_gps: bool,
             limits: PhotoLimits) -> _Encoded:
    target = limits.display_long_side
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", _pillow().DecompressionBombWarning)  # as in _encode
            im.load()
    except MemoryError:
        raise
    except Exception:
        # Decoders raise OSError, ValueError, SyntaxError, EOFError, struct.error... on damaged input.
        raise _corrupt(name, index, fmt) from None

    orientation, gps = _read_exif(im, read_gps)

    pixels = _resizable(im)
    size = _fit(src_size, target)  # from the full source size: after draft, im.size is the reduced one
    if size != pixels.size or box is not None:
        # reducing_gap: integer-factor box reduction first, LANCZOS for the last factor < 3 (fast, and
        # visually indistinguishable from LANCZOS all the way).
        pixels = pixels.resize(size, _pillow().Resampling.LANCZOS, box=box, reducing_gap=3.0)
    if orientation in _upright():
        pixels = pixels.transpose(_upright()[orientation])
    display = _to_rgb(pixels)
    display_bytes = _encode_jpeg(display, limits.jpeg_quality)

    thumb_size = _fit(display.size, limits.thumb_long_side)
    if thumb_size == display.size:
        thumb_bytes = display_bytes  # same pixels, same bytes: stored once by content address
    else:
        thumb = display.resize(thumb_size, _pillow().Resampling.LANCZOS, reducing_gap=3.0)
        thumb_bytes = _encode_jpeg(thumb, limits.jpeg_quality)
    return _Encoded(display_bytes, thumb_bytes, display.width, display.height, fmt, gps)


def _store_all(store: MediaBackend, encoded: Sequence[_Encoded]) -> list[StoredPhoto]:
    """Write every copy; if any write fails, remove the ones this call created, then re-raise.  A key
    that existed before this call belongs to someone else's photo too and is left alone."""
    created: list[str] = []
    result: list[StoredPhoto] = []
    try:
        for enc in encoded:
            keys = []
            for blob in (enc.display, enc.thumb):
                key = key_for(blob, "jpg")
                existed = store.exists(key)
                key = store.put(blob, "jpg")
                if not existed:
                    created.append(key)
                keys.append(key)
            result.append(
                StoredPhoto(
                    display_key=keys[0],
                    thumb_key=keys[1],
                    width=enc.width,
                    height=enc.height,
                    byte_size=len(enc.display),
                    source_format=enc.source_format,
                    gps=enc.gps,
                )
            )
    except BaseException:
        for key in created:
            try:
                store.delete(key)
            except Exception:  # best effort: the original error is the one to report
                pass
        raise
    return result


# --------------------------------------------------------------------------------------------- the API


def process_photo(
    data: bytes,
    *,
    name: str = "photo",
    index: int | None = None,
    store: MediaBackend,
    read_gps: bool = False,
    limits: PhotoLimits | None = None,
) -> StoredPhoto:
    """Check, decode once, make upright, shrink, strip and store one uploaded photo.

    :param data: the uploaded bytes, whatever the file claims to be.
    :param name: the client's file name, only for error messages (the bytes decide the format).
    :param index: 0-based position in the upload, shown 1-based in messages ("第2张照片（x.jpg）…").
    :param store: where the two JPEGs go (e.g. :class:`~civic.core.storage.MediaStore`).
    :param read_gps: the resident consented to sharing the photo's location; without it the GPS block is
        never read.
    :param limits: byte/pixel caps and output sizes; :class:`PhotoLimits` defaults if None.
    :returns: a :class:`StoredPhoto`; display copy long side <= ``display_long_side`` px, thumbnail <=
        ``thumb_long_side`` px, both RGB JPEGs without any metadata, keyed by the SHA-256 of their bytes.
    :raises ValidationFailed: ``photo_empty`` (no bytes), ``photo_corrupt`` (unreadable header or pixels,
        e.g. a truncated file).
    :raises PayloadTooLarge: ``photo_too_large`` (over ``max_bytes``), ``photo_too_many_pixels`` (over
        the format's pixel cap, checked from the header before decoding).
    :raises UnsupportedMedia: ``photo_format_unsupported`` (not JPEG/PNG/WebP/HEIF by its bytes).

    Every error's ``details`` carries ``name`` and, if given, ``index``.  On any error nothing is stored.
    """
    limits = limits or DEFAULT_LIMITS
    encoded = _encode(data, name, index, read_gps, limits)
    return _store_all(store, [encoded])[0]


def check_photo(data: bytes, *, name: str = "photo", limits: PhotoLimits | None = None) -> tuple[int, int]:
    """Run every check and step of :func:`process_photo` on ``data`` except the store: size, real
    format, header pixels, one decode, upright, metadata stripped, both JPEGs encoded in memory.
    For a resumable upload once its last byte arrived (:mod:`civic.core.resumable`), so a file the
    form would refuse is refused then, with the same error.

    :returns: the display copy's ``(width, height)`` in pixels.  Nothing is stored.
    :raises: what :func:`process_photo` raises, with the same codes.
    """
    enc = _encode(data, name, None, False, limits or DEFAULT_LIMITS)
    return enc.width, enc.height


def process_photos(
    files: Sequence[tuple[str, bytes]],
    *,
    store: MediaBackend,
    read_gps: bool = False,
    limits: PhotoLimits | None = None,
) -> list[StoredPhoto]:
    """Process a batch (one complaint's photos) all-or-nothing.

    :param files: ``(name, bytes)`` pairs in upload order; a photo's ``index`` is its position here.
    :returns: one :class:`StoredPhoto` per file, same order.
    :raises: the first photo's error, as :func:`process_photo` would raise it.

    First every photo's size, format and header pixel count are checked (cheap, so a bad fifth photo is
    refused before four are decoded); then all are decoded and encoded into memory (a few hundred KB each);
    only when every photo succeeded is anything written.  If a write fails part-way, the copies this
    batch created are deleted again.
    """
    limits = limits or DEFAULT_LIMITS
    for i, (name, data) in enumerate(files):
        _check_header(data, name, i, limits)
    encoded = [_encode(data, name, i, read_gps, limits) for i, (name, data) in enumerate(files)]
    return _store_all(store, encoded)


def photo_response(display_key: str, thumb_key: str, size: str | None = None, *, store: MediaBackend | None = None,
                   public: bool = False):
    """The HTTP response for a stored photo the caller has already checked the viewer may see:
    the display copy, or the thumbnail when ``size == "thumb"``; JPEG, ``nosniff``.  Used by every
    domain that serves uploaded photos behind an unguessable URL (:func:`civic.core.media.respond`).

    Caching: one URL serves different files to different viewers (the original to those who may see
    it, the blurred rendition to the others: :func:`civic.core.blur.keys_for`), and a blur review
    changes what it serves.  So the answer is ``Cache-Control: private, no-cache`` (a client or a
    cache keeps it only to revalidate it), ``Vary: Authorization, Cookie`` (the viewer is named by
    either), and a strong ``ETag`` naming the file served: the sha256 of its bytes (the digest of its
    content key, which the receiver could compute from the bytes, so it reveals nothing).  A request
    whose ``If-None-Match`` names it gets 304 without a body; another file's ETag (another viewer's
    rendition, the version before a review) gets 200 and the bytes.  The entitlement check and the
    audit run before, on every request, 304 or not.

    ``public=True``: an address that serves the same file to everyone (the village's public page,
    Open311's ``media_url``: the blurred rendition only), so ``public, no-cache`` without ``Vary``:
    shared caches may keep it, and a review still shows at the next read.

    The bytes are read from the app's store (:func:`civic.core.storage.media_store`: a folder or a
    bucket) and sent by civic itself, never by a redirect into the bucket
    (:mod:`civic.core.storage.s3` says why).

    :raises NotFound: ``media_not_found`` if the store lost the file.
    :raises CivicError: 503 ``media_unavailable`` if the bucket cannot be reached.
    """
    from flask import Response, request

    from civic.core.storage import media_store
    from civic.core.storage.keys import digest_of

    store = store or media_store()
    key = thumb_key if size == "thumb" else display_key
    etag = digest_of(key)
    if request.if_none_match.contains(etag):
        # Not read from the store: the viewer holds this very file.
        resp = Response(status=304)
    else:
        resp = Response(store.open(key), mimetype="image/jpeg")
    resp.set_etag(etag)
    if public:
        resp.headers["Cache-Control"] = "public, no-cache"
    else:
        resp.headers["Cache-Control"] = "private, no-cache"
        resp.vary.add("Authorization")
        resp.vary.add("Cookie")
    resp.headers["X-Content-Type-Options"] = "nosniff"
    return resp
