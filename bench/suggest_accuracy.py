"""Accuracy of civic.complaints.suggest on hand-labelled real messages.

Labels: tests/data/labelled_messages.csv (id, category, note), made by reading each message of
shared/data/messages_community_unlabeled.csv before any keyword tuning.  Split by id parity: odd ids
are the tuning set (56 messages, keywords were adjusted looking at these only), even ids (72) are held
out.  (Odd rather than even because the odd half is the smaller one: tuning uses less than half.)

Prints top-1 and top-3 accuracy per split, and the baseline of always guessing the tuning half's most
frequent categories (top-1: the most frequent; top-3: the three most frequent), measured in the same run.

    python bench/suggest_accuracy.py [--show tune|held_out] [path/to/messages_community_unlabeled.csv]

``--show SPLIT`` also lists each message of that split with its suggestions (ok / 3 = in top 3 / XX).
"""

from __future__ import annotations

import csv
import os
import sys
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LABELS = ROOT / "tests" / "data" / "labelled_messages.csv"
# The workplace's shared/ beside the checkout, or CIVIC_SHARED_DIR (as the tests find it).
MESSAGES = Path(os.environ.get("CIVIC_SHARED_DIR") or ROOT.parent / "shared") / "data" / "messages_community_unlabeled.csv"


def load(messages_path: Path = MESSAGES) -> list[dict[str, str]]:
    """Labelled messages: ``[{"id", "category", "text", "split"}]``, text = title + newline + body."""
    with open(messages_path, encoding="utf-8", newline="") as f:
        messages = {row["id"]: row for row in csv.DictReader(f)}
    with open(LABELS, encoding="utf-8", newline="") as f:
        labels = list(csv.DictReader(f))
    return [
        {
            "id": row["id"],
            "category": row["category"],
            "text": messages[row["id"]]["title"] + "\n" + messages[row["id"]]["body"],
            "split": "tune" if int(row["id"]) % 2 == 1 else "held_out",
        }
        for row in labels
    ]


def evaluate(rows: list[dict[str, str]]) -> dict[str, dict[str, float]]:
    """``{split: {"n", "top1", "top3", "baseline_top1", "baseline_top3"}}`` for "tune" and "held_out"."""
    from civic.complaints.suggest import suggest_categories

    frequent = [c for c, _ in Counter(r["category"] for r in rows if r["split"] == "tune").most_common(3)]
    result = {}
    for split in ("tune", "held_out"):
        subset = [r for r in rows if r["split"] == split]
        top1 = top3 = 0
        for r in subset:
            guesses = [s["category"] for s in suggest_categories(r["text"], limit=3)]
            top1 += guesses[0] == r["category"]
            top3 += r["category"] in guesses
        n = len(subset)
        result[split] = {
            "n": n,
            "top1": top1 / n,
            "top3": top3 / n,
            "baseline_top1": sum(r["category"] == frequent[0] for r in subset) / n,
            "baseline_top3": sum(r["category"] in frequent for r in subset) / n,
        }
    result["baseline_categories"] = frequent
    return result


def main(argv: list[str]) -> None:
    sys.path.insert(0, str(ROOT))
    args = argv[1:]
    show = None
    if args[:1] == ["--show"]:
        show, args = args[1], args[2:]
    rows = load(Path(args[0]) if args else MESSAGES)
    result = evaluate(rows)
    print(f"baseline guesses (most frequent in tuning set): {', '.join(result.pop('baseline_categories'))}")
    print(f"{'split':<10}{'n':>4}{'top-1':>8}{'top-3':>8}{'base-1':>8}{'base-3':>8}")
    for split, m in result.items():
        print(
            f"{split:<10}{m['n']:>4}{m['top1']:>8.3f}{m['top3']:>8.3f}"
            f"{m['baseline_top1']:>8.3f}{m['baseline_top3']:>8.3f}"
        )
    if show:
        from civic.complaints.suggest import suggest_categories

        for r in (r for r in rows if r["split"] == show):
            guesses = [(s["category"], round(s["score"], 2)) for s in suggest_categories(r["text"])]
            cats = [g[0] for g in guesses]
            mark = "ok" if cats[0] == r["category"] else ("3 " if r["category"] in cats else "XX")
            print(mark, r["id"], r["category"], guesses, r["text"][:36].replace("\n", " "))


if __name__ == "__main__":
    main(sys.argv)
