"""Inquiries under first-responder responsibility, and their transfer history."""

from __future__ import annotations

import enum
import uuid
from datetime import datetime

from sqlalchemy import DateTime, ForeignKey, Index, Integer, String, Text, func
from sqlalchemy.dialects.postgresql import UUID
from sqlalchemy.orm import Mapped, mapped_column

from app.core.models import IdMixin, TenantBase, TimestampMixin, VersionMixin, str_enum
from app.domains.customers.references import register_customer_reference
from app.domains.org.schemas import Department


class Channel(str, enum.Enum):
    hotline = "hotline"
    email = "email"
    online_chat = "online_chat"
    wechat = "wechat"
    weibo = "weibo"
    sales_office = "sales_office"
    app = "app"


class InquiryStatus(str, enum.Enum):
    open = "open"
    answered = "answered"
    closed = "closed"


class Inquiry(IdMixin, TimestampMixin, VersionMixin, TenantBase):
    __tablename__ = "inquiries"

    number: Mapped[str] = mapped_column(String(30), nullable=False, unique=True)  # ZX-2026-000001
    channel: Mapped[Channel] = mapped_column(str_enum(Channel), nullable=False)
    customer_id: Mapped[uuid.UUID | None] = mapped_column(
        UUID(as_uuid=True), ForeignKey("customers.id", ondelete="RESTRICT"))
    # An unknown caller has no customer record: who they are and how to reach them.
    contact_note: Mapped[str | None] = mapped_column(String(500))
    # The project the inquiry is about: the Authorizer's node and the handover date's source.
    node_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), ForeignKey("org_nodes.id", ondelete="RESTRICT"),
                                               nullable=False)
    subject: Mapped[str] = mapped_column(String(200), nullable=False)
    description: Mapped[str] = mapped_column(Text, nullable=False)
    # The token subject of the current owner (first responder, then whoever it was transferred to).
    owner_id: Mapped[str] = mapped_column(String(200), nullable=False)
    department: Mapped[Department] = mapped_column(str_enum(Department), nullable=False)
    promised_reply_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    status: Mapped[InquiryStatus] = mapped_column(str_enum(InquiryStatus), nullable=False)
    answer: Mapped[str | None] = mapped_column(Text)
    answered_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    transfer_count: Mapped[int] = mapped_column(Integer, nullable=False, default=0)

    __table_args__ = (
        Index("ix_inquiries_node_id", "node_id"),
        Index("ix_inquiries_customer_id", "customer_id"),
        Index("ix_inquiries_owner_id_status", "owner_id", "status"),
        Index("ix_inquiries_status_promised_reply_at", "status", "promised_reply_at"),
    )


class InquiryTransfer(IdMixin, TenantBase):
    """One hand-on of an inquiry: who passed it to whom, and what the next owner must do."""

    __tablename__ = "inquiry_transfers"

    inquiry_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("inquiries.id", ondelete="CASCADE"), nullable=False)
    from_owner: Mapped[str] = mapped_column(String(200), nullable=False)
    to_owner: Mapped[str] = mapped_column(String(200), nullable=False)
    need: Mapped[str] = mapped_column(String(1000), nullable=False)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now(), nullable=False)

    __table_args__ = (Index("ix_inquiry_transfers_inquiry_id", "inquiry_id"),)


register_customer_reference(Inquiry, "customer_id")
