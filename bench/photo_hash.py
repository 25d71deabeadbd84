"""What the perceptual hash adds to filing a case (issue #18 point 4): ``photo_hash`` of the stored
display copy against ``process_photo`` of the same upload, measured in the same run, as a ratio.

Run from the repository root: ``PYTHONPATH=. /work/main/.venv/bin/python bench/photo_hash.py [--runs N]``.  Prints the medians, their
ratio and the load average (the machine is shared: the ratio is what counts).  Never a test.
"""

from __future__ import annotations

import argparse
import io
import os
import statistics
import time
from pathlib import Path

SHARED = Path(__file__).resolve().parents[2] / "shared"


def upload() -> bytes:
    """A 12 MP phone photo: shared/photos/ianare_portrait_6.jpg upscaled to 4000×3000, quality 92."""
    from PIL import Image

    with Image.open(SHARED / "photos" / "ianare_portrait_6.jpg") as im:
        big = im.convert("RGB").resize((4000, 3000))
    buf = io.BytesIO()
    big.save(buf, "JPEG", quality=92)
    return buf.getvalue()


def main() -> None:
    from civic.complaints.service.duplicates import photo_hash
    from civic.complaints.service.photos import _Staged
    from civic.core.photos import process_photos

    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=9)
    runs = ap.parse_args().runs
    data = upload()
    pipeline, hashing = [], []
    for _ in range(runs):  # interleaved, so a change of load hits both alike
        store = _Staged()
        t0 = time.perf_counter()
        [stored] = process_photos([("p.jpg", data)], store=store)
        t1 = time.perf_counter()
        h = photo_hash(store.open(stored.display_key))
        t2 = time.perf_counter()
        pipeline.append(t1 - t0)
        hashing.append(t2 - t1)
    p, h_ = statistics.median(pipeline) * 1000, statistics.median(hashing) * 1000
    print(f"12 MP upload, {runs} interleaved runs; display copy {stored.width}×{stored.height}, pHash {h}")
    print(f"process_photo (median)         {p:8.1f} ms")
    print(f"photo_hash of the display copy {h_:8.1f} ms")
    print(f"ratio hash / pipeline          {h_ / p:8.3f}")
    print(f"load average (1, 5, 15 min)    {', '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
