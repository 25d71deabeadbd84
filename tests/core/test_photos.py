"""The photo pipeline, on the real camera files in shared/photos and on photos made here."""

from __future__ import annotations

import hashlib
import io
import re
import struct
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from PIL import Image, ImageChops, ImageDraw, ImageStat, TiffImagePlugin

from civic.core import photos
from civic.core.errors import CivicError
from civic.core.photos import PhotoLimits, StoredPhoto, process_photo, process_photos, sniff_format
from civic.core.storage import MediaStore
from tests.shared import PHOTOS, REPO


def shared(name: str) -> bytes:
    return (PHOTOS / name).read_bytes()


def shared_files() -> list[str]:
    return sorted(p.name for p in PHOTOS.iterdir() if p.name != "MANIFEST.md")


# Every shared file, and what must become of it: (upright size of the display copy, source format) when
# accepted, or the error code when refused.
EXPECTED: dict[str, tuple[tuple[int, int], str] | str] = {
    "ianare_gps_DSCN0010.jpg": ((640, 480), "JPEG"),
    "ianare_landscape_2.jpg": ((600, 450), "JPEG"),
    "ianare_landscape_3.jpg": ((600, 450), "JPEG"),
    "ianare_portrait_5.jpg": ((450, 600), "JPEG"),  # stored 600x450, orientation 5
    "ianare_portrait_6.jpg": ((450, 600), "JPEG"),  # stored 600x450, orientation 6
    "ianare_samplefilehub.heif": ((640, 426), "HEIF"),
    "pillow_app13-multiple.jpg": ((256, 160), "JPEG"),
    "pillow_decompression_bomb.gif": "photo_format_unsupported",
    "pillow_empty_gps_ifd.jpg": ((10, 10), "JPEG"),
    "pillow_hopper_bad_exif.jpg": ((500, 500), "JPEG"),
    "pillow_pil123rgba.png": ((162, 150), "PNG"),
    "pillow_pil_sample_cmyk.jpg": ((100, 100), "JPEG"),
    "pillow_truncated_jpeg.jpg": "photo_corrupt",
    "recurser_Portrait_0.jpg": ((1200, 1800), "JPEG"),  # orientation 0 is not legal: left as stored
}


@pytest.fixture
def store(tmp_path):
    return MediaStore(tmp_path / "media")


def stored_files(store: MediaStore) -> list[str]:
    if not store.root.exists():
        return []
    return sorted(p.relative_to(store.root).as_posix() for p in store.root.rglob("*") if p.is_file())


def jpeg_markers(data: bytes) -> list[int]:
    """The marker bytes of every segment before the first scan."""
    assert data[:2] == b"\xff\xd8"
    markers, pos = [], 2
    while True:
        assert data[pos] == 0xFF
        marker = data[pos + 1]
        markers.append(marker)
        if marker == 0xDA:
            return markers
        (length,) = struct.unpack(">H", data[pos + 2 : pos + 4])
        pos += 2 + length


def assert_clean_jpeg(data: bytes) -> Image.Image:
    """The stored bytes are a plain RGB JPEG with no metadata of any kind; returns it decoded."""
    markers = jpeg_markers(data)
    # APP0 (JFIF) is allowed; APP1 (EXIF/XMP), APP2 (ICC), APP13 (IPTC), COM, and every other APPn are not.
    assert [m for m in markers if 0xE1 <= m <= 0xEF or m == 0xFE] == []
    im = Image.open(io.BytesIO(data))
    im.load()
    assert im.format == "JPEG"
    assert im.mode == "RGB"
    assert dict(im.getexif()) == {}
    for key in ("exif", "xmp", "icc_profile", "photoshop", "comment", "adobe"):
        assert key not in im.info
    return im


def mean_difference(a: Image.Image, b: Image.Image) -> float:
    """The largest per-channel mean absolute difference, 0-255."""
    return max(ImageStat.Stat(ImageChops.difference(a, b)).mean)


def assert_content_addressed(key: str, data: bytes) -> None:
    digest = hashlib.sha256(data).hexdigest()
    assert key == f"{digest[:2]}/{digest[2:4]}/{digest}.jpg"


