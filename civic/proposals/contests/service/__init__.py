"""The verbs of 金点子 idea contests.  Plain functions taking validated data and the acting user: they
check permission and the phase (:mod:`civic.proposals.contests.phases`), change the session, flush, write the
audit log.  Lists live in :mod:`civic.proposals.contests.queries`.

Who is who:

* the **organiser** is a residents' committee or a street centre; its staff (head/handler) configure
  the contest, publish the ranking and adopt ideas; its head/moderator staff moderate;
* a **participant** is a resident with a unit (:func:`civic.property.service.units_of_resident`) under
  one of the contest's places; only participants submit, support and report;
* **jurors** are appointed per contest (staff or residents).

State changes are exclusive under concurrency, on SQLite as on PostgreSQL: contests (schedule,
ranking publication), implementations (status) and milestones (progress) carry an optimistic-lock
``version`` (moderation: :mod:`civic.proposals.moderation`); adoption and juror appointment rest on
unique keys.  Of two requests acting at once one wins, the other gets a 409 with the domain's code.
Supports stay SQL-side counters and never collide.

Anchors: Decidim's proposals/evaluation/accountability components and CONSUL's participatory budgets.

One module per verb group; every public verb is re-exported here, so routes, the console and other
domains import ``civic.proposals.contests.service`` only:

* :mod:`.contests`
* :mod:`.photos`
* :mod:`.ideas`
* :mod:`.supports`
* :mod:`.scoring`
* :mod:`.implementation`
"""

from __future__ import annotations

from civic.proposals.contests.service.contests import (
    COMMENT_MAX,
    IMPLEMENTATION_NAMES,
    IMPLEMENTATION_TRANSITIONS,
    ORGANISER_KINDS,
    ORGANISER_ROLES,
    PHOTOS_MAX,
    SCORE_MAX,
    SIGNAL_DEFAULTS,
    TEXT_MAX,
    TITLE_MAX,
    appoint_juror,
    can_see,
    contest_view,
    create_contest,
    criteria_of,
    get_contest,
    get_idea,
    idea_versions,
    is_juror,
    is_organiser,
    participant_units,
    phase_of,
    place_ids,
    require_organiser,
    require_participant,
    require_phase,
    schedule,
    set_schedule,
    visible_idea,
)
from civic.proposals.contests.service.ideas import (
    COMMENT_KIND,
    IDEA_KIND,
    CommentKind,
    IdeaKind,
    add_comment,
    edit_idea,
    idea_page,
    idea_view,
    idea_views,
    submit_idea,
)
from civic.proposals.contests.service.implementation import (
    add_milestone,
    adopt,
    adopted_idea,
    get_implementation,
    idea_place_ids,
    implementation_summary,
    implementation_view,
    milestone_update_view,
    set_implementation_status,
    update_milestone,
)
from civic.proposals.contests.service.photos import (
    PHOTO,
    photo_for,
    photo_links,
    sees_original,
    upload_photos,
)
from civic.proposals.contests.service.scoring import (
    compute_ranking,
    publish_ranking,
    published_ranking,
    score_idea,
)
from civic.proposals.contests.service.supports import (
    signals,
    support,
    withdraw_support,
)

__all__ = [
    "COMMENT_KIND",
    "COMMENT_MAX",
    "CommentKind",
    "IDEA_KIND",
    "IMPLEMENTATION_NAMES",
    "IMPLEMENTATION_TRANSITIONS",
    "IdeaKind",
    "ORGANISER_KINDS",
    "ORGANISER_ROLES",
    "PHOTOS_MAX",
    "SCORE_MAX",
    "SIGNAL_DEFAULTS",
    "TEXT_MAX",
    "TITLE_MAX",
    "add_comment",
    "add_milestone",
    "adopt",
    "adopted_idea",
    "appoint_juror",
    "can_see",
    "compute_ranking",
    "contest_view",
    "create_contest",
    "criteria_of",
    "edit_idea",
    "get_contest",
    "get_idea",
    "get_implementation",
    "idea_page",
    "idea_place_ids",
    "idea_view",
    "idea_views",
    "implementation_summary",
    "implementation_view",
    "milestone_update_view",
    "is_juror",
    "is_organiser",
    "participant_units",
    "phase_of",
    "PHOTO",
    "photo_for",
    "photo_links",
    "place_ids",
    "publish_ranking",
    "published_ranking",
    "require_organiser",
    "require_participant",
    "require_phase",
    "schedule",
    "score_idea",
    "sees_original",
    "set_implementation_status",
    "set_schedule",
    "signals",
    "submit_idea",
    "support",
    "update_milestone",
    "upload_photos",
    "visible_idea",
    "idea_versions",
    "withdraw_support",
]
