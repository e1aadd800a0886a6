"""The organisation tree: group (root) → branches → projects → buildings → units."""

from __future__ import annotations

import enum
import uuid
from datetime import date
from decimal import Decimal

from sqlalchemy import Date, ForeignKey, Index, Integer, Numeric, String, Text, UniqueConstraint
from sqlalchemy.dialects.postgresql import UUID
from sqlalchemy.orm import Mapped, mapped_column

from app.core.models import IdMixin, TenantBase, TimestampMixin, VersionMixin, str_enum


class NodeKind(str, enum.Enum):
    group = "group"
    branch = "branch"
    project = "project"
    building = "building"


# The kind each kind's parent must have: the tree's shape, enforced by the services.
PARENT_KIND = {
    NodeKind.branch: NodeKind.group,
    NodeKind.project: NodeKind.branch,
    NodeKind.building: NodeKind.project,
}


class UnitStatus(str, enum.Enum):
    unsold = "unsold"
    subscribed = "subscribed"
    contracted = "contracted"
    handed_over = "handed_over"


class OrgNode(IdMixin, TimestampMixin, VersionMixin, TenantBase):
    __tablename__ = "org_nodes"

    kind: Mapped[NodeKind] = mapped_column(str_enum(NodeKind), nullable=False)
    parent_id: Mapped[uuid.UUID | None] = mapped_column(
        UUID(as_uuid=True), ForeignKey("org_nodes.id", ondelete="RESTRICT")
    )
    # Ancestor ids from the root, '/'-joined and ending with this node's id: a subtree is
    # one indexed prefix match, whatever its depth.
    path: Mapped[str] = mapped_column(String(1000), nullable=False)
    depth: Mapped[int] = mapped_column(Integer, nullable=False)
    code: Mapped[str] = mapped_column(String(40), nullable=False, unique=True)
    name: Mapped[str] = mapped_column(String(200), nullable=False)
    description: Mapped[str | None] = mapped_column(Text)
    # Projects only: the sealing/handover date (封盘交接). Before it the project department
    # owns the project's customer relations, from it on customer affairs does.
    handover_date: Mapped[date | None] = mapped_column(Date)

    __table_args__ = (
        Index("ix_org_nodes_path", "path", postgresql_ops={"path": "text_pattern_ops"}),
        Index("ix_org_nodes_parent_id", "parent_id"),
    )


class Unit(IdMixin, TimestampMixin, VersionMixin, TenantBase):
    """A home or shop in a building. Units are many (tens of thousands per group), so they
    are rows of their own rather than org nodes; their place in the tree is the building."""

    __tablename__ = "units"

    building_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("org_nodes.id", ondelete="RESTRICT"), nullable=False
    )
    # The building's project, kept beside it so that lists and responsibility need no join.
    project_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("org_nodes.id", ondelete="RESTRICT"), nullable=False, index=True
    )
    number: Mapped[str] = mapped_column(String(20), nullable=False)
    floor: Mapped[int] = mapped_column(Integer, nullable=False)
    layout: Mapped[str | None] = mapped_column(String(40))
    area: Mapped[Decimal | None] = mapped_column(Numeric(10, 2))  # m², never a float
    status: Mapped[UnitStatus] = mapped_column(str_enum(UnitStatus), nullable=False,
                                               default=UnitStatus.unsold)

    __table_args__ = (
        UniqueConstraint("building_id", "number"),
        Index("ix_units_building_id", "building_id"),
    )

