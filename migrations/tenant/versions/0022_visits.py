"""Visits to the letter of seed 000 §21–22: a visit's application through the
visit_application chain and finance's reimbursement of its expenses (columns on visits);
visit areas with their routes and stops, and regional visit plans.

Visits planned before this revision stay planned: like any planned visit they are applied for
before they are recorded (the seed makes no exception). Visits reported before it are
reimbursed like those reported after. Additive otherwise: new columns and tables.

Revision ID: 0022_visits
Revises: 0021_wechat
Create Date: 2026-12-08

A tenant migration: it runs once per tenant schema, inside that tenant's transaction.
Name tables with schema="tenant" (translated to the tenant's schema); for raw SQL use
app.tenants.migrations.tenant_schema(). Forward only: tenants are never downgraded.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0022_visits"
down_revision = "0021_wechat"
branch_labels = None
depends_on = None


def _stamps() -> list[sa.SchemaItem]:
    return [
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
    ]


def _node_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(["node_id"], ["tenant.org_nodes.id"], name=op.f(f"fk_{table}_node_id_org_nodes"),
                                   ondelete="RESTRICT")


def upgrade() -> None:
    op.add_column("visits", sa.Column("approval_request_id", sa.UUID(), nullable=True), schema="tenant")
    op.create_foreign_key(op.f("fk_visits_approval_request_id_approval_requests"), "visits", "approval_requests",
                          ["approval_request_id"], ["id"], source_schema="tenant", referent_schema="tenant",
                          ondelete="RESTRICT")
    op.create_index("ix_visits_approval_request_id", "visits", ["approval_request_id"], unique=False,
                    schema="tenant")
    op.add_column("visits", sa.Column("reimbursed_at", sa.DateTime(timezone=True), nullable=True), schema="tenant")
    op.add_column("visits", sa.Column("reimbursed_by", sa.String(length=200), nullable=True), schema="tenant")
    op.add_column("visits", sa.Column("reimbursed_amount", sa.Numeric(precision=14, scale=2), nullable=True),
                  schema="tenant")

    op.create_table(
        "visit_areas",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("node_id", sa.UUID(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("transport", sa.Text(), nullable=True),
        *_stamps(),
        _node_fk("visit_areas"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_visit_areas")),
        schema="tenant",
    )
    op.create_index("ix_visit_areas_node_id", "visit_areas", ["node_id"], unique=False, schema="tenant")
    op.create_table(
        "visit_routes",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("area_id", sa.UUID(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("every_days", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["area_id"], ["tenant.visit_areas.id"],
                                name=op.f("fk_visit_routes_area_id_visit_areas"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_visit_routes")),
        sa.UniqueConstraint("area_id", "position", name="uq_visit_routes_area_id_position"),
        schema="tenant",
    )
    op.create_table(
        "visit_route_stops",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("route_id", sa.UUID(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("customer_id", sa.UUID(), nullable=False),
        sa.ForeignKeyConstraint(["customer_id"], ["tenant.customers.id"],
                                name=op.f("fk_visit_route_stops_customer_id_customers"), ondelete="RESTRICT"),
        sa.ForeignKeyConstraint(["route_id"], ["tenant.visit_routes.id"],
                                name=op.f("fk_visit_route_stops_route_id_visit_routes"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_visit_route_stops")),
        sa.UniqueConstraint("route_id", "position", name="uq_visit_route_stops_route_id_position"),
        schema="tenant",
    )
    op.create_index("ix_visit_route_stops_customer_id", "visit_route_stops", ["customer_id"], unique=False,
                    schema="tenant")
    op.create_table(
        "regional_visit_plans",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("area_id", sa.UUID(), nullable=False),
        sa.Column("node_id", sa.UUID(), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("starts_on", sa.Date(), nullable=False),
        sa.Column("ends_on", sa.Date(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("summary", sa.Text(), nullable=True),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("closed_by", sa.String(length=200), nullable=True),
        *_stamps(),
        sa.ForeignKeyConstraint(["area_id"], ["tenant.visit_areas.id"],
                                name=op.f("fk_regional_visit_plans_area_id_visit_areas"), ondelete="RESTRICT"),
        _node_fk("regional_visit_plans"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_regional_visit_plans")),
        schema="tenant",
    )
    op.create_index("ix_regional_visit_plans_node_id", "regional_visit_plans", ["node_id"], unique=False,
                    schema="tenant")
    op.create_index("ix_regional_visit_plans_area_id", "regional_visit_plans", ["area_id"], unique=False,
                    schema="tenant")
