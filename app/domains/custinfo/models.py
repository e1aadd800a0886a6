"""Customer information management: the quarterly review of the customer base (seed 001
§2.2), customer development from screening to periodic reports (seed 000 §17), and the
departments' information needs served by customer affairs (seed 004 §4.8).
"""

from __future__ import annotations

import enum
import uuid
from datetime import date, datetime

from sqlalchemy import Boolean, Date, DateTime, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlalchemy.orm import Mapped, mapped_column

from app.core.models import IdMixin, TenantBase, TimestampMixin, VersionMixin, str_enum


def _node() -> Mapped[uuid.UUID]:
    return mapped_column(UUID(as_uuid=True), ForeignKey("org_nodes.id", ondelete="RESTRICT"), nullable=False)


def _customer(nullable: bool = False) -> Mapped[uuid.UUID]:
    return mapped_column(UUID(as_uuid=True), ForeignKey("customers.id", ondelete="RESTRICT"), nullable=nullable)


# ----------------------------------------------------------------------- quarterly review


class ReviewStatus(str, enum.Enum):
    open = "open"
    closed = "closed"


class ReviewDue(str, enum.Enum):
    expired = "expired"  # past its validUntil when the review opened
    due = "due"  # its validUntil falls within the quarter


class ReviewOutcome(str, enum.Enum):
    pending = "pending"
    confirmed = "confirmed"  # checked: still right, renewed with a new validUntil
    updated = "updated"  # corrected (through the customer's own routes), renewed with a new validUntil
    retired = "retired"  # no longer a live customer: made inactive


class CustomerReview(IdMixin, TimestampMixin, VersionMixin, TenantBase):
    """One quarter's full review of the customer records at a node and below (每季度全面盘点)."""

    __tablename__ = "customer_reviews"

    number: Mapped[str] = mapped_column(String(30), nullable=False, unique=True)  # PD-2026-000001
    node_id: Mapped[uuid.UUID] = _node()
    year: Mapped[int] = mapped_column(Integer, nullable=False)
    quarter: Mapped[int] = mapped_column(Integer, nullable=False)
    starts_on: Mapped[date] = mapped_column(Date, nullable=False)
    ends_on: Mapped[date] = mapped_column(Date, nullable=False)
    status: Mapped[ReviewStatus] = mapped_column(str_enum(ReviewStatus), nullable=False)
    opened_by: Mapped[str] = mapped_column(String(200), nullable=False)
    closed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    closed_by: Mapped[str | None] = mapped_column(String(200))

    __table_args__ = (UniqueConstraint("node_id", "year", "quarter"),)


class CustomerReviewItem(IdMixin, TimestampMixin, VersionMixin, TenantBase):
    """A customer record listed by a review, and how it was worked."""

    __tablename__ = "customer_review_items"

    review_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("customer_reviews.id", ondelete="CASCADE"), nullable=False)
    customer_id: Mapped[uuid.UUID] = _customer()
    node_id: Mapped[uuid.UUID] = _node()  # the customer's, when listed: who may work it
    valid_until: Mapped[date] = mapped_column(Date, nullable=False)  # as listed
    due: Mapped[ReviewDue] = mapped_column(str_enum(ReviewDue), nullable=False)
    outcome: Mapped[ReviewOutcome] = mapped_column(str_enum(ReviewOutcome), nullable=False)
    new_valid_until: Mapped[date | None] = mapped_column(Date)
    note: Mapped[str | None] = mapped_column(String(1000))
    worked_by: Mapped[str | None] = mapped_column(String(200))
    worked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    __table_args__ = (
        UniqueConstraint("review_id", "customer_id"),
        Index("ix_customer_review_items_customer_id", "customer_id"),
        Index("ix_customer_review_items_node_id", "node_id"),
    )


# ------------------------------------------------------------------- customer development


class DevelopmentStage(str, enum.Enum):
    submitted = "submitted"  # under review: its approval request's status is shown
    closed = "closed"


class DevelopmentResult(str, enum.Enum):
    won = "won"  # the prospect became a customer of ours
    dropped = "dropped"


class ProspectScreening(IdMixin, TimestampMixin, VersionMixin, TenantBase):
    """② ③ Prospects surveyed and screened against the new-customer scope: a shortlist, each
    entry qualified or not, with its reason."""

    __tablename__ = "prospect_screenings"

    number: Mapped[str] = mapped_column(String(30), nullable=False, unique=True)  # SX-2026-000001
    node_id: Mapped[uuid.UUID] = _node()
    title: Mapped[str] = mapped_column(String(200), nullable=False)
    scope: Mapped[str] = mapped_column(String(1000), nullable=False)  # 确定新客户范围
    screened_by: Mapped[str] = mapped_column(String(200), nullable=False)


class ScreeningEntry(IdMixin, TenantBase):
    __tablename__ = "prospect_screening_entries"

    screening_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("prospect_screenings.id", ondelete="CASCADE"), nullable=False)
    position: Mapped[int] = mapped_column(Integer, nullable=False)
    customer_id: Mapped[uuid.UUID] = _customer()
    qualified: Mapped[bool] = mapped_column(Boolean, nullable=False)
    reason: Mapped[str] = mapped_column(String(1000), nullable=False)

    __table_args__ = (UniqueConstraint("screening_id", "customer_id"),
                      Index("ix_prospect_screening_entries_customer_id", "customer_id"))


