"""Request and response bodies of grading and credit: the rules, grades and their history,
credit-limit change applications."""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from typing import Annotated

import msgspec

from app.core.schemas import Input, Schema
from app.domains.approvals.models import RequestStatus
from app.domains.customers.schemas import Amount, Reason
from app.domains.grading.models import Grade

Days = Annotated[int, msgspec.Meta(ge=1, le=3650)]
Count = Annotated[int, msgspec.Meta(ge=1, le=10_000)]
Weight = Annotated[int, msgspec.Meta(ge=0, le=100)]
ScoreBound = Annotated[str, msgspec.Meta(pattern=r"^(100(\.0{1,2})?|[1-9]?[0-9](\.[0-9]{1,2})?)$", examples=["60"],
                                         description="A score from 0 to 100, at most 2 decimals, as a string.")]
Cuts = msgspec.Meta(min_length=4, max_length=4, description="Four strictly ascending cut points.")


class Rfm(Input):
    """How recency, frequency and monetary value score 1–5.

    - ``recencyDays``: days since the last deal or contact: at most the first cut scores 5,
      at most the second 4, ... beyond the fourth (or none yet) 1.
    - ``frequency``: deals and contacts in the window: at least the fourth cut scores 5,
      at least the third 4, ... below the first 1.
    - ``monetary``: the total of the customer's deals (yuan): as frequency.
    """

    recency_days: Annotated[list[Days], Cuts]
    frequency: Annotated[list[Count], Cuts]
    monetary: Annotated[list[Amount], Cuts]


class Weights(Input):
    """Each factor's weight in the score, summing to 100. Satisfaction (the mean overall
    score of the customer's survey results in the window) counts only for customers who have
    one; the other weights then carry the score alone."""

    recency: Weight
    frequency: Weight
    monetary: Weight
    satisfaction: Weight


class Bands(Input):
    """The lowest score of each grade, strictly descending; a score below E's is E too
    (D: watch, E: eliminate)."""

    a: ScoreBound = msgspec.field(name="A")
    b: ScoreBound = msgspec.field(name="B")
    c: ScoreBound = msgspec.field(name="C")
    d: ScoreBound = msgspec.field(name="D")
    e: ScoreBound = msgspec.field(name="E")


class Rules(Input):
    """A group's grading rules. Contacts (visits, calls) count for a customer's recency and
    frequency only while their behaviour consent is active; deals always count."""

    window_months: Annotated[int, msgspec.Meta(ge=1, le=120)]
    rfm: Rfm
    weights: Weights
    bands: Bands


class RulesOut(Schema):
    rules: Rules
    is_default: bool  # the product's rules apply until the group sets its own
    version: int


class Recompute(Input):
    # Customers at this node or below (a branch, a project); the whole group when absent.
    node_id: uuid.UUID | None = None


class GradeOut(Schema):
    grade: Grade
    score: Decimal
    recency_days: int | None
    frequency: int
    monetary: Decimal
    satisfaction: Decimal | None
    rfm: str  # the three 1–5 scores, e.g. "543"
    rules_version: int
    computed_at: datetime


class GradeRow(Schema):
    """A line of the grade summary table."""

    customer_id: uuid.UUID
    customer_number: str
    customer_name: str
    node_id: uuid.UUID
    grade: Grade
    score: Decimal
    rfm: str
    monetary: Decimal
    satisfaction: Decimal | None
    credit_limit: Decimal | None
    computed_at: datetime


class CustomerGrading(Schema):
    customer_id: uuid.UUID
    grade: GradeOut | None  # None until the customer was first graded
    credit_limit: Decimal | None  # None until a credit-limit change was approved
    pending_credit_change_id: uuid.UUID | None


class GradeChangeOut(Schema):
    grade: Grade
    previous_grade: Grade | None
    score: Decimal
    previous_score: Decimal | None
    rules_version: int
    computed_at: datetime
    job_id: uuid.UUID | None


class CreditChangeIn(Input):
    requested_limit: Amount
    reason: Reason


class CreditChangeOut(Schema):
    id: uuid.UUID
    number: str
    customer_id: uuid.UUID
    node_id: uuid.UUID
    applicant_id: str
    previous_limit: Decimal | None
    requested_limit: Decimal
    reason: str
    status: RequestStatus  # the approval request's
    approval_request_id: uuid.UUID
    applied_at: datetime | None
    created_at: datetime
    version: int


class RecomputeResult(Schema):
    """The result of a grading job."""

    customers: int
    changed: int
    grades: dict[str, int]  # customers per grade after the run
    rules_version: int
