"""Content keys: the address a stored file gets from its bytes, and the contract every store keeps.

A key is ``aa/bb/<sha256 of the bytes>.<ext>`` (``aa``/``bb`` are the first two byte pairs of the
hash, so no directory or listing grows huge).  Only strings of exactly that shape are keys: the
stores refuse anything else (the guard against path traversal, since keys may come from clients).
"""

from __future__ import annotations

import hashlib
import logging
import re
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from civic.core.errors import NotFound

log = logging.getLogger(__name__)

# Only keys of exactly this shape are ever turned into paths: no "..", no absolute paths, no other names.
_KEY_RE = re.compile(
    r"(?P<a>[0-9a-f]{2})/(?P<b>[0-9a-f]{2})/(?P<digest>[0-9a-f]{64})\.(?P<ext>[a-z0-9]{1,8})"
)
_EXT_RE = re.compile(r"[a-z0-9]{1,8}")


@runtime_checkable
class MediaBackend(Protocol):
    """What the photo pipeline needs from a store.  Keys are the strings ``put`` returns."""

    def put(self, data: bytes, ext: str) -> str: ...

    def open(self, key: str) -> bytes: ...

    def exists(self, key: str) -> bool: ...

    def delete(self, key: str) -> bool: ...


def is_key(key: object) -> bool:
    """Whether ``key`` is a well-formed content key (``aa/bb/<sha256>.<ext>``, the pairs matching)."""
    m = _KEY_RE.fullmatch(key) if isinstance(key, str) else None
    return m is not None and m["digest"][:2] == m["a"] and m["digest"][2:4] == m["b"]


def digest_of(key: str) -> str:
    """The sha256 hex digest a well-formed key names.  :raises NotFound: malformed key."""
    if not is_key(key):
        raise not_found(key)
    return key.rsplit("/", 1)[1].split(".", 1)[0]


def key_for(data: bytes, ext: str) -> str:
    """The key ``data`` is stored under: ``"aa/bb/<sha256 hex>.<ext>"``.

    :raises ValueError: if ``ext`` is not 1-8 lowercase letters/digits (a leading dot is allowed).
    """
    ext = ext.lstrip(".")
    if not _EXT_RE.fullmatch(ext):
        raise ValueError(f"bad extension {ext!r}")
    digest = hashlib.sha256(data).hexdigest()
    return f"{digest[:2]}/{digest[2:4]}/{digest}.{ext}"


def not_found(key: str) -> NotFound:
    """The refusal for a malformed key or a key the store does not hold (``media_not_found``, no
    details).  The key goes to the log (a file lost from the store is the operator's to find), never
    into the answer: a key is the hash of the bytes, and it is never shown (:mod:`civic.core.media`)."""
    log.warning("media store: no file under key %r", str(key)[:200])
    return NotFound("找不到该文件", code="media_not_found")


@dataclass(frozen=True)
class StoredInfo:
    """What a store knows of one stored file without reading it: its size in bytes, and the sha256
    hex digest it recorded when the file was written (None where the store keeps none)."""

    size: int
    sha256: str | None = None
