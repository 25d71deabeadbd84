"""Speed and memory of the blur job (civic.core.blur / civic.core.detect) on a 12 MP phone photo,
against the photo pipeline (civic.core.photos) measured in the same run.  Results in docs/blur.md.

    /work/main/.venv/bin/python bench/blur_speed.py [--runs 5] [--against DIR]

``--worker``: also run the real job (``civic.core.blur.blur_photo``: its database row, the
rendition stored, the commit) in a process that holds the whole app, as ``flask civic worker`` does,
and report that process's peak memory.

``--against DIR``: also run the blur job with the code of another checkout (e.g. ``git worktree add
/tmp/base <commit>``), interleaved with this one's in the same run, and print this code's times
and memory as ratios of that one's.

The photo: the corpus's street scene (tests/data/blur/deface_city.jpg, 17 faces) made a 4032×3024
phone JPEG (EXIF orientation 6, as a phone held upright writes it).  Each measurement runs in a fresh
child interpreter pinned to one core (``sched_setaffinity``; ONNX Runtime is set to one thread):

* pipeline: ``process_photo`` of the 12 MP upload (decode, upright, 2048 px display + thumbnail);
* blur job: what the queue's worker does for that photo, ``blur_photo`` minus the database, in a
  process that did not run the pipeline (the web process stored the photo): read the stored display copy, detect faces (CenterFace) and plates, render and encode the blurred display and
  thumbnail.  "cold" includes loading the model (once per worker process), "warm" is a later job.

Peak memory is the child's VmHWM (peak resident set), read from /proc at its end.  Timings are never
tests; the load average is printed beside the figures (the machine is shared).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

CHILD = r"""
import inspect, io, json, os, sys, time, tempfile
os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
sys.path.insert(0, REPO)
from civic.core.storage import MediaStore
store = MediaStore(STORE)
out = {}
if MODE == "pipeline":
    from civic.core.photos import process_photo
    data = open(PHOTO, "rb").read()
    t = time.perf_counter(); process_photo(data, store=store); out["seconds"] = time.perf_counter() - t
elif MODE == "migrate":
    from flask_migrate import upgrade
    from civic import create_app, init_migrations
    app = create_app({"DATABASE_URL": "sqlite:///" + os.path.join(STORE, "worker.db"), "MEDIA_DIR": STORE})
    init_migrations(app)
    with app.app_context():
        upgrade()
elif MODE == "worker":
    # The real job (civic.core.blur.blur_photo: its row, the detector, the rendition stored, the
    # commit) in a process that holds the whole app, as `flask civic worker` does (SimpleWorker runs
    # jobs in its own process); the embedded database is SQLite in the temporary folder.
    from civic import create_app
    # The database was made by another process (MODE "migrate"): a worker runs no migrations.
    # create_app starts no scheduler thread: the jobs below run only here.
    app = create_app({"DATABASE_URL": "sqlite:///" + os.path.join(STORE, "worker.db"), "MEDIA_DIR": STORE})
    with app.app_context():
        from civic.core import blur
        try:
            from civic.core.networks import preload
        except ImportError:  # a checkout before 2026-12-07
            from civic.core.detect import preload
        from civic.core.storage import media_store
        from civic.extensions import db
        preload()  # as the worker does when it starts
        store = media_store()
        times = []
        # The street scene, then photos of other shapes (each new input shape is a first run for
        # ONNX Runtime: unplanned memory), then the street scene again (warm).
        for key in [*SHAPE_KEYS, SHAPE_KEYS[0]]:
            # Each its own stored copy and blur row, in this run and every other (the database is
            # shared by the runs): the store is content-addressed, and random bytes after the JPEG's
            # end marker make a new key (decoders ignore them).
            copy = store.open(key) + b"\0" + os.urandom(16)
            row = blur.request(store.put(copy, "jpg"), store.put(copy, "jpg"))
            db.session.commit()
            assert row.status == "pending"  # a new photo: the job below does the work
            t = time.perf_counter(); blur.blur_photo(row.id); db.session.commit(); times.append(time.perf_counter() - t)
            done = db.session.get(type(row), row.id)
            assert done.status == "done", (done.status, done.error)
            out.setdefault("regions", []).append(len(done.regions))
        out["first"], out["shapes"], out["warm"] = times[0], times[1:-1], times[-1]
else:
    # The worker's process: the photo was stored by the web process (the pipeline is not run here).
    from civic.core import detect
    def job():
        raw = store.open(DISPLAY_KEY)
        photo = raw  # the bytes, as civic.core.blur.blur_photo passes them
        if "photo" not in inspect.signature(detect.detect).parameters:  # a checkout before 2026-12-07 takes an image
            from PIL import Image
            photo = Image.open(io.BytesIO(raw)); photo.load()
        regions = [r.as_dict() for r in detect.detect(photo)]
        blurred, thumb, w, h = detect.render_blurred(raw, regions)
        store.put(blurred, "jpg"); store.put(thumb, "jpg")
        return len(regions)
    t = time.perf_counter(); out["regions"] = job(); out["cold"] = time.perf_counter() - t
    warm = []
    for _ in range(3):
        t = time.perf_counter(); job(); warm.append(time.perf_counter() - t)
    out["warm"] = min(warm)
for line in open("/proc/self/status"):
    if line.startswith("VmHWM:"):
        out["peak_mb"] = int(line.split()[1]) / 1024
