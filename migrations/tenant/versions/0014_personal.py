"""Personal information: people's privacy requests, retention rules and the retention scan's
record (app/domains/privacy).

Revision ID: 0014_personal
Revises: 0010_uploads
Create Date: 2026-12-07

A tenant migration: it runs once per tenant schema, inside that tenant's transaction.
Name tables with schema="tenant" (translated to the tenant's schema); for raw SQL use
app.tenants.migrations.tenant_schema(). Forward only: tenants are never downgraded.

New tables only: additive, the previous release never reads them.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0014_personal"
down_revision = "0010_uploads"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "privacy_requests",
        sa.Column("number", sa.String(length=30), nullable=False),
        sa.Column("kind", sa.Enum("access", "correction", "erasure", name="requestkind", native_enum=False,
                                  length=20, schema="tenant"), nullable=False),
        sa.Column("status", sa.Enum("open", "completed", "refused", name="requeststatus", native_enum=False,
                                    length=20, schema="tenant"), nullable=False),
        sa.Column("channel", sa.Enum("app", "phone", "in_person", "mail", "online", name="requestchannel",
                                     native_enum=False, length=20, schema="tenant"), nullable=False),
        sa.Column("customer_id", sa.UUID(), nullable=False),
        sa.Column("node_id", sa.UUID(), nullable=False),
        sa.Column("details_sealed", sa.LargeBinary(), nullable=True),
        sa.Column("filed_by", sa.String(length=200), nullable=False),
        sa.Column("due_on", sa.Date(), nullable=False),
        sa.Column("overdue_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("outcome", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("answer", sa.String(length=2000), nullable=True),
        sa.Column("answered_by", sa.String(length=200), nullable=True),
        sa.Column("answered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("job_id", sa.UUID(), nullable=True),
        sa.Column("package_sealed", sa.LargeBinary(), nullable=True),
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["customer_id"], ["tenant.customers.id"],
                                name=op.f("fk_privacy_requests_customer_id_customers"), ondelete="RESTRICT"),
        sa.ForeignKeyConstraint(["node_id"], ["tenant.org_nodes.id"],
                                name=op.f("fk_privacy_requests_node_id_org_nodes"), ondelete="RESTRICT"),
        sa.ForeignKeyConstraint(["job_id"], ["tenant.jobs.id"], name=op.f("fk_privacy_requests_job_id_jobs"),
                                ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_privacy_requests")),
        sa.UniqueConstraint("number", name=op.f("uq_privacy_requests_number")),
        schema="tenant",
    )
    op.create_index("ix_privacy_requests_customer_id", "privacy_requests", ["customer_id"], unique=False,
                    schema="tenant")
    op.create_index("ix_privacy_requests_node_id", "privacy_requests", ["node_id"], unique=False, schema="tenant")
    op.create_index("ix_privacy_requests_status_due_on", "privacy_requests", ["status", "due_on"], unique=False,
                    schema="tenant")
    op.create_table(
        "retention_rules",
        sa.Column("kind", sa.String(length=60), nullable=False),
        sa.Column("days", sa.Integer(), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_retention_rules")),
        sa.UniqueConstraint("kind", name=op.f("uq_retention_rules_kind")),
        schema="tenant",
    )
    op.create_table(
        "retention_runs",
        sa.Column("kind", sa.String(length=60), nullable=False),
        sa.Column("days", sa.Integer(), nullable=False),
        sa.Column("cutoff", sa.DateTime(timezone=True), nullable=False),
        sa.Column("anonymised", sa.Integer(), nullable=False),
        sa.Column("ran_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("id", sa.UUID(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_retention_runs")),
        schema="tenant",
    )
    op.create_index("ix_retention_runs_kind_ran_at", "retention_runs", ["kind", "ran_at"], unique=False,
                    schema="tenant")
