"""Media in an S3-compatible bucket: Alibaba Cloud OSS, Tencent Cloud COS, Huawei OBS, MinIO, AWS.

Chosen by ``CIVIC_MEDIA_URL=s3://<bucket>[/<prefix>]?endpoint=…&region=…&addressing=virtual|path``
(:func:`civic.core.storage.parse_media_url`), with ``CIVIC_MEDIA_ACCESS_KEY`` /
``CIVIC_MEDIA_SECRET_KEY`` or, when both are unset, the standard AWS credential chain
(``AWS_ACCESS_KEY_ID``…, a profile, an instance role).  Several app servers and workers then share
the bucket instead of one NFS directory.

The object name of a key is ``<prefix>/<key>``, the key being the content address
(``aa/bb/<sha256>.<ext>``, :func:`civic.core.storage.key_for`) exactly as on the filesystem, so
``flask civic media migrate`` moves a filesystem store over key for key.  A ``put`` of the same bytes
writes the same object again (idempotent); each object carries its sha256 in its metadata
(``x-amz-meta-sha256``) and is sent with ``Content-MD5``, so the service refuses a body damaged on the
way.

**Serving goes through civic, never to the bucket directly.**  A photo is read from the bucket by the
app and sent in the response (:func:`civic.core.media.respond`), rather than answered with a redirect
to a short-lived presigned URL, because:

* the access check and the ``media.opened`` audit entry happen when the bytes are read, not minutes
  earlier: a presigned URL can be forwarded (to the party complained about, to a group chat) and
  opened by anyone until it expires, with no trace (RULES.md §5);
* the bucket stays private with no public endpoint, CORS or anti-leech rules to keep right, and the
  WeChat mini-program needs only civic's own domain in its download allow-list;
* the files are small (a display copy is a few hundred KB after the photo pipeline), so the app
  server's cost is one bucket read per opening, on the same cloud network.

Errors: a key the bucket does not hold is :class:`~civic.core.errors.NotFound` (``media_not_found``),
as on the filesystem; a bucket that cannot be reached, refuses the credentials or answers an error is
a 503 ``media_unavailable`` (logged with the service's own code), so the request fails whole and is
rolled back.
"""

from __future__ import annotations

import base64
import hashlib
import logging
import mimetypes
import threading
from collections.abc import Iterator

from civic.core.errors import CivicError, NotFound
from civic.core.storage import BucketLocation, StoredInfo, _not_found, digest_of, is_key, key_for

log = logging.getLogger(__name__)

_MISSING = {"NoSuchKey", "404", "NotFound"}
# One boto3 session per process: making a client on it takes milliseconds instead of a quarter of a
# second (the service's model is loaded once).  A session is not thread-safe, so clients are made
# under the lock; the clients themselves are.
_session = None
_session_lock = threading.Lock()


def _client(**kwargs):
    global _session
    import boto3

    with _session_lock:
        if _session is None:
            _session = boto3.session.Session()
        return _session.client("s3", **kwargs)


def unavailable(why: str = "") -> CivicError:
    """The 503 for a bucket that failed; ``why`` is the service's error code (``AccessDenied``,
    ``NoSuchBucket``) or the kind of connection failure, named in the message for the operator."""
    return CivicError(f"媒体存储暂时不可用{f'（{why}）' if why else ''}，请稍后重试",
                      code="media_unavailable", status=503)


