"""Request and response bodies of grading and credit: the rules, grades and their history, the
grade summary table, credit-limit change applications, credit reviews."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal
from itertools import pairwise
from typing import Annotated, Literal, get_args

import msgspec

from app.core.schemas import Input, Schema
from app.domains.approvals.models import RequestStatus
from app.domains.customers.schemas import Amount, Reason
from app.domains.grading.models import Grade, Tier

Days = Annotated[int, msgspec.Meta(ge=1, le=3650)]
Count = Annotated[int, msgspec.Meta(ge=1, le=10_000)]
Weight = Annotated[int, msgspec.Meta(ge=0, le=100)]
ScoreBound = Annotated[str, msgspec.Meta(pattern=r"^(100(\.0{1,2})?|[1-9]?[0-9](\.[0-9]{1,2})?)$", examples=["60"],
                                         description="A score from 0 to 100, at most 2 decimals, as a string.")]
Coefficient = Annotated[str, msgspec.Meta(pattern=r"^(10(\.0{1,2})?|[0-9](\.[0-9]{1,2})?)$", examples=["1.20"],
                                          description="From 0 to 10, at most 2 decimals, as a string.")]
AMOUNT_PATTERN = get_args(Amount)[1].pattern
Finding = Annotated[str, msgspec.Meta(min_length=1, max_length=4000)]


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


class Sales(Input):
    """How the monthly average sales score against the previous period (seed 002): the
    window's monthly average as a percent of the previous window's, by four cut points: at
    least the highest scores 5, at least the next 4, ... below the lowest 1. Sales now and none
    before (a new customer) score 3; no sales in either window 1."""

    growth: Annotated[list[Annotated[int, msgspec.Meta(ge=0, le=10_000)]],
                      _cuts({"type": "integer", "minimum": 0, "maximum": 10_000})]


class Weights(Input):
    """Each factor's relative weight in the score (the score is the weighted mean of the
    factors, each 0–100). By the ``sales`` method: ``sales`` (monthly average sales against the
    previous period) and ``fulfilment`` (the on-time credit fulfilment rate, for customers with
    a deal due). By the ``rfm`` method: recency, frequency, monetary and satisfaction (the mean
    overall score of the customer's survey results in the window, for customers who have one).
    With no weight at all every score is 0."""

    recency: Weight
    frequency: Weight
    monetary: Weight
    satisfaction: Weight
    sales: Weight = 50
    fulfilment: Weight = 50


class Bands(Input):
    """The lowest score of grades A to E, falling from A to E (422 otherwise); the grade is the
    first of A to E whose lowest score the customer's reaches. D is watch, E eliminate; a score
    below E's lowest is outside the scale: the customer is unrated (seed 002: E is 50–60)."""

    a: ScoreBound = msgspec.field(name="A")
    b: ScoreBound = msgspec.field(name="B")
    c: ScoreBound = msgspec.field(name="C")
    d: ScoreBound = msgspec.field(name="D")
    e: ScoreBound = msgspec.field(name="E", default="50")

    def __post_init__(self) -> None:
        super().__post_init__()
        lows = [Decimal(v) for v in (self.a, self.b, self.c, self.d, self.e)]
        if any(lower >= higher for higher, lower in pairwise(lows)):
            # msgspec names the place: "... - at `$.bands`".
            raise ValueError("each grade's lowest score must be below the one of the grade before it "
                             "(A > B > C > D > E)")


class Coefficients(Input):
    """Each grade's credit coefficient: the grade summary table suggests a credit limit of the
    customer's monthly sales times it."""

    a: Coefficient = msgspec.field(name="A", default="1.50")
    b: Coefficient = msgspec.field(name="B", default="1.20")
    c: Coefficient = msgspec.field(name="C", default="1.00")
    d: Coefficient = msgspec.field(name="D", default="0.50")
    e: Coefficient = msgspec.field(name="E", default="0")

    def of(self, grade: Grade) -> Decimal:
        return Decimal(getattr(self, grade.value.lower())).quantize(Decimal("0.01"))


class Tiers(Input):
    """The value tier of each grade; a customer without a deal yet is ``potential`` whatever
    their grade. Treatments: high, a dedicated account manager; mid, standard service with
    periodic return visits; low, standard service; potential, promotions."""

    a: Literal["high", "mid", "low"] = msgspec.field(name="A", default="high")
    b: Literal["high", "mid", "low"] = msgspec.field(name="B", default="high")
    c: Literal["high", "mid", "low"] = msgspec.field(name="C", default="mid")
    d: Literal["high", "mid", "low"] = msgspec.field(name="D", default="low")
    e: Literal["high", "mid", "low"] = msgspec.field(name="E", default="low")

    def of(self, grade: Grade) -> Tier:
        return Tier(getattr(self, grade.value.lower()))


VisitEvery = Annotated[int, msgspec.Meta(ge=1, le=3650)]


class VisitDays(Input):
    """Each grade's visit frequency: the most days between two visits to a customer of the
    grade (the visit plan reads it); null: no routine visits."""

    a: VisitEvery | None = msgspec.field(name="A", default=30)
    b: VisitEvery | None = msgspec.field(name="B", default=30)
    c: VisitEvery | None = msgspec.field(name="C", default=30)
    d: VisitEvery | None = msgspec.field(name="D", default=90)
    e: VisitEvery | None = msgspec.field(name="E", default=None)

    def of(self, grade: Grade) -> int | None:
        days: int | None = getattr(self, grade.value.lower())
        return days


class Rules(Input):
    """A group's grading rules. ``method``: ``sales`` scores monthly average sales against the
    previous period and the on-time credit fulfilment rate (seed 002, the default); ``rfm``
    scores recency, frequency, monetary value and satisfaction. Contacts (visits, calls) count
    for a customer's recency and frequency only while their behaviour consent is active; deals
    always count. ``signingDays``: the days a subscription has to become a contract, for the
    credit fulfilment rate. ``visitDays``: each grade's visit frequency."""

    window_months: Annotated[int, msgspec.Meta(ge=1, le=120)]
    rfm: Rfm
    weights: Weights
    bands: Bands
    method: Literal["sales", "rfm"] = "sales"
    sales: Sales = msgspec.field(default_factory=lambda: Sales(growth=[70, 90, 100, 120]))
    coefficients: Coefficients = msgspec.field(default_factory=Coefficients)
    tiers: Tiers = msgspec.field(default_factory=Tiers)
    signing_days: Annotated[int, msgspec.Meta(ge=1, le=365)] = 30
    visit_days: VisitDays = msgspec.field(default_factory=VisitDays)


class RulesOut(Schema):
    rules: Rules
    is_default: bool  # the product's rules apply until the group sets its own
    version: int


class Recompute(Input):
    # Customers at this node or below (a branch, a project); the whole group when absent.
    node_id: uuid.UUID | None = None


Standing = Literal["graded", "unrated"]


class GradeOut(Schema):
    grade: Grade | None  # None: unrated, the score below grade E's lowest (``standingReason`` says)
    standing: Standing
    standing_reason: str | None
    score: Decimal
    method: Literal["sales", "rfm"]  # the rules' method the score was computed by
    recency_days: int | None
    frequency: int
    monetary: Decimal
    satisfaction: Decimal | None
    rfm: str  # the three 1–5 scores, e.g. "543"
    tier: Tier
    treatment: str  # what the tier gets
    policy: str  # what the grade gets (seed 002: A VIP policy, B VIP-like, C a monthly upgrade plan)
    priority: int  # in the inquiry and complaint queues: 1 (A) first, 6 (unrated) last
    visit_every_days: int | None  # the grade's visit frequency; None: no routine visits
    coefficient: Decimal
    monthly_sales: Decimal
    previous_monthly_sales: Decimal | None  # the previous window's; None before it was computed
    sales_growth: Decimal | None  # monthly sales as a percent of the previous window's; None without those
    fulfilment_rate: Decimal | None
    review_id: uuid.UUID | None  # the credit review holding the grade down, if one does
    rules_version: int
    computed_at: datetime


class GradeRow(Schema):
    """A line of the grade summary table (docs/relations.md says what each figure means)."""

    id: uuid.UUID  # the customer's
    customer_number: str
    customer_name: str
    node_id: uuid.UUID
    account_manager_id: str | None  # the salesperson / account manager looking after them
    score: Decimal
    coefficient: Decimal
    monthly_sales: Decimal
    previous_monthly_sales: Decimal | None
    fulfilment_rate: Decimal | None  # percent of deals whose contract was signed in time
    grade: Grade | None  # None: unrated (below grade E's lowest score)
    standing: Standing
    policy: str
    credit_limit: Decimal | None  # the approved limit
    suggested_limit: Decimal  # monthly sales × coefficient
    tier: Tier
    treatment: str
    rfm: str
    review_id: uuid.UUID | None
    computed_at: datetime


class CustomerGrading(Schema):
    customer_id: uuid.UUID
    grade: GradeOut | None  # None until the customer was first graded
    account_manager_id: str | None
    credit_limit: Decimal | None  # None until a credit-limit change was approved
    pending_credit_change_id: uuid.UUID | None


class AccountManagerIn(Input):
    """The staff account that looks after the customer; null: nobody."""

    account_id: uuid.UUID | None
    reason: Reason | None = None


class GradeChangeOut(Schema):
    grade: Grade
    previous_grade: Grade | None
    score: Decimal
    previous_score: Decimal | None
    rules_version: int
    computed_at: datetime
    job_id: uuid.UUID | None
    review_id: uuid.UUID | None  # the credit review whose grade it is


class CreditChangeIn(Input):
    requested_limit: Amount
    reason: Reason
    # The payment period (账期) in days, set with the limit; absent keeps the current one.
    payment_days: Annotated[int, msgspec.Meta(ge=1, le=365)] | None = None


class CreditChangeOut(Schema):
    id: uuid.UUID
    number: str
    customer_id: uuid.UUID
    node_id: uuid.UUID
    applicant_id: str
    previous_limit: Decimal | None
    requested_limit: Decimal
    previous_payment_days: int | None
    requested_payment_days: int | None  # the period in force once applied (the previous one when not changed)
    reason: str
    status: RequestStatus  # the approval request's
    approval_request_id: uuid.UUID
    applied_at: datetime | None
    notified_via: str | None  # how the customer was told once applied: inbox, email, none
    created_at: datetime
    version: int


class RecomputeResult(Schema):
    """The result of a grading job."""

    customers: int
    changed: int
    grades: dict[str, int]  # customers per grade after the run
    rules_version: int


# --------------------------------------------------------------------------- credit reviews

ReviewStatus = Literal["investigating", "dismissed", "pending", "approved", "rejected", "withdrawn"]


class CreditReviewIn(Input):
    """An abnormality found in a customer's credit (an overdue payment, a broken commitment, a
    report from finance or a bank): the review investigates it."""

    customer_id: uuid.UUID
    abnormality: Finding


class NotSerious(Input, tag="not_serious", tag_field="kind"):
    """Investigated: not serious enough to change the grade. The review is closed."""

    findings: Finding


class Serious(Input, tag="serious", tag_field="kind"):
    """Serious: the customer's grade goes down to ``grade`` for ``holdsMonths`` months once the
    ``credit_grade_change`` chain approves, and the customer is told."""

    findings: Finding
    grade: Grade
    holds_months: Annotated[int, msgspec.Meta(ge=1, le=24)] = 12


class Conclusion(Input):
    conclusion: NotSerious | Serious


class CreditReviewOut(Schema):
    id: uuid.UUID
    number: str
    customer_id: uuid.UUID
    node_id: uuid.UUID
    opened_by: str
    abnormality: str
    status: ReviewStatus  # the review's stage, or while submitted its approval request's
    findings: str | None
    serious: bool | None
    grade: Grade | None
    previous_grade: Grade | None
    holds_until: date | None
    concluded_by: str | None
    concluded_at: datetime | None
    approval_request_id: uuid.UUID | None
    applied_at: datetime | None
    notified_via: str | None  # how the customer was told: inbox, email, or none (no address)
    created_at: datetime
    version: int


class InvestigationIn(Input):
    """A credit investigation asked of an agency (seed 000 §16): who, how, what."""

    customer_id: uuid.UUID
    agency: Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
    method: Annotated[str, msgspec.Meta(min_length=1, max_length=1000)]
    content: Annotated[str, msgspec.Meta(min_length=1, max_length=4000)]


class InvestigationReport(Input):
    """The agency's report, and the countermeasures decided on it."""

    report: Annotated[str, msgspec.Meta(min_length=1, max_length=20000)]
    countermeasures: Annotated[str, msgspec.Meta(min_length=1, max_length=4000)]


class InvestigationOut(Schema):
    id: uuid.UUID
    number: str
    customer_id: uuid.UUID
    node_id: uuid.UUID
    agency: str
    method: str
    content: str
    requested_by: str
    status: Literal["requested", "reported"]
    report: str | None
    countermeasures: str | None
    reported_at: datetime | None
    created_at: datetime
    version: int


# ------------------------------------------------------------------- grade summary sign-off


class GradeSummaryIn(Input):
    """The grade summary table to sign off: the graded customers at ``nodeId`` or below (the
    group when absent), as they are now."""

    title: Annotated[str, msgspec.Meta(min_length=1, max_length=200, examples=["2026 年 12 月客户等级管理汇总表"])]
    node_id: uuid.UUID | None = None


class SummaryLine(Schema):
    """A line of the table as signed (seed 002's columns). The customer by number, not name: a
    signed table holds no personal data (the grade summary table shows the name)."""

    customer_id: uuid.UUID
    customer_number: str
    account_manager_id: str | None  # the salesperson (业务员)
    score: Decimal
    coefficient: Decimal
    monthly_sales: Decimal
    fulfilment_rate: Decimal | None
    grade: Grade | None  # None: unrated
    credit_limit: Decimal | None


class GradeSummaryOut(Schema):
    id: uuid.UUID
    number: str
    node_id: uuid.UUID
    title: str
    prepared_by: str  # 编制
    status: RequestStatus  # the sign-off's: pending while checked, reviewed, approved in turn
    approval_request_id: uuid.UUID
    signed_at: datetime | None  # when the last sign-off (审批) was given
    counts: dict[str, int]  # customers per grade, and "unrated"
    lines: list[SummaryLine]
    created_at: datetime
    version: int
