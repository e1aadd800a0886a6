"""The pool of spare tenant schemas: each one's name and the tenant revision it was built at.

Revision ID: 0004_spare_schemas
Revises: 0003_audit_retention
Create Date: 2026-11-24
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004_spare_schemas"
down_revision = "0003_audit_retention"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "spare_schemas",
        sa.Column("name", sa.String(length=63), nullable=False),
        sa.Column("revision", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_spare_schemas")),
        schema="platform",
    )
