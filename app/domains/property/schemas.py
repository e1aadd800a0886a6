"""Request and response bodies of property management."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

import msgspec

from app.core.schemas import Input, Instant, Schema
from app.domains.property.models import (
    PHOTO_UPLOADS,
    ActionStatus,
    Assignee,
    Checklist,
    ChecklistKind,
    CommitteeCase,
    CommitteeStatus,
    CompanyStatus,
    Confirmation,
    ContractStatus,
    CoordinationAction,
    CoordinationEntry,
    CoordinationForm,
    Finding,
    FindingStatus,
    Handover,
    HandoverStatus,
    Inspection,
    InspectionKind,
    Party,
    Phase,
    PhotoStatus,
    PhotoSubject,
    PropertyCompany,
    PropertyContract,
    PropertyPhoto,
    PropertyProject,
    RepairOrder,
    RepairSource,
    RepairStatus,
    Replacement,
    Severity,
    WarrantyPeriod,
)
from app.storage.uploads import FileName, Sha256Hex, UploadOut

Text100 = Annotated[str, msgspec.Meta(min_length=1, max_length=100)]
Text200 = Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
Text1000 = Annotated[str, msgspec.Meta(min_length=1, max_length=1000)]
LongText = Annotated[str, msgspec.Meta(min_length=1, max_length=10000)]
Code = Annotated[str, msgspec.Meta(min_length=1, max_length=40, pattern=r"^[a-z][a-z0-9_]*$",
                                   examples=["waterproofing"])]
# Names of people present: free text (blank ones are dropped), at most 50 of them.
Names = Annotated[list[str], msgspec.Meta(max_length=50)]
Amount = Annotated[str, msgspec.Meta(pattern=r"^(0|[1-9][0-9]{0,9})(\.[0-9]{1,2})?$", examples=["480.00"],
                                     description="Yuan, as a string with at most 2 decimals.")]
# A calendar day. Days a client gives are only compared and stored: no arithmetic on them can
# overflow (the cadence counts from days no later than today, warranties from handover days).
Day = date


class DayInput(Input):
    """A body carrying calendar days."""


def _iso(d: date | None) -> str | None:
    return d.isoformat() if d else None


# ------------------------------------------------------------------ checklists


class ChecklistItem(Input):
    code: Code
    label: Text200


class ChecklistItemOut(Schema):
    code: str
    label: str


class ChecklistUpdate(Input):
    name: Text200
    items: Annotated[list[ChecklistItem], msgspec.Meta(min_length=1, max_length=100)]


class ChecklistOut(Schema):
    id: uuid.UUID
    kind: ChecklistKind
    code: str
    name: str
    items: list[ChecklistItemOut]
    version: int

    @classmethod
    def of(cls, c: Checklist) -> ChecklistOut:
        return cls(id=c.id, kind=c.kind, code=c.code, name=c.name,
                   items=[ChecklistItemOut(code=i["code"], label=i["label"]) for i in c.items], version=c.version)


# ------------------------------------------------------------------ handover


class HandoverCreate(Input):
    unit_id: uuid.UUID
    appointment_at: Instant
    customer_id: uuid.UUID | None = None
    checklist_id: uuid.UUID | None = None  # the tenant's standard handover checklist when absent
    note: Text1000 | None = None


class ItemResult(Input):
    code: Code
    ok: bool
    note: Text1000 | None = None
    category: Code | None = None  # a defect's warranty category (its repair order's), e.g. waterproofing


class InspectionIn(Input):
    inspector: Text100
    results: Annotated[list[ItemResult], msgspec.Meta(min_length=1, max_length=100)]


class HandoverConfirmIn(Input):
    """The owner's confirmation of the inspection record, captured by staff as a signature."""

    signed_by: Text200


class HandOverIn(Input):
    keys_handed: Annotated[int, msgspec.Meta(ge=1, le=100)]
    note: Text1000 | None = None


class CancelIn(Input):
    reason: Text1000


class ItemResultOut(Schema):
    code: str
    label: str
    ok: bool | None
    note: str | None
    category: str | None


