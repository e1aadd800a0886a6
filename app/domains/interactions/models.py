"""The interactions domain's tables: visits, receptions and hospitality with their guests, gift
plans and gift applications, inbound and outbound calls.

Every record sits at an org node (``node_id``): a visit and a call at their customer's node
when recorded (a call from an unknown caller at the node the agent names), a reception, a
gift plan and a gift application at the project or branch that holds them. Money is
``Numeric(14, 2)`` yuan, never a float.
"""

from __future__ import annotations

import enum
import uuid
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    Numeric,
    String,
    Text,
)
from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlalchemy.orm import Mapped, mapped_column

from app.core.models import IdMixin, TenantBase, TimestampMixin, VersionMixin, str_enum
from app.core.personal import kept_plain
from app.domains.customers.references import register_behaviour_data, register_customer_reference


def _money(nullable: bool = False) -> Mapped[Any]:
    return mapped_column(Numeric(14, 2), nullable=nullable)


def _node() -> Mapped[uuid.UUID]:
    return mapped_column(UUID(as_uuid=True), ForeignKey("org_nodes.id", ondelete="RESTRICT"), nullable=False)


def _customer(nullable: bool) -> Mapped[Any]:
    return mapped_column(UUID(as_uuid=True), ForeignKey("customers.id", ondelete="RESTRICT"), nullable=nullable)


def _approval() -> Mapped[uuid.UUID | None]:
    return mapped_column(UUID(as_uuid=True), ForeignKey("approval_requests.id", ondelete="RESTRICT"))


# ------------------------------------------------------------------------------- visits


class VisitStatus(str, enum.Enum):
    planned = "planned"
    # Its application (seed 000 §22 ② 拜访申请) is with the approval engine: the status shown
    # is its request's (pending, approved, rejected, withdrawn).
    submitted = "submitted"
    visited = "visited"  # it took place: needs, objections, gifts, next appointment recorded
    reported = "reported"  # the visit report and its expenses are in
    cancelled = "cancelled"


class Visit(IdMixin, TimestampMixin, VersionMixin, TenantBase):
    """A visit to a customer: planned, made, reported (DOMAIN.md, visits)."""

    __tablename__ = "visits"

    number: Mapped[str] = mapped_column(String(30), nullable=False, unique=True)  # BF-2026-000001 (拜访)
    customer_id: Mapped[uuid.UUID] = _customer(nullable=False)
    node_id: Mapped[uuid.UUID] = _node()
    owner_id: Mapped[str] = mapped_column(String(200), nullable=False)  # the visiting employee (token subject)
    purpose: Mapped[str] = mapped_column(String(500), nullable=False)
    planned_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    location: Mapped[str | None] = mapped_column(String(300))
    status: Mapped[VisitStatus] = mapped_column(str_enum(VisitStatus), nullable=False)
    # The visit this one follows up (made from that visit's next appointment).
    follow_up_of_id: Mapped[uuid.UUID | None] = mapped_column(
        UUID(as_uuid=True), ForeignKey("visits.id", ondelete="RESTRICT"))
    visited_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # Behaviour data (what the customer wants and objects to): only with their behaviour consent.
    needs: Mapped[list[str]] = mapped_column(JSONB, nullable=False, default=list)
    objections: Mapped[list[str]] = mapped_column(JSONB, nullable=False, default=list)
    # What was handed over: [{"item", "quantity", "unitValue"}] (unitValue a decimal string).
    gifts: Mapped[list[dict[str, Any]]] = mapped_column(JSONB, nullable=False, default=list)
    next_appointment_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    notes: Mapped[str | None] = mapped_column(Text)
    report: Mapped[str | None] = mapped_column(Text)
    reported_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    expense_meals: Mapped[Decimal | None] = _money(nullable=True)
    expense_transport: Mapped[Decimal | None] = _money(nullable=True)
    expense_gifts: Mapped[Decimal | None] = _money(nullable=True)
    expense_other: Mapped[Decimal | None] = _money(nullable=True)
    cancel_reason: Mapped[str | None] = mapped_column(String(2000))
    # The visit application's current approval request (seed 000 §22 ②; a withdrawn one is
    # replaced on resubmission); finance's reimbursement of the reported expenses (§22 ⑩).
    approval_request_id: Mapped[uuid.UUID | None] = _approval()
    reimbursed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    reimbursed_by: Mapped[str | None] = mapped_column(String(200))
    reimbursed_amount: Mapped[Decimal | None] = _money(nullable=True)

    __table_args__ = (
        Index("ix_visits_node_id", "node_id"),
        Index("ix_visits_approval_request_id", "approval_request_id"),
        Index("ix_visits_customer_id", "customer_id"),
        Index("ix_visits_owner_id_status", "owner_id", "status"),
        Index("ix_visits_planned_at", "planned_at"),
        Index("ix_visits_follow_up_of_id", "follow_up_of_id"),
    )


