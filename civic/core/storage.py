"""Content-addressed media storage.

A stored file's key is ``aa/bb/<sha256 of its bytes>.<ext>`` (``aa``/``bb`` are the first two byte pairs
of the hash, so no directory grows huge).  Naming by content means nobody can guess an address from a
sequence number, identical uploads are stored once, and ``put`` is idempotent.

:class:`MediaBackend` is the whole contract the photo pipeline relies on; :class:`MediaStore` is the
filesystem implementation.  An S3 backend only needs the same four methods (``put`` maps to a
``PutObject`` under the same key).
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
from pathlib import Path
from typing import Protocol, runtime_checkable

from civic.core.errors import NotFound

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


def key_for(data: bytes, ext: str) -> str:
    """The key ``data`` is stored under: ``"aa/bb/<sha256 hex>.<ext>"``.

    :raises ValueError: if ``ext`` is not 1-8 lowercase letters/digits (a leading dot is allowed).
    """
    ext = ext.lstrip(".")
    if not _EXT_RE.fullmatch(ext):
        raise ValueError(f"bad extension {ext!r}")
    digest = hashlib.sha256(data).hexdigest()
    return f"{digest[:2]}/{digest[2:4]}/{digest}.{ext}"


def _not_found(key: str) -> NotFound:
    return NotFound("找不到该文件", code="media_not_found", details={"key": str(key)[:200]})


class MediaStore:
    """Files under ``root``, named by the SHA-256 of their content.

    Writes are atomic: the bytes go to a temporary file in the target directory, are flushed (and, with
    ``fsync=True``, synced to disk), then ``os.replace``-d onto the final name, so a crash at any moment
    leaves either the whole file or nothing under its key.  Temporary names start with ``.tmp-`` and never
    match a key.
    """

    def __init__(self, root: str | os.PathLike[str], *, fsync: bool = True) -> None:
        self.root = Path(root)
        self.fsync = fsync

    def path(self, key: str) -> Path:
        """The filesystem path of ``key`` (which need not exist yet).

        :raises NotFound: (``media_not_found``) if ``key`` is not a well-formed content key — this is
            the guard against path traversal, since keys may come from clients.
        """
        m = _KEY_RE.fullmatch(key) if isinstance(key, str) else None
        if m is None or m["digest"][:2] != m["a"] or m["digest"][2:4] != m["b"]:
            raise _not_found(key)
        return self.root / m["a"] / m["b"] / f"{m['digest']}.{m['ext']}"

    def put(self, data: bytes, ext: str) -> str:
        """Store ``data`` and return its key (see :func:`key_for`).  Storing the same bytes twice is a
        no-op that returns the same key.

        :raises ValueError: bad ``ext``.  :raises OSError: the disk write failed (nothing is left behind).
        """
        key = key_for(data, ext)
        final = self.path(key)
        if final.exists():
            return key
        final.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".tmp-", dir=final.parent)
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(data)
                f.flush()
                if self.fsync:
                    os.fsync(f.fileno())
            # mkstemp creates 0600; stored media is meant to be served (e.g. by the web server).
            os.chmod(tmp, 0o644)
            os.replace(tmp, final)
        except BaseException:
            try:
                os.unlink(tmp)
            except FileNotFoundError:
                pass
            raise
        return key

    def open(self, key: str) -> bytes:
        """The stored bytes.  :raises NotFound: (``media_not_found``) bad or unknown key."""
        try:
            return self.path(key).read_bytes()
        except FileNotFoundError:
            raise _not_found(key) from None

    def exists(self, key: str) -> bool:
        """Whether ``key`` is stored.  A malformed key is simply not stored (no error)."""
        try:
            return self.path(key).is_file()
        except NotFound:
            return False

    def delete(self, key: str) -> bool:
        """Remove ``key``; returns whether a file was removed.  :raises NotFound: malformed key."""
        try:
            self.path(key).unlink()
        except FileNotFoundError:
            return False
        return True
