"""Accuracy of civic.complaints.suggest on the held-out part of the suggest corpus.

The corpus and the fixed held-out rule are scripts/train_suggest.py's (load_corpus, is_held_out):
the shipped model never saw these rows.  Prints, for the held-out part (and the training part, for
comparison):

- top-1 / top-3 accuracy over the single-problem complaints, per category, with the baseline of
  always guessing the training part's most frequent categories (measured in the same run);
- the confusion matrix of the first suggestion (rows: true category; ``NAC`` = not a complaint);
- non-complaints recognised: verdict not_a_complaint, or unsure (unreadable text) with P(not a
  complaint) above every category; and how many got not_a_complaint or unsure at all;
- two-problem messages: both problems among the suggestions;
- verdicts of complaints, and a reliability table of the first suggestion's score.

    python bench/suggest_accuracy.py [--show held_out|train]
"""

from __future__ import annotations

import importlib.util
import sys
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from civic.complaints.suggest import NOT_A_COMPLAINT, category_names, suggest  # noqa: E402

_spec = importlib.util.spec_from_file_location("train_suggest", ROOT / "scripts" / "train_suggest.py")
train_suggest = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(train_suggest)

BINS = ((0.0, 0.3), (0.3, 0.5), (0.5, 0.7), (0.7, 0.9), (0.9, 1.01))


def evaluate(rows: list[dict]) -> dict:
    """Figures for one part of the corpus (see the module docstring); every count is an int."""
    singles = [r for r in rows if len(r["labels"]) == 1 and r["labels"] != [NOT_A_COMPLAINT]]
    nacs = [r for r in rows if r["labels"] == [NOT_A_COMPLAINT]]
    mixed = [r for r in rows if len(r["labels"]) > 1]
    per: dict[str, Counter] = {}
    confusion: Counter = Counter()
    verdicts: Counter = Counter()
    bins = {b: [0, 0, 0.0] for b in BINS}  # n, right, sum of scores
    top1 = top3 = 0
    for r in singles:
        res = suggest(r["text"])
        got = [s["category"] for s in res["suggestions"]] or ["(none)"]
        truth = r["labels"][0]
        c = per.setdefault(truth, Counter())
        c["n"] += 1
        c["top1"] += got[0] == truth
        c["top3"] += truth in got
        top1 += got[0] == truth
        top3 += truth in got
        shown = "NAC" if res["verdict"] == "not_a_complaint" else got[0]
        confusion[(truth, shown)] += 1
        verdicts[res["verdict"]] += 1
        score = res["suggestions"][0]["score"] if res["suggestions"] else 0.0
        for b in BINS:
            if b[0] <= score < b[1]:
                bins[b][0] += 1
                bins[b][1] += got[0] == truth
                bins[b][2] += score
    nac_results = [suggest(r["text"]) for r in nacs]
    mixed_ok = sum(set(r["labels"]) <= {s["category"] for s in suggest(r["text"])["suggestions"][:2]} for r in mixed)
    mixed_verdict = sum(suggest(r["text"])["verdict"] == "mixed" for r in mixed)
    return {
        "n": len(singles), "top1": top1, "top3": top3, "per_category": per, "confusion": confusion,
        "verdicts": verdicts, "bins": bins,
        "nac_n": len(nacs),
        "nac_strict": sum(x["verdict"] == "not_a_complaint" for x in nac_results),
        "nac_asked": sum(x["verdict"] in ("not_a_complaint", "unsure") for x in nac_results),
        # Recognised: called not a complaint, or unsure (unreadable: keyboard mashing, emoji only) with
        # "not a complaint" above every category; either way the resident is asked to choose.
        "nac_recognised": sum(x["verdict"] == "not_a_complaint" or (
            x["verdict"] == "unsure" and all(x["not_a_complaint"] > s["score"] for s in x["suggestions"]))
            for x in nac_results),
        "mixed_n": len(mixed), "mixed_both_top2": mixed_ok, "mixed_verdict": mixed_verdict,
    }