class Development(IdMixin, TimestampMixin, VersionMixin, TenantBase):
    """④ A development application for a qualified prospect, decided by the
    ``customer_development`` chain; ⑤ ⑥ once approved, carried out and reported periodically."""

    __tablename__ = "customer_developments"

    number: Mapped[str] = mapped_column(String(30), nullable=False, unique=True)  # KF-2026-000001
    node_id: Mapped[uuid.UUID] = _node()
    customer_id: Mapped[uuid.UUID] = _customer()
    screening_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("prospect_screenings.id", ondelete="RESTRICT"), nullable=False)
    applicant_id: Mapped[str] = mapped_column(String(200), nullable=False)
    plan: Mapped[str] = mapped_column(String(2000), nullable=False)
    report_every_days: Mapped[int] = mapped_column(Integer, nullable=False)
    stage: Mapped[DevelopmentStage] = mapped_column(str_enum(DevelopmentStage), nullable=False)
    approval_request_id: Mapped[uuid.UUID | None] = mapped_column(
        UUID(as_uuid=True), ForeignKey("approval_requests.id", ondelete="RESTRICT"))
    next_report_on: Mapped[date | None] = mapped_column(Date)
    result: Mapped[DevelopmentResult | None] = mapped_column(str_enum(DevelopmentResult))
    closing_note: Mapped[str | None] = mapped_column(String(1000))
    closed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    __table_args__ = (Index("ix_customer_developments_node_id", "node_id"),
                      Index("ix_customer_developments_customer_id", "customer_id"))


class DevelopmentReport(IdMixin, TimestampMixin, VersionMixin, TenantBase):
    """⑥ 定期汇报: what was done in the period, the prospect's response, the next steps."""

    __tablename__ = "customer_development_reports"

    development_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("customer_developments.id", ondelete="CASCADE"), nullable=False)
    period_start: Mapped[date] = mapped_column(Date, nullable=False)
    period_end: Mapped[date] = mapped_column(Date, nullable=False)
    progress: Mapped[str] = mapped_column(String(2000), nullable=False)
    next_steps: Mapped[str | None] = mapped_column(String(1000))
    reported_by: Mapped[str] = mapped_column(String(200), nullable=False)

    __table_args__ = (Index("ix_customer_development_reports_development_id", "development_id"),)


# -------------------------------------------------------------------- information needs


class InfoTopic(str, enum.Enum):
    """004 §4.8.2's kinds of information, "not limited to" them."""

    basic = "basic"  # 客户基本情况
    housing = "housing"  # 对住房的意见
    community = "community"  # 对小区的反映
    potential_needs = "potential_needs"  # 客户潜在需求
    other = "other"


class InfoItemStatus(str, enum.Enum):
    collected = "collected"  # sent to customer affairs, waiting for its review
    accepted = "accepted"  # reviewed: meets the requirements
    rejected = "rejected"  # reviewed: does not (hearsay, duplicate, unlawful source)
    classified = "classified"  # filed in the customer information base under a topic


class InfoChannel(str, enum.Enum):
    visit = "visit"
    call = "call"
    survey = "survey"
    complaint = "complaint"
    event = "event"
    other = "other"


class InformationNeed(IdMixin, TimestampMixin, VersionMixin, TenantBase):
    """4.8.2 A department's stated need for customer information."""

    __tablename__ = "information_needs"

    number: Mapped[str] = mapped_column(String(30), nullable=False, unique=True)  # XQ-2026-000001
    node_id: Mapped[uuid.UUID] = _node()
    department: Mapped[str] = mapped_column(String(100), nullable=False)
    topic: Mapped[InfoTopic] = mapped_column(str_enum(InfoTopic), nullable=False)
    description: Mapped[str] = mapped_column(String(2000), nullable=False)
    stated_by: Mapped[str] = mapped_column(String(200), nullable=False)
    active: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)

    __table_args__ = (Index("ix_information_needs_node_id", "node_id"),)


class InformationItem(IdMixin, TimestampMixin, VersionMixin, TenantBase):
    """4.8.3-4 A piece of customer information collected (from a customer's feedback), reviewed
    at customer affairs and classified into the information base."""

    __tablename__ = "information_items"

    number: Mapped[str] = mapped_column(String(30), nullable=False, unique=True)  # XX-2026-000001
    node_id: Mapped[uuid.UUID] = _node()
    customer_id: Mapped[uuid.UUID | None] = _customer(nullable=True)
    topic: Mapped[InfoTopic] = mapped_column(str_enum(InfoTopic), nullable=False)
    channel: Mapped[InfoChannel] = mapped_column(str_enum(InfoChannel), nullable=False)
    content: Mapped[str] = mapped_column(String(2000), nullable=False)
    collected_by: Mapped[str] = mapped_column(String(200), nullable=False)
    status: Mapped[InfoItemStatus] = mapped_column(str_enum(InfoItemStatus), nullable=False)
    review_note: Mapped[str | None] = mapped_column(String(1000))
    reviewed_by: Mapped[str | None] = mapped_column(String(200))
    reviewed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    tags: Mapped[list[str]] = mapped_column(JSONB, nullable=False, default=list)
    classified_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    __table_args__ = (Index("ix_information_items_node_id", "node_id"),
                      Index("ix_information_items_customer_id", "customer_id"))


class InformationProvision(IdMixin, TimestampMixin, VersionMixin, TenantBase):
    """4.8.5 Classified items handed to the department whose need asked for them."""

    __tablename__ = "information_provisions"

    need_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("information_needs.id", ondelete="CASCADE"), nullable=False)
    node_id: Mapped[uuid.UUID] = _node()  # the need's: the department that asked reads it
    item_ids: Mapped[list[str]] = mapped_column(JSONB, nullable=False)
    note: Mapped[str | None] = mapped_column(String(1000))
    provided_by: Mapped[str] = mapped_column(String(200), nullable=False)

    __table_args__ = (Index("ix_information_provisions_need_id", "need_id"),)
