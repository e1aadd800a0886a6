"""The club and care, completed: customers' care channels in order of preference
(care_preferences); activity photos are uploads (the platform's uploads table) and points
expiry is ledger entries, so neither needs a table.

Additive: a new table the previous release does not know.

Revision ID: 0016_club_care
Revises: 0015_relations
Create Date: 2026-12-08

A tenant migration: it runs once per tenant schema, inside that tenant's transaction.
Name tables with schema="tenant" (translated to the tenant's schema); for raw SQL use
app.tenants.migrations.tenant_schema(). Forward only: tenants are never downgraded.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0016_club_care"
down_revision = "0015_relations"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "care_preferences",
        sa.Column("customer_id", sa.UUID(), nullable=False),
        sa.Column("channels", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("updated_by", sa.String(length=200), nullable=False),
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["customer_id"], ["tenant.customers.id"],
                                name=op.f("fk_care_preferences_customer_id_customers"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_care_preferences")),
        schema="tenant",
    )
    op.create_index("ix_care_preferences_customer_id", "care_preferences", ["customer_id"], unique=False,
                    schema="tenant")

