"""Inquiries (part 2 of "customer relations before and after handover"): first-responder
inquiries and their transfer history.

Revision ID: 0006_inquiries
Revises: 0005_customers
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006_inquiries"
down_revision = "0005_customers"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('inquiries',
    sa.Column('number', sa.String(length=30), nullable=False),
    sa.Column('channel', sa.Enum('hotline', 'email', 'online_chat', 'wechat', 'weibo', 'sales_office', 'app', name='channel', native_enum=False, length=20, schema='tenant'), nullable=False),
    sa.Column('customer_id', sa.UUID(), nullable=True),
    sa.Column('contact_note', sa.String(length=500), nullable=True),
    sa.Column('node_id', sa.UUID(), nullable=False),
    sa.Column('subject', sa.String(length=200), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('owner_id', sa.String(length=200), nullable=False),
    sa.Column('department', sa.Enum('project_department', 'customer_affairs', name='department', native_enum=False, length=20, schema='tenant'), nullable=False),
    sa.Column('promised_reply_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('status', sa.Enum('open', 'answered', 'closed', name='inquirystatus', native_enum=False, length=20, schema='tenant'), nullable=False),
    sa.Column('answer', sa.Text(), nullable=True),
    sa.Column('answered_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('transfer_count', sa.Integer(), nullable=False),
    sa.Column('id', sa.UUID(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['customer_id'], ['tenant.customers.id'], name=op.f('fk_inquiries_customer_id_customers'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['node_id'], ['tenant.org_nodes.id'], name=op.f('fk_inquiries_node_id_org_nodes'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_inquiries')),
    sa.UniqueConstraint('number', name=op.f('uq_inquiries_number')),
    schema='tenant'
    )
    op.create_index('ix_inquiries_customer_id', 'inquiries', ['customer_id'], unique=False, schema='tenant')
    op.create_index('ix_inquiries_node_id', 'inquiries', ['node_id'], unique=False, schema='tenant')
    op.create_index('ix_inquiries_owner_id_status', 'inquiries', ['owner_id', 'status'], unique=False, schema='tenant')
    op.create_index('ix_inquiries_status_promised_reply_at', 'inquiries', ['status', 'promised_reply_at'], unique=False, schema='tenant')
    op.create_table('inquiry_transfers',
    sa.Column('inquiry_id', sa.UUID(), nullable=False),
    sa.Column('from_owner', sa.String(length=200), nullable=False),
    sa.Column('to_owner', sa.String(length=200), nullable=False),
    sa.Column('need', sa.String(length=1000), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('id', sa.UUID(), nullable=False),
    sa.ForeignKeyConstraint(['inquiry_id'], ['tenant.inquiries.id'], name=op.f('fk_inquiry_transfers_inquiry_id_inquiries'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_inquiry_transfers')),
    schema='tenant'
    )
    op.create_index('ix_inquiry_transfers_inquiry_id', 'inquiry_transfers', ['inquiry_id'], unique=False, schema='tenant')


def downgrade() -> None:
    op.drop_index('ix_inquiry_transfers_inquiry_id', table_name='inquiry_transfers', schema='tenant')
    op.drop_table('inquiry_transfers', schema='tenant')
    op.drop_index('ix_inquiries_status_promised_reply_at', table_name='inquiries', schema='tenant')
    op.drop_index('ix_inquiries_owner_id_status', table_name='inquiries', schema='tenant')
    op.drop_index('ix_inquiries_node_id', table_name='inquiries', schema='tenant')
    op.drop_index('ix_inquiries_customer_id', table_name='inquiries', schema='tenant')
    op.drop_table('inquiries', schema='tenant')
