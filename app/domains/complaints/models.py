"""The complaints domain's tables.

The complaint register (客户投诉登记表) and the dispute register (纠纷登记簿) are two registers
of one record type, ``complaints`` with ``register``: they share the resolution loop, its
proposals, negotiation rounds, history, notes, attachments and corrective-action letters,
and each has its own numbering (``TS-2026-000123``, ``JF-2026-000045``) and its own routes.
"""

from __future__ import annotations

import enum
import uuid
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    String,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlalchemy.orm import Mapped, mapped_column

from app.core.models import IdMixin, TenantBase, TimestampMixin, VersionMixin, str_enum
from app.domains.customers.references import register_customer_reference
from app.domains.org.schemas import Department
from app.storage.uploads import UploadMixin, UploadUse


class Register(str, enum.Enum):
    complaint = "complaint"  # 客户投诉登记表
    dispute = "dispute"  # 纠纷登记簿


class ComplaintChannel(str, enum.Enum):
    app = "app"
    hotline = "hotline"
    email = "email"
    property_company = "property_company"  # forwarded by the property company
    walk_in = "walk_in"
    letter = "letter"


class Severity(str, enum.Enum):
    low = "low"
    medium = "medium"
    high = "high"
    critical = "critical"


class ComplaintStatus(str, enum.Enum):
    received = "received"
    investigating = "investigating"
    proposal = "proposal"  # a resolution is being proposed (again, after a rejection or a failed negotiation)
    approval = "approval"  # the proposal is with the approval chain
    negotiation = "negotiation"  # the approved proposal is with the customer
    handling = "handling"  # the agreed plan is carried out
    feedback = "feedback"  # done and checked: the customer's opinion is awaited
    closed = "closed"
    litigation = "litigation"


# Where the SLA clocks run (a paused clock aside).
OPEN_STATUSES = frozenset(set(ComplaintStatus) - {ComplaintStatus.closed, ComplaintStatus.litigation})


class ResponsibleParty(str, enum.Enum):
    developer = "developer"
    contractor = "contractor"
    supplier = "supplier"
    property_company = "property_company"
    customer = "customer"
    third_party = "third_party"
    none = "none"


class ProposalKind(str, enum.Enum):
    apology = "apology"
    compensation = "compensation"
    replacement = "replacement"
    repair = "repair"
    other = "other"


class ProposalStatus(str, enum.Enum):
    pending = "pending"  # awaiting the approval chain
    approved = "approved"  # awaiting the customer
    rejected = "rejected"  # by the approval chain
    withdrawn = "withdrawn"  # its approval request was withdrawn
    agreed = "agreed"  # the customer agreed
    not_agreed = "not_agreed"  # the customer did not: revised by a new proposal


class PauseReason(str, enum.Enum):
    customer = "customer"  # waiting on the customer
    third_party = "third_party"  # waiting on a third party (property company, supplier, authority)


class AttachmentStatus(str, enum.Enum):
    pending = "pending"  # signed, not yet confirmed
    stored = "stored"  # size, SHA-256, stored type and format verified


class LetterStatus(str, enum.Enum):
    sent = "sent"
    responded = "responded"


class ComplaintCategory(IdMixin, TimestampMixin, VersionMixin, TenantBase):
    """A node of the tenant's category tree, with its quality flag and SLA targets in business
    minutes (None: the parent's, up to the tenant's default)."""

    __tablename__ = "complaint_categories"

    parent_id: Mapped[uuid.UUID | None] = mapped_column(
        UUID(as_uuid=True), ForeignKey("complaint_categories.id", ondelete="RESTRICT"))
    code: Mapped[str] = mapped_column(String(40), nullable=False, unique=True)
    name: Mapped[str] = mapped_column(String(200), nullable=False)
    quality: Mapped[bool] = mapped_column(Boolean, nullable=False)
    response_minutes: Mapped[int | None] = mapped_column(Integer)
    resolution_minutes: Mapped[int | None] = mapped_column(Integer)
    active: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)

    __table_args__ = (Index("ix_complaint_categories_parent_id", "parent_id"),)


