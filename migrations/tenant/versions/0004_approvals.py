"""The approval engine: chains per request type, requests, step approvers, history.

Revision ID: 0004_approvals
Revises: 0003_org_access
Create Date: 2026-11-23

A tenant migration: runs once per tenant schema, inside that tenant's transaction. No
default chains are written here: a type without a stored chain uses its registered
default until the tenant edits it.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy import Text
from sqlalchemy.dialects import postgresql

revision = "0004_approvals"
down_revision = "0003_org_access"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('approval_chains',
    sa.Column('request_type', sa.String(length=60), nullable=False),
    sa.Column('steps', postgresql.JSONB(astext_type=Text()), nullable=False),
    sa.Column('id', sa.UUID(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_approval_chains')),
    sa.UniqueConstraint('request_type', name=op.f('uq_approval_chains_request_type')),
    schema='tenant'
    )
    op.create_table('approval_requests',
    sa.Column('request_type', sa.String(length=60), nullable=False),
    sa.Column('subject_type', sa.String(length=60), nullable=True),
    sa.Column('subject_id', sa.String(length=200), nullable=True),
    sa.Column('node_id', sa.UUID(), nullable=False),
    sa.Column('title', sa.String(length=300), nullable=False),
    sa.Column('payload', postgresql.JSONB(astext_type=Text()), nullable=False),
    sa.Column('amount', sa.Numeric(precision=18, scale=2), nullable=True),
    sa.Column('reason', sa.Text(), nullable=True),
    sa.Column('status', sa.Enum('draft', 'pending', 'approved', 'rejected', 'withdrawn', name='requeststatus', native_enum=False, length=20, schema='tenant'), nullable=False),
    sa.Column('round', sa.Integer(), nullable=False),
    sa.Column('current_step', sa.Integer(), nullable=True),
    sa.Column('steps', postgresql.JSONB(astext_type=Text()), nullable=False),
    sa.Column('chain_version', sa.Integer(), nullable=True),
    sa.Column('submitted_by', sa.String(length=200), nullable=False),
    sa.Column('submitted_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('decided_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('id', sa.UUID(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['node_id'], ['tenant.org_nodes.id'], name=op.f('fk_approval_requests_node_id_org_nodes'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_approval_requests')),
    schema='tenant'
    )
    op.create_index('ix_approval_requests_node_id', 'approval_requests', ['node_id'], unique=False, schema='tenant')
    op.create_index('ix_approval_requests_status_request_type', 'approval_requests', ['status', 'request_type'], unique=False, schema='tenant')
    op.create_index('ix_approval_requests_subject_type_subject_id', 'approval_requests', ['subject_type', 'subject_id'], unique=False, schema='tenant')
    op.create_index('ix_approval_requests_submitted_by', 'approval_requests', ['submitted_by'], unique=False, schema='tenant')
    op.create_table('approval_actions',
    sa.Column('request_id', sa.UUID(), nullable=False),
    sa.Column('round', sa.Integer(), nullable=False),
    sa.Column('step', sa.Integer(), nullable=True),
    sa.Column('actor', sa.String(length=200), nullable=False),
    sa.Column('action', sa.Enum('create', 'submit', 'approve', 'reject', 'withdraw', 'resubmit', 'delegate', name='actionkind', native_enum=False, length=20, schema='tenant'), nullable=False),
    sa.Column('comment', sa.Text(), nullable=True),
    sa.Column('data', postgresql.JSONB(astext_type=Text()), nullable=True),
    sa.Column('at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('id', sa.UUID(), nullable=False),
    sa.ForeignKeyConstraint(['request_id'], ['tenant.approval_requests.id'], name=op.f('fk_approval_actions_request_id_approval_requests'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_approval_actions')),
    schema='tenant'
    )
    op.create_index('ix_approval_actions_request_id_at', 'approval_actions', ['request_id', 'at'], unique=False, schema='tenant')
    op.create_table('approval_step_approvers',
    sa.Column('request_id', sa.UUID(), nullable=False),
    sa.Column('round', sa.Integer(), nullable=False),
    sa.Column('step', sa.Integer(), nullable=False),
    sa.Column('account_id', sa.UUID(), nullable=False),
    sa.Column('delegated_by', sa.UUID(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('id', sa.UUID(), nullable=False),
    sa.ForeignKeyConstraint(['request_id'], ['tenant.approval_requests.id'], name=op.f('fk_approval_step_approvers_request_id_approval_requests'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_approval_step_approvers')),
    sa.UniqueConstraint('request_id', 'round', 'step', 'account_id', name=op.f('uq_approval_step_approvers_request_id_round_step_account_id')),
    schema='tenant'
    )
    op.create_index('ix_approval_step_approvers_account_id', 'approval_step_approvers', ['account_id'], unique=False, schema='tenant')
