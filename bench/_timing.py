"""Timing helpers the request benches share (bench/locate.py, bench/nearby.py): repeated calls timed in
milliseconds, a nearest-rank percentile, and one printed line with p50, p95 and the ratio of p95 to a
baseline's p95 measured in the same run."""

from __future__ import annotations

import statistics
import time


def pct(values: list[float], p: float) -> float:
    """The ``p``-th percentile of ``values`` (nearest rank, no interpolation)."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def timed(fn, n: int) -> list[float]:
    """``n`` calls of ``fn``, each one's wall-clock time in ms."""
    out = []
    for _ in range(n):
        t0 = time.perf_counter()
        fn()
        out.append((time.perf_counter() - t0) * 1000)
    return out


def line(name: str, ms: list[float], base: float | None = None, *, width: int = 44) -> str:
    """``name  n=…  p50 … ms  p95 … ms  (r× the GET /me p95)``; the ratio only when ``base`` is given."""
    p50, p95 = statistics.median(ms), pct(ms, 95)
    ratio = f"  ({p95 / base:.2f}× the GET /me p95)" if base else ""
    return f"{name:<{width}} n={len(ms):>5}  p50 {p50:8.2f} ms  p95 {p95:8.2f} ms{ratio}"