def error_of(data: bytes, store: MediaStore, **kwargs) -> CivicError:
    with pytest.raises(CivicError) as err:
        process_photo(data, store=store, **kwargs)
    return err.value


def jpeg_bytes(im: Image.Image, **save) -> bytes:
    buf = io.BytesIO()
    im.save(buf, "JPEG", **save)
    return buf.getvalue()


def png_bytes(im: Image.Image) -> bytes:
    buf = io.BytesIO()
    im.save(buf, "PNG")
    return buf.getvalue()


def test_every_shared_file_is_classified():
    assert shared_files() == sorted(EXPECTED)


# --------------------------------------------------------------------------------- the shared photos


@pytest.mark.parametrize("name", shared_files())
def test_shared_photo_is_accepted_upright_and_clean_or_refused(name, store):
    expected = EXPECTED[name]
    data = shared(name)

    if isinstance(expected, str):
        err = error_of(data, store, name=name, index=1)
        assert err.code == expected
        assert err.details["name"] == name and err.details["index"] == 1
        assert f"第2张照片（{name}）" in err.message
        assert stored_files(store) == []
        return

    size, fmt = expected
    result = process_photo(data, name=name, store=store, read_gps=True)

    assert (result.width, result.height) == size
    assert result.source_format == fmt
    display = store.open(result.display_key)
    thumb = store.open(result.thumb_key)
    assert result.byte_size == len(display)
    assert_content_addressed(result.display_key, display)
    assert_content_addressed(result.thumb_key, thumb)
    assert assert_clean_jpeg(display).size == size
    thumb_im = assert_clean_jpeg(thumb)
    assert max(thumb_im.size) == min(320, max(size))
    # same orientation as the display copy
    assert (thumb_im.width > thumb_im.height) == (size[0] > size[1])
    assert stored_files(store) == sorted({result.display_key, result.thumb_key})


@pytest.mark.parametrize(
    ("name", "transpose"),
    [
        ("ianare_landscape_2.jpg", Image.Transpose.FLIP_LEFT_RIGHT),
        ("ianare_landscape_3.jpg", Image.Transpose.ROTATE_180),
        ("ianare_portrait_5.jpg", Image.Transpose.TRANSPOSE),
        ("ianare_portrait_6.jpg", Image.Transpose.ROTATE_270),
    ],
)
def test_orientation_matches_a_manually_transposed_reference(name, transpose, store):
    with Image.open(PHOTOS / name) as src:
        stored_as_is = src.convert("RGB")
    reference = stored_as_is.transpose(transpose)

    result = process_photo(shared(name), name=name, store=store)
    out = Image.open(io.BytesIO(store.open(result.display_key))).convert("RGB")

    assert out.size == reference.size
    # Re-encoding (quality 85, 4:2:0 chroma) costs a few levels per channel on average...
    assert mean_difference(out, reference) < 8
    # ...while every other way of turning the stored image is off by 40 or more.
    for other in Image.Transpose:
        wrong = stored_as_is.transpose(other)
        if other != transpose and wrong.size == out.size:
            assert mean_difference(out, wrong) > 20


def test_cmyk_jpeg_becomes_rgb_with_its_colours(store):
    name = "pillow_pil_sample_cmyk.jpg"
    with Image.open(PHOTOS / name) as src:
        assert src.mode == "CMYK"
        reference = src.convert("RGB")

    result = process_photo(shared(name), store=store)
    out = Image.open(io.BytesIO(store.open(result.display_key)))

    assert out.mode == "RGB"
    # Red detail loses most to 4:2:0 chroma subsampling (about 11 levels on this small sample); inverted
    # or channel-swapped CMYK would be off by far more.
    assert mean_difference(out, reference) < 15
    assert mean_difference(out, ImageChops.invert(reference)) > 60


def test_rgba_png_is_flattened_onto_white(store):
    name = "pillow_pil123rgba.png"
    with Image.open(PHOTOS / name) as src:
        alpha = src.getchannel("A")
        corners = [(0, 0), (src.width - 1, 0), (0, src.height - 1), (src.width - 1, src.height - 1)]
        assert [alpha.getpixel(c) for c in corners] == [0, 0, 0, 0]
        assert src.getpixel((0, 0)) == (0, 0, 0, 0)  # black if the alpha were just dropped

    result = process_photo(shared(name), store=store)
    out = Image.open(io.BytesIO(store.open(result.display_key)))

    assert out.mode == "RGB"
    for corner in corners:
        assert all(channel >= 250 for channel in out.getpixel(corner))


