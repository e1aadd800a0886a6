"""In-sale orders (seed 001 §3.2) and call evaluations (seed 000 §12).

- ``sale_orders``: a customer's order received by sales (§3.2.2 (1)), due for confirmation by
  the order-processing centre within the group's working time (§3.2.1 (1): 2 working hours),
  confirmed with the departments concerned told (§3.2.2 (2)-(5)), delivered and inspected,
  with the customer's in-sale feedback (§3.2.3);
- ``sale_order_updates``: the progress milestones posted on a long process and sent to the
  customer (§3.2.1 (2));
- ``call_evaluations``: a logged call scored against the scorecard as it stood (000 §12 ⑥).
"""

from __future__ import annotations

import enum
import uuid
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Boolean, DateTime, ForeignKey, Index, Integer, Numeric, String, Text
from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlalchemy.orm import Mapped, mapped_column

from app.core.models import IdMixin, TenantBase, TimestampMixin, VersionMixin, str_enum
from app.domains.customers.references import register_customer_reference


class OrderKind(str, enum.Enum):
    unit = "unit"  # a home or shop subscribed (认购)
    parking = "parking"  # a parking space
    fit_out = "fit_out"  # a fit-out or furnishing package
    service = "service"  # any other service the group sells
    other = "other"


class OrderStatus(str, enum.Enum):
    received = "received"  # waiting for confirmation (§3.2.1 (1))
    confirmed = "confirmed"  # a formal order, the departments told (§3.2.2 (2))
    in_progress = "in_progress"  # progress posted to the customer (§3.2.1 (2))
    delivered = "delivered"  # delivered and inspected (§3.2.3 (1), (2))
    cancelled = "cancelled"


class Inspection(str, enum.Enum):
    accepted = "accepted"  # received intact / the service meets expectations
    defects = "defects"  # received with defects, or the service falls short: coordination follows (§3.2.1 (3))


class SaleOrder(IdMixin, TimestampMixin, VersionMixin, TenantBase):
    __tablename__ = "sale_orders"

    number: Mapped[str] = mapped_column(String(30), nullable=False, unique=True)  # DD-2026-000001
    customer_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("customers.id", ondelete="RESTRICT"), nullable=False)
    # The unit's project when a unit is ordered, else the customer's node.
    node_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), ForeignKey("org_nodes.id", ondelete="RESTRICT"),
                                               nullable=False)
    unit_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True),
                                                      ForeignKey("units.id", ondelete="RESTRICT"))
    kind: Mapped[OrderKind] = mapped_column(str_enum(OrderKind), nullable=False)
    item: Mapped[str] = mapped_column(String(300), nullable=False)  # what is ordered
    amount: Mapped[Decimal | None] = mapped_column(Numeric(14, 2))
    channel: Mapped[str] = mapped_column(String(40), nullable=False)  # where it came in
    status: Mapped[OrderStatus] = mapped_column(str_enum(OrderStatus), nullable=False)
    # The customer's choice at ordering: progress updates sent (True) or only recorded.
    progress_updates: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)
    received_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    received_by: Mapped[str] = mapped_column(String(200), nullable=False)
    confirm_minutes: Mapped[int] = mapped_column(Integer, nullable=False)  # working minutes, as set at receipt
    confirm_due_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    overdue_notified_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    confirmed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    confirmed_by: Mapped[str | None] = mapped_column(String(200))
    confirm_note: Mapped[str | None] = mapped_column(String(1000))
    # [{"code", "name", "role", "told": n}]: the departments told on confirmation.
    departments: Mapped[list[dict[str, Any]]] = mapped_column(JSONB, nullable=False, default=list)
    expected_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))  # promised delivery
    delivered_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    delivery_confirmed_by: Mapped[str | None] = mapped_column(String(200))
    inspection: Mapped[Inspection | None] = mapped_column(str_enum(Inspection))
    inspection_notes: Mapped[str | None] = mapped_column(String(2000))
    feedback_rating: Mapped[int | None] = mapped_column(Integer)  # 1-5
    feedback_comment: Mapped[str | None] = mapped_column(String(2000))
    feedback_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    cancel_reason: Mapped[str | None] = mapped_column(String(500))

    __table_args__ = (Index("ix_sale_orders_customer_id", "customer_id"),
                      Index("ix_sale_orders_node_id", "node_id"),
                      Index("ix_sale_orders_status_confirm_due_at", "status", "confirm_due_at"))


class SaleOrderUpdate(IdMixin, TenantBase):
    """A progress milestone of an order, as told to the customer (or only recorded)."""

    __tablename__ = "sale_order_updates"

    order_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), ForeignKey("sale_orders.id", ondelete="RESTRICT"),
                                                nullable=False, index=True)
    milestone: Mapped[str] = mapped_column(String(200), nullable=False)
    note: Mapped[str | None] = mapped_column(String(2000))
    expected_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))  # the next step, as promised
    posted_by: Mapped[str] = mapped_column(String(200), nullable=False)
    posted_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    # The outbox channel it went by; "declined" (the customer asked for none) or "unreachable".
    sent_via: Mapped[str] = mapped_column(String(20), nullable=False)
    outbox_message_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))


class CallEvaluation(IdMixin, TimestampMixin, VersionMixin, TenantBase):
    """One call scored by quality assurance; its criteria are the scorecard's when scored."""

    __tablename__ = "call_evaluations"

    call_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), ForeignKey("calls.id", ondelete="RESTRICT"),
                                               nullable=False, unique=True)
    node_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), ForeignKey("org_nodes.id", ondelete="RESTRICT"),
                                               nullable=False, index=True)  # the call's
    agent_id: Mapped[str] = mapped_column(String(200), nullable=False, index=True)  # who took the call
    call_started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    evaluator_id: Mapped[str] = mapped_column(String(200), nullable=False)
    # [{"code", "name", "weight", "rating" (0-5), "source"}]
    scores: Mapped[list[dict[str, Any]]] = mapped_column(JSONB, nullable=False)
    total: Mapped[Decimal] = mapped_column(Numeric(5, 2), nullable=False)  # 0-100
    comment: Mapped[str | None] = mapped_column(Text)


register_customer_reference(SaleOrder, "customer_id")
