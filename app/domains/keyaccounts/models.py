"""Return visits followed through and big customers looked after (seed 000 Ch 4 §11–14, Ch 5
§12–13; seed 001 §3.3.3).

- An improvement action (改进措施) is raised from a survey result or a return-visit plan's
  statistics: the finding, the action, its owner and due date; approved as the improvement
  plan, then tracked to done with its outcome. The daily scan flags those past due.
- A big-customer strategy (大客户管理战略与目标) for one key customer, approved by the GM.
- An on-site return visit of a big customer (大客户回访): the notice, the written report,
  its approval, and the archived report in the customer's history.
- An after-sales service plan (售后服务计划), routine or non-routine (the latter also before
  senior management), tried out for a trial period and then put in force.

Every record sits at an org node (``node_id``): a customer's record at the customer's node.
"""

from __future__ import annotations

import enum
import uuid
from datetime import date, datetime

from sqlalchemy import Date, DateTime, ForeignKey, Index, String, Text
from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlalchemy.orm import Mapped, mapped_column

from app.core.models import IdMixin, TenantBase, TimestampMixin, VersionMixin, str_enum
from app.domains.customers.references import register_customer_reference


def _node() -> Mapped[uuid.UUID]:
    return mapped_column(UUID(as_uuid=True), ForeignKey("org_nodes.id", ondelete="RESTRICT"), nullable=False)


def _approval() -> Mapped[uuid.UUID | None]:
    return mapped_column(UUID(as_uuid=True), ForeignKey("approval_requests.id", ondelete="RESTRICT"))


def _customer(nullable: bool = False) -> Mapped[uuid.UUID]:
    return mapped_column(UUID(as_uuid=True), ForeignKey("customers.id", ondelete="RESTRICT"), nullable=nullable)


# ------------------------------------------------------------------------ improvement actions


class ActionStage(str, enum.Enum):
    """While ``submitted`` the shown status is the approval request's."""

    draft = "draft"
    submitted = "submitted"
    in_progress = "in_progress"  # approved: its owner carries it out
    done = "done"
    cancelled = "cancelled"


class SurveyImprovement(IdMixin, TimestampMixin, VersionMixin, TenantBase):
    __tablename__ = "survey_improvements"

    number: Mapped[str] = mapped_column(String(30), nullable=False, unique=True)  # GJ-2026-000001 (改进)
    node_id: Mapped[uuid.UUID] = _node()
    # Where the finding came from: a plan's statistics, or one customer's result (and its plan).
    plan_id: Mapped[uuid.UUID | None] = mapped_column(
        UUID(as_uuid=True), ForeignKey("return_visit_plans.id", ondelete="RESTRICT"))
    result_id: Mapped[uuid.UUID | None] = mapped_column(
        UUID(as_uuid=True), ForeignKey("survey_results.id", ondelete="RESTRICT"))
    customer_id: Mapped[uuid.UUID | None] = _customer(nullable=True)  # the result's customer
    finding: Mapped[str] = mapped_column(Text, nullable=False)
    action: Mapped[str] = mapped_column(Text, nullable=False)
    owner_id: Mapped[str] = mapped_column(String(200), nullable=False)  # a staff account
    due_on: Mapped[date] = mapped_column(Date, nullable=False)
    stage: Mapped[ActionStage] = mapped_column(str_enum(ActionStage), nullable=False)
    approval_request_id: Mapped[uuid.UUID | None] = _approval()
    started_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    outcome: Mapped[str | None] = mapped_column(Text)
    done_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # Set by the daily scan the first day it finds the action past due and not done.
    overdue_since: Mapped[date | None] = mapped_column(Date)
    cancel_reason: Mapped[str | None] = mapped_column(Text)
    created_by: Mapped[str] = mapped_column(String(200), nullable=False)

    __table_args__ = (
        Index("ix_survey_improvements_node_id", "node_id"),
        Index("ix_survey_improvements_plan_id", "plan_id"),
        Index("ix_survey_improvements_stage_due_on", "stage", "due_on"),
    )


# -------------------------------------------------------------------- big-customer strategies


class StrategyStage(str, enum.Enum):
    draft = "draft"
    submitted = "submitted"
    in_force = "in_force"  # approved by the GM
    reviewed = "reviewed"  # ⑦ 大客户服务回顾评价: the period looked back on


