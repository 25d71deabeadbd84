"""Media in an S3-compatible bucket: Alibaba Cloud OSS, Tencent Cloud COS, Huawei OBS, MinIO, AWS.

Chosen by ``CIVIC_MEDIA_URL=s3://<bucket>[/<prefix>]?endpoint=…&region=…&addressing=virtual|path``
(:func:`parse_media_url`), with ``CIVIC_MEDIA_ACCESS_KEY`` /
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
import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from urllib.parse import parse_qsl, urlsplit

from civic.core.errors import CivicError, NotFound
from civic.core.storage.keys import StoredInfo, digest_of, is_key, key_for, not_found

log = logging.getLogger(__name__)

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
            raise not_found(key)
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
            raise not_found(key) from None
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
