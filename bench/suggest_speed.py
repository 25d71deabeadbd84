"""Speed of civic.complaints.suggest.suggest in the web process (issue #18 Speed: p95 < 20 ms for a
3,000-character message), beside a baseline measured in the same run: jieba search-mode segmentation
of the same text (civic.core.text.search_token_list), which the old keyword matcher ran on every call.

Texts: corpus/suggest texts joined until 100, 1,000 and 3,000 characters (different texts each run
of the loop, so no cache helps).  Also the model's cold load time (the file read and parsed once per
process).

    python bench/suggest_speed.py [--runs 200]
"""

from __future__ import annotations

import csv
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from civic.complaints.suggest import load_model, suggest  # noqa: E402
from civic.core.text import search_token_list  # noqa: E402


def texts(length: int, count: int) -> list[str]:
    pool = []
    for path in sorted((ROOT / "corpus" / "suggest").glob("*.tsv")):
        with open(path, encoding="utf-8", newline="") as f:
            pool.extend(r["text"] for r in csv.DictReader(f, delimiter="\t", quoting=csv.QUOTE_NONE))
    out = []
    for k in range(count):
        s, i = "", k * 7
        while len(s) < length:
            s += pool[i % len(pool)] + "。"
            i += 1
        out.append(s[:length])
    return out


def timings(fn, items: list[str]) -> list[float]:
    result = []
    for t in items:
        started = time.perf_counter()
        fn(t)
        result.append((time.perf_counter() - started) * 1000)
    return result


def p95(values: list[float]) -> float:
    return statistics.quantiles(values, n=20)[-1]


def main(argv: list[str]) -> None:
    runs = int(argv[argv.index("--runs") + 1]) if "--runs" in argv else 200
    load_model.cache_clear()
    started = time.perf_counter()
    model = load_model()
    load_ms = (time.perf_counter() - started) * 1000
    size = (ROOT / "civic" / "complaints" / "data" / "suggest_model.npz").stat().st_size
    print(f"model load: {load_ms:.1f} ms (file {size / 1e6:.2f} MB, vocabulary {len(model.vocab)})")
    search_token_list("预热")  # jieba's dictionary loads once per process: not part of a call
    print("\n| characters | suggest p50 | suggest p95 | jieba p50 | jieba p95 | p95 ratio |\n|---:|---:|---:|---:|---:|---:|")
    for length in (100, 1000, 3000):
        items = texts(length, runs)
        ours = timings(suggest, items)
        base = timings(search_token_list, items)
        print(f"| {length} | {statistics.median(ours):.2f} ms | {p95(ours):.2f} ms | {statistics.median(base):.2f} ms"
              f" | {p95(base):.2f} ms | {p95(ours) / p95(base):.2f} |")


if __name__ == "__main__":
    main(sys.argv)
