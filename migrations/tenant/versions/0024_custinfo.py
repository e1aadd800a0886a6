"""Customer information (issue 19 item 6): the archive form's fields on customers (seed 002),
the quarterly review of the customer base (001 §2.2), customer development (000 §17) and the
departments' information needs served by customer affairs (004 §4.8).

Additive: nullable columns (the two lists filled with [] for existing rows) the previous
release neither reads nor writes, and new tables.

Revision ID: 0024_custinfo
Revises: 0023_service
Create Date: 2026-12-08

A tenant migration: it runs once per tenant schema, inside that tenant's transaction.
Name tables with schema="tenant" (translated to the tenant's schema); for raw SQL use
app.tenants.migrations.tenant_schema(). Forward only: tenants are never downgraded.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0024_custinfo"
down_revision = "0023_service"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column('customers', sa.Column('region', sa.String(length=100), nullable=True), schema='tenant')
    op.add_column('customers', sa.Column('fax_sealed', sa.LargeBinary(), nullable=True), schema='tenant')
    op.add_column('customers', sa.Column('violations', postgresql.JSONB(astext_type=sa.Text()), nullable=False,
                                         server_default=sa.text("'[]'::jsonb")), schema='tenant')
    op.add_column('customers', sa.Column('evaluations', postgresql.JSONB(astext_type=sa.Text()), nullable=False,
                                         server_default=sa.text("'[]'::jsonb")), schema='tenant')
    # The default only fills the existing rows: the application writes the lists itself.
    for column in ('violations', 'evaluations'):
        op.alter_column('customers', column, server_default=None, schema='tenant')
    op.add_column('customers', sa.Column('business_type', sa.String(length=20), nullable=True), schema='tenant')
    op.add_column('customers', sa.Column('company_nature', sa.String(length=100), nullable=True), schema='tenant')
    op.add_column('customers', sa.Column('legal_representative', sa.String(length=100), nullable=True), schema='tenant')
    op.add_column('customers', sa.Column('registered_capital', sa.Numeric(precision=16, scale=2), nullable=True), schema='tenant')
    op.add_column('customers', sa.Column('sales', postgresql.JSONB(astext_type=sa.Text()), nullable=True), schema='tenant')
    op.add_column('customers', sa.Column('competition', postgresql.JSONB(astext_type=sa.Text()), nullable=True), schema='tenant')
    op.add_column('customers', sa.Column('invoice_phone_sealed', sa.LargeBinary(), nullable=True), schema='tenant')
    op.add_column('customers', sa.Column('invoice_requirements', sa.String(length=500), nullable=True), schema='tenant')
    op.add_column('customers', sa.Column('website', sa.String(length=300), nullable=True), schema='tenant')
    op.add_column('customers', sa.Column('purchase_needs', sa.String(length=1000), nullable=True), schema='tenant')
    op.create_table('customer_reviews',
    sa.Column('number', sa.String(length=30), nullable=False),
    sa.Column('node_id', sa.UUID(), nullable=False),
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('quarter', sa.Integer(), nullable=False),
    sa.Column('starts_on', sa.Date(), nullable=False),
    sa.Column('ends_on', sa.Date(), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('opened_by', sa.String(length=200), nullable=False),
    sa.Column('closed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('closed_by', sa.String(length=200), nullable=True),
    sa.Column('id', sa.UUID(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['node_id'], ['tenant.org_nodes.id'], name=op.f('fk_customer_reviews_node_id_org_nodes'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_customer_reviews')),
    sa.UniqueConstraint('node_id', 'year', 'quarter', name=op.f('uq_customer_reviews_node_id_year_quarter')),
    sa.UniqueConstraint('number', name=op.f('uq_customer_reviews_number')),
    schema='tenant'
    )
    op.create_table('customer_review_items',
    sa.Column('review_id', sa.UUID(), nullable=False),
    sa.Column('customer_id', sa.UUID(), nullable=False),
    sa.Column('node_id', sa.UUID(), nullable=False),
    sa.Column('valid_until', sa.Date(), nullable=False),
    sa.Column('due', sa.String(length=20), nullable=False),
    sa.Column('outcome', sa.String(length=20), nullable=False),
    sa.Column('new_valid_until', sa.Date(), nullable=True),
    sa.Column('note', sa.String(length=1000), nullable=True),
    sa.Column('worked_by', sa.String(length=200), nullable=True),
    sa.Column('worked_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('id', sa.UUID(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['customer_id'], ['tenant.customers.id'], name=op.f('fk_customer_review_items_customer_id_customers'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['node_id'], ['tenant.org_nodes.id'], name=op.f('fk_customer_review_items_node_id_org_nodes'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['review_id'], ['tenant.customer_reviews.id'], name=op.f('fk_customer_review_items_review_id_customer_reviews'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_customer_review_items')),
    sa.UniqueConstraint('review_id', 'customer_id', name=op.f('uq_customer_review_items_review_id_customer_id')),
    schema='tenant'
    )
    op.create_index('ix_customer_review_items_customer_id', 'customer_review_items', ['customer_id'], unique=False, schema='tenant')
    op.create_index('ix_customer_review_items_node_id', 'customer_review_items', ['node_id'], unique=False, schema='tenant')
    op.create_table('prospect_screenings',
    sa.Column('number', sa.String(length=30), nullable=False),
    sa.Column('node_id', sa.UUID(), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('scope', sa.String(length=1000), nullable=False),
    sa.Column('screened_by', sa.String(length=200), nullable=False),
    sa.Column('id', sa.UUID(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['node_id'], ['tenant.org_nodes.id'], name=op.f('fk_prospect_screenings_node_id_org_nodes'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_prospect_screenings')),
    sa.UniqueConstraint('number', name=op.f('uq_prospect_screenings_number')),
    schema='tenant'
    )
    op.create_table('prospect_screening_entries',
    sa.Column('screening_id', sa.UUID(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('customer_id', sa.UUID(), nullable=False),
    sa.Column('qualified', sa.Boolean(), nullable=False),
    sa.Column('reason', sa.String(length=1000), nullable=False),
    sa.Column('id', sa.UUID(), nullable=False),
    sa.ForeignKeyConstraint(['customer_id'], ['tenant.customers.id'], name=op.f('fk_prospect_screening_entries_customer_id_customers'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['screening_id'], ['tenant.prospect_screenings.id'], name=op.f('fk_prospect_screening_entries_screening_id_prospect_screenings'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_prospect_screening_entries')),
    sa.UniqueConstraint('screening_id', 'customer_id', name=op.f('uq_prospect_screening_entries_screening_id_customer_id')),
    schema='tenant'
    )
    op.create_index('ix_prospect_screening_entries_customer_id', 'prospect_screening_entries', ['customer_id'], unique=False, schema='tenant')
    op.create_table('customer_developments',
    sa.Column('number', sa.String(length=30), nullable=False),
    sa.Column('node_id', sa.UUID(), nullable=False),
    sa.Column('customer_id', sa.UUID(), nullable=False),
    sa.Column('screening_id', sa.UUID(), nullable=False),
    sa.Column('applicant_id', sa.String(length=200), nullable=False),
    sa.Column('plan', sa.String(length=2000), nullable=False),
    sa.Column('report_every_days', sa.Integer(), nullable=False),
    sa.Column('stage', sa.String(length=20), nullable=False),
    sa.Column('approval_request_id', sa.UUID(), nullable=True),
    sa.Column('next_report_on', sa.Date(), nullable=True),
    sa.Column('result', sa.String(length=20), nullable=True),
    sa.Column('closing_note', sa.String(length=1000), nullable=True),
    sa.Column('closed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('id', sa.UUID(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['approval_request_id'], ['tenant.approval_requests.id'], name=op.f('fk_customer_developments_approval_request_id_approval_requests'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['customer_id'], ['tenant.customers.id'], name=op.f('fk_customer_developments_customer_id_customers'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['node_id'], ['tenant.org_nodes.id'], name=op.f('fk_customer_developments_node_id_org_nodes'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['screening_id'], ['tenant.prospect_screenings.id'], name=op.f('fk_customer_developments_screening_id_prospect_screenings'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_customer_developments')),
    sa.UniqueConstraint('number', name=op.f('uq_customer_developments_number')),
    schema='tenant'
    )
    op.create_index('ix_customer_developments_customer_id', 'customer_developments', ['customer_id'], unique=False, schema='tenant')
    op.create_index('ix_customer_developments_node_id', 'customer_developments', ['node_id'], unique=False, schema='tenant')
    op.create_table('customer_development_reports',
    sa.Column('development_id', sa.UUID(), nullable=False),
    sa.Column('period_start', sa.Date(), nullable=False),
    sa.Column('period_end', sa.Date(), nullable=False),
    sa.Column('progress', sa.String(length=2000), nullable=False),
    sa.Column('next_steps', sa.String(length=1000), nullable=True),
    sa.Column('reported_by', sa.String(length=200), nullable=False),
    sa.Column('id', sa.UUID(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['development_id'], ['tenant.customer_developments.id'], name=op.f('fk_customer_development_reports_development_id_customer_developments'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_customer_development_reports')),
    schema='tenant'
    )
    op.create_index('ix_customer_development_reports_development_id', 'customer_development_reports', ['development_id'], unique=False, schema='tenant')
    op.create_table('information_needs',
    sa.Column('number', sa.String(length=30), nullable=False),
    sa.Column('node_id', sa.UUID(), nullable=False),
    sa.Column('department', sa.String(length=100), nullable=False),
    sa.Column('topic', sa.String(length=20), nullable=False),
    sa.Column('description', sa.String(length=2000), nullable=False),
    sa.Column('stated_by', sa.String(length=200), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('id', sa.UUID(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['node_id'], ['tenant.org_nodes.id'], name=op.f('fk_information_needs_node_id_org_nodes'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_information_needs')),
    sa.UniqueConstraint('number', name=op.f('uq_information_needs_number')),
    schema='tenant'
    )
    op.create_index('ix_information_needs_node_id', 'information_needs', ['node_id'], unique=False, schema='tenant')
    op.create_table('information_items',
    sa.Column('number', sa.String(length=30), nullable=False),
    sa.Column('node_id', sa.UUID(), nullable=False),
    sa.Column('customer_id', sa.UUID(), nullable=True),
    sa.Column('topic', sa.String(length=20), nullable=False),
    sa.Column('channel', sa.String(length=20), nullable=False),
    sa.Column('content', sa.String(length=2000), nullable=False),
    sa.Column('collected_by', sa.String(length=200), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('review_note', sa.String(length=1000), nullable=True),
    sa.Column('reviewed_by', sa.String(length=200), nullable=True),
    sa.Column('reviewed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('tags', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('classified_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('id', sa.UUID(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['customer_id'], ['tenant.customers.id'], name=op.f('fk_information_items_customer_id_customers'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['node_id'], ['tenant.org_nodes.id'], name=op.f('fk_information_items_node_id_org_nodes'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_information_items')),
    sa.UniqueConstraint('number', name=op.f('uq_information_items_number')),
    schema='tenant'
    )
    op.create_index('ix_information_items_customer_id', 'information_items', ['customer_id'], unique=False, schema='tenant')
    op.create_index('ix_information_items_node_id', 'information_items', ['node_id'], unique=False, schema='tenant')
    op.create_table('information_provisions',
    sa.Column('need_id', sa.UUID(), nullable=False),
    sa.Column('node_id', sa.UUID(), nullable=False),
    sa.Column('item_ids', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('note', sa.String(length=1000), nullable=True),
    sa.Column('provided_by', sa.String(length=200), nullable=False),
    sa.Column('id', sa.UUID(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['need_id'], ['tenant.information_needs.id'], name=op.f('fk_information_provisions_need_id_information_needs'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['node_id'], ['tenant.org_nodes.id'], name=op.f('fk_information_provisions_node_id_org_nodes'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_information_provisions')),
    schema='tenant'
    )
    op.create_index('ix_information_provisions_need_id', 'information_provisions', ['need_id'], unique=False, schema='tenant')
