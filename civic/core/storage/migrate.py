"""Moving a store key for key (``flask civic media migrate``): copy, then read every key back."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

from civic.core.errors import NotFound
from civic.core.storage.filesystem import MediaStore
from civic.core.storage.keys import digest_of


@dataclass
class CopyReport:
    """What :func:`copy_store` did: counts of keys, and each failed key with its reason."""

    total: int = 0
    copied: int = 0
    skipped: int = 0
    verified: int = 0
    failed: list[tuple[str, str]] = field(default_factory=list)


def copy_store(source: MediaStore, target, *, workers: int = 8, overwrite: bool = False) -> CopyReport:
    """Copy every key of ``source`` into ``target``, then read every one back from ``target``.

    1. Copy: a key ``target`` already holds with the same size (and, where ``target`` recorded one,
       the same sha256) is skipped; a source file whose bytes do not hash to its key is not copied
       (it is reported, and fails the check below); every other file is ``put``.
    2. Check: each key is read back from ``target`` and its sha256 compared with the digest the key
       names.  A skipped object that was damaged in the bucket is caught here (and repaired by a
       run with ``overwrite=True``, which copies every key whatever ``target`` holds).

    ``workers`` keys are handled at once (a bucket is far away; its client is thread-safe).
    Re-running after a failure copies only what is missing.

    :returns: the :class:`CopyReport`; ``failed`` lists ``(key, reason)``, sorted by key.
    """
    from concurrent.futures import ThreadPoolExecutor

    keys = list(source.iter_keys())
    report = CopyReport(total=len(keys))
    bad: dict[str, str] = {}

    def copy(key: str) -> str:
        src = source.path(key)
        have = None if overwrite else target.head(key)
        if have is not None and have.size == src.stat().st_size and have.sha256 in (None, digest_of(key)):
            return "skipped"
        data = src.read_bytes()
        if hashlib.sha256(data).hexdigest() != digest_of(key):
            bad[key] = "源文件内容与其键不符"
            return "bad"
        target.put(data, key.rsplit(".", 1)[1])
        return "copied"

    def check(key: str) -> bool:
        if key in bad:
            return False
        try:
            data = target.open(key)
        except NotFound:
            bad[key] = "存储中找不到"
            return False
        if hashlib.sha256(data).hexdigest() != digest_of(key):
            bad[key] = "读回内容的 sha256 与键不符"
            return False
        return True

    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        for outcome in pool.map(copy, keys):
            if outcome == "copied":
                report.copied += 1
            elif outcome == "skipped":
                report.skipped += 1
        report.verified = sum(pool.map(check, keys))
    report.failed = sorted(bad.items())
    return report
