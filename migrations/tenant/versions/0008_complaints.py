"""Complaints and disputes, working calendars.

Revision ID: 0008_complaints
Revises: 0007_relations
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa  # noqa: F401
from alembic import op  # noqa: F401

revision = "0008_complaints"
down_revision = "0007_relations"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass
