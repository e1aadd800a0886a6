"""The report of the periodic work fanned out over the tenants: a row per run, and a row
per tenant of a run that is not done yet or failed for good.

Revision ID: 0005_fanout_runs
Revises: 0004_spare_schemas
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0005_fanout_runs"
down_revision = "0004_spare_schemas"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "fanout_runs",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("task", sa.String(length=100), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("tenants", sa.Integer(), nullable=False),
        sa.Column("done", sa.Integer(), server_default="0", nullable=False),
        sa.Column("skipped", sa.Integer(), server_default="0", nullable=False),
        sa.Column("failed", sa.Integer(), server_default="0", nullable=False),
        sa.Column("totals", postgresql.JSONB(astext_type=sa.Text()), server_default="{}", nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_fanout_runs")),
        schema="platform",
    )
    op.create_index("ix_fanout_runs_task_started_at", "fanout_runs", ["task", "started_at"], unique=False,
                    schema="platform")
    op.create_table(
        "fanout_tenants",
        sa.Column("run_id", sa.UUID(), nullable=False),
        sa.Column("tenant", sa.String(length=40), nullable=False),
        sa.Column("state", sa.Enum("queued", "running", "retrying", "failed", name="tenantstate",
                                   native_enum=False, length=20), nullable=False),
        sa.Column("attempts", sa.Integer(), server_default="0", nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.ForeignKeyConstraint(["run_id"], ["platform.fanout_runs.id"],
                                name=op.f("fk_fanout_tenants_run_id_fanout_runs"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("run_id", "tenant", name=op.f("pk_fanout_tenants")),
        schema="platform",
    )
