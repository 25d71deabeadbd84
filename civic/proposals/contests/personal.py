"""The 金点子 contests' part of a resident's rights over their data (PIPL Arts. 44-47).

Export: their ideas, comments, supports (and the support clicks kept as evidence, with the address
and device they came from), photos uploaded, jury seats and scores.  Deleting the account keeps
ideas and comments (public contributions to a published contest, now by "已注销用户"), keeps
supports (the counts and the published ranking stay true), removes the address and device from
their support clicks, and deletes photos they uploaded but never attached.
"""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa

from civic.core import personal_data, retention
from civic.extensions import db
from civic.proposals.contests.models import PhotoUpload, SupportEvent

CLICK_EVIDENCE_DAYS = 365
COLUMNS = ("idea.author_id", "idea_comment.author_id", "idea_support.resident_id",
           "idea_support_event.resident_id", "idea_support_quota.resident_id",
           "proposal_photo_upload.uploader_id", "idea_milestone_update.author_id",
           "contest_juror.user_id", "idea_score.juror_id")


def _erase(user_id: int, now: dt.datetime) -> None:
    db.session.execute(sa.update(SupportEvent).where(SupportEvent.resident_id == user_id)
                       .values(ip=None, device_id=None, account_created_at=None))
    db.session.execute(sa.delete(PhotoUpload).where(PhotoUpload.uploader_id == user_id))


def _old_clicks(now: dt.datetime) -> int:
    return db.session.execute(sa.update(SupportEvent).where(
        SupportEvent.at < now - dt.timedelta(days=CLICK_EVIDENCE_DAYS),
        sa.or_(SupportEvent.ip.is_not(None), SupportEvent.device_id.is_not(None)))
        .values(ip=None, device_id=None, account_created_at=None)).rowcount


personal_data.register("contests", order=30, columns=COLUMNS,
                       export=personal_data.columns_export(COLUMNS, drop=("search_tokens",)), erase=_erase)
personal_data.exempt("contest.created_by_id", "a staff act: the organiser who made the contest")
personal_data.exempt("contest_juror.appointed_by_id", "a staff act: who appointed the juror")
personal_data.exempt("idea_implementation.adopted_by_id", "a staff act: who adopted the idea")

retention.register(
    "idea_support_event.origin", tables=(), keep=f"{CLICK_EVIDENCE_DAYS} days after the click",
    period_days=CLICK_EVIDENCE_DAYS, enforce=_old_clicks,
    then="address and device removed by the retention job (at once with the account); the click stays",
    source="PIPL Art. 19; civic's choice (law silent): evidence against support manipulation for a year")
retention.register(
    "idea", tables=(), keep="as long as the contest is published",
    then="kept; at account deletion the author becomes a tombstone (\"已注销用户\")",
    source="civic's choice (law silent): a public contribution stays, its author's identity does not")
