"""Org tree to the unit, roles and their assignments.

Revision ID: 0003_org_access
Revises: 0002_jobs
Create Date: 2026-11-23

A tenant migration: runs once per tenant schema, inside that tenant's transaction.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy import Text
from sqlalchemy.dialects import postgresql

revision = "0003_org_access"
down_revision = "0002_jobs"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('roles',
    sa.Column('code', sa.String(length=60), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('description', sa.Text(), nullable=True),
    sa.Column('permissions', postgresql.JSONB(astext_type=Text()), nullable=False),
    sa.Column('system', sa.Boolean(), nullable=False),
    sa.Column('id', sa.UUID(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_roles')),
    sa.UniqueConstraint('code', name=op.f('uq_roles_code')),
    schema='tenant'
    )
    op.create_table('role_assignments',
    sa.Column('account_id', sa.UUID(), nullable=False),
    sa.Column('role_id', sa.UUID(), nullable=False),
    sa.Column('node_id', sa.UUID(), nullable=False),
    sa.Column('id', sa.UUID(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.ForeignKeyConstraint(['node_id'], ['tenant.org_nodes.id'], name=op.f('fk_role_assignments_node_id_org_nodes'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['role_id'], ['tenant.roles.id'], name=op.f('fk_role_assignments_role_id_roles'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_role_assignments')),
    sa.UniqueConstraint('account_id', 'role_id', 'node_id', name=op.f('uq_role_assignments_account_id_role_id_node_id')),
    schema='tenant'
    )
    op.create_index('ix_role_assignments_account_id', 'role_assignments', ['account_id'], unique=False, schema='tenant')
    op.create_index('ix_role_assignments_node_id', 'role_assignments', ['node_id'], unique=False, schema='tenant')
    op.create_table('units',
    sa.Column('building_id', sa.UUID(), nullable=False),
    sa.Column('project_id', sa.UUID(), nullable=False),
    sa.Column('number', sa.String(length=20), nullable=False),
    sa.Column('floor', sa.Integer(), nullable=False),
    sa.Column('layout', sa.String(length=40), nullable=True),
    sa.Column('area', sa.Numeric(precision=10, scale=2), nullable=True),
    sa.Column('status', sa.Enum('unsold', 'subscribed', 'contracted', 'handed_over', name='unitstatus', native_enum=False, length=20, schema='tenant'), nullable=False),
    sa.Column('id', sa.UUID(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['building_id'], ['tenant.org_nodes.id'], name=op.f('fk_units_building_id_org_nodes'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['project_id'], ['tenant.org_nodes.id'], name=op.f('fk_units_project_id_org_nodes'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_units')),
    sa.UniqueConstraint('building_id', 'number', name=op.f('uq_units_building_id_number')),
    schema='tenant'
    )
    op.create_index(op.f('ix_units_project_id'), 'units', ['project_id'], unique=False, schema='tenant')
    op.create_index('ix_units_building_id', 'units', ['building_id'], unique=False, schema='tenant')
    op.add_column('org_nodes', sa.Column('handover_date', sa.Date(), nullable=True), schema='tenant')
