"""Customer relations, part 3: interactions, return visits, grading and credit.

Revision ID: 0007_relations
Revises: 0006_inquiries
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa  # noqa: F401
from alembic import op  # noqa: F401

revision = "0007_relations"
down_revision = "0006_inquiries"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass
