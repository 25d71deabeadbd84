"""Serving stored files (photos, scans, attachments, vouchers): the one mechanism every domain uses.

Every file civic stores goes through the photo pipeline (:mod:`civic.core.photos`) into the
content-addressed store (:mod:`civic.core.storage`); a model keeps its ``display_key`` and
``thumb_key``.  A key is never an address: it is the hash of the bytes, so anyone who had the file
could find it, and it says nothing about who may see it.  Instead each stored file gets an
**access token** (:func:`new_token`: 256 random bits) and is served at a URL holding that token and
the id of the object it belongs to, to exactly those the owning domain entitles, every access
written to the audit log.  So a file is opened only by someone who (1) was shown its URL by an API
representation made for an entitled viewer, (2) is still entitled when asking, and (3) leaves a
trace (RULES.md §5: audit who looked at what).

The pieces:

* a **kind** (:class:`MediaKind`) names one sort of stored file (``"voting.proxy_scan"``), the
  route serving it and, in words, who is entitled.  The domain registers it (:func:`register_kind`)
  where its routes are; the core knows no domain.
* every model column holding a stored key carries ``info={"media": "<kind>"}``, so a test can sweep the metadata and check that every such column has a registered kind
  with a serving route (``tests/foundation/test_media_kinds.py``).
* a domain's serving verb checks the viewer's right to the object, then calls :func:`opened`,
  which writes the audit entry (``media.opened``) and returns the :class:`Opened` file; the route
  answers with :func:`respond`.  Refusals are 404 with the kind's ``not_found`` code, never 403: a
  viewer without the right learns nothing, not even that the file exists.
* a JSON list of stored photos (``[{"display_key", "thumb_key", "width", "height", "token"}]``)
  gets its tokens from :func:`with_tokens` and is looked up with :func:`find_token`; its
  representation for an entitled viewer is :func:`links`.
"""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from civic.core import audit
from civic.core.errors import NotFound

__all__ = [
    "MediaKind",
    "Opened",
    "find_token",
    "kinds",
    "links",
    "new_token",
    "not_found",
    "opened",
    "register_kind",
    "respond",
    "with_tokens",
]


@dataclass(frozen=True)
class MediaKind:
    """One sort of stored file.

    :param name: ``"<domain>.<what>"``, the value of the ``media`` info of its columns.
    :param route: the Flask URL rule serving it (``GET``), e.g.
        ``"/api/v1/votes/<int:vote_id>/proxy-scans/<token>"``.
    :param entitled: who may open it and why (the rule's source), for readers and the docs.
    """

    name: str
    route: str
    entitled: str


_KINDS: dict[str, MediaKind] = {}


def register_kind(kind: MediaKind) -> MediaKind:
    """Register ``kind`` (idempotent for the same definition).

    :raises ValueError: another definition under the same name (two domains must not share a kind).
    """
    have = _KINDS.get(kind.name)
    if have is not None and have != kind:
        raise ValueError(f"media kind {kind.name!r} registered twice, differently")
    _KINDS[kind.name] = kind
    return kind


def kinds() -> dict[str, MediaKind]:
    """Every registered kind, by name (a copy)."""
    return dict(_KINDS)


def new_token() -> str:
    """A fresh access token: 32 random bytes, URL-safe base64 (43 characters)."""
    return secrets.token_urlsafe(32)


def with_tokens(items: Iterable[dict] | None) -> list[dict]:
    """The stored-photo dicts of a JSON list, each with a ``token`` (a new one where missing).
    Returns new dicts (assigning the result marks a JSON column changed)."""
    return [dict(p, token=p.get("token") or new_token()) for p in (items or [])]


def find_token(items: Iterable[dict] | None, token: str) -> dict | None:
    """The entry of a stored-photo JSON list carrying ``token``, or None.  Compared in constant time."""
    if not token:
        return None
    for p in items or []:
        have = p.get("token")
        if have and hmac.compare_digest(str(have).encode(), str(token).encode()):
            return p
    return None


