"""Chinese text: tidying what residents send, segmenting it for search, masking personal numbers.

Importing this module is cheap on purpose: jieba (about a second to load its dictionary) is imported
and initialised on first use of :func:`segment` or :func:`search_tokens`, never at app start-up.
"""

from __future__ import annotations

import json
import logging
import re
import threading
import unicodedata
from importlib import resources
from typing import Any

from civic.core.errors import BadRequest, ValidationFailed

# Excel writes a carriage return inside a cell as the literal escape ``_x000D_``; in exported files it is
# usually followed by the real line feed, and the pair means one line break.
_EXCEL_CR = re.compile(r"_x000[dD]_(?:\r\n|\r|\n)?")
# Everything str.splitlines() treats as a line boundary becomes "\n".
_LINE_BREAKS = re.compile(r"\r\n|[\r\v\f\x1c\x1d\x1e\x85\u2028\u2029]")
# Invisible format characters: zero-width space/non-joiner/joiner, word joiner, BOM.
_ZERO_WIDTH = re.compile(r"[\u200b\u200c\u200d\u2060\ufeff]")
# C0/C1 control characters that are neither whitespace nor line breaks (NUL, BEL, ESC for terminal
# colours, DEL...), and the bidirectional embeddings, overrides and isolates (U+202A..U+202E,
# U+2066..U+2069), which can make a text display as something else than it says (the "Trojan Source"
# trick): none belongs in a resident's text, and a staff member must read what was sent.
_CONTROLS = re.compile(r"[\x00-\x08\x0e-\x1b\x7f-\x84\x86-\x9f\u202a-\u202e\u2066-\u2069]")
# Any Unicode whitespace except "\n" (tab, NBSP U+00A0, ideographic space U+3000, thin spaces...).
_INLINE_SPACE = re.compile(r"[^\S\n]+")
_MANY_NEWLINES = re.compile(r"\n{3,}")


# NUL and lone UTF-16 surrogates ("\ud800") are not text: PostgreSQL refuses NUL in text (SQLite
# stores it) and no UTF-8 encoder takes a lone surrogate, so either would fail at the commit on one
# database and not the other.
NOT_TEXT = re.compile("[\x00\ud800-\udfff]")


def not_text_reason(value: str) -> str | None:
    """``"nul"`` or ``"lone_surrogate"`` for the first character of ``value`` that no database
    column of civic can hold, else None."""
    found = NOT_TEXT.search(value)
    return None if found is None else "nul" if found.group() == "\x00" else "lone_surrogate"


def refuse_not_text(value: str, **details: Any) -> None:
    """The one check every text that reaches the database from a request passes (JSON bodies:
    :class:`civic.core.api.CivicParser`; form fields: :mod:`civic.core.http`; tus metadata;
    ``Idempotency-Key``), so that the answer is the same on SQLite and PostgreSQL.

    :raises BadRequest: 400 ``invalid_text``, details ``{"reason": "nul" | "lone_surrogate", **details}``.
    """
    reason = not_text_reason(value)
    if reason:
        raise BadRequest("请求中含有无效字符（NUL 或不成对的 UTF-16 代理项）", code="invalid_text",
                         details={"reason": reason, **details})


