"""The vote's stored files, served through :mod:`civic.core.media`: the matters' attachments, the
proxies' written authorisations and the paper ballots' scans.  Each is served at a URL holding an
unguessable token, to exactly those entitled below, every access audited (``media.opened``).

Verbs: matter_attachment, proxy_scan, paper_scan (and paper_scan_of_entry for the console), the
URL builders attachment_links, proxy_scan_url, paper_scan_url, and may_read_vote.

Sources: 上海市住宅物业管理规定 Art. 18 (written voting and written proxies, which the owners'
committee keeps); SPC 法释〔2009〕7号 Art. 12 (an owner may challenge a decision within a year:
the record, scans included, must stay open to those who keep and supervise it); PIPL Art. 6
(minimum necessary: a proxy's authorisation names the owner and holder, so it is no wider).
"""

from __future__ import annotations

import sqlalchemy as sa

from civic.core import media
from civic.core.errors import Forbidden
from civic.extensions import db
from civic.voting.access import RECORD_READERS, acting_org, actor_role
from civic.voting.models import HeadMember, Matter, PaperEntry, Proxy, Roster, RosterPerson, Vote
from civic.voting.service.votes import get_vote

API = "/api/v1"

MATTER_ATTACHMENT = media.register_kind(media.MediaKind(
    "voting.matter_attachment", "/api/v1/votes/<int:vote_id>/matters/<int:matter_id>/attachments/<token>",
    "whoever may read the vote (may_read_vote): the owners' committee and street centre covering it, "
    "administrators, and once announced the owners on the compound's roster -- a matter's materials "
    "are part of what the owners decide on (Civil Code Art. 278)"))
PROXY_SCAN = media.register_kind(media.MediaKind(
    "voting.proxy_scan", "/api/v1/votes/<int:vote_id>/proxy-scans/<token>",
    "the owners' committee and street centre covering the vote, administrators, and the owner who "
    "gave the proxy (上海市住宅物业管理规定 Art. 18); not the holder, not other owners (PIPL Art. 6)"))
PAPER_SCAN = media.register_kind(media.MediaKind(
    "voting.paper_scan", "/api/v1/votes/<int:vote_id>/paper-scans/<token>",
    "the owners' committee and street centre covering the vote, administrators, and the owners of "
    "the head whose ballot it is (they may check what was entered for them)"))


def _reader_org(vote: Vote, actor):
    """``(True, org)`` when ``actor`` reads the vote's record as staff of the owners' committee or
    street centre covering it (org ``None`` for an administrator), else ``(False, None)``."""
    if actor.kind not in ("staff", "admin"):
        return False, None
    try:
        return True, acting_org(actor, vote.scope_place_id, org_kinds=RECORD_READERS)
    except Forbidden:
        return False, None


def _person_ids(vote: Vote, actor) -> list[int]:
    """The roster persons of the vote's roster linked to ``actor`` (verified owners)."""
    return list(db.session.scalars(sa.select(RosterPerson.id).where(
        RosterPerson.roster_id == vote.roster_id, RosterPerson.user_id == actor.id)))


def may_read_vote(vote: Vote, actor) -> bool:
    """Whether ``actor`` may read ``vote`` and its matters, as :func:`civic.voting.service.list_votes`
    lists them: staff of an owners' committee or street centre covering it, administrators, and a
    resident linked to a person on a roster of the vote's compound once the vote is no longer a draft."""
    if _reader_org(vote, actor)[0]:
        return True
    if actor.kind != "resident" or vote.state == "draft":
        return False
    return db.session.scalar(sa.select(sa.exists().where(
        RosterPerson.user_id == actor.id, RosterPerson.roster_id == Roster.id,
        Roster.compound_id == vote.compound_id))) or False


# --- addresses ---------------------------------------------------------------------------------------

def attachment_links(m: Matter) -> list[dict]:
    """A matter's attachments as shown to whoever may read the vote: ``[{"url", "thumbnail_url",
    "width", "height", "blur_status"}]`` (store keys are never shown; a document, not blurred:
    ``blur_status`` is always ``"original"``)."""
    return [media.links(f"{API}/votes/{m.vote_id}/matters/{m.id}/attachments/{p['token']}", p.get("width"),
                        p.get("height"), kind=MATTER_ATTACHMENT.name) for p in (m.attachments or []) if p.get("token")]


def proxy_scan_url(p: Proxy) -> str:
    """The written authorisation's address (for those entitled: see :data:`PROXY_SCAN`)."""
    return f"{API}/votes/{p.vote_id}/proxy-scans/{p.scan_token}"


