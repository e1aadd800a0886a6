"""Request and response bodies of grading and credit: the rules, grades and their history,
credit-limit change applications."""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from typing import Annotated, get_args

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
AMOUNT_PATTERN = get_args(Amount)[1].pattern


def _cuts(items: dict[str, object]) -> msgspec.Meta:
    # Litestar drops the constraints of a list's items from the document: the list states them.
    return msgspec.Meta(min_length=4, max_length=4,
                        description="Four cut points, in any order: used (and kept) ascending.",
                        extra_json_schema={"extra": {"items": items}})


class Rfm(Input):
    """How recency, frequency and monetary value score 1–5, by four cut points each.

    - ``recencyDays``: days since the last deal or contact: at most the lowest cut scores 5,
      at most the next 4, ... beyond the highest (or no deal or contact yet) 1.
    - ``frequency``: deals and contacts in the window: at least the highest cut scores 5,
      at least the next 4, ... below the lowest 1.
    - ``monetary``: the total of the customer's deals (yuan): as frequency.
    """

    recency_days: Annotated[list[Days], _cuts({"type": "integer", "minimum": 1, "maximum": 3650})]
    frequency: Annotated[list[Count], _cuts({"type": "integer", "minimum": 1, "maximum": 10_000})]
    monetary: Annotated[list[Amount], _cuts({"type": "string", "pattern": AMOUNT_PATTERN})]


class Weights(Input):
    """Each factor's relative weight in the score (the score is the weighted mean of the
    factors, each 0–100). Satisfaction (the mean overall score of the customer's survey
    results in the window) counts only for customers who have one. With no weight at all
    every score is 0."""

    recency: Weight
    frequency: Weight
    monetary: Weight
    satisfaction: Weight


class Bands(Input):
    """The lowest score of grades A to D; the grade is the first of A, B, C, D whose lowest
    score the customer's reaches, else E (eliminate). D is watch."""

    a: ScoreBound = msgspec.field(name="A")
    b: ScoreBound = msgspec.field(name="B")
    c: ScoreBound = msgspec.field(name="C")
    d: ScoreBound = msgspec.field(name="D")


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
    """A line of the grade summary table: a customer with their grade."""

    id: uuid.UUID  # the customer's
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