def test_metadata_blocks_present_in_sources_are_gone(store):
    # The sources really carry what we claim to strip, so the clean-JPEG assertions are not vacuous.
    with Image.open(PHOTOS / "ianare_gps_DSCN0010.jpg") as src:
        assert {"exif", "xmp"} <= set(src.info)
        assert src.getexif()[0x010F]  # camera make
    with Image.open(PHOTOS / "pillow_app13-multiple.jpg") as src:
        assert "photoshop" in src.info
    assert b"\xff\xe2" in shared("ianare_landscape_2.jpg")[:2000]  # ICC in APP2

    for name in ("ianare_gps_DSCN0010.jpg", "pillow_app13-multiple.jpg", "ianare_landscape_2.jpg"):
        result = process_photo(shared(name), store=store, read_gps=True)
        assert_clean_jpeg(store.open(result.display_key))
        assert_clean_jpeg(store.open(result.thumb_key))


def test_a_comment_in_the_source_is_not_carried_over(store):
    data = jpeg_bytes(Image.new("RGB", (64, 48), "red"), comment=b"shot at Room 1203, Building 4")

    result = process_photo(data, store=store)

    stored = store.open(result.display_key)
    assert b"Room 1203" not in stored
    assert_clean_jpeg(stored)


# --------------------------------------------------------------------------------------------- GPS


def test_gps_is_returned_with_consent(tmp_path):
    without = process_photo(shared("ianare_gps_DSCN0010.jpg"), store=MediaStore(tmp_path / "a"))
    assert without.gps is None

    result = process_photo(shared("ianare_gps_DSCN0010.jpg"), store=MediaStore(tmp_path / "b"), read_gps=True)
    lat, lng = result.gps
    assert lat == pytest.approx(43.4674, abs=1e-3)
    assert lng == pytest.approx(11.8851, abs=1e-3)
    # the position goes back to the caller only; the stored copies are the same either way
    assert (result.display_key, result.thumb_key) == (without.display_key, without.thumb_key)


def test_without_consent_the_gps_block_is_not_read(store, monkeypatch):
    def must_not_be_called(ifd):
        raise AssertionError("GPS read without consent")

    monkeypatch.setattr(photos, "_gps_from_ifd", must_not_be_called)
    calls = []
    real_get_ifd = Image.Exif.get_ifd

    def spy(self, tag):
        calls.append(tag)
        return real_get_ifd(self, tag)

    monkeypatch.setattr(Image.Exif, "get_ifd", spy)

    result = process_photo(shared("ianare_gps_DSCN0010.jpg"), store=store)

    assert result.gps is None
    assert 0x8825 not in calls


def test_empty_gps_block_is_ignored(store):
    result = process_photo(shared("pillow_empty_gps_ifd.jpg"), store=store, read_gps=True)
    assert result.gps is None


def jpeg_with_gps(gps: dict[int, object], orientation: int | None = None) -> bytes:
    exif = Image.Exif()
    if orientation is not None:
        exif[0x0112] = orientation
    exif.get_ifd(0x8825).update(gps)
    return jpeg_bytes(Image.new("RGB", (80, 60), "green"), exif=exif.tobytes())


def R(num, den=1):  # noqa: N802
    return TiffImagePlugin.IFDRational(num, den)


SHENZHEN_S_W = {1: "S", 2: (R(22), R(32), R(30)), 3: "W", 4: (R(114), R(3), R(36)), 18: "WGS-84"}


