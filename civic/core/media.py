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
  representation for an entitled viewer is :func:`links`, which for a ``blurred`` kind must be told
  whether that viewer sees the original (as :func:`opened` must), so a list never promises the
  original to a viewer the address would answer 409.
"""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from civic.core import audit
from civic.core.errors import NotFound
from civic.core.holders import keys_in_use  # noqa: F401  (part of this module's interface)

if TYPE_CHECKING:
    from civic.core.blur import Lookup

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
    :param blurred: a photo of a public place that is shown beyond the circle of the person who took
        it: those the domain does not let see the original get the blurred rendition
        (:mod:`civic.core.blur`), and the serving verb must say which a viewer gets (``original=``).
    :param reviewer: for a ``blurred`` kind, the domain's rule of who reviews its blur (adds a region
        by hand, removes a false one: :func:`civic.core.blur.review`): called with the actor and the
        arguments of ``route`` (``reviewer(actor, token=..., ...)``), it returns the photo as a
        :class:`civic.core.blur.ReviewTarget`, or raises the kind's 404 for one who may not see the
        photo and :func:`civic.core.blur.not_reviewer` (403 ``blur_review_not_allowed``) for one who
        may see it but not review it.  Its review routes are ``route`` + ``/blur``,
        ``/blur/regions`` and ``/blur/regions/<region_id>``, registered by the domain with
        :func:`civic.core.blur_routes.register_review_routes` (tests/foundation/test_blur_sweep.py).
    """

    name: str
    route: str
    entitled: str
    blurred: bool = False
    reviewer: Callable[..., Any] | None = None


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


def links(url: str, width: int | None = None, height: int | None = None, *, kind: str,
          display_key: str | None = None, original: bool | None = None, lookup: Lookup | None = None) -> dict[str, Any]:
    """The representation of one stored photo of ``kind`` for an entitled viewer: ``{"url",
    "thumbnail_url", "width", "height", "blur_status"}`` (pixels of the display copy).  Store keys are
    never shown.

    For a ``blurred`` kind the rule of :func:`civic.core.blur.state` applies, with ``original`` the
    owning domain's answer for this viewer (the same function its serving verb passes to
    :func:`opened`): ``blur_status`` is ``"original"``, ``"blurred"``, ``"pending"`` or ``"failed"``,
    and while pending or failed ``url`` and ``thumbnail_url`` are None (the address would answer 409
    ``photo_blur_pending``).  Any other kind: ``"original"`` and its URL.

    :param lookup: a :class:`civic.core.blur.Lookup` of the list's photos (:func:`civic.core.blur.lookup`),
        so a list reads its blur rows in one query; without it, one query for this photo.
    :raises KeyError: ``kind`` is not registered; ``lookup`` lacks the photo (programming errors).
    :raises ValueError: a ``blurred`` kind without ``display_key`` or ``original`` (a programming
        error: the link would tell every viewer ``"original"`` and give an address answering 409).
    """
    status = "original"
    if _KINDS[kind].blurred:
        if display_key is None or original is None:
            raise ValueError(f"media kind {kind!r} is blurred: its links need the photo's display_key and "
                             "whether the viewer sees the original")
        from civic.core import blur

        status = (lookup.state if lookup is not None else blur.state)(display_key, original=original)
    if status in ("pending", "failed"):
        return {"url": None, "thumbnail_url": None, "width": width, "height": height, "blur_status": status}
    return {"url": url, "thumbnail_url": f"{url}?size=thumb", "width": width, "height": height,
            "blur_status": status}


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
           detail: dict | None = None, original: bool | None = None) -> Opened:
    """Record that ``actor`` opened a file of ``kind`` belonging to ``object_type`` ``object_id``
    (audit action ``media.opened``, data ``{"kind", "size", "token", **detail}``: ``token`` is the
    token's first 8 characters, enough to tell two files apart without writing the address into
    the log; ``detail`` names the row within the object, e.g. ``{"proxy_id": 3}``), and return it.
    Call only after the entitlement check.

    For a ``blurred`` kind, ``original`` says whether this viewer may see the original; the files
    opened are then chosen by :func:`civic.core.blur.keys_for` (the one rule: the blurred rendition
    for everyone else), and ``data`` records ``"rendition"``.

    :raises KeyError: ``kind`` is not registered (a programming error).
    :raises ValueError: a ``blurred`` kind opened without ``original`` (a programming error).
    :raises Conflict: 409 ``photo_blur_pending``: the viewer may see only the blurred rendition and it
        does not exist yet; nothing is opened or audited.
    """
    k = _KINDS[kind]
    extra: dict[str, Any] = {}
    if k.blurred:
        if original is None:
            raise ValueError(f"media kind {kind!r} is blurred: say whether the viewer sees the original")
        from civic.core import blur

        keys = blur.keys_for(display_key, thumb_key, original=original)
        extra["rendition"] = "original" if keys[0] == display_key else "blurred"
        display_key, thumb_key = keys
    audit.record("media.opened", object_type, object_id, actor=actor, actor_role=actor_role,
                 data={"kind": kind, "size": "thumb" if size == "thumb" else "display",
                       "token": (token or "")[:8] or None, **(detail or {}), **extra})
    return Opened(kind=kind, display_key=display_key, thumb_key=thumb_key)


def respond(file: Opened, size: str | None = None):
    """The HTTP response for an :class:`Opened` file: the display copy, or the thumbnail when
    ``size == "thumb"`` (JPEG, ``nosniff``; ``Cache-Control: private, no-cache``, ``Vary:
    Authorization, Cookie`` and an ``ETag`` naming the file served, so a client revalidates and gets
    304 only while it holds the very rendition this viewer is served: see
    :func:`civic.core.photos.photo_response`).

    The bytes always come through civic, read from the store (a folder or a bucket) after the
    entitlement check, never as a redirect to a presigned bucket URL: the check and the audit then
    hold at the moment of reading, and no forwardable link exists (why: :mod:`civic.core.storage.s3`).

    :raises NotFound: ``media_not_found`` if the store lost the file.
    :raises CivicError: 503 ``media_unavailable`` if the bucket cannot be reached.
    """
    from civic.core.photos import photo_response

    return photo_response(file.display_key, file.thumb_key, size)
