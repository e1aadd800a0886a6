"""Tenant base: audit log, idempotency keys, org tree.

Revision ID: 0001_tenant_base
Revises:
Create Date: 2026-11-23

A tenant migration: runs once per tenant schema, inside that tenant's transaction.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy import Text
from sqlalchemy.dialects import postgresql

from app.core.audit import append_only_sql
from app.tenants.migrations import tenant_schema

revision = "0001_tenant_base"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('audit_log',
    sa.Column('id', sa.UUID(), nullable=False),
    sa.Column('occurred_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('actor_kind', sa.String(length=16), nullable=False),
    sa.Column('actor_id', sa.String(length=200), nullable=False),
    sa.Column('client_id', sa.String(length=200), nullable=True),
    sa.Column('action', sa.String(length=100), nullable=False),
    sa.Column('entity_type', sa.String(length=60), nullable=False),
    sa.Column('entity_id', sa.String(length=200), nullable=False),
    sa.Column('before', postgresql.JSONB(astext_type=Text()), nullable=True),
    sa.Column('after', postgresql.JSONB(astext_type=Text()), nullable=True),
    sa.Column('reason', sa.Text(), nullable=True),
    sa.Column('request_id', sa.String(length=100), nullable=True),
    sa.Column('ip', sa.String(length=64), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_log')),
    schema='tenant'
    )
    op.create_index(op.f('ix_audit_log_actor_id'), 'audit_log', ['actor_id'], unique=False, schema='tenant')
    op.create_index(op.f('ix_audit_log_entity_type_entity_id'), 'audit_log', ['entity_type', 'entity_id'], unique=False, schema='tenant')
    op.create_index(op.f('ix_audit_log_occurred_at'), 'audit_log', ['occurred_at'], unique=False, schema='tenant')
    op.create_table('idempotency_keys',
    sa.Column('principal', sa.String(length=200), nullable=False),
    sa.Column('key', sa.String(length=200), nullable=False),
    sa.Column('fingerprint', sa.String(length=64), nullable=False),
    sa.Column('status_code', sa.Integer(), nullable=True),
    sa.Column('body', sa.LargeBinary(), nullable=True),
    sa.Column('headers', postgresql.JSONB(astext_type=Text()), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.PrimaryKeyConstraint('principal', 'key', name=op.f('pk_idempotency_keys')),
    schema='tenant'
    )
    op.create_index(op.f('ix_idempotency_keys_created_at'), 'idempotency_keys', ['created_at'], unique=False, schema='tenant')
    op.create_table('org_nodes',
    sa.Column('kind', sa.Enum('group', 'branch', name='nodekind', native_enum=False, length=20, schema='tenant'), nullable=False),
    sa.Column('parent_id', sa.UUID(), nullable=True),
    sa.Column('path', sa.String(length=1000), nullable=False),
    sa.Column('depth', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=40), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('description', sa.Text(), nullable=True),
    sa.Column('id', sa.UUID(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['parent_id'], ['tenant.org_nodes.id'], name=op.f('fk_org_nodes_parent_id_org_nodes'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_org_nodes')),
    sa.UniqueConstraint('code', name=op.f('uq_org_nodes_code')),
    schema='tenant'
    )
    op.create_index('ix_org_nodes_parent_id', 'org_nodes', ['parent_id'], unique=False, schema='tenant')
    op.create_index('ix_org_nodes_path', 'org_nodes', ['path'], unique=False, schema='tenant', postgresql_ops={'path': 'text_pattern_ops'})
    for statement in append_only_sql(tenant_schema()):
        op.execute(statement)
