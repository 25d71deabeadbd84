"""Residents' claims to units, their verification, and unlinking.

Verbs: submit_claim, my_claims, claim_queue, claim_for_reader, confirm_claim, refuse_claim,
claim_document, my_units, unlink; the helpers verifier_of and claim_view.

Who holds the truth for a unit (who verifies a claim):

* an owner's or co-owner's claim on a unit listed on a certified owners' roster (上海市住宅物业管理
  规定 Art. 16: the roster is certified and published by the owners' committee): confirmed at once
  when the name and phone match an owner on that roster (civic.voting.roster.roster_match), else
  decided by the owners' committee covering the unit;
* any other claim (no certified roster lists the unit, or a tenant's): decided by the residents'
  committee or the property company covering the unit, against the document the resident uploaded
  (a photo of the 不动产权证 or the lease; required for an owner's claim, optional for a tenant's);
* a tenant's claim may also be decided by an owner or co-owner of the unit (it is their lease);
* administrators may decide any claim.

An owner's or co-owner's claim confirmed against the roster (by the match, or by the owners'
committee) also ties the account to that owner's entry on the roster, when exactly one owner of the
unit there bears the claimed name and no other account holds it
(civic.voting.roster.link_confirmed_owner): the resident then votes as that owner.  Unlinking from
the unit leaves the roster entry alone: the roster is the committee's certified record, changed only
by a new version of it.

The document is served only to those verifiers (never to the claimant or anyone else: PIPL Art. 6,
minimum necessary) and is deleted once the claim is decided (PIPL Art. 19: kept no longer than the
purpose needs).

Order in every decision (docs/architecture.md): the claim as its GET reads it (404 to whoever may
not see it), then who may decide (403), then its state (409): a decided claim, or two verifiers
deciding at once (a conditional UPDATE: exactly one wins, the other gets 409 ``claim_decided``).
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from civic.accounts import service as accounts
from civic.accounts.memberships import acting_memberships
from civic.core import audit, media
from civic.core.db import after_commit, insert_once, utcnow
from civic.core.errors import Conflict, Forbidden, NotFound, ValidationFailed
from civic.core.pagination import DEFAULT_LIMIT, encode_cursor, paginate
from civic.core.photos import process_photo
from civic.core.storage import media_store
from civic.core.text import require_text
from civic.extensions import db
from civic.property import service as registry
from civic.property.models import RESIDENT_RELATIONS
from civic.residents.models import UnitClaim
from civic.voting import roster as rosters

API = "/api/v1"
DOCUMENT_CHECKERS = ("residents_committee", "property_company")
ROSTER_KEEPER = ("owners_committee",)
UNLINKERS = ("residents_committee", "owners_committee")
RELATION_NAMES = {"owner": "业主", "co_owner": "共有人", "tenant": "租户"}

CLAIM_DOCUMENT = media.register_kind(media.MediaKind(
    "residents.claim_document", "/api/v1/unit-claims/<int:claim_id>/document/<token>",
    "only whoever verifies the claim (civic.residents.service.verifier_of: the owners' committee for a "
    "unit on a certified roster, else the residents' committee or property company covering the unit; "
    "the unit's owner for a tenant's claim; administrators), and only while it is pending: the file is "
    "deleted once the claim is decided (PIPL Arts. 6, 19); never the claimant's neighbours"))


def _not_found(claim_id) -> NotFound:
    return NotFound("找不到该房屋认领申请", code="claim_not_found", details={"claim_id": claim_id})


def _unit(unit_id: int):
    """The unit, or 404 ``unit_not_found`` (also for a place that is not a unit)."""
    try:
        place = registry.get_place(unit_id)
    except NotFound:
        place = None
    if place is None or place.kind != "unit":
        raise NotFound("找不到该户", code="unit_not_found", details={"unit_id": unit_id})
    return place


def _on_roster(claim: UnitClaim) -> bool:
    return claim.relation != "tenant" and rosters.roster_match(claim.unit_id, "", None)["roster_id"] is not None


def _staff_org(actor, unit_id: int, kinds: tuple[str, ...]):
    for _m, org in acting_memberships(actor, org_kinds=kinds):
        if registry.organisation_covers(org.id, unit_id):
            return org
    return None


def verifier_of(claim: UnitClaim, actor) -> str | None:
    """What ``actor`` verifies ``claim`` as (``"admin"``, ``"owners_committee"``,
    ``"residents_committee"``, ``"property_company"``, ``"owner"``), or None if they may not.
    The rule is the module's docstring."""
    if actor.kind == "admin":
        return "admin"
    if actor.kind == "staff":
        org = _staff_org(actor, claim.unit_id, ROSTER_KEEPER if _on_roster(claim) else DOCUMENT_CHECKERS)
        return org.kind if org is not None else None
    if actor.kind == "resident" and claim.relation == "tenant" and actor.id != claim.user_id:
        link = registry.link_of(actor.id, claim.unit_id)
        if link is not None and link.relation in ("owner", "co_owner"):
            return "owner"
    return None


