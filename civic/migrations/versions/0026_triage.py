"""Triage by Shanghai practice (issue #18 points 3 and 4): a case's category detail and the party
it complains about; each routing rule's lead fallbacks, competent authority, escalation and legal
basis; a referral's role; the perceptual hashes of intake photos (with their 8-bit bands, indexed);
and coordinates for the buildings that have none (their footprint's centroid, else the compound's
centre, else the centroid of the compound's boundary: civic.property.service.building_centre).

Default routing rows already seeded get their new fields from civic/complaints/data/routing.json,
and the detail rules (``noise.construction``...) are added, as ``seed_defaults`` would.

Revision ID: 0026_triage
Revises: 0025_open311_window
Create Date: 2026-12-06 21:00:00

"""
import json

import sqlalchemy as sa
from alembic import op

revision = '0026_triage'
down_revision = '0025_open311_window'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('complaint', schema=None) as batch_op:
        batch_op.add_column(sa.Column('category_detail', sa.String(length=30), nullable=True))
        batch_op.add_column(sa.Column('complained_kind', sa.String(length=30), nullable=True))
    with op.batch_alter_table('routing_rule', schema=None) as batch_op:
        batch_op.add_column(sa.Column('lead_fallbacks', sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column('competent_authority', sa.String(length=60), nullable=True))
        batch_op.add_column(sa.Column('escalation', sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column('basis', sa.JSON(), nullable=True))
    with op.batch_alter_table('complaint_referral', schema=None) as batch_op:
        batch_op.add_column(sa.Column('role', sa.String(length=12), server_default='referral', nullable=False))
    op.create_table(
        'complaint_photo_hash',
        sa.Column('photo_id', sa.Integer(), autoincrement=False, nullable=False),
        sa.Column('complaint_id', sa.Integer(), nullable=False),
        sa.Column('phash', sa.String(length=16), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['complaint_id'], ['complaint.id'],
                                name=op.f('fk_complaint_photo_hash_complaint_id_complaint')),
        sa.ForeignKeyConstraint(['photo_id'], ['complaint_photo.id'],
                                name=op.f('fk_complaint_photo_hash_photo_id_complaint_photo')),
        sa.PrimaryKeyConstraint('photo_id', name=op.f('pk_complaint_photo_hash')),
    )
    with op.batch_alter_table('complaint_photo_hash', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_complaint_photo_hash_complaint_id'), ['complaint_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_complaint_photo_hash_phash'), ['phash'], unique=False)
    op.create_table(
        'complaint_photo_hash_band',
        sa.Column('photo_id', sa.Integer(), autoincrement=False, nullable=False),
        sa.Column('band', sa.SmallInteger(), autoincrement=False, nullable=False),
        sa.Column('value', sa.SmallInteger(), nullable=False),
        sa.ForeignKeyConstraint(['photo_id'], ['complaint_photo_hash.photo_id'],
                                name=op.f('fk_complaint_photo_hash_band_photo_id_complaint_photo_hash')),
        sa.PrimaryKeyConstraint('photo_id', 'band', name=op.f('pk_complaint_photo_hash_band')),
    )
    with op.batch_alter_table('complaint_photo_hash_band', schema=None) as batch_op:
        batch_op.create_index('ix_photo_hash_band', ['band', 'value'], unique=False)
    _routing_rows()
    _building_centres()


def _defaults() -> dict:
    from importlib import resources

    return json.loads(resources.files('civic.complaints').joinpath('data/routing.json').read_text(encoding='utf-8'))


def _routing_rows():
    """The default rows already seeded (district NULL) take the file's new fields; the detail
    rules are added where a default table exists at all (an empty table is seeded at start-up)."""
    bind = op.get_bind()
    rules = _defaults()['rules']
    have = {r.category for r in bind.execute(sa.text(
        "SELECT category FROM routing_rule WHERE district_id IS NULL"))}
    as_json = [sa.bindparam(k, type_=sa.JSON) for k in ('lf', 'esc', 'basis')]
    upd = sa.text("UPDATE routing_rule SET lead_fallbacks = :lf, competent_authority = :ca, escalation = :esc, "
                  "basis = :basis WHERE district_id IS NULL AND category = :cat").bindparams(*as_json)
    ins = sa.text(
        "INSERT INTO routing_rule (district_id, category, lead_kind, assist_kinds, acknowledge_amount, "
        "acknowledge_unit, urgent_acknowledge_hours, resolve_amount, resolve_unit, reveal_kinds, complained_kind, "
        "referrals, lead_fallbacks, competent_authority, escalation, basis, updated_at) VALUES (NULL, :cat, :lead, "
        ":assist, :ack_n, :ack_u, :urgent, :res_n, :res_u, :reveal, :complained, :referrals, :lf, :ca, :esc, :basis, "
        "CURRENT_TIMESTAMP)").bindparams(*as_json, *(sa.bindparam(k, type_=sa.JSON)
                                                     for k in ('assist', 'reveal', 'referrals')))

    for cat, r in rules.items():
        common = {'lf': r.get('lead_fallbacks', []), 'ca': r.get('competent_authority'),
                  'esc': r.get('escalation'), 'basis': r.get('basis', []), 'cat': cat}
        if cat in have:
            bind.execute(upd, common)
        elif have and '.' in cat:
            bind.execute(ins, {**common, 'lead': r['lead_kind'], 'assist': r['assist_kinds'],
                               'ack_n': r['acknowledge'][0], 'ack_u': r['acknowledge'][1],
                               'urgent': r.get('urgent_acknowledge_hours'), 'res_n': r['resolve'][0],
                               'res_u': r['resolve'][1], 'reveal': r['reveal_kinds'],
                               'complained': r.get('complained_kind'), 'referrals': r.get('referrals', [])})


def _centroid(boundary):
    if not boundary:
        return None
    import shapely

    try:
        geom = shapely.from_geojson(boundary)
    except Exception:  # noqa: BLE001
        return None
    if geom.is_empty:
        return None
    return (geom.centroid.y, geom.centroid.x)


def _building_centres():
    """Buildings without coordinates: their footprint's centroid, else their compound's centre,
    else the centroid of its boundary (the same order as civic.property.service.building_centre)."""
    bind = op.get_bind()
    rows = bind.execute(sa.text(
        "SELECT b.id, b.boundary, c.centre_lat, c.centre_lng, c.boundary FROM place b "
        "LEFT JOIN place c ON c.id = b.parent_id WHERE b.kind = 'building' AND b.centre_lat IS NULL")).all()
    upd = sa.text("UPDATE place SET centre_lat = :lat, centre_lng = :lng WHERE id = :id")
    for bid, own, clat, clng, cboundary in rows:
        point = _centroid(own) or ((clat, clng) if clat is not None and clng is not None else _centroid(cboundary))
        if point:
            bind.execute(upd, {'lat': point[0], 'lng': point[1], 'id': bid})


def downgrade():
    # Building coordinates filled here stay (they are right); the detail rules go.  The columns are
    # dropped in place (SQLite ≥ 3.35), not by copying the tables: a copy re-checks every foreign key
    # of every row.
    op.execute("DELETE FROM routing_rule WHERE category LIKE '%.%'")
    with op.batch_alter_table('complaint_photo_hash_band', schema=None) as batch_op:
        batch_op.drop_index('ix_photo_hash_band')
    op.drop_table('complaint_photo_hash_band')
    with op.batch_alter_table('complaint_photo_hash', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_complaint_photo_hash_phash'))
        batch_op.drop_index(batch_op.f('ix_complaint_photo_hash_complaint_id'))
    op.drop_table('complaint_photo_hash')
    with op.batch_alter_table('complaint_referral', schema=None, recreate='never') as batch_op:
        batch_op.drop_column('role')
    with op.batch_alter_table('routing_rule', schema=None, recreate='never') as batch_op:
        batch_op.drop_column('basis')
        batch_op.drop_column('escalation')
        batch_op.drop_column('competent_authority')
        batch_op.drop_column('lead_fallbacks')
    with op.batch_alter_table('complaint', schema=None, recreate='never') as batch_op:
        batch_op.drop_column('complained_kind')
        batch_op.drop_column('category_detail')
