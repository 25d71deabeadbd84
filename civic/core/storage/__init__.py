"""Content-addressed media storage.

A stored file's key is ``aa/bb/<sha256 of its bytes>.<ext>`` (:mod:`civic.core.storage.keys`).
Naming by content means nobody can guess an address from a sequence number, identical uploads are
stored once, and ``put`` is idempotent.

:class:`MediaBackend` is the whole contract the photo pipeline relies on.  Two implementations:

* :class:`MediaStore` (:mod:`~civic.core.storage.filesystem`), files under ``MEDIA_DIR``: the
  embedded default, and a deployment whose app servers share one directory (NFS);
* :class:`S3MediaStore` (:mod:`~civic.core.storage.s3`), objects in an S3-compatible bucket
  (Alibaba Cloud OSS, Tencent Cloud COS, Huawei OBS, MinIO, AWS), chosen by ``CIVIC_MEDIA_URL``.

Every caller gets its store from :func:`media_store` (the one place the setting is read); the keys
are the same in both, so a filesystem store moves into a bucket key for key
(:func:`~civic.core.storage.migrate.copy_store`, ``flask civic media migrate``).
"""

from __future__ import annotations

from civic.core.storage.filesystem import MediaStore
from civic.core.storage.keys import MediaBackend, StoredInfo, digest_of, is_key, key_for, not_found
from civic.core.storage.migrate import CopyReport, copy_store
from civic.core.storage.s3 import BucketLocation, S3MediaStore, parse_media_url

__all__ = [
    "BucketLocation",
    "CopyReport",
    "MediaBackend",
    "MediaStore",
    "S3MediaStore",
    "StoredInfo",
    "check_media_settings",
    "copy_store",
    "digest_of",
    "is_key",
    "key_for",
    "media_store",
    "not_found",
    "parse_media_url",
]


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
    store = S3MediaStore(parse_media_url(url), access_key=settings[1], secret_key=settings[2])
    app.extensions["civic_media_store"] = (settings, store)
    return store
