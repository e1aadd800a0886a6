"""Certificates, what issue 17 still lacked: the staff member responsible for a certificate
case (told of each urge), and the guarantees' documents as verified uploads (the loan and
guarantee contracts, the bank's release confirmation, which a release now names).

Additive: nullable columns and a new table, which the previous release neither reads nor writes.

Revision ID: 0016_certs2
Revises: 0015_relations
Create Date: 2026-12-08

A tenant migration: it runs once per tenant schema, inside that tenant's transaction.
Name tables with schema="tenant" (translated to the tenant's schema); for raw SQL use
app.tenants.migrations.tenant_schema(). Forward only: tenants are never downgraded.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0016_certs2"
down_revision = "0015_relations"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("cert_cases", sa.Column("responsible_account_id", sa.UUID(), nullable=True), schema="tenant")
    op.add_column("mortgage_guarantees", sa.Column("release_document_id", sa.UUID(), nullable=True), schema="tenant")
    op.create_table(
        "guarantee_documents",
        sa.Column("guarantee_id", sa.UUID(), nullable=False),
        sa.Column("node_id", sa.UUID(), nullable=False),
        sa.Column("kind", sa.Enum("loan_contract", "guarantee_contract", "release_confirmation", "other",
                                  name="documentkind", native_enum=False, length=20, schema="tenant"), nullable=False),
        sa.Column("filename", sa.String(length=200), nullable=False),
        sa.Column("status", sa.Enum("pending", "stored", name="documentstatus", native_enum=False, length=20,
                                    schema="tenant"), nullable=False),
        sa.Column("uploaded_by", sa.String(length=100), nullable=False),
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
        sa.ForeignKeyConstraint(["guarantee_id"], ["tenant.mortgage_guarantees.id"],
                                name=op.f("fk_guarantee_documents_guarantee_id_mortgage_guarantees"),
                                ondelete="RESTRICT"),
        sa.ForeignKeyConstraint(["node_id"], ["tenant.org_nodes.id"],
                                name=op.f("fk_guarantee_documents_node_id_org_nodes"), ondelete="RESTRICT"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_guarantee_documents")),
        sa.UniqueConstraint("object_key", name=op.f("uq_guarantee_documents_object_key")),
        schema="tenant",
    )
    op.create_index("ix_guarantee_documents_guarantee_id", "guarantee_documents", ["guarantee_id"], unique=False,
                    schema="tenant")
    op.create_index("ix_guarantee_documents_status_upload_expires_at", "guarantee_documents",
                    ["status", "upload_expires_at"], unique=False, schema="tenant")