def tidy(text: str, max_len: int | None = None) -> str:
    """Tidy the whitespace of a resident's text without dropping any visible character.

    - Excel's ``_x000D_`` escape, ``\\r\\n``, ``\\r`` and the other Unicode line separators become ``\\n``.
    - Zero-width characters (U+200B..U+200D, U+2060, U+FEFF) are removed, and so are control
      characters (NUL, BEL, ESC, DEL, C1) and the bidirectional embedding/override/isolate
      characters (U+202A..U+202E, U+2066..U+2069).
    - Every other whitespace run inside a line (spaces, tabs, NBSP U+00A0, ideographic space U+3000)
      becomes one ASCII space; whitespace at the start and end of each line is removed, which drops the
      ideographic-space paragraph indent (　　) Chinese texts carry.
    - Three or more consecutive newlines become two (one blank line keeps paragraphs apart).
    - The result is stripped and NFC-normalised (not NFKC, which would turn full-width punctuation
      such as ``，`` and ``（`` into ASCII).

    Guarantee: the non-whitespace characters of the input (apart from the ``_x000D_`` escape and the
    zero-width, control and bidirectional control characters) appear in the output, in the same order (up to canonical equivalence).

    :param text: the raw text.
    :param max_len: maximum length of the *tidied* text in characters (code points), or ``None``.
    :returns: the tidied text, possibly ``""``.
    :raises ValidationFailed: code ``text_too_long``, details ``{"max": max_len, "length": n}``.
    """
    if not isinstance(text, str):
        raise TypeError(f"tidy() takes str, not {type(text).__name__}")
    text = _EXCEL_CR.sub("\n", text)
    text = _LINE_BREAKS.sub("\n", text)
    text = _ZERO_WIDTH.sub("", text)
    text = _CONTROLS.sub("", text)
    text = _INLINE_SPACE.sub(" ", text)
    text = "\n".join(line.strip() for line in text.split("\n"))
    text = _MANY_NEWLINES.sub("\n\n", text).strip()
    text = unicodedata.normalize("NFC", text)
    if max_len is not None and len(text) > max_len:
        raise ValidationFailed(
            f"内容过长：最多 {max_len} 字，现有 {len(text)} 字",
            code="text_too_long",
            details={"max": max_len, "length": len(text)},
        )
    return text


def require_text(text: str | None, field: str, max_len: int | None = None) -> str:
    """Tidy a required text field; empty (or only whitespace) is refused.

    :param text: the raw value; ``None`` counts as empty.
    :param field: the field's name, echoed in the error details.
    :param max_len: as for :func:`tidy`.
    :returns: the tidied, non-empty text.
    :raises ValidationFailed: code ``text_required`` (details ``{"field": field}``) when nothing is left
        after tidying; code ``text_too_long`` (details ``{"field", "max", "length"}``) when too long.
    """
    try:
        tidied = tidy(text or "", max_len=max_len)
    except ValidationFailed as exc:
        exc.details = {"field": field, **exc.details}
        raise
    if not tidied:
        raise ValidationFailed("请填写内容", code="text_required", details={"field": field})
    return tidied


# --- segmentation -------------------------------------------------------------------------------

# Domain dictionaries loaded into jieba at initialisation, so that the full-text index and every query
# segment the same way whichever module touches jieba first.  (package, resource path, JSON layout:
# {"categories": {id: {"keywords": {word: weight}}}})  Registered by the app package on import
# (civic/__init__.py), before any text can be segmented: the core names no domain.
_DICTIONARIES: list[tuple[str, str]] = []

_jieba_lock = threading.Lock()
_jieba_ready = False


def register_dictionary(package: str, path: str) -> None:
    """Add a domain's keyword file (``path`` inside ``package``; layout
    ``{"categories": {id: {"keywords": {word: weight}}}}``) to the words jieba keeps whole.  Must
    run before the first segmentation; a later call raises ``RuntimeError`` rather than let the
    index and later queries segment differently."""
    if (package, path) in _DICTIONARIES:
        return
    if _jieba_ready:
        raise RuntimeError(f"dictionary {package}/{path} registered after jieba was initialised")
    _DICTIONARIES.append((package, path))


def domain_words() -> list[str]:
    """The words of civic's domain dictionaries (multi-character keywords), in file order."""
    words: list[str] = []
    for package, path in _DICTIONARIES:
        data = json.loads(resources.files(package).joinpath(path).read_text(encoding="utf-8"))
        for category in data["categories"].values():
            words.extend(w for w in category["keywords"] if len(w) > 1)
    return words


def _jieba() -> Any:
    """Return the jieba module, initialised once (thread-safe), quietly, with civic's domain words."""
    global _jieba_ready
    import jieba

    if not _jieba_ready:
        with _jieba_lock:
            if not _jieba_ready:
                # jieba logs "Building prefix dict ..." at DEBUG to stderr on initialisation.
                jieba.setLogLevel(logging.WARNING)
                jieba.initialize()
                for word in domain_words():
                    jieba.add_word(word)
                _jieba_ready = True
    return jieba


