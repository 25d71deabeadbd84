"""Pre-aggregated case counts for the street centres' oversight figures (issue 21 point 3):
``complaint_tally`` (what each case contributes), ``complaint_count`` (cases per street, lead and
status) and ``complaint_duration_count`` (times to acknowledge and resolve in tenths of an hour),
kept by the job civic.complaints.counts.recount and filled here from the cases already stored (the
same computation as ``flask civic recount-complaints``).

Revision ID: 0022_case_counts
Revises: 0020_job_outbox
Create Date: 2026-12-06 18:30:00

"""
import datetime as dt

import sqlalchemy as sa
from alembic import op

revision = '0022_case_counts'
down_revision = '0021_budget_rounds'
branch_labels = None
depends_on = None

UNSATISFIED_MAX = 2  # RULES.md §3: ratings 1-2 are unsatisfied (civic.complaints.service)


def upgrade():
    op.create_table(
        'complaint_tally',
        sa.Column('complaint_id', sa.Integer(), autoincrement=False, nullable=False),
        sa.Column('street_id', sa.Integer(), nullable=False),
        sa.Column('lead_organisation_id', sa.Integer(), nullable=False),
        sa.Column('status', sa.String(length=15), nullable=False),
        sa.Column('overdue', sa.Boolean(), nullable=False),
        sa.Column('rating', sa.SmallInteger(), nullable=True),
        sa.Column('ack_tenths', sa.Integer(), nullable=True),
        sa.Column('resolve_tenths', sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint('complaint_id', name=op.f('pk_complaint_tally')),
    )
    op.create_table(
        'complaint_count',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('street_id', sa.Integer(), nullable=False),
        sa.Column('lead_organisation_id', sa.Integer(), nullable=False),
        sa.Column('status', sa.String(length=15), nullable=False),
        sa.Column('cases', sa.Integer(), nullable=False),
        sa.Column('overdue', sa.Integer(), nullable=False),
        sa.Column('rated', sa.Integer(), nullable=False),
        sa.Column('satisfied', sa.Integer(), nullable=False),
        sa.Column('rating_sum', sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_complaint_count')),
        sa.UniqueConstraint('street_id', 'lead_organisation_id', 'status',
                            name='uq_complaint_count_key'),
    )
    op.create_table(
        'complaint_duration_count',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('street_id', sa.Integer(), nullable=False),
        sa.Column('lead_organisation_id', sa.Integer(), nullable=False),
        sa.Column('measure', sa.String(length=8), nullable=False),
        sa.Column('tenths', sa.Integer(), nullable=False),
        sa.Column('cases', sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_complaint_duration_count')),
        sa.UniqueConstraint('street_id', 'lead_organisation_id', 'measure', 'tenths',
                            name='uq_complaint_duration_count_key'),
    )
    _fill()


def _fill():
    """The counts of the cases already stored (a deployment upgrading keeps its figures)."""
    bind = op.get_bind()
    if bind.dialect.name == 'postgresql':
        op.execute("""
            INSERT INTO complaint_tally (complaint_id, street_id, lead_organisation_id, status, overdue, rating,
                                         ack_tenths, resolve_tenths)
            SELECT id, coalesce(street_id, 0), coalesce(lead_organisation_id, 0), status, overdue, rating,
                   floor(extract(epoch FROM acknowledged_at - created_at) / 360),
                   floor(extract(epoch FROM resolved_at - created_at) / 360)
            FROM complaint""")
    else:
        from civic.core.db import UTCDateTime  # the stored form of times on SQLite

        c = sa.table('complaint', sa.column('id'), sa.column('street_id'), sa.column('lead_organisation_id'),
                     sa.column('status'), sa.column('overdue', sa.Boolean()), sa.column('rating'),
                     sa.column('created_at', UTCDateTime()), sa.column('acknowledged_at', UTCDateTime()),
                     sa.column('resolved_at', UTCDateTime()))
        tenth = dt.timedelta(minutes=6)
        rows = [{"complaint_id": r.id, "street_id": r.street_id or 0, "lead_organisation_id": r.lead_organisation_id or 0,
                 "status": r.status, "overdue": bool(r.overdue), "rating": r.rating,
                 "ack_tenths": (r.acknowledged_at - r.created_at) // tenth if r.acknowledged_at else None,
                 "resolve_tenths": (r.resolved_at - r.created_at) // tenth if r.resolved_at else None}
                for r in bind.execute(sa.select(c))]
        if rows:
            t = sa.table('complaint_tally', *[sa.column(k) for k in rows[0]])
            bind.execute(sa.insert(t), rows)
    op.execute(f"""
        INSERT INTO complaint_count (street_id, lead_organisation_id, status, cases, overdue, rated, satisfied, rating_sum)
        SELECT street_id, lead_organisation_id, status, count(*), sum(CASE WHEN overdue THEN 1 ELSE 0 END),
               count(rating), sum(CASE WHEN rating > {UNSATISFIED_MAX} THEN 1 ELSE 0 END), coalesce(sum(rating), 0)
        FROM complaint_tally GROUP BY street_id, lead_organisation_id, status""")
    for measure in ('ack', 'resolve'):
        op.execute(f"""
            INSERT INTO complaint_duration_count (street_id, lead_organisation_id, measure, tenths, cases)
            SELECT street_id, lead_organisation_id, '{measure}', {measure}_tenths, count(*)
            FROM complaint_tally WHERE {measure}_tenths IS NOT NULL
            GROUP BY street_id, lead_organisation_id, {measure}_tenths""")


def downgrade():
    op.drop_table('complaint_duration_count')
    op.drop_table('complaint_count')
    op.drop_table('complaint_tally')
