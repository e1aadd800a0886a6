"""The grading domain's tables: each customer's current grade (with its value tier and the
figures of the grade summary table), the history of grade changes, credit-limit change
applications (whose approved ones make the credit limit), and credit reviews (an abnormality
investigated, and on approval a lower grade that holds for a time).

The grading rules themselves are a tenant setting (``grading.rules``): versioned, audited,
the default applying until the group edits them.
"""

from __future__ import annotations

import enum
import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Boolean, Date, DateTime, ForeignKey, Index, Integer, Numeric, SmallInteger, String, Text
from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlalchemy.orm import Mapped, mapped_column

from app.core.models import IdMixin, TenantBase, TimestampMixin, VersionMixin, str_enum
from app.domains.customers.references import register_customer_reference


class Grade(str, enum.Enum):
    A = "A"  # VIP treatment
    B = "B"  # VIP-like service without the VIP policy
    C = "C"  # normal, with a monthly upgrade plan
    D = "D"  # watch (关注)
    E = "E"  # eliminate (淘汰)


class Tier(str, enum.Enum):
    """A customer's value tier (DOMAIN.md, tiering), from their grade; a customer without a
    deal yet is potential. Each tier has its treatment (``TREATMENTS``)."""

    high = "high"
    mid = "mid"
    low = "low"
    potential = "potential"


TREATMENTS = {
    Tier.high: "Dedicated account manager",
    Tier.mid: "Standard service with periodic return visits",
    Tier.low: "Standard service",
    Tier.potential: "Promotions (to customers who consented to marketing)",
}


# What each grade gets (seed 002): the customer's grade policy, read with the grade.
POLICIES = {
    Grade.A: "VIP policy",
    Grade.B: "VIP-like service, without the VIP policy",
    Grade.C: "Normal service, with a monthly upgrade plan",
    Grade.D: "Watch (关注)",
    Grade.E: "Eliminate (淘汰)",
}
UNRATED_POLICY = "Outside the scale: unrated, on the watch list, no credit (coefficient of E)"
# The order of the inquiry and complaint queues (1 first): by grade, then unrated and
# ungraded customers (and records without a customer) last.
PRIORITY = {Grade.A: 1, Grade.B: 2, Grade.C: 3, Grade.D: 4, Grade.E: 5}
LAST = 6


def _grade() -> Mapped[Grade]:
    return mapped_column(str_enum(Grade, 1), nullable=False)


def _optional_grade() -> Mapped[Grade | None]:
    return mapped_column(str_enum(Grade, 1), nullable=True)


def _review() -> Mapped[uuid.UUID | None]:
    return mapped_column(UUID(as_uuid=True), ForeignKey("credit_reviews.id", ondelete="SET NULL"))


class CustomerGrade(VersionMixin, TenantBase):
    """A customer's grade as last computed. Derived data: it goes with a deleted customer,
    and a merge leaves the survivor's own until the next computation replaces it."""

    __tablename__ = "customer_grades"

    customer_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("customers.id", ondelete="CASCADE"), primary_key=True)
    grade: Mapped[Grade] = _grade()
    score: Mapped[Decimal] = mapped_column(Numeric(5, 2), nullable=False)  # 0–100
    # The RFM inputs and their 1–5 scores.
    recency_days: Mapped[int | None] = mapped_column(Integer)  # None: no deal or contact yet
    frequency: Mapped[int] = mapped_column(Integer, nullable=False)
    monetary: Mapped[Decimal] = mapped_column(Numeric(16, 2), nullable=False)
    satisfaction: Mapped[Decimal | None] = mapped_column(Numeric(3, 2))  # mean overall score, 1–5
    r_score: Mapped[int] = mapped_column(SmallInteger, nullable=False)
    f_score: Mapped[int] = mapped_column(SmallInteger, nullable=False)
    m_score: Mapped[int] = mapped_column(SmallInteger, nullable=False)
    tier: Mapped[Tier] = mapped_column(str_enum(Tier, 10), nullable=False)
    # The grade summary table's figures (docs/relations.md): the grade's credit coefficient,
    # the mean monthly total of the customer's deals in the window, and the share of their
    # deals whose contract was signed in time (None while none was due).
    coefficient: Mapped[Decimal] = mapped_column(Numeric(4, 2), nullable=False)
    monthly_sales: Mapped[Decimal] = mapped_column(Numeric(16, 2), nullable=False)
    fulfilment_rate: Mapped[Decimal | None] = mapped_column(Numeric(5, 2))
    # Seed 002's rule: the previous window's monthly sales, against which this window's score.
    previous_monthly_sales: Mapped[Decimal | None] = mapped_column(Numeric(16, 2))
    # The rules' method that scored it (sales, rfm).
    method: Mapped[str] = mapped_column(String(10), nullable=False, server_default="rfm")
    # False: the score is below grade E's lowest, outside the scale; the customer is unrated
    # (kept as E here, for E's credit coefficient and tier).
    on_scale: Mapped[bool] = mapped_column(Boolean, nullable=False, server_default="true")
    # The credit review whose grade holds this one down; None while the computed grade stands.
    review_id: Mapped[uuid.UUID | None] = _review()
    rules_version: Mapped[int] = mapped_column(Integer, nullable=False)
    computed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    # The staff account that looks after the customer (a high tier's dedicated account manager).
    account_manager_id: Mapped[str | None] = mapped_column(String(200))

    __table_args__ = (
        Index("ix_customer_grades_grade_score", "grade", "score"),
        Index("ix_customer_grades_tier", "tier"),
        Index("ix_customer_grades_account_manager_id", "account_manager_id"),
    )


