"""Benchmark of the photo pipeline (civic.core.photos).  Results go in docs/bench-photos.md.

    /work/main/.venv/bin/python bench/photo_pipeline.py [--runs N]

1. A 12-megapixel phone-like JPEG (4000x3000, made by upscaling shared/photos/ianare_portrait_6.jpg, with
   EXIF orientation 6 and a GPS block, so the pipeline has real work to do): median time of the full
   ``process_photo`` (sniff, header checks, decode, resize, upright, display + thumbnail JPEGs, SHA-256,
   two atomic fsynced writes) against "Pillow alone" (open, ``ImageOps.exif_transpose``, resize to 2048
   long side, save one JPEG to memory) on the same bytes, interleaved in the same run.  Target ratio <= 1.5.
2. A 108-megapixel JPEG (12000x9000): peak resident memory (VmHWM) and time of ``process_photo`` in a
   fresh child interpreter.  Target < 300 MB.  Pillow alone on the same file is measured for contrast.

Timings are never tests; the memory ceiling is also asserted in tests/core/test_photos.py (slow).
"""

from __future__ import annotations

import argparse
import io
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from PIL import Image, ImageOps, TiffImagePlugin

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from civic.core.photos import process_photo  # noqa: E402
from civic.core.storage import MediaStore  # noqa: E402


def find_shared() -> Path:
    if os.environ.get("CIVIC_SHARED_DIR"):
        return Path(os.environ["CIVIC_SHARED_DIR"])
    for parent in REPO.parents:
        if (parent / "shared" / "photos").is_dir():
            return parent / "shared"
    raise SystemExit("shared/photos not found; set CIVIC_SHARED_DIR")


def phone_jpeg(size: tuple[int, int]) -> bytes:
    """The real portrait photo upscaled to ``size`` (stored landscape), orientation 6, GPS, quality 92."""
    with Image.open(find_shared() / "photos" / "ianare_portrait_6.jpg") as src:
        big = src.convert("RGB").resize(size, Image.Resampling.BICUBIC)
    exif = Image.Exif()
    exif[0x010F] = "Xiaomi"
    exif[0x0110] = "Redmi Note 13 Pro"
    exif[0x0112] = 6
    r = TiffImagePlugin.IFDRational
    exif.get_ifd(0x8825).update(
        {1: "N", 2: (r(22), r(32), r(3050, 100)), 3: "E", 4: (r(114), r(3), r(3600, 100))}
    )
    buf = io.BytesIO()
    big.save(buf, "JPEG", quality=92, exif=exif.tobytes())
    return buf.getvalue()


def pillow_alone(data: bytes) -> bytes:
    """The bare minimum anyone would write: open, upright, shrink, save."""
    im = Image.open(io.BytesIO(data))
    im = ImageOps.exif_transpose(im)
    im.thumbnail((2048, 2048), Image.Resampling.LANCZOS)
    out = io.BytesIO()
    im.save(out, "JPEG", quality=85)
    return out.getvalue()


def bench_12mp(runs: int) -> dict:
    data = phone_jpeg((4000, 3000))
    pipeline, pipeline_nofsync, baseline = [], [], []
    with tempfile.TemporaryDirectory() as tmp:
        # one untimed warm-up of each, so imports and first-call costs are not measured
        process_photo(data, store=MediaStore(Path(tmp) / "warm"), read_gps=True)
        pillow_alone(data)
        for i in range(runs):
            # a fresh store each run: the store dedupes, and a repeat would skip the writes
            store = MediaStore(Path(tmp) / f"s{i}")
            nofsync = MediaStore(Path(tmp) / f"n{i}", fsync=False)
            t = time.perf_counter()
            result = process_photo(data, store=store, read_gps=True)
            pipeline.append(time.perf_counter() - t)
            t = time.perf_counter()
            process_photo(data, store=nofsync, read_gps=True)
            pipeline_nofsync.append(time.perf_counter() - t)
            t = time.perf_counter()
            pillow_alone(data)
            baseline.append(time.perf_counter() - t)
    med = statistics.median
    return {
        "source_bytes": len(data),
        "result": {
            "size": [result.width, result.height],
            "display_bytes": result.byte_size,
            "gps": result.gps,
        },
        "runs": runs,
        "pipeline_ms": round(med(pipeline) * 1000, 1),
        "pipeline_nofsync_ms": round(med(pipeline_nofsync) * 1000, 1),
        "pillow_alone_ms": round(med(baseline) * 1000, 1),
        "ratio": round(med(pipeline) / med(baseline), 2),
        "ratio_nofsync": round(med(pipeline_nofsync) / med(baseline), 2),
    }


CHILD = """
import io, json, re, sys, tempfile, time
from pathlib import Path
sys.path.insert(0, {repo!r})
data = Path({path!r}).read_bytes()
if {mode!r} == "pipeline":
    from civic.core.photos import process_photo
    from civic.core.storage import MediaStore
    t = time.perf_counter()
    r = process_photo(data, store=MediaStore(tempfile.mkdtemp()))
    elapsed, size = time.perf_counter() - t, [r.width, r.height]
else:
    import warnings
    from PIL import Image, ImageOps
    warnings.simplefilter("ignore", Image.DecompressionBombWarning)
    t = time.perf_counter()
    im = ImageOps.exif_transpose(Image.open(io.BytesIO(data)))
    im.thumbnail((2048, 2048), Image.Resampling.LANCZOS)
    im.save(io.BytesIO(), "JPEG", quality=85)
    elapsed, size = time.perf_counter() - t, list(im.size)
hwm = int(re.search(r"VmHWM:\\s+(\\d+) kB", Path("/proc/self/status").read_text()).group(1))
print(json.dumps({{"seconds": elapsed, "peak_mb": hwm / 1024, "size": size}}))
"""


def bench_108mp() -> dict:
    # Peak memory is VmHWM of a fresh interpreter: ru_maxrss would inherit this process's high-water mark.
    data = phone_jpeg((12000, 9000))
    out: dict = {"source_bytes": len(data)}
    with tempfile.NamedTemporaryFile(suffix=".jpg") as f:
        f.write(data)
        f.flush()
        del data
        for mode in ("pipeline", "pillow_alone"):
            code = CHILD.format(repo=str(REPO), path=f.name, mode=mode)
            run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
            m = json.loads(run.stdout)
            out[mode] = {
                "seconds": round(m["seconds"], 2),
                "peak_mb": round(m["peak_mb"], 1),
                "size": m["size"],
            }
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()
    import PIL
    import pillow_heif

    report = {
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
        f"Pillow {PIL.__version__}, pillow-heif {pillow_heif.__version__}",
        "date": time.strftime("%Y-%m-%d"),
        "12mp": bench_12mp(args.runs),
        "108mp": bench_108mp(),
    }
    print(json.dumps(report, indent=2, ensure_ascii=False))
    r12, r108 = report["12mp"], report["108mp"]
    print(
        f"\n12 MP: pipeline {r12['pipeline_ms']} ms vs Pillow alone {r12['pillow_alone_ms']} ms "
        f"-> ratio {r12['ratio']} (target <= 1.5; without fsync {r12['ratio_nofsync']})"
    )
    print(
        f"108 MP: pipeline peak {r108['pipeline']['peak_mb']} MB in {r108['pipeline']['seconds']} s "
        f"(target < 300 MB); Pillow alone peak {r108['pillow_alone']['peak_mb']} MB "
        f"in {r108['pillow_alone']['seconds']} s"
    )


if __name__ == "__main__":
    main()
