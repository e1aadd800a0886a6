"""Roles (named sets of permissions) and their assignment to accounts at org nodes."""

from __future__ import annotations

import uuid

from sqlalchemy import Boolean, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlalchemy.orm import Mapped, mapped_column

from app.core.models import IdMixin, TenantBase, TimestampMixin, VersionMixin


class Role(IdMixin, TimestampMixin, VersionMixin, TenantBase):
    __tablename__ = "roles"

    code: Mapped[str] = mapped_column(String(60), nullable=False, unique=True)
    name: Mapped[str] = mapped_column(String(200), nullable=False)
    description: Mapped[str | None] = mapped_column(Text)
    permissions: Mapped[list[str]] = mapped_column(JSONB, nullable=False, default=list)
    # Seeded at provisioning; editable, but not deletable while assigned.
    system: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)


class RoleAssignment(IdMixin, TimestampMixin, TenantBase):
    """Account × role × org node: the role's permissions hold on that node's subtree."""

    __tablename__ = "role_assignments"

    # The platform account (accounts live in the shared schema: no foreign key across schemas).
    account_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), nullable=False)
    role_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), ForeignKey("roles.id", ondelete="RESTRICT"),
                                               nullable=False)
    node_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True),
                                               ForeignKey("org_nodes.id", ondelete="RESTRICT"), nullable=False)

    __table_args__ = (
        UniqueConstraint("account_id", "role_id", "node_id"),
        Index("ix_role_assignments_account_id", "account_id"),
        Index("ix_role_assignments_node_id", "node_id"),
    )
