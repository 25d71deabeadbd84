"""The blur corpus: its photos, ground truth, phone-size and sideways variants, and the measures
bench/blur_accuracy.py reports (also used by the blur tests).

The photos are in two places (tests/data/blur/README.md lists each with its source and licence):
``tests/data/blur/`` (the first seven, in the repository) and :data:`SHARED` — photos taken from
public repositories are kept out of this repository's commits and live beside it, in the shared
folder (``../shared/blur/``), or wherever ``CIVIC_BLUR_CORPUS`` points.  The ground truth of all of
them is ``tests/data/blur/truth.json``; a photo whose file is in neither place is left out of a run
(and the run says so)."""

from __future__ import annotations

import io
import json
import os
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
CORPUS = REPO / "tests" / "data" / "blur"
SHARED = Path(os.environ.get("CIVIC_BLUR_CORPUS") or REPO.parent / "shared" / "blur")
PHONE_LONG_SIDE = 4032  # a 12 MP phone photo (4032×3024)
COVERED = 0.7  # a truth box counts as found when blurred regions cover this share of it


def truth() -> dict[str, dict]:
    return {k: v for k, v in json.loads((CORPUS / "truth.json").read_text()).items() if not k.startswith("_")}


def path(name: str) -> Path:
    """Where the corpus photo ``name`` is: the repository's folder first, then :data:`SHARED`."""
    here = CORPUS / name
    return here if here.exists() else SHARED / name


def available() -> tuple[list[str], list[str]]:
    """The truth's photos that are here and those that are not (sorted names)."""
    names = sorted(truth())
    return [n for n in names if path(n).exists()], [n for n in names if not path(n).exists()]


def phone_jpeg(name: str, *, sideways: bool = False, long_side: int = PHONE_LONG_SIDE) -> bytes:
    """The corpus photo upscaled to a phone's size, as a JPEG; ``sideways``: the pixels stored turned
    90° (as a phone held upright writes them) with EXIF orientation 6 saying how to turn them back."""
    from PIL import Image

    with Image.open(path(name)) as src:
        im = src.convert("RGB")
    scale = long_side / max(im.size)
    im = im.resize((round(im.width * scale), round(im.height * scale)), Image.Resampling.LANCZOS)
    exif = Image.Exif()
    if sideways:
        im = im.transpose(Image.Transpose.ROTATE_90)  # orientation 6 = "rotate 90° clockwise to view"
        exif[0x0112] = 6
    buf = io.BytesIO()
    im.save(buf, "JPEG", quality=90, exif=exif)
    return buf.getvalue()


@dataclass
class Score:
    faces: int = 0
    faces_found: int = 0
    partial: int = 0
    partial_found: int = 0
    plates: int = 0
    plates_found: int = 0
    unreadable: int = 0
    unreadable_found: int = 0
    false_px: float = 0.0
    total_px: float = 0.0

    def add(self, other: Score) -> None:
        for k in self.__dataclass_fields__:
            setattr(self, k, getattr(self, k) + getattr(other, k))


def blurred_mask(regions: list[dict], w: int, h: int):
    """The pixels the rendition blurs (each region widened by its margin, as detect.blur_regions does)."""
    import numpy as np

    from civic.core import detect

    mask = np.zeros((h, w), bool)
    for r in regions:
        margin = detect.FACE_MARGIN if r.get("kind") == "face" else detect.PLATE_MARGIN
        x1, y1, x2, y2 = detect._grown(r, margin)
        mask[max(0, int(y1 * h)): min(h, int(y2 * h + 1)), max(0, int(x1 * w)): min(w, int(x2 * w + 1))] = True
    return mask


def score(name: str, regions: list[dict], w: int, h: int) -> Score:
    """Recall and falsely blurred share of one photo's regions (fractions) on a ``w``×``h`` copy."""
    import numpy as np

    t = truth()[name]
    from PIL import Image

    with Image.open(path(name)) as src:
        ow, oh = src.size
    sx, sy = w / ow, h / oh
    mask = blurred_mask(regions, w, h)
    truth_mask = np.zeros_like(mask)
    s = Score(total_px=float(w * h))

    def found(box) -> bool:
        x, y, bw, bh = box
        x1, y1, x2, y2 = int(x * sx), int(y * sy), int((x + bw) * sx) + 1, int((y + bh) * sy) + 1
        # A truth box's own surroundings (hair, the plate's frame) are not "false": grow it as the margin does.
        gx, gy = int(bw * sx * 0.3), int(bh * sy * 0.3)
        truth_mask[max(0, y1 - gy): y2 + gy, max(0, x1 - gx): x2 + gx] = True
        return mask[y1:y2, x1:x2].mean() >= COVERED

    for kind, total, hit in (("faces", "faces", "faces_found"), ("faces_partial", "partial", "partial_found"),
                             ("plates", "plates", "plates_found"),
                             ("plates_unreadable", "unreadable", "unreadable_found")):
        for box in t.get(kind, []):
            setattr(s, total, getattr(s, total) + 1)
            if found(box):
                setattr(s, hit, getattr(s, hit) + 1)
    s.false_px = float((mask & ~truth_mask).sum())
    return s
