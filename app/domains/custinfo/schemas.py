"""Request and response bodies of the customer information API."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated, Literal

import msgspec

from app.core.schemas import ONE_LINE_PATTERN, Input, Schema
from app.domains.custinfo.models import (
    DevelopmentResult,
    InfoChannel,
    InfoItemStatus,
    InfoTopic,
    ReviewDue,
    ReviewOutcome,
    ReviewStatus,
)

Title = Annotated[str, msgspec.Meta(min_length=1, max_length=200, pattern=ONE_LINE_PATTERN)]
Text500 = Annotated[str, msgspec.Meta(min_length=1, max_length=500)]
Text1000 = Annotated[str, msgspec.Meta(min_length=1, max_length=1000)]
Text2000 = Annotated[str, msgspec.Meta(min_length=1, max_length=2000)]
Department = Annotated[str, msgspec.Meta(min_length=1, max_length=100, pattern=ONE_LINE_PATTERN,
                                         examples=["工程部 Engineering"])]

# ----------------------------------------------------------------------- quarterly review


class ReviewCreate(Input):
    """Open a quarter's review at a node (the group, a branch or a project); the quarter is
    today's in the group's time zone when not given."""

    node_id: uuid.UUID
    year: Annotated[int, msgspec.Meta(ge=2000, le=2100)] | None = None
    quarter: Annotated[int, msgspec.Meta(ge=1, le=4)] | None = None


class ReviewProgress(Schema):
    listed: int
    pending: int
    confirmed: int
    updated: int
    retired: int
    percent_done: int  # worked of listed, rounded down; 100 when nothing was listed


class ReviewOut(Schema):
    id: uuid.UUID
    number: str
    node_id: uuid.UUID
    year: int
    quarter: int
    starts_on: date
    ends_on: date
    status: ReviewStatus
    opened_by: str
    closed_at: datetime | None
    closed_by: str | None
    progress: ReviewProgress
    version: int
    created_at: datetime


class ReviewItemOut(Schema):
    id: uuid.UUID
    review_id: uuid.UUID
    customer_id: uuid.UUID
    customer_number: str
    customer_name: str
    node_id: uuid.UUID
    valid_until: date
    due: ReviewDue
    outcome: ReviewOutcome
    new_valid_until: date | None
    note: str | None
    worked_by: str | None
    worked_at: datetime | None
    version: int


class ConfirmItem(Input, tag="confirmed", tag_field="outcome"):
    """Checked and still right: renewed until ``validUntil``, after the quarter's end (409 otherwise)."""

    valid_until: date
    note: Text1000 | None = None


class UpdateItem(Input, tag="updated", tag_field="outcome"):
    """Corrected (through ``PATCH /customers/{id}`` first) and renewed until ``validUntil``,
    after the quarter's end (409 otherwise)."""

    valid_until: date
    note: Text1000 | None = None


class RetireItem(Input, tag="retired", tag_field="outcome"):
    """No longer a live customer: made inactive."""

    note: Text1000 | None = None


# How a listed record was worked.
ReviewItemWork = ConfirmItem | UpdateItem | RetireItem


class ReviewClose(Input):
    note: Text1000 | None = None


# ------------------------------------------------------------------- customer development


class ScreeningEntryIn(Input):
    customer_id: uuid.UUID
    qualified: bool
    reason: Text1000  # why the prospect qualifies or not: the screening's evaluation


class ScreeningCreate(Input):
    node_id: uuid.UUID
    title: Title
    scope: Text1000  # 确定新客户范围: the kind of new customer sought
    entries: Annotated[list[ScreeningEntryIn], msgspec.Meta(min_length=1, max_length=200)]


class ScreeningEntryOut(Schema):
    customer_id: uuid.UUID
    customer_number: str
    customer_name: str
    qualified: bool
    reason: str


class ScreeningOut(Schema):
    id: uuid.UUID
    number: str
    node_id: uuid.UUID
    title: str
    scope: str
    screened_by: str
    entries: list[ScreeningEntryOut]
    version: int
    created_at: datetime


DevelopmentStatus = Literal["pending", "approved", "rejected", "withdrawn", "closed"]


