"""Content moderation, shared by every kind of resident content (ideas and comments of contests,
committee topics and their comments).

An item is ``(item_type, item_id)``.  A kind registers a :class:`ModeratedKind` saying who wrote an
item, which organisation moderates it, how many reports hide it, how its own row shows the state,
what its content is (for versions) and what the caller's phase allows.  This module owns the rest:

* the state machine (:data:`TRANSITIONS`, data): pending → approved / hidden / rejected; approved →
  hidden / rejected; hidden → approved / hidden (confirm, new reason) / rejected;
* reports: one per resident per item; at the threshold (per contest, default 3) an approved item is
  hidden automatically and waits for review;
* the author is notified with the reason and may appeal once; a moderator other than the one who hid
  it decides (an automatic hide has no such person, so any other moderator may);
* nobody moderates their own content or decides an appeal on it;
* nothing is deleted: hiding changes the state only, and a moderator's edit adds a content version
  after the author's (:class:`~civic.proposals.moderation.models.ContentVersion`);
* every change of an item (decision, appeal, its decision, automatic hiding, edits) is exclusive:
  ``moderated_item.version`` is an optimistic lock, so of two moderators acting at once one wins and
  the other gets 409 ``moderation_changed`` (on PostgreSQL the row lock already serialises them; on
  SQLite, where ``SELECT ... FOR UPDATE`` locks nothing, the version does).

Moderators: staff of the moderating organisation with role ``head`` or ``moderator``, and administrators.

Files: ``models`` (the tables), ``service`` (the rules above; every public name re-exported here,
so callers import ``civic.proposals.moderation`` only), ``schemas`` and ``routes`` (the shared
``/api/v1/moderation`` endpoints).  Contests and deliberation register their kinds; this package
imports neither.
"""

from __future__ import annotations

from civic.proposals.moderation.service import (
    ACTION_NAMES,
    APPEAL_OUTCOMES,
    KINDS,
    MODERATOR_ROLES,
    QUEUE_REASONS,
    REASON_MAX,
    STATE_NAMES,
    TRANSITIONS,
    VISIBLE_STATES,
    CommentLike,
    ModeratedKind,
    add_version,
    appeal,
    decide,
    decide_appeal,
    detail,
    detail_view,
    is_moderator,
    kind_of,
    moderated_organisation_ids,
    moderator_edit,
    note_change,
    options,
    queue,
    queue_counts,
    queue_entries,
    queue_for,
    register,
    report,
    shown_versions,
    start,
    state_of,
    version_views,
    versions,
)

__all__ = [
    "ACTION_NAMES",
    "APPEAL_OUTCOMES",
    "CommentLike",
    "KINDS",
    "MODERATOR_ROLES",
    "ModeratedKind",
    "QUEUE_REASONS",
    "REASON_MAX",
    "STATE_NAMES",
    "TRANSITIONS",
    "VISIBLE_STATES",
    "add_version",
    "appeal",
    "decide",
    "decide_appeal",
    "detail",
    "detail_view",
    "is_moderator",
    "kind_of",
    "moderated_organisation_ids",
    "moderator_edit",
    "note_change",
    "options",
    "queue",
    "queue_counts",
    "queue_entries",
    "queue_for",
    "register",
    "report",
    "start",
    "state_of",
    "shown_versions",
    "version_views",
    "versions",
]