class Complaint(IdMixin, TimestampMixin, VersionMixin, TenantBase):
    __tablename__ = "complaints"

    register: Mapped[Register] = mapped_column(str_enum(Register), nullable=False)
    number: Mapped[str] = mapped_column(String(30), nullable=False, unique=True)
    channel: Mapped[ComplaintChannel] = mapped_column(str_enum(ComplaintChannel), nullable=False)
    customer_id: Mapped[uuid.UUID | None] = mapped_column(
        UUID(as_uuid=True), ForeignKey("customers.id", ondelete="RESTRICT"))
    # An unknown caller has no customer record: who they are and how to reach them.
    contact_note: Mapped[str | None] = mapped_column(String(500))
    # The project: the Authorizer's node.
    node_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), ForeignKey("org_nodes.id", ondelete="RESTRICT"),
                                               nullable=False)
    unit_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True), ForeignKey("units.id", ondelete="RESTRICT"))
    category_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("complaint_categories.id", ondelete="RESTRICT"), nullable=False)
    quality: Mapped[bool] = mapped_column(Boolean, nullable=False)  # the category's flag, kept with the record
    severity: Mapped[Severity] = mapped_column(str_enum(Severity), nullable=False)
    subject: Mapped[str] = mapped_column(String(200), nullable=False)
    description: Mapped[str] = mapped_column(Text, nullable=False)
    counterparty: Mapped[str | None] = mapped_column(String(500))  # disputes: the other party
    # Complaints of one joint complaint share this (the id of the first of them).
    joint_group: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    status: Mapped[ComplaintStatus] = mapped_column(str_enum(ComplaintStatus), nullable=False)
    # The staff account handling it (None until assigned: filed from the app or by a partner system).
    handler_id: Mapped[str | None] = mapped_column(String(200))
    filed_by: Mapped[str] = mapped_column(String(200), nullable=False)  # the registering token's subject
    department: Mapped[Department] = mapped_column(str_enum(Department), nullable=False)
    received_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    first_responded_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    resolved_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    closed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # The investigation.
    cause: Mapped[str | None] = mapped_column(Text)
    responsible_party: Mapped[ResponsibleParty | None] = mapped_column(str_enum(ResponsibleParty))
    # Handling and feedback.
    handling_result: Mapped[str | None] = mapped_column(Text)
    check_result: Mapped[str | None] = mapped_column(Text)
    feedback_opinion: Mapped[str | None] = mapped_column(Text)
    satisfaction: Mapped[int | None] = mapped_column(Integer)
    # Litigation.
    case_reference: Mapped[str | None] = mapped_column(String(100))
    court: Mapped[str | None] = mapped_column(String(200))
    litigation_outcome: Mapped[str | None] = mapped_column(Text)
    litigated_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    reopen_count: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    # SLA clocks, in business seconds of the tenant's default calendar (see sla.py). Targets
    # are the category's policy, kept here; paused time is kept apart from them, so that a
    # policy change recomputes the due instants without losing it.
    response_target_minutes: Mapped[int] = mapped_column(Integer, nullable=False)
    resolution_target_minutes: Mapped[int] = mapped_column(Integer, nullable=False)
    paused_seconds: Mapped[int] = mapped_column(Integer, nullable=False, default=0)  # ended pauses
    paused_since: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    pause_reason: Mapped[PauseReason | None] = mapped_column(str_enum(PauseReason))
    response_due_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    response_warn_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    resolution_due_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    resolution_warn_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    response_seconds: Mapped[int | None] = mapped_column(Integer)  # business seconds to the first response
    resolution_seconds: Mapped[int | None] = mapped_column(Integer)  # business seconds to resolution
    response_met: Mapped[bool | None] = mapped_column(Boolean)
    resolution_met: Mapped[bool | None] = mapped_column(Boolean)
    response_warned_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    response_breached_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    resolution_warned_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    resolution_breached_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    escalation_level: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    next_escalation_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # The scan's schedule: the next instant a clock crosses a line, and the state of the
    # calendar it was computed in (another state makes the scan compute it again).
    sla_next_check_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    sla_calendar_stamp: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    __table_args__ = (
        Index("ix_complaints_node_id", "node_id"),
        Index("ix_complaints_customer_id", "customer_id"),
        Index("ix_complaints_unit_id", "unit_id"),
        Index("ix_complaints_category_id", "category_id"),
        Index("ix_complaints_joint_group", "joint_group"),
        Index("ix_complaints_handler_id", "handler_id"),
        # The handover switch looks for the project department's records of handed-over projects.
        Index("ix_complaints_department_node_id", "department", "node_id"),
        Index("ix_complaints_register_received_at", "register", "received_at"),
        # Statistics read a period of both registers.
        Index("ix_complaints_received_at", "received_at"),
        Index("ix_complaints_register_status", "register", "status"),
        # The SLA scan reads only what is due: the open records whose next line is crossed.
        Index("ix_complaints_sla_next_check_at", "sla_next_check_at",
              postgresql_where=text("sla_next_check_at IS NOT NULL")),
        # ... and those whose lines were drawn in a calendar that has changed since.
        Index("ix_complaints_sla_calendar_stamp", "sla_calendar_stamp",
              postgresql_where=text("sla_next_check_at IS NOT NULL")),
        CheckConstraint("satisfaction BETWEEN 1 AND 5", name="satisfaction_range"),
    )


