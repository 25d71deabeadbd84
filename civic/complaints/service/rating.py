"""The resident's rating of a resolved case: 1-5 within 7 days of resolution; an unsatisfied
rating reopens the case once, anything else closes it.

Verb: rate.  (The automatic close of an unrated case is in workflow: enqueue_auto_close.)
"""

from __future__ import annotations

import datetime as dt

from civic.complaints.models import Complaint
from civic.complaints.service.privacy import get_for
from civic.complaints.service.workflow import _apply, rating_closes_at
from civic.core import audit
from civic.core.db import utcnow
from civic.core.errors import Conflict, Forbidden, ValidationFailed
from civic.core.text import require_text
from civic.extensions import db

UNSATISFIED_MAX = 2  # ratings 1-2 are "unsatisfied" (不满意); 3 is "basically satisfied"


def rate(user, complaint_id: int, rating: int, comment: str | None = None, *,
         now: dt.datetime | None = None) -> Complaint:
    """The complainant rates a resolved case 1-5 within 7 days of resolution: until 24:00 of the 7th
    day after the day it was resolved, or of the first working day after it when that day is off
    (Civil Code Arts. 201, 203; :func:`~civic.complaints.service.workflow.rating_closes_at`).

    1-2 (unsatisfied) reopens the case once (back to the lead party); a second unsatisfied rating,
    or 3-5, closes it.  :raises Conflict: ``rating_not_open`` (not resolved, already rated, or the
    7 days are over).  :raises Forbidden: ``not_complainant``.
    """
    c, v = get_for(user, complaint_id, log_view=False)
    if "complainant" not in v.roles:
        raise Forbidden("只有投诉人可以评价", code="not_complainant")
    if not 1 <= rating <= 5:
        raise ValidationFailed("评分须为 1 至 5", code="rating_invalid")
    now = now or utcnow()
    if c.status != "resolved" or c.resolved_at is None or now > rating_closes_at(c):
        raise Conflict("该案件当前不能评价（须在办结后 7 日内）", code="rating_not_open")
    comment = require_text(comment, "comment", 500) if comment and comment.strip() else None
    c.rating, c.rating_comment, c.rated_at = rating, comment, now
    if rating <= UNSATISFIED_MAX and c.reopen_count == 0:
        c.reopen_count += 1
        c.rating, c.rated_at = None, None  # the final rating comes after the second resolution
        _apply(c, "reopen", actor=user, note=comment or f"评分 {rating}，不满意", data={"rating": rating},
               now=now)
    else:
        _apply(c, "close", actor=user, note=comment, data={"rating": rating}, now=now)
    audit.record("complaint.rated", "complaint", c.id, actor=user, data={"rating": rating})
    db.session.flush()
    return c
