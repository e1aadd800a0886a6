"""Request and response bodies of interactions: visits, receptions, gifts, calls.

Amounts are decimal strings (never JSON numbers); a bound on every amount and quantity keeps
each total inside its ``Numeric(14, 2)`` column, so no valid request can overflow one.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

import msgspec

from app.core.schemas import Input, Instant, Schema
from app.domains.approvals.models import RequestStatus
from app.domains.customers.schemas import Amount, Reason
from app.domains.interactions.models import (
    CallDirection,
    CallOutcome,
    FailureReason,
    GiftPlanStatus,
    GuestRole,
    ReceptionKind,
)

Text100 = Annotated[str, msgspec.Meta(min_length=1, max_length=100)]
Text200 = Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
Text300 = Annotated[str, msgspec.Meta(min_length=1, max_length=300)]
Text500 = Annotated[str, msgspec.Meta(min_length=1, max_length=500)]
Text1000 = Annotated[str, msgspec.Meta(min_length=1, max_length=1000)]
LongText = Annotated[str, msgspec.Meta(min_length=1, max_length=10000)]
# Litestar drops the constraints of a list's items from the document: the list states them.
Points = Annotated[list[Text200], msgspec.Meta(max_length=20, extra_json_schema={"extra": {
    "items": {"type": "string", "minLength": 1, "maxLength": 200}}})]
# A gift's worth: at most 999,999.99 yuan a piece, at most 10,000 pieces, 20 lines: any total
# fits the columns.
UnitValue = Annotated[str, msgspec.Meta(pattern=r"^(0|[1-9][0-9]{0,5})(\.[0-9]{1,2})?$", examples=["188.00"],
                                        description="Yuan, as a string: at most 999999.99, 2 decimals.")]
Quantity = Annotated[int, msgspec.Meta(ge=1, le=10_000)]
# A reception's status: its own stage, or while under review its approval request's.
# A visit's shown status: its stage, or while its application is under review its request's.
VisitShownStatus = Literal["planned", "pending", "approved", "rejected", "withdrawn", "visited", "reported",
                           "cancelled"]
ReceptionStatus = Literal["draft", "pending", "approved", "rejected", "withdrawn", "reported", "cancelled"]
GiftApplicationStatus = Literal["pending", "approved", "rejected", "withdrawn", "issued", "cancelled"]


# ------------------------------------------------------------------------------- shared


class Costs(Input):
    """Money by category (DOMAIN.md: meals, transport, gifts, other); an absent one is zero."""

    meals: Amount = "0"
    transport: Amount = "0"
    gifts: Amount = "0"
    other: Amount = "0"


class CostsOut(Schema):
    meals: Decimal
    transport: Decimal
    gifts: Decimal
    other: Decimal
    total: Decimal

    @classmethod
    def of(cls, meals: Decimal | None, transport: Decimal | None, gifts: Decimal | None,
           other: Decimal | None) -> CostsOut:
        parts = [v or Decimal("0.00") for v in (meals, transport, gifts, other)]
        return cls(meals=parts[0], transport=parts[1], gifts=parts[2], other=parts[3],
                   total=sum(parts, Decimal("0.00")))


class HospitalityCosts(Input):
    """A reception's money by line (seed 000 §17 客户招待申请表: meeting, meals, transport,
    gifts, other; §18 客户招待报告表 adds lodging); an absent one is zero."""

    meeting: Amount = "0"
    meals: Amount = "0"
    lodging: Amount = "0"
    transport: Amount = "0"
    gifts: Amount = "0"
    other: Amount = "0"


class HospitalityCostsOut(Schema):
    meeting: Decimal
    meals: Decimal
    lodging: Decimal
    transport: Decimal
    gifts: Decimal
    other: Decimal
    total: Decimal

    @classmethod
    def of(cls, *parts: Decimal | None) -> HospitalityCostsOut:
        """From meeting, meals, lodging, transport, gifts, other, in that order."""
        v = [p or Decimal("0.00") for p in parts]
        return cls(meeting=v[0], meals=v[1], lodging=v[2], transport=v[3], gifts=v[4], other=v[5],
                   total=sum(v, Decimal("0.00")))


def hospitality_costs(data: HospitalityCosts) -> tuple[Decimal, ...]:
    """meeting, meals, lodging, transport, gifts, other."""
    return tuple(Decimal(v) for v in (data.meeting, data.meals, data.lodging, data.transport, data.gifts,
                                      data.other))


def costs(data: Costs) -> tuple[Decimal, Decimal, Decimal, Decimal]:
    return Decimal(data.meals), Decimal(data.transport), Decimal(data.gifts), Decimal(data.other)


class GiftLine(Input):
    item: Text200
    unit_value: UnitValue
    quantity: Quantity = 1


class GiftLineOut(Schema):
    item: str
    quantity: int
    unit_value: Decimal
    value: Decimal  # quantity × unit value


def gift_lines(lines: list[GiftLine]) -> tuple[list[dict[str, Any]], Decimal]:
    """Lines as stored (decimal strings) and their total."""
    stored = [{"item": g.item, "quantity": g.quantity, "unitValue": str(Decimal(g.unit_value))} for g in lines]
    return stored, sum((Decimal(g.unit_value) * g.quantity for g in lines), Decimal("0.00"))


def gift_lines_out(stored: list[dict[str, Any]]) -> list[GiftLineOut]:
    return [GiftLineOut(item=g["item"], quantity=g["quantity"], unit_value=Decimal(g["unitValue"]),
                        value=Decimal(g["unitValue"]) * g["quantity"]) for g in stored]


GiftLines = Annotated[list[GiftLine], msgspec.Meta(max_length=20)]


# ------------------------------------------------------------------------------- visits


class VisitCreate(Input):
    """Plan a visit to a customer; it sits where the customer does."""

    customer_id: uuid.UUID
    purpose: Text500
    planned_at: Instant
    location: Text300 | None = None
    # Who visits (a staff account); the caller when absent.
    owner_id: uuid.UUID | None = None
    # True: the visit application (seed 000 §22 ②) goes to approval at once.
    submit: bool = False


class VisitUpdate(Input):
    """Change a planned visit; only the fields present change (``location: null`` clears it)."""

    purpose: Text500 | msgspec.UnsetType = msgspec.UNSET
    planned_at: Instant | msgspec.UnsetType = msgspec.UNSET
    location: Text300 | None | msgspec.UnsetType = msgspec.UNSET
    owner_id: uuid.UUID | msgspec.UnsetType = msgspec.UNSET


class VisitRecord(Input):
    """What happened at the visit. ``needs`` and ``objections`` are behaviour data: recorded
    only while the customer's behaviour consent is active (409 consent-required otherwise)."""

    visited_at: Instant | None = None  # now when absent
    needs: Points = []
    objections: Points = []
    gifts: GiftLines = []
    # A next appointment plans the follow-up visit at once.
    next_appointment_at: Instant | None = None
    notes: LongText | None = None


