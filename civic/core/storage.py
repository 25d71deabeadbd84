"""Content-addressed media storage.

A stored file's key is ``aa/bb/<sha256 of its bytes>.<ext>`` (``aa``/``bb`` are the first two byte pairs
of the hash, so no directory grows huge).  Naming by content means nobody can guess an address from a
sequence number, identical uploads are stored once, and ``put`` is idempotent.

:class:`MediaBackend` is the whole contract the photo pipeline relies on.  Two implementations:

* :class:`MediaStore`, files under ``MEDIA_DIR``: the embedded default, and a deployment whose app
  servers share one directory (NFS);
* :class:`civic.core.storage_s3.S3MediaStore`, objects in an S3-compatible bucket (Alibaba Cloud OSS,
  Tencent Cloud COS, Huawei OBS, MinIO, AWS), chosen by ``CIVIC_MEDIA_URL``.

Every caller gets its store from :func:`media_store` (the one place the setting is read); the keys
are the same in both, so a filesystem store moves into a bucket key for key
(:func:`copy_store`, ``flask civic media migrate``).
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol, runtime_checkable
from urllib.parse import parse_qsl, urlsplit

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


def is_key(key: object) -> bool:
    """Whether ``key`` is a well-formed content key (``aa/bb/<sha256>.<ext>``, the pairs matching)."""
    m = _KEY_RE.fullmatch(key) if isinstance(key, str) else None
    return m is not None and m["digest"][:2] == m["a"] and m["digest"][2:4] == m["b"]


def digest_of(key: str) -> str:
    """The sha256 hex digest a well-formed key names.  :raises NotFound: malformed key."""
    if not is_key(key):
        raise _not_found(key)
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
        if not is_key(key):
            raise _not_found(key)
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


@dataclass(frozen=True)
class StoredInfo:
    """What a store knows of one stored file without reading it: its size in bytes, and the sha256
    hex digest it recorded when the file was written (None where the store keeps none)."""

    size: int
    sha256: str | None = None


# ------------------------------------------------------------------------------------------ settings

_BUCKET_RE = re.compile(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")
_PREFIX_RE = re.compile(r"[A-Za-z0-9._-]+(/[A-Za-z0-9._-]+)*")
_REGION_RE = re.compile(r"[a-z0-9-]{1,40}")
ADDRESSING = ("virtual", "path")
_URL_OPTIONS = ("endpoint", "region", "addressing")


@dataclass(frozen=True)
class BucketLocation:
    """Where ``CIVIC_MEDIA_URL`` puts media: ``s3://<bucket>[/<prefix>][?endpoint=…&region=…&addressing=…]``.

    :param bucket: the bucket name (S3 rules: 3-63 lowercase letters, digits, dots, hyphens).
    :param prefix: a folder inside the bucket, without slashes at either end ("" for the root):
        object names are ``<prefix>/<key>``, so one bucket can hold several deployments.
    :param endpoint: the service's address, ``https://oss-cn-shanghai.aliyuncs.com`` (None: AWS's own).
    :param region: the signing region, ``cn-shanghai``, ``ap-shanghai``, ``cn-east-3`` (None: the SDK's
        default chain).
    :param addressing: ``"virtual"`` (``https://<bucket>.<endpoint host>/…``: what OSS, COS, OBS and
        AWS expect; the default) or ``"path"`` (``https://<endpoint host>/<bucket>/…``: MinIO and
        other servers without wildcard DNS).
    """

    bucket: str
    prefix: str = ""
    endpoint: str | None = None
    region: str | None = None
    addressing: str = "virtual"
    options: dict = field(default_factory=dict, compare=False, repr=False)


def parse_media_url(url: str) -> BucketLocation:
    """Read ``CIVIC_MEDIA_URL``.

    :raises ValueError: with a sentence naming the setting and what is wrong (scheme not ``s3``, a
        bucket name S3 refuses, a malformed prefix, an option civic does not know or given twice,
        an endpoint that is not an ``http(s)://host`` address, an unknown addressing style).
    """
    def bad(why: str) -> ValueError:
        return ValueError(f"CIVIC_MEDIA_URL={url!r}: {why} "
                          "(expected s3://<bucket>[/<prefix>][?endpoint=https://…&region=…&addressing=virtual|path])")

    parts = urlsplit(str(url).strip())
    if parts.scheme != "s3":
        raise bad("the scheme must be s3://")
    bucket = parts.netloc
    if not _BUCKET_RE.fullmatch(bucket) or ".." in bucket:
        raise bad(f"{bucket!r} is not a valid bucket name (3-63 lowercase letters, digits, '.', '-')")
    prefix = parts.path.removeprefix("/").removesuffix("/")
    if prefix and (not _PREFIX_RE.fullmatch(prefix) or {".", ".."} & set(prefix.split("/"))):
        raise bad(f"the prefix {prefix!r} may hold only letters, digits, '.', '_', '-' and single '/' "
                  "between names other than '.' and '..'")
    if parts.fragment:
        raise bad("no '#' part is allowed")
    pairs = parse_qsl(parts.query, keep_blank_values=True)
    options: dict[str, str] = {}
    for name, value in pairs:
        if name not in _URL_OPTIONS:
            raise bad(f"unknown option {name!r} (known: {', '.join(_URL_OPTIONS)})")
        if name in options:
            raise bad(f"option {name!r} given twice")
        options[name] = value
    endpoint = options.get("endpoint") or None
    if endpoint is not None:
        ep = urlsplit(endpoint)
        if ep.scheme not in ("http", "https") or not ep.hostname or ep.path not in ("", "/") \
                or ep.query or ep.username:
            raise bad(f"endpoint {endpoint!r} must be http(s)://host[:port] with nothing after it")
        endpoint = endpoint.rstrip("/")
    region = options.get("region") or None
    if region is not None and not _REGION_RE.fullmatch(region):
        raise bad(f"region {region!r} is not a region name")
    addressing = options.get("addressing") or "virtual"
    if addressing not in ADDRESSING:
        raise bad(f"addressing must be one of {', '.join(ADDRESSING)}, not {addressing!r}")
    return BucketLocation(bucket=bucket, prefix=prefix, endpoint=endpoint, region=region,
                          addressing=addressing, options=options)


def check_media_settings(config) -> None:
    """Refuse to start with media settings that cannot work (called by :func:`civic.create_app`).

    :raises RuntimeError: a ``CIVIC_MEDIA_URL`` :func:`parse_media_url` refuses; only one of
        ``CIVIC_MEDIA_ACCESS_KEY`` and ``CIVIC_MEDIA_SECRET_KEY`` set; ``boto3`` not installed.
    """
    url = config.get("MEDIA_URL")
    if not url:
        return
    try:
        parse_media_url(url)
    except ValueError as exc:
        raise RuntimeError(str(exc)) from None
    if bool(config.get("MEDIA_ACCESS_KEY")) != bool(config.get("MEDIA_SECRET_KEY")):
        raise RuntimeError("CIVIC_MEDIA_ACCESS_KEY and CIVIC_MEDIA_SECRET_KEY must be set together "
                           "(or neither, to use the standard AWS credential chain)")
    try:
        import boto3  # noqa: F401
    except ImportError:  # pragma: no cover - boto3 is a dependency
        raise RuntimeError("CIVIC_MEDIA_URL needs the boto3 package (pip install boto3)") from None


def media_store(app=None) -> MediaBackend:
    """The app's media store: the bucket of ``CIVIC_MEDIA_URL`` when set, else the folder
    ``MEDIA_DIR`` (the embedded default).  Every caller in civic gets its store here.

    The bucket's client is made once per app and setting (it holds a connection pool, and is
    thread-safe); a filesystem store costs nothing to make.
    """
    if app is None:
        from flask import current_app

        app = current_app._get_current_object()
    url = app.config.get("MEDIA_URL")
    if not url:
        return MediaStore(app.config["MEDIA_DIR"])
    settings = (url, app.config.get("MEDIA_ACCESS_KEY") or None, app.config.get("MEDIA_SECRET_KEY") or None)
    have = app.extensions.get("civic_media_store")
    if have is not None and have[0] == settings:
        return have[1]
    from civic.core.storage_s3 import S3MediaStore

    store = S3MediaStore(parse_media_url(url), access_key=settings[1], secret_key=settings[2])
    app.extensions["civic_media_store"] = (settings, store)
    return store


# ------------------------------------------------------------------------------------------ moving

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
