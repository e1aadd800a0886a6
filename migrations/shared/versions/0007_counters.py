"""Counters every API process shares when there is no Redis: rate limits, sign-in throttling.

Revision ID: 0007_counters
Revises: 0006_totp_last_step
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007_counters"
down_revision = "0006_totp_last_step"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "counters",
        sa.Column("key", sa.String(length=300), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("last_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_counters")),
        schema="platform",
    )
    op.create_index(op.f("ix_counters_expires_at"), "counters", ["expires_at"], unique=False,
                    schema="platform")


def downgrade() -> None:
    op.drop_index(op.f("ix_counters_expires_at"), table_name="counters", schema="platform")
    op.drop_table("counters", schema="platform")