class VisitReport(Input):
    report: LongText
    expenses: Costs = msgspec.field(default_factory=Costs)


class Cancellation(Input):
    reason: Reason


class VisitOut(Schema):
    id: uuid.UUID
    number: str
    customer_id: uuid.UUID
    node_id: uuid.UUID
    owner_id: str
    purpose: str
    planned_at: datetime
    location: str | None
    status: VisitShownStatus
    approval_request_id: uuid.UUID | None  # the visit application's (seed 000 §22 ②)
    follow_up_of_id: uuid.UUID | None
    follow_up_id: uuid.UUID | None  # the visit planned from this one's next appointment
    visited_at: datetime | None
    needs: list[str]
    objections: list[str]
    gifts: list[GiftLineOut]
    next_appointment_at: datetime | None
    notes: str | None
    report: str | None
    reported_at: datetime | None
    expenses: CostsOut | None  # with the report
    # Finance's reimbursement of the reported expenses (seed 000 §22 ⑩ 费用报销).
    reimbursed_at: datetime | None
    reimbursed_by: str | None
    reimbursed_amount: Decimal | None
    cancel_reason: str | None
    created_at: datetime
    version: int


class VisitSummary(Schema):
    id: uuid.UUID
    number: str
    customer_id: uuid.UUID
    node_id: uuid.UUID
    owner_id: str
    purpose: str
    planned_at: datetime
    status: VisitShownStatus
    version: int


# --------------------------------------------------------------------------- receptions


class GuestIn(Input):
    name: Text100
    role: GuestRole = GuestRole.guest
    organisation: Text200 | None = None
    customer_id: uuid.UUID | None = None  # a guest who is a customer of the group


class GuestOut(Schema):
    name: str
    role: GuestRole
    organisation: str | None
    customer_id: uuid.UUID | None


Guests = Annotated[list[GuestIn], msgspec.Meta(max_length=100)]


