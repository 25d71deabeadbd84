"""The filesystem store: files under ``MEDIA_DIR`` (the embedded default, or one directory that every
app server shares, e.g. NFS)."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

from civic.core.errors import NotFound
from civic.core.storage.keys import StoredInfo, is_key, key_for, not_found


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
        if not is_key(key):
            raise not_found(key)
        return self.root / key

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
            raise not_found(key) from None

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

    def head(self, key: str) -> StoredInfo | None:
        """The stored file's size (no digest: the filesystem records none), or None if ``key`` is
        not stored (or malformed)."""
        try:
            return StoredInfo(size=self.path(key).stat().st_size)
        except (NotFound, FileNotFoundError):
            return None

    def iter_keys(self) -> Iterator[str]:
        """Every stored key, sorted.  Temporary files and anything else not shaped like a key are
        skipped."""
        if not self.root.is_dir():
            return
        for path in sorted(self.root.glob("??/??/*")):
            key = path.relative_to(self.root).as_posix()
            if is_key(key) and path.is_file():
                yield key