def _role(actor, via: str | None) -> str:
    return actor.kind if via in (None, "admin", "owner") else f"{actor.kind}:{actor.id}@{via}"


def claim_view(claim: UnitClaim, actor, names: dict[int, str] | None = None) -> dict:
    """The claim as shown to ``actor``: the claimant sees their own; a verifier also sees the
    claimant's masked phone and, while pending, the document's address."""
    from civic.core.text import mask_phone

    names = names if names is not None else registry.unit_full_names([claim.unit_id])
    out = {"id": claim.id, "unit_id": claim.unit_id, "unit_name": names.get(claim.unit_id, ""),
           "relation": claim.relation, "claimed_name": claim.claimed_name, "status": claim.status,
           "decided_via": claim.decided_via, "decided_at": claim.decided_at,
           "refusal_reason": claim.refusal_reason, "created_at": claim.created_at,
           "claimant_phone_masked": None, "document_url": None}
    if actor.id != claim.user_id:
        user = accounts.users_by_ids([claim.user_id]).get(claim.user_id)
        out["claimant_phone_masked"] = mask_phone(user.phone) if user is not None else None
        if claim.document_token and claim.status == "pending":
            out["document_url"] = f"{API}/unit-claims/{claim.id}/document/{claim.document_token}"
    return out


# --- submitting ---------------------------------------------------------------------------------------

def submit_claim(actor, data: dict, document: tuple[str, bytes] | None) -> tuple[UnitClaim, dict]:
    """A resident claims a unit as ``owner``, ``co_owner`` or ``tenant``.

    :param data: ``{"unit_id": int, "relation": str, "claimed_name": str}`` (the name as on the
        certificate or lease).
    :param document: ``(file name, bytes)`` of a photo of the 不动产权证 or lease, or None; goes
        through the photo pipeline (EXIF and GPS stripped) into the media store.
    :returns: ``(claim, view)``; the claim is already ``confirmed`` (``decided_via="roster"``) when the
        unit is on a certified roster and the name and the account's phone match one of its owners.
    :raises NotFound: ``unit_not_found``.  :raises ValidationFailed: ``relation_invalid``,
        ``text_required``, ``claim_document_required`` (an owner's claim with no roster to check it
        against needs the document), the pipeline's photo errors.  :raises Conflict: ``already_linked``
        (the resident is already tied to the unit), ``claim_duplicate`` (a pending claim of theirs
        for the unit exists).  Nothing is stored on any error.
    """
    unit = _unit(data["unit_id"])
    relation = data.get("relation")
    if relation not in RESIDENT_RELATIONS:
        raise ValidationFailed("关系须为 owner（业主）、co_owner（共有人）或 tenant（租户）",
                               code="relation_invalid", details={"relation": relation})
    name = require_text(data.get("claimed_name"), "claimed_name", 100)
    if registry.link_of(actor.id, unit.id) is not None:
        raise Conflict("您已关联该户", code="already_linked", details={"unit_id": unit.id})
    pending = db.session.scalar(sa.select(UnitClaim.id).where(
        UnitClaim.unit_id == unit.id, UnitClaim.user_id == actor.id, UnitClaim.status == "pending"))
    duplicate = Conflict("您对该户已有待审核的认领申请", code="claim_duplicate",
                         details={"unit_id": unit.id, "claim_id": pending})
    if pending is not None:
        raise duplicate
    match = rosters.roster_match(unit.id, name, actor.phone) if relation != "tenant" else {"roster_id": None,
                                                                                            "match": False}
    if relation != "tenant" and match["roster_id"] is None and document is None:
        raise ValidationFailed("该户没有已公布的业主名册，请上传不动产权证照片", code="claim_document_required")
    claim = insert_once(UnitClaim(unit_id=unit.id, user_id=actor.id, relation=relation, claimed_name=name),
                        duplicate)
    audit.record("unit_claim.submit", "unit_claim", claim.id, actor=actor,
                 data={"unit_id": unit.id, "relation": relation, "document": document is not None})
    if match["match"]:
        _decide(claim, actor, "confirmed", via="roster", reason=None, system=True)
    elif document is not None:
        stored = process_photo(document[1], name=document[0], store=media_store(), read_gps=False)
        claim.document_key, claim.document_thumb_key = stored.display_key, stored.thumb_key
        claim.document_token = media.new_token()
        db.session.flush()
    return claim, claim_view(claim, actor)