class ReceptionCreate(Input):
    """Apply for a reception or hospitality at a project or branch (its approvers are found
    from there). With ``submit`` (the default) it goes to approval at once."""

    kind: ReceptionKind
    node_id: uuid.UUID
    title: Text200
    purpose: Text1000
    venue: Text300
    scheduled_at: Instant
    budget: HospitalityCosts
    guests: Guests = []
    submit: bool = True


class ReceptionUpdate(Input):
    """Revise a draft, or an application that was rejected or withdrawn; only the fields
    present change."""

    title: Text200 | msgspec.UnsetType = msgspec.UNSET
    purpose: Text1000 | msgspec.UnsetType = msgspec.UNSET
    venue: Text300 | msgspec.UnsetType = msgspec.UNSET
    scheduled_at: Instant | msgspec.UnsetType = msgspec.UNSET
    budget: HospitalityCosts | msgspec.UnsetType = msgspec.UNSET
    guests: Guests | msgspec.UnsetType = msgspec.UNSET


class Submission(Input):
    note: Text1000 | None = None  # for the approvers


class ReceptionReport(Input):
    """The report (seed 000 §18 客户招待报告表): when, how many, the actual costs by line, the
    customer's attendees (客户同席人员名单) and the company's (本公司同席人员名单, staff
    account ids), and what was learnt. It goes to the ``reception_report`` chain at once."""

    held_at: Instant
    attendee_count: Annotated[int, msgspec.Meta(ge=0, le=100_000)]
    actual: HospitalityCosts
    summary: LongText
    customer_attendees: Guests = []
    staff_attendees: Annotated[list[uuid.UUID], msgspec.Meta(max_length=100)] = []


class Reimbursement(Input):
    """Finance pays the reception's actual costs back (seed 000 §23 ⑨ 费用报销)."""

    note: Text1000 | None = None


class ReceptionOut(Schema):
    id: uuid.UUID
    number: str
    kind: ReceptionKind
    node_id: uuid.UUID
    applicant_id: str
    title: str
    purpose: str
    venue: str
    scheduled_at: datetime
    guests: list[GuestOut]
    budget: HospitalityCostsOut
    status: ReceptionStatus
    approval_request_id: uuid.UUID | None
    held_at: datetime | None
    attendee_count: int | None
    actual: HospitalityCostsOut | None
    customer_attendees: list[GuestOut]
    staff_attendees: list[str]
    # The report's review (reception_report chain) and finance's reimbursement after it.
    report_request_id: uuid.UUID | None
    report_status: RequestStatus | None
    reimbursed_at: datetime | None
    reimbursed_by: str | None
    reimbursed_amount: Decimal | None
    over_budget: bool | None  # with the report: the actual total above the budget's
    summary: str | None
    reported_at: datetime | None
    cancel_reason: str | None
    created_at: datetime
    version: int


class ReceptionSummary(Schema):
    id: uuid.UUID
    number: str
    kind: ReceptionKind
    node_id: uuid.UUID
    title: str
    scheduled_at: datetime
    budget_total: Decimal
    status: ReceptionStatus
    version: int


# -------------------------------------------------------------------------------- gifts


class GiftPlanCustomer(Input):
    """A customer's line of the gift plan (seed 000 §19 礼品馈赠计划表): the customer, their
    industry (从事行业), the person in charge there (负责人姓名), the state of the cooperation
    (合作现状), the purpose of the gifts (馈赠目的), the gifts (礼品名称, 数量) and their budget
    (预算价值, the gifts' total)."""

    customer_id: uuid.UUID
    industry: Text200
    contact: Text200
    cooperation: Text200
    purpose: Text1000
    items: Annotated[list[GiftLine], msgspec.Meta(min_length=1, max_length=20)]
    note: Text500 | None = None


PlanCustomers = Annotated[list[GiftPlanCustomer], msgspec.Meta(max_length=200)]


class GiftPlanCreate(Input):
    """An occasion's gifts (``items``), per customer (``customers``, seed 000 §19), or both: at
    least one line (422 naming ``items`` otherwise). The budget is all the lines' total."""

    node_id: uuid.UUID
    title: Text200
    occasion: Text200
    items: Annotated[list[GiftLine], msgspec.Meta(max_length=20)] = msgspec.field(default_factory=list)
    customers: PlanCustomers = msgspec.field(default_factory=list)


