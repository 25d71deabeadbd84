"""The verbs of 路管会 / 弄管会 deliberation (RULES.md §4; 城市居民委员会组织法 Arts. 10-11;
上海市居民委员会工作条例 Arts. 10, 13, 16, 17).

Who is who:

* **members** of a committee hold a role (``chair``, ``secretary``, ``member``) for a term of office;
  only members whose term covers the day count (for quorum, votes, raising topics).  The chair and
  the secretary run meetings ("officers");
* the **convening organisation** (a residents' committee covering the place) sets up the committee,
  its members and its rule-sets; its head/moderator staff moderate topic comments;
* a **resident of the road or lane** is a resident with a unit in its *catchment*
  (:func:`catchment`).

Every decision is taken under a rule-set version (:class:`RuleSet`), stored with the motion; a new
version never changes a past result.  Thresholds are exact :class:`~fractions.Fraction` values.

One module per verb group, every public verb re-exported here (routes, the console and other
domains import ``civic.proposals.deliberation.service`` only):

* :mod:`.thresholds`: exact thresholds (quorum, majority);
* :mod:`.committees`: committees, members, rule-sets, catchment;
* :mod:`.topics`: topics, co-signatures, comments, the moderated kinds;
* :mod:`.meetings`: meetings, attendance, motions, votes, resolutions;
* :mod:`.follow_up`: action items and their updates.

The periodic job (overdue action items) is in :mod:`civic.proposals.deliberation.jobs`.
"""

from __future__ import annotations

from civic.proposals.deliberation.service.committees import (
    CHECKIN_EARLY,
    COMMENT_MAX,
    CONVENER_KINDS,
    CONVENER_ROLES,
    DEFAULT_RULES,
    OFFICERS,
    PHOTOS_MAX,
    PLACE_KINDS,
    TEXT_MAX,
    add_member,
    add_rule_set,
    catchment,
    create_committee,
    current_members,
    current_rules,
    get_committee,
    is_resident_of,
    membership,
)
from civic.proposals.deliberation.service.follow_up import (
    ACTION_PHOTO,
    action_item_summaries,
    action_item_view,
    action_items,
    action_photo,
    action_photo_links,
    action_update_view,
    action_updates,
    add_action_item,
    close_action_item,
    get_action_item,
    resolution_summary,
    update_action_item,
)
from civic.proposals.deliberation.service.meetings import (
    agenda,
    attendance,
    cast,
    check_in,
    close_motion,
    convene,
    get_meeting,
    get_motion,
    mark_attendance,
    meeting_view,
    motion_view,
    open_motion,
    published_results,
    quorum_of,
    record_minutes,
    resolution_of,
    visible_motion,
)
from civic.proposals.deliberation.service.thresholds import (
    Count,
    meets,
    parse_fraction,
    quorum,
    tally,
    threshold_text,
)
from civic.proposals.deliberation.service.topics import (
    TOPIC_COMMENT_KIND,
    TOPIC_KIND,
    TOPIC_STATE_NAMES,
    TOPIC_TRANSITIONS,
    TopicCommentKind,
    TopicKind,
    add_comment,
    can_see_topic,
    close_topic,
    comments,
    cosign,
    decline_topic,
    followers,
    get_topic,
    raise_topic,
    refer_to_owners,
    schedule_topic,
    shown_topic,
    visible_topic,
)

__all__ = [
    "CHECKIN_EARLY",
    "COMMENT_MAX",
    "CONVENER_KINDS",
    "CONVENER_ROLES",
    "Count",
    "DEFAULT_RULES",
    "OFFICERS",
    "PHOTOS_MAX",
    "PLACE_KINDS",
    "TEXT_MAX",
    "TOPIC_COMMENT_KIND",
    "TOPIC_KIND",
    "TOPIC_STATE_NAMES",
    "TOPIC_TRANSITIONS",
    "TopicCommentKind",
    "TopicKind",
    "action_item_summaries",
    "action_item_view",
    "action_items",
    "action_update_view",
    "action_updates",
    "ACTION_PHOTO",
    "action_photo",
    "action_photo_links",
    "add_action_item",
    "add_comment",
    "add_member",
    "add_rule_set",
    "agenda",
    "attendance",
    "can_see_topic",
    "cast",
    "catchment",
    "check_in",
    "close_action_item",
    "close_motion",
    "close_topic",
    "comments",
    "convene",
    "cosign",
    "create_committee",
    "current_members",
    "current_rules",
    "decline_topic",
    "followers",
    "get_action_item",
    "resolution_summary",
    "get_committee",
    "get_meeting",
    "get_motion",
    "get_topic",
    "is_resident_of",
    "mark_attendance",
    "meeting_view",
    "meets",
    "membership",
    "motion_view",
    "open_motion",
    "parse_fraction",
    "published_results",
    "visible_motion",
    "quorum",
    "quorum_of",
    "raise_topic",
    "record_minutes",
    "refer_to_owners",
    "resolution_of",
    "schedule_topic",
    "shown_topic",
    "tally",
    "threshold_text",
    "update_action_item",
    "visible_topic",
]
