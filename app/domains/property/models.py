"""Property management after handover: the handover of each home, warranty periods and repair
orders, the property companies and their contracts, the coordination log, supervision, the
owners' committee and the replacement of the property company.

Every record sits at its project's org node (``node_id``) except the tenant's configuration
(checklists) and the property companies, which sit where they were registered (the group or a
branch). Enums are stored as strings.
"""

from __future__ import annotations

import enum
import uuid
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    Boolean,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlalchemy.orm import Mapped, mapped_column

from app.core.models import IdMixin, TenantBase, TimestampMixin, VersionMixin, str_enum
from app.core.personal import kept_plain
from app.storage.uploads import UploadMixin, UploadUse

# ------------------------------------------------------------------ configuration


class ChecklistKind(str, enum.Enum):
    handover = "handover"  # 交付验收
    supervision = "supervision"  # 物业检查


class Checklist(IdMixin, TimestampMixin, VersionMixin, TenantBase):
    """A tenant's checklist (items: ``[{"code", "label"}]``); codes are never changed."""

    __tablename__ = "property_checklists"

    kind: Mapped[ChecklistKind] = mapped_column(str_enum(ChecklistKind), nullable=False)
    code: Mapped[str] = mapped_column(String(40), nullable=False, unique=True)
    name: Mapped[str] = mapped_column(String(200), nullable=False)
    items: Mapped[list[dict[str, Any]]] = mapped_column(JSONB, nullable=False, default=list)


# ------------------------------------------------------------------ the project's phase


class Phase(str, enum.Enum):
    developer = "developer"  # the developer's property company manages the estate
    committee = "committee"  # the owners' committee's company took over: daily work is not ours


class PropertyProject(IdMixin, TimestampMixin, VersionMixin, TenantBase):
    """The property-management state of one project: its phase, its first move-in, its
    coordination cadence and who answers for it."""

    __tablename__ = "property_projects"

    node_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), ForeignKey("org_nodes.id", ondelete="RESTRICT"),
                                               nullable=False, unique=True)
    phase: Mapped[Phase] = mapped_column(str_enum(Phase), nullable=False, default=Phase.developer)
    first_move_in_on: Mapped[date | None] = mapped_column(Date)
    # The cadence rule: every ``early_days`` for ``early_months`` after the first move-in, then
    # at least every ``later_days``.
    early_months: Mapped[int] = mapped_column(Integer, nullable=False)
    early_days: Mapped[int] = mapped_column(Integer, nullable=False)
    later_days: Mapped[int] = mapped_column(Integer, nullable=False)
    responsible_account_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    # The day the scan last found the cadence missed (a missed period is flagged once).
    cadence_missed_on: Mapped[date | None] = mapped_column(Date)
    replaced_on: Mapped[date | None] = mapped_column(Date)


# ------------------------------------------------------------------ handover


class HandoverStatus(str, enum.Enum):
    scheduled = "scheduled"
    inspected = "inspected"
    confirmed = "confirmed"  # the owner confirmed the inspection record
    handed_over = "handed_over"  # keys handed over: the home is the owner's
    cancelled = "cancelled"


class Confirmation(str, enum.Enum):
    in_app = "in_app"
    signature = "signature"


class Handover(IdMixin, TimestampMixin, VersionMixin, TenantBase):
    __tablename__ = "property_handovers"

    number: Mapped[str] = mapped_column(String(30), nullable=False, unique=True)
    node_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), ForeignKey("org_nodes.id", ondelete="RESTRICT"),
                                               nullable=False)
    unit_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), ForeignKey("units.id", ondelete="RESTRICT"),
                                               nullable=False)
    customer_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    status: Mapped[HandoverStatus] = mapped_column(str_enum(HandoverStatus), nullable=False)
    appointment_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    checklist_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), ForeignKey("property_checklists.id",
                                                                                   ondelete="RESTRICT"),
                                                    nullable=False)
    # [{"code", "label", "ok": bool, "note"}]
    results: Mapped[list[dict[str, Any]]] = mapped_column(JSONB, nullable=False, default=list)
    inspected_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    inspector: Mapped[str | None] = mapped_column(String(100))
    confirmation: Mapped[Confirmation | None] = mapped_column(str_enum(Confirmation))
    confirmed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    signed_by: Mapped[str | None] = mapped_column(String(200))
    keys_handed: Mapped[int | None] = mapped_column(Integer)
    handed_over_on: Mapped[date | None] = mapped_column(Date)
    note: Mapped[str | None] = mapped_column(Text)

    __table_args__ = (
        Index("ix_property_handovers_node_id", "node_id"),
        Index("ix_property_handovers_unit_id", "unit_id"),
        # One live handover per unit: a cancelled one may be followed by another.
        Index("uq_property_handovers_live_unit_id", "unit_id", unique=True,
              postgresql_where=text("status <> 'cancelled'")),
    )


