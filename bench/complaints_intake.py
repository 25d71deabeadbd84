"""Intake of cases with one 2 MB photo under gunicorn (2 workers), on SQLite (embedded default) and
on PostgreSQL + Redis, as a ratio to the photo pipeline alone on the same two cores in the same run.

    .venv/bin/python bench/complaints_intake.py [--requests 60]

Target (issue 3): intake throughput / pipeline throughput ≥ 0.8.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import subprocess
import sys
import tempfile
import time
import uuid
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench._server import REPO, VENV_BIN, Gunicorn, load  # noqa: E402

SHARED = Path(os.environ.get("CIVIC_SHARED_DIR") or REPO.parent / "shared")


def make_photo() -> bytes:
    """A ~2 MB phone-like JPEG made from a real photo (upscaled, with EXIF orientation and GPS)."""
    from PIL import Image

    src = Image.open(SHARED / "photos" / "ianare_portrait_6.jpg")
    exif = src.getexif()
    big = src.convert("RGB").resize((3264, 2448), Image.Resampling.BICUBIC)
    # Sensor-like grain, so the file is as large as a real phone photo of this size (~2 MB).
    noise = Image.effect_noise((3264, 2448), 18).convert("RGB")
    big = Image.blend(big, noise, 0.3)
    for q in (95, 92, 90, 88, 85, 80, 75):
        buf = io.BytesIO()
        big.save(buf, "JPEG", quality=q, exif=exif)
        if buf.tell() <= 2_200_000:
            break
    return buf.getvalue()


def _pipeline_once(data: bytes) -> None:
    from civic.core.photos import process_photo
    from civic.core.storage import MediaStore

    with tempfile.TemporaryDirectory() as d:
        process_photo(data, name="bench.jpg", store=MediaStore(d))


def pipeline_rate(data: bytes, n: int) -> float:
    with ProcessPoolExecutor(2) as pool:
        list(pool.map(_pipeline_once, [data] * 2))  # warm up both processes
        t0 = time.perf_counter()
        list(pool.map(_pipeline_once, [data] * n))
        return n / (time.perf_counter() - t0)


def multipart(fields: dict, photo: bytes) -> tuple[bytes, str]:
    boundary = uuid.uuid4().hex
    out = io.BytesIO()
    for k, v in fields.items():
        out.write(f'--{boundary}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'.encode())
    out.write(f'--{boundary}\r\nContent-Disposition: form-data; name="photos"; filename="p.jpg"\r\n'
              f"Content-Type: image/jpeg\r\n\r\n".encode())
    out.write(photo)
    out.write(f"\r\n--{boundary}--\r\n".encode())
    return out.getvalue(), f"multipart/form-data; boundary={boundary}"


def prepare(env: dict) -> None:
    run = lambda *a: subprocess.run([str(VENV_BIN / "flask"), "--app", "civic", *a], cwd=REPO, env=env,  # noqa: E731
                                    check=True, capture_output=True)
    run("db", "upgrade")
    run("civic", "seed-demo", "--if-empty")


def intake_rate(env: dict, photo: bytes, n: int) -> tuple[float, dict]:
    prepare(env)
    with Gunicorn("wsgi:app", env) as g:
        import http.client

        c = http.client.HTTPConnection("127.0.0.1", g.port)
        c.request("POST", "/api/v1/auth/wechat", body=json.dumps({"code": "zhang_san"}),
                  headers={"Content-Type": "application/json"})
        me = json.loads(c.getresponse().read())
        token, unit = me["token"], me["user"]["units"][0]["unit_id"]
        bodies = [multipart({"category": "public_space_occupation", "description": f"楼道堆物，影响消防通道 #{i}",
                             "place_id": unit}, photo) for i in range(n + 4)]

        def req(i):
            body, ctype = bodies[i]
            return "POST", "/api/v1/complaints", body, {"Content-Type": ctype, "Authorization": f"Bearer {token}"}

        load(g.port, req, total=4, concurrency=2)  # warm up both workers
        stats, elapsed = load(g.port, lambda i: req(i + 4), total=n, concurrency=4)
        return stats["ok"] / elapsed, stats


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--requests", type=int, default=60)
    ap.add_argument("--pg", default="postgresql://postgres@127.0.0.1:5432/civic_bench_intake")
    ap.add_argument("--redis", default="redis://127.0.0.1:6379/14")
    a = ap.parse_args()
    photo = make_photo()
    print(f"photo: {len(photo) / 1e6:.2f} MB, 3264x2448 JPEG with EXIF orientation 6; {a.requests} requests per run")
    base = pipeline_rate(photo, a.requests)
    print(f"photo pipeline alone, 2 processes: {base:.2f} photos/s")
    with tempfile.TemporaryDirectory() as tmp:
        env = {"CIVIC_DATABASE_URL": f"sqlite:///{tmp}/bench.db", "CIVIC_MEDIA_DIR": f"{tmp}/media",
               "CIVIC_RATELIMIT_ENABLED": "false", "CIVIC_RUN_SCHEDULER": "false"}
        env.pop("CIVIC_REDIS_URL", None)
        rate, stats = intake_rate({**os.environ, **env}, photo, a.requests)
        print(f"intake, SQLite, in-process jobs: {rate:.2f} cases/s  ratio {rate / base:.2f}  {stats['codes']}")
    import sqlalchemy as sa

    admin = sa.create_engine(a.pg.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://") + "/postgres",
                             isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.execute(sa.text(f'DROP DATABASE IF EXISTS "{a.pg.rsplit("/", 1)[1]}" WITH (FORCE)'))
        c.execute(sa.text(f'CREATE DATABASE "{a.pg.rsplit("/", 1)[1]}"'))
    with tempfile.TemporaryDirectory() as tmp:
        env = {"CIVIC_DATABASE_URL": a.pg, "CIVIC_REDIS_URL": a.redis, "CIVIC_MEDIA_DIR": f"{tmp}/media",
               "CIVIC_RATELIMIT_ENABLED": "false"}
        rate, stats = intake_rate({**os.environ, **env}, photo, a.requests)
        print(f"intake, PostgreSQL + Redis (RQ): {rate:.2f} cases/s  ratio {rate / base:.2f}  {stats['codes']}")


if __name__ == "__main__":
    main()
