"""Request and response bodies of the club: clubs and their tiers, members and their points,
activities, registrations and check-in.

Amounts are decimal strings (never JSON numbers), points whole numbers with bounds that keep
every balance inside its column.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Literal

import msgspec

from app.core.schemas import Input, Instant, Schema
from app.domains.club.models import ActivityKind, EntryKind, MemberStatus, RegistrationStatus
from app.domains.customers.schemas import Amount, Reason

Text100 = Annotated[str, msgspec.Meta(min_length=1, max_length=100)]
Text200 = Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
Text300 = Annotated[str, msgspec.Meta(min_length=1, max_length=300)]
Text500 = Annotated[str, msgspec.Meta(min_length=1, max_length=500)]
LongText = Annotated[str, msgspec.Meta(min_length=1, max_length=10000)]
Code = Annotated[str, msgspec.Meta(pattern=r"^[a-z][a-z0-9_]{0,39}$", examples=["gold"])]
# One movement: at most a million points; a balance stays far below the column's limit.
Points = Annotated[int, msgspec.Meta(ge=1, le=1_000_000)]
Threshold = Annotated[int, msgspec.Meta(ge=0, le=1_000_000_000)]
Count = Annotated[int, msgspec.Meta(ge=0, le=1_000_000)]
# A club's or an activity's status: its own stage, or while under review its request's.
ClubStatus = Literal["draft", "pending", "approved", "rejected", "withdrawn", "established", "closed"]
ActivityStatus = Literal["draft", "pending", "approved", "rejected", "withdrawn", "published", "held", "evaluated",
                         "cancelled"]


# --------------------------------------------------------------------------------- clubs


class TierIn(Input):
    code: Code
    name: Text100
    min_points: Threshold
    benefits: Annotated[str, msgspec.Meta(max_length=2000)] | None = None


Tiers = Annotated[list[TierIn], msgspec.Meta(min_length=1, max_length=10)]


class ClubCreate(Input):
    """The establishment plan of a club at the group or a branch; with ``submit`` it goes to
    the ``club_plan`` approval chain at once. Without tiers, one ``member`` tier from 0."""

    node_id: uuid.UUID
    name: Text100
    purpose: LongText
    charter: LongText
    budget: Amount
    referral_points: Count = 0
    tiers: Tiers | None = None
    submit: bool = False


class ClubUpdate(Input):
    """Revise a draft plan, or one rejected or withdrawn; only the fields present change."""

    name: Text100 | msgspec.UnsetType = msgspec.UNSET
    purpose: LongText | msgspec.UnsetType = msgspec.UNSET
    charter: LongText | msgspec.UnsetType = msgspec.UNSET
    budget: Amount | msgspec.UnsetType = msgspec.UNSET
    referral_points: Count | msgspec.UnsetType = msgspec.UNSET
    tiers: Tiers | msgspec.UnsetType = msgspec.UNSET


class Submission(Input):
    note: Annotated[str, msgspec.Meta(min_length=1, max_length=2000)] | None = None


class TierOut(Schema):
    id: uuid.UUID
    code: str
    name: str
    min_points: int
    benefits: str | None


class ClubOut(Schema):
    id: uuid.UUID
    node_id: uuid.UUID
    name: str
    purpose: str
    charter: str
    budget: Decimal
    referral_points: int
    tiers: list[TierOut]
    status: ClubStatus
    approval_request_id: uuid.UUID | None
    established_at: datetime | None
    members: int
    created_at: datetime
    version: int


# ------------------------------------------------------------------------------- members


class MemberCreate(Input):
    """Enrol an owner or a prospect in an established club."""

    club_id: uuid.UUID
    customer_id: uuid.UUID
    birth_date: date | None = None
    referred_by_id: uuid.UUID | None = None


class OwnEnrolment(Input):
    """An owner joins a club from the app."""

    club_id: uuid.UUID
    birth_date: date | None = None


class MemberUpdate(Input):
    birth_date: date | None | msgspec.UnsetType = msgspec.UNSET


class Leaving(Input):
    reason: Reason


class MemberOut(Schema):
    id: uuid.UUID
    club_id: uuid.UUID
    club_name: str
    customer_id: uuid.UUID
    node_id: uuid.UUID
    number: str
    tier: TierOut
    status: MemberStatus
    joined_on: date
    birth_date: date | None
    referred_by_id: uuid.UUID | None
    balance: int
    lifetime_points: int
    left_at: datetime | None
    version: int


class MemberCard(Schema):
    """What the owner's app shows as the membership card."""

    id: uuid.UUID
    club_id: uuid.UUID
    club_name: str
    number: str
    tier: TierOut
    status: MemberStatus
    joined_on: date
    balance: int
    card_code: str  # what the card's QR code carries: the member number and its check
    version: int


class EntryIn(Input):
    """A movement of points: ``earn`` credits, ``redeem`` and ``expire`` debit (never below
    zero: 409 naming the balance)."""

    kind: Literal["earn", "redeem", "expire"]
    points: Points
    reason: Text500
    reference: Text200 | None = None


class Reversal(Input):
    reason: Text500


