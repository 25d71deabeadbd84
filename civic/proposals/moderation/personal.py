"""Moderation's part of a resident's rights over their data (PIPL Arts. 44-47): the reports and
appeals they made, the moderation records of their contributions, and edits they made.  Kept at
account deletion (the moderation record answers for a takedown), by a tombstone account."""

from __future__ import annotations

from civic.core import personal_data

COLUMNS = ("moderated_item.author_id", "moderation_report.reporter_id", "moderation_appeal.appellant_id",
           "content_version.editor_id", "moderation_decision.actor_id")

personal_data.register("moderation", order=45, columns=COLUMNS,
                       export=personal_data.columns_export(COLUMNS))
personal_data.exempt("moderated_item.decided_by_id", "a moderator's act")
personal_data.exempt("moderation_appeal.decided_by_id", "a moderator's act")
