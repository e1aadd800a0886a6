"""Personal information, what was still missing: a consent-withdrawal request names the
consents it withdraws (privacy_requests.consent_kinds); a request the tenant routes through
the approval engine keeps its approval request (privacy_requests.approval_request_id); a
tenant's retired data keys are marked, not deleted (data_keys.retired_at).

Additive: nullable columns, which the previous release neither reads nor writes.

Revision ID: 0017_privacy2
Revises: 0016_certs2
Create Date: 2026-12-08

A tenant migration: it runs once per tenant schema, inside that tenant's transaction.
Name tables with schema="tenant" (translated to the tenant's schema); for raw SQL use
app.tenants.migrations.tenant_schema(). Forward only: tenants are never downgraded.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0017_privacy2"
down_revision = "0016_certs2"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("privacy_requests", sa.Column("consent_kinds", postgresql.JSONB(astext_type=sa.Text()),
                                                nullable=True), schema="tenant")
    op.add_column("privacy_requests", sa.Column("approval_request_id", sa.UUID(), nullable=True), schema="tenant")
    op.create_foreign_key(op.f("fk_privacy_requests_approval_request_id_approval_requests"), "privacy_requests",
                          "approval_requests", ["approval_request_id"], ["id"], source_schema="tenant",
                          referent_schema="tenant", ondelete="RESTRICT")
    op.add_column("data_keys", sa.Column("retired_at", sa.DateTime(timezone=True), nullable=True), schema="tenant")