print(json.dumps(out))
"""


def child(mode: str, photo: str, store: str, display_key: str, repo: Path = REPO,
          shape_keys: list[str] | None = None) -> dict:
    code = (f"REPO = {str(repo)!r}\nMODE = {mode!r}\nPHOTO = {photo!r}\nSTORE = {store!r}\n"
            f"DISPLAY_KEY = {display_key!r}\nSHAPE_KEYS = {shape_keys!r}\n" + CHILD)
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    if done.returncode:
        sys.exit(f"the {mode} child failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--worker", action="store_true",
                    help="also run the real job (database row, commit) in a process holding the whole app")
    ap.add_argument("--against", type=Path, help="another checkout whose blur job is the baseline")
    args = ap.parse_args()
    import tempfile

    sys.path.insert(0, str(REPO))
    from bench._blur_corpus import phone_jpeg
    from civic.core.photos import process_photo
    from civic.core.storage import MediaStore

    tmp = tempfile.mkdtemp()
    photo = os.path.join(tmp, "phone.jpg")
    Path(photo).write_bytes(phone_jpeg("deface_city.jpg", sideways=True))
    stored = process_photo(Path(photo).read_bytes(), store=MediaStore(os.path.join(tmp, "media")))
    # Other shapes for --worker: 16:9 landscape, a tall portrait, a wide 2.5:1 close-up, all 12 MP-sized.
    others = [process_photo(phone_jpeg(name, sideways=sideways), store=MediaStore(os.path.join(tmp, "media"))).display_key
              for name, sideways in (("hyperlpr_test_img.jpg", False), ("ccpd_demo0.jpg", False),
                                     ("hyperlpr_2.png", True))] if args.worker else []
    if args.worker:
        child("migrate", photo, os.path.join(tmp, "media"), stored.display_key)
    pipe, blur, base, work, base_work = [], [], [], [], []
    load_before = os.getloadavg()
    for _ in range(args.runs):  # interleaved: all see the same machine
        pipe.append(child("pipeline", photo, os.path.join(tmp, "media"), stored.display_key))
        blur.append(child("blur", photo, os.path.join(tmp, "media"), stored.display_key))
        if args.worker:
            work.append(child("worker", photo, os.path.join(tmp, "media"), stored.display_key,
                              shape_keys=[stored.display_key, *others]))
        if args.against:
            base.append(child("blur", photo, os.path.join(tmp, "media"), stored.display_key,
                              repo=args.against.resolve()))
            if args.worker:
                base_work.append(child("worker", photo, os.path.join(tmp, "media"), stored.display_key,
                                       repo=args.against.resolve(), shape_keys=[stored.display_key, *others]))
    load_after = os.getloadavg()
    p_s = statistics.median(r["seconds"] for r in pipe)
    cold = statistics.median(r["cold"] for r in blur)
    warm = statistics.median(r["warm"] for r in blur)
    print(f"load average before {load_before[0]:.2f}, after {load_after[0]:.2f} (2 cores, shared)")
    print(f"12 MP photo (4032×3024, orientation 6), {args.runs} runs each, medians, one core:")
    print(f"  pipeline (process_photo):           {p_s:.3f} s, peak {statistics.median(r['peak_mb'] for r in pipe):.0f} MB")
    print(f"  blur job, warm (model loaded):      {warm:.3f} s  = {warm / p_s:.2f} × the pipeline")
    print(f"  blur job, cold (loads the model):   {cold:.3f} s  = {cold / p_s:.2f} × the pipeline")
    print(f"  blur job process peak memory:       {max(r['peak_mb'] for r in blur):.0f} MB (max of runs; "
          f"the whole worker process: interpreter, model, four jobs)")
    print(f"  regions found: {blur[0]['regions']}")
    if work:
        print("the real job in a worker process holding the app (SQLite; `--worker`):")
        shapes = ", ".join(f"{statistics.median(r['shapes'][i] for r in work):.3f}" for i in range(3))
        print(f"  first job after preload {statistics.median(r['first'] for r in work):.3f} s; photos of three other "
              f"shapes {shapes} s; the first photo again (warm) {statistics.median(r['warm'] for r in work):.3f} s")
        print(f"  regions found: {work[0]['regions']}")
        print(f"  worker process peak {max(r['peak_mb'] for r in work):.0f} MB (the app, both models, five jobs)")
    if base:
        b_warm = statistics.median(r["warm"] for r in base)
        b_cold = statistics.median(r["cold"] for r in base)
        b_peak = max(r["peak_mb"] for r in base)
        peak = max(r["peak_mb"] for r in blur)
        print(f"against {args.against} (its blur job in the same run):")
        print(f"  warm {b_warm:.3f} s → {warm:.3f} s = {warm / b_warm:.2f} ×; cold {b_cold:.3f} s → {cold:.3f} s = "
              f"{cold / b_cold:.2f} ×; peak {b_peak:.0f} MB → {peak:.0f} MB; regions {base[0]['regions']}")
    if base_work:
        b_warm = statistics.median(r["warm"] for r in base_work)
        warm_w = statistics.median(r["warm"] for r in work)
        print(f"  worker holding the app: warm {b_warm:.3f} s → {warm_w:.3f} s = {warm_w / b_warm:.2f} ×; peak "
              f"{max(r['peak_mb'] for r in base_work):.0f} MB → {max(r['peak_mb'] for r in work):.0f} MB; "
              f"regions {base_work[0]['regions']}")


if __name__ == "__main__":
    main()