class HandoverOut(Schema):
    id: uuid.UUID
    number: str
    project_id: uuid.UUID
    unit_id: uuid.UUID
    customer_id: uuid.UUID | None
    status: HandoverStatus
    appointment_at: datetime
    checklist_id: uuid.UUID
    results: list[ItemResultOut]
    inspected_at: datetime | None
    inspector: str | None
    confirmation: Confirmation | None
    confirmed_at: datetime | None
    signed_by: str | None
    keys_handed: int | None
    handed_over_on: date | None
    defect_count: int
    repair_order_ids: list[uuid.UUID]
    note: str | None
    version: int

    @classmethod
    def of(cls, h: Handover, repair_ids: list[uuid.UUID]) -> HandoverOut:
        return cls(id=h.id, number=h.number, project_id=h.node_id, unit_id=h.unit_id, customer_id=h.customer_id,
                   status=h.status, appointment_at=h.appointment_at, checklist_id=h.checklist_id,
                   results=[ItemResultOut(code=r["code"], label=r["label"], ok=r.get("ok"), note=r.get("note"),
                                          category=r.get("category")) for r in h.results],
                   inspected_at=h.inspected_at, inspector=h.inspector, confirmation=h.confirmation,
                   confirmed_at=h.confirmed_at, signed_by=h.signed_by, keys_handed=h.keys_handed,
                   handed_over_on=h.handed_over_on, defect_count=sum(1 for r in h.results if r.get("ok") is False),
                   repair_order_ids=repair_ids, note=h.note, version=h.version)


class MoveInRate(Schema):
    project_id: uuid.UUID
    units: int
    handed_over: int
    rate: Decimal  # percent, two decimals
    first_move_in_on: date | None
    handover_date: date | None  # the project's: customer affairs answers for it from that day


# ------------------------------------------------------------------ warranty


class WarrantyPeriodIn(DayInput):
    category: Code
    name: Text200
    months: Annotated[int, msgspec.Meta(ge=1, le=1200)]
    basis: Text1000 | None = None
    project_id: uuid.UUID | None = None  # the group's default when absent


class WarrantyPeriodUpdate(Input):
    name: Text200 | msgspec.UnsetType = msgspec.UNSET
    months: Annotated[int, msgspec.Meta(ge=1, le=1200)] | msgspec.UnsetType = msgspec.UNSET
    basis: Text1000 | None | msgspec.UnsetType = msgspec.UNSET


class WarrantyPeriodOut(Schema):
    id: uuid.UUID
    node_id: uuid.UUID
    category: str
    name: str
    months: int
    basis: str | None
    version: int

    @classmethod
    def of(cls, p: WarrantyPeriod) -> WarrantyPeriodOut:
        return cls(id=p.id, node_id=p.node_id, category=p.category, name=p.name, months=p.months, basis=p.basis,
                   version=p.version)


class RepairCreate(Input):
    unit_id: uuid.UUID
    category: Code
    description: LongText
    source: Literal["staff", "complaint", "inspection"] = "staff"
    source_id: uuid.UUID | None = None  # the complaint or inspection finding it comes from
    customer_id: uuid.UUID | None = None
    paid: bool = False  # out of warranty: accept as work the owner pays for


class OwnRepairCreate(Input):
    unit_id: uuid.UUID
    category: Code
    description: LongText
    paid: bool = False


class AssignIn(Input):
    assignee: Assignee
    company_id: uuid.UUID | None = None  # for the property company: its id
    contractor: Text200 | None = None  # for a contractor: its name


class AppointmentIn(Input):
    appointment_at: Instant


class CompletionIn(Input):
    work_done: LongText
    cost: Amount | None = None


class SignOffIn(Input):
    rating: Annotated[int, msgspec.Meta(ge=1, le=5)]
    comment: Text1000 | None = None


class RejectIn(Input):
    comment: Text1000


class RepairOut(Schema):
    id: uuid.UUID
    number: str
    project_id: uuid.UUID
    building_id: uuid.UUID
    unit_id: uuid.UUID
    customer_id: uuid.UUID | None
    source: RepairSource
    source_id: uuid.UUID | None
    category: str
    description: str
    status: RepairStatus
    handed_over_on: date
    warranty_expires_on: date
    in_warranty: bool
    paid: bool
    assignee: Assignee | None
    company_id: uuid.UUID | None
    contractor: str | None
    appointment_at: datetime | None
    completed_at: datetime | None
    work_done: str | None
    cost: Decimal | None
    signed_off_at: datetime | None
    rating: int | None
    owner_comment: str | None
    created_at: datetime
    version: int

    @classmethod
    def of(cls, r: RepairOrder) -> RepairOut:
        return cls(id=r.id, number=r.number, project_id=r.node_id, building_id=r.building_id, unit_id=r.unit_id,
                   customer_id=r.customer_id, source=r.source, source_id=r.source_id, category=r.category,
                   description=r.description, status=r.status, handed_over_on=r.handed_over_on,
                   warranty_expires_on=r.warranty_expires_on, in_warranty=not r.paid, paid=r.paid,
                   assignee=r.assignee, company_id=r.company_id, contractor=r.contractor,
                   appointment_at=r.appointment_at, completed_at=r.completed_at, work_done=r.work_done, cost=r.cost,
                   signed_off_at=r.signed_off_at, rating=r.rating, owner_comment=r.owner_comment,
                   created_at=r.created_at, version=r.version)


class RepeatedDefect(Schema):
    building_id: uuid.UUID
    category: str
    count: int


class RepeatedPage(Schema):
    items: list[RepeatedDefect]


# ------------------------------------------------------------------ companies and contracts


# The company's service line, published to owners and staff (a company's number, not a
# person's: it is stored in plain text, see the model).
ServiceLine = Annotated[str, msgspec.Meta(min_length=3, max_length=40, pattern=r"^[0-9+() -]+$",
                                          description="The company's service line, published to owners and staff.")]


class CompanyCreate(Input):
    name: Text200
    node_id: uuid.UUID | None = None  # the group node when absent
    credit_code: Annotated[str, msgspec.Meta(min_length=1, max_length=40, pattern=r"^[0-9A-Z]+$")] | None = None
    contact_name: Text100 | None = None
    contact_phone: ServiceLine | None = None


class CompanyUpdate(Input):
    name: Text200 | msgspec.UnsetType = msgspec.UNSET
    contact_name: Text100 | None | msgspec.UnsetType = msgspec.UNSET
    contact_phone: ServiceLine | None | msgspec.UnsetType = msgspec.UNSET
    status: CompanyStatus | msgspec.UnsetType = msgspec.UNSET


class ClientBinding(Input):
    """Bind the company to an OAuth client of the group (its public client id), registered with
    the scope ``property:partner`` only; null unbinds it."""

    client_id: Annotated[str, msgspec.Meta(min_length=1, max_length=100)] | None


class CompanyOut(Schema):
    id: uuid.UUID
    node_id: uuid.UUID
    name: str
    credit_code: str | None
    contact_name: str | None
    contact_phone: str | None
    client_id: str | None
    status: CompanyStatus
    version: int

    @classmethod
    def of(cls, c: PropertyCompany) -> CompanyOut:
        return cls(id=c.id, node_id=c.node_id, name=c.name, credit_code=c.credit_code, contact_name=c.contact_name,
                   contact_phone=c.contact_phone, client_id=c.client_id, status=c.status, version=c.version)


ContractScope = Literal["move_in_renovation", "security", "cleaning", "greening", "facilities", "maintenance"]


class ContractCreate(DayInput):
    project_id: uuid.UUID
    company_id: uuid.UUID
    starts_on: Day
    ends_on: Day
    scope: Annotated[list[ContractScope], msgspec.Meta(min_length=1, max_length=6)]


class ForwardedComplaint(Input):
    project_id: uuid.UUID
    subject: Text200
    description: LongText
    contact_note: Annotated[str, msgspec.Meta(min_length=1, max_length=300)]  # the owner and how to reach them
    unit_id: uuid.UUID | None = None
    category_code: Annotated[str, msgspec.Meta(min_length=1, max_length=40, pattern=r"^[A-Z][A-Z0-9_]*$")] = "PROPERTY"


class ForwardedOut(Schema):
    id: uuid.UUID
    number: str
    status: str
    project_id: uuid.UUID


class ContractEndIn(DayInput):
    ended_on: Day


class ContractOut(Schema):
    id: uuid.UUID
    project_id: uuid.UUID
    company_id: uuid.UUID
    starts_on: Day
    ends_on: Day
    scope: list[str]
    status: ContractStatus
    ended_on: date | None
    version: int

    @classmethod
    def of(cls, c: PropertyContract) -> ContractOut:
        return cls(id=c.id, project_id=c.node_id, company_id=c.company_id, starts_on=c.starts_on, ends_on=c.ends_on,
                   scope=list(c.scope), status=c.status, ended_on=c.ended_on, version=c.version)


