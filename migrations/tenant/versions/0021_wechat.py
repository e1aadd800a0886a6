"""WeChat template messages for care campaigns: owners' WeChat bindings (care_wechat_bindings,
the openid sealed and blind-indexed), an owner's own quiet hours on their care preference, and
the channels a care message passed over with the reason (care_messages.skipped).

Additive: a new table and nullable or defaulted columns the previous release does not read.

Revision ID: 0021_wechat
Revises: 0020_club_care
Create Date: 2026-12-08

A tenant migration: it runs once per tenant schema, inside that tenant's transaction.
Name tables with schema="tenant" (translated to the tenant's schema); for raw SQL use
app.tenants.migrations.tenant_schema(). Forward only: tenants are never downgraded.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0021_wechat"
down_revision = "0020_club_care"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "care_wechat_bindings",
        sa.Column("account_id", sa.UUID(), nullable=False),
        sa.Column("openid_sealed", sa.LargeBinary(), nullable=False),
        sa.Column("openid_index", sa.String(length=64), nullable=False),
        sa.Column("bound_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_care_wechat_bindings")),
        sa.UniqueConstraint("account_id", name=op.f("uq_care_wechat_bindings_account_id")),
        sa.UniqueConstraint("openid_index", name=op.f("uq_care_wechat_bindings_openid_index")),
        schema="tenant",
    )
    op.add_column("care_preferences", sa.Column("quiet_start", sa.Time(), nullable=True), schema="tenant")
    op.add_column("care_preferences", sa.Column("quiet_end", sa.Time(), nullable=True), schema="tenant")
    op.create_check_constraint(op.f("ck_care_preferences_quiet_both"), "care_preferences",
                               "(quiet_start IS NULL) = (quiet_end IS NULL)", schema="tenant")
    op.add_column("care_messages", sa.Column("skipped", postgresql.JSONB(astext_type=sa.Text()),
                                             server_default=sa.text("'[]'::jsonb"), nullable=False),
                  schema="tenant")