class GradeChange(IdMixin, TenantBase):
    """One change of a customer's grade (the first grading too): the grade history."""

    __tablename__ = "grade_history"

    customer_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("customers.id", ondelete="CASCADE"), nullable=False)
    grade: Mapped[Grade] = _grade()
    previous_grade: Mapped[Grade | None] = _optional_grade()
    score: Mapped[Decimal] = mapped_column(Numeric(5, 2), nullable=False)
    previous_score: Mapped[Decimal | None] = mapped_column(Numeric(5, 2))
    rules_version: Mapped[int] = mapped_column(Integer, nullable=False)
    computed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    # The on-demand job that made it; None for the daily run.
    job_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True), ForeignKey("jobs.id", ondelete="SET NULL"))
    # The credit review whose grade it is, when one holds the grade down.
    review_id: Mapped[uuid.UUID | None] = _review()

    __table_args__ = (Index("ix_grade_history_customer_id_computed_at", "customer_id", "computed_at"),)


class CreditChange(IdMixin, TimestampMixin, VersionMixin, TenantBase):
    """An application to set a customer's credit limit, decided by the approval engine. The
    customer's limit is the requested limit of their most recently applied change."""

    __tablename__ = "credit_changes"

    number: Mapped[str] = mapped_column(String(30), nullable=False, unique=True)  # XY-2026-000001 (信用)
    customer_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("customers.id", ondelete="RESTRICT"), nullable=False)
    node_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), ForeignKey("org_nodes.id", ondelete="RESTRICT"),
                                               nullable=False)
    applicant_id: Mapped[str] = mapped_column(String(200), nullable=False)
    previous_limit: Mapped[Decimal | None] = mapped_column(Numeric(14, 2))  # the limit when applied for
    requested_limit: Mapped[Decimal] = mapped_column(Numeric(14, 2), nullable=False)
    # The payment period (账期, days) set with the limit (seed 000 §19 ⑥); None: none set.
    previous_payment_days: Mapped[int | None] = mapped_column(Integer)
    requested_payment_days: Mapped[int | None] = mapped_column(Integer)
    reason: Mapped[str] = mapped_column(Text, nullable=False)
    approval_request_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("approval_requests.id", ondelete="RESTRICT"), nullable=False)
    applied_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    notified_via: Mapped[str | None] = mapped_column(String(20))  # inbox | email | none, once applied

    __table_args__ = (
        Index("ix_credit_changes_customer_id_applied_at", "customer_id", "applied_at"),
        Index("ix_credit_changes_node_id", "node_id"),
        Index("ix_credit_changes_approval_request_id", "approval_request_id", unique=True),
    )


class ReviewStage(str, enum.Enum):
    """Where a credit review is; while ``submitted`` its approval request says whether the
    grade change is pending, approved (and applied), rejected or withdrawn."""

    investigating = "investigating"
    dismissed = "dismissed"  # investigated: not serious, the grade stays
    submitted = "submitted"