class S3MediaStore:
    """The :class:`~civic.core.storage.MediaBackend` over one bucket (and prefix).

    :param location: the parsed ``CIVIC_MEDIA_URL``.
    :param access_key, secret_key: the bucket's credentials; both None: the AWS chain.

    The client: signature v4; the addressing style of ``location``; checksums only where an
    operation requires one (boto3's newer default CRC32 headers are refused by several
    S3-compatible services); 5 s to connect, 30 s to read, 3 attempts with the SDK's standard
    back-off; up to 20 pooled connections, shared by the threads of one process.
    """

    def __init__(self, location: BucketLocation, *, access_key: str | None = None,
                 secret_key: str | None = None) -> None:
        from botocore.config import Config

        self.location = location
        self.bucket = location.bucket
        self._prefix = f"{location.prefix}/" if location.prefix else ""
        config = Config(
            region_name=location.region,
            signature_version="s3v4",
            s3={"addressing_style": location.addressing},
            connect_timeout=5,
            read_timeout=30,
            retries={"mode": "standard", "max_attempts": 3},
            request_checksum_calculation="when_required",
            response_checksum_validation="when_required",
            max_pool_connections=20,
        )
        self.client = _client(endpoint_url=location.endpoint, aws_access_key_id=access_key,
                              aws_secret_access_key=secret_key, config=config)

    def __repr__(self) -> str:
        return f"S3MediaStore(s3://{self.bucket}/{self._prefix})"

    def object_name(self, key: str) -> str:
        """The bucket's name for ``key``: ``<prefix>/<key>``.  :raises NotFound: malformed key."""
        if not is_key(key):
            raise _not_found(key)
        return self._prefix + key

    def _call(self, op: str, key: str, **kwargs):
        """Run one client operation; a missing object raises ``KeyError``, any other failure the
        503 :func:`unavailable`."""
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            return getattr(self.client, op)(Bucket=self.bucket, **kwargs)
        except ClientError as exc:
            code = str(exc.response.get("Error", {}).get("Code", ""))
            if code in _MISSING:
                raise KeyError(key) from None
            log.error("media bucket %s: %s %s failed: %s", self.bucket, op, key, code or exc)
            raise unavailable(code) from exc
        except BotoCoreError as exc:
            log.error("media bucket %s: %s %s failed: %s", self.bucket, op, key, exc)
            raise unavailable(type(exc).__name__) from exc

    def put(self, data: bytes, ext: str) -> str:
        """Store ``data`` under its content key and return the key.  Storing the same bytes again
        writes the identical object (the key cannot change).

        :raises ValueError: bad ``ext``.  :raises CivicError: 503 ``media_unavailable``.
        """
        key = key_for(data, ext)
        self._call("put_object", key, Key=self.object_name(key), Body=data,
                   ContentMD5=base64.b64encode(hashlib.md5(data).digest()).decode(),  # noqa: S324 - integrity, not security
                   ContentType=mimetypes.guess_type(f"x.{key.rsplit('.', 1)[1]}")[0] or "application/octet-stream",
                   Metadata={"sha256": digest_of(key)})
        return key

    def open(self, key: str) -> bytes:
        """The stored bytes.  :raises NotFound: (``media_not_found``) bad or unknown key.
        :raises CivicError: 503 ``media_unavailable``."""
        name = self.object_name(key)
        try:
            body = self._call("get_object", key, Key=name)["Body"]
        except KeyError:
            raise _not_found(key) from None
        from botocore.exceptions import BotoCoreError

        try:
            with body:
                return body.read()
        except BotoCoreError as exc:  # the connection broke while reading
            log.error("media bucket %s: reading %s failed: %s", self.bucket, key, exc)
            raise unavailable(type(exc).__name__) from exc

    def head(self, key: str) -> StoredInfo | None:
        """Size and recorded sha256 of ``key``, or None if not stored (or malformed)."""
        try:
            name = self.object_name(key)
        except NotFound:
            return None
        try:
            meta = self._call("head_object", key, Key=name)
        except KeyError:
            return None
        return StoredInfo(size=int(meta["ContentLength"]), sha256=(meta.get("Metadata") or {}).get("sha256"))

    def exists(self, key: str) -> bool:
        """Whether ``key`` is stored.  A malformed key is simply not stored (no error)."""
        return self.head(key) is not None

    def delete(self, key: str) -> bool:
        """Remove ``key``; returns whether an object was there.  :raises NotFound: malformed key."""
        name = self.object_name(key)
        if self.head(key) is None:
            return False
        self._call("delete_object", key, Key=name)
        return True

    def iter_keys(self) -> Iterator[str]:
        """Every stored key under the prefix, in the bucket's order (by name).  Other objects in the
        bucket are skipped."""
        from botocore.exceptions import BotoCoreError, ClientError

        pages = self.client.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=self._prefix)
        try:
            for page in pages:
                for obj in page.get("Contents", []):
                    key = obj["Key"][len(self._prefix):]
                    if is_key(key):
                        yield key
        except (BotoCoreError, ClientError) as exc:
            log.error("media bucket %s: listing failed: %s", self.bucket, exc)
            why = exc.response.get("Error", {}).get("Code", "") if isinstance(exc, ClientError) else type(exc).__name__
            raise unavailable(str(why)) from exc
