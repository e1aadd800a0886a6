"""In-sale orders and call-centre quality: customers' orders with their confirmation deadline,
departments told, delivery and feedback (sale_orders), their progress milestones sent to the
customer (sale_order_updates), and evaluations of logged calls (call_evaluations).

Additive: new tables the previous release does not know.

Revision ID: 0023_service
Revises: 0022_visits
Create Date: 2026-12-08

A tenant migration: it runs once per tenant schema, inside that tenant's transaction.
Name tables with schema="tenant" (translated to the tenant's schema); for raw SQL use
app.tenants.migrations.tenant_schema(). Forward only: tenants are never downgraded.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0023_service"
down_revision = "0022_visits"
branch_labels = None
depends_on = None


def _enum(name: str, *values: str) -> sa.Enum:
    return sa.Enum(*values, name=name, native_enum=False, length=20, schema="tenant")


def _stamps() -> list[sa.Column]:  # type: ignore[type-arg]
    return [sa.Column("id", sa.UUID(), nullable=False),
            sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
            sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
            sa.Column("version", sa.Integer(), nullable=False)]


def upgrade() -> None:
    op.create_table(
        "sale_orders",
        sa.Column("number", sa.String(length=30), nullable=False),
        sa.Column("customer_id", sa.UUID(), nullable=False),
        sa.Column("node_id", sa.UUID(), nullable=False),
        sa.Column("unit_id", sa.UUID(), nullable=True),
        sa.Column("kind", _enum("orderkind", "unit", "parking", "fit_out", "service", "other"), nullable=False),
        sa.Column("item", sa.String(length=300), nullable=False),
        sa.Column("amount", sa.Numeric(14, 2), nullable=True),
        sa.Column("channel", sa.String(length=40), nullable=False),
        sa.Column("status", _enum("orderstatus", "received", "confirmed", "in_progress", "delivered", "cancelled"),
                  nullable=False),
        sa.Column("progress_updates", sa.Boolean(), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("received_by", sa.String(length=200), nullable=False),
        sa.Column("confirm_minutes", sa.Integer(), nullable=False),
        sa.Column("confirm_due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("overdue_notified_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("confirmed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("confirmed_by", sa.String(length=200), nullable=True),
        sa.Column("confirm_note", sa.String(length=1000), nullable=True),
        sa.Column("departments", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("expected_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("delivered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("delivery_confirmed_by", sa.String(length=200), nullable=True),
        sa.Column("inspection", _enum("inspection", "accepted", "defects"), nullable=True),
        sa.Column("inspection_notes", sa.String(length=2000), nullable=True),
        sa.Column("feedback_rating", sa.Integer(), nullable=True),
        sa.Column("feedback_comment", sa.String(length=2000), nullable=True),
        sa.Column("feedback_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("cancel_reason", sa.String(length=500), nullable=True),
        *_stamps(),
        sa.ForeignKeyConstraint(["customer_id"], ["tenant.customers.id"],
                                name=op.f("fk_sale_orders_customer_id_customers"), ondelete="RESTRICT"),
        sa.ForeignKeyConstraint(["node_id"], ["tenant.org_nodes.id"],
                                name=op.f("fk_sale_orders_node_id_org_nodes"), ondelete="RESTRICT"),
        sa.ForeignKeyConstraint(["unit_id"], ["tenant.units.id"],
                                name=op.f("fk_sale_orders_unit_id_units"), ondelete="RESTRICT"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sale_orders")),
        sa.UniqueConstraint("number", name=op.f("uq_sale_orders_number")),
        schema="tenant",
    )
    op.create_index("ix_sale_orders_customer_id", "sale_orders", ["customer_id"], unique=False, schema="tenant")
    op.create_index("ix_sale_orders_node_id", "sale_orders", ["node_id"], unique=False, schema="tenant")
    op.create_index("ix_sale_orders_status_confirm_due_at", "sale_orders", ["status", "confirm_due_at"],
                    unique=False, schema="tenant")
    op.create_table(
        "sale_order_updates",
        sa.Column("order_id", sa.UUID(), nullable=False),
        sa.Column("milestone", sa.String(length=200), nullable=False),
        sa.Column("note", sa.String(length=2000), nullable=True),
        sa.Column("expected_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("posted_by", sa.String(length=200), nullable=False),
        sa.Column("posted_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sent_via", sa.String(length=20), nullable=False),
        sa.Column("outbox_message_id", sa.UUID(), nullable=True),
        sa.Column("id", sa.UUID(), nullable=False),
        sa.ForeignKeyConstraint(["order_id"], ["tenant.sale_orders.id"],
                                name=op.f("fk_sale_order_updates_order_id_sale_orders"), ondelete="RESTRICT"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sale_order_updates")),
        schema="tenant",
    )
    op.create_index("ix_sale_order_updates_order_id", "sale_order_updates", ["order_id"], unique=False,
                    schema="tenant")
    op.create_table(
        "call_evaluations",
        sa.Column("call_id", sa.UUID(), nullable=False),
        sa.Column("node_id", sa.UUID(), nullable=False),
        sa.Column("agent_id", sa.String(length=200), nullable=False),
        sa.Column("call_started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("evaluator_id", sa.String(length=200), nullable=False),
        sa.Column("scores", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("total", sa.Numeric(5, 2), nullable=False),
        sa.Column("comment", sa.Text(), nullable=True),
        *_stamps(),
        sa.ForeignKeyConstraint(["call_id"], ["tenant.calls.id"],
                                name=op.f("fk_call_evaluations_call_id_calls"), ondelete="RESTRICT"),
        sa.ForeignKeyConstraint(["node_id"], ["tenant.org_nodes.id"],
                                name=op.f("fk_call_evaluations_node_id_org_nodes"), ondelete="RESTRICT"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_call_evaluations")),
        sa.UniqueConstraint("call_id", name=op.f("uq_call_evaluations_call_id")),
        schema="tenant",
    )
    op.create_index("ix_call_evaluations_node_id", "call_evaluations", ["node_id"], unique=False, schema="tenant")
    op.create_index("ix_call_evaluations_agent_id", "call_evaluations", ["agent_id"], unique=False, schema="tenant")