class ComplaintProposal(IdMixin, TenantBase):
    """One round of a resolution proposal; every round is kept."""

    __tablename__ = "complaint_proposals"

    complaint_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("complaints.id", ondelete="CASCADE"), nullable=False)
    round: Mapped[int] = mapped_column(Integer, nullable=False)
    kind: Mapped[ProposalKind] = mapped_column(str_enum(ProposalKind), nullable=False)
    amount: Mapped[Decimal | None] = mapped_column(Numeric(18, 2))  # compensation, yuan
    item: Mapped[str | None] = mapped_column(String(500))  # replacement: what is replaced
    due_date: Mapped[date | None] = mapped_column(Date)  # repair and replacement: done by
    description: Mapped[str] = mapped_column(Text, nullable=False)
    pre_negotiated: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    status: Mapped[ProposalStatus] = mapped_column(str_enum(ProposalStatus), nullable=False)
    approval_request_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    decision_comment: Mapped[str | None] = mapped_column(Text)
    created_by: Mapped[str] = mapped_column(String(200), nullable=False)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    decided_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    __table_args__ = (
        UniqueConstraint("complaint_id", "round"),
        Index("ix_complaint_proposals_approval_request_id", "approval_request_id"),
    )


class ComplaintNegotiation(IdMixin, TenantBase):
    """One negotiation round with the customer on an approved proposal."""

    __tablename__ = "complaint_negotiations"

    complaint_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("complaints.id", ondelete="CASCADE"), nullable=False)
    proposal_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("complaint_proposals.id", ondelete="CASCADE"), nullable=False)
    round: Mapped[int] = mapped_column(Integer, nullable=False)
    customer_response: Mapped[str] = mapped_column(Text, nullable=False)
    agreed: Mapped[bool] = mapped_column(Boolean, nullable=False)
    recorded_by: Mapped[str] = mapped_column(String(200), nullable=False)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)

    __table_args__ = (Index("ix_complaint_negotiations_complaint_id", "complaint_id"),)


class ComplaintEvent(IdMixin, TenantBase):
    """The record's history: every transition and clock change (``public`` ones an owner sees)."""

    __tablename__ = "complaint_events"

    complaint_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("complaints.id", ondelete="CASCADE"), nullable=False)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    actor_id: Mapped[str] = mapped_column(String(200), nullable=False)
    action: Mapped[str] = mapped_column(String(40), nullable=False)
    from_status: Mapped[ComplaintStatus | None] = mapped_column(str_enum(ComplaintStatus))
    to_status: Mapped[ComplaintStatus | None] = mapped_column(str_enum(ComplaintStatus))
    note: Mapped[str | None] = mapped_column(Text)
    public: Mapped[bool] = mapped_column(Boolean, nullable=False)
    data: Mapped[dict[str, Any] | None] = mapped_column(JSONB)

    __table_args__ = (Index("ix_complaint_events_complaint_id_at", "complaint_id", "at"),)