class EntryOut(Schema):
    id: uuid.UUID
    member_id: uuid.UUID
    kind: EntryKind
    points: int
    balance_after: int
    reason: str
    reference: str | None
    reverses_id: uuid.UUID | None
    reversed_by_id: uuid.UUID | None
    created_by: str
    created_at: datetime
    version: int = 1  # entries never change


# ---------------------------------------------------------------------------- activities


class BudgetLine(Input):
    item: Text200
    amount: Amount


BudgetLines = Annotated[list[BudgetLine], msgspec.Meta(max_length=30)]
TierCodes = Annotated[list[Code], msgspec.Meta(max_length=10)]
ProjectIds = Annotated[list[uuid.UUID], msgspec.Meta(max_length=50)]


class ActivityCreate(Input):
    """A period plan or an event plan at a project or branch, for a club; with ``submit`` it
    goes to the ``club_activity`` approval chain at once."""

    club_id: uuid.UUID
    node_id: uuid.UUID
    kind: ActivityKind
    title: Text200
    purpose: LongText
    content: LongText
    form: Text200
    starts_at: Instant
    ends_at: Instant
    capacity: Annotated[int, msgspec.Meta(ge=1, le=100_000)]
    budget: BudgetLines = []
    venue: Text300 | None = None
    tiers: TierCodes = []
    project_ids: ProjectIds = []
    submit: bool = False


class ActivityUpdate(Input):
    title: Text200 | msgspec.UnsetType = msgspec.UNSET
    purpose: LongText | msgspec.UnsetType = msgspec.UNSET
    content: LongText | msgspec.UnsetType = msgspec.UNSET
    form: Text200 | msgspec.UnsetType = msgspec.UNSET
    venue: Text300 | None | msgspec.UnsetType = msgspec.UNSET
    starts_at: Instant | msgspec.UnsetType = msgspec.UNSET
    ends_at: Instant | msgspec.UnsetType = msgspec.UNSET
    capacity: Annotated[int, msgspec.Meta(ge=1, le=100_000)] | msgspec.UnsetType = msgspec.UNSET
    budget: BudgetLines | msgspec.UnsetType = msgspec.UNSET
    tiers: TierCodes | msgspec.UnsetType = msgspec.UNSET
    project_ids: ProjectIds | msgspec.UnsetType = msgspec.UNSET


class ActivityRecord(Input):
    """The activity took place: what happened and what it cost, by line item."""

    summary: LongText
    actual: BudgetLines


class EvaluationIn(Input):
    """What followed, linked afterwards: referrals and purchases it brought, and the
    questionnaire its satisfaction survey used (the surveys domain's results of participants
    after the activity started are its satisfaction)."""

    referrals: Count
    purchases: Count
    sales_value: Amount = "0"
    questionnaire_id: uuid.UUID | None = None
    notes: LongText | None = None


class Cancellation(Input):
    reason: Reason


class BudgetLineOut(Schema):
    item: str
    amount: Decimal


class ActivityOut(Schema):
    id: uuid.UUID
    club_id: uuid.UUID
    node_id: uuid.UUID
    number: str
    kind: ActivityKind
    title: str
    purpose: str
    content: str
    form: str
    venue: str | None
    starts_at: datetime
    ends_at: datetime
    capacity: int
    budget: list[BudgetLineOut]
    budget_total: Decimal
    tiers: list[str]
    project_ids: list[uuid.UUID]
    status: ActivityStatus
    approval_request_id: uuid.UUID | None
    published_at: datetime | None
    registered: int
    waitlisted: int
    checked_in: int
    summary: str | None
    actual: list[BudgetLineOut] | None
    actual_cost: Decimal | None
    cancel_reason: str | None
    created_at: datetime
    version: int


class Evaluation(Schema):
    """What an activity achieved: participants, conversion, satisfaction, cost–benefit."""

    activity_id: uuid.UUID
    registered: int  # places taken (checked in or not)
    participants: int  # checked in
    attendance_rate: float | None  # participants / places taken
    referrals: int | None
    purchases: int | None
    conversion_rate: float | None  # purchases / participants
    sales_value: Decimal | None
    satisfaction: float | None  # mean overall score (0–100) of the survey's results from participants
    satisfaction_responses: int
    budget: Decimal
    cost: Decimal | None
    cost_per_participant: Decimal | None
    benefit_cost_ratio: float | None  # sales value / cost
    notes: str | None


class OwnActivity(Schema):
    """An activity as the owner's app shows it."""

    id: uuid.UUID
    club_id: uuid.UUID
    number: str
    title: str
    content: str
    form: str
    venue: str | None
    starts_at: datetime
    ends_at: datetime
    capacity: int
    places_left: int
    my_registration_id: uuid.UUID | None
    my_status: RegistrationStatus | None


class RegistrationIn(Input):
    """Staff register a member (the owner's app registers its owner)."""

    member_id: uuid.UUID


class RegistrationOut(Schema):
    id: uuid.UUID
    activity_id: uuid.UUID
    member_id: uuid.UUID
    status: RegistrationStatus
    waitlist_position: int | None
    promoted_at: datetime | None
    cancelled_at: datetime | None
    checked_in_at: datetime | None
    # What the QR code carries, for a place held (not waitlisted, not used): shown to its
    # owner only.
    check_in_token: str | None
    created_at: datetime
    version: int


class CheckIn(Input):
    """The token a member's QR code carries, scanned at the door."""

    token: Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
