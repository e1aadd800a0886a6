"""Audit retention: the tenant policy column, and a refuse function that lets the purge
delete records older than a year (only with ``SET LOCAL cornerstone.audit_purge = 'on'``).

Revision ID: 0003_audit_retention
Revises: 0002_identity
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from app.core.audit import REFUSE_FUNCTION_SQL

revision = "0003_audit_retention"
down_revision = "0002_identity"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("tenants", sa.Column("audit_retention_days", sa.Integer(), nullable=True),
                  schema="platform")
    op.create_check_constraint(
        op.f("ck_tenants_audit_retention_min"), "tenants",
        "audit_retention_days IS NULL OR audit_retention_days >= 365", schema="platform",
    )
    # CREATE OR REPLACE keeps the function's oid, so every existing trigger (platform and
    # tenant schemas) picks the new body up without being recreated.
    op.execute(REFUSE_FUNCTION_SQL)
