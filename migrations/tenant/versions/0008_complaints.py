"""Complaints and disputes, and the working calendars their SLA clocks count in: calendars
with holidays and make-up working days; the complaint category tree; the complaint and
dispute registers with their proposals, negotiation rounds, history, notes, attachments and
corrective-action letters.

Revision ID: 0008_complaints
Revises: 0007_relations
Create Date: 2026-12-04

Tables only: the runner seeds, in the same transaction, what a new group starts with (the
default calendar, the category tree, the complaint roles and chain; docs/operations.md).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy import SmallInteger, Text
from sqlalchemy.dialects import postgresql

revision = "0008_complaints"
down_revision = "0007_relations"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('working_calendars',
    sa.Column('code', sa.String(length=40), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('time_zone', sa.String(length=64), nullable=False),
    sa.Column('is_default', sa.Boolean(), nullable=False),
    sa.Column('work_start', sa.Time(), nullable=False),
    sa.Column('lunch_start', sa.Time(), nullable=True),
    sa.Column('lunch_minutes', sa.Integer(), nullable=False),
    sa.Column('work_end', sa.Time(), nullable=False),
    sa.Column('rest_weekdays', postgresql.ARRAY(SmallInteger()), nullable=False),
    sa.Column('id', sa.UUID(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_working_calendars')),
    sa.UniqueConstraint('code', name=op.f('uq_working_calendars_code')),
    schema='tenant'
    )
    op.create_index('uq_working_calendars_is_default', 'working_calendars', ['is_default'], unique=True, schema='tenant', postgresql_where=sa.text('is_default'))
    op.create_table('calendar_holidays',
    sa.Column('calendar_id', sa.UUID(), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('start_date', sa.Date(), nullable=False),
    sa.Column('end_date', sa.Date(), nullable=False),
    sa.Column('id', sa.UUID(), nullable=False),
    sa.CheckConstraint('end_date >= start_date', name=op.f('ck_calendar_holidays_end_after_start')),
    sa.ForeignKeyConstraint(['calendar_id'], ['tenant.working_calendars.id'], name=op.f('fk_calendar_holidays_calendar_id_working_calendars'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_calendar_holidays')),
    schema='tenant'
    )
    op.create_index('ix_calendar_holidays_calendar_id_start_date', 'calendar_holidays', ['calendar_id', 'start_date'], unique=False, schema='tenant')
    op.create_table('calendar_workdays',
    sa.Column('calendar_id', sa.UUID(), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('id', sa.UUID(), nullable=False),
    sa.ForeignKeyConstraint(['calendar_id'], ['tenant.working_calendars.id'], name=op.f('fk_calendar_workdays_calendar_id_working_calendars'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_calendar_workdays')),
    sa.UniqueConstraint('calendar_id', 'day', name=op.f('uq_calendar_workdays_calendar_id_day')),
    schema='tenant'
    )
    op.create_table('complaint_categories',
    sa.Column('parent_id', sa.UUID(), nullable=True),
    sa.Column('code', sa.String(length=40), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('quality', sa.Boolean(), nullable=False),
    sa.Column('response_minutes', sa.Integer(), nullable=True),
    sa.Column('resolution_minutes', sa.Integer(), nullable=True),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('id', sa.UUID(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['parent_id'], ['tenant.complaint_categories.id'], name=op.f('fk_complaint_categories_parent_id_complaint_categories'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_complaint_categories')),
    sa.UniqueConstraint('code', name=op.f('uq_complaint_categories_code')),
    schema='tenant'
    )
    op.create_index('ix_complaint_categories_parent_id', 'complaint_categories', ['parent_id'], unique=False, schema='tenant')
    op.create_table('complaints',
    sa.Column('register', sa.Enum('complaint', 'dispute', name='register', native_enum=False, length=20, schema='tenant'), nullable=False),
    sa.Column('number', sa.String(length=30), nullable=False),
    sa.Column('channel', sa.Enum('app', 'hotline', 'email', 'property_company', 'walk_in', 'letter', name='complaintchannel', native_enum=False, length=20, schema='tenant'), nullable=False),
    sa.Column('customer_id', sa.UUID(), nullable=True),
    sa.Column('contact_note', sa.String(length=500), nullable=True),
    sa.Column('node_id', sa.UUID(), nullable=False),
    sa.Column('unit_id', sa.UUID(), nullable=True),
    sa.Column('category_id', sa.UUID(), nullable=False),
    sa.Column('quality', sa.Boolean(), nullable=False),
    sa.Column('severity', sa.Enum('low', 'medium', 'high', 'critical', name='severity', native_enum=False, length=20, schema='tenant'), nullable=False),
    sa.Column('subject', sa.String(length=200), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('counterparty', sa.String(length=500), nullable=True),
    sa.Column('joint_group', sa.UUID(), nullable=True),
    sa.Column('status', sa.Enum('received', 'investigating', 'proposal', 'approval', 'negotiation', 'handling', 'feedback', 'closed', 'litigation', name='complaintstatus', native_enum=False, length=20, schema='tenant'), nullable=False),
    sa.Column('handler_id', sa.String(length=200), nullable=True),
    sa.Column('filed_by', sa.String(length=200), nullable=False),
    sa.Column('department', sa.Enum('project_department', 'customer_affairs', name='department', native_enum=False, length=20, schema='tenant'), nullable=False),
    sa.Column('received_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('first_responded_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('resolved_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('closed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('cause', sa.Text(), nullable=True),
    sa.Column('responsible_party', sa.Enum('developer', 'contractor', 'supplier', 'property_company', 'customer', 'third_party', 'none', name='responsibleparty', native_enum=False, length=20, schema='tenant'), nullable=True),
    sa.Column('handling_result', sa.Text(), nullable=True),
    sa.Column('check_result', sa.Text(), nullable=True),
    sa.Column('feedback_opinion', sa.Text(), nullable=True),
    sa.Column('satisfaction', sa.Integer(), nullable=True),
    sa.Column('case_reference', sa.String(length=100), nullable=True),
    sa.Column('court', sa.String(length=200), nullable=True),
    sa.Column('litigation_outcome', sa.Text(), nullable=True),
    sa.Column('litigated_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('reopen_count', sa.Integer(), nullable=False),
    sa.Column('response_target_minutes', sa.Integer(), nullable=False),
    sa.Column('resolution_target_minutes', sa.Integer(), nullable=False),
    sa.Column('paused_seconds', sa.Integer(), nullable=False),
    sa.Column('paused_since', sa.DateTime(timezone=True), nullable=True),
    sa.Column('pause_reason', sa.Enum('customer', 'third_party', name='pausereason', native_enum=False, length=20, schema='tenant'), nullable=True),
    sa.Column('response_due_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('response_warn_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('resolution_due_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('resolution_warn_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('response_seconds', sa.Integer(), nullable=True),
    sa.Column('resolution_seconds', sa.Integer(), nullable=True),
    sa.Column('response_met', sa.Boolean(), nullable=True),
    sa.Column('resolution_met', sa.Boolean(), nullable=True),
    sa.Column('response_warned_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('response_breached_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('resolution_warned_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('resolution_breached_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('escalation_level', sa.Integer(), nullable=False),
    sa.Column('next_escalation_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('sla_next_check_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('sla_calendar_stamp', sa.DateTime(timezone=True), nullable=True),
    sa.Column('id', sa.UUID(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.CheckConstraint('satisfaction BETWEEN 1 AND 5', name=op.f('ck_complaints_satisfaction_range')),
    sa.ForeignKeyConstraint(['category_id'], ['tenant.complaint_categories.id'], name=op.f('fk_complaints_category_id_complaint_categories'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['customer_id'], ['tenant.customers.id'], name=op.f('fk_complaints_customer_id_customers'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['node_id'], ['tenant.org_nodes.id'], name=op.f('fk_complaints_node_id_org_nodes'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['unit_id'], ['tenant.units.id'], name=op.f('fk_complaints_unit_id_units'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_complaints')),
    sa.UniqueConstraint('number', name=op.f('uq_complaints_number')),
    schema='tenant'
    )
    op.create_index('ix_complaints_category_id', 'complaints', ['category_id'], unique=False, schema='tenant')
    op.create_index('ix_complaints_customer_id', 'complaints', ['customer_id'], unique=False, schema='tenant')
    op.create_index('ix_complaints_department_node_id', 'complaints', ['department', 'node_id'], unique=False, schema='tenant')
    op.create_index('ix_complaints_handler_id', 'complaints', ['handler_id'], unique=False, schema='tenant')
    op.create_index('ix_complaints_joint_group', 'complaints', ['joint_group'], unique=False, schema='tenant')
    op.create_index('ix_complaints_node_id', 'complaints', ['node_id'], unique=False, schema='tenant')
    op.create_index('ix_complaints_received_at', 'complaints', ['received_at'], unique=False, schema='tenant')
    op.create_index('ix_complaints_register_received_at', 'complaints', ['register', 'received_at'], unique=False, schema='tenant')
    op.create_index('ix_complaints_register_status', 'complaints', ['register', 'status'], unique=False, schema='tenant')
    op.create_index('ix_complaints_sla_calendar_stamp', 'complaints', ['sla_calendar_stamp'], unique=False, schema='tenant', postgresql_where=sa.text('sla_next_check_at IS NOT NULL'))
    op.create_index('ix_complaints_sla_next_check_at', 'complaints', ['sla_next_check_at'], unique=False, schema='tenant', postgresql_where=sa.text('sla_next_check_at IS NOT NULL'))
    op.create_index('ix_complaints_unit_id', 'complaints', ['unit_id'], unique=False, schema='tenant')
    op.create_table('complaint_proposals',
    sa.Column('complaint_id', sa.UUID(), nullable=False),
    sa.Column('round', sa.Integer(), nullable=False),
    sa.Column('kind', sa.Enum('apology', 'compensation', 'replacement', 'repair', 'other', name='proposalkind', native_enum=False, length=20, schema='tenant'), nullable=False),
    sa.Column('amount', sa.Numeric(precision=18, scale=2), nullable=True),
    sa.Column('item', sa.String(length=500), nullable=True),
    sa.Column('due_date', sa.Date(), nullable=True),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('pre_negotiated', sa.Boolean(), nullable=False),
    sa.Column('status', sa.Enum('pending', 'approved', 'rejected', 'withdrawn', 'agreed', 'not_agreed', name='proposalstatus', native_enum=False, length=20, schema='tenant'), nullable=False),
    sa.Column('approval_request_id', sa.UUID(), nullable=True),
    sa.Column('decision_comment', sa.Text(), nullable=True),
    sa.Column('created_by', sa.String(length=200), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('decided_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('id', sa.UUID(), nullable=False),
    sa.ForeignKeyConstraint(['complaint_id'], ['tenant.complaints.id'], name=op.f('fk_complaint_proposals_complaint_id_complaints'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_complaint_proposals')),
    sa.UniqueConstraint('complaint_id', 'round', name=op.f('uq_complaint_proposals_complaint_id_round')),
    schema='tenant'
    )
    op.create_index('ix_complaint_proposals_approval_request_id', 'complaint_proposals', ['approval_request_id'], unique=False, schema='tenant')
    op.create_table('complaint_negotiations',
    sa.Column('complaint_id', sa.UUID(), nullable=False),
    sa.Column('proposal_id', sa.UUID(), nullable=False),
    sa.Column('round', sa.Integer(), nullable=False),
    sa.Column('customer_response', sa.Text(), nullable=False),
    sa.Column('agreed', sa.Boolean(), nullable=False),
    sa.Column('recorded_by', sa.String(length=200), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('id', sa.UUID(), nullable=False),
    sa.ForeignKeyConstraint(['complaint_id'], ['tenant.complaints.id'], name=op.f('fk_complaint_negotiations_complaint_id_complaints'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['proposal_id'], ['tenant.complaint_proposals.id'], name=op.f('fk_complaint_negotiations_proposal_id_complaint_proposals'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_complaint_negotiations')),
    schema='tenant'
    )
    op.create_index('ix_complaint_negotiations_complaint_id', 'complaint_negotiations', ['complaint_id'], unique=False, schema='tenant')
    op.create_table('complaint_events',
    sa.Column('complaint_id', sa.UUID(), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('actor_id', sa.String(length=200), nullable=False),
    sa.Column('action', sa.String(length=40), nullable=False),
    sa.Column('from_status', sa.Enum('received', 'investigating', 'proposal', 'approval', 'negotiation', 'handling', 'feedback', 'closed', 'litigation', name='complaintstatus', native_enum=False, length=20, schema='tenant'), nullable=True),
    sa.Column('to_status', sa.Enum('received', 'investigating', 'proposal', 'approval', 'negotiation', 'handling', 'feedback', 'closed', 'litigation', name='complaintstatus', native_enum=False, length=20, schema='tenant'), nullable=True),
    sa.Column('note', sa.Text(), nullable=True),
    sa.Column('public', sa.Boolean(), nullable=False),
    sa.Column('data', postgresql.JSONB(astext_type=Text()), nullable=True),
    sa.Column('id', sa.UUID(), nullable=False),
    sa.ForeignKeyConstraint(['complaint_id'], ['tenant.complaints.id'], name=op.f('fk_complaint_events_complaint_id_complaints'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_complaint_events')),
    schema='tenant'
    )
    op.create_index('ix_complaint_events_complaint_id_at', 'complaint_events', ['complaint_id', 'at'], unique=False, schema='tenant')
    op.create_table('complaint_notes',
    sa.Column('complaint_id', sa.UUID(), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('author_id', sa.String(length=200), nullable=False),
    sa.Column('by_owner', sa.Boolean(), nullable=False),
    sa.Column('internal', sa.Boolean(), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('id', sa.UUID(), nullable=False),
    sa.ForeignKeyConstraint(['complaint_id'], ['tenant.complaints.id'], name=op.f('fk_complaint_notes_complaint_id_complaints'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_complaint_notes')),
    schema='tenant'
    )
    op.create_index('ix_complaint_notes_complaint_id', 'complaint_notes', ['complaint_id'], unique=False, schema='tenant')
    op.create_table('complaint_attachments',
    sa.Column('complaint_id', sa.UUID(), nullable=False),
    sa.Column('key', sa.String(length=255), nullable=False),
    sa.Column('filename', sa.String(length=200), nullable=False),
    sa.Column('content_type', sa.String(length=100), nullable=False),
    sa.Column('size', sa.BigInteger(), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('status', sa.Enum('pending', 'stored', name='attachmentstatus', native_enum=False, length=20, schema='tenant'), nullable=False),
    sa.Column('version_id', sa.String(length=128), nullable=True),
    sa.Column('uploaded_by', sa.String(length=200), nullable=False),
    sa.Column('by_owner', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('upload_expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('stored_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('id', sa.UUID(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['complaint_id'], ['tenant.complaints.id'], name=op.f('fk_complaint_attachments_complaint_id_complaints'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_complaint_attachments')),
    sa.UniqueConstraint('key', name=op.f('uq_complaint_attachments_key')),
    schema='tenant'
    )
    op.create_index('ix_complaint_attachments_complaint_id', 'complaint_attachments', ['complaint_id'], unique=False, schema='tenant')
    op.create_table('complaint_capa_letters',
    sa.Column('complaint_id', sa.UUID(), nullable=False),
    sa.Column('number', sa.String(length=30), nullable=False),
    sa.Column('department', sa.String(length=200), nullable=False),
    sa.Column('assignee_id', sa.UUID(), nullable=True),
    sa.Column('root_cause', sa.Text(), nullable=False),
    sa.Column('requested_action', sa.Text(), nullable=False),
    sa.Column('due_date', sa.Date(), nullable=False),
    sa.Column('status', sa.Enum('sent', 'responded', name='letterstatus', native_enum=False, length=20, schema='tenant'), nullable=False),
    sa.Column('response', sa.Text(), nullable=True),
    sa.Column('responded_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('responded_by', sa.String(length=200), nullable=True),
    sa.Column('created_by', sa.String(length=200), nullable=False),
    sa.Column('id', sa.UUID(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['complaint_id'], ['tenant.complaints.id'], name=op.f('fk_complaint_capa_letters_complaint_id_complaints'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_complaint_capa_letters')),
    sa.UniqueConstraint('number', name=op.f('uq_complaint_capa_letters_number')),
    schema='tenant'
    )
    op.create_index('ix_complaint_capa_letters_complaint_id', 'complaint_capa_letters', ['complaint_id'], unique=False, schema='tenant')


def downgrade() -> None:
    op.drop_index('ix_complaint_capa_letters_complaint_id', table_name='complaint_capa_letters', schema='tenant')
    op.drop_table('complaint_capa_letters', schema='tenant')
    op.drop_index('ix_complaint_attachments_complaint_id', table_name='complaint_attachments', schema='tenant')
    op.drop_table('complaint_attachments', schema='tenant')
    op.drop_index('ix_complaint_notes_complaint_id', table_name='complaint_notes', schema='tenant')
    op.drop_table('complaint_notes', schema='tenant')
    op.drop_index('ix_complaint_events_complaint_id_at', table_name='complaint_events', schema='tenant')
    op.drop_table('complaint_events', schema='tenant')
    op.drop_index('ix_complaint_negotiations_complaint_id', table_name='complaint_negotiations', schema='tenant')
    op.drop_table('complaint_negotiations', schema='tenant')
    op.drop_index('ix_complaint_proposals_approval_request_id', table_name='complaint_proposals', schema='tenant')
    op.drop_table('complaint_proposals', schema='tenant')
    op.drop_index('ix_complaints_unit_id', table_name='complaints', schema='tenant')
    op.drop_index('ix_complaints_sla_next_check_at', table_name='complaints', schema='tenant')
    op.drop_index('ix_complaints_sla_calendar_stamp', table_name='complaints', schema='tenant')
    op.drop_index('ix_complaints_register_status', table_name='complaints', schema='tenant')
    op.drop_index('ix_complaints_register_received_at', table_name='complaints', schema='tenant')
    op.drop_index('ix_complaints_received_at', table_name='complaints', schema='tenant')
    op.drop_index('ix_complaints_node_id', table_name='complaints', schema='tenant')
    op.drop_index('ix_complaints_joint_group', table_name='complaints', schema='tenant')
    op.drop_index('ix_complaints_handler_id', table_name='complaints', schema='tenant')
    op.drop_index('ix_complaints_department_node_id', table_name='complaints', schema='tenant')
    op.drop_index('ix_complaints_customer_id', table_name='complaints', schema='tenant')
    op.drop_index('ix_complaints_category_id', table_name='complaints', schema='tenant')
    op.drop_table('complaints', schema='tenant')
    op.drop_index('ix_complaint_categories_parent_id', table_name='complaint_categories', schema='tenant')
    op.drop_table('complaint_categories', schema='tenant')
    op.drop_table('calendar_workdays', schema='tenant')
    op.drop_index('ix_calendar_holidays_calendar_id_start_date', table_name='calendar_holidays', schema='tenant')
    op.drop_table('calendar_holidays', schema='tenant')
    op.drop_index('uq_working_calendars_is_default', table_name='working_calendars', schema='tenant')
    op.drop_table('working_calendars', schema='tenant')
