"""The disclosure state machine: draft → submitted → signed_off → published (→ corrected by a newer
version), submitted or signed_off → returned → submitted.

Declared once as data (:data:`TRANSITIONS`: action → from statuses, to status, the organisation kind
that may take it), with the statuses the public sees and the statuses that may be edited.  Verbs:
transition, claim (one writer at a time).  Sources: 村民委员会组织法 (2018) Arts. 30-32 (the
supervision committee signs off, the committee publishes); RULES.md §2.
"""

from __future__ import annotations

from civic.core import audit
from civic.core.db import claim_row, flush_or, utcnow
from civic.core.errors import Conflict, ValidationFailed
from civic.core.text import tidy
from civic.extensions import db
from civic.village.models import Disclosure
from civic.village.service.catalogue import bump
from civic.village.service.committees import require_committee, require_supervisor
from civic.village.service.content import check_balances, content_hash

STATUS_NAMES = {"draft": "草稿", "submitted": "待审核", "returned": "退回修改", "signed_off": "已审核签字",
                "published": "已公开", "corrected": "已更正"}
PUBLIC_STATUSES = ("published", "corrected")


# The disclosure state machine, declared once: action -> (from statuses, to status, organisation kind
# that may take it).  A correction is not a transition: it is a new version (see create_correction);
# publishing that version moves the old one to "corrected".
# "return" is open from "signed_off" too, so that nothing signed off can be stuck for good: if publish
# is refused (a row signed off before submit checked the balances, content changed after sign-off) the
# supervision committee withdraws its signature with a reason and the committee corrects the draft.
# Only the supervision committee may do it: the committee cannot pull back accounts the supervisors
# have signed off for the villagers to see (组织法 Art. 32; see :func:`transition`).
TRANSITIONS: dict[str, tuple[tuple[str, ...], str, str]] = {
    "submit": (("draft", "returned"), "submitted", "village_committee"),
    "return": (("submitted", "signed_off"), "returned", "village_supervision"),
    "sign_off": (("submitted",), "signed_off", "village_supervision"),
    "publish": (("signed_off",), "published", "village_committee"),
}
EDITABLE = ("draft", "returned")


# --- one writer at a time -------------------------------------------------------------------------

DISCLOSURE_CHANGED = "该公开事项刚被他人处理，本次操作未执行，请刷新后查看当前状态"


def _changed(disclosure_id: int) -> Conflict:
    return Conflict(DISCLOSURE_CHANGED, code="disclosure_changed", details={"disclosure_id": disclosure_id})


def claim(d: Disclosure) -> None:
    """Take the disclosure's row for this transaction before writing it or anything hanging on it
    (its lines, vouchers, a correction, its publication).

    Writes ``updated_at`` under the optimistic lock: ``UPDATE ... WHERE id = :id AND row_version =
    <as read>`` (SQLAlchemy ``version_id_col``).  If another worker changed the row after this one
    read it, nothing matches and the action is refused, so the checks made on what was read (its
    status, its content) cannot be overtaken.  Once claimed the row stays this transaction's until
    it ends (PostgreSQL holds the row lock, SQLite the database write lock), so a second worker's
    claim waits and then fails.  Works alike on SQLite, where ``SELECT ... FOR UPDATE`` protects
    nothing.  Of any number of concurrent state changes of one disclosure exactly one wins.

    :raises Conflict: ``disclosure_changed`` (409); the caller's transaction must be rolled back
        (a request's is).
    """
    claim_row(d, _changed(d.id))


