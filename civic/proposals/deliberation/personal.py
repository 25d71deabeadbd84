"""The deliberation's part of a resident's rights over their data (PIPL Arts. 44-47): topics they
raised, co-signatures, comments, committee seats, attendance and votes on motions, action-item
updates.  Deleting the account keeps them (a committee's minutes and resolutions are its record:
上海市居民委员会工作条例 Arts. 16-17), by a tombstone account with no name; a seat they held ends the
day before (a tombstone is no member: it would count toward every later quorum), and a seat whose
term had not begun goes."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa

from civic.core import personal_data, retention
from civic.core.db import SHANGHAI
from civic.extensions import db
from civic.proposals.deliberation.models import CommitteeMember

COLUMNS = ("delib_topic.raised_by_id", "delib_cosign.resident_id", "delib_topic_comment.author_id",
           "delib_member.user_id", "delib_attendance.user_id", "delib_motion_vote.user_id",
           "delib_action_update.author_id")



def _erase(user_id: int, now: dt.datetime) -> None:
    yesterday = now.astimezone(SHANGHAI).date() - dt.timedelta(days=1)
    seats = db.session.scalars(sa.select(CommitteeMember).where(
        CommitteeMember.user_id == user_id,
        sa.or_(CommitteeMember.term_end.is_(None), CommitteeMember.term_end > yesterday)))
    for seat in seats:
        if seat.term_start > yesterday:
            db.session.delete(seat)
        else:
            seat.term_end = yesterday
    db.session.flush()


personal_data.register("deliberation", order=40, columns=COLUMNS,
                       export=personal_data.columns_export(COLUMNS, drop=("search_tokens",)), erase=_erase)
for _column, _why in (("delib_rule_set.created_by_id", "who wrote a rule-set version"),
                      ("delib_meeting.convened_by_id", "who convened the meeting"),
                      ("delib_attendance.marked_by_id", "who marked attendance"),
                      ("delib_owners_referral.referred_by_id", "who referred a matter to the owners")):
    personal_data.exempt(_column, f"a committee officer's act: {_why}")
retention.register(
    "deliberation.minutes", tables=(), keep="indefinitely (the committee's minutes)",
    then="kept; at account deletion the member or resident becomes a tombstone",
    source="上海市居民委员会工作条例 Arts. 16-17; civic's choice: minutes name acts, not identities, once deleted")