def report(name: str, e: dict, frequent: list[str], rows: list[dict]) -> None:
    singles = [r["labels"][0] for r in rows if len(r["labels"]) == 1 and r["labels"] != [NOT_A_COMPLAINT]]
    n = e["n"]
    print(f"\n## {name}: {n} single-problem complaints, {e['nac_n']} non-complaints, {e['mixed_n']} two-problem")
    print(f"top-1 {e['top1']}/{n} = {e['top1'] / n:.3f}   top-3 {e['top3']}/{n} = {e['top3'] / n:.3f}   "
          f"baseline top-1 {sum(c == frequent[0] for c in singles) / n:.3f}, "
          f"top-3 {sum(c in frequent for c in singles) / n:.3f}")
    print(f"non-complaints: recognised {e['nac_recognised']}/{e['nac_n']} (verdict not_a_complaint "
          f"{e['nac_strict']}, unsure with P(not a complaint) above every category "
          f"{e['nac_recognised'] - e['nac_strict']}), "
          f"asked to choose (not_a_complaint or unsure) {e['nac_asked']}/{e['nac_n']}")
    print(f"two problems: both in the first two {e['mixed_both_top2']}/{e['mixed_n']}, verdict mixed "
          f"{e['mixed_verdict']}/{e['mixed_n']}")
    print(f"verdicts of single-problem complaints: {dict(e['verdicts'])}")
    print("\n| category | n | top-1 | top-3 |\n|---|---:|---:|---:|")
    for cid in category_names():
        c = e["per_category"].get(cid)
        if c:
            print(f"| {cid} | {c['n']} | {c['top1'] / c['n']:.2f} | {c['top3'] / c['n']:.2f} |")
    cats = [c for c in category_names() if c in e["per_category"]]
    short = {c: c[:6] for c in cats} | {"NAC": "NAC"}
    cols = [c for c in category_names() if any(e["confusion"][(t, c)] for t in cats)] + ["NAC"]
    print("\nconfusion (rows: true, columns: first suggestion; NAC = verdict not_a_complaint)\n")
    print("| true \\ got | " + " | ".join(short.get(c, c[:6]) for c in cols) + " |")
    print("|---|" + "---:|" * len(cols))
    for t in cats:
        print(f"| {t} | " + " | ".join(str(e["confusion"][(t, c)] or ".") for c in cols) + " |")
    print("\nreliability of the first suggestion's score\n\n| score | n | mean score | right |\n|---|---:|---:|---:|")
    for b, (k, right, total) in e["bins"].items():
        if k:
            print(f"| {b[0]:.1f}–{min(b[1], 1):.1f} | {k} | {total / k:.2f} | {right / k:.2f} |")


def main(argv: list[str]) -> None:
    rows = train_suggest.load_corpus()
    train = [r for r in rows if not r["held_out"]]
    held = [r for r in rows if r["held_out"]]
    frequent = [c for c, _ in Counter(r["labels"][0] for r in train
                                      if len(r["labels"]) == 1 and r["labels"] != [NOT_A_COMPLAINT]).most_common(3)]
    print(f"corpus {len(rows)} rows: training {len(train)}, held out {len(held)}; baseline guesses {frequent}")
    if "--show" in argv:
        part = held if argv[argv.index("--show") + 1] == "held_out" else train
        for r in part:
            res = suggest(r["text"])
            got = [s["category"] for s in res["suggestions"]] or ["(none)"]
            if r["labels"] == [NOT_A_COMPLAINT]:
                mark = "ok" if res["verdict"] == "not_a_complaint" else "XX"
            else:
                mark = "ok" if got[0] == r["labels"][0] else ("3 " if r["labels"][0] in got else "XX")
            print(f"{mark} {r['id']:>8} {'+'.join(r['labels']):<28} {res['verdict']:<15} {got} {r['text'][:40]!r}")
        return
    report("held out", evaluate(held), frequent, held)
    report("training part (seen in training)", evaluate(train), frequent, train)


if __name__ == "__main__":
    main(sys.argv)