# ------------------------------------------------------------------ the project's state and cadence


class ProjectSettingsIn(Input):
    """Only the fields given change (``responsibleAccountId: null`` clears it)."""

    early_months: Annotated[int, msgspec.Meta(ge=0, le=60)] | None = None
    early_days: Annotated[int, msgspec.Meta(ge=1, le=31)] | None = None
    later_days: Annotated[int, msgspec.Meta(ge=1, le=31)] | None = None
    responsible_account_id: uuid.UUID | None | msgspec.UnsetType = msgspec.UNSET


class ProjectStateOut(Schema):
    project_id: uuid.UUID
    phase: Phase
    first_move_in_on: date | None
    early_months: int
    early_days: int
    later_days: int
    responsible_account_id: uuid.UUID | None
    cadence_missed_on: date | None
    last_coordination_on: date | None
    next_coordination_due: date | None
    replaced_on: date | None
    version: int

    @classmethod
    def of(cls, s: PropertyProject, last: date | None, due: date | None) -> ProjectStateOut:
        return cls(project_id=s.node_id, phase=s.phase, first_move_in_on=s.first_move_in_on,
                   early_months=s.early_months, early_days=s.early_days, later_days=s.later_days,
                   responsible_account_id=s.responsible_account_id, cadence_missed_on=s.cadence_missed_on,
                   last_coordination_on=last, next_coordination_due=due, replaced_on=s.replaced_on,
                   version=s.version)


# ------------------------------------------------------------------ coordination


class ActionIn(DayInput):
    description: Text1000
    owner: Party
    owner_name: Text100
    due_on: Day


class EntryCreate(DayInput):
    project_id: uuid.UUID
    held_on: Day
    form: CoordinationForm
    topics: LongText
    our_attendees: Names = msgspec.field(default_factory=list)
    their_attendees: Names = msgspec.field(default_factory=list)
    decisions: LongText | None = None
    actions: Annotated[list[ActionIn], msgspec.Meta(max_length=50)] = msgspec.field(default_factory=list)


class ActionUpdate(Input):
    status: ActionStatus
    follow_up: Text1000 | None = None


class LogActionOut(Schema):
    id: uuid.UUID
    entry_id: uuid.UUID
    project_id: uuid.UUID
    description: str
    owner: Party
    owner_name: str
    due_on: Day
    status: ActionStatus
    follow_up: str | None
    done_on: date | None
    overdue: bool
    version: int

    @classmethod
    def of(cls, a: CoordinationAction, today: date) -> LogActionOut:
        return cls(id=a.id, entry_id=a.entry_id, project_id=a.node_id, description=a.description, owner=a.owner,
                   owner_name=a.owner_name, due_on=a.due_on, status=a.status, follow_up=a.follow_up,
                   done_on=a.done_on, overdue=a.status is ActionStatus.open and a.due_on < today, version=a.version)


class LogEntryOut(Schema):
    id: uuid.UUID
    project_id: uuid.UUID
    company_id: uuid.UUID
    held_on: Day
    form: CoordinationForm
    recorded_by: Party
    our_attendees: list[str]
    their_attendees: list[str]
    topics: str
    decisions: str | None
    actions: list[LogActionOut]
    version: int

    @classmethod
    def of(cls, e: CoordinationEntry, actions: list[CoordinationAction], today: date) -> LogEntryOut:
        return cls(id=e.id, project_id=e.node_id, company_id=e.company_id, held_on=e.held_on, form=e.form,
                   recorded_by=e.recorded_by, our_attendees=list(e.our_attendees),
                   their_attendees=list(e.their_attendees), topics=e.topics, decisions=e.decisions,
                   actions=[LogActionOut.of(a, today) for a in actions], version=e.version)


# ------------------------------------------------------------------ supervision


class ScoreIn(Input):
    code: Code
    score: Annotated[int, msgspec.Meta(ge=0, le=100)]
    note: Text1000 | None = None


class FindingIn(DayInput):
    description: Text1000
    severity: Severity
    deadline: Day


