"""The last TOTP time step an account used, so that a code is accepted once (RFC 6238 §5.2).

Revision ID: 0006_totp_last_step
Revises: 0005_fanout_runs
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006_totp_last_step"
down_revision = "0005_fanout_runs"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("accounts", sa.Column("totp_last_step", sa.BigInteger(), nullable=True), schema="platform")


def downgrade() -> None:
    op.drop_column("accounts", "totp_last_step", schema="platform")
