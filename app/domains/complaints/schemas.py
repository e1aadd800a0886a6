"""Request and response bodies of complaints and disputes.

What a request must hold is said by the schema wherever JSON Schema can say it (a proposal
is one of five shapes, each with the fields its kind needs), so that a request the document
accepts is one the service can act on; what depends on the record's state is a conflict
(409), what names something the caller cannot see is not found (404, naming the field).
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated, Literal, get_args

import msgspec

from app.core.schemas import ONE_LINE_PATTERN, Input, Instant, Schema
from app.domains.complaints.models import (
    ATTACHMENT_UPLOADS,
    AttachmentStatus,
    ComplaintChannel,
    ComplaintStatus,
    LetterStatus,
    PauseReason,
    ProposalKind,
    ProposalStatus,
    Register,
    ResponsibleParty,
    Severity,
)
from app.domains.org.schemas import Department
from app.storage.uploads import FileName, Sha256Hex, UploadOut

# No whitespace pattern on free text: JSON Schema's and Python's notions of whitespace differ.
LongText = Annotated[str, msgspec.Meta(min_length=1, max_length=10000)]
Text1000 = Annotated[str, msgspec.Meta(min_length=1, max_length=1000)]
Text500 = Annotated[str, msgspec.Meta(min_length=1, max_length=500)]
Subject = Annotated[str, msgspec.Meta(min_length=1, max_length=200, pattern=ONE_LINE_PATTERN,
                                      examples=["卫生间渗水 Bathroom leaks"])]
Line200 = Annotated[str, msgspec.Meta(min_length=1, max_length=200, pattern=ONE_LINE_PATTERN)]
CaseReference = Annotated[str, msgspec.Meta(min_length=1, max_length=100, pattern=ONE_LINE_PATTERN,
                                            examples=["(2026)粤0305民初1234号"])]
CategoryCode = Annotated[str, msgspec.Meta(min_length=1, max_length=40, pattern=r"^[A-Z][A-Z0-9_]*$",
                                           examples=["WATERPROOFING"])]
# Positive yuan with at most two decimals: a compensation of nothing is no compensation.
PositiveMoney = Annotated[str, msgspec.Meta(
    pattern=r"^(?:[1-9][0-9]{0,15}(?:\.[0-9]{1,2})?|0\.(?:0[1-9]|[1-9][0-9]?))$", examples=["3000.00"],
    description="Yuan, a decimal string with at most two decimals, above zero.")]
# At most some 220 working days of 7.5 hours: even its tenfold (the furthest escalation line)
# then ends within the ten years business time looks ahead (business_time.MAX_SEARCH_DAYS).
TargetMinutes = Annotated[int, msgspec.Meta(ge=1, le=100_000, description="Business minutes, at most 100,000.")]
Satisfaction = Annotated[int, msgspec.Meta(ge=1, le=5, description="1 (very dissatisfied) to 5 (very satisfied).")]
Month = Annotated[str, msgspec.Meta(pattern=r"^20[0-9]{2}-(0[1-9]|1[0-2])$", examples=["2026-03"],
                                    description="A month, YYYY-MM, in the tenant's time zone.")]
Months = Annotated[int, msgspec.Meta(ge=1, le=60, description="How many months, from `month` on.")]
FileSize = Annotated[int, msgspec.Meta(ge=1, le=ATTACHMENT_UPLOADS.max_size, description="Bytes, at most 20 MiB.")]
ContentType = Literal["image/jpeg", "image/png", "image/webp", "image/heic", "application/pdf"]
if get_args(ContentType) != ATTACHMENT_UPLOADS.content_types:
    raise RuntimeError("ContentType must list the types ATTACHMENT_UPLOADS accepts")
Level = Literal["project", "branch", "group"]


# ------------------------------------------------------------------------------ input


class RecordCreate(Input):
    channel: ComplaintChannel
    project_id: uuid.UUID
    category_id: uuid.UUID
    subject: Subject
    description: LongText
    # Who complained and how to reach them (an unknown caller has no customer record).
    contact_note: Text500
    customer_id: uuid.UUID | None = None
    unit_id: uuid.UUID | None = None  # a unit of the project
    severity: Severity = Severity.medium
    # When it reached us, for a letter or a call entered afterwards (within the last year).
    received_at: Instant | None = None
    # The other party (disputes), or a third party the complaint involves.
    counterparty: Text500 | None = None
    # Another record of the same register this one is joint with (many owners, one matter).
    joint_with: uuid.UUID | None = None
    # The staff account to handle it; the registering staff member when absent.
    handler_id: uuid.UUID | None = None


class RecordUpdate(Input):
    """Only the fields to change; ``null`` clears an optional one."""

    subject: Subject | msgspec.UnsetType = msgspec.UNSET
    description: LongText | msgspec.UnsetType = msgspec.UNSET
    severity: Severity | msgspec.UnsetType = msgspec.UNSET
    category_id: uuid.UUID | msgspec.UnsetType = msgspec.UNSET
    unit_id: uuid.UUID | None | msgspec.UnsetType = msgspec.UNSET
    customer_id: uuid.UUID | None | msgspec.UnsetType = msgspec.UNSET
    contact_note: Text500 | msgspec.UnsetType = msgspec.UNSET
    counterparty: Text500 | None | msgspec.UnsetType = msgspec.UNSET
    handler_id: uuid.UUID | None | msgspec.UnsetType = msgspec.UNSET
    joint_with: uuid.UUID | None | msgspec.UnsetType = msgspec.UNSET


class InvestigateIn(Input):
    # What the customer is told on taking the matter up (their first response): shown to them.
    reply: LongText


class FindingsIn(Input):
    cause: LongText
    responsible_party: ResponsibleParty


class _Proposal(Input, tag_field="kind", kw_only=True):
    description: LongText
    # Agreed with the customer beforehand: once approved, handling starts without negotiating.
    pre_negotiated: bool = False


class ApologyProposal(_Proposal, tag="apology", kw_only=True):
    pass


class CompensationProposal(_Proposal, tag="compensation", kw_only=True):
    amount: PositiveMoney


class ReplacementProposal(_Proposal, tag="replacement", kw_only=True):
    item: Text500  # what is replaced
    due_date: date  # replaced by


class RepairProposal(_Proposal, tag="repair", kw_only=True):
    due_date: date  # repaired by


class OtherProposal(_Proposal, tag="other", kw_only=True):
    pass


ProposalIn = ApologyProposal | CompensationProposal | ReplacementProposal | RepairProposal | OtherProposal


class NegotiationIn(Input):
    customer_response: LongText
    agreed: bool  # false: the proposal is revised (a new proposal, approved again)


class HandlingIn(Input):
    result: LongText  # what was done
    check: LongText  # how the result was checked


class FeedbackIn(Input):
    opinion: LongText  # the customer's opinion, as they gave it
    satisfaction: Satisfaction | None = None  # None: the customer would not rate


class LitigationIn(Input):
    case_reference: CaseReference
    court: Line200 | None = None
    note: LongText | None = None


class LitigationOutcomeIn(Input):
    outcome: LongText


class ReopenIn(Input):
    reason: LongText


class PauseIn(Input):
    reason: PauseReason
    note: Text1000


class ResumeIn(Input):
    note: Text1000 | None = None


class NoteIn(Input):
    body: LongText
    # Internal notes never reach the home owner; a note that is not internal is a reply to them.
    internal: bool = True


class AttachmentIn(Input):
    filename: FileName
    content_type: ContentType
    size: FileSize
    sha256: Sha256Hex


class CapaLetterIn(Input):
    department: Line200  # the responsible department, e.g. 工程管理部
    requested_action: LongText
    due_date: date
    root_cause: LongText | None = None  # the investigation's cause when absent
    assignee_id: uuid.UUID | None = None  # a staff account of that department


class LetterResponseIn(Input):
    response: LongText


class CategoryCreate(Input):
    code: CategoryCode
    name: Line200
    quality: bool  # a quality complaint (the building or its fittings) or not
    parent_id: uuid.UUID | None = None
    response_minutes: TargetMinutes | None = None  # None: the parent's, else the tenant's default
    resolution_minutes: TargetMinutes | None = None


class CategoryUpdate(Input):
    name: Line200 | msgspec.UnsetType = msgspec.UNSET
    quality: bool | msgspec.UnsetType = msgspec.UNSET
    response_minutes: TargetMinutes | None | msgspec.UnsetType = msgspec.UNSET
    resolution_minutes: TargetMinutes | None | msgspec.UnsetType = msgspec.UNSET
    active: bool | msgspec.UnsetType = msgspec.UNSET


class EscalationStep(Input):
    after_percent: Annotated[int, msgspec.Meta(ge=50, le=1000, description="Share of the resolution target used.")]
    at: Level  # whose supervisors (complaints.supervise there) are told


class SlaSettingsIn(Input):
    response_minutes: TargetMinutes
    resolution_minutes: TargetMinutes
    warn_percent: Annotated[int, msgspec.Meta(ge=1, le=99)]
    escalation: Annotated[list[EscalationStep], msgspec.Meta(max_length=5)]


class OwnComplaintCreate(Input):
    unit_id: uuid.UUID  # one of the caller's own units
    subject: Subject
    description: LongText
    category_id: uuid.UUID | None = None  # classified by customer service when absent


class OwnNoteIn(Input):
    body: LongText


class RatingIn(Input):
    satisfaction: Satisfaction
    opinion: LongText | None = None


class StatisticsExportIn(Input):
    month: Month
    months: Months = 1
    register: Register | None = None  # both registers when absent


# ----------------------------------------------------------------------------- output


class CategoryOut(Schema):
    id: uuid.UUID
    parent_id: uuid.UUID | None
    code: str
    name: str
    quality: bool
    response_minutes: int | None
    resolution_minutes: int | None
    effective_response_minutes: int
    effective_resolution_minutes: int
    active: bool
    version: int


class SlaSettings(Schema):
    response_minutes: int
    resolution_minutes: int
    warn_percent: int
    escalation: list[EscalationOut]


class EscalationOut(Schema):
    after_percent: int
    at: Level


class SlaOut(Schema):
    response_target_minutes: int
    resolution_target_minutes: int
    response_due_at: datetime | None  # None while paused, or with no working time ahead
    resolution_due_at: datetime | None
    response_seconds: int | None  # business seconds to the first response
    resolution_seconds: int | None
    response_met: bool | None
    resolution_met: bool | None
    response_breached_at: datetime | None
    resolution_breached_at: datetime | None
    paused_seconds: int  # business seconds of ended pauses
    paused_since: datetime | None
    pause_reason: PauseReason | None
    escalation_level: int


class ProposalOut(Schema):
    id: uuid.UUID
    round: int
    kind: ProposalKind
    amount: str | None
    item: str | None
    due_date: date | None
    description: str
    pre_negotiated: bool
    status: ProposalStatus
    approval_request_id: uuid.UUID | None
    decision_comment: str | None
    created_by: str
    created_at: datetime
    decided_at: datetime | None


class NegotiationOut(Schema):
    id: uuid.UUID
    proposal_id: uuid.UUID
    round: int
    customer_response: str
    agreed: bool
    recorded_by: str
    at: datetime


class EventOut(Schema):
    at: datetime
    actor_id: str
    action: str
    from_status: ComplaintStatus | None
    to_status: ComplaintStatus | None
    note: str | None
    public: bool


class NoteOut(Schema):
    id: uuid.UUID
    at: datetime
    author_id: str
    by_owner: bool
    internal: bool
    body: str


class AttachmentOut(Schema):
    id: uuid.UUID
    complaint_id: uuid.UUID
    filename: str
    content_type: str
    size: int
    sha256: str
    status: AttachmentStatus
    by_owner: bool
    uploaded_by: str
    created_at: datetime
    stored_at: datetime | None
    version: int


class AttachmentUpload(Schema):
    attachment: AttachmentOut
    upload: UploadOut


class CapaLetterOut(Schema):
    id: uuid.UUID
    number: str
    complaint_id: uuid.UUID
    complaint_number: str
    department: str
    assignee_id: uuid.UUID | None
    root_cause: str
    requested_action: str
    due_date: date
    status: LetterStatus
    overdue: bool
    response: str | None
    responded_at: datetime | None
    responded_by: str | None
    created_by: str
    created_at: datetime
    version: int


class RelatedOut(Schema):
    id: uuid.UUID
    number: str
    status: ComplaintStatus


class CategoryRef(Schema):
    id: uuid.UUID
    code: str
    name: str


class ComplaintOut(Schema):
    id: uuid.UUID
    register: Register
    number: str
    channel: ComplaintChannel
    customer_id: uuid.UUID | None
    contact_note: str | None
    project_id: uuid.UUID
    unit_id: uuid.UUID | None
    category: CategoryRef
    quality: bool
    severity: Severity
    subject: str
    description: str
    counterparty: str | None
    joint_group: uuid.UUID | None
    related: list[RelatedOut]
    status: ComplaintStatus
    handler_id: str | None
    filed_by: str
    department: Department
    received_at: datetime
    first_responded_at: datetime | None
    resolved_at: datetime | None
    closed_at: datetime | None
    cause: str | None
    responsible_party: ResponsibleParty | None
    handling_result: str | None
    check_result: str | None
    feedback_opinion: str | None
    satisfaction: int | None
    case_reference: str | None
    court: str | None
    litigated_at: datetime | None
    litigation_outcome: str | None
    reopen_count: int
    overdue: bool
    sla: SlaOut
    proposals: list[ProposalOut]
    negotiations: list[NegotiationOut]
    notes: list[NoteOut]
    attachments: list[AttachmentOut]
    capa_letters: list[CapaLetterOut]
    events: list[EventOut]
    created_at: datetime
    updated_at: datetime
    version: int


class ComplaintSummary(Schema):
    id: uuid.UUID
    register: Register
    number: str
    channel: ComplaintChannel
    project_id: uuid.UUID
    unit_id: uuid.UUID | None
    category_id: uuid.UUID
    severity: Severity
    subject: str
    status: ComplaintStatus
    handler_id: str | None
    received_at: datetime
    response_due_at: datetime | None
    resolution_due_at: datetime | None
    overdue: bool
    paused: bool
    escalation_level: int
    version: int


class OwnEventOut(Schema):
    at: datetime
    action: str
    to_status: ComplaintStatus | None
    note: str | None


class OwnNoteOut(Schema):
    at: datetime
    by_owner: bool
    body: str


class OwnProposalOut(Schema):
    """A proposal as it was put to the customer (approved ones only)."""

    round: int
    kind: ProposalKind
    amount: str | None
    item: str | None
    due_date: date | None
    description: str
    status: ProposalStatus


class OwnComplaintOut(Schema):
    """What a home owner sees of their own record: no internal notes, no internal history."""

    id: uuid.UUID
    register: Register
    number: str
    unit_id: uuid.UUID | None
    category_name: str
    subject: str
    description: str
    status: ComplaintStatus
    received_at: datetime
    first_responded_at: datetime | None
    resolved_at: datetime | None
    closed_at: datetime | None
    handling_result: str | None
    feedback_opinion: str | None
    satisfaction: int | None
    case_reference: str | None
    proposals: list[OwnProposalOut]
    notes: list[OwnNoteOut]
    attachments: list[AttachmentOut]
    events: list[OwnEventOut]
    version: int


class OwnComplaintSummary(Schema):
    id: uuid.UUID
    register: Register
    number: str
    subject: str
    status: ComplaintStatus
    received_at: datetime
    version: int


class OwnCategoryOut(Schema):
    id: uuid.UUID
    parent_id: uuid.UUID | None
    name: str


class Attainment(Schema):
    met: int
    measured: int  # records whose clock has a verdict (met or missed)
    percent: float | None


class Hours(Schema):
    count: int
    average: float | None  # business hours
    median: float | None


class SatisfactionOut(Schema):
    rated: int
    average: float | None
    distribution: list[int]  # how many rated 1, 2, 3, 4, 5


class Totals(Schema):
    received: int
    quality: int
    non_quality: int
    open: int
    closed: int
    litigation: int
    reopened: int
    response_hours: Hours
    resolution_hours: Hours
    response_attainment: Attainment
    resolution_attainment: Attainment
    satisfaction: SatisfactionOut


class GroupRow(Schema):
    key: str  # an id, or the channel
    code: str | None
    name: str
    received: int
    closed: int
    litigation: int
    reopened: int
    average_response_hours: float | None
    average_resolution_hours: float | None
    response_attainment_percent: float | None
    resolution_attainment_percent: float | None
    average_satisfaction: float | None


class StatisticsOut(Schema):
    """Records received in the period, in the caller's subtree, and what became of them."""

    month: str
    months: int
    period_start: datetime  # inclusive
    period_end: datetime  # exclusive
    register: Register | None
    totals: Totals
    by_category: list[GroupRow]
    by_project: list[GroupRow]
    by_branch: list[GroupRow]
    by_channel: list[GroupRow]


class RecurringOut(Schema):
    category_id: uuid.UUID
    category_code: str
    category_name: str
    project_id: uuid.UUID
    project_name: str
    count: int
    numbers: list[str]


class RecurringPage(Schema):
    month: str
    months: int
    min_count: int
    items: list[RecurringOut]