# ------------------------------------------------------------------ warranty repairs


class WarrantyPeriod(IdMixin, TimestampMixin, VersionMixin, TenantBase):
    """How long a category of defect is under warranty, counted from the unit's handover; at the
    group node for every project, or at a project for its own."""

    __tablename__ = "warranty_periods"

    node_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), ForeignKey("org_nodes.id", ondelete="RESTRICT"),
                                               nullable=False)
    category: Mapped[str] = mapped_column(String(40), nullable=False)
    name: Mapped[str] = mapped_column(String(200), nullable=False)
    months: Mapped[int] = mapped_column(Integer, nullable=False)
    basis: Mapped[str | None] = mapped_column(Text)

    __table_args__ = (UniqueConstraint("node_id", "category"),)


class RepairSource(str, enum.Enum):
    owner_app = "owner_app"
    complaint = "complaint"
    handover = "handover"
    inspection = "inspection"
    staff = "staff"
    property_company = "property_company"


class RepairStatus(str, enum.Enum):
    open = "open"
    assigned = "assigned"
    scheduled = "scheduled"
    completed = "completed"
    signed_off = "signed_off"
    cancelled = "cancelled"


class Assignee(str, enum.Enum):
    property_company = "property_company"
    contractor = "contractor"


class RepairOrder(IdMixin, TimestampMixin, VersionMixin, TenantBase):
    __tablename__ = "repair_orders"

    number: Mapped[str] = mapped_column(String(30), nullable=False, unique=True)
    node_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), ForeignKey("org_nodes.id", ondelete="RESTRICT"),
                                               nullable=False)
    building_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), nullable=False)
    unit_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), ForeignKey("units.id", ondelete="RESTRICT"),
                                               nullable=False)
    customer_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    source: Mapped[RepairSource] = mapped_column(str_enum(RepairSource), nullable=False)
    source_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    category: Mapped[str] = mapped_column(String(40), nullable=False)
    description: Mapped[str] = mapped_column(Text, nullable=False)
    status: Mapped[RepairStatus] = mapped_column(str_enum(RepairStatus), nullable=False)
    handed_over_on: Mapped[date] = mapped_column(Date, nullable=False)
    warranty_expires_on: Mapped[date] = mapped_column(Date, nullable=False)
    # Out of warranty, accepted as work the owner pays for (where the tenant allows it).
    paid: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    assignee: Mapped[Assignee | None] = mapped_column(str_enum(Assignee))
    company_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True), ForeignKey("property_companies.id",
                                                                                        ondelete="RESTRICT"))
    contractor: Mapped[str | None] = mapped_column(String(200))
    appointment_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    completed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    work_done: Mapped[str | None] = mapped_column(Text)
    cost: Mapped[Decimal | None] = mapped_column(Numeric(12, 2))
    signed_off_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    rating: Mapped[int | None] = mapped_column(Integer)
    owner_comment: Mapped[str | None] = mapped_column(Text)

    __table_args__ = (
        Index("ix_repair_orders_node_id_status", "node_id", "status"),
        Index("ix_repair_orders_building_id_category", "building_id", "category"),
        Index("ix_repair_orders_customer_id", "customer_id"),
        Index("ix_repair_orders_company_id", "company_id"),
    )