class CreditReview(IdMixin, TimestampMixin, VersionMixin, TenantBase):
    """A credit-grade change (DOMAIN.md): an abnormality found, investigated, and when serious a
    lower grade proposed; on approval the grade holds the customer's down until ``holds_until``
    and the customer is told."""

    __tablename__ = "credit_reviews"

    number: Mapped[str] = mapped_column(String(30), nullable=False, unique=True)  # YC-2026-000001 (异常)
    customer_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("customers.id", ondelete="RESTRICT"), nullable=False)
    node_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), ForeignKey("org_nodes.id", ondelete="RESTRICT"),
                                               nullable=False)
    opened_by: Mapped[str] = mapped_column(String(200), nullable=False)
    abnormality: Mapped[str] = mapped_column(Text, nullable=False)  # what was found
    stage: Mapped[ReviewStage] = mapped_column(str_enum(ReviewStage), nullable=False)
    findings: Mapped[str | None] = mapped_column(Text)  # what the investigation concluded
    serious: Mapped[bool | None] = mapped_column(Boolean)
    grade: Mapped[Grade | None] = _optional_grade()  # the grade it sets, when serious
    previous_grade: Mapped[Grade | None] = _optional_grade()  # the customer's when concluded
    holds_until: Mapped[date | None] = mapped_column(Date)  # the last day the grade holds
    concluded_by: Mapped[str | None] = mapped_column(String(200))
    concluded_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # The conclusion's current approval request (a new one when concluded again).
    approval_request_id: Mapped[uuid.UUID | None] = mapped_column(
        UUID(as_uuid=True), ForeignKey("approval_requests.id", ondelete="RESTRICT"))
    applied_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    notified_via: Mapped[str | None] = mapped_column(String(20))  # inbox | email | none

    __table_args__ = (
        Index("ix_credit_reviews_customer_id_applied_at", "customer_id", "applied_at"),
        Index("ix_credit_reviews_node_id", "node_id"),
        Index("ix_credit_reviews_approval_request_id", "approval_request_id"),
    )


# The history moves with a merge and goes with a deleted customer (derived data, like the
# customers domain's own tables); credit decisions are records that block a deletion.
register_customer_reference(GradeChange, "customer_id", owned=True)
register_customer_reference(CreditChange, "customer_id")
register_customer_reference(CreditReview, "customer_id")


class CreditInvestigation(IdMixin, TimestampMixin, VersionMixin, TenantBase):
    """A credit investigation of a customer by an outside agency (seed 000 §16): the method and
    content asked for, then the agency's report and the countermeasures decided on it."""

    __tablename__ = "credit_investigations"

    number: Mapped[str] = mapped_column(String(30), nullable=False, unique=True)  # DC-2026-000001 (调查)
    customer_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("customers.id", ondelete="RESTRICT"), nullable=False)
    node_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), ForeignKey("org_nodes.id", ondelete="RESTRICT"),
                                               nullable=False)
    agency: Mapped[str] = mapped_column(String(200), nullable=False)
    method: Mapped[str] = mapped_column(String(1000), nullable=False)
    content: Mapped[str] = mapped_column(Text, nullable=False)
    requested_by: Mapped[str] = mapped_column(String(200), nullable=False)
    report: Mapped[str | None] = mapped_column(Text)
    countermeasures: Mapped[str | None] = mapped_column(Text)
    reported_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    __table_args__ = (
        Index("ix_credit_investigations_customer_id", "customer_id"),
        Index("ix_credit_investigations_node_id", "node_id"),
    )


register_customer_reference(CreditInvestigation, "customer_id")


class GradeSummary(IdMixin, TimestampMixin, VersionMixin, TenantBase):
    """The grade summary table (seed 002, 客户等级管理汇总表) as prepared at a node and signed
    off: prepared (编制) by whoever made it, then checked (复核), reviewed (审核) and approved
    (审批) by the ``grade_summary`` approval chain. The lines are the table as it was when
    prepared: what the approvers signed."""

    __tablename__ = "grade_summaries"

    number: Mapped[str] = mapped_column(String(30), nullable=False, unique=True)  # DJ-2026-000001 (等级)
    node_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), ForeignKey("org_nodes.id", ondelete="RESTRICT"),
                                               nullable=False)
    title: Mapped[str] = mapped_column(String(200), nullable=False)
    prepared_by: Mapped[str] = mapped_column(String(200), nullable=False)
    lines: Mapped[list[dict[str, Any]]] = mapped_column(JSONB, nullable=False)
    counts: Mapped[dict[str, int]] = mapped_column(JSONB, nullable=False)  # customers per grade, and unrated
    approval_request_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("approval_requests.id", ondelete="RESTRICT"), nullable=False)
    signed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))  # the last sign-off

    __table_args__ = (
        Index("ix_grade_summaries_node_id", "node_id"),
        Index("ix_grade_summaries_approval_request_id", "approval_request_id", unique=True),
    )