class KeyAccountStrategy(IdMixin, TimestampMixin, VersionMixin, TenantBase):
    __tablename__ = "key_account_strategies"

    number: Mapped[str] = mapped_column(String(30), nullable=False, unique=True)  # DK-2026-000001 (大客户)
    customer_id: Mapped[uuid.UUID] = _customer()
    node_id: Mapped[uuid.UUID] = _node()  # the customer's
    title: Mapped[str] = mapped_column(String(200), nullable=False)
    goals: Mapped[str] = mapped_column(Text, nullable=False)
    strategy: Mapped[str] = mapped_column(Text, nullable=False)
    starts_on: Mapped[date] = mapped_column(Date, nullable=False)
    ends_on: Mapped[date] = mapped_column(Date, nullable=False)
    stage: Mapped[StrategyStage] = mapped_column(str_enum(StrategyStage), nullable=False)
    approval_request_id: Mapped[uuid.UUID | None] = _approval()
    approved_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    review: Mapped[str | None] = mapped_column(Text)
    reviewed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_by: Mapped[str] = mapped_column(String(200), nullable=False)

    __table_args__ = (
        Index("ix_key_account_strategies_node_id", "node_id"),
        Index("ix_key_account_strategies_customer_id", "customer_id"),
    )


# ------------------------------------------------------------------- big-customer return visits


class VisitStage(str, enum.Enum):
    notified = "notified"  # ① the notice issued, ② the visit assigned
    submitted = "submitted"  # ⑥ the written report under review
    archived = "archived"  # ⑦ approved and filed
    cancelled = "cancelled"


class KeyAccountVisit(IdMixin, TimestampMixin, VersionMixin, TenantBase):
    __tablename__ = "key_account_visits"

    number: Mapped[str] = mapped_column(String(30), nullable=False, unique=True)  # DH-2026-000001 (大客户回访)
    customer_id: Mapped[uuid.UUID] = _customer()
    node_id: Mapped[uuid.UUID] = _node()  # the customer's
    purpose: Mapped[str] = mapped_column(Text, nullable=False)
    scheduled_on: Mapped[date] = mapped_column(Date, nullable=False)
    visitor_id: Mapped[str] = mapped_column(String(200), nullable=False)  # the big-customer specialist
    notified_by: Mapped[str] = mapped_column(String(200), nullable=False)
    stage: Mapped[VisitStage] = mapped_column(str_enum(VisitStage), nullable=False)
    # The written report (书面回访报告).
    visited_on: Mapped[date | None] = mapped_column(Date)
    # Who went with the specialist (the departments' named people): [{"name", "department"}].
    companions: Mapped[list[dict[str, str]]] = mapped_column(JSONB, nullable=False, default=list)
    findings: Mapped[str | None] = mapped_column(Text)
    service_quality: Mapped[str | None] = mapped_column(Text)  # ⑤ the departments' service-quality material
    customer_feedback: Mapped[str | None] = mapped_column(Text)
    reported_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    approval_request_id: Mapped[uuid.UUID | None] = _approval()
    archived_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    cancel_reason: Mapped[str | None] = mapped_column(Text)

    __table_args__ = (
        Index("ix_key_account_visits_node_id", "node_id"),
        Index("ix_key_account_visits_customer_id", "customer_id"),
    )


# ----------------------------------------------------------------- after-sales service plans


class PlanKind(str, enum.Enum):
    routine = "routine"  # 常规性问题: the after-sales manager decides
    non_routine = "non_routine"  # 非常规性问题: argued, then before senior management too


class PlanStage(str, enum.Enum):
    draft = "draft"
    submitted = "submitted"
    trial = "trial"  # approved: tried out until its trial ends (试行售后服务计划)
    in_force = "in_force"  # the customers' response judged good: 确定《售后服务计划》
    withdrawn = "withdrawn"


class AfterSalesPlan(IdMixin, TimestampMixin, VersionMixin, TenantBase):
    __tablename__ = "after_sales_plans"

    number: Mapped[str] = mapped_column(String(30), nullable=False, unique=True)  # SH-2026-000001 (售后)
    node_id: Mapped[uuid.UUID] = _node()
    customer_id: Mapped[uuid.UUID | None] = _customer(nullable=True)  # a plan for one customer, or for many
    kind: Mapped[PlanKind] = mapped_column(str_enum(PlanKind), nullable=False)
    title: Mapped[str] = mapped_column(String(200), nullable=False)
    issue: Mapped[str] = mapped_column(Text, nullable=False)  # 关键问题: what the customers' feedback showed
    content: Mapped[str] = mapped_column(Text, nullable=False)  # 售后服务细则
    trial_ends_on: Mapped[date] = mapped_column(Date, nullable=False)
    stage: Mapped[PlanStage] = mapped_column(str_enum(PlanStage), nullable=False)
    approval_request_id: Mapped[uuid.UUID | None] = _approval()
    trial_started_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # The customers' response to the trial, as discussed and judged (讨论并评价客户反映).
    evaluation: Mapped[str | None] = mapped_column(Text)
    in_force_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_by: Mapped[str] = mapped_column(String(200), nullable=False)

    __table_args__ = (Index("ix_after_sales_plans_node_id", "node_id"),)


register_customer_reference(SurveyImprovement, "customer_id")
register_customer_reference(KeyAccountStrategy, "customer_id")
register_customer_reference(KeyAccountVisit, "customer_id")
register_customer_reference(AfterSalesPlan, "customer_id")