# ------------------------------------------------------------------ property companies


class CompanyStatus(str, enum.Enum):
    active = "active"
    inactive = "inactive"


class PropertyCompany(IdMixin, TimestampMixin, VersionMixin, TenantBase):
    __tablename__ = "property_companies"

    node_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), ForeignKey("org_nodes.id", ondelete="RESTRICT"),
                                               nullable=False, index=True)
    name: Mapped[str] = mapped_column(String(200), nullable=False)
    credit_code: Mapped[str | None] = mapped_column(String(40))
    contact_name: Mapped[str | None] = mapped_column(String(100))
    contact_phone: Mapped[str | None] = mapped_column(String(40), info=kept_plain(
        "the company's service line, published to owners and staff; a company's number, not a person's"))
    # The OAuth client (its public client id) through which the company works its side.
    client_id: Mapped[str | None] = mapped_column(String(100), unique=True)
    status: Mapped[CompanyStatus] = mapped_column(str_enum(CompanyStatus), nullable=False)


class ContractStatus(str, enum.Enum):
    active = "active"
    ended = "ended"


class PropertyContract(IdMixin, TimestampMixin, VersionMixin, TenantBase):
    __tablename__ = "property_contracts"

    node_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), ForeignKey("org_nodes.id", ondelete="RESTRICT"),
                                               nullable=False, index=True)
    company_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), ForeignKey("property_companies.id",
                                                                                ondelete="RESTRICT"),
                                                  nullable=False, index=True)
    starts_on: Mapped[date] = mapped_column(Date, nullable=False)
    ends_on: Mapped[date] = mapped_column(Date, nullable=False)
    scope: Mapped[list[str]] = mapped_column(JSONB, nullable=False, default=list)
    status: Mapped[ContractStatus] = mapped_column(str_enum(ContractStatus), nullable=False)
    ended_on: Mapped[date | None] = mapped_column(Date)

    __table_args__ = (
        # One commissioned company per project at a time.
        Index("uq_property_contracts_active_node_id", "node_id", unique=True,
              postgresql_where=text("status = 'active'")),
    )


# ------------------------------------------------------------------ coordination


class CoordinationForm(str, enum.Enum):
    meeting = "meeting"  # 协调会
    daily_meeting = "daily_meeting"  # 日例会
    phone = "phone"
    written = "written"
    site_visit = "site_visit"
    other = "other"


class Party(str, enum.Enum):
    developer = "developer"
    property_company = "property_company"


class CoordinationEntry(IdMixin, TimestampMixin, VersionMixin, TenantBase):
    __tablename__ = "coordination_entries"

    node_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), ForeignKey("org_nodes.id", ondelete="RESTRICT"),
                                               nullable=False)
    company_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), ForeignKey("property_companies.id",
                                                                                ondelete="RESTRICT"), nullable=False)
    held_on: Mapped[date] = mapped_column(Date, nullable=False)
    form: Mapped[CoordinationForm] = mapped_column(str_enum(CoordinationForm), nullable=False)
    recorded_by: Mapped[Party] = mapped_column(str_enum(Party), nullable=False)
    our_attendees: Mapped[list[str]] = mapped_column(JSONB, nullable=False, default=list)
    their_attendees: Mapped[list[str]] = mapped_column(JSONB, nullable=False, default=list)
    topics: Mapped[str] = mapped_column(Text, nullable=False)
    decisions: Mapped[str | None] = mapped_column(Text)

    __table_args__ = (Index("ix_coordination_entries_node_id_held_on", "node_id", "held_on"),)


class ActionStatus(str, enum.Enum):
    open = "open"
    done = "done"


