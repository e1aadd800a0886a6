"""The register of confidential customer material (seed 000 §17, 信息保密管理流程).

- ``confidential_transfers``: ② 编号传递 — each handing-over of classified material, numbered
  (BM-2026-000001): what, of which customer, at which level, from whom to whom, when, and
  when it came back;
- ``confidentiality_breaches``: ③ 监督检查 found a leak → ④ 补救处理 (the remedial actions,
  each dated and signed) → ⑥ 处理报告 (the closing report, by whom).
"""

from __future__ import annotations

import enum
import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import DateTime, ForeignKey, Index, String
from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlalchemy.orm import Mapped, mapped_column

from app.core.models import IdMixin, TenantBase, TimestampMixin, VersionMixin, str_enum
from app.domains.customers.references import register_customer_reference


class BreachStatus(str, enum.Enum):
    open = "open"  # reported, nothing done yet
    remediating = "remediating"  # remedial actions under way (④)
    closed = "closed"  # the report is in (⑥)


class ConfidentialTransfer(IdMixin, TimestampMixin, VersionMixin, TenantBase):
    __tablename__ = "confidential_transfers"

    number: Mapped[str] = mapped_column(String(30), nullable=False, unique=True)
    customer_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("customers.id", ondelete="RESTRICT"), nullable=False)
    node_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), ForeignKey("org_nodes.id", ondelete="RESTRICT"),
                                               nullable=False)  # the customer's node when handed over
    material: Mapped[str] = mapped_column(String(500), nullable=False)  # what was handed over
    classification: Mapped[str] = mapped_column(String(40), nullable=False)  # its level
    sent_by: Mapped[str] = mapped_column(String(200), nullable=False)  # the actor who handed it over
    # A staff account of the group (accounts live in the shared schema: no foreign key).
    recipient_account_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), nullable=False)
    purpose: Mapped[str] = mapped_column(String(500), nullable=False)
    sent_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    returned_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    returned_to: Mapped[str | None] = mapped_column(String(200))  # the actor who took it back

    __table_args__ = (Index("ix_confidential_transfers_customer_id", "customer_id"),
                      Index("ix_confidential_transfers_node_id", "node_id"))


class ConfidentialityBreach(IdMixin, TimestampMixin, VersionMixin, TenantBase):
    __tablename__ = "confidentiality_breaches"

    number: Mapped[str] = mapped_column(String(30), nullable=False, unique=True)
    customer_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("customers.id", ondelete="RESTRICT"), nullable=False)
    node_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), ForeignKey("org_nodes.id", ondelete="RESTRICT"),
                                               nullable=False)
    transfer_id: Mapped[uuid.UUID | None] = mapped_column(
        UUID(as_uuid=True), ForeignKey("confidential_transfers.id", ondelete="RESTRICT"))
    status: Mapped[BreachStatus] = mapped_column(str_enum(BreachStatus), nullable=False)
    description: Mapped[str] = mapped_column(String(2000), nullable=False)  # what leaked, how it was found
    reported_by: Mapped[str] = mapped_column(String(200), nullable=False)
    # [{"action": ..., "by": actor, "at": iso}], in the order taken (④ 补救处理, ⑤ 组织执行)
    actions: Mapped[list[dict[str, Any]]] = mapped_column(JSONB, nullable=False, default=list)
    report: Mapped[str | None] = mapped_column(String(2000))  # ⑥ 处理报告
    closed_by: Mapped[str | None] = mapped_column(String(200))
    closed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    __table_args__ = (Index("ix_confidentiality_breaches_customer_id", "customer_id"),
                      Index("ix_confidentiality_breaches_node_id", "node_id"))


register_customer_reference(ConfidentialTransfer, "customer_id")
register_customer_reference(ConfidentialityBreach, "customer_id")
