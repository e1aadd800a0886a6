"""Request and response bodies of improvement actions, big-customer strategies and return
visits, and after-sales service plans. A record under review shows its approval request's
status (``pending``, ``approved``, ``rejected``, ``withdrawn``) in place of ``submitted``."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated, Literal

import msgspec

from app.core.schemas import Input, Schema
from app.domains.keyaccounts.models import PlanKind

Text200 = Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
LongText = Annotated[str, msgspec.Meta(min_length=1, max_length=10000)]
Note = Annotated[str, msgspec.Meta(min_length=1, max_length=2000)]
Day = Annotated[date, msgspec.Meta(description="A calendar day, YYYY-MM-DD.")]

ActionStatus = Literal["draft", "pending", "approved", "rejected", "withdrawn", "in_progress", "done", "cancelled"]
StrategyStatus = Literal["draft", "pending", "approved", "rejected", "withdrawn", "in_force", "reviewed"]
VisitStatus = Literal["notified", "pending", "approved", "rejected", "withdrawn", "archived", "cancelled"]
PlanStatus = Literal["draft", "pending", "approved", "rejected", "withdrawn", "trial", "in_force"]


class Submission(Input):
    note: Note | None = None


class Cancellation(Input):
    reason: Note


# ------------------------------------------------------------------------ improvement actions


class ActionCreate(Input):
    """Raised from one survey result (``source: result``) or from a return-visit plan's
    statistics (``source: plan``), named by ``sourceId``. With ``submit`` it goes to approval
    at once."""

    source: Literal["result", "plan"]
    source_id: uuid.UUID
    finding: LongText
    action: LongText
    owner_id: uuid.UUID  # the staff account that carries it out
    due_on: Day
    submit: bool = False


class ActionUpdate(Input):
    finding: LongText | msgspec.UnsetType = msgspec.UNSET
    action: LongText | msgspec.UnsetType = msgspec.UNSET
    owner_id: uuid.UUID | msgspec.UnsetType = msgspec.UNSET
    due_on: Day | msgspec.UnsetType = msgspec.UNSET


class ActionDone(Input):
    outcome: LongText


class ImprovementOut(Schema):
    id: uuid.UUID
    number: str
    node_id: uuid.UUID
    plan_id: uuid.UUID | None
    result_id: uuid.UUID | None
    customer_id: uuid.UUID | None
    finding: str
    action: str
    owner_id: str
    due_on: date
    status: ActionStatus
    overdue: bool
    overdue_since: date | None
    approval_request_id: uuid.UUID | None
    started_at: datetime | None
    outcome: str | None
    done_at: datetime | None
    cancel_reason: str | None
    created_by: str
    created_at: datetime
    version: int


# -------------------------------------------------------------------- big-customer strategies


class StrategyCreate(Input):
    """For one key customer (one with an account manager, or of grade A)."""

    customer_id: uuid.UUID
    title: Text200
    goals: LongText
    strategy: LongText
    starts_on: Day
    ends_on: Day
    submit: bool = False


class StrategyUpdate(Input):
    title: Text200 | msgspec.UnsetType = msgspec.UNSET
    goals: LongText | msgspec.UnsetType = msgspec.UNSET
    strategy: LongText | msgspec.UnsetType = msgspec.UNSET
    starts_on: Day | msgspec.UnsetType = msgspec.UNSET
    ends_on: Day | msgspec.UnsetType = msgspec.UNSET


class StrategyReview(Input):
    review: LongText


class StrategyOut(Schema):
    id: uuid.UUID
    number: str
    customer_id: uuid.UUID
    node_id: uuid.UUID
    title: str
    goals: str
    strategy: str
    starts_on: date
    ends_on: date
    status: StrategyStatus
    approval_request_id: uuid.UUID | None
    approved_at: datetime | None
    review: str | None
    reviewed_at: datetime | None
    created_by: str
    created_at: datetime
    version: int


# ------------------------------------------------------------------- big-customer return visits


class VisitNotice(Input):
    """The return-visit notice for a key customer, assigning the visit to a specialist."""

    customer_id: uuid.UUID
    purpose: LongText
    scheduled_on: Day
    visitor_id: uuid.UUID


class Companion(Input):
    name: Text200
    department: Text200


class CompanionOut(Schema):
    name: str
    department: str


class VisitReport(Input):
    """The written report of the on-site visit; it goes to approval."""

    visited_on: Day
    findings: LongText
    customer_feedback: LongText
    service_quality: LongText | None = None
    companions: Annotated[list[Companion], msgspec.Meta(max_length=50)] = msgspec.field(default_factory=list)
    note: Note | None = None


class VisitOut(Schema):
    id: uuid.UUID
    number: str
    customer_id: uuid.UUID
    node_id: uuid.UUID
    purpose: str
    scheduled_on: date
    visitor_id: str
    notified_by: str
    status: VisitStatus
    visited_on: date | None
    companions: list[CompanionOut]
    findings: str | None
    service_quality: str | None
    customer_feedback: str | None
    reported_at: datetime | None
    approval_request_id: uuid.UUID | None
    archived_at: datetime | None
    cancel_reason: str | None
    created_at: datetime
    version: int


# ----------------------------------------------------------------- after-sales service plans


class PlanCreate(Input):
    """A routine plan goes to the after-sales manager; a non-routine one to senior management
    as well. Once approved it is tried out until ``trialEndsOn``."""

    node_id: uuid.UUID
    kind: PlanKind
    title: Text200
    issue: LongText
    content: LongText
    trial_ends_on: Day
    customer_id: uuid.UUID | None = None
    submit: bool = False


class PlanUpdate(Input):
    kind: PlanKind | msgspec.UnsetType = msgspec.UNSET
    title: Text200 | msgspec.UnsetType = msgspec.UNSET
    issue: LongText | msgspec.UnsetType = msgspec.UNSET
    content: LongText | msgspec.UnsetType = msgspec.UNSET
    trial_ends_on: Day | msgspec.UnsetType = msgspec.UNSET


class TrialEvaluation(Input):
    """The customers' response to the trial, judged: ``adopt`` puts the plan in force; not
    adopted, it goes back to a draft to be revised and approved again."""

    evaluation: LongText
    adopt: bool


class ServicePlanOut(Schema):
    id: uuid.UUID
    number: str
    node_id: uuid.UUID
    customer_id: uuid.UUID | None
    kind: PlanKind
    title: str
    issue: str
    content: str
    trial_ends_on: date
    status: PlanStatus
    approval_request_id: uuid.UUID | None
    trial_started_at: datetime | None
    evaluation: str | None
    in_force_at: datetime | None
    created_by: str
    created_at: datetime
    version: int
