"""The browser origins an OAuth client registers beyond those of its redirect URIs (CORS).

Revision ID: 0008_client_origins
Revises: 0007_counters
Create Date: 2026-12-08
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0008_client_origins"
down_revision = "0007_counters"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("oauth_clients", sa.Column("allowed_origins", postgresql.JSONB(astext_type=sa.Text()),
                                             nullable=False, server_default=sa.text("'[]'::jsonb")),
                  schema="platform")
    op.alter_column("oauth_clients", "allowed_origins", server_default=None, schema="platform")


def downgrade() -> None:
    op.drop_column("oauth_clients", "allowed_origins", schema="platform")