def my_claims(actor) -> list[dict]:
    """The resident's own claims, newest first."""
    claims = list(db.session.scalars(sa.select(UnitClaim).where(UnitClaim.user_id == actor.id)
                                     .order_by(UnitClaim.id.desc())))
    names = registry.unit_full_names(c.unit_id for c in claims)
    return [claim_view(c, actor, names) for c in claims]


# --- reading and deciding ---------------------------------------------------------------------------

def _visible(claim: UnitClaim | None, actor) -> bool:
    return claim is not None and (claim.user_id == actor.id or verifier_of(claim, actor) is not None)


def claim_for_reader(actor, claim_id: int) -> dict:
    """One claim, for the claimant and its verifiers (:func:`verifier_of`).

    :raises NotFound: ``claim_not_found`` (unknown, or not theirs to see: the same answer).
    """
    claim = db.session.get(UnitClaim, claim_id)
    if not _visible(claim, actor):
        raise _not_found(claim_id)
    return claim_view(claim, actor)


def claim_queue(actor, status: str | None = "pending", *, cursor: str | None = None,
                limit: int = DEFAULT_LIMIT) -> tuple[list[dict], str | None]:
    """The claims ``actor`` may decide (the verifier's queue), oldest first, a page of at most
    ``limit`` with the cursor of the next (:mod:`civic.core.pagination`; None on the last page):
    staff see the units their organisations cover (as :func:`verifier_of` says), an owner the
    tenants' claims on their units, administrators every claim.  ``status`` filters (default
    ``pending``; None for all).

    :raises BadRequest: ``cursor_invalid``.
    """
    stmt = sa.select(UnitClaim)
    if status:
        stmt = stmt.where(UnitClaim.status == status)
    if actor.kind == "staff":
        paths = [p for _m, org in acting_memberships(actor, org_kinds=ROSTER_KEEPER + DOCUMENT_CHECKERS)
                 for p in registry.covered_place_paths(org.id)]
        stmt = stmt.where(UnitClaim.unit_id.in_(registry.unit_ids_under_stmt(paths)))
    elif actor.kind == "resident":
        owned = [link.unit_id for link, _p in registry.units_of_resident(actor.id)
                 if link.relation in ("owner", "co_owner")]
        stmt = stmt.where(UnitClaim.unit_id.in_(owned), UnitClaim.relation == "tenant",
                          UnitClaim.user_id != actor.id)
    elif actor.kind != "admin":
        return [], None
    # The SQL narrows to the units the actor's organisations cover; verifier_of then keeps those
    # it decides (a roster keeper or a document checker, by whether a certified roster lists the
    # unit).  Pages are read until ``limit`` claims are kept or the rows run out.
    claims: list[UnitClaim] = []
    after, next_cursor = cursor, None
    while True:
        rows, more = paginate(stmt, [UnitClaim.id], cursor=after, limit=limit, descending=False)
        for c in rows:
            if verifier_of(c, actor):
                claims.append(c)
                if len(claims) == limit:
                    break
        if len(claims) == limit:
            next_cursor = encode_cursor([claims[-1].id]) if (more or c is not rows[-1]) else None
            break
        if more is None:
            break
        after = more
    names = registry.unit_full_names(c.unit_id for c in claims)
    return [claim_view(c, actor, names) for c in claims], next_cursor


