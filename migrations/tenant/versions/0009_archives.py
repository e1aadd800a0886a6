"""Customer archive volumes: cover, contents list, scanned pages in object storage, remarks
sheet, page checks, object keys awaiting removal from storage.

Revision ID: 0009_archives
Revises: 0008_complaints
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy import Text
from sqlalchemy.dialects import postgresql

revision = "0009_archives"
down_revision = "0008_complaints"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('archive_volumes',
    sa.Column('archive_number', sa.String(length=100), nullable=True),
    sa.Column('title', sa.String(length=500), nullable=False),
    sa.Column('customer_id', sa.UUID(), nullable=False),
    sa.Column('node_id', sa.UUID(), nullable=False),
    sa.Column('responsible_party', sa.String(length=200), nullable=False),
    sa.Column('organisation_code', sa.String(length=6), nullable=False),
    sa.Column('year', sa.Integer(), nullable=True),
    sa.Column('retention', sa.Enum('permanent', 'years_30', 'years_10', name='retentionperiod', native_enum=False, length=20, schema='tenant'), nullable=False),
    sa.Column('classification', sa.String(length=40), nullable=False),
    sa.Column('circulation_roles', postgresql.JSONB(astext_type=Text()), nullable=False),
    sa.Column('circulation_accounts', postgresql.JSONB(astext_type=Text()), nullable=False),
    sa.Column('status', sa.Enum('draft', 'assembled', 'reviewed', 'filed', name='volumestatus', native_enum=False, length=20, schema='tenant'), nullable=False),
    sa.Column('remarks_notes', sa.Text(), nullable=True),
    sa.Column('remarks_compiler', sa.String(length=100), nullable=True),
    sa.Column('remarks_compiled_on', sa.Date(), nullable=True),
    sa.Column('remarks_reviewer', sa.String(length=100), nullable=True),
    sa.Column('remarks_reviewed_on', sa.Date(), nullable=True),
    sa.Column('created_by', sa.String(length=200), nullable=False),
    sa.Column('assembled_by', sa.String(length=200), nullable=True),
    sa.Column('assembled_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('reviewed_by', sa.String(length=200), nullable=True),
    sa.Column('reviewed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('filed_by', sa.String(length=200), nullable=True),
    sa.Column('filed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('retention_mode', sa.Enum('GOVERNANCE', 'COMPLIANCE', name='retentionmode', native_enum=False, length=20, schema='tenant'), nullable=True),
    sa.Column('retain_until', sa.DateTime(timezone=True), nullable=True),
    sa.Column('legal_hold', sa.Boolean(), nullable=False),
    sa.Column('legal_hold_reason', sa.Text(), nullable=True),
    sa.Column('legal_hold_changed_by', sa.String(length=200), nullable=True),
    sa.Column('legal_hold_changed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('id', sa.UUID(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['customer_id'], ['tenant.customers.id'], name=op.f('fk_archive_volumes_customer_id_customers'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['node_id'], ['tenant.org_nodes.id'], name=op.f('fk_archive_volumes_node_id_org_nodes'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_archive_volumes')),
    sa.UniqueConstraint('archive_number', name=op.f('uq_archive_volumes_archive_number')),
    schema='tenant'
    )
    op.create_index('ix_archive_volumes_customer_id', 'archive_volumes', ['customer_id'], unique=False, schema='tenant')
    op.create_index('ix_archive_volumes_node_id', 'archive_volumes', ['node_id'], unique=False, schema='tenant')
    op.create_index('ix_archive_volumes_status', 'archive_volumes', ['status'], unique=False, schema='tenant')
    op.create_table('archive_contents_items',
    sa.Column('volume_id', sa.UUID(), nullable=False),
    sa.Column('sequence', sa.Integer(), nullable=False),
    sa.Column('document_number', sa.String(length=100), nullable=True),
    sa.Column('responsible_party', sa.String(length=200), nullable=False),
    sa.Column('title', sa.String(length=500), nullable=False),
    sa.Column('document_date', sa.Date(), nullable=True),
    sa.Column('page_from', sa.Integer(), nullable=False),
    sa.Column('page_to', sa.Integer(), nullable=False),
    sa.Column('remarks', sa.String(length=500), nullable=True),
    sa.Column('id', sa.UUID(), nullable=False),
    sa.ForeignKeyConstraint(['volume_id'], ['tenant.archive_volumes.id'], name=op.f('fk_archive_contents_items_volume_id_archive_volumes'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_archive_contents_items')),
    sa.UniqueConstraint('volume_id', 'sequence', name=op.f('uq_archive_contents_items_volume_id_sequence')),
    schema='tenant'
    )
    op.create_table('archive_pages',
    sa.Column('volume_id', sa.UUID(), nullable=False),
    sa.Column('lineage_id', sa.UUID(), nullable=False),
    sa.Column('revision', sa.Integer(), nullable=False),
    sa.Column('seq', sa.Integer(), nullable=False),
    sa.Column('status', sa.Enum('pending', 'stored', 'superseded', name='pagestatus', native_enum=False, length=20, schema='tenant'), nullable=False),
    sa.Column('object_key', sa.String(length=255), nullable=False),
    sa.Column('object_version', sa.String(length=128), nullable=True),
    sa.Column('content_type', sa.String(length=40), nullable=False),
    sa.Column('size', sa.BigInteger(), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('file_name', sa.String(length=200), nullable=True),
    sa.Column('reason', sa.Text(), nullable=True),
    sa.Column('uploaded_by', sa.String(length=200), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('upload_expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('completed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('superseded_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('locked_until', sa.DateTime(timezone=True), nullable=True),
    sa.Column('id', sa.UUID(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.CheckConstraint('size >= 0', name=op.f('ck_archive_pages_size_not_negative')),
    sa.ForeignKeyConstraint(['volume_id'], ['tenant.archive_volumes.id'], name=op.f('fk_archive_pages_volume_id_archive_volumes'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_archive_pages')),
    sa.UniqueConstraint('lineage_id', 'revision', name=op.f('uq_archive_pages_lineage_id_revision')),
    sa.UniqueConstraint('object_key', name=op.f('uq_archive_pages_object_key')),
    schema='tenant'
    )
    op.create_index('ix_archive_pages_status_upload_expires_at', 'archive_pages', ['status', 'upload_expires_at'], unique=False, schema='tenant')
    op.create_index('ix_archive_pages_volume_id_status_seq', 'archive_pages', ['volume_id', 'status', 'seq'], unique=False, schema='tenant')
    op.create_table('archive_volume_units',
    sa.Column('volume_id', sa.UUID(), nullable=False),
    sa.Column('unit_id', sa.UUID(), nullable=False),
    sa.ForeignKeyConstraint(['unit_id'], ['tenant.units.id'], name=op.f('fk_archive_volume_units_unit_id_units'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['volume_id'], ['tenant.archive_volumes.id'], name=op.f('fk_archive_volume_units_volume_id_archive_volumes'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('volume_id', 'unit_id', name=op.f('pk_archive_volume_units')),
    schema='tenant'
    )
    op.create_index('ix_archive_volume_units_unit_id', 'archive_volume_units', ['unit_id'], unique=False, schema='tenant')
    op.create_table('archive_page_checks',
    sa.Column('page_id', sa.UUID(), nullable=False),
    sa.Column('checked_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('outcome', sa.Enum('ok', 'missing', 'mismatch', 'unusable', 'unprotected', name='checkoutcome', native_enum=False, length=20, schema='tenant'), nullable=False),
    sa.Column('detail', sa.String(length=500), nullable=True),
    sa.Column('job_id', sa.UUID(), nullable=True),
    sa.Column('id', sa.UUID(), nullable=False),
    sa.ForeignKeyConstraint(['page_id'], ['tenant.archive_pages.id'], name=op.f('fk_archive_page_checks_page_id_archive_pages'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_archive_page_checks')),
    schema='tenant'
    )
    op.create_index('ix_archive_page_checks_page_id_checked_at', 'archive_page_checks', ['page_id', 'checked_at'], unique=False, schema='tenant')
    op.create_table('archive_object_removals',
    sa.Column('object_key', sa.String(length=255), nullable=False),
    sa.Column('not_before', sa.DateTime(timezone=True), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('id', sa.UUID(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_archive_object_removals')),
    schema='tenant'
    )
    op.create_index('ix_archive_object_removals_not_before', 'archive_object_removals', ['not_before'], unique=False, schema='tenant')


def downgrade() -> None:
    op.drop_index('ix_archive_object_removals_not_before', table_name='archive_object_removals', schema='tenant')
    op.drop_table('archive_object_removals', schema='tenant')
    op.drop_index('ix_archive_page_checks_page_id_checked_at', table_name='archive_page_checks', schema='tenant')
    op.drop_table('archive_page_checks', schema='tenant')
    op.drop_index('ix_archive_volume_units_unit_id', table_name='archive_volume_units', schema='tenant')
    op.drop_table('archive_volume_units', schema='tenant')
    op.drop_index('ix_archive_pages_volume_id_status_seq', table_name='archive_pages', schema='tenant')
    op.drop_index('ix_archive_pages_status_upload_expires_at', table_name='archive_pages', schema='tenant')
    op.drop_table('archive_pages', schema='tenant')
    op.drop_table('archive_contents_items', schema='tenant')
    op.drop_index('ix_archive_volumes_status', table_name='archive_volumes', schema='tenant')
    op.drop_index('ix_archive_volumes_node_id', table_name='archive_volumes', schema='tenant')
    op.drop_index('ix_archive_volumes_customer_id', table_name='archive_volumes', schema='tenant')
    op.drop_table('archive_volumes', schema='tenant')
