"""Customer archive volumes.

Revision ID: 0009_archives
Revises: 0008_complaints
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa  # noqa: F401
from alembic import op  # noqa: F401

revision = "0009_archives"
down_revision = "0008_complaints"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass
