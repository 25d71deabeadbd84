"""Routing rules' legal sources checked against the texts (issue #18 point 3): the default rules
(district NULL) whose ``basis`` is still exactly the one 0026_triage wrote take the audited basis
of civic/complaints/data/routing.json (corrected law names and versions, article numbers, URLs,
``seen`` only where the wording was read, the sentence relied on in ``quote``).  The same rows
take the one routing change the texts required: a property company that lets an e-bike charging
case lapse hands it to 城管, not 公安 (上海市非机动车安全管理条例 Art. 29 ¶5: it reports to 城管 or
the fire authority; ``escalation`` of ``ebike_charging``), where the stored escalation is still the
one 0026_triage wrote.  A default rule an administrator has since edited through the API is left
alone: its basis no longer matches the fingerprint.  Data only; no schema change.

Downgrade keeps the audited basis and the e-bike escalation: putting wrong citations back would serve no one.

Revision ID: 0030_routing_sources
Revises: 0029_uploads
Create Date: 2026-12-06 22:30:00

"""
import hashlib
import json

import sqlalchemy as sa
from alembic import op

revision = '0030_routing_sources'
down_revision = '0029_uploads'
branch_labels = None
depends_on = None

# sha256 (first 16 hex) of each rule's basis as 0026_triage wrote it (json, sorted keys, UTF-8).
BEFORE_AUDIT = {
    "group_renting": "98e35473ac3c38ce",
    "green_damage": "d577f096bd9a24c0",
    "residential_to_commercial": "277f82a214e88382",
    "load_bearing_damage": "f1828ce3f1252e01",
    "public_space_occupation": "4e7c04041aeae189",
    "public_space_occupation.street_vending": "5a5b84497de4713f",
    "illegal_construction": "dfe6d66f08ed4224",
    "noise": "f11326cb6d2ed07b",
    "noise.construction": "d727eb787faefc84",
    "noise.social_life": "f11326cb6d2ed07b",
    "noise.decoration": "ad1c7e45bd718b90",
    "ebike_charging": "ba0b52daaf0fb9a4",
    "thrown_objects": "32304be1425a8816",
    "waste_sorting": "5b605ef86457e328",
    "property_service": "4fb6ae6a80acfb58",
    "other": "5b558509862cb83e",
}


# escalation as 0026_triage wrote it, for the rules whose escalation the audit changed.
ESCALATION_BEFORE = {
    "ebike_charging": {"lead_kind": "police", "referrals": ["fire_authority"]},
}


def fingerprint(basis) -> str:
    return hashlib.sha256(json.dumps(basis, sort_keys=True, ensure_ascii=False).encode()).hexdigest()[:16]


def upgrade():
    from importlib import resources

    rules = json.loads(resources.files('civic.complaints').joinpath('data/routing.json')
                       .read_text(encoding='utf-8'))['rules']
    bind = op.get_bind()
    upd = sa.text("UPDATE routing_rule SET basis = :basis WHERE id = :id").bindparams(
        sa.bindparam('basis', type_=sa.JSON))
    upd_esc = sa.text("UPDATE routing_rule SET escalation = :esc WHERE id = :id").bindparams(
        sa.bindparam('esc', type_=sa.JSON))
    rows = bind.execute(sa.text(
        "SELECT id, category, basis, escalation FROM routing_rule WHERE district_id IS NULL")).all()
    for row_id, category, stored, escalation in rows:
        if isinstance(stored, str):  # SQLite hands JSON back as text through a plain SELECT
            stored = json.loads(stored)
        if isinstance(escalation, str):
            escalation = json.loads(escalation)
        if category in rules and stored is not None and fingerprint(stored) == BEFORE_AUDIT.get(category):
            bind.execute(upd, {'basis': rules[category]['basis'], 'id': row_id})
            if category in ESCALATION_BEFORE and escalation == ESCALATION_BEFORE[category]:
                bind.execute(upd_esc, {'esc': rules[category].get('escalation'), 'id': row_id})


def downgrade():
    # The audited basis and the e-bike escalation stay: putting wrong citations back would serve no one.
    pass
