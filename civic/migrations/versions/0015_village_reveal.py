"""The villagers' committee may see the villager who complained (issue #15 point 4).

The routing table's "may see the complainant" list (``routing_rule.reveal_kinds``) could name only
the six parties, so in a village nobody could reach the villager in six categories.  In a village the
villagers' committee plays the residents' committee's part: every rule whose list names the
residents' committee now names ``village_committee`` too (as the data file's defaults do), and the
villagers' committees already on a case under such a rule get ``may_see_complainant`` (masked by
default; a reveal is logged as before).  A rule naming the villagers' committee as the party
complained about is left alone.

Downgrade takes the village bodies out of every list (the old code refuses them); the party flags
stay as they are.

Revision ID: 0015_village_reveal
Revises: 0014_media_tokens
Create Date: 2026-12-06 03:40:00

"""
import sqlalchemy as sa
from alembic import op

revision = '0015_village_reveal'
down_revision = '0014_media_tokens'
branch_labels = None
depends_on = None

VILLAGE_BODIES = ('village_committee', 'village_supervision')

rule_t = sa.table('routing_rule', sa.column('id', sa.Integer), sa.column('district_id', sa.Integer),
                  sa.column('category', sa.String), sa.column('reveal_kinds', sa.JSON),
                  sa.column('complained_kind', sa.String))
complaint_t = sa.table('complaint', sa.column('id', sa.Integer), sa.column('district_id', sa.Integer),
                       sa.column('category', sa.String))
party_t = sa.table('complaint_party', sa.column('id', sa.Integer), sa.column('complaint_id', sa.Integer),
                   sa.column('organisation_id', sa.Integer), sa.column('may_see_complainant', sa.Boolean))
org_t = sa.table('organisation', sa.column('id', sa.Integer), sa.column('kind', sa.String))


def upgrade():
    conn = op.get_bind()
    rules = {}
    for row in conn.execute(sa.select(rule_t)).all():
        kinds = list(row.reveal_kinds or [])
        if 'residents_committee' in kinds and 'village_committee' not in kinds \
                and row.complained_kind != 'village_committee':
            kinds.append('village_committee')
            conn.execute(rule_t.update().where(rule_t.c.id == row.id).values(reveal_kinds=kinds))
        rules[(row.district_id, row.category)] = (kinds, row.complained_kind)

    def allows(district_id, category) -> bool:
        # The rule in force, as civic.complaints.routing.rule_for finds it: the district's own row,
        # else the default row, else the data file (which names the villagers' committee wherever it
        # names the residents' committee, and never complains about it).
        found = rules.get((district_id, category)) if district_id is not None else None
        found = found or rules.get((None, category))
        if found is None:
            return True
        kinds, complained = found
        return 'village_committee' in kinds and complained != 'village_committee'

    rows = conn.execute(
        sa.select(party_t.c.id, complaint_t.c.district_id, complaint_t.c.category)
        .select_from(party_t.join(complaint_t, complaint_t.c.id == party_t.c.complaint_id)
                     .join(org_t, org_t.c.id == party_t.c.organisation_id))
        .where(org_t.c.kind == 'village_committee', party_t.c.may_see_complainant.is_(False))).all()
    ids = [r.id for r in rows if allows(r.district_id, r.category)]
    for i in range(0, len(ids), 500):
        conn.execute(party_t.update().where(party_t.c.id.in_(ids[i:i + 500])).values(may_see_complainant=True))


def downgrade():
    conn = op.get_bind()
    for row in conn.execute(sa.select(rule_t.c.id, rule_t.c.reveal_kinds)).all():
        kinds = list(row.reveal_kinds or [])
        kept = [k for k in kinds if k not in VILLAGE_BODIES]
        if kept != kinds:
            conn.execute(rule_t.update().where(rule_t.c.id == row.id).values(reveal_kinds=kept))
