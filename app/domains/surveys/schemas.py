"""Request and response bodies of return visits: questionnaires, plans and their targets,
results, statistics."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Literal

import msgspec

from app.core.schemas import Input, Instant, Schema
from app.domains.customers.models import CustomerKind
from app.domains.customers.schemas import LiveStatus, Reason
from app.domains.grading.models import Grade, Tier
from app.domains.interactions.schemas import LongText, Text200, Text500, Text1000
from app.domains.surveys.models import (
    Dimension,
    PlanStatus,
    QuestionKind,
    QuestionnaireStatus,
    ReturnMethod,
    TargetStatus,
)

Score = Annotated[int, msgspec.Meta(ge=1, le=5, description="1 very dissatisfied … 5 very satisfied.")]
# A mean score or a share, exact: a decimal string.
Mean = Decimal

# ------------------------------------------------------------------------ questionnaires


class ScaleQuestion(Input, tag="scale", tag_field="kind"):
    """Answered 1–5; its dimension feeds the statistics."""

    text: Text500
    dimension: Dimension
    required: bool = True


class TextQuestion(Input, tag="text", tag_field="kind"):
    """Answered in words (suggestions, complaints, praise)."""

    text: Text500
    required: bool = False


QuestionIn = ScaleQuestion | TextQuestion
Questions = Annotated[list[QuestionIn], msgspec.Meta(min_length=1, max_length=50)]


class QuestionnaireCreate(Input):
    title: Text200
    questions: Questions
    description: LongText | None = None


class QuestionnaireUpdate(Input):
    """Only the fields present change. Questions are replaced whole, and only while no result
    uses the questionnaire (409 otherwise: make a new one). A retired questionnaire is kept
    for its results; no new plan or result may use it."""

    title: Text200 | msgspec.UnsetType = msgspec.UNSET
    description: LongText | None | msgspec.UnsetType = msgspec.UNSET
    questions: Questions | msgspec.UnsetType = msgspec.UNSET
    status: QuestionnaireStatus | msgspec.UnsetType = msgspec.UNSET


class QuestionOut(Schema):
    id: uuid.UUID
    position: int
    kind: QuestionKind
    text: str
    dimension: Dimension | None
    required: bool


class QuestionnaireOut(Schema):
    id: uuid.UUID
    title: str
    description: str | None
    status: QuestionnaireStatus
    questions: list[QuestionOut]
    in_use: bool  # results use it: its questions are fixed
    created_at: datetime
    version: int


class QuestionnaireSummary(Schema):
    id: uuid.UUID
    title: str
    status: QuestionnaireStatus
    question_count: int
    version: int


# -------------------------------------------------------------------------------- plans


class TargetFilters(Input):
    """Which customers the plan visits again: those under the plan's node matching every
    filter given."""

    # Projects or branches (under the plan's node) to take customers from; all when empty.
    node_ids: Annotated[list[uuid.UUID], msgspec.Meta(max_length=50)] = []
    grades: Annotated[list[Grade], msgspec.Meta(max_length=5)] = []
    # Value tiers (a mid tier's periodic return visit: ``tiers: ["mid"]`` with
    # ``notSurveyedWithinDays``).
    tiers: Annotated[list[Tier], msgspec.Meta(max_length=4)] = []
    statuses: Annotated[list[LiveStatus], msgspec.Meta(max_length=3)] = msgspec.field(
        default_factory=lambda: ["active"])
    kinds: Annotated[list[CustomerKind], msgspec.Meta(max_length=2)] = []
    # true: owners of at least one unit; false: prospects.
    has_units: bool | None = None
    # Leave out customers with a result recorded in the last N days.
    not_surveyed_within_days: Annotated[int, msgspec.Meta(ge=1, le=3650)] | None = None


class PlanCreate(Input):
    node_id: uuid.UUID  # the group, a branch or a project: the plan's reach
    title: Text200
    method: ReturnMethod
    due_on: date
    questionnaire_id: uuid.UUID | None = None
    filters: TargetFilters = msgspec.field(default_factory=TargetFilters)


class PlanUpdate(Input):
    """Only the fields present change; a new due date moves the pending targets' too."""

    title: Text200 | msgspec.UnsetType = msgspec.UNSET
    method: ReturnMethod | msgspec.UnsetType = msgspec.UNSET
    due_on: date | msgspec.UnsetType = msgspec.UNSET


