"""Confidentiality of customer records (seed 000 §17): a customer's classification level on the
archives' scale, the numbered register of classified material handed over, and breaches with
their remediation.

Additive: a nullable column the previous release neither reads nor writes, and new tables.

Revision ID: 0019_confidentiality
Revises: 0018_grading_letter
Create Date: 2026-12-08

A tenant migration: it runs once per tenant schema, inside that tenant's transaction.
Name tables with schema="tenant" (translated to the tenant's schema); for raw SQL use
app.tenants.migrations.tenant_schema(). Forward only: tenants are never downgraded.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0019_confidentiality"
down_revision = "0018_grading_letter"
branch_labels = None
depends_on = None


def _common(table: str) -> list[sa.SchemaItem]:
    return [
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["customer_id"], ["tenant.customers.id"],
                                name=op.f(f"fk_{table}_customer_id_customers"), ondelete="RESTRICT"),
        sa.ForeignKeyConstraint(["node_id"], ["tenant.org_nodes.id"],
                                name=op.f(f"fk_{table}_node_id_org_nodes"), ondelete="RESTRICT"),
        sa.PrimaryKeyConstraint("id", name=op.f(f"pk_{table}")),
        sa.UniqueConstraint("number", name=op.f(f"uq_{table}_number")),
    ]


def upgrade() -> None:
    op.add_column("customers", sa.Column("classification", sa.String(length=40), nullable=True), schema="tenant")
    op.create_table(
        "confidential_transfers",
        sa.Column("number", sa.String(length=30), nullable=False),
        sa.Column("customer_id", sa.UUID(), nullable=False),
        sa.Column("node_id", sa.UUID(), nullable=False),
        sa.Column("material", sa.String(length=500), nullable=False),
        sa.Column("classification", sa.String(length=40), nullable=False),
        sa.Column("sent_by", sa.String(length=200), nullable=False),
        sa.Column("recipient_account_id", sa.UUID(), nullable=False),
        sa.Column("purpose", sa.String(length=500), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("returned_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("returned_to", sa.String(length=200), nullable=True),
        *_common("confidential_transfers"),
        schema="tenant",
    )
    op.create_table(
        "confidentiality_breaches",
        sa.Column("number", sa.String(length=30), nullable=False),
        sa.Column("customer_id", sa.UUID(), nullable=False),
        sa.Column("node_id", sa.UUID(), nullable=False),
        sa.Column("transfer_id", sa.UUID(), nullable=True),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("description", sa.String(length=2000), nullable=False),
        sa.Column("reported_by", sa.String(length=200), nullable=False),
        sa.Column("actions", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("report", sa.String(length=2000), nullable=True),
        sa.Column("closed_by", sa.String(length=200), nullable=True),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["transfer_id"], ["tenant.confidential_transfers.id"],
                                name=op.f("fk_confidentiality_breaches_transfer_id_confidential_transfers"),
                                ondelete="RESTRICT"),
        *_common("confidentiality_breaches"),
        schema="tenant",
    )
    for table in ("confidential_transfers", "confidentiality_breaches"):
        for column in ("customer_id", "node_id"):
            op.create_index(f"ix_{table}_{column}", table, [column], unique=False, schema="tenant")