# --------------------------------------------------------------------------- receptions


class ReceptionKind(str, enum.Enum):
    reception = "reception"  # 接待: receiving customers (sales office, site, headquarters)
    hospitality = "hospitality"  # 招待: meals and entertainment


class ReceptionStage(str, enum.Enum):
    """Where the reception is in its own life; while ``submitted`` the approval request
    says whether it is pending, approved, rejected or withdrawn."""

    draft = "draft"
    submitted = "submitted"
    reported = "reported"
    cancelled = "cancelled"


class Reception(IdMixin, TimestampMixin, VersionMixin, TenantBase):
    """A reception or hospitality: its application (approved through the engine) and the
    report afterwards."""

    __tablename__ = "receptions"

    number: Mapped[str] = mapped_column(String(30), nullable=False, unique=True)  # JD-2026-000001 (接待)
    kind: Mapped[ReceptionKind] = mapped_column(str_enum(ReceptionKind), nullable=False)
    node_id: Mapped[uuid.UUID] = _node()
    applicant_id: Mapped[str] = mapped_column(String(200), nullable=False)
    title: Mapped[str] = mapped_column(String(200), nullable=False)
    purpose: Mapped[str] = mapped_column(String(1000), nullable=False)
    venue: Mapped[str] = mapped_column(String(300), nullable=False)
    scheduled_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    budget_meals: Mapped[Decimal] = _money()
    budget_transport: Mapped[Decimal] = _money()
    budget_gifts: Mapped[Decimal] = _money()
    budget_other: Mapped[Decimal] = _money()
    # Seed 000 §17 (客户招待申请表: 会议, 用餐, 交通, 礼品, 其他) and §18 (报告: 住宿).
    budget_meeting: Mapped[Decimal] = mapped_column(Numeric(14, 2), nullable=False, server_default="0")
    budget_lodging: Mapped[Decimal] = mapped_column(Numeric(14, 2), nullable=False, server_default="0")
    stage: Mapped[ReceptionStage] = mapped_column(str_enum(ReceptionStage), nullable=False)
    # The application's current approval request (a withdrawn one is replaced on resubmission).
    approval_request_id: Mapped[uuid.UUID | None] = _approval()
    held_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    attendee_count: Mapped[int | None] = mapped_column(Integer)
    actual_meals: Mapped[Decimal | None] = _money(nullable=True)
    actual_transport: Mapped[Decimal | None] = _money(nullable=True)
    actual_gifts: Mapped[Decimal | None] = _money(nullable=True)
    actual_other: Mapped[Decimal | None] = _money(nullable=True)
    actual_meeting: Mapped[Decimal | None] = _money(nullable=True)
    actual_lodging: Mapped[Decimal | None] = _money(nullable=True)
    summary: Mapped[str | None] = mapped_column(Text)
    reported_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    cancel_reason: Mapped[str | None] = mapped_column(String(2000))
    # The report (seed 000 §18): the company's attendees (本公司同席人员, staff accounts); the
    # customer's are guests listed as attending. Reviewed by the reception_report chain.
    staff_attendees: Mapped[list[str]] = mapped_column(JSONB, nullable=False, default=list, server_default="[]")
    report_request_id: Mapped[uuid.UUID | None] = _approval()
    # Finance's reimbursement after the report's review (seed 000 §23 ⑨ 费用报销): not an approval.
    reimbursed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    reimbursed_by: Mapped[str | None] = mapped_column(String(200))
    reimbursed_amount: Mapped[Decimal | None] = _money(nullable=True)

    __table_args__ = (
        Index("ix_receptions_node_id", "node_id"),
        Index("ix_receptions_scheduled_at", "scheduled_at"),
        Index("ix_receptions_approval_request_id", "approval_request_id"),
        Index("ix_receptions_report_request_id", "report_request_id"),
    )