@pytest.mark.parametrize(
    ("gps", "expected"),
    [
        (SHENZHEN_S_W, (-22.5416667, -114.06)),
        ({**SHENZHEN_S_W, 1: "N", 3: "E"}, (22.5416667, 114.06)),
        ({1: "N", 2: (R(0), R(0), R(0)), 3: "E", 4: (R(0), R(0), R(0))}, None),  # null island
        ({1: "N", 2: (R(91), R(0), R(0)), 3: "E", 4: (R(10), R(0), R(0))}, None),  # lat out of range
        ({1: "N", 2: (R(10), R(0), R(0)), 3: "E", 4: (R(181), R(0), R(0))}, None),  # lng out of range
        ({1: "N", 2: (R(10), R(75), R(0)), 3: "E", 4: (R(10), R(0), R(0))}, None),  # 75 minutes
        ({2: (R(22), R(32), R(30)), 4: (R(114), R(3), R(36))}, None),  # no hemisphere refs
        ({1: "X", 2: (R(22), R(32), R(30)), 3: "E", 4: (R(114), R(3), R(36))}, None),  # bad ref
        ({1: "N", 2: (R(22), R(1, 0), R(0)), 3: "E", 4: (R(114), R(3), R(36))}, None),  # 1/0
        ({**SHENZHEN_S_W, 18: "TOKYO"}, None),  # another datum
        ({**SHENZHEN_S_W, 9: "V"}, None),  # receiver says the fix is void
    ],
)
def test_gps_is_returned_only_when_it_is_a_valid_wgs84_position(gps, expected, store):
    result = process_photo(jpeg_with_gps(gps), store=store, read_gps=True)

    if expected is None:
        assert result.gps is None
    else:
        assert result.gps == pytest.approx(expected, abs=1e-6)
    assert_clean_jpeg(store.open(result.display_key))


# ---------------------------------------------------------------------------- formats and refusals


def test_sniff_format_reads_the_bytes():
    assert sniff_format(shared("ianare_portrait_6.jpg")) == "JPEG"
    assert sniff_format(shared("pillow_pil123rgba.png")) == "PNG"
    assert sniff_format(shared("ianare_samplefilehub.heif")) == "HEIF"
    assert sniff_format(shared("pillow_decompression_bomb.gif")) is None
    buf = io.BytesIO()
    Image.new("RGB", (8, 8)).save(buf, "WEBP")
    assert sniff_format(buf.getvalue()) == "WEBP"
    avif_like = struct.pack(">I", 24) + b"ftypavif" + b"\0\0\0\0" + b"mif1avif"
    assert sniff_format(avif_like) is None
    assert sniff_format(b"") is None


SVG = b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"></svg>'


@pytest.mark.parametrize(
    ("data", "name"),
    [
        (SVG, "x.jpg"),
        (b"just some text, not a picture\n", "notes.jpg"),
        (shared("pillow_decompression_bomb.gif"), "bomb.jpg"),
        (b"GIF89a\x01\x00\x01\x00\x00\x00\x00;", "tiny.gif"),
    ],
)
def test_non_images_and_lying_names_are_refused_as_unsupported(data, name, store):
    err = error_of(data, store, name=name, index=1)

    assert err.status == 415
    assert err.code == "photo_format_unsupported"
    assert err.message == f"第2张照片（{name}）不是支持的图片格式（JPEG、PNG、WebP、HEIC）"
    assert err.details["name"] == name
    assert stored_files(store) == []


def test_a_png_named_jpg_is_accepted_as_png(store):
    result = process_photo(shared("pillow_pil123rgba.png"), name="IMG_0001.jpg", store=store)

    assert result.source_format == "PNG"
    assert_clean_jpeg(store.open(result.display_key))


def test_webp_is_accepted(store):
    buf = io.BytesIO()
    Image.new("RGB", (300, 200), "blue").save(buf, "WEBP", quality=80)

    result = process_photo(buf.getvalue(), store=store)

    assert (result.source_format, result.width, result.height) == ("WEBP", 300, 200)


def test_empty_file_is_refused(store):
    err = error_of(b"", store, name="empty.jpg")

    assert (err.status, err.code) == (422, "photo_empty")
    assert "照片（empty.jpg）" in err.message


def test_oversize_file_is_refused_by_byte_count(store, monkeypatch):
    monkeypatch.setattr(Image, "open", None)  # any decoding attempt would fail loudly
    data = b"\xff\xd8\xff\xe0" + bytes(20 * 1024 * 1024)

    err = error_of(data, store, name="big.jpg", index=0)

    assert (err.status, err.code) == (413, "photo_too_large")
    assert err.details["max_bytes"] == 20 * 1024 * 1024
    assert err.details["byte_size"] == len(data)
    assert err.message.startswith("第1张照片（big.jpg）太大")


