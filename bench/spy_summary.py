"""Summarise py-spy's raw (collapsed) samples: where a process's time went, by function.

    py-spy record -r 500 -f raw -o out.raw -- python ...   (or --pid of a gunicorn worker)
    .venv/bin/python bench/spy_summary.py out.raw [--within NAME] [--top 25]

Prints the share of samples in which each function is on the stack (inclusive: civic's own
functions and the libraries' entry points worth naming) and the functions that were running
(self), both as a percentage of the samples ``--within`` (a function name every counted stack must
hold, e.g. ``full_dispatch_request`` for the time inside Flask's request handling).
"""

from __future__ import annotations

import argparse
import collections
import re


def frames(stack: str) -> list[str]:
    # "func (path/file.py:line)" → "func (file.py)"; the line number would split one function.
    out = []
    for f in stack.split(";"):
        m = re.match(r"(.*?) \((.*?)(?::\d+)?\)$", f.strip())
        out.append(f"{m.group(1)} ({m.group(2).split('site-packages/')[-1].split('i21-finish/')[-1]})" if m else f)
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("raw")
    ap.add_argument("--within", default="full_dispatch_request")
    ap.add_argument("--top", type=int, default=25)
    a = ap.parse_args()
    inclusive, own = collections.Counter(), collections.Counter()
    total = 0
    with open(a.raw, encoding="utf-8") as fh:
        for line in fh:
            stack, _, count = line.rstrip("\n").rpartition(" ")
            fs = frames(stack)
            names = [f.split(" (")[0] for f in fs]
            if a.within and not any(n == a.within or n.endswith("." + a.within) for n in names):
                continue
            n = int(count)
            total += n
            own[fs[-1]] += n
            for f in set(fs):
                inclusive[f] += n
    print(f"{total} samples within {a.within!r}")
    print("\ninclusive (on the stack), civic's functions and the main library entry points:")
    keep = re.compile(r"\((civic/|sqlalchemy/orm/session|sqlalchemy/engine/base|psycopg/|marshmallow/schema|"
                      r"flask_smorest/|flask_login/|jinja2/environment|werkzeug/test)")
    for f, n in inclusive.most_common():
        if keep.search(f):
            print(f"  {100 * n / total:5.1f} %  {f}")
            if n < total * 0.01:
                break
    print(f"\nself (running), top {a.top}:")
    for f, n in own.most_common(a.top):
        print(f"  {100 * n / total:5.1f} %  {f}")


if __name__ == "__main__":
    main()