class GuestRole(str, enum.Enum):
    customer = "customer"
    guest = "guest"  # a partner, an official, a customer's companion
    staff = "staff"


class ReceptionGuest(IdMixin, TenantBase):
    """Who attends a reception, in the order of the guest list."""

    __tablename__ = "reception_guests"

    reception_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("receptions.id", ondelete="CASCADE"), nullable=False)
    position: Mapped[int] = mapped_column(Integer, nullable=False)
    name: Mapped[str] = mapped_column(String(100), nullable=False)
    organisation: Mapped[str | None] = mapped_column(String(200))
    role: Mapped[GuestRole] = mapped_column(str_enum(GuestRole), nullable=False)
    customer_id: Mapped[uuid.UUID | None] = _customer(nullable=True)
    # Listed by the report as having attended (客户同席人员名单, seed 000 §18), not invited.
    attended: Mapped[bool] = mapped_column(Boolean, nullable=False, server_default="false", default=False)

    __table_args__ = (
        Index("ix_reception_guests_reception_id", "reception_id"),
        Index("ix_reception_guests_customer_id", "customer_id"),
    )


# -------------------------------------------------------------------------------- gifts


class GiftPlanStatus(str, enum.Enum):
    active = "active"
    closed = "closed"


class GiftPlan(IdMixin, TimestampMixin, VersionMixin, TenantBase):
    """A planned gift programme (an occasion, its items, its budget) that applications draw on."""

    __tablename__ = "gift_plans"

    node_id: Mapped[uuid.UUID] = _node()
    title: Mapped[str] = mapped_column(String(200), nullable=False)
    occasion: Mapped[str] = mapped_column(String(200), nullable=False)
    # [{"item", "quantity", "unitValue"}]; unitValue a decimal string.
    items: Mapped[list[dict[str, Any]]] = mapped_column(JSONB, nullable=False, default=list)
    # The plan per customer (seed 000 §19): [{"customerId", "customerNumber", "industry", "contact",
    # "cooperation", "purpose", "items", "budget", "note"}].
    customer_lines: Mapped[list[dict[str, Any]]] = mapped_column(
        JSONB, nullable=False, default=list, server_default="[]",
        info=kept_plain("the person in charge at a customer company, named on the gift plan form (seed 000 §19) "
                        "for the gift administrator to address the gifts; a business contact, not a private file"))
    budget: Mapped[Decimal] = _money()  # the items' and the customers' lines' total
    status: Mapped[GiftPlanStatus] = mapped_column(str_enum(GiftPlanStatus), nullable=False)

    __table_args__ = (Index("ix_gift_plans_node_id", "node_id"),)


class GiftApplicationStage(str, enum.Enum):
    """While ``submitted`` the approval request says whether it is pending, approved, ..."""

    submitted = "submitted"
    issued = "issued"  # approved and handed over
    cancelled = "cancelled"