class GiftPlanUpdate(Input):
    title: Text200 | msgspec.UnsetType = msgspec.UNSET
    occasion: Text200 | msgspec.UnsetType = msgspec.UNSET
    items: Annotated[list[GiftLine], msgspec.Meta(max_length=20)] | msgspec.UnsetType = msgspec.UNSET
    customers: PlanCustomers | msgspec.UnsetType = msgspec.UNSET
    status: GiftPlanStatus | msgspec.UnsetType = msgspec.UNSET


class GiftPlanCustomerOut(Schema):
    customer_id: uuid.UUID
    customer_number: str
    industry: str
    contact: str
    cooperation: str
    purpose: str
    items: list[GiftLineOut]
    budget: Decimal  # the line's gifts' total
    note: str | None


class GiftPlanOut(Schema):
    id: uuid.UUID
    node_id: uuid.UUID
    title: str
    occasion: str
    items: list[GiftLineOut]
    customers: list[GiftPlanCustomerOut]  # the plan per customer (seed 000 §19)
    budget: Decimal  # the items' and the customers' lines' total
    # Applications pending, approved or issued against the plan, and what is left.
    committed: Decimal
    remaining: Decimal
    status: GiftPlanStatus
    created_at: datetime
    version: int


class GiftApplicationCreate(Input):
    """Apply to give gifts (to a customer, or another recipient), against a plan or not; it
    goes to approval at once."""

    node_id: uuid.UUID
    recipient: Text200
    purpose: Text1000
    items: Annotated[list[GiftLine], msgspec.Meta(min_length=1, max_length=20)]
    plan_id: uuid.UUID | None = None
    customer_id: uuid.UUID | None = None
    visit_id: uuid.UUID | None = None


class Issue(Input):
    issued_at: Instant | None = None  # now when absent


class GiftApplicationOut(Schema):
    id: uuid.UUID
    number: str
    node_id: uuid.UUID
    applicant_id: str
    plan_id: uuid.UUID | None
    customer_id: uuid.UUID | None
    visit_id: uuid.UUID | None
    recipient: str
    purpose: str
    items: list[GiftLineOut]
    total: Decimal
    status: GiftApplicationStatus
    approval_request_id: uuid.UUID | None
    issued_at: datetime | None
    cancel_reason: str | None
    created_at: datetime
    version: int


# -------------------------------------------------------------------------------- calls


class Resolved(Input, tag="resolved", tag_field="kind"):
    """The caller's question was answered."""


class Interested(Input, tag="interested", tag_field="kind"):
    """Interest shown; what in is behaviour data (needs the customer's consent)."""

    interests: Points = []


class NotInterested(Input, tag="not_interested", tag_field="kind"):
    """No interest; the objections heard are behaviour data (need the customer's consent)."""

    objections: Points = []


class Callback(Input, tag="callback", tag_field="kind"):
    callback_at: Instant


class Failed(Input, tag="failed", tag_field="kind"):
    """No conversation took place."""

    reason: FailureReason


Outcome = Resolved | Interested | NotInterested | Callback | Failed


class CallCreate(Input):
    """Log a call. A known customer's call sits at the customer's node; an unknown caller's
    at ``nodeId`` (the group when absent)."""

    direction: CallDirection
    started_at: Instant
    duration_seconds: Annotated[int, msgspec.Meta(ge=0, le=86_400)]
    subject: Text200
    outcome: Outcome
    customer_id: uuid.UUID | None = None
    contact_note: Text500 | None = None
    phone: Annotated[str, msgspec.Meta(
        pattern=r"^(\+86)?1[3-9][0-9]{9}$", examples=["13800138000"],
        extra_json_schema={"extra": {"format": "cn-mobile"}},
        description="The number called or calling (mainland mobile); stored encrypted, shown masked.")] | None = None
    node_id: uuid.UUID | None = None
    notes: LongText | None = None
    inquiry_id: uuid.UUID | None = None  # the inquiry the call opened or was about


class CallOut(Schema):
    id: uuid.UUID
    direction: CallDirection
    customer_id: uuid.UUID | None
    contact_note: str | None
    phone: str | None  # masked
    node_id: uuid.UUID
    agent_id: str
    started_at: datetime
    duration_seconds: int
    subject: str
    notes: str | None
    outcome: CallOutcome
    interests: list[str]
    objections: list[str]
    failure_reason: FailureReason | None
    callback_at: datetime | None
    inquiry_id: uuid.UUID | None
    created_at: datetime
    version: int
