"""deliberation: 路管会/弄管会 committees, rule-sets, topics, co-signatures, meetings, motions, votes,
resolutions, action items, owners' vote referrals

Revision ID: 0009_deliberation
Revises: 0008_votefix
Create Date: 2026-11-29 15:02:09.026906

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '0009_deliberation'
down_revision = '0008_votefix'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('delib_committee',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('place_id', sa.Integer(), nullable=False),
    sa.Column('organisation_id', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("kind IN ('road_committee', 'lane_committee', 'council')", name=op.f('ck_delib_committee_kind_known')),
    sa.ForeignKeyConstraint(['organisation_id'], ['organisation.id'], name=op.f('fk_delib_committee_organisation_id_organisation')),
    sa.ForeignKeyConstraint(['place_id'], ['place.id'], name=op.f('fk_delib_committee_place_id_place')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_delib_committee'))
    )
    with op.batch_alter_table('delib_committee', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_delib_committee_place_id'), ['place_id'], unique=False)

    op.create_table('delib_member',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('committee_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('role', sa.String(length=12), nullable=False),
    sa.Column('speaks_for', sa.String(length=20), nullable=False),
    sa.Column('term_start', sa.Date(), nullable=False),
    sa.Column('term_end', sa.Date(), nullable=True),
    sa.CheckConstraint("role IN ('chair', 'secretary', 'member')", name=op.f('ck_delib_member_role_known')),
    sa.CheckConstraint("speaks_for IN ('residents', 'shops', 'property_company', 'street_office')", name=op.f('ck_delib_member_speaks_for_known')),
    sa.ForeignKeyConstraint(['committee_id'], ['delib_committee.id'], name=op.f('fk_delib_member_committee_id_delib_committee')),
    sa.ForeignKeyConstraint(['user_id'], ['user_account.id'], name=op.f('fk_delib_member_user_id_user_account')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_delib_member'))
    )
    with op.batch_alter_table('delib_member', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_delib_member_committee_id'), ['committee_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_delib_member_user_id'), ['user_id'], unique=False)

    op.create_table('delib_rule_set',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('committee_id', sa.Integer(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('quorum', sa.String(length=20), nullable=False),
    sa.Column('quorum_strict', sa.Boolean(), nullable=False),
    sa.Column('majority', sa.String(length=20), nullable=False),
    sa.Column('majority_strict', sa.Boolean(), nullable=False),
    sa.Column('majority_base', sa.String(length=10), nullable=False),
    sa.Column('abstentions', sa.String(length=20), nullable=False),
    sa.Column('notice_days', sa.Integer(), nullable=False),
    sa.Column('cosign_required', sa.Integer(), nullable=False),
    sa.Column('cosign_days', sa.Integer(), nullable=False),
    sa.Column('publish_days', sa.Integer(), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("abstentions IN ('present_not_for', 'excluded')", name=op.f('ck_delib_rule_set_abstentions_known')),
    sa.CheckConstraint("majority_base IN ('present', 'members')", name=op.f('ck_delib_rule_set_base_known')),
    sa.ForeignKeyConstraint(['committee_id'], ['delib_committee.id'], name=op.f('fk_delib_rule_set_committee_id_delib_committee')),
    sa.ForeignKeyConstraint(['created_by_id'], ['user_account.id'], name=op.f('fk_delib_rule_set_created_by_id_user_account')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_delib_rule_set')),
    sa.UniqueConstraint('committee_id', 'version', name=op.f('uq_delib_rule_set_committee_id_version'))
    )
    op.create_table('delib_topic',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('committee_id', sa.Integer(), nullable=False),
    sa.Column('title', sa.String(length=100), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('raised_by_id', sa.Integer(), nullable=False),
    sa.Column('raised_as', sa.String(length=10), nullable=False),
    sa.Column('state', sa.String(length=12), nullable=False),
    sa.Column('decline_reason', sa.Text(), nullable=True),
    sa.Column('cosign_until', sa.DateTime(timezone=True), nullable=True),
    sa.Column('cosign_count', sa.Integer(), nullable=False),
    sa.Column('changes_use', sa.Boolean(), nullable=False),
    sa.Column('common_part', sa.Boolean(), nullable=False),
    sa.Column('needs_owners_vote', sa.Boolean(), nullable=False),
    sa.Column('moderation_state', sa.String(length=12), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("state IN ('proposed', 'on_agenda', 'declined', 'discussed', 'decided', 'closed')", name=op.f('ck_delib_topic_state_known')),
    sa.ForeignKeyConstraint(['committee_id'], ['delib_committee.id'], name=op.f('fk_delib_topic_committee_id_delib_committee')),
    sa.ForeignKeyConstraint(['raised_by_id'], ['user_account.id'], name=op.f('fk_delib_topic_raised_by_id_user_account')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_delib_topic'))
    )
    with op.batch_alter_table('delib_topic', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_delib_topic_committee_id'), ['committee_id'], unique=False)

    op.create_table('delib_cosign',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('topic_id', sa.Integer(), nullable=False),
    sa.Column('resident_id', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['resident_id'], ['user_account.id'], name=op.f('fk_delib_cosign_resident_id_user_account')),
    sa.ForeignKeyConstraint(['topic_id'], ['delib_topic.id'], name=op.f('fk_delib_cosign_topic_id_delib_topic')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_delib_cosign')),
    sa.UniqueConstraint('topic_id', 'resident_id', name=op.f('uq_delib_cosign_topic_id_resident_id'))
    )
    op.create_table('delib_meeting',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('committee_id', sa.Integer(), nullable=False),
    sa.Column('title', sa.String(length=100), nullable=False),
    sa.Column('location', sa.String(length=200), nullable=False),
    sa.Column('starts_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('notice_sent_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('rule_set_id', sa.Integer(), nullable=False),
    sa.Column('checkin_code', sa.String(length=12), nullable=False),
    sa.Column('minutes', sa.Text(), nullable=True),
    sa.Column('convened_by_id', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['committee_id'], ['delib_committee.id'], name=op.f('fk_delib_meeting_committee_id_delib_committee')),
    sa.ForeignKeyConstraint(['convened_by_id'], ['user_account.id'], name=op.f('fk_delib_meeting_convened_by_id_user_account')),
    sa.ForeignKeyConstraint(['rule_set_id'], ['delib_rule_set.id'], name=op.f('fk_delib_meeting_rule_set_id_delib_rule_set')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_delib_meeting'))
    )
    with op.batch_alter_table('delib_meeting', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_delib_meeting_committee_id'), ['committee_id'], unique=False)

    op.create_table('delib_owners_referral',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('topic_id', sa.Integer(), nullable=False),
    sa.Column('compound_id', sa.Integer(), nullable=True),
    sa.Column('referred_by_id', sa.Integer(), nullable=False),
    sa.Column('note', sa.Text(), nullable=False),
    sa.Column('vote_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['compound_id'], ['place.id'], name=op.f('fk_delib_owners_referral_compound_id_place')),
    sa.ForeignKeyConstraint(['referred_by_id'], ['user_account.id'], name=op.f('fk_delib_owners_referral_referred_by_id_user_account')),
    sa.ForeignKeyConstraint(['topic_id'], ['delib_topic.id'], name=op.f('fk_delib_owners_referral_topic_id_delib_topic')),
    sa.ForeignKeyConstraint(['vote_id'], ['voting_vote.id'], name=op.f('fk_delib_owners_referral_vote_id_voting_vote')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_delib_owners_referral')),
    sa.UniqueConstraint('topic_id', name=op.f('uq_delib_owners_referral_topic_id'))
    )
    op.create_table('delib_topic_comment',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('topic_id', sa.Integer(), nullable=False),
    sa.Column('author_id', sa.Integer(), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('state', sa.String(length=12), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['author_id'], ['user_account.id'], name=op.f('fk_delib_topic_comment_author_id_user_account')),
    sa.ForeignKeyConstraint(['topic_id'], ['delib_topic.id'], name=op.f('fk_delib_topic_comment_topic_id_delib_topic')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_delib_topic_comment'))
    )
    with op.batch_alter_table('delib_topic_comment', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_delib_topic_comment_topic_id'), ['topic_id'], unique=False)

    op.create_table('delib_agenda_item',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('meeting_id', sa.Integer(), nullable=False),
    sa.Column('topic_id', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['meeting_id'], ['delib_meeting.id'], name=op.f('fk_delib_agenda_item_meeting_id_delib_meeting')),
    sa.ForeignKeyConstraint(['topic_id'], ['delib_topic.id'], name=op.f('fk_delib_agenda_item_topic_id_delib_topic')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_delib_agenda_item')),
    sa.UniqueConstraint('meeting_id', 'topic_id', name=op.f('uq_delib_agenda_item_meeting_id_topic_id'))
    )
    op.create_table('delib_attendance',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('meeting_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('method', sa.String(length=10), nullable=False),
    sa.Column('marked_by_id', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['marked_by_id'], ['user_account.id'], name=op.f('fk_delib_attendance_marked_by_id_user_account')),
    sa.ForeignKeyConstraint(['meeting_id'], ['delib_meeting.id'], name=op.f('fk_delib_attendance_meeting_id_delib_meeting')),
    sa.ForeignKeyConstraint(['user_id'], ['user_account.id'], name=op.f('fk_delib_attendance_user_id_user_account')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_delib_attendance')),
    sa.UniqueConstraint('meeting_id', 'user_id', name=op.f('uq_delib_attendance_meeting_id_user_id'))
    )
    op.create_table('delib_motion',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('meeting_id', sa.Integer(), nullable=False),
    sa.Column('topic_id', sa.Integer(), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('state', sa.String(length=8), nullable=False),
    sa.Column('rule_set_id', sa.Integer(), nullable=False),
    sa.Column('rule_set_version', sa.Integer(), nullable=False),
    sa.Column('result', sa.JSON(), nullable=True),
    sa.Column('passed', sa.Boolean(), nullable=True),
    sa.Column('closed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('published_until', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['meeting_id'], ['delib_meeting.id'], name=op.f('fk_delib_motion_meeting_id_delib_meeting')),
    sa.ForeignKeyConstraint(['rule_set_id'], ['delib_rule_set.id'], name=op.f('fk_delib_motion_rule_set_id_delib_rule_set')),
    sa.ForeignKeyConstraint(['topic_id'], ['delib_topic.id'], name=op.f('fk_delib_motion_topic_id_delib_topic')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_delib_motion'))
    )
    with op.batch_alter_table('delib_motion', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_delib_motion_meeting_id'), ['meeting_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_delib_motion_topic_id'), ['topic_id'], unique=False)

    op.create_table('delib_motion_vote',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('motion_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('choice', sa.String(length=8), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("choice IN ('agree', 'oppose', 'abstain')", name=op.f('ck_delib_motion_vote_choice_known')),
    sa.ForeignKeyConstraint(['motion_id'], ['delib_motion.id'], name=op.f('fk_delib_motion_vote_motion_id_delib_motion')),
    sa.ForeignKeyConstraint(['user_id'], ['user_account.id'], name=op.f('fk_delib_motion_vote_user_id_user_account')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_delib_motion_vote')),
    sa.UniqueConstraint('motion_id', 'user_id', name=op.f('uq_delib_motion_vote_motion_id_user_id'))
    )
    op.create_table('delib_resolution',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('motion_id', sa.Integer(), nullable=False),
    sa.Column('topic_id', sa.Integer(), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('rule_set_version', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['motion_id'], ['delib_motion.id'], name=op.f('fk_delib_resolution_motion_id_delib_motion')),
    sa.ForeignKeyConstraint(['topic_id'], ['delib_topic.id'], name=op.f('fk_delib_resolution_topic_id_delib_topic')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_delib_resolution')),
    sa.UniqueConstraint('motion_id', name=op.f('uq_delib_resolution_motion_id'))
    )
    op.create_table('delib_action_item',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('resolution_id', sa.Integer(), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('organisation_id', sa.Integer(), nullable=False),
    sa.Column('due_on', sa.Date(), nullable=False),
    sa.Column('state', sa.String(length=8), nullable=False),
    sa.Column('overdue', sa.Boolean(), nullable=False),
    sa.Column('closed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('evidence_note', sa.Text(), nullable=True),
    sa.Column('evidence_photos', sa.JSON(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['organisation_id'], ['organisation.id'], name=op.f('fk_delib_action_item_organisation_id_organisation')),
    sa.ForeignKeyConstraint(['resolution_id'], ['delib_resolution.id'], name=op.f('fk_delib_action_item_resolution_id_delib_resolution')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_delib_action_item'))
    )
    with op.batch_alter_table('delib_action_item', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_delib_action_item_resolution_id'), ['resolution_id'], unique=False)

    op.create_table('delib_action_update',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('action_item_id', sa.Integer(), nullable=False),
    sa.Column('author_id', sa.Integer(), nullable=False),
    sa.Column('note', sa.Text(), nullable=False),
    sa.Column('photos', sa.JSON(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['action_item_id'], ['delib_action_item.id'], name=op.f('fk_delib_action_update_action_item_id_delib_action_item')),
    sa.ForeignKeyConstraint(['author_id'], ['user_account.id'], name=op.f('fk_delib_action_update_author_id_user_account')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_delib_action_update'))
    )
    with op.batch_alter_table('delib_action_update', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_delib_action_update_action_item_id'), ['action_item_id'], unique=False)



def downgrade():
    with op.batch_alter_table('delib_action_update', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_delib_action_update_action_item_id'))

    op.drop_table('delib_action_update')
    with op.batch_alter_table('delib_action_item', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_delib_action_item_resolution_id'))

    op.drop_table('delib_action_item')
    op.drop_table('delib_resolution')
    op.drop_table('delib_motion_vote')
    with op.batch_alter_table('delib_motion', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_delib_motion_topic_id'))
        batch_op.drop_index(batch_op.f('ix_delib_motion_meeting_id'))

    op.drop_table('delib_motion')
    op.drop_table('delib_attendance')
    op.drop_table('delib_agenda_item')
    with op.batch_alter_table('delib_topic_comment', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_delib_topic_comment_topic_id'))

    op.drop_table('delib_topic_comment')
    op.drop_table('delib_owners_referral')
    with op.batch_alter_table('delib_meeting', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_delib_meeting_committee_id'))

    op.drop_table('delib_meeting')
    op.drop_table('delib_cosign')
    with op.batch_alter_table('delib_topic', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_delib_topic_committee_id'))

    op.drop_table('delib_topic')
    op.drop_table('delib_rule_set')
    with op.batch_alter_table('delib_member', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_delib_member_user_id'))
        batch_op.drop_index(batch_op.f('ix_delib_member_committee_id'))

    op.drop_table('delib_member')
    with op.batch_alter_table('delib_committee', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_delib_committee_place_id'))

    op.drop_table('delib_committee')
