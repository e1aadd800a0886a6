"""Wire shapes of in-sale orders and call-centre quality."""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from typing import Annotated

import msgspec

from app.core.schemas import ONE_LINE_PATTERN, Input, Instant, Schema
from app.domains.service.models import Inspection, OrderKind, OrderStatus

Line200 = Annotated[str, msgspec.Meta(min_length=1, max_length=200, pattern=ONE_LINE_PATTERN)]
Line300 = Annotated[str, msgspec.Meta(min_length=1, max_length=300, pattern=ONE_LINE_PATTERN)]
Text500 = Annotated[str, msgspec.Meta(min_length=1, max_length=500)]
Text1000 = Annotated[str, msgspec.Meta(min_length=1, max_length=1000)]
Text2000 = Annotated[str, msgspec.Meta(min_length=1, max_length=2000)]
Money = Annotated[str, msgspec.Meta(pattern=r"^(0|[1-9][0-9]{0,11})(\.[0-9]{1,2})?$", examples=["3280000.00"],
                                    description="Yuan, as a string: 2 decimals at most.")]
Channel = Annotated[str, msgspec.Meta(pattern=r"^[a-z][a-z_]{1,39}$", examples=["sales_office"],
                                      description="Where the order came in: sales_office, phone, online, app…")]
Code = Annotated[str, msgspec.Meta(pattern=r"^[a-z][a-z0-9_]{0,39}$", examples=["greeting"])]
RoleCode = Annotated[str, msgspec.Meta(pattern=r"^[a-z][a-z0-9_]{0,59}$", examples=["order_finance"])]
Rating = Annotated[int, msgspec.Meta(ge=1, le=5, description="1 (very dissatisfied) to 5 (very satisfied).")]
Mark = Annotated[int, msgspec.Meta(ge=0, le=5, description="0 (not done) to 5 (done perfectly).")]
Weight = Annotated[int, msgspec.Meta(ge=1, le=100)]


# ------------------------------------------------------------------------------- orders


class OrderCreate(Input):
    customer_id: uuid.UUID
    kind: OrderKind
    item: Line300
    channel: Channel = "sales_office"
    unit_id: uuid.UUID | None = None  # a unit ordered: the order sits at its project
    amount: Money | None = None
    # When sales received it (§3.2.2 (1)); now when absent. Not in the future.
    received_at: Instant | None = None
    progress_updates: bool = True  # the customer's choice: told of progress, or not


class ConfirmIn(Input):
    note: Text1000 | None = None
    expected_at: Instant | None = None  # the delivery promised to the customer


class ProgressIn(Input):
    milestone: Line200
    note: Text2000 | None = None
    expected_at: Instant | None = None  # when the next step is expected


class FeedbackIn(Input):
    rating: Rating
    comment: Text2000 | None = None


class DeliveryIn(Input):
    inspection: Inspection
    notes: Text2000 | None = None
    feedback: FeedbackIn | None = None  # the customer's in-sale feedback, when given at delivery


class CancelIn(Input):
    reason: Text500


class DepartmentTold(Schema):
    code: str
    name: str
    role: str
    told: int  # how many of the role's holders were told


class ProgressOut(Schema):
    id: uuid.UUID
    milestone: str
    note: str | None
    expected_at: datetime | None
    posted_by: str
    posted_at: datetime
    sent_via: str


class FeedbackOut(Schema):
    rating: int
    comment: str | None
    at: datetime


class OrderOut(Schema):
    id: uuid.UUID
    number: str
    customer_id: uuid.UUID
    node_id: uuid.UUID
    unit_id: uuid.UUID | None
    kind: OrderKind
    item: str
    amount: Decimal | None
    channel: str
    status: OrderStatus
    progress_updates: bool
    received_at: datetime
    received_by: str
    confirm_minutes: int
    confirm_due_at: datetime
    overdue: bool  # still unconfirmed past its deadline
    confirmed_at: datetime | None
    confirmed_by: str | None
    confirmed_in_time: bool | None
    confirm_note: str | None
    departments: list[DepartmentTold]
    expected_at: datetime | None
    progress: list[ProgressOut]
    delivered_at: datetime | None
    delivery_confirmed_by: str | None
    inspection: Inspection | None
    inspection_notes: str | None
    feedback: FeedbackOut | None
    cancel_reason: str | None
    created_at: datetime
    version: int


class OrderSummary(Schema):
    id: uuid.UUID
    number: str
    customer_id: uuid.UUID
    node_id: uuid.UUID
    kind: OrderKind
    item: str
    status: OrderStatus
    received_at: datetime
    confirm_due_at: datetime
    overdue: bool
    version: int


class Department(Input):
    code: Code
    name: Line200
    role: RoleCode  # the role whose holders at the order's node or above are told


class OrderSettings(Input):
    confirm_working_minutes: Annotated[int, msgspec.Meta(ge=1, le=7200)]
    departments: Annotated[list[Department], msgspec.Meta(max_length=20)]
    source: Line300 | None = None


class OrderSettingsOut(Schema):
    confirm_working_minutes: int
    departments: list[DepartmentTold]  # told is 0 here
    source: str | None


# ----------------------------------------------------------------------- call quality


class Criterion(Input):
    code: Code
    name: Line200
    weight: Weight
    source: Line300 | None = None  # the clause it comes from


class Scorecard(Input):
    criteria: Annotated[list[Criterion], msgspec.Meta(min_length=1, max_length=20)]


class CriterionOut(Schema):
    code: str
    name: str
    weight: int
    source: str | None


class ScorecardOut(Schema):
    criteria: list[CriterionOut]


class MarkIn(Input):
    code: Code
    rating: Mark


class EvaluationCreate(Input):
    call_id: uuid.UUID
    marks: Annotated[list[MarkIn], msgspec.Meta(min_length=1, max_length=20)]
    comment: Text2000 | None = None


class ScoreOut(Schema):
    code: str
    name: str
    weight: int
    rating: int
    source: str | None


class EvaluationOut(Schema):
    id: uuid.UUID
    call_id: uuid.UUID
    node_id: uuid.UUID
    agent_id: str
    call_started_at: datetime
    evaluator_id: str
    scores: list[ScoreOut]
    total: Decimal  # 0-100: the weighted share of full marks
    comment: str | None
    created_at: datetime
    version: int


class AgentPerformance(Schema):
    agent_id: str
    calls_handled: int
    calls_evaluated: int
    average_score: Decimal | None
    lowest_score: Decimal | None
    highest_score: Decimal | None


class PerformanceOut(Schema):
    period_from: datetime
    period_to: datetime
    agents: list[AgentPerformance]
