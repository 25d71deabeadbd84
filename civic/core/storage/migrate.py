"""Moving a store key for key (``flask civic media migrate``, ``flask civic backup`` and ``restore``):
copy, then read every key back."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

from civic.core.errors import NotFound
from civic.core.storage.keys import digest_of


@dataclass
class CopyReport:
    """What :func:`copy_store` did: counts of keys, and each failed key with its reason."""

    total: int = 0
    copied: int = 0
    skipped: int = 0
    verified: int = 0
    failed: list[tuple[str, str]] = field(default_factory=list)


def copy_store(source, target, *, workers: int = 8, overwrite: bool = False,
               keys: list[str] | None = None) -> CopyReport:
    """Copy every key of ``source`` (or only ``keys``) into ``target``, then read every one back from
    ``target``.  Either store may be a folder or a bucket (anything with ``iter_keys``, ``head``,
    ``open`` and ``put``).

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

    keys = list(source.iter_keys()) if keys is None else sorted(keys)
    report = CopyReport(total=len(keys))
    bad: dict[str, str] = {}

    def copy(key: str) -> str:
        src = source.head(key)
        if src is None:
            bad[key] = "源存储中找不到"
            return "bad"
        have = None if overwrite else target.head(key)
        if have is not None and have.size == src.size and have.sha256 in (None, digest_of(key)):
            return "skipped"
        try:
            data = source.open(key)
        except NotFound:
            bad[key] = "源存储中找不到"
            return "bad"
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