def test_byte_limit_is_configurable(store):
    err = error_of(shared("ianare_portrait_6.jpg"), store, limits=PhotoLimits(max_bytes=100_000))
    assert err.code == "photo_too_large"


def crc_chunk(kind: bytes, body: bytes) -> bytes:
    import zlib

    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def png_claiming(width: int, height: int) -> bytes:
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + crc_chunk(b"IHDR", ihdr)
        + crc_chunk(b"IDAT", b"x\x9c\x03\x00")
        + crc_chunk(b"IEND", b"")
    )


def test_png_header_claiming_too_many_pixels_is_refused_before_decoding(store, monkeypatch):
    monkeypatch.setattr(Image, "open", None)
    data = png_claiming(50_000, 50_000)
    assert len(data) < 100

    err = error_of(data, store, name="bomb.png", index=0)

    assert (err.status, err.code) == (413, "photo_too_many_pixels")
    assert (err.details["width"], err.details["height"]) == (50_000, 50_000)
    assert err.details["max_pixels"] == 40_000_000
    assert stored_files(store) == []


def patch_sof(data: bytes, width: int, height: int) -> bytes:
    """The same JPEG with its frame header claiming another size."""
    pos = 2
    while True:
        marker = data[pos + 1]
        (length,) = struct.unpack(">H", data[pos + 2 : pos + 4])
        if marker in (0xC0, 0xC1, 0xC2):
            return data[: pos + 5] + struct.pack(">HH", height, width) + data[pos + 9 :]
        pos += 2 + length


def test_jpeg_header_claiming_too_many_pixels_is_refused(store, monkeypatch):
    data = patch_sof(jpeg_bytes(Image.new("RGB", (16, 16))), 65_535, 65_535)
    monkeypatch.setattr(Image, "open", None)

    err = error_of(data, store)

    assert err.code == "photo_too_many_pixels"
    assert err.details["max_pixels"] == 120_000_000


def test_progressive_jpeg_gets_the_lower_pixel_cap(store):
    baseline = patch_sof(jpeg_bytes(Image.new("RGB", (16, 16))), 8000, 6000)  # 48 MP
    progressive = patch_sof(jpeg_bytes(Image.new("RGB", (16, 16)), progressive=True), 8000, 6000)

    assert photos._check_header(baseline, "b.jpg", None, PhotoLimits()) == ("JPEG", 8000, 6000)
    err = error_of(progressive, store)
    assert err.code == "photo_too_many_pixels"
    assert err.details["max_pixels"] == 40_000_000


def test_heif_header_claiming_too_many_pixels_is_refused(store, monkeypatch):
    data = bytearray(shared("ianare_samplefilehub.heif"))
    pos = data.index(b"ispe")
    data[pos + 8 : pos + 16] = struct.pack(">II", 10_000, 10_000)
    monkeypatch.setattr(Image, "open", None)

    err = error_of(bytes(data), store)

    assert err.code == "photo_too_many_pixels"
    assert (err.details["width"], err.details["height"]) == (10_000, 10_000)


def webp_claiming(kind: bytes, width: int, height: int) -> bytes:
    """A real 16x16 WebP whose first chunk (VP8, VP8L or VP8X) is rewritten to claim another size."""
    buf = io.BytesIO()
    exif = Image.Exif()
    exif[0x0112] = 1
    save = {"VP8 ": {}, "VP8L": {"lossless": True}, "VP8X": {"exif": exif.tobytes()}}[kind.decode()]
    Image.new("RGB", (16, 16), "white").save(buf, "WEBP", **save)
    data = bytearray(buf.getvalue())
    assert data[12:16] == kind
    if kind == b"VP8 ":
        data[26:30] = struct.pack("<HH", width, height)
    elif kind == b"VP8L":
        top = int.from_bytes(data[21:25], "little") & ~((1 << 28) - 1)
        data[21:25] = (top | (width - 1) | (height - 1) << 14).to_bytes(4, "little")
    else:
        data[24:30] = (width - 1).to_bytes(3, "little") + (height - 1).to_bytes(3, "little")
    return bytes(data)