class GiftApplication(IdMixin, TimestampMixin, VersionMixin, TenantBase):
    __tablename__ = "gift_applications"

    number: Mapped[str] = mapped_column(String(30), nullable=False, unique=True)  # LP-2026-000001 (礼品)
    node_id: Mapped[uuid.UUID] = _node()
    applicant_id: Mapped[str] = mapped_column(String(200), nullable=False)
    plan_id: Mapped[uuid.UUID | None] = mapped_column(
        UUID(as_uuid=True), ForeignKey("gift_plans.id", ondelete="RESTRICT"))
    customer_id: Mapped[uuid.UUID | None] = _customer(nullable=True)  # the recipient, when a customer
    visit_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True), ForeignKey("visits.id", ondelete="RESTRICT"))
    recipient: Mapped[str] = mapped_column(String(200), nullable=False)
    purpose: Mapped[str] = mapped_column(String(1000), nullable=False)
    items: Mapped[list[dict[str, Any]]] = mapped_column(JSONB, nullable=False, default=list)
    total: Mapped[Decimal] = _money()
    stage: Mapped[GiftApplicationStage] = mapped_column(str_enum(GiftApplicationStage), nullable=False)
    approval_request_id: Mapped[uuid.UUID | None] = _approval()
    issued_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    cancel_reason: Mapped[str | None] = mapped_column(String(2000))

    __table_args__ = (
        Index("ix_gift_applications_node_id", "node_id"),
        Index("ix_gift_applications_plan_id", "plan_id"),
        Index("ix_gift_applications_customer_id", "customer_id"),
        Index("ix_gift_applications_visit_id", "visit_id"),
        Index("ix_gift_applications_approval_request_id", "approval_request_id"),
    )


# -------------------------------------------------------------------------------- calls


class CallDirection(str, enum.Enum):
    inbound = "inbound"
    outbound = "outbound"


class CallOutcome(str, enum.Enum):
    resolved = "resolved"  # the caller's question was answered
    interested = "interested"
    not_interested = "not_interested"
    callback = "callback"  # call again at an agreed time
    failed = "failed"  # no conversation: see failure_reason


class FailureReason(str, enum.Enum):
    no_answer = "no_answer"
    busy = "busy"
    wrong_number = "wrong_number"
    unreachable = "unreachable"  # switched off, out of service
    refused = "refused"  # hung up, asked not to be called
    other = "other"


class Call(IdMixin, TimestampMixin, VersionMixin, TenantBase):
    """An inbound or outbound call and its outcome (call centre)."""

    __tablename__ = "calls"

    direction: Mapped[CallDirection] = mapped_column(str_enum(CallDirection), nullable=False)
    customer_id: Mapped[uuid.UUID | None] = _customer(nullable=True)
    # An unknown caller: who they said they are.
    contact_note: Mapped[str | None] = mapped_column(String(500))
    # The number called or calling: sealed, with a blind index (same namespace as customers').
    phone_sealed: Mapped[bytes | None] = mapped_column(LargeBinary)
    phone_index: Mapped[str | None] = mapped_column(String(40))
    node_id: Mapped[uuid.UUID] = _node()
    agent_id: Mapped[str] = mapped_column(String(200), nullable=False)
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    duration_seconds: Mapped[int] = mapped_column(Integer, nullable=False)
    subject: Mapped[str] = mapped_column(String(200), nullable=False)
    notes: Mapped[str | None] = mapped_column(Text)
    outcome: Mapped[CallOutcome] = mapped_column(str_enum(CallOutcome), nullable=False)
    # Behaviour data (what interests them, what they object to): only with their consent.
    interests: Mapped[list[str]] = mapped_column(JSONB, nullable=False, default=list)
    objections: Mapped[list[str]] = mapped_column(JSONB, nullable=False, default=list)
    failure_reason: Mapped[FailureReason | None] = mapped_column(str_enum(FailureReason))
    callback_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # The inquiry the call became or was about.
    inquiry_id: Mapped[uuid.UUID | None] = mapped_column(
        UUID(as_uuid=True), ForeignKey("inquiries.id", ondelete="RESTRICT"))

    __table_args__ = (
        CheckConstraint("duration_seconds >= 0", name="duration_seconds_non_negative"),
        Index("ix_calls_node_id", "node_id"),
        Index("ix_calls_customer_id", "customer_id"),
        Index("ix_calls_started_at", "started_at"),
        Index("ix_calls_phone_index", "phone_index"),
        Index("ix_calls_inquiry_id", "inquiry_id"),
    )


register_customer_reference(Visit, "customer_id")
register_customer_reference(ReceptionGuest, "customer_id")
register_customer_reference(GiftApplication, "customer_id")
register_customer_reference(Call, "customer_id")
# Erased when the customer's last behaviour consent is withdrawn.
register_behaviour_data(Visit, "customer_id", {"needs": [], "objections": []})
register_behaviour_data(Call, "customer_id", {"interests": [], "objections": []})