def segment(text: str) -> list[str]:
    """Segment Chinese text into words (jieba precise mode), whitespace tokens dropped.

    >>> segment("小区群租房扰民")  # doctest: +SKIP
    ['小区', '群租房', '扰民']
    """
    return [t for t in _jieba().lcut(text) if t.strip()]


def search_token_list(text: str) -> list[str]:
    """Search-mode tokens (jieba ``cut_for_search``) of the tidied text, as a list.

    Long words also yield their sub-words (``群租房`` -> ``群租``, ``群租房``) so a query for either
    matches.  Tokens are casefolded; tokens without any letter or digit (punctuation) are dropped.
    """
    tokens = (t.casefold() for t in _jieba().cut_for_search(tidy(text)))
    return [t for t in tokens if any(ch.isalnum() for ch in t)]


def search_tokens(text: str) -> str:
    """Space-joined :func:`search_token_list` for a full-text index.

    Index documents and queries with this same function (SQLite FTS5, PostgreSQL ``to_tsvector``
    with the ``simple`` configuration), so both sides segment alike.
    """
    return " ".join(search_token_list(text))


# --- personal numbers (PIPL) ---------------------------------------------------------------------

_PHONE_SEPARATORS = re.compile(r"[\s\-()（）]")


def mask_phone(phone: str | None) -> str | None:
    """Mask a phone number for display: ``"13812341234"`` -> ``"138****1234"``.

    Rule: PIPL (个人信息保护法) Arts. 6 and 51, as civic applies them in RULES.md §5: phone numbers are
    shown masked except to whom the law requires.  A ``+86`` / ``0086`` / ``86`` country prefix,
    spaces, dashes and brackets are ignored; the first three and last four digits stay, the rest
    become ``*``.  Anything shorter than 8 digits, or with other characters, is masked entirely
    (fail closed).  ``None`` passes through.
    """
    if phone is None:
        return None
    compact = _PHONE_SEPARATORS.sub("", phone)
    if compact.startswith("+"):
        compact = compact[1:]
    if not compact.isdigit() or not compact.isascii():
        return "*" * len(compact)
    if len(compact) == 13 and compact.startswith("86") or len(compact) == 15 and compact.startswith("0086"):
        compact = compact[-11:]
    if len(compact) < 8:
        return "*" * len(compact)
    return compact[:3] + "*" * (len(compact) - 7) + compact[-4:]


def mask_name(name: str | None) -> str | None:
    """Mask a person's name for display to staff: ``"张三"`` -> ``"张*"``, ``"欧阳娜娜"`` -> ``"欧***"``.

    Rule: PIPL, RULES.md §5 (collect and show only what a feature needs): the first character
    stays, every other becomes ``*`` (at least one, so a one-character name is masked too), as a
    complainant is shown by default.  Empty and ``None`` give ``None``.
    """
    if not name:
        return None
    return name[:1] + "*" * max(len(name) - 1, 1)


_ID_SEPARATORS = re.compile(r"[\s\-]")


def mask_id_number(id_number: str | None) -> str | None:
    """Mask a resident identity card number: ``"310101199001011234"`` -> ``"310101********1234"``.

    Rule: PIPL Arts. 28 and 51 (an ID number is sensitive personal information), RULES.md §5.
    18-character numbers keep the 6-digit region code and the last 4 characters and hide the birth
    date; old 15-digit numbers keep the region code and the 3-digit sequence.  Spaces and dashes are
    ignored and a final ``x`` is upper-cased.  Other shapes keep at most the last 4 characters
    (fail closed).  ``None`` passes through.
    """
    if id_number is None:
        return None
    compact = _ID_SEPARATORS.sub("", id_number).upper()
    if len(compact) == 18:
        return compact[:6] + "*" * 8 + compact[-4:]
    if len(compact) == 15:
        return compact[:6] + "*" * 6 + compact[-3:]
    if len(compact) >= 10:
        return "*" * (len(compact) - 4) + compact[-4:]
    return "*" * len(compact)
