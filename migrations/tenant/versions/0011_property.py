"""Property management after handover: handovers and their checklists, the project's
property-management state, warranty periods and repair orders, property companies and their
contracts, the coordination log and its action items, supervision inspections and findings, the
owners' committee and the replacement of the property company; photos of handovers, repairs and
findings in the tenant's bucket.

Revision ID: 0011_property
Revises: 0010_uploads
Create Date: 2026-12-07

A tenant migration: it runs once per tenant schema, inside that tenant's transaction. New
tables only (additive): the previous release never reads them.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy import Text
from sqlalchemy.dialects import postgresql

revision = "0011_property"
down_revision = "0010_uploads"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('property_checklists',
    sa.Column('kind', sa.Enum('handover', 'supervision', name='checklistkind', native_enum=False, length=20, schema='tenant'), nullable=False),
    sa.Column('code', sa.String(length=40), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('items', postgresql.JSONB(astext_type=Text()), nullable=False),
    sa.Column('id', sa.UUID(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_property_checklists')),
    sa.UniqueConstraint('code', name=op.f('uq_property_checklists_code')),
    schema='tenant'
    )
    op.create_table('property_projects',
    sa.Column('node_id', sa.UUID(), nullable=False),
    sa.Column('phase', sa.Enum('developer', 'committee', name='phase', native_enum=False, length=20, schema='tenant'), nullable=False),
    sa.Column('first_move_in_on', sa.Date(), nullable=True),
    sa.Column('early_months', sa.Integer(), nullable=False),
    sa.Column('early_days', sa.Integer(), nullable=False),
    sa.Column('later_days', sa.Integer(), nullable=False),
    sa.Column('responsible_account_id', sa.UUID(), nullable=True),
    sa.Column('cadence_missed_on', sa.Date(), nullable=True),
    sa.Column('replaced_on', sa.Date(), nullable=True),
    sa.Column('id', sa.UUID(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['node_id'], ['tenant.org_nodes.id'], name=op.f('fk_property_projects_node_id_org_nodes'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_property_projects')),
    sa.UniqueConstraint('node_id', name=op.f('uq_property_projects_node_id')),
    schema='tenant'
    )
    op.create_table('property_handovers',
    sa.Column('number', sa.String(length=30), nullable=False),
    sa.Column('node_id', sa.UUID(), nullable=False),
    sa.Column('unit_id', sa.UUID(), nullable=False),
    sa.Column('customer_id', sa.UUID(), nullable=True),
    sa.Column('status', sa.Enum('scheduled', 'inspected', 'confirmed', 'handed_over', 'cancelled', name='handoverstatus', native_enum=False, length=20, schema='tenant'), nullable=False),
    sa.Column('appointment_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('checklist_id', sa.UUID(), nullable=False),
    sa.Column('results', postgresql.JSONB(astext_type=Text()), nullable=False),
    sa.Column('inspected_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('inspector', sa.String(length=100), nullable=True),
    sa.Column('confirmation', sa.Enum('in_app', 'signature', name='confirmation', native_enum=False, length=20, schema='tenant'), nullable=True),
    sa.Column('confirmed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('signed_by', sa.String(length=200), nullable=True),
    sa.Column('keys_handed', sa.Integer(), nullable=True),
    sa.Column('handed_over_on', sa.Date(), nullable=True),
    sa.Column('note', sa.Text(), nullable=True),
    sa.Column('id', sa.UUID(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['checklist_id'], ['tenant.property_checklists.id'], name=op.f('fk_property_handovers_checklist_id_property_checklists'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['node_id'], ['tenant.org_nodes.id'], name=op.f('fk_property_handovers_node_id_org_nodes'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['unit_id'], ['tenant.units.id'], name=op.f('fk_property_handovers_unit_id_units'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_property_handovers')),
    sa.UniqueConstraint('number', name=op.f('uq_property_handovers_number')),
    schema='tenant'
    )
    op.create_index('ix_property_handovers_node_id', 'property_handovers', ['node_id'], unique=False, schema='tenant')
    op.create_index('ix_property_handovers_unit_id', 'property_handovers', ['unit_id'], unique=False, schema='tenant')
    op.create_index('uq_property_handovers_live_unit_id', 'property_handovers', ['unit_id'], unique=True, schema='tenant', postgresql_where=sa.text("status <> 'cancelled'"))
    op.create_table('warranty_periods',
    sa.Column('node_id', sa.UUID(), nullable=False),
    sa.Column('category', sa.String(length=40), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('months', sa.Integer(), nullable=False),
    sa.Column('basis', sa.Text(), nullable=True),
    sa.Column('id', sa.UUID(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['node_id'], ['tenant.org_nodes.id'], name=op.f('fk_warranty_periods_node_id_org_nodes'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_warranty_periods')),
    sa.UniqueConstraint('node_id', 'category', name=op.f('uq_warranty_periods_node_id_category')),
    schema='tenant'
    )
    op.create_table('property_companies',
    sa.Column('node_id', sa.UUID(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('credit_code', sa.String(length=40), nullable=True),
    sa.Column('contact_name', sa.String(length=100), nullable=True),
    sa.Column('contact_phone', sa.String(length=40), nullable=True),
    sa.Column('client_id', sa.String(length=100), nullable=True),
    sa.Column('status', sa.Enum('active', 'inactive', name='companystatus', native_enum=False, length=20, schema='tenant'), nullable=False),
    sa.Column('id', sa.UUID(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['node_id'], ['tenant.org_nodes.id'], name=op.f('fk_property_companies_node_id_org_nodes'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_property_companies')),
    sa.UniqueConstraint('client_id', name=op.f('uq_property_companies_client_id')),
    schema='tenant'
    )
    op.create_index(op.f('ix_property_companies_node_id'), 'property_companies', ['node_id'], unique=False, schema='tenant')
    op.create_table('repair_orders',
    sa.Column('number', sa.String(length=30), nullable=False),
    sa.Column('node_id', sa.UUID(), nullable=False),
    sa.Column('building_id', sa.UUID(), nullable=False),
    sa.Column('unit_id', sa.UUID(), nullable=False),
    sa.Column('customer_id', sa.UUID(), nullable=True),
    sa.Column('source', sa.Enum('owner_app', 'complaint', 'handover', 'inspection', 'staff', 'property_company', name='repairsource', native_enum=False, length=20, schema='tenant'), nullable=False),
    sa.Column('source_id', sa.UUID(), nullable=True),
    sa.Column('category', sa.String(length=40), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('status', sa.Enum('open', 'assigned', 'scheduled', 'completed', 'signed_off', 'cancelled', name='repairstatus', native_enum=False, length=20, schema='tenant'), nullable=False),
    sa.Column('handed_over_on', sa.Date(), nullable=False),
    sa.Column('warranty_expires_on', sa.Date(), nullable=False),
    sa.Column('paid', sa.Boolean(), nullable=False),
    sa.Column('assignee', sa.Enum('property_company', 'contractor', name='assignee', native_enum=False, length=20, schema='tenant'), nullable=True),
    sa.Column('company_id', sa.UUID(), nullable=True),
    sa.Column('contractor', sa.String(length=200), nullable=True),
    sa.Column('appointment_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('completed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('work_done', sa.Text(), nullable=True),
    sa.Column('cost', sa.Numeric(precision=12, scale=2), nullable=True),
    sa.Column('signed_off_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('rating', sa.Integer(), nullable=True),
    sa.Column('owner_comment', sa.Text(), nullable=True),
    sa.Column('id', sa.UUID(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['company_id'], ['tenant.property_companies.id'], name=op.f('fk_repair_orders_company_id_property_companies'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['node_id'], ['tenant.org_nodes.id'], name=op.f('fk_repair_orders_node_id_org_nodes'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['unit_id'], ['tenant.units.id'], name=op.f('fk_repair_orders_unit_id_units'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_repair_orders')),
    sa.UniqueConstraint('number', name=op.f('uq_repair_orders_number')),
    schema='tenant'
    )
    op.create_index('ix_repair_orders_building_id_category', 'repair_orders', ['building_id', 'category'], unique=False, schema='tenant')
    op.create_index('ix_repair_orders_company_id', 'repair_orders', ['company_id'], unique=False, schema='tenant')
    op.create_index('ix_repair_orders_customer_id', 'repair_orders', ['customer_id'], unique=False, schema='tenant')
    op.create_index('ix_repair_orders_node_id_status', 'repair_orders', ['node_id', 'status'], unique=False, schema='tenant')
    op.create_table('property_contracts',
    sa.Column('node_id', sa.UUID(), nullable=False),
    sa.Column('company_id', sa.UUID(), nullable=False),
    sa.Column('starts_on', sa.Date(), nullable=False),
    sa.Column('ends_on', sa.Date(), nullable=False),
    sa.Column('scope', postgresql.JSONB(astext_type=Text()), nullable=False),
    sa.Column('status', sa.Enum('active', 'ended', name='contractstatus', native_enum=False, length=20, schema='tenant'), nullable=False),
    sa.Column('ended_on', sa.Date(), nullable=True),
    sa.Column('id', sa.UUID(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['company_id'], ['tenant.property_companies.id'], name=op.f('fk_property_contracts_company_id_property_companies'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['node_id'], ['tenant.org_nodes.id'], name=op.f('fk_property_contracts_node_id_org_nodes'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_property_contracts')),
    schema='tenant'
    )
    op.create_index(op.f('ix_property_contracts_company_id'), 'property_contracts', ['company_id'], unique=False, schema='tenant')
    op.create_index(op.f('ix_property_contracts_node_id'), 'property_contracts', ['node_id'], unique=False, schema='tenant')
    op.create_index('uq_property_contracts_active_node_id', 'property_contracts', ['node_id'], unique=True, schema='tenant', postgresql_where=sa.text("status = 'active'"))
    op.create_table('coordination_entries',
    sa.Column('node_id', sa.UUID(), nullable=False),
    sa.Column('company_id', sa.UUID(), nullable=False),
    sa.Column('held_on', sa.Date(), nullable=False),
    sa.Column('form', sa.Enum('meeting', 'daily_meeting', 'phone', 'written', 'site_visit', 'other', name='coordinationform', native_enum=False, length=20, schema='tenant'), nullable=False),
    sa.Column('recorded_by', sa.Enum('developer', 'property_company', name='party', native_enum=False, length=20, schema='tenant'), nullable=False),
    sa.Column('our_attendees', postgresql.JSONB(astext_type=Text()), nullable=False),
    sa.Column('their_attendees', postgresql.JSONB(astext_type=Text()), nullable=False),
    sa.Column('topics', sa.Text(), nullable=False),
    sa.Column('decisions', sa.Text(), nullable=True),
    sa.Column('id', sa.UUID(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['company_id'], ['tenant.property_companies.id'], name=op.f('fk_coordination_entries_company_id_property_companies'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['node_id'], ['tenant.org_nodes.id'], name=op.f('fk_coordination_entries_node_id_org_nodes'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_coordination_entries')),
    schema='tenant'
    )
    op.create_index('ix_coordination_entries_node_id_held_on', 'coordination_entries', ['node_id', 'held_on'], unique=False, schema='tenant')
    op.create_table('coordination_actions',
    sa.Column('entry_id', sa.UUID(), nullable=False),
    sa.Column('node_id', sa.UUID(), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('owner', sa.Enum('developer', 'property_company', name='party', native_enum=False, length=20, schema='tenant'), nullable=False),
    sa.Column('owner_name', sa.String(length=100), nullable=False),
    sa.Column('due_on', sa.Date(), nullable=False),
    sa.Column('status', sa.Enum('open', 'done', name='actionstatus', native_enum=False, length=20, schema='tenant'), nullable=False),
    sa.Column('follow_up', sa.Text(), nullable=True),
    sa.Column('done_on', sa.Date(), nullable=True),
    sa.Column('overdue_flagged_on', sa.Date(), nullable=True),
    sa.Column('id', sa.UUID(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['entry_id'], ['tenant.coordination_entries.id'], name=op.f('fk_coordination_actions_entry_id_coordination_entries'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['node_id'], ['tenant.org_nodes.id'], name=op.f('fk_coordination_actions_node_id_org_nodes'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_coordination_actions')),
    schema='tenant'
    )
    op.create_index(op.f('ix_coordination_actions_entry_id'), 'coordination_actions', ['entry_id'], unique=False, schema='tenant')
    op.create_index('ix_coordination_actions_status_due_on', 'coordination_actions', ['status', 'due_on'], unique=False, schema='tenant')
    op.create_table('supervision_inspections',
    sa.Column('node_id', sa.UUID(), nullable=False),
    sa.Column('company_id', sa.UUID(), nullable=False),
    sa.Column('kind', sa.Enum('routine', 'special', name='inspectionkind', native_enum=False, length=20, schema='tenant'), nullable=False),
    sa.Column('subject', sa.String(length=200), nullable=True),
    sa.Column('checklist_id', sa.UUID(), nullable=False),
    sa.Column('inspected_on', sa.Date(), nullable=False),
    sa.Column('inspector', sa.String(length=100), nullable=False),
    sa.Column('results', postgresql.JSONB(astext_type=Text()), nullable=False),
    sa.Column('score', sa.Numeric(precision=5, scale=2), nullable=False),
    sa.Column('customer_opinions', sa.Text(), nullable=True),
    sa.Column('complaint_ids', postgresql.JSONB(astext_type=Text()), nullable=False),
    sa.Column('id', sa.UUID(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['checklist_id'], ['tenant.property_checklists.id'], name=op.f('fk_supervision_inspections_checklist_id_property_checklists'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['company_id'], ['tenant.property_companies.id'], name=op.f('fk_supervision_inspections_company_id_property_companies'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['node_id'], ['tenant.org_nodes.id'], name=op.f('fk_supervision_inspections_node_id_org_nodes'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_supervision_inspections')),
    schema='tenant'
    )
    op.create_index(op.f('ix_supervision_inspections_node_id'), 'supervision_inspections', ['node_id'], unique=False, schema='tenant')
    op.create_table('supervision_findings',
    sa.Column('inspection_id', sa.UUID(), nullable=False),
    sa.Column('node_id', sa.UUID(), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('severity', sa.Enum('minor', 'major', 'critical', name='severity', native_enum=False, length=20, schema='tenant'), nullable=False),
    sa.Column('deadline', sa.Date(), nullable=False),
    sa.Column('status', sa.Enum('open', 'rectified', 'verified', name='findingstatus', native_enum=False, length=20, schema='tenant'), nullable=False),
    sa.Column('rectification', sa.Text(), nullable=True),
    sa.Column('rectified_on', sa.Date(), nullable=True),
    sa.Column('verified_on', sa.Date(), nullable=True),
    sa.Column('verified_by', sa.String(length=100), nullable=True),
    sa.Column('id', sa.UUID(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['inspection_id'], ['tenant.supervision_inspections.id'], name=op.f('fk_supervision_findings_inspection_id_supervision_inspections'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['node_id'], ['tenant.org_nodes.id'], name=op.f('fk_supervision_findings_node_id_org_nodes'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_supervision_findings')),
    schema='tenant'
    )
    op.create_index(op.f('ix_supervision_findings_inspection_id'), 'supervision_findings', ['inspection_id'], unique=False, schema='tenant')
    op.create_table('committee_cases',
    sa.Column('node_id', sa.UUID(), nullable=False),
    sa.Column('status', sa.Enum('preparing', 'formed', 'replaced', name='committeestatus', native_enum=False, length=20, schema='tenant'), nullable=False),
    sa.Column('deadline', sa.Date(), nullable=True),
    sa.Column('deadline_basis', sa.Text(), nullable=False),
    sa.Column('subdistrict_office', sa.String(length=200), nullable=False),
    sa.Column('subdistrict_contact', sa.String(length=200), nullable=True),
    sa.Column('preparation_group', postgresql.JSONB(astext_type=Text()), nullable=False),
    sa.Column('milestones', postgresql.JSONB(astext_type=Text()), nullable=False),
    sa.Column('formed_on', sa.Date(), nullable=True),
    sa.Column('members', postgresql.JSONB(astext_type=Text()), nullable=False),
    sa.Column('resolutions', postgresql.JSONB(astext_type=Text()), nullable=False),
    sa.Column('id', sa.UUID(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['node_id'], ['tenant.org_nodes.id'], name=op.f('fk_committee_cases_node_id_org_nodes'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_committee_cases')),
    sa.UniqueConstraint('node_id', name=op.f('uq_committee_cases_node_id')),
    schema='tenant'
    )
    op.create_table('property_replacements',
    sa.Column('node_id', sa.UUID(), nullable=False),
    sa.Column('outgoing_company_id', sa.UUID(), nullable=False),
    sa.Column('incoming_company', sa.String(length=200), nullable=False),
    sa.Column('effective_on', sa.Date(), nullable=False),
    sa.Column('checklist', postgresql.JSONB(astext_type=Text()), nullable=False),
    sa.Column('stage', sa.Enum('draft', 'submitted', 'completed', name='replacementstage', native_enum=False, length=20, schema='tenant'), nullable=False),
    sa.Column('approval_request_id', sa.UUID(), nullable=True),
    sa.Column('completed_on', sa.Date(), nullable=True),
    sa.Column('id', sa.UUID(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['node_id'], ['tenant.org_nodes.id'], name=op.f('fk_property_replacements_node_id_org_nodes'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['outgoing_company_id'], ['tenant.property_companies.id'], name=op.f('fk_property_replacements_outgoing_company_id_property_companies'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_property_replacements')),
    schema='tenant'
    )
    op.create_index(op.f('ix_property_replacements_node_id'), 'property_replacements', ['node_id'], unique=False, schema='tenant')
    op.create_table('property_photos',
    sa.Column('node_id', sa.UUID(), nullable=False),
    sa.Column('subject', sa.Enum('handover', 'repair', 'finding', name='photosubject', native_enum=False, length=20, schema='tenant'), nullable=False),
    sa.Column('subject_id', sa.UUID(), nullable=False),
    sa.Column('caption', sa.String(length=200), nullable=True),
    sa.Column('filename', sa.String(length=200), nullable=False),
    sa.Column('status', sa.Enum('pending', 'stored', name='photostatus', native_enum=False, length=20, schema='tenant'), nullable=False),
    sa.Column('uploaded_by', sa.String(length=100), nullable=False),
    sa.Column('object_key', sa.String(length=255), nullable=False),
    sa.Column('content_type', sa.String(length=100), nullable=False),
    sa.Column('size', sa.BigInteger(), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('upload_expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('object_version', sa.String(length=128), nullable=True),
    sa.Column('completed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('id', sa.UUID(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['node_id'], ['tenant.org_nodes.id'], name=op.f('fk_property_photos_node_id_org_nodes'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_property_photos')),
    sa.UniqueConstraint('object_key', name=op.f('uq_property_photos_object_key')),
    schema='tenant'
    )
    op.create_index('ix_property_photos_status_upload_expires_at', 'property_photos', ['status', 'upload_expires_at'], unique=False, schema='tenant')
    op.create_index('ix_property_photos_subject_id', 'property_photos', ['subject_id'], unique=False, schema='tenant')