def links(url: str, width: int | None = None, height: int | None = None) -> dict[str, Any]:
    """The representation of one stored photo for an entitled viewer: ``{"url", "thumbnail_url",
    "width", "height"}`` (pixels of the display copy).  Store keys are never shown."""
    return {"url": url, "thumbnail_url": f"{url}?size=thumb", "width": width, "height": height}


def not_found(code: str, message: str = "找不到该文件") -> NotFound:
    """The refusal for a file the viewer may not open or that does not exist (the same answer)."""
    return NotFound(message, code=code)


@dataclass(frozen=True)
class Opened:
    """A stored file a viewer was found entitled to, and its access audited."""

    kind: str
    display_key: str
    thumb_key: str


def opened(kind: str, actor, object_type: str, object_id: Any, *, display_key: str, thumb_key: str,
           token: str | None = None, actor_role: str | None = None, size: str | None = None,
           detail: dict | None = None) -> Opened:
    """Record that ``actor`` opened a file of ``kind`` belonging to ``object_type`` ``object_id``
    (audit action ``media.opened``, data ``{"kind", "size", "token", **detail}``: ``token`` is the
    token's first 8 characters, enough to tell two files apart without writing the address into
    the log; ``detail`` names the row within the object, e.g. ``{"proxy_id": 3}``), and return it.
    Call only after the entitlement check.

    :raises KeyError: ``kind`` is not registered (a programming error).
    """
    _KINDS[kind]  # noqa: B018 -- an unregistered kind is a bug, caught by the first test that serves it
    audit.record("media.opened", object_type, object_id, actor=actor, actor_role=actor_role,
                 data={"kind": kind, "size": "thumb" if size == "thumb" else "display",
                       "token": (token or "")[:8] or None, **(detail or {})})
    return Opened(kind=kind, display_key=display_key, thumb_key=thumb_key)


def respond(file: Opened, size: str | None = None):
    """The HTTP response for an :class:`Opened` file: the display copy, or the thumbnail when
    ``size == "thumb"`` (JPEG, ``Cache-Control: private``, ``nosniff``; see
    :func:`civic.core.photos.photo_response`).

    The bytes always come through civic, read from the store (a folder or a bucket) after the
    entitlement check, never as a redirect to a presigned bucket URL: the check and the audit then
    hold at the moment of reading, and no forwardable link exists (why: :mod:`civic.core.storage.s3`).

    :raises NotFound: ``media_not_found`` if the store lost the file.
    :raises CivicError: 503 ``media_unavailable`` if the bucket cannot be reached.
    """
    from civic.core.photos import photo_response

    return photo_response(file.display_key, file.thumb_key, size)


def keys_in_use(keys) -> set[str]:
    """Which of the store ``keys`` some row still holds, in any column declaring a media kind
    (``info={"media": ...}``: a key column, or a JSON list of stored photos).

    The store is content-addressed: the same photo sent twice, to two domains, is one file.  So a
    domain deleting a file it no longer needs (a decided claim's document) deletes only the keys
    this returns nothing for.  Read from the metadata, so the core names no domain; one indexed or
    scanning query per column, meant for the few keys of one object, not for bulk purges.
    """
    import sqlalchemy as sa

    from civic.extensions import db

    keys = {k for k in keys if k}
    found: set[str] = set()
    if not keys:
        return found
    for table in db.metadata.sorted_tables:
        for col in table.columns:
            if not col.info.get("media"):
                continue
            if isinstance(col.type, sa.JSON):
                for key in keys - found:
                    if db.session.scalar(sa.select(sa.literal(1)).select_from(table).where(
                            sa.cast(col, sa.Text).contains(key)).limit(1)):
                        found.add(key)
            else:
                found |= set(db.session.scalars(sa.select(col).where(col.in_(sorted(keys))).distinct()))
    return found