@pytest.mark.parametrize("kind", [b"VP8 ", b"VP8L", b"VP8X"])
def test_webp_header_claiming_too_many_pixels_is_refused(kind, store, monkeypatch):
    data = webp_claiming(kind, 16_000, 3_000)
    monkeypatch.setattr(Image, "open", None)

    err = error_of(data, store)

    assert err.code == "photo_too_many_pixels"
    assert (err.details["width"], err.details["height"]) == (16_000, 3_000)


def test_pixel_caps_are_configurable(store):
    err = error_of(shared("pillow_pil123rgba.png"), store, limits=PhotoLimits(max_pixels_other=10_000))
    assert err.code == "photo_too_many_pixels"
    err = error_of(shared("ianare_portrait_6.jpg"), store, limits=PhotoLimits(max_pixels_jpeg=100_000))
    assert err.code == "photo_too_many_pixels"


def test_truncated_jpeg_is_refused_and_nothing_is_kept(store):
    err = error_of(shared("pillow_truncated_jpeg.jpg"), store, name="t.jpg", index=0)

    assert (err.status, err.code) == (422, "photo_corrupt")
    assert err.message == "第1张照片（t.jpg）已损坏或不完整，无法读取，请重新拍摄或选择"
    assert stored_files(store) == []


@pytest.mark.parametrize(
    "data",
    [
        b"\xff\xd8\xff\xe0\x00\x10JFIF\x00",  # JPEG start, no frame header
        b"\x89PNG\r\n\x1a\n\x00\x00",  # PNG signature only
        b"RIFF\x00\x00\x00\x00WEBPVP8 ",  # WebP without a frame
    ],
)
def test_headers_without_a_size_are_corrupt(data, store):
    assert error_of(data, store).code == "photo_corrupt"


# ------------------------------------------------------------------------------------ pixel handling


def test_large_photo_is_shrunk_to_the_display_and_thumbnail_sizes(store):
    im = Image.new("RGB", (4000, 3000), (30, 120, 200))
    ImageDraw.Draw(im).ellipse((500, 500, 3500, 2500), fill=(240, 200, 0))

    result = process_photo(jpeg_bytes(im, quality=90), store=store)

    assert (result.width, result.height) == (2048, 1536)
    thumb = assert_clean_jpeg(store.open(result.thumb_key))
    assert thumb.size == (320, 240)
    # the centre is still the yellow ellipse, the corner still blue
    display = assert_clean_jpeg(store.open(result.display_key))
    assert display.getpixel((1024, 768))[2] < 60
    assert display.getpixel((5, 5))[2] > 180


def test_orientation_applies_to_resized_photos(store):
    # A portrait phone photo: stored landscape 4000x3000, orientation 6.
    exif = Image.Exif()
    exif[0x0112] = 6
    im = Image.new("RGB", (4000, 3000), "white")
    ImageDraw.Draw(im).rectangle((0, 0, 400, 3000), fill="black")  # black strip on the stored left

    result = process_photo(jpeg_bytes(im, exif=exif.tobytes()), store=store)

    display = assert_clean_jpeg(store.open(result.display_key))
    assert display.size == (1536, 2048)
    # rotating 90° clockwise puts the stored left edge at the top
    assert display.getpixel((768, 20))[0] < 30
    assert display.getpixel((768, 2030))[0] > 225


def test_heif_rotation_is_applied_once(store):
    # pillow-heif writes EXIF orientation 6 as the container's irot; libheif applies it on decode and
    # resets EXIF to 1.  The header's ispe still says 400x300: the output must not be squeezed back to it.
    exif = Image.Exif()
    exif[0x0112] = 6
    im = Image.new("RGB", (400, 300), "white")
    ImageDraw.Draw(im).rectangle((0, 0, 40, 300), fill="black")
    buf = io.BytesIO()
    im.save(buf, "HEIF", exif=exif.tobytes(), quality=90)

    result = process_photo(buf.getvalue(), store=store)

    display = assert_clean_jpeg(store.open(result.display_key))
    assert (result.source_format, display.size) == ("HEIF", (300, 400))
    assert display.getpixel((150, 10))[0] < 40
    assert display.getpixel((150, 390))[0] > 215


