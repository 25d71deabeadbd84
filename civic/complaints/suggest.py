"""Suggest complaint categories from a complaint's text (``POST /api/v1/complaints/suggest``,
through ``civic.complaints.service.suggest``).

A learned text classifier, run on the CPU inside the web process with numpy alone:

- features: character 1–3-grams of the normalised text (NFKC, lower case, ASCII digits → ``0``,
  whitespace runs → one space), sublinear TF (``1 + ln count``) × IDF, L2-normalised.  Characters
  rather than jieba words because residents write dialect (阿拉, 伊拉, 搿), typos (群组 for 群租) and
  emoji that no dictionary knows, and character n-grams still catch them;
- model: multinomial logistic regression over the eleven glossary categories plus
  ``not_a_complaint`` (thank-you notes, questions about procedure, adverts, greetings, gibberish),
  trained by ``scripts/train_suggest.py`` (scikit-learn, the ``train`` extra) on ``corpus/suggest/``
  and the hand-labelled shared messages;
- calibration: one temperature ``T`` (softmax of ``logits / T``) fitted on out-of-fold predictions of
  the training part, so that a score of 0.8 is right about 80 % of the time (reliability table:
  docs/suggest-accuracy.md).

The weights, vocabulary, IDF, temperature and verdict thresholds live in one file,
``civic/complaints/data/suggest_model.npz``, loaded once per process.  Held-out accuracy, the
confusion matrix and calibration: docs/suggest-accuracy.md; speed: docs/bench-suggest.md.
"""

from __future__ import annotations

import json
import math
import unicodedata
from collections import Counter
from functools import cache
from importlib import resources
from typing import Any

import numpy as np

OTHER = "other"
NOT_A_COMPLAINT = "not_a_complaint"
CATEGORIES_RESOURCE = "data/categories.json"
MODEL_RESOURCE = "data/suggest_model.npz"
# The layout of the model file; scripts/train_suggest.py writes it and load_model() refuses another.
MODEL_FORMAT = 1
NGRAM_RANGE = (1, 3)
# A category below this probability is not worth showing (it would read as "0.0").
MIN_SCORE = 0.01
# Fewer distinct known n-grams of 2–3 characters than this, and the text is unreadable to the model.
MIN_KNOWN = 1

VERDICTS = ("likely", "mixed", "unsure", "not_a_complaint")
PROMPTS = {
    "likely": None,
    "mixed": "您的描述里好像有两个问题，请选择最主要的一个类别；另一个问题可以再提交一件。",
    "unsure": "我们不能确定这是哪一类问题，请从下面的类别中选择，或者补充描述。",
    "not_a_complaint": "这条内容看起来不是投诉（例如感谢、咨询或广告）。如果您要反映问题，请选择类别并描述具体情况。",
}


@cache
def load_categories() -> dict[str, Any]:
    """The category file: ``{"categories": {id: {"name": str, "keywords": {word: weight}}}}``.

    The keywords are search words (jieba's domain dictionary, Open311 ``keywords``), not the model."""
    text = resources.files("civic.complaints").joinpath(CATEGORIES_RESOURCE).read_text(encoding="utf-8")
    return json.loads(text)


def category_names() -> dict[str, str]:
    """``{category id: Chinese name}`` for every category, in glossary order."""
    return {cid: c["name"] for cid, c in load_categories()["categories"].items()}


_DIGITS_TO_ZERO = str.maketrans("0123456789", "0000000000")


def normalise(text: str) -> str:
    """The text as the model sees it: NFKC (full-width letters and digits fold to ASCII), lower case,
    every ASCII digit ``0`` (a room number says "a room", not which), whitespace runs one space."""
    return " ".join(unicodedata.normalize("NFKC", text).lower().translate(_DIGITS_TO_ZERO).split())


def ngrams(text: str) -> list[str]:
    """Every character n-gram (n in :data:`NGRAM_RANGE`, with repeats) of the normalised ``text``; a
    lone space is not a feature.  The training script counts with this same function."""
    s = normalise(text)
    grams = list(s.replace(" ", ""))
    for n in range(2, NGRAM_RANGE[1] + 1):
        grams += [s[i : i + n] for i in range(len(s) - n + 1)]
    return grams


def ngram_counts(text: str) -> Counter[str]:
    """``Counter`` of :func:`ngrams`."""
    return Counter(ngrams(text))


