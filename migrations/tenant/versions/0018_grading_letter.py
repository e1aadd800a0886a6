"""Hospitality, gifts and grading to the letter of seeds 000 and 002: a reception's meeting
and lodging lines, its report's attendees, review and reimbursement; a gift plan per customer
(gift_plans.customer_lines; the gift application's four sign-offs are seeded by
``approvals.chains.corrected.gifts``, which runs with this revision). Grading to the letter of seed 002: a grade keeps the previous window's monthly sales, the
method that scored it and whether it is on the scale (below grade E's lowest it is unrated);
the grade summary table signed off (grade_summaries, decided by the ``grade_summary`` chain,
which the ``approvals.chains`` seeder stores for every group on this migration).

Additive: nullable columns or columns with a server default, which the previous release
neither reads nor writes, and a new table.

Revision ID: 0018_grading_letter
Revises: 0017_privacy2
Create Date: 2026-12-08

A tenant migration: it runs once per tenant schema, inside that tenant's transaction.
Name tables with schema="tenant" (translated to the tenant's schema); for raw SQL use
app.tenants.migrations.tenant_schema(). Forward only: tenants are never downgraded.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0018_grading_letter"
down_revision = "0017_privacy2"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Seed 000 §17–18, §23–24: a reception's meeting and lodging lines, the report's attendees,
    # its review (reception_report chain) and finance's reimbursement.
    for column in ("budget_meeting", "budget_lodging"):
        op.add_column("receptions", sa.Column(column, sa.Numeric(precision=14, scale=2), server_default="0",
                                              nullable=False), schema="tenant")
    for column in ("actual_meeting", "actual_lodging", "reimbursed_amount"):
        op.add_column("receptions", sa.Column(column, sa.Numeric(precision=14, scale=2), nullable=True),
                      schema="tenant")
    op.add_column("receptions", sa.Column("staff_attendees", postgresql.JSONB(astext_type=sa.Text()),
                                          server_default="[]", nullable=False), schema="tenant")
    op.add_column("receptions", sa.Column("report_request_id", sa.UUID(), nullable=True), schema="tenant")
    op.create_foreign_key(op.f("fk_receptions_report_request_id_approval_requests"), "receptions",
                          "approval_requests", ["report_request_id"], ["id"], source_schema="tenant",
                          referent_schema="tenant", ondelete="RESTRICT")
    op.create_index("ix_receptions_report_request_id", "receptions", ["report_request_id"], unique=False,
                    schema="tenant")
    op.add_column("receptions", sa.Column("reimbursed_at", sa.DateTime(timezone=True), nullable=True),
                  schema="tenant")
    op.add_column("receptions", sa.Column("reimbursed_by", sa.String(length=200), nullable=True), schema="tenant")
    op.add_column("reception_guests", sa.Column("attended", sa.Boolean(), server_default="false", nullable=False),
                  schema="tenant")
    # Seed 000 §19: a gift plan's lines per customer.
    op.add_column("gift_plans", sa.Column("customer_lines", postgresql.JSONB(astext_type=sa.Text()),
                                          server_default="[]", nullable=False), schema="tenant")
    op.add_column("customer_grades", sa.Column("previous_monthly_sales", sa.Numeric(precision=16, scale=2),
                                               nullable=True), schema="tenant")
    op.add_column("customer_grades", sa.Column("method", sa.String(length=10), server_default="rfm",
                                               nullable=False), schema="tenant")
    op.add_column("customer_grades", sa.Column("on_scale", sa.Boolean(), server_default="true", nullable=False),
                  schema="tenant")
    op.create_table(
        "grade_summaries",
        sa.Column("number", sa.String(length=30), nullable=False),
        sa.Column("node_id", sa.UUID(), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("prepared_by", sa.String(length=200), nullable=False),
        sa.Column("lines", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("counts", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("approval_request_id", sa.UUID(), nullable=False),
        sa.Column("signed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["approval_request_id"], ["tenant.approval_requests.id"],
                                name=op.f("fk_grade_summaries_approval_request_id_approval_requests"),
                                ondelete="RESTRICT"),
        sa.ForeignKeyConstraint(["node_id"], ["tenant.org_nodes.id"],
                                name=op.f("fk_grade_summaries_node_id_org_nodes"), ondelete="RESTRICT"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_grade_summaries")),
        sa.UniqueConstraint("number", name=op.f("uq_grade_summaries_number")),
        schema="tenant",
    )
    op.create_index("ix_grade_summaries_node_id", "grade_summaries", ["node_id"], unique=False, schema="tenant")
    op.create_index("ix_grade_summaries_approval_request_id", "grade_summaries", ["approval_request_id"],
                    unique=True, schema="tenant")
