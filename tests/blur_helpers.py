"""Helpers of the blur tests: running the blur jobs the way each run of the suite does, and telling a
blurred photo from its original (real pixels, the real detector)."""

from __future__ import annotations

import io
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from bench._blur_corpus import CORPUS, phone_jpeg, truth  # noqa: E402,F401


def run_blur_jobs() -> list[str]:
    """Run the queued blur jobs now: embedded (SQLite run) they are deferred rows the scheduler's tick
    claims; with Redis, RQ jobs a real worker works in burst mode (tests/jobs.py)."""
    from civic.core.jobs import tick
    from tests.jobs import drain

    done = tick()
    drain()
    from civic.extensions import db

    db.session.expire_all()
    return done


def image(data: bytes):
    from PIL import Image

    im = Image.open(io.BytesIO(data))
    im.load()
    return im.convert("RGB")


def face_boxes(name: str, size: tuple[int, int]) -> list[tuple[int, int, int, int]]:
    """The corpus truth's recognisable faces of ``name`` in pixels of a copy of ``size`` (upright)."""
    from PIL import Image

    with Image.open(CORPUS / name) as im:
        ow, oh = im.size
    sx, sy = size[0] / ow, size[1] / oh
    return [(int(x * sx), int(y * sy), int((x + w) * sx), int((y + h) * sy)) for x, y, w, h in truth()[name]["faces"]]


def mean_abs_diff(a, b, box) -> float:
    """Mean absolute difference of two same-size RGB images inside ``box`` (0-255)."""
    import numpy as np

    pa = np.asarray(a.crop(box), dtype=np.int16)
    pb = np.asarray(b.crop(box), dtype=np.int16)
    return float(np.abs(pa - pb).mean())


def faces_found(im) -> int:
    from civic.core import detect

    return len(detect.detect_faces(detect._working_copy(im)))


def multipart(fields: dict, files: list[tuple[str, str, bytes]], boundary: str = "civicblurboundary"):
    """A multipart body built by hand, and its content type: werkzeug's test builder leaves a
    temporary file open for bodies the size of a phone photo (a ResourceWarning in the test client,
    not in civic; see tests/complaints/test_photos_intake.py).  ``files``: (field, filename, bytes)."""
    parts = []
    for k, v in fields.items():
        parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'.encode())
    for field, filename, data in files:
        parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{field}"; filename="{filename}"\r\n'
                     f"Content-Type: image/jpeg\r\n\r\n".encode() + data + b"\r\n")
    parts.append(f"--{boundary}--\r\n".encode())
    return b"".join(parts), f"multipart/form-data; boundary={boundary}"
