"""Customer relations to the letter of the source documents: the approval chains seeded for
complaint resolutions, credit-grade changes and change control corrected (their seeder,
``approvals.chains.corrected``, runs with this revision); a credit-limit change carries the
payment period set with the limit, and how the customer was told.

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
down_revision = "0010_uploads"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("credit_changes", sa.Column("previous_payment_days", sa.Integer(), nullable=True), schema="tenant")
    op.add_column("credit_changes", sa.Column("requested_payment_days", sa.Integer(), nullable=True), schema="tenant")
    op.add_column("credit_changes", sa.Column("notified_via", sa.String(length=20), nullable=True), schema="tenant")
