"""Suggest complaint categories from a complaint's text (``POST /api/v1/complaints/suggest``,
through ``civic.complaints.service.suggest``).

Weighted keywords over jieba segmentation: simple, explainable to a street office, and the keyword
lists are data (``civic/complaints/data/category_keywords.json``), not code.  Measured accuracy on
hand-labelled real messages: docs/suggest-accuracy.md (bench/suggest_accuracy.py).
"""

from __future__ import annotations

import json
import math
from collections import Counter
from functools import cache
from importlib import resources
from typing import Any

from civic.core.text import search_token_list

OTHER = "other"
KEYWORDS_RESOURCE = "data/category_keywords.json"


@cache
def load_keywords() -> dict[str, Any]:
    """The keyword file as loaded: ``{"categories": {id: {"name": str, "keywords": {word: weight}}}}``."""
    text = resources.files("civic.complaints").joinpath(KEYWORDS_RESOURCE).read_text(encoding="utf-8")
    return json.loads(text)


def category_names() -> dict[str, str]:
    """``{category id: Chinese name}`` for every category, in glossary order."""
    return {cid: c["name"] for cid, c in load_keywords()["categories"].items()}


def score_categories(text: str) -> dict[str, float]:
    """Raw keyword scores of the categories that match ``text`` (categories scoring 0 are left out).

    A keyword found ``n`` times (as a jieba search-mode token) adds ``weight * (1 + ln n)``: repeats
    count, with diminishing returns, so a long letter that mentions 物业 ten times is not a
    property-service complaint for that alone.
    """
    tokens = Counter(search_token_list(text))
    scores: dict[str, float] = {}
    for cid, category in load_keywords()["categories"].items():
        score = sum(
            weight * (1 + math.log(tokens[word]))
            for word, weight in category["keywords"].items()
            if tokens[word]
        )
        if score > 0:
            scores[cid] = score
    return scores


def suggest_categories(text: str | None, limit: int = 3) -> list[dict[str, Any]]:
    """Suggest up to ``limit`` complaint categories for a complaint's title and body.

    :param text: the complaint's text (callers pass title and body together); ``None``/blank allowed.
    :param limit: how many suggestions at most (at least 1 is returned).
    :returns: ``[{"category": id, "name": 中文名, "score": float}, ...]``, best first.  ``score`` is the
        category's share of all matched keyword weight (0..1, rounded to 3 places).  When no keyword
        matches the result is ``[{"category": "other", "name": "其他", "score": 0.0}]``.
        Category ids: shared/GLOSSARY.md (Complaints).
    """
    names = category_names()
    scores = score_categories(text or "")
    if not scores:
        return [{"category": OTHER, "name": names[OTHER], "score": 0.0}]
    total = sum(scores.values())
    order = list(names)
    ranked = sorted(scores.items(), key=lambda kv: (-kv[1], order.index(kv[0])))
    return [
        {"category": cid, "name": names[cid], "score": round(score / total, 3)}
        for cid, score in ranked[: max(1, limit)]
    ]
