"""Customer relations, part 3: interactions (visits, receptions and their guests, gift plans and
applications, calls), return visits (questionnaires, plans, targets, results and answers),
grading and credit (current grades with their value tiers, the grade history, credit-limit
changes, credit reviews).

Revision ID: 0007_relations
Revises: 0006_inquiries
Create Date: 2026-12-04

Tables only: the runner seeds, in the same transaction, what a new group starts with (the
standard questionnaire, the roles and chains of the new request types; docs/operations.md).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy import Text
from sqlalchemy.dialects import postgresql

revision = "0007_relations"
down_revision = "0006_inquiries"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('questionnaires',
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('description', sa.Text(), nullable=True),
    sa.Column('status', sa.Enum('active', 'retired', name='questionnairestatus', native_enum=False, length=20, schema='tenant'), nullable=False),
    sa.Column('id', sa.UUID(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_questionnaires')),
    schema='tenant'
    )
    op.create_table('gift_plans',
    sa.Column('node_id', sa.UUID(), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('occasion', sa.String(length=200), nullable=False),
    sa.Column('items', postgresql.JSONB(astext_type=Text()), nullable=False),
    sa.Column('budget', sa.Numeric(precision=14, scale=2), nullable=False),
    sa.Column('status', sa.Enum('active', 'closed', name='giftplanstatus', native_enum=False, length=20, schema='tenant'), nullable=False),
    sa.Column('id', sa.UUID(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['node_id'], ['tenant.org_nodes.id'], name=op.f('fk_gift_plans_node_id_org_nodes'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_gift_plans')),
    schema='tenant'
    )
    op.create_index('ix_gift_plans_node_id', 'gift_plans', ['node_id'], unique=False, schema='tenant')
    op.create_table('questionnaire_questions',
    sa.Column('questionnaire_id', sa.UUID(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('text', sa.String(length=500), nullable=False),
    sa.Column('kind', sa.Enum('scale', 'text', name='questionkind', native_enum=False, length=20, schema='tenant'), nullable=False),
    sa.Column('dimension', sa.Enum('product_quality', 'service', 'price', 'overall', name='dimension', native_enum=False, length=20, schema='tenant'), nullable=True),
    sa.Column('required', sa.Boolean(), nullable=False),
    sa.Column('id', sa.UUID(), nullable=False),
    sa.ForeignKeyConstraint(['questionnaire_id'], ['tenant.questionnaires.id'], name=op.f('fk_questionnaire_questions_questionnaire_id_questionnaires'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_questionnaire_questions')),
    schema='tenant'
    )
    op.create_index('ix_questionnaire_questions_questionnaire_id', 'questionnaire_questions', ['questionnaire_id'], unique=False, schema='tenant')
    op.create_table('return_visit_plans',
    sa.Column('number', sa.String(length=30), nullable=False),
    sa.Column('node_id', sa.UUID(), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('method', sa.Enum('phone', 'visit', 'sms', 'wechat', 'email', name='returnmethod', native_enum=False, length=20, schema='tenant'), nullable=False),
    sa.Column('questionnaire_id', sa.UUID(), nullable=True),
    sa.Column('due_on', sa.Date(), nullable=False),
    sa.Column('filters', postgresql.JSONB(astext_type=Text()), nullable=False),
    sa.Column('status', sa.Enum('open', 'closed', name='planstatus', native_enum=False, length=20, schema='tenant'), nullable=False),
    sa.Column('created_by', sa.String(length=200), nullable=False),
    sa.Column('id', sa.UUID(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['node_id'], ['tenant.org_nodes.id'], name=op.f('fk_return_visit_plans_node_id_org_nodes'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['questionnaire_id'], ['tenant.questionnaires.id'], name=op.f('fk_return_visit_plans_questionnaire_id_questionnaires'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_return_visit_plans')),
    sa.UniqueConstraint('number', name=op.f('uq_return_visit_plans_number')),
    schema='tenant'
    )
    op.create_index('ix_return_visit_plans_node_id', 'return_visit_plans', ['node_id'], unique=False, schema='tenant')
    op.create_table('credit_changes',
    sa.Column('number', sa.String(length=30), nullable=False),
    sa.Column('customer_id', sa.UUID(), nullable=False),
    sa.Column('node_id', sa.UUID(), nullable=False),
    sa.Column('applicant_id', sa.String(length=200), nullable=False),
    sa.Column('previous_limit', sa.Numeric(precision=14, scale=2), nullable=True),
    sa.Column('requested_limit', sa.Numeric(precision=14, scale=2), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('approval_request_id', sa.UUID(), nullable=False),
    sa.Column('applied_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('id', sa.UUID(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['approval_request_id'], ['tenant.approval_requests.id'], name=op.f('fk_credit_changes_approval_request_id_approval_requests'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['customer_id'], ['tenant.customers.id'], name=op.f('fk_credit_changes_customer_id_customers'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['node_id'], ['tenant.org_nodes.id'], name=op.f('fk_credit_changes_node_id_org_nodes'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_credit_changes')),
    sa.UniqueConstraint('number', name=op.f('uq_credit_changes_number')),
    schema='tenant'
    )
    op.create_index('ix_credit_changes_approval_request_id', 'credit_changes', ['approval_request_id'], unique=True, schema='tenant')
    op.create_index('ix_credit_changes_customer_id_applied_at', 'credit_changes', ['customer_id', 'applied_at'], unique=False, schema='tenant')
    op.create_index('ix_credit_changes_node_id', 'credit_changes', ['node_id'], unique=False, schema='tenant')
    op.create_table('credit_reviews',
    sa.Column('number', sa.String(length=30), nullable=False),
    sa.Column('customer_id', sa.UUID(), nullable=False),
    sa.Column('node_id', sa.UUID(), nullable=False),
    sa.Column('opened_by', sa.String(length=200), nullable=False),
    sa.Column('abnormality', sa.Text(), nullable=False),
    sa.Column('stage', sa.Enum('investigating', 'dismissed', 'submitted', name='reviewstage', native_enum=False, length=20, schema='tenant'), nullable=False),
    sa.Column('findings', sa.Text(), nullable=True),
    sa.Column('serious', sa.Boolean(), nullable=True),
    sa.Column('grade', sa.Enum('A', 'B', 'C', 'D', 'E', name='grade', native_enum=False, schema='tenant'), nullable=True),
    sa.Column('previous_grade', sa.Enum('A', 'B', 'C', 'D', 'E', name='grade', native_enum=False, schema='tenant'), nullable=True),
    sa.Column('holds_until', sa.Date(), nullable=True),
    sa.Column('concluded_by', sa.String(length=200), nullable=True),
    sa.Column('concluded_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('approval_request_id', sa.UUID(), nullable=True),
    sa.Column('applied_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('notified_via', sa.String(length=20), nullable=True),
    sa.Column('id', sa.UUID(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['approval_request_id'], ['tenant.approval_requests.id'], name=op.f('fk_credit_reviews_approval_request_id_approval_requests'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['customer_id'], ['tenant.customers.id'], name=op.f('fk_credit_reviews_customer_id_customers'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['node_id'], ['tenant.org_nodes.id'], name=op.f('fk_credit_reviews_node_id_org_nodes'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_credit_reviews')),
    sa.UniqueConstraint('number', name=op.f('uq_credit_reviews_number')),
    schema='tenant'
    )
    op.create_index('ix_credit_reviews_approval_request_id', 'credit_reviews', ['approval_request_id'], unique=False, schema='tenant')
    op.create_index('ix_credit_reviews_customer_id_applied_at', 'credit_reviews', ['customer_id', 'applied_at'], unique=False, schema='tenant')
    op.create_index('ix_credit_reviews_node_id', 'credit_reviews', ['node_id'], unique=False, schema='tenant')
    op.create_table('customer_grades',
    sa.Column('customer_id', sa.UUID(), nullable=False),
    sa.Column('grade', sa.Enum('A', 'B', 'C', 'D', 'E', name='grade', native_enum=False, schema='tenant'), nullable=False),
    sa.Column('score', sa.Numeric(precision=5, scale=2), nullable=False),
    sa.Column('recency_days', sa.Integer(), nullable=True),
    sa.Column('frequency', sa.Integer(), nullable=False),
    sa.Column('monetary', sa.Numeric(precision=16, scale=2), nullable=False),
    sa.Column('satisfaction', sa.Numeric(precision=3, scale=2), nullable=True),
    sa.Column('r_score', sa.SmallInteger(), nullable=False),
    sa.Column('f_score', sa.SmallInteger(), nullable=False),
    sa.Column('m_score', sa.SmallInteger(), nullable=False),
    sa.Column('tier', sa.Enum('high', 'mid', 'low', 'potential', name='tier', native_enum=False, length=10, schema='tenant'), nullable=False),
    sa.Column('coefficient', sa.Numeric(precision=4, scale=2), nullable=False),
    sa.Column('monthly_sales', sa.Numeric(precision=16, scale=2), nullable=False),
    sa.Column('fulfilment_rate', sa.Numeric(precision=5, scale=2), nullable=True),
    sa.Column('review_id', sa.UUID(), nullable=True),
    sa.Column('rules_version', sa.Integer(), nullable=False),
    sa.Column('computed_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('account_manager_id', sa.String(length=200), nullable=True),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['customer_id'], ['tenant.customers.id'], name=op.f('fk_customer_grades_customer_id_customers'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['review_id'], ['tenant.credit_reviews.id'], name=op.f('fk_customer_grades_review_id_credit_reviews'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('customer_id', name=op.f('pk_customer_grades')),
    schema='tenant'
    )
    op.create_index('ix_customer_grades_account_manager_id', 'customer_grades', ['account_manager_id'], unique=False, schema='tenant')
    op.create_index('ix_customer_grades_grade_score', 'customer_grades', ['grade', 'score'], unique=False, schema='tenant')
    op.create_index('ix_customer_grades_tier', 'customer_grades', ['tier'], unique=False, schema='tenant')
    op.create_table('grade_history',
    sa.Column('customer_id', sa.UUID(), nullable=False),
    sa.Column('grade', sa.Enum('A', 'B', 'C', 'D', 'E', name='grade', native_enum=False, schema='tenant'), nullable=False),
    sa.Column('previous_grade', sa.Enum('A', 'B', 'C', 'D', 'E', name='grade', native_enum=False, schema='tenant'), nullable=True),
    sa.Column('score', sa.Numeric(precision=5, scale=2), nullable=False),
    sa.Column('previous_score', sa.Numeric(precision=5, scale=2), nullable=True),
    sa.Column('rules_version', sa.Integer(), nullable=False),
    sa.Column('computed_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('job_id', sa.UUID(), nullable=True),
    sa.Column('review_id', sa.UUID(), nullable=True),
    sa.Column('id', sa.UUID(), nullable=False),
    sa.ForeignKeyConstraint(['customer_id'], ['tenant.customers.id'], name=op.f('fk_grade_history_customer_id_customers'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['job_id'], ['tenant.jobs.id'], name=op.f('fk_grade_history_job_id_jobs'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['review_id'], ['tenant.credit_reviews.id'], name=op.f('fk_grade_history_review_id_credit_reviews'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_grade_history')),
    schema='tenant'
    )
    op.create_index('ix_grade_history_customer_id_computed_at', 'grade_history', ['customer_id', 'computed_at'], unique=False, schema='tenant')
    op.create_table('receptions',
    sa.Column('number', sa.String(length=30), nullable=False),
    sa.Column('kind', sa.Enum('reception', 'hospitality', name='receptionkind', native_enum=False, length=20, schema='tenant'), nullable=False),
    sa.Column('node_id', sa.UUID(), nullable=False),
    sa.Column('applicant_id', sa.String(length=200), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('purpose', sa.String(length=1000), nullable=False),
    sa.Column('venue', sa.String(length=300), nullable=False),
    sa.Column('scheduled_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('budget_meals', sa.Numeric(precision=14, scale=2), nullable=False),
    sa.Column('budget_transport', sa.Numeric(precision=14, scale=2), nullable=False),
    sa.Column('budget_gifts', sa.Numeric(precision=14, scale=2), nullable=False),
    sa.Column('budget_other', sa.Numeric(precision=14, scale=2), nullable=False),
    sa.Column('stage', sa.Enum('draft', 'submitted', 'reported', 'cancelled', name='receptionstage', native_enum=False, length=20, schema='tenant'), nullable=False),
    sa.Column('approval_request_id', sa.UUID(), nullable=True),
    sa.Column('held_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('attendee_count', sa.Integer(), nullable=True),
    sa.Column('actual_meals', sa.Numeric(precision=14, scale=2), nullable=True),
    sa.Column('actual_transport', sa.Numeric(precision=14, scale=2), nullable=True),
    sa.Column('actual_gifts', sa.Numeric(precision=14, scale=2), nullable=True),
    sa.Column('actual_other', sa.Numeric(precision=14, scale=2), nullable=True),
    sa.Column('summary', sa.Text(), nullable=True),
    sa.Column('reported_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('cancel_reason', sa.String(length=2000), nullable=True),
    sa.Column('id', sa.UUID(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['approval_request_id'], ['tenant.approval_requests.id'], name=op.f('fk_receptions_approval_request_id_approval_requests'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['node_id'], ['tenant.org_nodes.id'], name=op.f('fk_receptions_node_id_org_nodes'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_receptions')),
    sa.UniqueConstraint('number', name=op.f('uq_receptions_number')),
    schema='tenant'
    )
    op.create_index('ix_receptions_approval_request_id', 'receptions', ['approval_request_id'], unique=False, schema='tenant')
    op.create_index('ix_receptions_node_id', 'receptions', ['node_id'], unique=False, schema='tenant')
    op.create_index('ix_receptions_scheduled_at', 'receptions', ['scheduled_at'], unique=False, schema='tenant')
    op.create_table('return_visit_targets',
    sa.Column('plan_id', sa.UUID(), nullable=False),
    sa.Column('customer_id', sa.UUID(), nullable=False),
    sa.Column('node_id', sa.UUID(), nullable=False),
    sa.Column('due_on', sa.Date(), nullable=False),
    sa.Column('status', sa.Enum('pending', 'completed', 'unreachable', 'declined', 'cancelled', name='targetstatus', native_enum=False, length=20, schema='tenant'), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('note', sa.String(length=1000), nullable=True),
    sa.Column('completed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('id', sa.UUID(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['customer_id'], ['tenant.customers.id'], name=op.f('fk_return_visit_targets_customer_id_customers'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['node_id'], ['tenant.org_nodes.id'], name=op.f('fk_return_visit_targets_node_id_org_nodes'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['plan_id'], ['tenant.return_visit_plans.id'], name=op.f('fk_return_visit_targets_plan_id_return_visit_plans'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_return_visit_targets')),
    schema='tenant'
    )
    op.create_index('ix_return_visit_targets_customer_id', 'return_visit_targets', ['customer_id'], unique=False, schema='tenant')
    op.create_index('ix_return_visit_targets_node_id', 'return_visit_targets', ['node_id'], unique=False, schema='tenant')
    op.create_index('ix_return_visit_targets_plan_id_status', 'return_visit_targets', ['plan_id', 'status'], unique=False, schema='tenant')
    op.create_index('ix_return_visit_targets_status_due_on', 'return_visit_targets', ['status', 'due_on'], unique=False, schema='tenant')
    op.create_table('visits',
    sa.Column('number', sa.String(length=30), nullable=False),
    sa.Column('customer_id', sa.UUID(), nullable=False),
    sa.Column('node_id', sa.UUID(), nullable=False),
    sa.Column('owner_id', sa.String(length=200), nullable=False),
    sa.Column('purpose', sa.String(length=500), nullable=False),
    sa.Column('planned_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('location', sa.String(length=300), nullable=True),
    sa.Column('status', sa.Enum('planned', 'visited', 'reported', 'cancelled', name='visitstatus', native_enum=False, length=20, schema='tenant'), nullable=False),
    sa.Column('follow_up_of_id', sa.UUID(), nullable=True),
    sa.Column('visited_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('needs', postgresql.JSONB(astext_type=Text()), nullable=False),
    sa.Column('objections', postgresql.JSONB(astext_type=Text()), nullable=False),
    sa.Column('gifts', postgresql.JSONB(astext_type=Text()), nullable=False),
    sa.Column('next_appointment_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('notes', sa.Text(), nullable=True),
    sa.Column('report', sa.Text(), nullable=True),
    sa.Column('reported_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('expense_meals', sa.Numeric(precision=14, scale=2), nullable=True),
    sa.Column('expense_transport', sa.Numeric(precision=14, scale=2), nullable=True),
    sa.Column('expense_gifts', sa.Numeric(precision=14, scale=2), nullable=True),
    sa.Column('expense_other', sa.Numeric(precision=14, scale=2), nullable=True),
    sa.Column('cancel_reason', sa.String(length=2000), nullable=True),
    sa.Column('id', sa.UUID(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['customer_id'], ['tenant.customers.id'], name=op.f('fk_visits_customer_id_customers'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['follow_up_of_id'], ['tenant.visits.id'], name=op.f('fk_visits_follow_up_of_id_visits'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['node_id'], ['tenant.org_nodes.id'], name=op.f('fk_visits_node_id_org_nodes'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_visits')),
    sa.UniqueConstraint('number', name=op.f('uq_visits_number')),
    schema='tenant'
    )
    op.create_index('ix_visits_customer_id', 'visits', ['customer_id'], unique=False, schema='tenant')
    op.create_index('ix_visits_follow_up_of_id', 'visits', ['follow_up_of_id'], unique=False, schema='tenant')
    op.create_index('ix_visits_node_id', 'visits', ['node_id'], unique=False, schema='tenant')
    op.create_index('ix_visits_owner_id_status', 'visits', ['owner_id', 'status'], unique=False, schema='tenant')
    op.create_index('ix_visits_planned_at', 'visits', ['planned_at'], unique=False, schema='tenant')
    op.create_table('calls',
    sa.Column('direction', sa.Enum('inbound', 'outbound', name='calldirection', native_enum=False, length=20, schema='tenant'), nullable=False),
    sa.Column('customer_id', sa.UUID(), nullable=True),
    sa.Column('contact_note', sa.String(length=500), nullable=True),
    sa.Column('phone_sealed', sa.LargeBinary(), nullable=True),
    sa.Column('phone_index', sa.String(length=40), nullable=True),
    sa.Column('node_id', sa.UUID(), nullable=False),
    sa.Column('agent_id', sa.String(length=200), nullable=False),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('duration_seconds', sa.Integer(), nullable=False),
    sa.Column('subject', sa.String(length=200), nullable=False),
    sa.Column('notes', sa.Text(), nullable=True),
    sa.Column('outcome', sa.Enum('resolved', 'interested', 'not_interested', 'callback', 'failed', name='calloutcome', native_enum=False, length=20, schema='tenant'), nullable=False),
    sa.Column('interests', postgresql.JSONB(astext_type=Text()), nullable=False),
    sa.Column('objections', postgresql.JSONB(astext_type=Text()), nullable=False),
    sa.Column('failure_reason', sa.Enum('no_answer', 'busy', 'wrong_number', 'unreachable', 'refused', 'other', name='failurereason', native_enum=False, length=20, schema='tenant'), nullable=True),
    sa.Column('callback_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('inquiry_id', sa.UUID(), nullable=True),
    sa.Column('id', sa.UUID(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.CheckConstraint('duration_seconds >= 0', name=op.f('ck_calls_duration_seconds_non_negative')),
    sa.ForeignKeyConstraint(['customer_id'], ['tenant.customers.id'], name=op.f('fk_calls_customer_id_customers'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['inquiry_id'], ['tenant.inquiries.id'], name=op.f('fk_calls_inquiry_id_inquiries'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['node_id'], ['tenant.org_nodes.id'], name=op.f('fk_calls_node_id_org_nodes'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_calls')),
    schema='tenant'
    )
    op.create_index('ix_calls_customer_id', 'calls', ['customer_id'], unique=False, schema='tenant')
    op.create_index('ix_calls_inquiry_id', 'calls', ['inquiry_id'], unique=False, schema='tenant')
    op.create_index('ix_calls_node_id', 'calls', ['node_id'], unique=False, schema='tenant')
    op.create_index('ix_calls_phone_index', 'calls', ['phone_index'], unique=False, schema='tenant')
    op.create_index('ix_calls_started_at', 'calls', ['started_at'], unique=False, schema='tenant')
    op.create_table('gift_applications',
    sa.Column('number', sa.String(length=30), nullable=False),
    sa.Column('node_id', sa.UUID(), nullable=False),
    sa.Column('applicant_id', sa.String(length=200), nullable=False),
    sa.Column('plan_id', sa.UUID(), nullable=True),
    sa.Column('customer_id', sa.UUID(), nullable=True),
    sa.Column('visit_id', sa.UUID(), nullable=True),
    sa.Column('recipient', sa.String(length=200), nullable=False),
    sa.Column('purpose', sa.String(length=1000), nullable=False),
    sa.Column('items', postgresql.JSONB(astext_type=Text()), nullable=False),
    sa.Column('total', sa.Numeric(precision=14, scale=2), nullable=False),
    sa.Column('stage', sa.Enum('submitted', 'issued', 'cancelled', name='giftapplicationstage', native_enum=False, length=20, schema='tenant'), nullable=False),
    sa.Column('approval_request_id', sa.UUID(), nullable=True),
    sa.Column('issued_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('cancel_reason', sa.String(length=2000), nullable=True),
    sa.Column('id', sa.UUID(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['approval_request_id'], ['tenant.approval_requests.id'], name=op.f('fk_gift_applications_approval_request_id_approval_requests'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['customer_id'], ['tenant.customers.id'], name=op.f('fk_gift_applications_customer_id_customers'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['node_id'], ['tenant.org_nodes.id'], name=op.f('fk_gift_applications_node_id_org_nodes'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['plan_id'], ['tenant.gift_plans.id'], name=op.f('fk_gift_applications_plan_id_gift_plans'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['visit_id'], ['tenant.visits.id'], name=op.f('fk_gift_applications_visit_id_visits'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_gift_applications')),
    sa.UniqueConstraint('number', name=op.f('uq_gift_applications_number')),
    schema='tenant'
    )
    op.create_index('ix_gift_applications_approval_request_id', 'gift_applications', ['approval_request_id'], unique=False, schema='tenant')
    op.create_index('ix_gift_applications_customer_id', 'gift_applications', ['customer_id'], unique=False, schema='tenant')
    op.create_index('ix_gift_applications_node_id', 'gift_applications', ['node_id'], unique=False, schema='tenant')
    op.create_index('ix_gift_applications_plan_id', 'gift_applications', ['plan_id'], unique=False, schema='tenant')
    op.create_index('ix_gift_applications_visit_id', 'gift_applications', ['visit_id'], unique=False, schema='tenant')
    op.create_table('reception_guests',
    sa.Column('reception_id', sa.UUID(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('organisation', sa.String(length=200), nullable=True),
    sa.Column('role', sa.Enum('customer', 'guest', 'staff', name='guestrole', native_enum=False, length=20, schema='tenant'), nullable=False),
    sa.Column('customer_id', sa.UUID(), nullable=True),
    sa.Column('id', sa.UUID(), nullable=False),
    sa.ForeignKeyConstraint(['customer_id'], ['tenant.customers.id'], name=op.f('fk_reception_guests_customer_id_customers'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['reception_id'], ['tenant.receptions.id'], name=op.f('fk_reception_guests_reception_id_receptions'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_reception_guests')),
    schema='tenant'
    )
    op.create_index('ix_reception_guests_customer_id', 'reception_guests', ['customer_id'], unique=False, schema='tenant')
    op.create_index('ix_reception_guests_reception_id', 'reception_guests', ['reception_id'], unique=False, schema='tenant')
    op.create_table('survey_results',
    sa.Column('customer_id', sa.UUID(), nullable=False),
    sa.Column('node_id', sa.UUID(), nullable=False),
    sa.Column('questionnaire_id', sa.UUID(), nullable=False),
    sa.Column('plan_id', sa.UUID(), nullable=True),
    sa.Column('target_id', sa.UUID(), nullable=True),
    sa.Column('method', sa.Enum('phone', 'visit', 'sms', 'wechat', 'email', name='returnmethod', native_enum=False, length=20, schema='tenant'), nullable=False),
    sa.Column('responded_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('recorded_by', sa.String(length=200), nullable=False),
    sa.Column('comment', sa.Text(), nullable=True),
    sa.Column('id', sa.UUID(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['customer_id'], ['tenant.customers.id'], name=op.f('fk_survey_results_customer_id_customers'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['node_id'], ['tenant.org_nodes.id'], name=op.f('fk_survey_results_node_id_org_nodes'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['plan_id'], ['tenant.return_visit_plans.id'], name=op.f('fk_survey_results_plan_id_return_visit_plans'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['questionnaire_id'], ['tenant.questionnaires.id'], name=op.f('fk_survey_results_questionnaire_id_questionnaires'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['target_id'], ['tenant.return_visit_targets.id'], name=op.f('fk_survey_results_target_id_return_visit_targets'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_survey_results')),
    schema='tenant'
    )
    op.create_index('ix_survey_results_customer_id', 'survey_results', ['customer_id'], unique=False, schema='tenant')
    op.create_index('ix_survey_results_node_id_responded_at', 'survey_results', ['node_id', 'responded_at'], unique=False, schema='tenant')
    op.create_index('ix_survey_results_plan_id', 'survey_results', ['plan_id'], unique=False, schema='tenant')
    op.create_index('ix_survey_results_questionnaire_id', 'survey_results', ['questionnaire_id'], unique=False, schema='tenant')
    op.create_index('uq_survey_results_target_id', 'survey_results', ['target_id'], unique=True, schema='tenant')
    op.create_table('survey_answers',
    sa.Column('result_id', sa.UUID(), nullable=False),
    sa.Column('question_id', sa.UUID(), nullable=False),
    sa.Column('dimension', sa.Enum('product_quality', 'service', 'price', 'overall', name='dimension', native_enum=False, length=20, schema='tenant'), nullable=True),
    sa.Column('score', sa.SmallInteger(), nullable=True),
    sa.Column('text', sa.Text(), nullable=True),
    sa.Column('id', sa.UUID(), nullable=False),
    sa.CheckConstraint('score BETWEEN 1 AND 5', name=op.f('ck_survey_answers_score_range')),
    sa.ForeignKeyConstraint(['question_id'], ['tenant.questionnaire_questions.id'], name=op.f('fk_survey_answers_question_id_questionnaire_questions'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['result_id'], ['tenant.survey_results.id'], name=op.f('fk_survey_answers_result_id_survey_results'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_survey_answers')),
    schema='tenant'
    )
    op.create_index('ix_survey_answers_question_id', 'survey_answers', ['question_id'], unique=False, schema='tenant')
    op.create_index('ix_survey_answers_result_id', 'survey_answers', ['result_id'], unique=False, schema='tenant')


def downgrade() -> None:
    op.drop_index('ix_survey_answers_result_id', table_name='survey_answers', schema='tenant')
    op.drop_index('ix_survey_answers_question_id', table_name='survey_answers', schema='tenant')
    op.drop_table('survey_answers', schema='tenant')
    op.drop_index('uq_survey_results_target_id', table_name='survey_results', schema='tenant')
    op.drop_index('ix_survey_results_questionnaire_id', table_name='survey_results', schema='tenant')
    op.drop_index('ix_survey_results_plan_id', table_name='survey_results', schema='tenant')
    op.drop_index('ix_survey_results_node_id_responded_at', table_name='survey_results', schema='tenant')
    op.drop_index('ix_survey_results_customer_id', table_name='survey_results', schema='tenant')
    op.drop_table('survey_results', schema='tenant')
    op.drop_index('ix_reception_guests_reception_id', table_name='reception_guests', schema='tenant')
    op.drop_index('ix_reception_guests_customer_id', table_name='reception_guests', schema='tenant')
    op.drop_table('reception_guests', schema='tenant')
    op.drop_index('ix_gift_applications_visit_id', table_name='gift_applications', schema='tenant')
    op.drop_index('ix_gift_applications_plan_id', table_name='gift_applications', schema='tenant')
    op.drop_index('ix_gift_applications_node_id', table_name='gift_applications', schema='tenant')
    op.drop_index('ix_gift_applications_customer_id', table_name='gift_applications', schema='tenant')
    op.drop_index('ix_gift_applications_approval_request_id', table_name='gift_applications', schema='tenant')
    op.drop_table('gift_applications', schema='tenant')
    op.drop_index('ix_calls_started_at', table_name='calls', schema='tenant')
    op.drop_index('ix_calls_phone_index', table_name='calls', schema='tenant')
    op.drop_index('ix_calls_node_id', table_name='calls', schema='tenant')
    op.drop_index('ix_calls_inquiry_id', table_name='calls', schema='tenant')
    op.drop_index('ix_calls_customer_id', table_name='calls', schema='tenant')
    op.drop_table('calls', schema='tenant')
    op.drop_index('ix_visits_planned_at', table_name='visits', schema='tenant')
    op.drop_index('ix_visits_owner_id_status', table_name='visits', schema='tenant')
    op.drop_index('ix_visits_node_id', table_name='visits', schema='tenant')
    op.drop_index('ix_visits_follow_up_of_id', table_name='visits', schema='tenant')
    op.drop_index('ix_visits_customer_id', table_name='visits', schema='tenant')
    op.drop_table('visits', schema='tenant')
    op.drop_index('ix_return_visit_targets_status_due_on', table_name='return_visit_targets', schema='tenant')
    op.drop_index('ix_return_visit_targets_plan_id_status', table_name='return_visit_targets', schema='tenant')
    op.drop_index('ix_return_visit_targets_node_id', table_name='return_visit_targets', schema='tenant')
    op.drop_index('ix_return_visit_targets_customer_id', table_name='return_visit_targets', schema='tenant')
    op.drop_table('return_visit_targets', schema='tenant')
    op.drop_index('ix_receptions_scheduled_at', table_name='receptions', schema='tenant')
    op.drop_index('ix_receptions_node_id', table_name='receptions', schema='tenant')
    op.drop_index('ix_receptions_approval_request_id', table_name='receptions', schema='tenant')
    op.drop_table('receptions', schema='tenant')
    op.drop_index('ix_grade_history_customer_id_computed_at', table_name='grade_history', schema='tenant')
    op.drop_table('grade_history', schema='tenant')
    op.drop_index('ix_customer_grades_tier', table_name='customer_grades', schema='tenant')
    op.drop_index('ix_customer_grades_grade_score', table_name='customer_grades', schema='tenant')
    op.drop_index('ix_customer_grades_account_manager_id', table_name='customer_grades', schema='tenant')
    op.drop_table('customer_grades', schema='tenant')
    op.drop_index('ix_credit_reviews_node_id', table_name='credit_reviews', schema='tenant')
    op.drop_index('ix_credit_reviews_customer_id_applied_at', table_name='credit_reviews', schema='tenant')
    op.drop_index('ix_credit_reviews_approval_request_id', table_name='credit_reviews', schema='tenant')
    op.drop_table('credit_reviews', schema='tenant')
    op.drop_index('ix_credit_changes_node_id', table_name='credit_changes', schema='tenant')
    op.drop_index('ix_credit_changes_customer_id_applied_at', table_name='credit_changes', schema='tenant')
    op.drop_index('ix_credit_changes_approval_request_id', table_name='credit_changes', schema='tenant')
    op.drop_table('credit_changes', schema='tenant')
    op.drop_index('ix_return_visit_plans_node_id', table_name='return_visit_plans', schema='tenant')
    op.drop_table('return_visit_plans', schema='tenant')
    op.drop_index('ix_questionnaire_questions_questionnaire_id', table_name='questionnaire_questions', schema='tenant')
    op.drop_table('questionnaire_questions', schema='tenant')
    op.drop_index('ix_gift_plans_node_id', table_name='gift_plans', schema='tenant')
    op.drop_table('gift_plans', schema='tenant')
    op.drop_table('questionnaires', schema='tenant')