class CoordinationAction(IdMixin, TimestampMixin, VersionMixin, TenantBase):
    __tablename__ = "coordination_actions"

    entry_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), ForeignKey("coordination_entries.id",
                                                                              ondelete="RESTRICT"), nullable=False,
                                                index=True)
    node_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), ForeignKey("org_nodes.id", ondelete="RESTRICT"),
                                               nullable=False)
    description: Mapped[str] = mapped_column(Text, nullable=False)
    owner: Mapped[Party] = mapped_column(str_enum(Party), nullable=False)
    owner_name: Mapped[str] = mapped_column(String(100), nullable=False)
    due_on: Mapped[date] = mapped_column(Date, nullable=False)
    status: Mapped[ActionStatus] = mapped_column(str_enum(ActionStatus), nullable=False)
    follow_up: Mapped[str | None] = mapped_column(Text)
    done_on: Mapped[date | None] = mapped_column(Date)
    overdue_flagged_on: Mapped[date | None] = mapped_column(Date)

    __table_args__ = (Index("ix_coordination_actions_status_due_on", "status", "due_on"),)


# ------------------------------------------------------------------ supervision


class InspectionKind(str, enum.Enum):
    routine = "routine"  # 日常检查
    special = "special"  # 专项检查


class Inspection(IdMixin, TimestampMixin, VersionMixin, TenantBase):
    __tablename__ = "supervision_inspections"

    node_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), ForeignKey("org_nodes.id", ondelete="RESTRICT"),
                                               nullable=False, index=True)
    company_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), ForeignKey("property_companies.id",
                                                                                ondelete="RESTRICT"), nullable=False)
    kind: Mapped[InspectionKind] = mapped_column(str_enum(InspectionKind), nullable=False)
    subject: Mapped[str | None] = mapped_column(String(200))
    checklist_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), ForeignKey("property_checklists.id",
                                                                                   ondelete="RESTRICT"),
                                                    nullable=False)
    inspected_on: Mapped[date] = mapped_column(Date, nullable=False)
    inspector: Mapped[str] = mapped_column(String(100), nullable=False)
    # [{"code", "label", "score": 0..100, "note"}]
    results: Mapped[list[dict[str, Any]]] = mapped_column(JSONB, nullable=False, default=list)
    score: Mapped[Decimal] = mapped_column(Numeric(5, 2), nullable=False)
    customer_opinions: Mapped[str | None] = mapped_column(Text)
    # Complaints heard from owners about the company, linked by id (the complaints register's).
    complaint_ids: Mapped[list[str]] = mapped_column(JSONB, nullable=False, default=list)


class Severity(str, enum.Enum):
    minor = "minor"
    major = "major"
    critical = "critical"


class FindingStatus(str, enum.Enum):
    open = "open"
    rectified = "rectified"
    verified = "verified"


class Finding(IdMixin, TimestampMixin, VersionMixin, TenantBase):
    __tablename__ = "supervision_findings"

    inspection_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), ForeignKey("supervision_inspections.id",
                                                                                    ondelete="RESTRICT"),
                                                     nullable=False, index=True)
    node_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), ForeignKey("org_nodes.id", ondelete="RESTRICT"),
                                               nullable=False)
    description: Mapped[str] = mapped_column(Text, nullable=False)
    severity: Mapped[Severity] = mapped_column(str_enum(Severity), nullable=False)
    deadline: Mapped[date] = mapped_column(Date, nullable=False)
    status: Mapped[FindingStatus] = mapped_column(str_enum(FindingStatus), nullable=False)
    rectification: Mapped[str | None] = mapped_column(Text)
    rectified_on: Mapped[date | None] = mapped_column(Date)
    verified_on: Mapped[date | None] = mapped_column(Date)
    verified_by: Mapped[str | None] = mapped_column(String(100))


# ------------------------------------------------------------------ owners' committee


class CommitteeStatus(str, enum.Enum):
    preparing = "preparing"
    formed = "formed"  # elected and filed
    replaced = "replaced"  # the committee's company took over