@pytest.mark.parametrize("orientation", [0, 9, 65535])
def test_illegal_orientation_means_upright(orientation, store):
    exif = Image.Exif()
    exif[0x0112] = orientation

    result = process_photo(jpeg_bytes(Image.new("RGB", (120, 80)), exif=exif.tobytes()), store=store)

    assert (result.width, result.height) == (120, 80)


def test_sixteen_bit_greyscale_keeps_its_tones(store):
    im = Image.new("I;16", (256, 8))
    im.putdata([x * 256 for x in range(256)] * 8)

    result = process_photo(png_bytes(im), store=store)

    out = assert_clean_jpeg(store.open(result.display_key))
    assert out.getpixel((128, 4))[0] == pytest.approx(128, abs=6)  # not clipped to white
    assert out.getpixel((5, 4))[0] < 15


@pytest.mark.parametrize("mode", ["L", "LA", "P", "1"])
def test_other_modes_become_rgb_and_transparent_pixels_white(mode, store):
    base = Image.new("RGBA", (40, 30), (200, 30, 30, 255))
    base.paste((0, 0, 0, 0), (0, 0, 20, 30))  # left half fully transparent black
    if mode == "P":
        im = base.convert("P")
        im.info["transparency"] = im.getpixel((0, 0))
    else:
        im = base.convert(mode)

    result = process_photo(png_bytes(im), store=store)

    out = assert_clean_jpeg(store.open(result.display_key))
    if mode in ("LA", "P"):
        assert min(out.getpixel((5, 15))) >= 245
    assert out.size == (40, 30)


# ------------------------------------------------------------------------------- fail closed, batches


def test_a_failure_while_encoding_the_thumbnail_stores_nothing(store, monkeypatch):
    real = photos._encode_jpeg
    calls = []

    def second_call_fails(im, quality):
        calls.append(im.size)
        if len(calls) == 2:
            raise OSError("encoder crashed")
        return real(im, quality)

    monkeypatch.setattr(photos, "_encode_jpeg", second_call_fails)

    with pytest.raises(OSError):
        process_photo(shared("ianare_gps_DSCN0010.jpg"), store=store)
    assert stored_files(store) == []


class FailingStore(MediaStore):
    def __init__(self, root, fail_on: int):
        super().__init__(root)
        self.fail_on, self.puts = fail_on, 0

    def put(self, data, ext):
        self.puts += 1
        if self.puts == self.fail_on:
            raise OSError("disk full")
        return super().put(data, ext)


def test_a_failed_write_removes_what_this_photo_already_wrote(tmp_path):
    store = FailingStore(tmp_path / "media", fail_on=2)

    with pytest.raises(OSError, match="disk full"):
        process_photo(shared("ianare_gps_DSCN0010.jpg"), store=store)
    assert stored_files(store) == []


def test_a_failed_write_keeps_copies_that_existed_before(tmp_path):
    plain = MediaStore(tmp_path / "media")
    earlier = process_photo(shared("ianare_portrait_6.jpg"), store=plain)
    store = FailingStore(tmp_path / "media", fail_on=4)

    with pytest.raises(OSError):
        process_photos(
            [("a.jpg", shared("ianare_portrait_6.jpg")), ("b.jpg", shared("ianare_landscape_3.jpg"))],
            store=store,
        )
    assert stored_files(store) == sorted([earlier.display_key, earlier.thumb_key])


def test_batch_is_processed_in_order(store):
    results = process_photos(
        [("a.jpg", shared("ianare_portrait_6.jpg")), ("b.png", shared("pillow_pil123rgba.png"))],
        store=store,
        read_gps=True,
    )

    assert [r.source_format for r in results] == ["JPEG", "PNG"]
    assert all(isinstance(r, StoredPhoto) for r in results)
    # the 162x150 PNG is its own thumbnail, so three files
    assert results[1].display_key == results[1].thumb_key
    assert stored_files(store) == sorted(
        {results[0].display_key, results[0].thumb_key, results[1].display_key}
    )


