"""Customer relations to the letter of the source documents: the approval chains seeded for
complaint resolutions, credit-grade changes and change control corrected (their seeder,
``approvals.chains.corrected``, runs with this revision); a credit-limit change carries the
payment period set with the limit, and how the customer was told; credit investigations by
an agency (credit_investigations).

Additive: nullable columns, which the previous release neither reads nor writes.

Revision ID: 0015_relations
Revises: 0010_uploads
Create Date: 2026-12-07

A tenant migration: it runs once per tenant schema, inside that tenant's transaction.
Name tables with schema="tenant" (translated to the tenant's schema); for raw SQL use
app.tenants.migrations.tenant_schema(). Forward only: tenants are never downgraded.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0015_relations"
down_revision = "0014_personal"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("credit_changes", sa.Column("previous_payment_days", sa.Integer(), nullable=True), schema="tenant")
    op.add_column("credit_changes", sa.Column("requested_payment_days", sa.Integer(), nullable=True), schema="tenant")
    op.add_column("credit_changes", sa.Column("notified_via", sa.String(length=20), nullable=True), schema="tenant")
    op.create_table(
        "credit_investigations",
        sa.Column("number", sa.String(length=30), nullable=False),
        sa.Column("customer_id", sa.UUID(), nullable=False),
        sa.Column("node_id", sa.UUID(), nullable=False),
        sa.Column("agency", sa.String(length=200), nullable=False),
        sa.Column("method", sa.String(length=1000), nullable=False),
        sa.Column("content", sa.Text(), nullable=False),
        sa.Column("requested_by", sa.String(length=200), nullable=False),
        sa.Column("report", sa.Text(), nullable=True),
        sa.Column("countermeasures", sa.Text(), nullable=True),
        sa.Column("reported_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["customer_id"], ["tenant.customers.id"],
                                name=op.f("fk_credit_investigations_customer_id_customers"), ondelete="RESTRICT"),
        sa.ForeignKeyConstraint(["node_id"], ["tenant.org_nodes.id"],
                                name=op.f("fk_credit_investigations_node_id_org_nodes"), ondelete="RESTRICT"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_credit_investigations")),
        sa.UniqueConstraint("number", name=op.f("uq_credit_investigations_number")),
        schema="tenant",
    )
    op.create_index("ix_credit_investigations_customer_id", "credit_investigations", ["customer_id"], unique=False,
                    schema="tenant")
    op.create_index("ix_credit_investigations_node_id", "credit_investigations", ["node_id"], unique=False,
                    schema="tenant")