class ComplaintNote(IdMixin, TenantBase):
    """Information added to a record: by staff (``internal`` ones never reach the owner) or by the owner."""

    __tablename__ = "complaint_notes"

    complaint_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("complaints.id", ondelete="CASCADE"), nullable=False)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    author_id: Mapped[str] = mapped_column(String(200), nullable=False)
    by_owner: Mapped[bool] = mapped_column(Boolean, nullable=False)
    internal: Mapped[bool] = mapped_column(Boolean, nullable=False)
    body: Mapped[str] = mapped_column(Text, nullable=False)

    __table_args__ = (Index("ix_complaint_notes_complaint_id", "complaint_id"),)


class ComplaintAttachment(UploadMixin, IdMixin, VersionMixin, TenantBase):
    """A photo or document in the tenant's object store (app/storage/uploads.py): pending until
    the upload is completed, stored once its size, SHA-256 and format are verified."""

    __tablename__ = "complaint_attachments"
    # The table predates the shared upload columns: their attributes keep its column names.
    __upload_columns__ = {"object_key": "key", "object_version": "version_id", "completed_at": "stored_at"}
    UPLOAD_PENDING, UPLOAD_STORED = AttachmentStatus.pending, AttachmentStatus.stored

    complaint_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("complaints.id", ondelete="CASCADE"), nullable=False)
    filename: Mapped[str] = mapped_column(String(200), nullable=False)
    status: Mapped[AttachmentStatus] = mapped_column(str_enum(AttachmentStatus), nullable=False)
    uploaded_by: Mapped[str] = mapped_column(String(200), nullable=False)
    by_owner: Mapped[bool] = mapped_column(Boolean, nullable=False)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False, server_default=func.now())

    __table_args__ = (
        Index("ix_complaint_attachments_complaint_id", "complaint_id"),
        # The expiry of uploads never completed looks for pending rows by URL expiry.
        Index("ix_complaint_attachments_status_upload_expires_at", "status", "upload_expires_at"),
    )


# What attachments accept, how long their URLs live, and where their objects go.
ATTACHMENT_UPLOADS = UploadUse(
    name="complaints.attachment",
    content_types=("image/jpeg", "image/png", "image/webp", "image/heic", "application/pdf"),
    max_size=20 * 1024 * 1024,
    upload_ttl=timedelta(minutes=15),
    download_ttl=timedelta(minutes=5),
    grace=timedelta(hours=1),
    key_layout="complaints/{complaint}/{attachment}",
)


class CapaLetter(IdMixin, TimestampMixin, VersionMixin, TenantBase):
    """A work-liaison letter (工作联系函) sending a closed record's root cause to a responsible
    department for corrective and preventive action, with a due date and its response."""

    __tablename__ = "complaint_capa_letters"

    complaint_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("complaints.id", ondelete="CASCADE"), nullable=False)
    number: Mapped[str] = mapped_column(String(30), nullable=False, unique=True)
    department: Mapped[str] = mapped_column(String(200), nullable=False)
    assignee_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    root_cause: Mapped[str] = mapped_column(Text, nullable=False)
    requested_action: Mapped[str] = mapped_column(Text, nullable=False)
    due_date: Mapped[date] = mapped_column(Date, nullable=False)
    status: Mapped[LetterStatus] = mapped_column(str_enum(LetterStatus), nullable=False)
    response: Mapped[str | None] = mapped_column(Text)
    responded_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    responded_by: Mapped[str | None] = mapped_column(String(200))
    created_by: Mapped[str] = mapped_column(String(200), nullable=False)

    __table_args__ = (Index("ix_complaint_capa_letters_complaint_id", "complaint_id"),)


register_customer_reference(Complaint, "customer_id")