def _claim_to_decide(actor, claim_id: int) -> tuple[UnitClaim, str]:
    claim = db.session.get(UnitClaim, claim_id)
    if not _visible(claim, actor):
        raise _not_found(claim_id)
    via = verifier_of(claim, actor)
    if via is None:
        raise Forbidden("您不能审核该认领申请", code="claim_not_verifier", details={"claim_id": claim_id})
    return claim, via


def _decide(claim: UnitClaim, actor, status: str, *, via: str, reason: str | None, system: bool = False) -> None:
    # The conditional UPDATE is the lock: of two verifiers deciding at once, exactly one changes
    # the row (the other's UPDATE then matches nothing: PostgreSQL re-checks the WHERE after the
    # first commits; SQLite takes the one write lock).
    now = utcnow()
    done = db.session.execute(sa.update(UnitClaim).where(UnitClaim.id == claim.id, UnitClaim.status == "pending")
                              .values(status=status, decided_via=via, decided_by_id=actor.id, decided_at=now,
                                      refusal_reason=reason, document_key=None, document_thumb_key=None,
                                      document_token=None, updated_at=now)
                              .execution_options(synchronize_session=False))
    if done.rowcount != 1:
        raise Conflict("该认领申请已被审核", code="claim_decided", details={"claim_id": claim.id})
    keys = [k for k in (claim.document_key, claim.document_thumb_key) if k]
    db.session.refresh(claim)
    person = None
    if status == "confirmed":
        linked = Conflict("该居民已关联该户", code="already_linked", details={"unit_id": claim.unit_id})
        if registry.link_of(claim.user_id, claim.unit_id) is not None:
            raise linked
        user = accounts.users_by_ids([claim.user_id])[claim.user_id]
        try:  # a register import tying the same resident at this moment: 409, not a 500
            with db.session.begin_nested():
                registry.link_resident(user, _unit(claim.unit_id), claim.relation)
        except IntegrityError as exc:
            raise linked from exc
        if via in ("roster", "owners_committee") and claim.relation in ("owner", "co_owner"):
            # What a resident may do follows from the link: an owner confirmed against the roster
            # votes for their head without a second proof (civic.voting.roster.link_confirmed_owner).
            person = rosters.link_confirmed_owner(claim.unit_id, claim.claimed_name, claim.user_id, via=via,
                                                  actor=None if system else actor)
    audit.record(f"unit_claim.{'confirm' if status == 'confirmed' else 'refuse'}", "unit_claim", claim.id,
                 actor=None if system else actor, actor_role="system" if system else _role(actor, via),
                 note=reason, data={"via": via, "unit_id": claim.unit_id, "user_id": claim.user_id,
                                    "relation": claim.relation, "document_deleted": bool(keys),
                                    "roster_person_id": person})
    if keys:
        _delete_after_commit(keys)


def _delete_after_commit(keys: list[str]) -> None:
    """Delete a decided claim's document from the media store once the decision is committed,
    unless another row still holds the same file (content-addressed: the same photo sent twice, as
    another claim's document or a case's photo, is one file): :func:`civic.core.media.keys_in_use`,
    asked after this claim's keys were cleared."""
    doomed = sorted(set(keys) - media.keys_in_use(keys))
    store = media_store()

    def delete():
        for key in doomed:
            store.delete(key)

    after_commit(delete)


def confirm_claim(actor, claim_id: int) -> dict:
    """A verifier confirms a claim: the resident is tied to the unit with the claimed relation.

    :raises NotFound: ``claim_not_found``.  :raises Forbidden: ``claim_not_verifier`` (e.g. staff of
        an organisation that does not cover the unit, or the property company for a unit on a
        certified roster).  :raises Conflict: ``claim_decided`` (already decided, or decided by
        another verifier at the same moment), ``already_linked``.
    """
    claim, via = _claim_to_decide(actor, claim_id)
    _decide(claim, actor, "confirmed", via=via, reason=None)
    return claim_view(claim, actor)


