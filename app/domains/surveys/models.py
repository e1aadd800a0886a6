"""The surveys domain's tables: questionnaires and their questions, return-visit plans with
the customers they target, and the results (one per customer answering, one row per answer).

A plan and its targets sit at org nodes (the plan where it was made, each target at its
customer's node when chosen); a result at its customer's node when recorded. Statistics
group results by the project or branch of that node.
"""

from __future__ import annotations

import enum
import uuid
from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    SmallInteger,
    String,
    Text,
    func,
)
from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlalchemy.orm import Mapped, mapped_column

from app.core.models import IdMixin, TenantBase, TimestampMixin, VersionMixin, str_enum
from app.domains.customers.references import register_customer_reference


class Dimension(str, enum.Enum):
    """What a scale question measures (DOMAIN.md, return visits)."""

    product_quality = "product_quality"
    service = "service"
    price = "price"
    overall = "overall"


class QuestionKind(str, enum.Enum):
    scale = "scale"  # 1 (very dissatisfied) to 5 (very satisfied)
    text = "text"  # a free answer


class QuestionnaireStatus(str, enum.Enum):
    active = "active"
    retired = "retired"  # kept for its results; no new plan or result may use it


class ReturnMethod(str, enum.Enum):
    phone = "phone"
    visit = "visit"
    sms = "sms"
    wechat = "wechat"
    email = "email"


class Questionnaire(IdMixin, TimestampMixin, VersionMixin, TenantBase):
    """A group-wide questionnaire: its questions are fixed once a result uses it."""

    __tablename__ = "questionnaires"

    title: Mapped[str] = mapped_column(String(200), nullable=False)
    description: Mapped[str | None] = mapped_column(Text)
    status: Mapped[QuestionnaireStatus] = mapped_column(str_enum(QuestionnaireStatus), nullable=False)


class Question(IdMixin, TenantBase):
    __tablename__ = "questionnaire_questions"

    questionnaire_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("questionnaires.id", ondelete="CASCADE"), nullable=False)
    position: Mapped[int] = mapped_column(Integer, nullable=False)
    text: Mapped[str] = mapped_column(String(500), nullable=False)
    kind: Mapped[QuestionKind] = mapped_column(str_enum(QuestionKind), nullable=False)
    dimension: Mapped[Dimension | None] = mapped_column(str_enum(Dimension))  # scale questions only
    required: Mapped[bool] = mapped_column(Boolean, nullable=False)

    __table_args__ = (Index("ix_questionnaire_questions_questionnaire_id", "questionnaire_id"),)


class PlanStatus(str, enum.Enum):
    open = "open"
    closed = "closed"


class ReturnVisitPlan(IdMixin, TimestampMixin, VersionMixin, TenantBase):
    __tablename__ = "return_visit_plans"

    number: Mapped[str] = mapped_column(String(30), nullable=False, unique=True)  # HF-2026-000001 (回访)
    node_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), ForeignKey("org_nodes.id", ondelete="RESTRICT"),
                                               nullable=False)
    title: Mapped[str] = mapped_column(String(200), nullable=False)
    method: Mapped[ReturnMethod] = mapped_column(str_enum(ReturnMethod), nullable=False)
    questionnaire_id: Mapped[uuid.UUID | None] = mapped_column(
        UUID(as_uuid=True), ForeignKey("questionnaires.id", ondelete="RESTRICT"))
    due_on: Mapped[date] = mapped_column(Date, nullable=False)
    # The filters the targets were chosen by, as given (camelCase): what the plan meant.
    filters: Mapped[dict[str, Any]] = mapped_column(JSONB, nullable=False, default=dict)
    status: Mapped[PlanStatus] = mapped_column(str_enum(PlanStatus), nullable=False)
    created_by: Mapped[str] = mapped_column(String(200), nullable=False)

    __table_args__ = (Index("ix_return_visit_plans_node_id", "node_id"),)


class TargetStatus(str, enum.Enum):
    pending = "pending"
    completed = "completed"  # a result was recorded
    unreachable = "unreachable"
    declined = "declined"
    cancelled = "cancelled"  # the plan was closed before the visit


class ReturnVisitTarget(IdMixin, VersionMixin, TenantBase):
    """A customer a plan will visit again, and how that went."""

    __tablename__ = "return_visit_targets"

    plan_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("return_visit_plans.id", ondelete="CASCADE"), nullable=False)
    customer_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("customers.id", ondelete="RESTRICT"), nullable=False)
    node_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), ForeignKey("org_nodes.id", ondelete="RESTRICT"),
                                               nullable=False)
    due_on: Mapped[date] = mapped_column(Date, nullable=False)
    status: Mapped[TargetStatus] = mapped_column(str_enum(TargetStatus), nullable=False)
    attempts: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    note: Mapped[str | None] = mapped_column(String(1000))
    completed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now(), nullable=False)

    __table_args__ = (
        Index("ix_return_visit_targets_plan_id_status", "plan_id", "status"),
        Index("ix_return_visit_targets_customer_id", "customer_id"),
        Index("ix_return_visit_targets_node_id", "node_id"),
        Index("ix_return_visit_targets_status_due_on", "status", "due_on"),
    )


class SurveyResult(IdMixin, TimestampMixin, VersionMixin, TenantBase):
    """One customer's answers to a questionnaire."""

    __tablename__ = "survey_results"

    customer_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("customers.id", ondelete="RESTRICT"), nullable=False)
    node_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), ForeignKey("org_nodes.id", ondelete="RESTRICT"),
                                               nullable=False)
    questionnaire_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("questionnaires.id", ondelete="RESTRICT"), nullable=False)
    plan_id: Mapped[uuid.UUID | None] = mapped_column(
        UUID(as_uuid=True), ForeignKey("return_visit_plans.id", ondelete="RESTRICT"))
    # One result per target: the partial unique index is the database's word on it.
    target_id: Mapped[uuid.UUID | None] = mapped_column(
        UUID(as_uuid=True), ForeignKey("return_visit_targets.id", ondelete="RESTRICT"))
    method: Mapped[ReturnMethod] = mapped_column(str_enum(ReturnMethod), nullable=False)
    responded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    recorded_by: Mapped[str] = mapped_column(String(200), nullable=False)
    comment: Mapped[str | None] = mapped_column(Text)

    __table_args__ = (
        Index("ix_survey_results_customer_id", "customer_id"),
        Index("ix_survey_results_node_id_responded_at", "node_id", "responded_at"),
        Index("ix_survey_results_questionnaire_id", "questionnaire_id"),
        Index("ix_survey_results_plan_id", "plan_id"),
        Index("uq_survey_results_target_id", "target_id", unique=True),
    )


class SurveyAnswer(IdMixin, TenantBase):
    __tablename__ = "survey_answers"

    result_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("survey_results.id", ondelete="CASCADE"), nullable=False)
    question_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("questionnaire_questions.id", ondelete="RESTRICT"), nullable=False)
    # The question's dimension, kept beside the score: statistics read one table.
    dimension: Mapped[Dimension | None] = mapped_column(str_enum(Dimension))
    score: Mapped[int | None] = mapped_column(SmallInteger)
    text: Mapped[str | None] = mapped_column(Text)

    __table_args__ = (
        CheckConstraint("score BETWEEN 1 AND 5", name="score_range"),
        Index("ix_survey_answers_result_id", "result_id"),
        Index("ix_survey_answers_question_id", "question_id"),
    )


register_customer_reference(ReturnVisitTarget, "customer_id")
register_customer_reference(SurveyResult, "customer_id")