class Model:
    """The shipped classifier: ``classes`` (12 ids), ``vocab`` ({n-gram: column}), ``idf`` (V,),
    ``weights`` (classes × V), ``bias`` (classes,), ``meta`` (dict: temperature, thresholds, corpus
    digest, held-out figures)."""

    def __init__(self, arrays: Any) -> None:
        self.meta: dict[str, Any] = json.loads(str(arrays["meta"]))
        if self.meta.get("format") != MODEL_FORMAT:
            raise RuntimeError(f"suggest model format {self.meta.get('format')} != {MODEL_FORMAT}: retrain")
        self.classes: list[str] = [str(c) for c in arrays["classes"]]
        self.vocab: dict[str, int] = {str(g): i for i, g in enumerate(arrays["vocab"].tolist())}
        self.multi = np.array([len(g) > 1 for g in self.vocab], dtype=bool)
        self.idf = arrays["idf"].astype(np.float64)
        self.weights = np.ascontiguousarray(arrays["weights"].astype(np.float64))
        self.bias = arrays["bias"].astype(np.float64)
        self.temperature = float(self.meta["temperature"])

    def features(self, text: str) -> tuple[np.ndarray, np.ndarray, int]:
        """``(columns, values, known)``: the text's TF-IDF vector (L2-normalised; n-grams outside the
        vocabulary dropped) and how many distinct known n-grams of two or three characters it has."""
        get = self.vocab.get
        ids = np.array([get(g, -1) for g in ngrams(text)], dtype=np.int64)
        idx, counts = np.unique(ids[ids >= 0], return_counts=True)
        values = (1.0 + np.log(counts)) * self.idf[idx]
        norm = math.sqrt(float(values @ values))
        return idx, (values / norm if norm else values), int(self.multi[idx].sum())

    def probabilities(self, text: str) -> tuple[dict[str, float], int]:
        """Calibrated probabilities ``{class: p}`` (softmax of logits / temperature, summing to 1) and
        the count of known multi-character n-grams (see :meth:`features`)."""
        idx, values, known = self.features(text)
        z = (self.weights[:, idx] @ values + self.bias) / self.temperature
        z = np.exp(z - z.max())
        p = z / z.sum()
        return dict(zip(self.classes, p.tolist(), strict=True)), known


@cache
def load_model() -> Model:
    """The shipped model, loaded once per process (about 20–40 ms; docs/bench-suggest.md).

    :raises RuntimeError: the file's format is not :data:`MODEL_FORMAT` (retrain with
        scripts/train_suggest.py)."""
    with resources.files("civic.complaints").joinpath(MODEL_RESOURCE).open("rb") as f:
        with np.load(f, allow_pickle=False) as arrays:
            return Model(arrays)


def verdict_of(probs: dict[str, float], thresholds: dict[str, float]) -> str:
    """The verdict for calibrated ``probs`` (rule order matters, first match wins):

    1. ``not_a_complaint`` when P(not a complaint) ≥ ``thresholds["not_a_complaint"]`` and it
       outweighs the best category;
    2. ``likely`` when the best category's P ≥ ``thresholds["likely"]``;
    3. ``mixed`` when the two best categories each have P ≥ ``thresholds["mixed_second"]`` and together
       ≥ ``thresholds["mixed_pair"]`` (two problems in one message share the probability);
    4. ``unsure`` otherwise.

    The thresholds are chosen by scripts/train_suggest.py on out-of-fold predictions of the training
    part (never the held-out part) and shipped in the model file."""
    nac = probs.get(NOT_A_COMPLAINT, 0.0)
    ranked = sorted((p for c, p in probs.items() if c != NOT_A_COMPLAINT), reverse=True)
    first, second = ranked[0], ranked[1]
    if nac >= thresholds["not_a_complaint"] and nac > first:
        return "not_a_complaint"
    if first >= thresholds["likely"]:
        return "likely"
    if second >= thresholds["mixed_second"] and first + second >= thresholds["mixed_pair"]:
        return "mixed"
    return "unsure"


def suggest(text: str | None, limit: int = 3) -> dict[str, Any]:
    """Suggest complaint categories for a complaint's title and body, with an honest verdict.

    :param text: the complaint's text (callers pass title and body together, up to a description's
        4,000 characters); ``None``/blank allowed.
    :param limit: how many suggestions at most (1..3 useful).
    :returns: ``{"verdict": likely|mixed|unsure|not_a_complaint, "prompt": str|None,
        "not_a_complaint": float, "suggestions": [{"category", "name", "score"}, ...]}``.
        ``score`` is the calibrated probability (0..1, 3 places) that the category is the message's
        one; the scores of all categories and ``not_a_complaint`` sum to 1.  ``suggestions`` are best
        first: for ``mixed`` exactly the two problems; otherwise up to ``limit`` categories scoring at
        least :data:`MIN_SCORE` — so possibly none (a thank-you note), never ``other`` at 0.0.
        ``prompt`` (Chinese) asks the resident to choose, except for ``likely``.  A text with fewer
        than :data:`MIN_KNOWN` known multi-character n-grams (blank, keyboard mashing, a script the
        corpus never had) is ``unsure``: the model has nothing to read.  Category ids:
        shared/GLOSSARY.md.  Accuracy: docs/suggest-accuracy.md.
    """
    model = load_model()
    names = category_names()
    probs, known = model.probabilities(text or "")
    verdict = verdict_of(probs, model.meta["thresholds"]) if known >= MIN_KNOWN else "unsure"
    order = list(names)
    ranked = sorted(((c, p) for c, p in probs.items() if c != NOT_A_COMPLAINT),
                    key=lambda kv: (-kv[1], order.index(kv[0])))
    if verdict == "mixed":
        chosen = ranked[:2]
    else:
        chosen = [kv for kv in ranked[: max(1, limit)] if kv[1] >= MIN_SCORE]
    return {
        "verdict": verdict,
        "prompt": PROMPTS[verdict],
        "not_a_complaint": round(probs.get(NOT_A_COMPLAINT, 0.0), 3),
        "suggestions": [{"category": c, "name": names[c], "score": round(p, 3)} for c, p in chosen],
    }


def suggest_categories(text: str | None, limit: int = 3) -> list[dict[str, Any]]:
    """Only the suggestion list of :func:`suggest` (``[{"category", "name", "score"}]``, best first)."""
    return suggest(text, limit)["suggestions"]