def refuse_claim(actor, claim_id: int, reason: str) -> dict:
    """A verifier refuses a claim with a reason the resident sees.

    :raises NotFound: ``claim_not_found``.  :raises Forbidden: ``claim_not_verifier``.
    :raises Conflict: ``claim_decided``.  :raises ValidationFailed: ``text_required`` (no reason).
    """
    claim, via = _claim_to_decide(actor, claim_id)
    if claim.status != "pending":
        raise Conflict("该认领申请已被审核", code="claim_decided", details={"claim_id": claim.id})
    _decide(claim, actor, "refused", via=via, reason=require_text(reason, "reason", 500))
    return claim_view(claim, actor)


def may_decide(actor, claim_id: int) -> bool:
    """Whether ``actor`` may decide the claim now (a verifier, and the claim pending): what the
    console offers."""
    claim = db.session.get(UnitClaim, claim_id)
    return claim is not None and claim.status == "pending" and verifier_of(claim, actor) is not None


def claim_document(actor, claim_id: int, token: str | None, size: str | None = None) -> media.Opened:
    """The claim's document, for its verifiers only, while it is pending.  Audited (``media.opened``).

    :param token: the address's token; None only for the console's claim page (behind its login,
        by the claim's id: the same entitlement and audit).
    :raises NotFound: ``claim_document_not_found`` (unknown, decided, or not a verifier).
    """
    claim = db.session.get(UnitClaim, claim_id)
    ok = (claim is not None and claim.document_token and claim.status == "pending"
          and (token is None or media.find_token([{"token": claim.document_token}], token)))
    token = token or (claim.document_token if claim is not None else None)
    via = verifier_of(claim, actor) if ok else None
    if via is None:
        raise media.not_found("claim_document_not_found", "找不到该证明材料")
    return media.opened(CLAIM_DOCUMENT.name, actor, "unit_claim", claim.id, display_key=claim.document_key,
                        thumb_key=claim.document_thumb_key, token=token, size=size, actor_role=_role(actor, via))


# --- ties and unlinking -----------------------------------------------------------------------------

def my_units(actor) -> list[dict]:
    """The resident's ties: ``[{"id", "unit_id", "unit_name", "relation", "since"}]``."""
    rows = registry.units_of_resident(actor.id)
    names = registry.unit_full_names(p.id for _l, p in rows)
    return [{"id": link.id, "unit_id": p.id, "unit_name": names.get(p.id, p.name), "relation": link.relation,
             "since": link.since} for link, p in rows]


def _unlinker(actor, link) -> str | None:
    if actor.kind == "admin":
        return "admin"
    if actor.id == link.user_id:
        return "self"
    if actor.kind == "staff":
        org = _staff_org(actor, link.unit_id, UNLINKERS)
        return org.kind if org is not None else None
    if actor.kind == "resident" and link.relation == "tenant":
        own = registry.link_of(actor.id, link.unit_id)
        if own is not None and own.relation in ("owner", "co_owner"):
            return "owner"
    return None


def unlink(actor, link_id: int, *, own_only: bool = False) -> None:
    """End a resident's tie to a unit (they moved out): by themselves, by an owner of the unit (for
    a tenant), by the residents' or owners' committee covering it, or an administrator.  Their
    open cases stay theirs (nothing but the tie is removed).  Audited (``unit_resident.unlink``).

    :param own_only: the ``/my/units`` route: only the caller's own ties exist there.
    :raises NotFound: ``link_not_found`` (unknown, or not theirs to end: the same answer).
    """
    link = registry.get_link(link_id)
    via = _unlinker(actor, link) if link is not None else None
    if via is None or (own_only and via != "self"):
        raise NotFound("找不到该房屋关联", code="link_not_found", details={"link_id": link_id})
    audit.record("unit_resident.unlink", "unit_resident", link.id, actor=actor, actor_role=_role(actor, via),
                 data={"unit_id": link.unit_id, "user_id": link.user_id, "relation": link.relation, "by": via})
    registry.unlink_resident(link)


def units_within(user_id: int, place_ids) -> list[int]:
    """Ids of the units ``user_id`` is tied to (owner, tenant, household member: the registry's
    links) that lie under one of ``place_ids`` (a community, compound or street includes its
    buildings' units), lowest first.  Who is eligible in a budget round (issue #20: residents tied to
    units in the round's places)."""
    paths = [registry.get_place(pid).path for pid in place_ids]
    return sorted({unit.id for _link, unit in registry.units_of_resident(user_id)
                   if any(unit.path.startswith(p) for p in paths)})
