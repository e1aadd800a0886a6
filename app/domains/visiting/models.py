"""The visit planning tables: an area at a branch or project with its routes, each an ordered
list of customers (stops); regional visit plans, an area's visits for a period."""

from __future__ import annotations

import enum
import uuid
from datetime import date, datetime

from sqlalchemy import Date, DateTime, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.dialects.postgresql import UUID
from sqlalchemy.orm import Mapped, mapped_column

from app.core.models import IdMixin, TenantBase, TimestampMixin, VersionMixin, str_enum
from app.domains.customers.references import register_customer_reference


class VisitArea(IdMixin, TimestampMixin, VersionMixin, TenantBase):
    """A region whose customers are visited along routes (§21 ①–③: customer details, the
    transport survey, the routes)."""

    __tablename__ = "visit_areas"

    node_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), ForeignKey("org_nodes.id", ondelete="RESTRICT"),
                                               nullable=False)
    name: Mapped[str] = mapped_column(String(200), nullable=False)
    # §21 ② 交通考察分析: how the area is travelled (roads, distances, transport).
    transport: Mapped[str | None] = mapped_column(Text)

    __table_args__ = (Index("ix_visit_areas_node_id", "node_id"),)


class VisitRoute(IdMixin, TenantBase):
    """A route of an area: its stops in visiting order, and its own visit frequency (§21 ④)
    when the area sets one; otherwise each stop's comes from the customer's grade."""

    __tablename__ = "visit_routes"

    area_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), ForeignKey("visit_areas.id", ondelete="CASCADE"),
                                               nullable=False)
    position: Mapped[int] = mapped_column(Integer, nullable=False)
    name: Mapped[str] = mapped_column(String(200), nullable=False)
    every_days: Mapped[int | None] = mapped_column(Integer)

    __table_args__ = (UniqueConstraint("area_id", "position", name="uq_visit_routes_area_id_position"),)


class VisitStop(IdMixin, TenantBase):
    __tablename__ = "visit_route_stops"

    route_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), ForeignKey("visit_routes.id", ondelete="CASCADE"),
                                                nullable=False)
    position: Mapped[int] = mapped_column(Integer, nullable=False)
    customer_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), ForeignKey("customers.id", ondelete="RESTRICT"),
                                                   nullable=False)

    __table_args__ = (
        UniqueConstraint("route_id", "position", name="uq_visit_route_stops_route_id_position"),
        Index("ix_visit_route_stops_customer_id", "customer_id"),
    )


class PlanStatus(str, enum.Enum):
    open = "open"
    closed = "closed"  # its summary written (§21 ⑦ 区域客户拜访总结)


class RegionalVisitPlan(IdMixin, TimestampMixin, VersionMixin, TenantBase):
    """§21 ⑤ 区域拜访计划: an area's visits over a period; what was due, planned and made is
    computed from the visits, and the plan is closed with its written summary (⑦)."""

    __tablename__ = "regional_visit_plans"

    area_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), ForeignKey("visit_areas.id", ondelete="RESTRICT"),
                                               nullable=False)
    node_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), ForeignKey("org_nodes.id", ondelete="RESTRICT"),
                                               nullable=False)  # the area's
    title: Mapped[str] = mapped_column(String(200), nullable=False)
    starts_on: Mapped[date] = mapped_column(Date, nullable=False)
    ends_on: Mapped[date] = mapped_column(Date, nullable=False)  # inclusive
    status: Mapped[PlanStatus] = mapped_column(str_enum(PlanStatus), nullable=False)
    summary: Mapped[str | None] = mapped_column(Text)
    closed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    closed_by: Mapped[str | None] = mapped_column(String(200))

    __table_args__ = (
        Index("ix_regional_visit_plans_node_id", "node_id"),
        Index("ix_regional_visit_plans_area_id", "area_id"),
    )


register_customer_reference(VisitStop, "customer_id")
