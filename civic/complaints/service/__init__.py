"""The verbs of the complaints domain: intake, routing, the workflow, the resident's side.

Rules applied: RULES.md §3 (六位一体 routing, deadlines in Chinese working days, the residents'
committee as the fallback so no case is dropped, referrals outside the six) and §5 (PIPL: the
complainant's identity goes only to parties the routing table allows, masked by default, never to
the party complained about; every reveal is logged).

One module per verb group; this package re-exports the public verbs, so callers keep one import
(``from civic.complaints import service`` then ``service.submit(...)``):

* intake      — filing a case (submit, submit_on_behalf for partners), where it is, duplicates;
* duplicates  — a case's possible duplicates with their reasons for its parties (duplicates_for),
  the photos' perceptual hashes;
  suggesting its category from a draft (suggest)
* assignment  — the lead, assisting and triage parties from the routing table (civic/complaints/routing.py)
* workflow    — states, TRANSITIONS, transition, deadlines in working days, the automatic close
* privacy     — who is who on a case (viewer_for, get_for; views logged), the complainant as each sees it
* photos      — the media store, result photos, serving a photo
* messages    — the case's message thread
* rating      — the resident's rating (reopen once or close)
* queue       — a party's queue and counts, a resident's cases, one case as its viewer sees it
* history     — the case's timeline from the audit log, naming who acted and through which channel
* public      — the public-safe projection (Open311, open data), a filer's own words
* supporters  — "me too" (join, leave a nearby open case) and "cases near me" (nearby)
"""

from __future__ import annotations

from civic.complaints.service.assignment import route_note
from civic.complaints.service.duplicates import duplicates_for
from civic.complaints.service.history import HISTORY_NAMES, history_for
from civic.complaints.service.intake import (
    DUPLICATE_RADIUS_M,
    DUPLICATE_WINDOW,
    MAX_DESCRIPTION,
    MAX_SUGGEST_QUERY,
    Intake,
    IntakeResult,
    PartnerContact,
    possible_duplicates,
    submit,
    submit_on_behalf,
    suggest,
)
from civic.complaints.service.messages import add_message, messages_for
from civic.complaints.service.photos import (
    MAX_PHOTOS,
    PHOTO,
    add_result_photos,
    media_store,
    photo_for,
)
from civic.complaints.service.privacy import Viewer, complainant_for, contact_of, get_for, viewer_for
from civic.complaints.service.public import (
    PUBLIC_COORD_DECIMALS,
    PUBLIC_NOTE_ACTIONS,
    descriptions_filed_by,
    public_cases,
    public_photo,
    public_photo_paths,
    public_view,
)
from civic.complaints.service.queue import counts_by_status, my_complaints, present, queue, summaries
from civic.complaints.service.rating import UNSATISFIED_MAX, rate
from civic.complaints.service.supporters import (
    MAX_SUPPORT_PHOTOS,
    NEARBY_DEFAULT_M,
    NEARBY_MAX_M,
    join,
    leave,
    nearby,
    supporter_counts,
)
from civic.complaints.service.workflow import (
    ACTION_NAMES,
    RATING_WINDOW,
    STAFF_ACTIONS,
    STATUS_NAMES,
    TRANSITIONS,
    allowed_actions,
    enqueue_auto_close,
    transition,
)

__all__ = [
    "ACTION_NAMES", "DUPLICATE_RADIUS_M", "DUPLICATE_WINDOW", "HISTORY_NAMES", "MAX_DESCRIPTION", "MAX_PHOTOS",
    "MAX_SUGGEST_QUERY", "MAX_SUPPORT_PHOTOS", "NEARBY_DEFAULT_M", "NEARBY_MAX_M", "PHOTO",
    "PUBLIC_COORD_DECIMALS", "PUBLIC_NOTE_ACTIONS", "RATING_WINDOW", "STAFF_ACTIONS", "STATUS_NAMES",
    "TRANSITIONS", "UNSATISFIED_MAX", "Intake", "IntakeResult", "PartnerContact", "Viewer",
    "add_message", "add_result_photos", "allowed_actions", "complainant_for", "contact_of",
    "counts_by_status", "descriptions_filed_by", "duplicates_for", "enqueue_auto_close", "get_for", "history_for",
    "join", "leave", "media_store", "nearby", "messages_for", "my_complaints", "photo_for", "possible_duplicates", "present",
    "public_cases", "public_photo", "public_photo_paths", "public_view", "queue", "rate", "route_note", "submit", "submit_on_behalf", "suggest", "summaries",
    "supporter_counts",
    "transition", "viewer_for",
]
