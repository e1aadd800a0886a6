"""Certificates through agencies, mortgage guarantees and overdue collection: agencies and
their agreements, certificate cases with their checklist and log, the company's guarantees on
owners' mortgage loans, and collection cases with their reminders.

Revision ID: 0012_certificates
Revises: 0010_uploads
Create Date: 2026-12-07

A tenant migration: it runs once per tenant schema, inside that tenant's transaction.
Name tables with schema="tenant" (translated to the tenant's schema). Forward only.
Only new tables: the previous release never reads them.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy import Text
from sqlalchemy.dialects import postgresql

revision = "0012_certificates"
down_revision = "0011_property"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('cert_agencies',
    sa.Column('node_id', sa.UUID(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('licence_number', sa.String(length=60), nullable=True),
    sa.Column('contact_name', sa.String(length=100), nullable=False),
    sa.Column('contact_phone', sa.String(length=40), nullable=False),
    sa.Column('reputation', sa.Text(), nullable=True),
    sa.Column('stage', sa.Enum('draft', 'submitted', 'suspended', name='agencystage', native_enum=False, length=20, schema='tenant'), nullable=False),
    sa.Column('approval_request_id', sa.UUID(), nullable=True),
    sa.Column('id', sa.UUID(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['approval_request_id'], ['tenant.approval_requests.id'], name=op.f('fk_cert_agencies_approval_request_id_approval_requests'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['node_id'], ['tenant.org_nodes.id'], name=op.f('fk_cert_agencies_node_id_org_nodes'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_cert_agencies')),
    schema='tenant'
    )
    op.create_index('ix_cert_agencies_node_id', 'cert_agencies', ['node_id'], unique=False, schema='tenant')
    op.create_table('cert_agreements',
    sa.Column('agency_id', sa.UUID(), nullable=False),
    sa.Column('node_id', sa.UUID(), nullable=False),
    sa.Column('number', sa.String(length=60), nullable=False),
    sa.Column('scope', sa.Text(), nullable=False),
    sa.Column('fee_per_case', sa.Numeric(precision=14, scale=2), nullable=False),
    sa.Column('days_to_issue', sa.Integer(), nullable=False),
    sa.Column('days_to_deliver', sa.Integer(), nullable=False),
    sa.Column('signed_on', sa.Date(), nullable=False),
    sa.Column('valid_from', sa.Date(), nullable=False),
    sa.Column('valid_until', sa.Date(), nullable=False),
    sa.Column('id', sa.UUID(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['agency_id'], ['tenant.cert_agencies.id'], name=op.f('fk_cert_agreements_agency_id_cert_agencies'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['node_id'], ['tenant.org_nodes.id'], name=op.f('fk_cert_agreements_node_id_org_nodes'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_cert_agreements')),
    sa.UniqueConstraint('agency_id', 'number', name=op.f('uq_cert_agreements_agency_id_number')),
    schema='tenant'
    )
    op.create_index('ix_cert_agreements_node_id', 'cert_agreements', ['node_id'], unique=False, schema='tenant')
    op.create_table('cert_cases',
    sa.Column('number', sa.String(length=30), nullable=False),
    sa.Column('node_id', sa.UUID(), nullable=False),
    sa.Column('unit_id', sa.UUID(), nullable=False),
    sa.Column('customer_id', sa.UUID(), nullable=False),
    sa.Column('agency_id', sa.UUID(), nullable=False),
    sa.Column('agreement_id', sa.UUID(), nullable=False),
    sa.Column('stage', sa.Enum('collecting', 'submitted', 'accepted', 'issued', 'delivered', 'cancelled', name='casestage', native_enum=False, length=20, schema='tenant'), nullable=False),
    sa.Column('opened_on', sa.Date(), nullable=False),
    sa.Column('submitted_on', sa.Date(), nullable=True),
    sa.Column('accepted_on', sa.Date(), nullable=True),
    sa.Column('issued_on', sa.Date(), nullable=True),
    sa.Column('delivered_on', sa.Date(), nullable=True),
    sa.Column('issue_due_on', sa.Date(), nullable=True),
    sa.Column('due_on', sa.Date(), nullable=True),
    sa.Column('certificate_number', sa.String(length=60), nullable=True),
    sa.Column('cancel_reason', sa.String(length=2000), nullable=True),
    sa.Column('late_since', sa.Date(), nullable=True),
    sa.Column('last_urged_on', sa.Date(), nullable=True),
    sa.Column('urge_count', sa.Integer(), nullable=False),
    sa.Column('id', sa.UUID(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['agency_id'], ['tenant.cert_agencies.id'], name=op.f('fk_cert_cases_agency_id_cert_agencies'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['agreement_id'], ['tenant.cert_agreements.id'], name=op.f('fk_cert_cases_agreement_id_cert_agreements'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['customer_id'], ['tenant.customers.id'], name=op.f('fk_cert_cases_customer_id_customers'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['node_id'], ['tenant.org_nodes.id'], name=op.f('fk_cert_cases_node_id_org_nodes'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['unit_id'], ['tenant.units.id'], name=op.f('fk_cert_cases_unit_id_units'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_cert_cases')),
    sa.UniqueConstraint('number', name=op.f('uq_cert_cases_number')),
    schema='tenant'
    )
    op.create_index('ix_cert_cases_agency_id', 'cert_cases', ['agency_id'], unique=False, schema='tenant')
    op.create_index('ix_cert_cases_customer_id', 'cert_cases', ['customer_id'], unique=False, schema='tenant')
    op.create_index('ix_cert_cases_node_id', 'cert_cases', ['node_id'], unique=False, schema='tenant')
    op.create_index('ix_cert_cases_open_due', 'cert_cases', ['due_on'], unique=False, schema='tenant', postgresql_where=sa.text("stage IN ('submitted', 'accepted', 'issued')"))
    op.create_index('ix_cert_cases_unit_id', 'cert_cases', ['unit_id'], unique=False, schema='tenant')
    op.create_table('cert_case_documents',
    sa.Column('case_id', sa.UUID(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=40), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('valid_days', sa.Integer(), nullable=True),
    sa.Column('collected_on', sa.Date(), nullable=True),
    sa.Column('expires_on', sa.Date(), nullable=True),
    sa.Column('note', sa.String(length=500), nullable=True),
    sa.Column('id', sa.UUID(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['case_id'], ['tenant.cert_cases.id'], name=op.f('fk_cert_case_documents_case_id_cert_cases'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_cert_case_documents')),
    sa.UniqueConstraint('case_id', 'code', name=op.f('uq_cert_case_documents_case_id_code')),
    schema='tenant'
    )
    op.create_table('cert_case_events',
    sa.Column('case_id', sa.UUID(), nullable=False),
    sa.Column('kind', sa.String(length=30), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('by', sa.String(length=200), nullable=False),
    sa.Column('note', sa.Text(), nullable=False),
    sa.Column('id', sa.UUID(), nullable=False),
    sa.ForeignKeyConstraint(['case_id'], ['tenant.cert_cases.id'], name=op.f('fk_cert_case_events_case_id_cert_cases'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_cert_case_events')),
    schema='tenant'
    )
    op.create_index('ix_cert_case_events_case_id', 'cert_case_events', ['case_id', 'at'], unique=False, schema='tenant')
    op.create_table('mortgage_guarantees',
    sa.Column('number', sa.String(length=30), nullable=False),
    sa.Column('node_id', sa.UUID(), nullable=False),
    sa.Column('unit_id', sa.UUID(), nullable=False),
    sa.Column('customer_id', sa.UUID(), nullable=False),
    sa.Column('bank', sa.String(length=200), nullable=False),
    sa.Column('loan_account_sealed', sa.LargeBinary(), nullable=False),
    sa.Column('loan_account_index', sa.String(length=40), nullable=False),
    sa.Column('loan_account_last4', sa.String(length=4), nullable=False),
    sa.Column('loan_amount', sa.Numeric(precision=14, scale=2), nullable=False),
    sa.Column('kind', sa.Enum('phased', 'full_term', name='guaranteekind', native_enum=False, length=20, schema='tenant'), nullable=False),
    sa.Column('starts_on', sa.Date(), nullable=False),
    sa.Column('ends_on', sa.Date(), nullable=True),
    sa.Column('registration_done_on', sa.Date(), nullable=True),
    sa.Column('registration_number', sa.String(length=60), nullable=True),
    sa.Column('stage', sa.Enum('active', 'submitted', 'released', name='guaranteestage', native_enum=False, length=20, schema='tenant'), nullable=False),
    sa.Column('approval_request_id', sa.UUID(), nullable=True),
    sa.Column('released_on', sa.Date(), nullable=True),
    sa.Column('bank_confirmation', sa.String(length=200), nullable=True),
    sa.Column('release_note', sa.Text(), nullable=True),
    sa.Column('id', sa.UUID(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['approval_request_id'], ['tenant.approval_requests.id'], name=op.f('fk_mortgage_guarantees_approval_request_id_approval_requests'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['customer_id'], ['tenant.customers.id'], name=op.f('fk_mortgage_guarantees_customer_id_customers'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['node_id'], ['tenant.org_nodes.id'], name=op.f('fk_mortgage_guarantees_node_id_org_nodes'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['unit_id'], ['tenant.units.id'], name=op.f('fk_mortgage_guarantees_unit_id_units'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_mortgage_guarantees')),
    sa.UniqueConstraint('number', name=op.f('uq_mortgage_guarantees_number')),
    schema='tenant'
    )
    op.create_index('ix_mortgage_guarantees_loan_account_index', 'mortgage_guarantees', ['loan_account_index'], unique=False, schema='tenant')
    op.create_index('ix_mortgage_guarantees_node_id', 'mortgage_guarantees', ['node_id'], unique=False, schema='tenant')
    op.create_index('ix_mortgage_guarantees_unit_id', 'mortgage_guarantees', ['unit_id'], unique=False, schema='tenant')
    op.create_table('collection_cases',
    sa.Column('number', sa.String(length=30), nullable=False),
    sa.Column('node_id', sa.UUID(), nullable=False),
    sa.Column('unit_id', sa.UUID(), nullable=False),
    sa.Column('customer_id', sa.UUID(), nullable=False),
    sa.Column('bank', sa.String(length=200), nullable=False),
    sa.Column('loan_account_sealed', sa.LargeBinary(), nullable=False),
    sa.Column('loan_account_index', sa.String(length=40), nullable=False),
    sa.Column('loan_account_last4', sa.String(length=4), nullable=False),
    sa.Column('overdue_since', sa.Date(), nullable=False),
    sa.Column('overdue_amount', sa.Numeric(precision=14, scale=2), nullable=False),
    sa.Column('bank_recommends', sa.Boolean(), nullable=False),
    sa.Column('fed_on', sa.Date(), nullable=False),
    sa.Column('stage', sa.Enum('open', 'referred', 'litigated', 'closed', name='collectionstage', native_enum=False, length=20, schema='tenant'), nullable=False),
    sa.Column('referred_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('referral_reasons', postgresql.JSONB(astext_type=Text()), nullable=False),
    sa.Column('outcome', sa.String(length=30), nullable=True),
    sa.Column('outcome_on', sa.Date(), nullable=True),
    sa.Column('outcome_note', sa.Text(), nullable=True),
    sa.Column('id', sa.UUID(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['customer_id'], ['tenant.customers.id'], name=op.f('fk_collection_cases_customer_id_customers'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['node_id'], ['tenant.org_nodes.id'], name=op.f('fk_collection_cases_node_id_org_nodes'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['unit_id'], ['tenant.units.id'], name=op.f('fk_collection_cases_unit_id_units'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_collection_cases')),
    sa.UniqueConstraint('loan_account_index', name=op.f('uq_collection_cases_loan_account_index')),
    sa.UniqueConstraint('number', name=op.f('uq_collection_cases_number')),
    schema='tenant'
    )
    op.create_index('ix_collection_cases_node_id', 'collection_cases', ['node_id'], unique=False, schema='tenant')
    op.create_index('ix_collection_cases_unit_id', 'collection_cases', ['unit_id'], unique=False, schema='tenant')
    op.create_table('collection_reminders',
    sa.Column('case_id', sa.UUID(), nullable=False),
    sa.Column('channel', sa.String(length=20), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('by', sa.String(length=200), nullable=False),
    sa.Column('outcome', sa.String(length=30), nullable=False),
    sa.Column('promised_on', sa.Date(), nullable=True),
    sa.Column('note', sa.Text(), nullable=True),
    sa.Column('id', sa.UUID(), nullable=False),
    sa.ForeignKeyConstraint(['case_id'], ['tenant.collection_cases.id'], name=op.f('fk_collection_reminders_case_id_collection_cases'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_collection_reminders')),
    schema='tenant'
    )
    op.create_index('ix_collection_reminders_case_id', 'collection_reminders', ['case_id', 'at'], unique=False, schema='tenant')


def downgrade() -> None:
    for table in ("collection_reminders", "collection_cases", "mortgage_guarantees", "cert_case_events",
                  "cert_case_documents", "cert_cases", "cert_agreements", "cert_agencies"):
        op.drop_table(table, schema="tenant")