def test_batch_with_one_bad_photo_stores_nothing(store):
    files = [
        ("a.jpg", shared("ianare_portrait_6.jpg")),
        ("b.jpg", shared("ianare_landscape_2.jpg")),
        ("c.jpg", shared("pillow_truncated_jpeg.jpg")),
    ]

    with pytest.raises(CivicError) as err:
        process_photos(files, store=store)

    assert err.value.code == "photo_corrupt"
    assert err.value.details == {"name": "c.jpg", "index": 2, "format": "JPEG"}
    assert err.value.message.startswith("第3张照片（c.jpg）")
    assert stored_files(store) == []


def test_batch_refuses_a_bad_header_before_decoding_anything(store, monkeypatch):
    monkeypatch.setattr(Image, "open", None)
    files = [("a.jpg", shared("ianare_portrait_6.jpg")), ("b.svg", SVG)]

    with pytest.raises(CivicError) as err:
        process_photos(files, store=store)

    assert err.value.code == "photo_format_unsupported"
    assert err.value.details["index"] == 1


def test_identical_uploads_are_stored_once(store):
    first = process_photo(shared("ianare_portrait_6.jpg"), store=store)
    second = process_photo(shared("ianare_portrait_6.jpg"), store=store)

    assert first == second
    assert len(stored_files(store)) == 2


def test_a_tiny_photo_shares_one_file_for_display_and_thumbnail(store):
    result = process_photo(shared("pillow_empty_gps_ifd.jpg"), store=store)

    assert result.display_key == result.thumb_key
    assert stored_files(store) == [result.display_key]


# ----------------------------------------------------------------------------------- 108 megapixels


@pytest.fixture(scope="module")
def phone_108mp(tmp_path_factory) -> Path:
    im = Image.new("RGB", (12000, 9000), (90, 140, 200))
    draw = ImageDraw.Draw(im)
    for x in range(0, 12000, 500):
        draw.rectangle((x, (x * 3) % 9000, x + 400, (x * 3) % 9000 + 2000), fill=(x % 255, 80, 160))
    path = tmp_path_factory.mktemp("big") / "108mp.jpg"
    im.save(path, "JPEG", quality=90)
    return path


@pytest.mark.slow
def test_a_108_megapixel_photo_is_accepted_in_under_300_mb(phone_108mp, tmp_path):
    # Peak memory is measured in a fresh interpreter: VmHWM is per address space, while ru_maxrss of a
    # child started from this (large) test process would inherit our own high-water mark.
    child = textwrap.dedent(
        f"""
        import re, sys
        from civic.core.photos import process_photo
        from civic.core.storage import MediaStore
        r = process_photo(open({str(phone_108mp)!r}, "rb").read(), store=MediaStore({str(tmp_path)!r}))
        hwm = re.search(r"VmHWM:\\s+(\\d+) kB", open("/proc/self/status").read())
        print(r.width, r.height, int(hwm.group(1)) // 1024)
        """
    )
    if not Path("/proc/self/status").exists():
        pytest.skip("needs Linux /proc to read the peak memory")

    run = subprocess.run([sys.executable, "-c", child], cwd=REPO, capture_output=True, text=True, check=True)

    width, height, peak_mb = map(int, run.stdout.split())
    assert (width, height) == (2048, 1536)
    assert peak_mb < 300, f"peak {peak_mb} MB"


def test_a_108_megapixel_photo_is_decoded_reduced(phone_108mp, store, monkeypatch):
    sizes = []
    real_load = Image.Image.load

    def spy(self):
        sizes.append(self.size)
        return real_load(self)

    monkeypatch.setattr(Image.Image, "load", spy)

    result = process_photo(phone_108mp.read_bytes(), store=store)

    assert (result.width, result.height) == (2048, 1536)
    # decoded at 1/4 scale (3000x2250), the smallest that still covers 2048 px
    assert (3000, 2250) in sizes and (12000, 9000) not in sizes
    assert re.fullmatch(r"[0-9a-f]{2}/[0-9a-f]{2}/[0-9a-f]{64}\.jpg", result.display_key)
