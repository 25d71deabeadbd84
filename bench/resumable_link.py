"""Resumable uploads over a weak link (civic.core.resumable, issue #19 point 3).  Results go in
docs/uploads.md.

    /work/main/.venv/bin/python bench/resumable_link.py [--runs N]

A real tus client (tuspy) uploads a 10 MB photo (shared/photos/ianare_gps_DSCN0010.jpg upscaled to
4400×3300, quality 100) to civic served on loopback (Werkzeug, threaded; SQLite, media in a folder),
through the proxy of tests/link.py, which cuts the connection after every 1 MiB sent.  Two ways of
sending, each against the same upload over an unbroken link in the same run (the baseline):

* pieces of 256 KiB with their sha1 (a cut piece is sent again whole);
* the whole rest in one PATCH, no checksum (the server keeps every byte that arrived).

Printed per way: drops, body bytes the server read, bytes re-sent (and per drop), and the median
time against the baseline's (a ratio; the 0.2 s a client waits before each retry is in it).  The
load average is printed beside the figures: timings on a shared machine are read as ratios only.
"""

from __future__ import annotations

import argparse
import io
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.browser import served  # noqa: E402
from tests.core.test_resumable_link import ten_megabyte_photo  # noqa: E402
from tests.link import BodyCounter, DroppingProxy  # noqa: E402

MB = 1024 * 1024


def _app(tmp: str):
    from flask_migrate import upgrade

    from civic import create_app, init_migrations

    app = create_app({"DATABASE_URL": f"sqlite:///{tmp}/bench.db", "MEDIA_DIR": f"{tmp}/media",
                      "SECRET_KEY": "bench-secret", "RATELIMIT_ENABLED": False})
    init_migrations(app)
    with app.app_context():
        upgrade()
    return app


def _token(app) -> dict:
    from civic.accounts.identity import issue_token
    from civic.accounts.service import create_resident
    from civic.core.db import commit

    with app.app_context():
        user = create_resident(display_name="测试居民", phone="13900000001")
        token, _ = issue_token(user)
        commit()
    return {"Authorization": f"Bearer {token}"}


def _once(app, headers, data: bytes, *, drop: bool, piece: int | None) -> dict:
    from tusclient.client import TusClient

    counter = BodyCounter(app)
    with served(counter) as base:
        proxy = DroppingProxy(int(base.rsplit(":", 1)[1]), drop_every=MB if drop else 1 << 40)
        try:
            options = {"chunk_size": piece, "upload_checksum": True} if piece else {}
            start = time.perf_counter()
            TusClient(f"{proxy.url}/api/v1/uploads", headers=headers).uploader(
                file_stream=io.BytesIO(data), metadata={"filename": "DSCN0010.jpg"}, retries=40, retry_delay=0.2,
                **options).upload()
            seconds = time.perf_counter() - start
        finally:
            proxy.close()
    return {"seconds": seconds, "drops": proxy.drops, "received": counter.received}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    data = ten_megabyte_photo()
    with tempfile.TemporaryDirectory() as tmp:
        app = _app(tmp)
        headers = _token(app)
        print(f"load average before: {os.getloadavg()[0]:.2f} {os.getloadavg()[1]:.2f} {os.getloadavg()[2]:.2f}; "
              f"file {len(data)} bytes; {args.runs} runs each, interleaved")
        for name, piece in (("sha1 pieces of 256 KiB", 256 * 1024), ("whole rest per PATCH, no checksum", None)):
            base, cut = [], []
            for _ in range(args.runs):
                base.append(_once(app, headers, data, drop=False, piece=piece))
                cut.append(_once(app, headers, data, drop=True, piece=piece))
            last = cut[-1]
            resent = last["received"] - len(data)
            b, c = statistics.median(r["seconds"] for r in base), statistics.median(r["seconds"] for r in cut)
            print(f"{name}: {last['drops']} drops, server read {last['received']} body bytes, re-sent {resent} "
                  f"({resent / max(last['drops'], 1) / 1024:.0f} KiB per drop); median {c:.2f} s vs {b:.2f} s "
                  f"unbroken: ratio {c / b:.2f}")
        print(f"load average after: {os.getloadavg()[0]:.2f} {os.getloadavg()[1]:.2f} {os.getloadavg()[2]:.2f}")


if __name__ == "__main__":
    main()