def transition(d: Disclosure, action: str, actor, note: str | None = None) -> Disclosure:
    """Move a disclosure through :data:`TRANSITIONS` (draft → submitted → signed_off → published;
    submitted or signed_off → returned → submitted).

    The committee drafts, submits and publishes; the supervision committee returns or signs off
    (组织法 Art. 32).  Publishing a correction marks the version it supersedes ``corrected``.

    Finance disclosures are checked on submit, sign-off and publish (:func:`check_balances`), so an
    unbalanced account is caught while the committee can still edit it.  No state is a dead end:
    should publish still be refused after sign-off, the supervision committee returns the disclosure
    (withdrawing its signature: ``signed_off_by_id``/``signed_off_at`` are cleared, the audit log keeps
    the sign-off) and the committee corrects and resubmits it.  Only the supervision committee may
    return a signed-off disclosure: the committee alone could otherwise hold back accounts the
    supervisors have approved for villagers to see; a committee that sits on a signed-off disclosure
    shows as overdue to the town (:func:`street_overview`).

    ``note``: the review note; required to return (the committee must know what to fix), optional
    on sign-off, kept in the audit log for every action.

    Exclusive under concurrency (SQLite and PostgreSQL): the row is claimed (:func:`claim`) before
    anything is written, so of two workers acting at once (publish and return, two sign-offs, two
    publications) exactly one wins and the other gets ``disclosure_changed``; its writes, audit entry
    included, are rolled back with its request.  A row is never half-written (a returned row never
    keeps ``published_at``: also a CHECK constraint).
    :raises ValidationFailed: ``action_unknown``, ``note_required`` (return without a reason),
        ``balance_required`` (finance; submit, sign_off, publish).
    :raises Conflict: ``transition_invalid``, ``disclosure_changed`` (another worker changed the
        disclosure since it was read), ``balance_mismatch`` (finance; submit, sign_off, publish;
        details: the figures in 分), ``content_changed`` (publish).
    :raises Forbidden: ``not_village_committee``, ``not_village_supervision``, ``supervision_conflict``.
    :raises NotFound: ``disclosure_not_found`` (a disclosure ``actor`` may not see).

    Order (issue #15): permission first -- the disclosure seen, then the committee the action
    belongs to -- then the state and the content, so an outsider learns nothing of either.
    """
    from civic.village.service.disclosures import require_seen  # disclosures imports this module

    village = require_seen(d, actor)
    if action not in TRANSITIONS:
        raise ValidationFailed("未知的操作", code="action_unknown", details={"action": action,
                                                                          "allowed": sorted(TRANSITIONS)})
    sources, target, kind = TRANSITIONS[action]
    if kind == "village_committee":
        require_committee(actor, village)
    else:
        require_supervisor(actor, village)
    if d.status not in sources:
        raise Conflict(f"当前状态（{STATUS_NAMES[d.status]}）不能执行该操作", code="transition_invalid",
                       details={"status": d.status, "action": action})
    reason = tidy(note or "", 2000)
    if action == "return" and not reason:
        raise ValidationFailed("退回修改须填写退回理由，村民委员会据此修改", code="note_required",
                               details={"action": action, "field": "note"})
    # One transition at a time: the status checked above is the row's status until commit.
    claim(d)
    now = utcnow()
    before = d.status
    if action == "submit":
        check_balances(d, action)
        d.submitted_at = now
        d.content_hash = content_hash(d)
    elif action == "return":
        d.review_note = reason
        d.content_hash = None
        d.signed_off_by_id = d.signed_off_at = None
    elif action == "sign_off":
        check_balances(d, action)
        d.signed_off_by_id, d.signed_off_at = actor.id, now
        d.review_note = reason or None
    elif action == "publish":
        check_balances(d, action)
        if content_hash(d) != d.content_hash:
            raise Conflict("内容与审核签字时不一致", code="content_changed")
        d.published_at = now
    d.status = target
    if action == "publish":
        if d.supersedes_id:
            old = db.session.get(Disclosure, d.supersedes_id)
            old.status, old.corrected_by_id, old.corrected_at = "corrected", d.id, now
            audit.record("disclosure.corrected", "village_disclosure", old.id, actor=actor,
                         data={"from": "published", "to": "corrected", "by_version": d.id})
        bump(d.village_id)
    flush_or(_changed(d.id))
    audit.record(f"disclosure.{action}", "village_disclosure", d.id, actor=actor, note=note,
                 data={"from": before, "to": target, "content_hash": d.content_hash})
    return d