class CommitteeCase(IdMixin, TimestampMixin, VersionMixin, TenantBase):
    __tablename__ = "committee_cases"

    node_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), ForeignKey("org_nodes.id", ondelete="RESTRICT"),
                                               nullable=False, unique=True)
    status: Mapped[CommitteeStatus] = mapped_column(str_enum(CommitteeStatus), nullable=False)
    deadline: Mapped[date | None] = mapped_column(Date)
    deadline_basis: Mapped[str] = mapped_column(Text, nullable=False)
    subdistrict_office: Mapped[str] = mapped_column(String(200), nullable=False)
    subdistrict_contact: Mapped[str | None] = mapped_column(String(200))
    preparation_group: Mapped[list[str]] = mapped_column(JSONB, nullable=False, default=list)
    # milestone -> date reached: preparatory_meeting, general_meeting, election, filing
    milestones: Mapped[dict[str, str]] = mapped_column(JSONB, nullable=False, default=dict)
    formed_on: Mapped[date | None] = mapped_column(Date)
    # [{"name", "role", "termStarts", "termEnds"}] and [{"adoptedOn", "title", "text"}]
    members: Mapped[list[dict[str, Any]]] = mapped_column(JSONB, nullable=False, default=list)
    resolutions: Mapped[list[dict[str, Any]]] = mapped_column(JSONB, nullable=False, default=list)


class ReplacementStage(str, enum.Enum):
    draft = "draft"
    submitted = "submitted"  # the approval engine decides; the status shown is the request's
    completed = "completed"


class Replacement(IdMixin, TimestampMixin, VersionMixin, TenantBase):
    """Handing the estate over from the developer's property company to the committee's."""

    __tablename__ = "property_replacements"

    node_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), ForeignKey("org_nodes.id", ondelete="RESTRICT"),
                                               nullable=False, index=True)
    outgoing_company_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), ForeignKey("property_companies.id",
                                                                                         ondelete="RESTRICT"),
                                                           nullable=False)
    incoming_company: Mapped[str] = mapped_column(String(200), nullable=False)
    effective_on: Mapped[date] = mapped_column(Date, nullable=False)
    # [{"category": documents|facilities|funds|keys, "item", "done": bool, "note"}]
    checklist: Mapped[list[dict[str, Any]]] = mapped_column(JSONB, nullable=False, default=list)
    stage: Mapped[ReplacementStage] = mapped_column(str_enum(ReplacementStage), nullable=False)
    approval_request_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    completed_on: Mapped[date | None] = mapped_column(Date)


# ------------------------------------------------------------------ photos


class PhotoSubject(str, enum.Enum):
    handover = "handover"  # defects found, or the owner's signature on the inspection record
    repair = "repair"  # the defect, or the work done
    finding = "finding"  # an inspection finding, or its rectification


class PhotoStatus(str, enum.Enum):
    pending = "pending"
    stored = "stored"


class PropertyPhoto(UploadMixin, IdMixin, TimestampMixin, VersionMixin, TenantBase):
    """A photo (or the scanned signature) of a handover, repair order or finding, in the tenant's
    object store: pending until the upload is completed and verified (app/storage/uploads.py)."""

    __tablename__ = "property_photos"
    UPLOAD_PENDING, UPLOAD_STORED = PhotoStatus.pending, PhotoStatus.stored

    node_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), ForeignKey("org_nodes.id", ondelete="RESTRICT"),
                                               nullable=False)
    subject: Mapped[PhotoSubject] = mapped_column(str_enum(PhotoSubject), nullable=False)
    subject_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), nullable=False)
    caption: Mapped[str | None] = mapped_column(String(200))
    filename: Mapped[str] = mapped_column(String(200), nullable=False)
    status: Mapped[PhotoStatus] = mapped_column(str_enum(PhotoStatus), nullable=False)
    uploaded_by: Mapped[str] = mapped_column(String(100), nullable=False)

    __table_args__ = (
        Index("ix_property_photos_subject_id", "subject_id"),
        Index("ix_property_photos_status_upload_expires_at", "status", "upload_expires_at"),
    )


PHOTO_UPLOADS = UploadUse(
    name="property.photo",
    content_types=("image/jpeg", "image/png", "image/webp", "image/heic"),
    max_size=20 * 1024 * 1024,
    upload_ttl=timedelta(minutes=15),
    download_ttl=timedelta(minutes=5),
    grace=timedelta(hours=1),
    key_layout="property/{subject}/{photo}",
)
