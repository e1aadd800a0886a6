"""Care campaigns (客户关怀): the group's rules (birthday greetings, holiday greetings, handover
anniversaries) and every care message sent, one per rule, customer and occasion."""

from __future__ import annotations

import enum
import uuid
from datetime import datetime, time

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    Time,
    UniqueConstraint,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlalchemy.orm import Mapped, mapped_column

from app.core.models import IdMixin, TenantBase, TimestampMixin, VersionMixin, str_enum
from app.domains.customers.references import register_customer_reference


class Occasion(str, enum.Enum):
    birthday = "birthday"  # a club member's birthday (their membership's birth date)
    holiday = "holiday"  # a date of the year (春节 is set per year: a rule per year's date)
    anniversary = "anniversary"  # the anniversary of the handover of the owner's project


class CareRule(IdMixin, TimestampMixin, VersionMixin, TenantBase):
    """A campaign the daily scan runs: to whom, on which day, through which channels, what it says."""

    __tablename__ = "care_rules"

    name: Mapped[str] = mapped_column(String(100), nullable=False, unique=True)
    occasion: Mapped[Occasion] = mapped_column(str_enum(Occasion), nullable=False)
    month: Mapped[int | None] = mapped_column(Integer)  # a holiday's date
    day: Mapped[int | None] = mapped_column(Integer)
    # In order of preference: "app" (in-app, to the owner's account), "push" (app push to it),
    # "sms" (the customer's phone), "email".
    channels: Mapped[list[str]] = mapped_column(JSONB, nullable=False)
    subject: Mapped[str] = mapped_column(String(200), nullable=False)
    body: Mapped[str] = mapped_column(Text, nullable=False)  # {name} is the customer's name
    active: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)
    created_by: Mapped[str] = mapped_column(String(200), nullable=False)

    __table_args__ = (
        CheckConstraint("(occasion = 'holiday') = (month IS NOT NULL AND day IS NOT NULL)", name="holiday_date"),
    )


class CareMessage(IdMixin, TenantBase):
    """One care message written to the outbox: never twice for a rule, a customer and an
    occasion (``birthday:2026``, ``holiday:2026-10-01``, ``anniversary:2026``)."""

    __tablename__ = "care_messages"

    rule_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("care_rules.id", ondelete="RESTRICT"), nullable=False)
    customer_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("customers.id", ondelete="RESTRICT"), nullable=False)
    occasion: Mapped[str] = mapped_column(String(40), nullable=False)
    channel: Mapped[str] = mapped_column(String(20), nullable=False)
    # The customer's earlier channels passed over, and why: [{"channel": "wechat", "reason": …}].
    skipped: Mapped[list[dict[str, str]]] = mapped_column(JSONB, nullable=False, default=list,
                                                          server_default=text("'[]'::jsonb"))
    outbox_message_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), nullable=False)
    sent_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)

    __table_args__ = (
        UniqueConstraint("rule_id", "customer_id", "occasion"),
        Index("ix_care_messages_customer_id", "customer_id"),
    )


register_customer_reference(CareMessage, "customer_id")


class CarePreference(IdMixin, TimestampMixin, VersionMixin, TenantBase):
    """How a customer wants to hear from the group's care campaigns: their channels in order of
    preference (only these, among a rule's). Not unique per customer: after a merge the
    survivor may hold two, and the latest changed one counts."""

    __tablename__ = "care_preferences"

    customer_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("customers.id", ondelete="CASCADE"), nullable=False)
    channels: Mapped[list[str]] = mapped_column(JSONB, nullable=False)
    # The owner's own quiet hours (the group's time zone), on top of the group's; none: the group's only.
    quiet_start: Mapped[time | None] = mapped_column(Time)
    quiet_end: Mapped[time | None] = mapped_column(Time)
    updated_by: Mapped[str] = mapped_column(String(200), nullable=False)

    __table_args__ = (Index("ix_care_preferences_customer_id", "customer_id"),
                      CheckConstraint("(quiet_start IS NULL) = (quiet_end IS NULL)", name="quiet_both"))


register_customer_reference(CarePreference, "customer_id")


class WechatBinding(IdMixin, TimestampMixin, VersionMixin, TenantBase):
    """An owner's WeChat openid for the group's official account, bound from the owner's app:
    where the owner agreed to receive template messages. One per owner account, and an openid
    belongs to one owner of the tenant (its blind index is unique). Unbinding deletes the row."""

    __tablename__ = "care_wechat_bindings"

    account_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), nullable=False, unique=True)
    openid_sealed: Mapped[bytes] = mapped_column(LargeBinary, nullable=False)
    openid_index: Mapped[str] = mapped_column(String(64), nullable=False, unique=True)
    bound_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
