"""Village affairs' part of a resident's rights over their data (PIPL Arts. 44-47): the inquiries
they asked (组织法 Art. 31).  Kept at account deletion, by a tombstone account: the inquiry and its
answer are part of the village's disclosure record (上海实施办法 Art. 24)."""

from __future__ import annotations

from civic.core import personal_data, retention

COLUMNS = ("village_inquiry.asker_id",)

personal_data.register("village", order=60, columns=COLUMNS, export=personal_data.columns_export(COLUMNS))
personal_data.exempt("village_disclosure.created_by_id", "a village committee member's act")
personal_data.exempt("village_disclosure.signed_off_by_id", "a sign-off (村务监督委员会)")
personal_data.exempt("village_inquiry.answered_by_id", "a village committee member's act")
retention.register(
    "village_inquiry", tables=(), keep="as long as the disclosure it asks about",
    then="kept; at account deletion the asker becomes a tombstone",
    source="村民委员会组织法 Arts. 30-31; 上海市实施办法 Art. 24")
