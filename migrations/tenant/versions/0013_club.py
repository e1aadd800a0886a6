"""The customer club, its activities, customer forums and care campaigns: clubs and their tiers,
members and their points ledger, activities and registrations; forums, their invitees, findings
and improvement actions; care rules and the care messages sent.

Revision ID: 0013_club
Revises: 0010_uploads
Create Date: 2026-12-07

A tenant migration: it runs once per tenant schema, inside that tenant's transaction.
Only new tables: additive, nothing the previous release reads changes.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql
from sqlalchemy.types import Text

revision = "0013_club"
down_revision = "0012_certificates"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('care_rules',
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('occasion', sa.Enum('birthday', 'holiday', 'anniversary', name='occasion', native_enum=False, length=20, schema='tenant'), nullable=False),
    sa.Column('month', sa.Integer(), nullable=True),
    sa.Column('day', sa.Integer(), nullable=True),
    sa.Column('channels', postgresql.JSONB(astext_type=Text()), nullable=False),
    sa.Column('subject', sa.String(length=200), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('created_by', sa.String(length=200), nullable=False),
    sa.Column('id', sa.UUID(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.CheckConstraint("(occasion = 'holiday') = (month IS NOT NULL AND day IS NOT NULL)", name=op.f('ck_care_rules_holiday_date')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_care_rules')),
    sa.UniqueConstraint('name', name=op.f('uq_care_rules_name')),
    schema='tenant'
    )
    op.create_table('care_messages',
    sa.Column('rule_id', sa.UUID(), nullable=False),
    sa.Column('customer_id', sa.UUID(), nullable=False),
    sa.Column('occasion', sa.String(length=40), nullable=False),
    sa.Column('channel', sa.String(length=20), nullable=False),
    sa.Column('outbox_message_id', sa.UUID(), nullable=False),
    sa.Column('sent_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('id', sa.UUID(), nullable=False),
    sa.ForeignKeyConstraint(['customer_id'], ['tenant.customers.id'], name=op.f('fk_care_messages_customer_id_customers'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['rule_id'], ['tenant.care_rules.id'], name=op.f('fk_care_messages_rule_id_care_rules'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_care_messages')),
    sa.UniqueConstraint('rule_id', 'customer_id', 'occasion', name=op.f('uq_care_messages_rule_id_customer_id_occasion')),
    schema='tenant'
    )
    op.create_index('ix_care_messages_customer_id', 'care_messages', ['customer_id'], unique=False, schema='tenant')
    op.create_table('clubs',
    sa.Column('node_id', sa.UUID(), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('purpose', sa.Text(), nullable=False),
    sa.Column('charter', sa.Text(), nullable=False),
    sa.Column('budget', sa.Numeric(precision=14, scale=2), nullable=False),
    sa.Column('referral_points', sa.Integer(), nullable=False),
    sa.Column('stage', sa.Enum('draft', 'submitted', 'established', 'closed', name='clubstage', native_enum=False, length=20, schema='tenant'), nullable=False),
    sa.Column('approval_request_id', sa.UUID(), nullable=True),
    sa.Column('established_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_by', sa.String(length=200), nullable=False),
    sa.Column('id', sa.UUID(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['approval_request_id'], ['tenant.approval_requests.id'], name=op.f('fk_clubs_approval_request_id_approval_requests'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['node_id'], ['tenant.org_nodes.id'], name=op.f('fk_clubs_node_id_org_nodes'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_clubs')),
    sa.UniqueConstraint('name', name=op.f('uq_clubs_name')),
    schema='tenant'
    )
    op.create_index('ix_clubs_node_id', 'clubs', ['node_id'], unique=False, schema='tenant')
    op.create_table('forums',
    sa.Column('node_id', sa.UUID(), nullable=False),
    sa.Column('number', sa.String(length=30), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('kind', sa.Enum('regular', 'ad_hoc', name='forumkind', native_enum=False, length=20, schema='tenant'), nullable=False),
    sa.Column('scope', sa.Enum('general', 'thematic', name='forumscope', native_enum=False, length=20, schema='tenant'), nullable=False),
    sa.Column('theme', sa.String(length=200), nullable=True),
    sa.Column('purpose', sa.Text(), nullable=False),
    sa.Column('planned_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('format', sa.String(length=200), nullable=False),
    sa.Column('venue', sa.String(length=300), nullable=True),
    sa.Column('participants', sa.Text(), nullable=False),
    sa.Column('budget', sa.Numeric(precision=14, scale=2), nullable=False),
    sa.Column('stage', sa.Enum('draft', 'submitted', 'held', 'closed', 'cancelled', name='forumstage', native_enum=False, length=20, schema='tenant'), nullable=False),
    sa.Column('approval_request_id', sa.UUID(), nullable=True),
    sa.Column('held_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('minutes', sa.Text(), nullable=True),
    sa.Column('analysis', sa.Text(), nullable=True),
    sa.Column('actual_cost', sa.Numeric(precision=14, scale=2), nullable=True),
    sa.Column('cancel_reason', sa.String(length=2000), nullable=True),
    sa.Column('created_by', sa.String(length=200), nullable=False),
    sa.Column('id', sa.UUID(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['approval_request_id'], ['tenant.approval_requests.id'], name=op.f('fk_forums_approval_request_id_approval_requests'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['node_id'], ['tenant.org_nodes.id'], name=op.f('fk_forums_node_id_org_nodes'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_forums')),
    sa.UniqueConstraint('number', name=op.f('uq_forums_number')),
    schema='tenant'
    )
    op.create_index('ix_forums_node_id', 'forums', ['node_id'], unique=False, schema='tenant')
    op.create_index('ix_forums_planned_at', 'forums', ['planned_at'], unique=False, schema='tenant')
    op.create_table('club_activities',
    sa.Column('club_id', sa.UUID(), nullable=False),
    sa.Column('node_id', sa.UUID(), nullable=False),
    sa.Column('number', sa.String(length=30), nullable=False),
    sa.Column('kind', sa.Enum('period', 'event', name='activitykind', native_enum=False, length=20, schema='tenant'), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('purpose', sa.Text(), nullable=False),
    sa.Column('content', sa.Text(), nullable=False),
    sa.Column('form', sa.String(length=200), nullable=False),
    sa.Column('venue', sa.String(length=300), nullable=True),
    sa.Column('starts_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('ends_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('capacity', sa.Integer(), nullable=False),
    sa.Column('budget_lines', postgresql.JSONB(astext_type=Text()), nullable=False),
    sa.Column('budget', sa.Numeric(precision=14, scale=2), nullable=False),
    sa.Column('tiers', postgresql.JSONB(astext_type=Text()), nullable=False),
    sa.Column('project_ids', postgresql.JSONB(astext_type=Text()), nullable=False),
    sa.Column('stage', sa.Enum('draft', 'submitted', 'published', 'held', 'evaluated', 'cancelled', name='activitystage', native_enum=False, length=20, schema='tenant'), nullable=False),
    sa.Column('approval_request_id', sa.UUID(), nullable=True),
    sa.Column('published_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('held_summary', sa.Text(), nullable=True),
    sa.Column('actual_lines', postgresql.JSONB(astext_type=Text()), nullable=True),
    sa.Column('actual_cost', sa.Numeric(precision=14, scale=2), nullable=True),
    sa.Column('referrals', sa.Integer(), nullable=True),
    sa.Column('purchases', sa.Integer(), nullable=True),
    sa.Column('sales_value', sa.Numeric(precision=14, scale=2), nullable=True),
    sa.Column('questionnaire_id', sa.UUID(), nullable=True),
    sa.Column('evaluation_notes', sa.Text(), nullable=True),
    sa.Column('cancel_reason', sa.String(length=2000), nullable=True),
    sa.Column('created_by', sa.String(length=200), nullable=False),
    sa.Column('id', sa.UUID(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.CheckConstraint('capacity > 0', name=op.f('ck_club_activities_capacity_positive')),
    sa.CheckConstraint('ends_at >= starts_at', name=op.f('ck_club_activities_ends_after_start')),
    sa.ForeignKeyConstraint(['approval_request_id'], ['tenant.approval_requests.id'], name=op.f('fk_club_activities_approval_request_id_approval_requests'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['club_id'], ['tenant.clubs.id'], name=op.f('fk_club_activities_club_id_clubs'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['node_id'], ['tenant.org_nodes.id'], name=op.f('fk_club_activities_node_id_org_nodes'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['questionnaire_id'], ['tenant.questionnaires.id'], name=op.f('fk_club_activities_questionnaire_id_questionnaires'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_club_activities')),
    sa.UniqueConstraint('number', name=op.f('uq_club_activities_number')),
    schema='tenant'
    )
    op.create_index('ix_club_activities_club_id_stage', 'club_activities', ['club_id', 'stage'], unique=False, schema='tenant')
    op.create_index('ix_club_activities_node_id', 'club_activities', ['node_id'], unique=False, schema='tenant')
    op.create_table('club_tiers',
    sa.Column('club_id', sa.UUID(), nullable=False),
    sa.Column('code', sa.String(length=40), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('min_points', sa.Integer(), nullable=False),
    sa.Column('benefits', sa.Text(), nullable=True),
    sa.Column('id', sa.UUID(), nullable=False),
    sa.ForeignKeyConstraint(['club_id'], ['tenant.clubs.id'], name=op.f('fk_club_tiers_club_id_clubs'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_club_tiers')),
    sa.UniqueConstraint('club_id', 'code', name=op.f('uq_club_tiers_club_id_code')),
    sa.UniqueConstraint('club_id', 'min_points', name=op.f('uq_club_tiers_club_id_min_points')),
    schema='tenant'
    )
    op.create_table('forum_findings',
    sa.Column('forum_id', sa.UUID(), nullable=False),
    sa.Column('node_id', sa.UUID(), nullable=False),
    sa.Column('category', sa.Enum('forum', 'service', 'relationship', 'product', 'property', name='findingcategory', native_enum=False, length=20, schema='tenant'), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('created_by', sa.String(length=200), nullable=False),
    sa.Column('id', sa.UUID(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.ForeignKeyConstraint(['forum_id'], ['tenant.forums.id'], name=op.f('fk_forum_findings_forum_id_forums'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['node_id'], ['tenant.org_nodes.id'], name=op.f('fk_forum_findings_node_id_org_nodes'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_forum_findings')),
    schema='tenant'
    )
    op.create_index('ix_forum_findings_forum_id', 'forum_findings', ['forum_id'], unique=False, schema='tenant')
    op.create_table('forum_invitees',
    sa.Column('forum_id', sa.UUID(), nullable=False),
    sa.Column('customer_id', sa.UUID(), nullable=False),
    sa.Column('status', sa.Enum('invited', 'attended', 'absent', name='inviteestatus', native_enum=False, length=20, schema='tenant'), nullable=False),
    sa.Column('invited_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('id', sa.UUID(), nullable=False),
    sa.ForeignKeyConstraint(['customer_id'], ['tenant.customers.id'], name=op.f('fk_forum_invitees_customer_id_customers'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['forum_id'], ['tenant.forums.id'], name=op.f('fk_forum_invitees_forum_id_forums'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_forum_invitees')),
    sa.UniqueConstraint('forum_id', 'customer_id', name=op.f('uq_forum_invitees_forum_id_customer_id')),
    schema='tenant'
    )
    op.create_index('ix_forum_invitees_customer_id', 'forum_invitees', ['customer_id'], unique=False, schema='tenant')
    op.create_table('club_members',
    sa.Column('club_id', sa.UUID(), nullable=False),
    sa.Column('customer_id', sa.UUID(), nullable=False),
    sa.Column('node_id', sa.UUID(), nullable=False),
    sa.Column('number', sa.String(length=30), nullable=False),
    sa.Column('tier_id', sa.UUID(), nullable=False),
    sa.Column('status', sa.Enum('active', 'left', name='memberstatus', native_enum=False, length=20, schema='tenant'), nullable=False),
    sa.Column('joined_on', sa.Date(), nullable=False),
    sa.Column('birth_date', sa.Date(), nullable=True),
    sa.Column('referred_by_id', sa.UUID(), nullable=True),
    sa.Column('balance', sa.Integer(), nullable=False),
    sa.Column('lifetime_points', sa.Integer(), nullable=False),
    sa.Column('left_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('id', sa.UUID(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.CheckConstraint('balance >= 0', name=op.f('ck_club_members_balance_not_negative')),
    sa.ForeignKeyConstraint(['club_id'], ['tenant.clubs.id'], name=op.f('fk_club_members_club_id_clubs'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['customer_id'], ['tenant.customers.id'], name=op.f('fk_club_members_customer_id_customers'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['node_id'], ['tenant.org_nodes.id'], name=op.f('fk_club_members_node_id_org_nodes'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['referred_by_id'], ['tenant.club_members.id'], name=op.f('fk_club_members_referred_by_id_club_members'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['tier_id'], ['tenant.club_tiers.id'], name=op.f('fk_club_members_tier_id_club_tiers'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_club_members')),
    sa.UniqueConstraint('club_id', 'customer_id', name=op.f('uq_club_members_club_id_customer_id')),
    sa.UniqueConstraint('number', name=op.f('uq_club_members_number')),
    schema='tenant'
    )
    op.create_index('ix_club_members_customer_id', 'club_members', ['customer_id'], unique=False, schema='tenant')
    op.create_index('ix_club_members_node_id', 'club_members', ['node_id'], unique=False, schema='tenant')
    op.create_table('forum_actions',
    sa.Column('finding_id', sa.UUID(), nullable=False),
    sa.Column('forum_id', sa.UUID(), nullable=False),
    sa.Column('node_id', sa.UUID(), nullable=False),
    sa.Column('title', sa.String(length=300), nullable=False),
    sa.Column('owner_id', sa.String(length=200), nullable=False),
    sa.Column('due_on', sa.Date(), nullable=False),
    sa.Column('status', sa.Enum('open', 'done', 'dropped', name='actionstatus', native_enum=False, length=20, schema='tenant'), nullable=False),
    sa.Column('progress', sa.Text(), nullable=True),
    sa.Column('result', sa.Text(), nullable=True),
    sa.Column('done_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('overdue_since', sa.Date(), nullable=True),
    sa.Column('id', sa.UUID(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['finding_id'], ['tenant.forum_findings.id'], name=op.f('fk_forum_actions_finding_id_forum_findings'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['forum_id'], ['tenant.forums.id'], name=op.f('fk_forum_actions_forum_id_forums'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['node_id'], ['tenant.org_nodes.id'], name=op.f('fk_forum_actions_node_id_org_nodes'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_forum_actions')),
    schema='tenant'
    )
    op.create_index('ix_forum_actions_finding_id', 'forum_actions', ['finding_id'], unique=False, schema='tenant')
    op.create_index('ix_forum_actions_node_id', 'forum_actions', ['node_id'], unique=False, schema='tenant')
    op.create_index('ix_forum_actions_status_due_on', 'forum_actions', ['status', 'due_on'], unique=False, schema='tenant')
    op.create_table('club_points_entries',
    sa.Column('member_id', sa.UUID(), nullable=False),
    sa.Column('node_id', sa.UUID(), nullable=False),
    sa.Column('kind', sa.Enum('earn', 'referral', 'redeem', 'expire', 'reversal', name='entrykind', native_enum=False, length=20, schema='tenant'), nullable=False),
    sa.Column('points', sa.Integer(), nullable=False),
    sa.Column('balance_after', sa.Integer(), nullable=False),
    sa.Column('reason', sa.String(length=500), nullable=False),
    sa.Column('reference', sa.String(length=200), nullable=True),
    sa.Column('reverses_id', sa.UUID(), nullable=True),
    sa.Column('created_by', sa.String(length=200), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('id', sa.UUID(), nullable=False),
    sa.CheckConstraint('balance_after >= 0', name=op.f('ck_club_points_entries_balance_after_not_negative')),
    sa.CheckConstraint('points <> 0', name=op.f('ck_club_points_entries_points_not_zero')),
    sa.ForeignKeyConstraint(['member_id'], ['tenant.club_members.id'], name=op.f('fk_club_points_entries_member_id_club_members'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['node_id'], ['tenant.org_nodes.id'], name=op.f('fk_club_points_entries_node_id_org_nodes'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['reverses_id'], ['tenant.club_points_entries.id'], name=op.f('fk_club_points_entries_reverses_id_club_points_entries'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_club_points_entries')),
    sa.UniqueConstraint('reverses_id', name=op.f('uq_club_points_entries_reverses_id')),
    schema='tenant'
    )
    op.create_index('ix_club_points_entries_member_id_created_at', 'club_points_entries', ['member_id', 'created_at'], unique=False, schema='tenant')
    op.create_table('club_registrations',
    sa.Column('activity_id', sa.UUID(), nullable=False),
    sa.Column('member_id', sa.UUID(), nullable=False),
    sa.Column('node_id', sa.UUID(), nullable=False),
    sa.Column('status', sa.Enum('registered', 'waitlisted', 'cancelled', 'checked_in', name='registrationstatus', native_enum=False, length=20, schema='tenant'), nullable=False),
    sa.Column('promoted_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('cancelled_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('checked_in_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('checked_in_by', sa.String(length=200), nullable=True),
    sa.Column('id', sa.UUID(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['activity_id'], ['tenant.club_activities.id'], name=op.f('fk_club_registrations_activity_id_club_activities'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['member_id'], ['tenant.club_members.id'], name=op.f('fk_club_registrations_member_id_club_members'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['node_id'], ['tenant.org_nodes.id'], name=op.f('fk_club_registrations_node_id_org_nodes'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_club_registrations')),
    sa.UniqueConstraint('activity_id', 'member_id', name=op.f('uq_club_registrations_activity_id_member_id')),
    schema='tenant'
    )
    op.create_index('ix_club_registrations_activity_id_status_created_at', 'club_registrations', ['activity_id', 'status', 'created_at'], unique=False, schema='tenant')
    op.create_index('ix_club_registrations_member_id', 'club_registrations', ['member_id'], unique=False, schema='tenant')
