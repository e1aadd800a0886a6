"""One upload lifecycle (app/storage/uploads.py): archive pages take the shared content-type
column (100 characters, as complaint attachments have), and complaint attachments get the
index by which uploads never completed are found for expiry, as archive pages have.

Revision ID: 0010_uploads
Revises: 0009_archives
Create Date: 2026-12-07

A tenant migration: it runs once per tenant schema, inside that tenant's transaction.
Name tables with schema="tenant" (translated to the tenant's schema); for raw SQL use
app.tenants.migrations.tenant_schema(). Forward only: tenants are never downgraded.

Both steps are additive: a wider varchar is a catalog change (no rewrite) that the previous
release reads and writes as before, and an index changes no query's result.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010_uploads"
down_revision = "0009_archives"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.alter_column("archive_pages", "content_type", type_=sa.String(length=100),
                    existing_type=sa.String(length=40), existing_nullable=False, schema="tenant")
    op.create_index("ix_complaint_attachments_status_upload_expires_at", "complaint_attachments",
                    ["status", "upload_expires_at"], unique=False, schema="tenant")
