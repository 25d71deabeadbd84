"""Open311 ties rows to partner organisations' system accounts, never to a resident."""

from __future__ import annotations

from civic.core import personal_data

personal_data.exempt("open311_partner_key.user_id", "a partner organisation's system account")
personal_data.exempt("open311_partner_key.created_by", "an administrator's act")