class DevelopmentCreate(Input):
    """④ 新客户开发申请 for a prospect the screening found qualified; submitted to the
    ``customer_development`` approval chain at once."""

    screening_id: uuid.UUID
    customer_id: uuid.UUID
    plan: Text2000  # the development plan: approach, people, schedule, budget
    report_every_days: Annotated[int, msgspec.Meta(ge=7, le=92)] = 30  # ⑥ 定期汇报


class DevelopmentReportIn(Input):
    """⑥ A periodic report: the period runs from the approval (or the previous report's end) to
    ``periodEnd``."""

    period_end: date
    progress: Text2000
    next_steps: Text1000 | None = None


class DevelopmentClose(Input):
    result: DevelopmentResult
    note: Text1000


class DevelopmentReportOut(Schema):
    id: uuid.UUID
    development_id: uuid.UUID
    period_start: date
    period_end: date
    progress: str
    next_steps: str | None
    reported_by: str
    created_at: datetime
    version: int


class DevelopmentOut(Schema):
    id: uuid.UUID
    number: str
    node_id: uuid.UUID
    customer_id: uuid.UUID
    screening_id: uuid.UUID
    applicant_id: str
    plan: str
    report_every_days: int
    status: DevelopmentStatus
    approval_request_id: uuid.UUID | None
    next_report_on: date | None
    report_overdue: bool  # approved, open, and its next report's day has passed
    reports: list[DevelopmentReportOut]
    result: DevelopmentResult | None
    closing_note: str | None
    closed_at: datetime | None
    version: int
    created_at: datetime


# -------------------------------------------------------------------- information needs


class NeedCreate(Input):
    """4.8.2 A department states what customer information it needs."""

    node_id: uuid.UUID
    department: Department
    topic: InfoTopic
    description: Text2000


class NeedUpdate(Input):
    description: Text2000 | msgspec.UnsetType = msgspec.UNSET
    active: bool | msgspec.UnsetType = msgspec.UNSET


class NeedOut(Schema):
    id: uuid.UUID
    number: str
    node_id: uuid.UUID
    department: str
    topic: InfoTopic
    description: str
    stated_by: str
    active: bool
    provisions: int  # how many times customer affairs provided information for it
    version: int
    created_at: datetime


class ItemCreate(Input):
    """4.8.3 Information collected from a customer (their feedback) or about them, sent to
    customer affairs."""

    node_id: uuid.UUID
    topic: InfoTopic
    channel: InfoChannel
    content: Text2000
    customer_id: uuid.UUID | None = None


class ItemReview(Input):
    """Customer affairs' review of a collected item against the requirements."""

    accepted: bool
    note: Text1000 | None = None


class ItemClassify(Input):
    """4.8.4 File a reviewed item under its topic, with tags the departments asked for."""

    topic: InfoTopic
    # Blank tags are dropped, the rest trimmed to 50 characters, each kept once.
    tags: Annotated[list[str], msgspec.Meta(max_length=20)] = []


class ItemOut(Schema):
    id: uuid.UUID
    number: str
    node_id: uuid.UUID
    customer_id: uuid.UUID | None
    topic: InfoTopic
    channel: InfoChannel
    content: str
    collected_by: str
    status: InfoItemStatus
    review_note: str | None
    reviewed_by: str | None
    reviewed_at: datetime | None
    tags: list[str]
    classified_at: datetime | None
    version: int
    created_at: datetime


class TopicCount(Schema):
    topic: InfoTopic
    collected: int
    accepted: int
    rejected: int
    classified: int


class ItemSummary(Schema):
    """4.8.3 The aggregate customer affairs reviews: items per topic and status."""

    topics: list[TopicCount]


class ProvisionCreate(Input):
    """4.8.5 Provide classified items to the department that asked (on demand)."""

    item_ids: Annotated[list[uuid.UUID], msgspec.Meta(min_length=1, max_length=200)]
    note: Text1000 | None = None


class ProvisionOut(Schema):
    id: uuid.UUID
    need_id: uuid.UUID
    node_id: uuid.UUID
    department: str
    items: list[ItemOut]
    note: str | None
    provided_by: str
    created_at: datetime
    version: int
