"""Request and response bodies of customer forums and their improvement actions."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Literal

import msgspec

from app.core.schemas import Input, Instant, Schema
from app.domains.customers.schemas import Amount, Reason
from app.domains.forums.models import ActionStatus, FindingCategory, ForumKind, ForumScope, InviteeStatus

Text200 = Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
Text300 = Annotated[str, msgspec.Meta(min_length=1, max_length=300)]
LongText = Annotated[str, msgspec.Meta(min_length=1, max_length=20000)]
Customers = Annotated[list[uuid.UUID], msgspec.Meta(min_length=1, max_length=200)]
ForumStatus = Literal["draft", "pending", "approved", "rejected", "withdrawn", "held", "closed", "cancelled"]


class ForumCreate(Input):
    """A forum's purpose and plan (timing, format, participants, budget) at a project or
    branch; with ``submit`` it goes to the ``forum_plan`` approval chain at once."""

    node_id: uuid.UUID
    title: Text200
    kind: ForumKind
    scope: ForumScope
    purpose: LongText
    planned_at: Instant
    format: Text200
    participants: LongText
    budget: Amount
    theme: Text200 | None = None
    venue: Text300 | None = None
    submit: bool = False


class ForumUpdate(Input):
    title: Text200 | msgspec.UnsetType = msgspec.UNSET
    kind: ForumKind | msgspec.UnsetType = msgspec.UNSET
    scope: ForumScope | msgspec.UnsetType = msgspec.UNSET
    theme: Text200 | None | msgspec.UnsetType = msgspec.UNSET
    purpose: LongText | msgspec.UnsetType = msgspec.UNSET
    planned_at: Instant | msgspec.UnsetType = msgspec.UNSET
    format: Text200 | msgspec.UnsetType = msgspec.UNSET
    venue: Text300 | None | msgspec.UnsetType = msgspec.UNSET
    participants: LongText | msgspec.UnsetType = msgspec.UNSET
    budget: Amount | msgspec.UnsetType = msgspec.UNSET


class Submission(Input):
    note: Annotated[str, msgspec.Meta(min_length=1, max_length=2000)] | None = None


class Invitations(Input):
    customer_ids: Customers


class Minutes(Input):
    """The meeting took place: when, who came (of those invited), what was said."""

    held_at: Instant
    minutes: LongText
    attended: Annotated[list[uuid.UUID], msgspec.Meta(max_length=200)] = []
    actual_cost: Amount | None = None


class ActionIn(Input):
    title: Text300
    owner_id: uuid.UUID  # a staff account of the group
    due_on: date


class FindingIn(Input):
    """A classified finding of the analysis, and the improvement actions it calls for."""

    category: FindingCategory
    description: LongText
    actions: Annotated[list[ActionIn], msgspec.Meta(max_length=20)] = []


class Closing(Input):
    analysis: LongText


class Cancellation(Input):
    reason: Reason


class ActionUpdate(Input):
    """Follow-up: a progress note, a new owner or due date (the overdue flag is cleared when
    the due date moves)."""

    progress: LongText | msgspec.UnsetType = msgspec.UNSET
    owner_id: uuid.UUID | msgspec.UnsetType = msgspec.UNSET
    due_on: date | msgspec.UnsetType = msgspec.UNSET


class ActionDone(Input):
    result: LongText


class ActionDrop(Input):
    reason: Reason


class InviteeOut(Schema):
    customer_id: uuid.UUID
    name: str
    status: InviteeStatus
    invited_at: datetime


class ForumOut(Schema):
    id: uuid.UUID
    node_id: uuid.UUID
    number: str
    title: str
    kind: ForumKind
    scope: ForumScope
    theme: str | None
    purpose: str
    planned_at: datetime
    format: str
    venue: str | None
    participants: str
    budget: Decimal
    status: ForumStatus
    approval_request_id: uuid.UUID | None
    invited: int
    attended: int
    held_at: datetime | None
    minutes: str | None
    analysis: str | None
    actual_cost: Decimal | None
    cancel_reason: str | None
    created_at: datetime
    version: int


class ActionOut(Schema):
    id: uuid.UUID
    forum_id: uuid.UUID
    finding_id: uuid.UUID
    node_id: uuid.UUID
    title: str
    owner_id: str
    due_on: date
    status: ActionStatus
    overdue: bool  # open past its due date (in the group's time zone)
    overdue_since: date | None
    progress: str | None
    result: str | None
    done_at: datetime | None
    version: int


class FindingOut(Schema):
    id: uuid.UUID
    forum_id: uuid.UUID
    category: FindingCategory
    description: str
    actions: list[ActionOut]
    created_at: datetime
    version: int = 1
