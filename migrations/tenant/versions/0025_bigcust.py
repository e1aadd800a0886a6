"""Return visits and big customers: improvement actions from surveys (survey_improvements),
big-customer strategies (key_account_strategies) and on-site return visits
(key_account_visits), after-sales service plans (after_sales_plans). Their approval chains
and roles are the approvals seeder's (every migration).

Additive: new tables the previous release does not know.

Revision ID: 0025_bigcust
Revises: 0024_custinfo
Create Date: 2026-12-08

A tenant migration: it runs once per tenant schema, inside that tenant's transaction.
Name tables with schema="tenant" (translated to the tenant's schema); for raw SQL use
app.tenants.migrations.tenant_schema(). Forward only: tenants are never downgraded.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0025_bigcust"
down_revision = "0024_custinfo"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "survey_improvements",
        sa.Column("number", sa.String(length=30), nullable=False),
        sa.Column("node_id", sa.UUID(), nullable=False),
        sa.Column("plan_id", sa.UUID(), nullable=True),
        sa.Column("result_id", sa.UUID(), nullable=True),
        sa.Column("customer_id", sa.UUID(), nullable=True),
        sa.Column("finding", sa.Text(), nullable=False),
        sa.Column("action", sa.Text(), nullable=False),
        sa.Column("owner_id", sa.String(length=200), nullable=False),
        sa.Column("due_on", sa.Date(), nullable=False),
        sa.Column("stage", sa.Enum("draft", "submitted", "in_progress", "done", "cancelled",
                name="actionstage", native_enum=False, length=20, schema="tenant"), nullable=False),
        sa.Column("approval_request_id", sa.UUID(), nullable=True),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("outcome", sa.Text(), nullable=True),
        sa.Column("done_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("overdue_since", sa.Date(), nullable=True),
        sa.Column("cancel_reason", sa.Text(), nullable=True),
        sa.Column("created_by", sa.String(length=200), nullable=False),
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["approval_request_id"], ["tenant.approval_requests.id"],
                                name=op.f("fk_survey_improvements_approval_request_id_approval_requests"),
                                ondelete="RESTRICT"),
        sa.ForeignKeyConstraint(["customer_id"], ["tenant.customers.id"],
                                name=op.f("fk_survey_improvements_customer_id_customers"), ondelete="RESTRICT"),
        sa.ForeignKeyConstraint(["node_id"], ["tenant.org_nodes.id"],
                                name=op.f("fk_survey_improvements_node_id_org_nodes"), ondelete="RESTRICT"),
        sa.ForeignKeyConstraint(["plan_id"], ["tenant.return_visit_plans.id"],
                                name=op.f("fk_survey_improvements_plan_id_return_visit_plans"), ondelete="RESTRICT"),
        sa.ForeignKeyConstraint(["result_id"], ["tenant.survey_results.id"],
                                name=op.f("fk_survey_improvements_result_id_survey_results"), ondelete="RESTRICT"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_survey_improvements")),
        sa.UniqueConstraint("number", name=op.f("uq_survey_improvements_number")),
        schema="tenant",
    )
    op.create_index("ix_survey_improvements_node_id", "survey_improvements", ["node_id"], unique=False, schema="tenant")
    op.create_index("ix_survey_improvements_plan_id", "survey_improvements", ["plan_id"], unique=False, schema="tenant")
    op.create_index("ix_survey_improvements_stage_due_on", "survey_improvements", ["stage", "due_on"],
                    unique=False, schema="tenant")
    op.create_table(
        "key_account_strategies",
        sa.Column("number", sa.String(length=30), nullable=False),
        sa.Column("customer_id", sa.UUID(), nullable=False),
        sa.Column("node_id", sa.UUID(), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("goals", sa.Text(), nullable=False),
        sa.Column("strategy", sa.Text(), nullable=False),
        sa.Column("starts_on", sa.Date(), nullable=False),
        sa.Column("ends_on", sa.Date(), nullable=False),
        sa.Column("stage", sa.Enum("draft", "submitted", "in_force", "reviewed",
                name="strategystage", native_enum=False, length=20, schema="tenant"), nullable=False),
        sa.Column("approval_request_id", sa.UUID(), nullable=True),
        sa.Column("approved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("review", sa.Text(), nullable=True),
        sa.Column("reviewed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_by", sa.String(length=200), nullable=False),
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["approval_request_id"], ["tenant.approval_requests.id"],
                                name=op.f("fk_key_account_strategies_approval_request_id_approval_requests"),
                                ondelete="RESTRICT"),
        sa.ForeignKeyConstraint(["customer_id"], ["tenant.customers.id"],
                                name=op.f("fk_key_account_strategies_customer_id_customers"), ondelete="RESTRICT"),
        sa.ForeignKeyConstraint(["node_id"], ["tenant.org_nodes.id"],
                                name=op.f("fk_key_account_strategies_node_id_org_nodes"), ondelete="RESTRICT"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_key_account_strategies")),
        sa.UniqueConstraint("number", name=op.f("uq_key_account_strategies_number")),
        schema="tenant",
    )
    op.create_index("ix_key_account_strategies_customer_id", "key_account_strategies", ["customer_id"],
                    unique=False, schema="tenant")
    op.create_index("ix_key_account_strategies_node_id", "key_account_strategies", ["node_id"],
                    unique=False, schema="tenant")
    op.create_table(
        "key_account_visits",
        sa.Column("number", sa.String(length=30), nullable=False),
        sa.Column("customer_id", sa.UUID(), nullable=False),
        sa.Column("node_id", sa.UUID(), nullable=False),
        sa.Column("purpose", sa.Text(), nullable=False),
        sa.Column("scheduled_on", sa.Date(), nullable=False),
        sa.Column("visitor_id", sa.String(length=200), nullable=False),
        sa.Column("notified_by", sa.String(length=200), nullable=False),
        sa.Column("stage", sa.Enum("notified", "submitted", "archived", "cancelled",
                name="visitstage", native_enum=False, length=20, schema="tenant"), nullable=False),
        sa.Column("visited_on", sa.Date(), nullable=True),
        sa.Column("companions", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("findings", sa.Text(), nullable=True),
        sa.Column("service_quality", sa.Text(), nullable=True),
        sa.Column("customer_feedback", sa.Text(), nullable=True),
        sa.Column("reported_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("approval_request_id", sa.UUID(), nullable=True),
        sa.Column("archived_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("cancel_reason", sa.Text(), nullable=True),
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["approval_request_id"], ["tenant.approval_requests.id"],
                                name=op.f("fk_key_account_visits_approval_request_id_approval_requests"),
                                ondelete="RESTRICT"),
        sa.ForeignKeyConstraint(["customer_id"], ["tenant.customers.id"],
                                name=op.f("fk_key_account_visits_customer_id_customers"), ondelete="RESTRICT"),
        sa.ForeignKeyConstraint(["node_id"], ["tenant.org_nodes.id"],
                                name=op.f("fk_key_account_visits_node_id_org_nodes"), ondelete="RESTRICT"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_key_account_visits")),
        sa.UniqueConstraint("number", name=op.f("uq_key_account_visits_number")),
        schema="tenant",
    )
    op.create_index("ix_key_account_visits_customer_id", "key_account_visits", ["customer_id"],
                    unique=False, schema="tenant")
    op.create_index("ix_key_account_visits_node_id", "key_account_visits", ["node_id"], unique=False, schema="tenant")
    op.create_table(
        "after_sales_plans",
        sa.Column("number", sa.String(length=30), nullable=False),
        sa.Column("node_id", sa.UUID(), nullable=False),
        sa.Column("customer_id", sa.UUID(), nullable=True),
        sa.Column("kind", sa.Enum("routine", "non_routine",
                name="plankind", native_enum=False, length=20, schema="tenant"), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("issue", sa.Text(), nullable=False),
        sa.Column("content", sa.Text(), nullable=False),
        sa.Column("trial_ends_on", sa.Date(), nullable=False),
        sa.Column("stage", sa.Enum("draft", "submitted", "trial", "in_force", "withdrawn",
                name="planstage", native_enum=False, length=20, schema="tenant"), nullable=False),
        sa.Column("approval_request_id", sa.UUID(), nullable=True),
        sa.Column("trial_started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("evaluation", sa.Text(), nullable=True),
        sa.Column("in_force_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_by", sa.String(length=200), nullable=False),
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["approval_request_id"], ["tenant.approval_requests.id"],
                                name=op.f("fk_after_sales_plans_approval_request_id_approval_requests"),
                                ondelete="RESTRICT"),
        sa.ForeignKeyConstraint(["customer_id"], ["tenant.customers.id"],
                                name=op.f("fk_after_sales_plans_customer_id_customers"), ondelete="RESTRICT"),
        sa.ForeignKeyConstraint(["node_id"], ["tenant.org_nodes.id"],
                                name=op.f("fk_after_sales_plans_node_id_org_nodes"), ondelete="RESTRICT"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_after_sales_plans")),
        sa.UniqueConstraint("number", name=op.f("uq_after_sales_plans_number")),
        schema="tenant",
    )
    op.create_index("ix_after_sales_plans_node_id", "after_sales_plans", ["node_id"], unique=False, schema="tenant")