class InspectionCreate(DayInput):
    project_id: uuid.UUID
    kind: InspectionKind
    inspected_on: Day
    inspector: Text100
    scores: Annotated[list[ScoreIn], msgspec.Meta(min_length=1, max_length=100)]
    subject: Text200 | None = None  # what a special inspection looks at
    checklist_id: uuid.UUID | None = None  # the tenant's standard supervision checklist when absent
    customer_opinions: LongText | None = None
    complaint_ids: Annotated[list[uuid.UUID], msgspec.Meta(max_length=50)] = msgspec.field(default_factory=list)
    findings: Annotated[list[FindingIn], msgspec.Meta(max_length=50)] = msgspec.field(default_factory=list)


class RectifyIn(Input):
    rectification: Text1000


class VerifyIn(Input):
    verified_by: Text100
    accepted: bool = True  # false: the rectification is not good enough, the finding is open again


class FindingOut(Schema):
    id: uuid.UUID
    inspection_id: uuid.UUID
    project_id: uuid.UUID
    description: str
    severity: Severity
    deadline: Day
    status: FindingStatus
    rectification: str | None
    rectified_on: date | None
    verified_on: date | None
    verified_by: str | None
    overdue: bool
    version: int

    @classmethod
    def of(cls, f: Finding, today: date) -> FindingOut:
        return cls(id=f.id, inspection_id=f.inspection_id, project_id=f.node_id, description=f.description,
                   severity=f.severity, deadline=f.deadline, status=f.status, rectification=f.rectification,
                   rectified_on=f.rectified_on, verified_on=f.verified_on, verified_by=f.verified_by,
                   overdue=f.status is FindingStatus.open and f.deadline < today, version=f.version)


class ScoreOut(Schema):
    code: str
    label: str
    score: int
    note: str | None


class InspectionOut(Schema):
    id: uuid.UUID
    project_id: uuid.UUID
    company_id: uuid.UUID
    kind: InspectionKind
    subject: str | None
    checklist_id: uuid.UUID
    inspected_on: Day
    inspector: str
    scores: list[ScoreOut]
    score: Decimal
    customer_opinions: str | None
    complaint_ids: list[str]
    findings: list[FindingOut]
    version: int

    @classmethod
    def of(cls, i: Inspection, findings: list[Finding], today: date) -> InspectionOut:
        return cls(id=i.id, project_id=i.node_id, company_id=i.company_id, kind=i.kind, subject=i.subject,
                   checklist_id=i.checklist_id, inspected_on=i.inspected_on, inspector=i.inspector,
                   scores=[ScoreOut(code=r["code"], label=r["label"], score=r["score"], note=r.get("note"))
                           for r in i.results], score=i.score, customer_opinions=i.customer_opinions,
                   complaint_ids=list(i.complaint_ids), findings=[FindingOut.of(f, today) for f in findings],
                   version=i.version)


class ScorecardRow(Schema):
    company_id: uuid.UUID
    company_name: str
    inspections: int
    average_score: Decimal | None
    findings: int
    critical_findings: int
    open_findings: int
    overdue_findings: int
    coordination_entries: int
    repairs_completed: int
    average_repair_rating: Decimal | None


class Scorecard(Schema):
    period_from: date
    period_to: date
    items: list[ScorecardRow]


# ------------------------------------------------------------------ owners' committee


Milestone = Literal["preparatory_meeting", "general_meeting", "election", "filing"]
MemberRole = Literal["chair", "vice_chair", "member"]


class CommitteeCreate(Input):
    project_id: uuid.UUID
    subdistrict_office: Text200
    subdistrict_contact: Text200 | None = None
    preparation_group: Names = msgspec.field(default_factory=list)


class MilestoneIn(DayInput):
    milestone: Milestone
    reached_on: Day


class MemberIn(DayInput):
    name: Text100
    role: MemberRole
    term_starts: Day
    term_ends: Day


class ResolutionIn(DayInput):
    adopted_on: Day
    title: Text200
    text: LongText


class MemberOut(Schema):
    name: str
    role: str
    term_starts: Day
    term_ends: Day


class ResolutionOut(Schema):
    adopted_on: Day
    title: str
    text: str