class Closing(Input):
    reason: Reason | None = None


class TargetCounts(Schema):
    total: int
    pending: int
    completed: int
    unreachable: int
    declined: int
    cancelled: int
    overdue: int  # pending past their due date


class TargetFiltersOut(Schema):
    node_ids: list[uuid.UUID]
    grades: list[Grade]
    statuses: list[LiveStatus]
    kinds: list[CustomerKind]
    has_units: bool | None
    not_surveyed_within_days: int | None
    tiers: list[Tier] = []  # absent from plans made before tiers existed


class PlanOut(Schema):
    id: uuid.UUID
    number: str
    node_id: uuid.UUID
    title: str
    method: ReturnMethod
    questionnaire_id: uuid.UUID | None
    due_on: date
    filters: TargetFiltersOut
    status: PlanStatus
    targets: TargetCounts
    created_by: str
    created_at: datetime
    version: int


class PlanSummary(Schema):
    id: uuid.UUID
    number: str
    node_id: uuid.UUID
    title: str
    method: ReturnMethod
    due_on: date
    status: PlanStatus
    version: int


class TargetUpdate(Input):
    """A visit attempt that did not end in a result: ``unreachable`` (counts an attempt) or
    ``declined``; ``pending`` to try again. A result completes the target."""

    status: Literal["pending", "unreachable", "declined"] | msgspec.UnsetType = msgspec.UNSET
    note: Text1000 | None | msgspec.UnsetType = msgspec.UNSET
    due_on: date | msgspec.UnsetType = msgspec.UNSET


class TargetOut(Schema):
    id: uuid.UUID
    plan_id: uuid.UUID
    customer_id: uuid.UUID
    customer_number: str
    customer_name: str
    node_id: uuid.UUID
    due_on: date
    status: TargetStatus
    overdue: bool
    attempts: int
    note: str | None
    result_id: uuid.UUID | None
    completed_at: datetime | None
    version: int


# ------------------------------------------------------------------------------ results


class AnswerIn(Input):
    question_id: uuid.UUID
    score: Score | None = None  # for a scale question
    text: LongText | None = None  # for a text question (or a remark beside a score)


class ResultCreate(Input):
    """One customer's answers; through a plan's target, the target is completed with it."""

    customer_id: uuid.UUID
    questionnaire_id: uuid.UUID
    method: ReturnMethod
    answers: Annotated[list[AnswerIn], msgspec.Meta(min_length=1, max_length=50)]
    target_id: uuid.UUID | None = None
    responded_at: Instant | None = None  # now when absent
    comment: LongText | None = None


class AnswerOut(Schema):
    question_id: uuid.UUID
    dimension: Dimension | None
    score: int | None
    text: str | None


class DimensionScores(Schema):
    """Mean score per dimension (1–5, 2 decimals); null where nothing was scored."""

    product_quality: Mean | None
    service: Mean | None
    price: Mean | None
    overall: Mean | None


class ResultOut(Schema):
    id: uuid.UUID
    customer_id: uuid.UUID
    node_id: uuid.UUID
    questionnaire_id: uuid.UUID
    plan_id: uuid.UUID | None
    target_id: uuid.UUID | None
    method: ReturnMethod
    responded_at: datetime
    recorded_by: str
    comment: str | None
    answers: list[AnswerOut]
    scores: DimensionScores
    created_at: datetime
    version: int


class ResultSummary(Schema):
    id: uuid.UUID
    customer_id: uuid.UUID
    node_id: uuid.UUID
    questionnaire_id: uuid.UUID
    plan_id: uuid.UUID | None
    method: ReturnMethod
    responded_at: datetime
    version: int


# --------------------------------------------------------------------------- statistics

GroupBy = Literal["project", "branch", "group"]
Period = Literal["month", "quarter", "year"]


class StatisticsRow(Schema):
    node_id: uuid.UUID
    node_code: str
    node_name: str
    period: str  # 2026-05, 2026-Q2 or 2026, in the group's time zone
    responses: int
    scores: DimensionScores
    # Share of overall scores of 4 or 5, in percent (1 decimal); null without overall scores.
    satisfied_percent: Mean | None


class Statistics(Schema):
    group_by: GroupBy
    period: Period
    rows: list[StatisticsRow]
