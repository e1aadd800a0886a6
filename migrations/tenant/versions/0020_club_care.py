"""The club and care, completed: photos of club activities through the upload lifecycle
(club_activity_photos), and customers' care channels in order of preference
(care_preferences). Points expiry is ledger entries: no table.

Additive: new tables the previous release does not know.

Revision ID: 0020_club_care
Revises: 0019_confidentiality
Create Date: 2026-12-08

A tenant migration: it runs once per tenant schema, inside that tenant's transaction.
Name tables with schema="tenant" (translated to the tenant's schema); for raw SQL use
app.tenants.migrations.tenant_schema(). Forward only: tenants are never downgraded.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0020_club_care"
down_revision = "0019_confidentiality"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "club_activity_photos",
        sa.Column("activity_id", sa.UUID(), nullable=False),
        sa.Column("node_id", sa.UUID(), nullable=False),
        sa.Column("caption", sa.String(length=200), nullable=True),
        sa.Column("filename", sa.String(length=200), nullable=False),
        sa.Column("status", sa.Enum("pending", "stored", name="photostatus", native_enum=False, length=20,
                                    schema="tenant"), nullable=False),
        sa.Column("uploaded_by", sa.String(length=200), nullable=False),
        sa.Column("object_key", sa.String(length=255), nullable=False),
        sa.Column("content_type", sa.String(length=100), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("upload_expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("object_version", sa.String(length=128), nullable=True),
        sa.Column("completed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["activity_id"], ["tenant.club_activities.id"],
                                name=op.f("fk_club_activity_photos_activity_id_club_activities"), ondelete="RESTRICT"),
        sa.ForeignKeyConstraint(["node_id"], ["tenant.org_nodes.id"],
                                name=op.f("fk_club_activity_photos_node_id_org_nodes"), ondelete="RESTRICT"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_club_activity_photos")),
        sa.UniqueConstraint("object_key", name=op.f("uq_club_activity_photos_object_key")),
        schema="tenant",
    )
    op.create_index("ix_club_activity_photos_activity_id", "club_activity_photos", ["activity_id"], unique=False,
                    schema="tenant")
    op.create_index("ix_club_activity_photos_status_upload_expires_at", "club_activity_photos",
                    ["status", "upload_expires_at"], unique=False, schema="tenant")
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