class CommitteeOut(Schema):
    id: uuid.UUID
    project_id: uuid.UUID
    status: CommitteeStatus
    deadline: date | None
    deadline_basis: str
    overdue: bool
    subdistrict_office: str
    subdistrict_contact: str | None
    preparation_group: list[str]
    milestones: dict[str, date]
    formed_on: date | None
    members: list[MemberOut]
    resolutions: list[ResolutionOut]
    version: int

    @classmethod
    def of(cls, c: CommitteeCase, today: date) -> CommitteeOut:
        return cls(id=c.id, project_id=c.node_id, status=c.status, deadline=c.deadline, deadline_basis=c.deadline_basis,
                   overdue=c.status is CommitteeStatus.preparing and c.deadline is not None and c.deadline < today,
                   subdistrict_office=c.subdistrict_office, subdistrict_contact=c.subdistrict_contact,
                   preparation_group=list(c.preparation_group),
                   milestones={k: date.fromisoformat(v) for k, v in c.milestones.items()}, formed_on=c.formed_on,
                   members=[MemberOut(name=m["name"], role=m["role"], term_starts=date.fromisoformat(m["termStarts"]),
                                      term_ends=date.fromisoformat(m["termEnds"])) for m in c.members],
                   resolutions=[ResolutionOut(adopted_on=date.fromisoformat(r["adoptedOn"]), title=r["title"],
                                              text=r["text"]) for r in c.resolutions],
                   version=c.version)


HandoverCategory = Literal["documents", "facilities", "funds", "keys"]


class ReplacementItemIn(Input):
    category: HandoverCategory
    item: Text200


class ReplacementCreate(DayInput):
    project_id: uuid.UUID
    incoming_company: Text200
    effective_on: Day
    # The standard list (documents, facilities, funds, keys) when absent.
    checklist: Annotated[list[ReplacementItemIn], msgspec.Meta(min_length=1, max_length=100)] | None = None


class ReplacementTick(Input):
    index: Annotated[int, msgspec.Meta(ge=0, le=99)]
    done: bool
    note: Text1000 | None = None


class ReplacementItemOut(Schema):
    category: str
    item: str
    done: bool
    note: str | None


class ReplacementOut(Schema):
    id: uuid.UUID
    project_id: uuid.UUID
    outgoing_company_id: uuid.UUID
    incoming_company: str
    effective_on: Day
    checklist: list[ReplacementItemOut]
    status: str  # draft, pending/approved/rejected/withdrawn (the approval request's), completed
    approval_request_id: uuid.UUID | None
    completed_on: date | None
    version: int

    @classmethod
    def of(cls, r: Replacement, status: str) -> ReplacementOut:
        return cls(id=r.id, project_id=r.node_id, outgoing_company_id=r.outgoing_company_id,
                   incoming_company=r.incoming_company, effective_on=r.effective_on,
                   checklist=[ReplacementItemOut(category=i["category"], item=i["item"], done=i["done"],
                                                 note=i.get("note")) for i in r.checklist],
                   status=status, approval_request_id=r.approval_request_id, completed_on=r.completed_on,
                   version=r.version)


class PhotoIn(Input):
    subject: PhotoSubject
    subject_id: uuid.UUID
    filename: FileName
    content_type: Literal["image/jpeg", "image/png", "image/webp", "image/heic"]
    size: Annotated[int, msgspec.Meta(ge=1, le=PHOTO_UPLOADS.max_size, description="Bytes, at most 20 MiB.")]
    sha256: Sha256Hex
    caption: Text200 | None = None


class PhotoOut(Schema):
    id: uuid.UUID
    project_id: uuid.UUID
    subject: PhotoSubject
    subject_id: uuid.UUID
    caption: str | None
    filename: str
    content_type: str
    size: int
    sha256: str
    status: PhotoStatus
    uploaded_by: str
    created_at: datetime
    version: int

    @classmethod
    def of(cls, p: PropertyPhoto) -> PhotoOut:
        return cls(id=p.id, project_id=p.node_id, subject=p.subject, subject_id=p.subject_id, caption=p.caption,
                   filename=p.filename, content_type=p.content_type, size=p.size, sha256=p.sha256, status=p.status,
                   uploaded_by=p.uploaded_by, created_at=p.created_at, version=p.version)


class PhotoUpload(Schema):
    photo: PhotoOut
    upload: UploadOut


def jsonable(value: Any) -> Any:
    """A body's value as JSON (dates as ISO text), for JSONB columns and audit snapshots."""
    return msgspec.to_builtins(value)

