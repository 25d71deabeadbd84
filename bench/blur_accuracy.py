"""Accuracy of the face and plate blurring (civic.core.detect) on the real-photo corpus
(tests/data/blur/README.md: each photo's source and licence; the first seven are in tests/data/blur,
the others in ../shared/blur or the folder ``CIVIC_BLUR_CORPUS`` names).  Results go in docs/blur.md.

    /work/main/.venv/bin/python bench/blur_accuracy.py            # every photo here
    /work/main/.venv/bin/python bench/blur_accuracy.py NAME ...   # only these

Each corpus photo is made phone-sized (4032 px long side) twice, upright and sideways (pixels turned,
EXIF orientation 6), and goes through the real photo pipeline (civic.core.photos.process_photo: upright,
2048 px display copy) and the blur job's detector, exactly as a stored photo does.  Reported:

* face recall: frontal/three-quarter faces whose box the blurred regions cover to >= 70 %;
  half-hidden faces separately;
* plate recall: readable plates covered the same way; plates too small or blurred to read separately;
* share of the image blurred falsely: blurred pixels outside every truth box (each grown by 30 %,
  its own surroundings), over all pixels.
"""

from __future__ import annotations

import io
import os
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bench._blur_corpus import SHARED, Score, available, phone_jpeg, score  # noqa: E402


def main() -> None:
    from PIL import Image

    from civic.core import detect
    from civic.core.photos import process_photo
    from civic.core.storage import MediaStore

    here, missing = available()
    if sys.argv[1:]:
        here = [n for n in here if n in sys.argv[1:]]
    total = Score()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        store = MediaStore(tmp)
        for name in here:
            for sideways in (False, True):
                stored = process_photo(phone_jpeg(name, sideways=sideways), name=name, store=store)
                im = Image.open(io.BytesIO(store.open(stored.display_key)))
                im.load()
                regions = [r.as_dict() for r in detect.detect(im)]
                s = score(name, regions, im.width, im.height)
                total.add(s)
                rows.append((name, "sideways" if sideways else "upright", im.size, s))
    print(f"load average: {os.getloadavg()[0]:.2f} {os.getloadavg()[1]:.2f} {os.getloadavg()[2]:.2f}")
    print(f"photos: {len(here)} measured" + (f"; not here ({SHARED}): {', '.join(missing)}" if missing else ""))
    print("| photo | as taken | display | faces found | half-hidden found | plates found | unreadable plates "
          "| falsely blurred |")
    print("|---|---|---|---|---|---|---|---|")
    dash = lambda found, n: f"{found}/{n}" if n else "—"  # noqa: E731
    for name, how, size, s in rows:
        print(f"| {name} | {how} | {size[0]}×{size[1]} | {dash(s.faces_found, s.faces)} "
              f"| {dash(s.partial_found, s.partial)} | {dash(s.plates_found, s.plates)} "
              f"| {dash(s.unreadable_found, s.unreadable)} | {100 * s.false_px / s.total_px:.1f} % |")
    print()
    print(f"face recall (frontal/three-quarter): {total.faces_found}/{total.faces} = "
          f"{100 * total.faces_found / max(1, total.faces):.1f} %")
    print(f"half-hidden faces: {total.partial_found}/{total.partial}")
    print(f"plate recall (readable): {total.plates_found}/{total.plates} = "
          f"{100 * total.plates_found / max(1, total.plates):.1f} %")
    print(f"unreadable plates: {total.unreadable_found}/{total.unreadable}")
    print(f"share of the image blurred falsely: {100 * total.false_px / total.total_px:.2f} %")


if __name__ == "__main__":
    main()
