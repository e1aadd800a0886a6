"""Customers (part 1 of "customer relations before and after handover"): profiles,
enterprise contact persons, consents, unit ownership and CSV imports; and the shared tables
they need: the tenant's wrapped data keys, human-number series and tenant settings.

Revision ID: 0005_customers
Revises: 0004_approvals
Create Date: 2026-11-23

A tenant migration. The data keys of a tenant migrated here (rather than provisioned) are
made on first use (app/core/keystore.py): a migration does not hold the master key.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy import Text
from sqlalchemy.dialects import postgresql

revision = "0005_customers"
down_revision = "0004_approvals"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('data_keys',
    sa.Column('wrapped_data_key', sa.LargeBinary(), nullable=False),
    sa.Column('wrapped_index_key', sa.LargeBinary(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('id', sa.UUID(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_data_keys')),
    schema='tenant'
    )
    op.create_table('number_series',
    sa.Column('series', sa.String(length=20), nullable=False),
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('next_value', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('series', 'year', name=op.f('pk_number_series')),
    schema='tenant'
    )
    op.create_table('tenant_settings',
    sa.Column('key', sa.String(length=100), nullable=False),
    sa.Column('value', postgresql.JSONB(astext_type=Text()), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('key', name=op.f('pk_tenant_settings')),
    schema='tenant'
    )
    op.create_table('customer_imports',
    sa.Column('job_id', sa.UUID(), nullable=False),
    sa.Column('mode', sa.String(length=20), nullable=False),
    sa.Column('encoding', sa.String(length=40), nullable=False),
    sa.Column('rows', sa.Integer(), nullable=False),
    sa.Column('content_sealed', sa.LargeBinary(), nullable=True),
    sa.Column('node_id', sa.UUID(), nullable=False),
    sa.Column('requested_by', sa.String(length=200), nullable=False),
    sa.Column('client_id', sa.String(length=200), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('id', sa.UUID(), nullable=False),
    sa.ForeignKeyConstraint(['job_id'], ['tenant.jobs.id'], name=op.f('fk_customer_imports_job_id_jobs'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['node_id'], ['tenant.org_nodes.id'], name=op.f('fk_customer_imports_node_id_org_nodes'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_customer_imports')),
    sa.UniqueConstraint('job_id', name=op.f('uq_customer_imports_job_id')),
    schema='tenant'
    )
    op.create_table('customers',
    sa.Column('number', sa.String(length=30), nullable=False),
    sa.Column('kind', sa.Enum('person', 'enterprise', name='customerkind', native_enum=False, length=20, schema='tenant'), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('status', sa.Enum('active', 'inactive', 'lost', 'merged', name='customerstatus', native_enum=False, length=20, schema='tenant'), nullable=False),
    sa.Column('node_id', sa.UUID(), nullable=False),
    sa.Column('account_id', sa.UUID(), nullable=True),
    sa.Column('source', sa.String(length=200), nullable=False),
    sa.Column('purpose', sa.String(length=500), nullable=False),
    sa.Column('entered_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('valid_until', sa.Date(), nullable=True),
    sa.Column('email', sa.String(length=254), nullable=True),
    sa.Column('phone_sealed', sa.LargeBinary(), nullable=True),
    sa.Column('phone_index', sa.String(length=40), nullable=True),
    sa.Column('address_sealed', sa.LargeBinary(), nullable=True),
    sa.Column('gender', sa.Enum('female', 'male', 'unspecified', name='gender', native_enum=False, length=20, schema='tenant'), nullable=True),
    sa.Column('id_number_sealed', sa.LargeBinary(), nullable=True),
    sa.Column('id_number_index', sa.String(length=40), nullable=True),
    sa.Column('occupation', sa.String(length=100), nullable=True),
    sa.Column('interests', postgresql.JSONB(astext_type=Text()), nullable=False),
    sa.Column('industry', sa.String(length=100), nullable=True),
    sa.Column('size', sa.Enum('micro', 'small', 'medium', 'large', name='enterprisesize', native_enum=False, length=20, schema='tenant'), nullable=True),
    sa.Column('credit_rating', sa.Enum('AAA', 'AA', 'A', name='creditrating', native_enum=False, length=20, schema='tenant'), nullable=True),
    sa.Column('bank_name', sa.String(length=200), nullable=True),
    sa.Column('bank_account', sa.String(length=40), nullable=True),
    sa.Column('tax_id', sa.String(length=30), nullable=True),
    sa.Column('behaviour', postgresql.JSONB(astext_type=Text()), nullable=True),
    sa.Column('merged_into_id', sa.UUID(), nullable=True),
    sa.Column('merged_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('id', sa.UUID(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['merged_into_id'], ['tenant.customers.id'], name=op.f('fk_customers_merged_into_id_customers'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['node_id'], ['tenant.org_nodes.id'], name=op.f('fk_customers_node_id_org_nodes'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_customers')),
    sa.UniqueConstraint('number', name=op.f('uq_customers_number')),
    schema='tenant'
    )
    op.create_index('ix_customers_account_id', 'customers', ['account_id'], unique=False, schema='tenant')
    op.create_index('ix_customers_id_number_index', 'customers', ['id_number_index'], unique=False, schema='tenant')
    op.create_index('ix_customers_merged_into_id', 'customers', ['merged_into_id'], unique=False, schema='tenant')
    op.create_index('ix_customers_name', 'customers', ['name'], unique=False, schema='tenant', postgresql_ops={'name': 'text_pattern_ops'})
    op.create_index('ix_customers_node_id', 'customers', ['node_id'], unique=False, schema='tenant')
    op.create_index('ix_customers_phone_index', 'customers', ['phone_index'], unique=False, schema='tenant')
    op.create_table('customer_consents',
    sa.Column('customer_id', sa.UUID(), nullable=False),
    sa.Column('kind', sa.Enum('behaviour', 'marketing', 'sharing', name='consentkind', native_enum=False, length=20, schema='tenant'), nullable=False),
    sa.Column('purpose', sa.String(length=500), nullable=False),
    sa.Column('channel', sa.Enum('paper', 'online', 'phone', 'in_person', 'app', name='consentchannel', native_enum=False, length=20, schema='tenant'), nullable=False),
    sa.Column('granted_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('recorded_by', sa.String(length=200), nullable=False),
    sa.Column('withdrawn_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('withdrawal_channel', sa.Enum('paper', 'online', 'phone', 'in_person', 'app', name='consentchannel', native_enum=False, length=20, schema='tenant'), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('id', sa.UUID(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['customer_id'], ['tenant.customers.id'], name=op.f('fk_customer_consents_customer_id_customers'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_customer_consents')),
    schema='tenant'
    )
    op.create_index('ix_customer_consents_customer_id_kind', 'customer_consents', ['customer_id', 'kind'], unique=False, schema='tenant')
    op.create_table('customer_contacts',
    sa.Column('customer_id', sa.UUID(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('title', sa.String(length=100), nullable=True),
    sa.Column('phone_sealed', sa.LargeBinary(), nullable=True),
    sa.Column('phone_index', sa.String(length=40), nullable=True),
    sa.Column('email', sa.String(length=254), nullable=True),
    sa.Column('id', sa.UUID(), nullable=False),
    sa.ForeignKeyConstraint(['customer_id'], ['tenant.customers.id'], name=op.f('fk_customer_contacts_customer_id_customers'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_customer_contacts')),
    schema='tenant'
    )
    op.create_index('ix_customer_contacts_customer_id', 'customer_contacts', ['customer_id'], unique=False, schema='tenant')
    op.create_table('customer_units',
    sa.Column('customer_id', sa.UUID(), nullable=False),
    sa.Column('unit_id', sa.UUID(), nullable=False),
    sa.Column('role', sa.Enum('primary', 'co_owner', name='ownerrole', native_enum=False, length=20, schema='tenant'), nullable=False),
    sa.Column('stage', sa.Enum('subscription', 'contract', name='contractstage', native_enum=False, length=20, schema='tenant'), nullable=False),
    sa.Column('contract_number', sa.String(length=40), nullable=True),
    sa.Column('subscribed_on', sa.Date(), nullable=True),
    sa.Column('contracted_on', sa.Date(), nullable=True),
    sa.Column('payment_method', sa.Enum('full', 'mortgage', 'installment', 'provident_fund', name='paymentmethod', native_enum=False, length=20, schema='tenant'), nullable=True),
    sa.Column('amount', sa.Numeric(precision=14, scale=2), nullable=True),
    sa.Column('id', sa.UUID(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['customer_id'], ['tenant.customers.id'], name=op.f('fk_customer_units_customer_id_customers'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['unit_id'], ['tenant.units.id'], name=op.f('fk_customer_units_unit_id_units'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_customer_units')),
    sa.UniqueConstraint('customer_id', 'unit_id', name=op.f('uq_customer_units_customer_id_unit_id')),
    schema='tenant'
    )
    op.create_index('ix_customer_units_unit_id', 'customer_units', ['unit_id'], unique=False, schema='tenant')
    op.create_index('uq_customer_units_primary_unit_id', 'customer_units', ['unit_id'], unique=True, schema='tenant', postgresql_where=sa.text("role = 'primary'"))
