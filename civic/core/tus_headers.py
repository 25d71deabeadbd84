"""Reading the tus 1.0 request headers civic takes (``Upload-Metadata``, ``Upload-Checksum``): used by
:mod:`civic.core.resumable` (which re-exports them) and its routes.  Malformed headers are refused
with 400 and a stable code, never ignored."""

from __future__ import annotations

import base64
import binascii
import hashlib
import unicodedata

from civic.core.errors import BadRequest

__all__ = ["CHECKSUMS", "MAX_METADATA", "parse_checksum", "parse_metadata"]

CHECKSUMS = {"sha1": hashlib.sha1, "sha256": hashlib.sha256, "md5": hashlib.md5}
MAX_METADATA = 4096  # bytes of the Upload-Metadata header


def parse_metadata(header: str | None) -> dict[str, str]:
    """``Upload-Metadata`` (``key base64value,key2 base64value2``; a key may have no value) as text.

    :raises BadRequest: ``upload_metadata_invalid`` (too long, a key twice, a key with a control or
        format character, a value that is not base64 of UTF-8 text); ``invalid_text`` (a NUL in the header or in a decoded value, details
        ``{"reason", "key"}``: refused as in any other text a request sends, so the answer is the
        same on SQLite and PostgreSQL).
    """
    from civic.core.text import refuse_not_text

    out: dict[str, str] = {}
    if not header:
        return out
    refuse_not_text(header, header="Upload-Metadata")
    if len(header) > MAX_METADATA:
        raise BadRequest("Upload-Metadata 过长", code="upload_metadata_invalid", details={"max_bytes": MAX_METADATA})
    for pair in header.split(","):
        parts = pair.strip().split(" ")
        key = parts[0]
        # A key with a control or format character (U+0001, a bidirectional mark...) names nothing
        # civic reads: refused rather than silently ignored, as any other malformed pair.
        if not key or len(parts) > 2 or key in out or any(unicodedata.category(ch)[0] == "C" for ch in key):
            raise BadRequest("Upload-Metadata 格式有误", code="upload_metadata_invalid", details={"key": key[:40]})
        try:
            out[key] = base64.b64decode(parts[1], validate=True).decode("utf-8") if len(parts) == 2 else ""
        except (binascii.Error, UnicodeDecodeError, ValueError):
            raise BadRequest("Upload-Metadata 的值须为 UTF-8 文本的 base64", code="upload_metadata_invalid",
                             details={"key": key[:40]}) from None
        refuse_not_text(out[key], header="Upload-Metadata", key=key[:40])
    return out


def parse_checksum(header: str | None):
    """``Upload-Checksum: <algorithm> <base64 digest>`` as ``(name, hasher, digest bytes)`` or None.

    :raises BadRequest: ``checksum_algorithm_unsupported`` (not sha1/sha256/md5), ``checksum_invalid``.
    """
    if header is None:
        return None
    parts = header.strip().split(" ")
    if len(parts) != 2:
        raise BadRequest("Upload-Checksum 格式有误（算法 空格 base64 摘要）", code="checksum_invalid")
    name, value = parts[0].lower(), parts[1]
    if name not in CHECKSUMS:
        raise BadRequest("不支持的校验算法", code="checksum_algorithm_unsupported",
                         details={"algorithm": name[:20], "supported": sorted(CHECKSUMS)})
    try:
        digest = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise BadRequest("Upload-Checksum 的摘要须为 base64", code="checksum_invalid") from None
    return name, CHECKSUMS[name], digest
