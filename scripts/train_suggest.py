"""Train the complaint-category model shipped as civic/complaints/data/suggest_model.npz.

    pip install -e '.[train]'          # scikit-learn, only for training
    python scripts/train_suggest.py [--check]

The corpus (``load_corpus``):

- ``corpus/suggest/*.tsv``: texts written for this project (id, category, text), in residents' style;
  a category ``a+b`` is a message with two problems (trained as half a row of each);
- ``tests/data/labelled_messages.csv``: real messages of ``shared/data/messages_community_unlabeled.csv``
  labelled by id (the text is read from the shared file, never copied into the repository).

The held-out part (``is_held_out``) is fixed by a rule, not drawn: a row is held out when the first
8 hex digits of ``sha256("suggest-held-out:" + source + ":" + id)`` mod 100 < 40.  Held-out rows are
never seen by training: not for the vocabulary, IDF, weights, temperature or thresholds.  The
figures on them are measured by bench/suggest_accuracy.py (docs/suggest-accuracy.md).

Training on the other rows: vocabulary = character 1–3-grams (civic.complaints.suggest.ngram_counts)
in at least two training texts; IDF smoothed as scikit-learn's (``ln((1+N)/(1+df)) + 1``);
multinomial logistic regression (lbfgs), ``C`` picked by 5-fold cross-validated top-1 accuracy; the
temperature by the least log-loss of the out-of-fold logits; then the final fit on every training
row.  Deterministic: the same corpus gives the same file.  ``--check`` retrains in memory and fails if
the shipped file's corpus digest differs from the corpus's (a corpus edit without retraining).
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import math
import os
import sys
from collections import Counter
from pathlib import Path

# One BLAS thread: the problem is small, and the machine's cores are shared (threads only contend).
os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import numpy as np  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from civic.complaints.suggest import MODEL_FORMAT, NOT_A_COMPLAINT, category_names, ngram_counts  # noqa: E402

CORPUS = ROOT / "corpus" / "suggest"
LABELS = ROOT / "tests" / "data" / "labelled_messages.csv"


def _shared() -> Path:
    """CIVIC_SHARED_DIR, else the first shared/ beside the checkout or above it (as tests/shared.py)."""
    if os.environ.get("CIVIC_SHARED_DIR"):
        return Path(os.environ["CIVIC_SHARED_DIR"])
    return next((p / "shared" for p in ROOT.parents if (p / "shared" / "data").is_dir()), ROOT.parent / "shared")


SHARED = _shared()
MESSAGES = SHARED / "data" / "messages_community_unlabeled.csv"
OUT = ROOT / "civic" / "complaints" / "data" / "suggest_model.npz"
HELD_OUT_PERCENT = 40
C_GRID = (5.0, 20.0)
# Verdict thresholds (civic.complaints.suggest.verdict_of).  likely/not_a_complaint are tuned on the
# out-of-fold predictions below; the mixed pair is fixed: two problems sharing the probability.
MIXED_SECOND, MIXED_PAIR = 0.2, 0.6


def is_held_out(source: str, row_id: str) -> bool:
    """The fixed held-out rule (see the module docstring)."""
    digest = hashlib.sha256(f"suggest-held-out:{source}:{row_id}".encode()).hexdigest()
    return int(digest[:8], 16) % 100 < HELD_OUT_PERCENT


def corpus_files() -> list[Path]:
    return sorted(CORPUS.glob("*.tsv"))


def corpus_digest() -> str:
    """sha256 over the corpus files and the label file (names and bytes), and the split rule."""
    h = hashlib.sha256(f"held-out<{HELD_OUT_PERCENT};format={MODEL_FORMAT}".encode())
    for path in [*corpus_files(), LABELS]:
        h.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    return h.hexdigest()


def load_corpus(messages_path: Path = MESSAGES) -> list[dict]:
    """``[{"source", "id", "labels": [category, ...], "text", "held_out": bool}]``."""
    known = set(category_names()) | {NOT_A_COMPLAINT}
    rows = []
    for path in corpus_files():
        with open(path, encoding="utf-8", newline="") as f:
            for r in csv.DictReader(f, delimiter="\t", quoting=csv.QUOTE_NONE):
                labels = r["category"].split("+")
                assert set(labels) <= known, (path.name, r["id"], labels)
                rows.append({"source": "corpus", "id": r["id"], "labels": labels, "text": r["text"]})
    with open(messages_path, encoding="utf-8", newline="") as f:
        messages = {m["id"]: m["title"] + "\n" + m["body"] for m in csv.DictReader(f)}
    with open(LABELS, encoding="utf-8", newline="") as f:
        for r in csv.DictReader(f):
            rows.append({"source": "shared", "id": r["id"], "labels": [r["category"]], "text": messages[r["id"]]})
    ids = Counter((r["source"], r["id"]) for r in rows)
    assert max(ids.values()) == 1, [k for k, n in ids.items() if n > 1]
    for r in rows:
        r["held_out"] = is_held_out(r["source"], r["id"])
    return rows


def _expand(rows: list[dict]) -> tuple[list[str], list[str], list[float]]:
    """Texts, labels, weights: a two-problem message is two half-weight rows."""
    texts, labels, weights = [], [], []
    for r in rows:
        for label in r["labels"]:
            texts.append(r["text"])
            labels.append(label)
            weights.append(1.0 / len(r["labels"]))
    return texts, labels, weights


def _vocabulary(texts: list[str]) -> tuple[list[str], np.ndarray]:
    df: Counter[str] = Counter()
    for t in dict.fromkeys(texts):
        df.update(ngram_counts(t).keys())
    vocab = sorted(g for g, n in df.items() if n >= 2)
    n_docs = len(dict.fromkeys(texts))
    idf = np.array([math.log((1 + n_docs) / (1 + df[g])) + 1 for g in vocab])
    return vocab, idf


def _matrix(texts: list[str], vocab: list[str], idf: np.ndarray):
    from scipy.sparse import csr_matrix

    index = {g: i for i, g in enumerate(vocab)}
    data, cols, ptr = [], [], [0]
    for t in texts:
        items = [(index[g], n) for g, n in ngram_counts(t).items() if g in index]
        v = np.array([(1 + math.log(n)) * idf[j] for j, n in items])
        norm = math.sqrt(float(v @ v)) if len(v) else 0.0
        data.extend((v / norm if norm else v).tolist())
        cols.extend(j for j, _ in items)
        ptr.append(len(cols))
    return csr_matrix((data, cols, ptr), shape=(len(texts), len(vocab)))


def _fit(x, y, w, c: float):
    from sklearn.linear_model import LogisticRegression

    return LogisticRegression(C=c, max_iter=500, tol=1e-4).fit(x, y, sample_weight=w)


def _softmax(z: np.ndarray) -> np.ndarray:
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


def _out_of_fold(x, y: np.ndarray, w: np.ndarray, groups: np.ndarray, c: float, classes: list[str]) -> np.ndarray:
    """Out-of-fold logits (rows × classes); folds by message so both halves of a mixed one stay together."""
    from sklearn.model_selection import GroupKFold

    oof = np.zeros((x.shape[0], len(classes)))
    for train, test in GroupKFold(n_splits=5).split(x, y, groups):
        m = _fit(x[train], y[train], w[train], c)
        cols = [list(m.classes_).index(k) if k in m.classes_ else None for k in classes]
        z = m.decision_function(x[test])
        oof[test] = np.column_stack([z[:, j] if j is not None else np.full(len(test), -30.0) for j in cols])
    return oof


def train(rows: list[dict], log=print) -> tuple[dict, dict]:
    """Train on the non-held-out rows → (arrays for the .npz, meta)."""
    import sklearn

    train_rows = [r for r in rows if not r["held_out"]]
    texts, labels, weights = _expand(train_rows)
    groups = np.array([i for i, r in enumerate(train_rows) for _ in r["labels"]])
    vocab, idf = _vocabulary(texts)
    x = _matrix(texts, vocab, idf)
    y, w = np.array(labels), np.array(weights)
    classes = sorted(set(labels))
    single = w == 1.0
    best = None
    for c in C_GRID:
        oof = _out_of_fold(x, y, w, groups, c, classes)
        acc = float(np.mean(np.array(classes)[oof[single].argmax(axis=1)] == y[single]))
        log(f"C={c:>5}: out-of-fold top-1 {acc:.3f}")
        if best is None or acc > best[1]:
            best = (c, acc, oof)
    c, cv_acc, oof = best
    target = np.array([classes.index(k) for k in y])
    temps = np.arange(0.3, 5.0, 0.02)
    nll = [float(-(w * np.log(_softmax(oof / t)[np.arange(len(y)), target] + 1e-12)).sum()) for t in temps]
    temperature = float(round(temps[int(np.argmin(nll))], 2))
    log(f"chosen C={c} (out-of-fold top-1 {cv_acc:.3f}), temperature {temperature}")
    thresholds = _thresholds(_softmax(oof[single] / temperature), y[single], classes, log)
    model = _fit(x, y, w, c)
    assert list(model.classes_) == classes
    meta = {
        "format": MODEL_FORMAT,
        "temperature": temperature,
        "thresholds": thresholds,
        "C": c,
        "cv_top1": round(cv_acc, 4),
        "corpus_sha256": corpus_digest(),
        "held_out_rule": f"sha256('suggest-held-out:'+source+':'+id)[:8] mod 100 < {HELD_OUT_PERCENT}",
        "n_train": len(train_rows),
        "n_held_out": len(rows) - len(train_rows),
        "vocabulary": len(vocab),
        "sklearn": sklearn.__version__,
    }
    arrays = {
        "classes": np.array(classes),
        "vocab": np.array(vocab),
        "idf": idf.astype(np.float32),
        "weights": model.coef_.astype(np.float32),
        "bias": model.intercept_.astype(np.float32),
        "meta": np.array(json.dumps(meta, ensure_ascii=False)),
    }
    return arrays, meta


def _thresholds(p: np.ndarray, y: np.ndarray, classes: list[str], log) -> dict[str, float]:
    """likely and not_a_complaint thresholds on out-of-fold probabilities: the not_a_complaint
    threshold is the highest that still recognises ≥ 95 % of the training non-complaints (a
    complaint taken for a thank-you is the worse mistake: it is asked to choose, not lost); likely is
    the lowest at which ≥ 90 % of the messages called likely have the right first category."""
    from civic.complaints.suggest import verdict_of

    nac_col = classes.index(NOT_A_COMPLAINT)
    nac = y == NOT_A_COMPLAINT
    grid = np.round(np.arange(0.2, 0.81, 0.05), 2)
    nac_t = max((t for t in grid if np.mean((p[nac, nac_col] >= t)) >= 0.95), default=0.3)
    cat = [i for i, k in enumerate(classes) if k != NOT_A_COMPLAINT]
    first = np.array(classes)[np.array(cat)[p[:, cat].argmax(axis=1)]]
    likely_t = 0.8
    for t in sorted(grid, reverse=True):
        called = (~nac) & (p[:, cat].max(axis=1) >= t)
        if called.sum() and np.mean(first[called] == y[called]) >= 0.9:
            likely_t = float(t)
    th = {"not_a_complaint": float(nac_t), "likely": likely_t, "mixed_second": MIXED_SECOND, "mixed_pair": MIXED_PAIR}
    verdicts = Counter(verdict_of(dict(zip(classes, row, strict=True)), th) for row in p[~nac].tolist())
    log(f"thresholds {th}; out-of-fold verdicts of complaints: {dict(verdicts)}")
    return th


def save(arrays: dict, path: Path = OUT) -> None:
    buf = io.BytesIO()
    np.savez_compressed(buf, **arrays)
    path.write_bytes(buf.getvalue())


def main(argv: list[str]) -> int:
    rows = load_corpus()
    held = [r for r in rows if r["held_out"]]
    print(f"{len(rows)} rows, held out {len(held)} "
          f"({sum(r['labels'] == [NOT_A_COMPLAINT] for r in held)} not a complaint)")
    if "--check" in argv:
        from civic.complaints.suggest import load_model

        shipped = load_model().meta["corpus_sha256"]
        print("shipped model is up to date" if shipped == corpus_digest() else "shipped model is STALE: retrain")
        return 0 if shipped == corpus_digest() else 1
    arrays, meta = train(rows)
    save(arrays)
    print(f"wrote {OUT.relative_to(ROOT)} ({OUT.stat().st_size / 1e6:.2f} MB): {json.dumps(meta, ensure_ascii=False)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