def paper_scan_url(e: PaperEntry) -> str:
    """The paper ballot scan's address (for those entitled: see :data:`PAPER_SCAN`)."""
    return f"{API}/votes/{e.vote_id}/paper-scans/{e.scan_token}"


# --- serving -----------------------------------------------------------------------------------------

def matter_attachment(actor, vote_id: int, matter_id: int, token: str, size: str | None = None) -> media.Opened:
    """An attachment of a matter, for whoever may read the vote (:func:`may_read_vote`): the
    materials the owners decide on.  Audited (``media.opened`` on the vote).

    :raises NotFound: ``attachment_not_found`` (no such vote, matter or token, or not entitled).
    """
    vote = db.session.get(Vote, vote_id)
    matter = db.session.get(Matter, matter_id) if vote is not None else None
    found = media.find_token(matter.attachments, token) if matter is not None and matter.vote_id == vote.id else None
    if found is None or not may_read_vote(vote, actor):
        raise media.not_found("attachment_not_found", "找不到该附件")
    _ok, org = _reader_org(vote, actor)
    return media.opened(MATTER_ATTACHMENT.name, actor, "vote", vote.id, display_key=found["display_key"],
                        thumb_key=found["thumb_key"], token=token, size=size,
                        actor_role=actor_role(actor, org), detail={"matter_id": matter.id})


def proxy_scan(actor, vote_id: int, token: str, size: str | None = None) -> media.Opened:
    """A proxy's written authorisation (委托书), for the owners' committee and street centre
    covering the vote, administrators, and the owner who gave it.  Audited.

    :raises NotFound: ``proxy_scan_not_found`` (unknown, or not entitled: no hint it exists).
    """
    proxy = db.session.scalar(sa.select(Proxy).where(Proxy.vote_id == vote_id, Proxy.scan_token == token)) \
        if token else None
    if proxy is None:
        raise media.not_found("proxy_scan_not_found", "找不到该委托书")
    vote = get_vote(proxy.vote_id)
    staff_ok, org = _reader_org(vote, actor)
    if not staff_ok and proxy.principal_person_id not in _person_ids(vote, actor):
        raise media.not_found("proxy_scan_not_found", "找不到该委托书")
    return media.opened(PROXY_SCAN.name, actor, "vote", vote.id, display_key=proxy.scan_key,
                        thumb_key=proxy.scan_thumb_key, token=token, size=size,
                        actor_role=actor_role(actor, org), detail={"proxy_id": proxy.id})


def _paper_scan(actor, entry: PaperEntry | None, token: str | None, size: str | None) -> media.Opened:
    if entry is None:
        raise media.not_found("paper_scan_not_found", "找不到该选票扫描件")
    vote = get_vote(entry.vote_id)
    staff_ok, org = _reader_org(vote, actor)
    if not staff_ok:
        persons = _person_ids(vote, actor)
        owns = bool(persons) and db.session.scalar(sa.select(sa.exists().where(
            HeadMember.vote_id == vote.id, HeadMember.head_id == entry.head_id, HeadMember.person_id.in_(persons))))
        if not owns:
            raise media.not_found("paper_scan_not_found", "找不到该选票扫描件")
    return media.opened(PAPER_SCAN.name, actor, "vote", vote.id, display_key=entry.scan_key,
                        thumb_key=entry.scan_thumb_key, token=token or entry.scan_token, size=size,
                        actor_role=actor_role(actor, org), detail={"paper_entry_id": entry.id})


def paper_scan(actor, vote_id: int, token: str, size: str | None = None) -> media.Opened:
    """A paper ballot's scan, for the owners' committee and street centre covering the vote,
    administrators, and the owners of the ballot's head.  Audited.

    :raises NotFound: ``paper_scan_not_found`` (unknown, or not entitled).
    """
    entry = db.session.scalar(sa.select(PaperEntry).where(PaperEntry.vote_id == vote_id,
                                                          PaperEntry.scan_token == token)) if token else None
    return _paper_scan(actor, entry, token, size)


def paper_scan_of_entry(actor, entry_id: int, size: str | None = None) -> media.Opened:
    """The same, by the entry's id, for the console's confirmation desk (a staff page behind the
    console's login; the same entitlement, the same audit).

    :raises NotFound: ``paper_scan_not_found``.
    """
    return _paper_scan(actor, db.session.get(PaperEntry, entry_id), None, size)
