"""Small property certificates through agencies, the company's mortgage guarantees, and the
collection of overdue mortgage repayments.

Units and their owners are the org and customers domains' records: a case, a guarantee or a
collection case names the unit and the customer, it copies no personal data. The one
identifier of its own, a loan account number, is stored sealed with the tenant's data key
(``*_sealed``) with a blind index for matching the finance feed and its last four digits
for display.
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
    LargeBinary,
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
from app.domains.customers.references import register_customer_reference
from app.storage.uploads import UploadMixin, UploadUse


def _node() -> Mapped[uuid.UUID]:
    return mapped_column(UUID(as_uuid=True), ForeignKey("org_nodes.id", ondelete="RESTRICT"), nullable=False)


def _unit() -> Mapped[uuid.UUID]:
    return mapped_column(UUID(as_uuid=True), ForeignKey("units.id", ondelete="RESTRICT"), nullable=False)


def _customer() -> Mapped[uuid.UUID]:
    return mapped_column(UUID(as_uuid=True), ForeignKey("customers.id", ondelete="RESTRICT"), nullable=False)


def _approval() -> Mapped[uuid.UUID | None]:
    return mapped_column(UUID(as_uuid=True), ForeignKey("approval_requests.id", ondelete="RESTRICT"))


def _money(nullable: bool = False) -> Mapped[Any]:
    return mapped_column(Numeric(14, 2), nullable=nullable)  # yuan, never a float


# ------------------------------------------------------------------------------- agencies


class AgencyStage(str, enum.Enum):
    draft = "draft"  # registered, not yet proposed
    submitted = "submitted"  # its selection is the approval engine's (shown as its request's status)
    suspended = "suspended"  # no new cases


class Agency(IdMixin, TimestampMixin, VersionMixin, TenantBase):
    """A certificate agency (办证代理公司): registered, then selected through the approval engine."""

    __tablename__ = "cert_agencies"

    node_id: Mapped[uuid.UUID] = _node()  # the group or the branch that works with it
    name: Mapped[str] = mapped_column(String(200), nullable=False)
    licence_number: Mapped[str | None] = mapped_column(String(60))
    contact_name: Mapped[str] = mapped_column(String(100), nullable=False)
    contact_phone: Mapped[str] = mapped_column(String(40), nullable=False, info=kept_plain(
        "the agency's office line, a company's number, not a person's"))
    reputation: Mapped[str | None] = mapped_column(Text)  # why it is reputable and capable
    stage: Mapped[AgencyStage] = mapped_column(str_enum(AgencyStage), nullable=False)
    approval_request_id: Mapped[uuid.UUID | None] = _approval()

    __table_args__ = (Index("ix_cert_agencies_node_id", "node_id"),)


class Agreement(IdMixin, TimestampMixin, VersionMixin, TenantBase):
    """The agency agreement (代理协议): scope, fees and the service levels cases are held to."""

    __tablename__ = "cert_agreements"

    agency_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), ForeignKey("cert_agencies.id",
                                                                                ondelete="RESTRICT"), nullable=False)
    node_id: Mapped[uuid.UUID] = _node()  # the agency's
    number: Mapped[str] = mapped_column(String(60), nullable=False)
    scope: Mapped[str] = mapped_column(Text, nullable=False)
    fee_per_case: Mapped[Decimal] = _money()
    # Service levels: calendar days from a case's submission to the certificate's issue, and
    # from its issue to the delivery to the owner.
    days_to_issue: Mapped[int] = mapped_column(Integer, nullable=False)
    days_to_deliver: Mapped[int] = mapped_column(Integer, nullable=False)
    signed_on: Mapped[date] = mapped_column(Date, nullable=False)
    valid_from: Mapped[date] = mapped_column(Date, nullable=False)
    valid_until: Mapped[date] = mapped_column(Date, nullable=False)

    __table_args__ = (UniqueConstraint("agency_id", "number"), Index("ix_cert_agreements_node_id", "node_id"))


# ---------------------------------------------------------------------- certificate cases


class CaseStage(str, enum.Enum):
    collecting = "collecting"  # documents collected against the owner's checklist
    submitted = "submitted"  # handed to the registry by the agency
    accepted = "accepted"  # the registry accepted the file
    issued = "issued"  # the certificate is issued
    delivered = "delivered"  # handed to the owner
    cancelled = "cancelled"


class CertificateCase(IdMixin, TimestampMixin, VersionMixin, TenantBase):
    """One owner's certificate for one unit, processed by an agency under its agreement."""

    __tablename__ = "cert_cases"

    number: Mapped[str] = mapped_column(String(30), nullable=False, unique=True)  # BZ-2026-000001 (办证)
    node_id: Mapped[uuid.UUID] = _node()  # the unit's project
    unit_id: Mapped[uuid.UUID] = _unit()
    customer_id: Mapped[uuid.UUID] = _customer()
    agency_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), ForeignKey("cert_agencies.id",
                                                                                ondelete="RESTRICT"), nullable=False)
    agreement_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), ForeignKey("cert_agreements.id",
                                                                                   ondelete="RESTRICT"), nullable=False)
    stage: Mapped[CaseStage] = mapped_column(str_enum(CaseStage), nullable=False)
    opened_on: Mapped[date] = mapped_column(Date, nullable=False)
    submitted_on: Mapped[date | None] = mapped_column(Date)
    accepted_on: Mapped[date | None] = mapped_column(Date)
    issued_on: Mapped[date | None] = mapped_column(Date)
    delivered_on: Mapped[date | None] = mapped_column(Date)
    # What the agreement promises: the issue by ``issue_due_on`` (fixed at submission), and
    # ``due_on``, the deadline of the stage the case is in (the issue, then the delivery).
    issue_due_on: Mapped[date | None] = mapped_column(Date)
    due_on: Mapped[date | None] = mapped_column(Date)
    certificate_number: Mapped[str | None] = mapped_column(String(60))
    cancel_reason: Mapped[str | None] = mapped_column(String(2000))
    # The lateness scan: when the case was first found late, and when the agency was last urged.
    late_since: Mapped[date | None] = mapped_column(Date)
    last_urged_on: Mapped[date | None] = mapped_column(Date)
    urge_count: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    # The staff member following the case for the CRM department (§4.5.2): told of each urge.
    responsible_account_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))

    __table_args__ = (
        Index("ix_cert_cases_node_id", "node_id"),
        Index("ix_cert_cases_unit_id", "unit_id"),
        Index("ix_cert_cases_customer_id", "customer_id"),
        Index("ix_cert_cases_agency_id", "agency_id"),
        # The daily scan reads only the open cases with a due date.
        Index("ix_cert_cases_open_due", "due_on",
              postgresql_where=text("stage IN ('submitted', 'accepted', 'issued')")),
    )


class CaseDocument(IdMixin, VersionMixin, TenantBase):
    """One line of a case's checklist: what the owner must provide, when it was collected and
    until when it is valid (an expired document is collected again)."""

    __tablename__ = "cert_case_documents"

    case_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), ForeignKey("cert_cases.id", ondelete="CASCADE"),
                                               nullable=False)
    position: Mapped[int] = mapped_column(Integer, nullable=False)
    code: Mapped[str] = mapped_column(String(40), nullable=False)
    name: Mapped[str] = mapped_column(String(200), nullable=False)
    valid_days: Mapped[int | None] = mapped_column(Integer)  # None: never expires
    collected_on: Mapped[date | None] = mapped_column(Date)
    expires_on: Mapped[date | None] = mapped_column(Date)
    note: Mapped[str | None] = mapped_column(String(500))

    __table_args__ = (UniqueConstraint("case_id", "code"),)


class CaseEvent(IdMixin, TenantBase):
    """The case's follow-up log: urges to the agency (the scan's and staff's), contacts, notes."""

    __tablename__ = "cert_case_events"

    case_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), ForeignKey("cert_cases.id", ondelete="CASCADE"),
                                               nullable=False)
    kind: Mapped[str] = mapped_column(String(30), nullable=False)  # urge, follow_up, stage
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    by: Mapped[str] = mapped_column(String(200), nullable=False)
    note: Mapped[str] = mapped_column(Text, nullable=False)

    __table_args__ = (Index("ix_cert_case_events_case_id", "case_id", "at"),)


# ---------------------------------------------------------------------------- guarantees


class GuaranteeKind(str, enum.Enum):
    phased = "phased"  # 阶段性担保: until the certificate and the mortgage registration
    full_term = "full_term"  # 全程担保


class GuaranteeStage(str, enum.Enum):
    active = "active"
    submitted = "submitted"  # the release request is the approval engine's
    released = "released"


class Guarantee(IdMixin, TimestampMixin, VersionMixin, TenantBase):
    """The company's guarantee on an owner's mortgage loan (按揭担保). Releasable once the
    unit's certificate is issued and the mortgage registration is done: read from the case and
    the registration date, never a flag of its own."""

    __tablename__ = "mortgage_guarantees"

    number: Mapped[str] = mapped_column(String(30), nullable=False, unique=True)  # DB-2026-000001 (担保)
    node_id: Mapped[uuid.UUID] = _node()  # the unit's project
    unit_id: Mapped[uuid.UUID] = _unit()
    customer_id: Mapped[uuid.UUID] = _customer()
    bank: Mapped[str] = mapped_column(String(200), nullable=False)
    loan_account_sealed: Mapped[bytes] = mapped_column(LargeBinary, nullable=False)
    loan_account_index: Mapped[str] = mapped_column(String(40), nullable=False)
    loan_account_last4: Mapped[str] = mapped_column(String(4), nullable=False)
    loan_amount: Mapped[Decimal] = _money()
    kind: Mapped[GuaranteeKind] = mapped_column(str_enum(GuaranteeKind), nullable=False)
    starts_on: Mapped[date] = mapped_column(Date, nullable=False)
    ends_on: Mapped[date | None] = mapped_column(Date)
    registration_done_on: Mapped[date | None] = mapped_column(Date)  # 抵押登记
    registration_number: Mapped[str | None] = mapped_column(String(60))
    stage: Mapped[GuaranteeStage] = mapped_column(str_enum(GuaranteeStage), nullable=False)
    approval_request_id: Mapped[uuid.UUID | None] = _approval()
    released_on: Mapped[date | None] = mapped_column(Date)
    bank_confirmation: Mapped[str | None] = mapped_column(String(200))  # the bank's confirmation reference
    # The bank's release confirmation, a verified upload (GuaranteeDocument of kind release_confirmation).
    release_document_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    release_note: Mapped[str | None] = mapped_column(Text)

    __table_args__ = (
        Index("ix_mortgage_guarantees_node_id", "node_id"),
        Index("ix_mortgage_guarantees_unit_id", "unit_id"),
        Index("ix_mortgage_guarantees_loan_account_index", "loan_account_index"),
    )


class DocumentKind(str, enum.Enum):
    loan_contract = "loan_contract"  # 借款合同
    guarantee_contract = "guarantee_contract"  # 保证合同
    release_confirmation = "release_confirmation"  # the bank's confirmation of the release (解除担保确认书)
    other = "other"


class DocumentStatus(str, enum.Enum):
    pending = "pending"
    stored = "stored"


class GuaranteeDocument(UploadMixin, IdMixin, TimestampMixin, VersionMixin, TenantBase):
    """A document of a guarantee (the loan and guarantee contracts, the bank's release
    confirmation) in the tenant's object store: pending until its upload is completed and
    verified (app/storage/uploads.py)."""

    __tablename__ = "guarantee_documents"
    UPLOAD_PENDING, UPLOAD_STORED = DocumentStatus.pending, DocumentStatus.stored

    guarantee_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), ForeignKey("mortgage_guarantees.id",
                                                                                   ondelete="RESTRICT"), nullable=False)
    node_id: Mapped[uuid.UUID] = _node()  # the guarantee's
    kind: Mapped[DocumentKind] = mapped_column(str_enum(DocumentKind), nullable=False)
    filename: Mapped[str] = mapped_column(String(200), nullable=False)
    status: Mapped[DocumentStatus] = mapped_column(str_enum(DocumentStatus), nullable=False)
    uploaded_by: Mapped[str] = mapped_column(String(100), nullable=False)

    __table_args__ = (
        Index("ix_guarantee_documents_guarantee_id", "guarantee_id"),
        Index("ix_guarantee_documents_status_upload_expires_at", "status", "upload_expires_at"),
    )


DOCUMENT_UPLOADS = UploadUse(
    name="guarantees.document",
    content_types=("application/pdf", "image/jpeg", "image/png", "image/tiff"),
    max_size=20 * 1024 * 1024,
    upload_ttl=timedelta(minutes=15),
    download_ttl=timedelta(minutes=5),
    grace=timedelta(hours=1),
    key_layout="guarantees/{guarantee}/{document}",
)


# --------------------------------------------------------------------- overdue collection


class CollectionStage(str, enum.Enum):
    open = "open"  # reminders under way
    referred = "referred"  # referred to the general management department for litigation
    litigated = "litigated"  # the litigation's outcome recorded
    closed = "closed"  # repaid, or no longer overdue in the feed


class CollectionCase(IdMixin, TimestampMixin, VersionMixin, TenantBase):
    """One overdue loan, as finance's feed last described it, and its collection."""

    __tablename__ = "collection_cases"

    number: Mapped[str] = mapped_column(String(30), nullable=False, unique=True)  # CJ-2026-000001 (催缴)
    node_id: Mapped[uuid.UUID] = _node()  # the unit's project
    unit_id: Mapped[uuid.UUID] = _unit()
    customer_id: Mapped[uuid.UUID] = _customer()
    bank: Mapped[str] = mapped_column(String(200), nullable=False)
    loan_account_sealed: Mapped[bytes] = mapped_column(LargeBinary, nullable=False)
    loan_account_index: Mapped[str] = mapped_column(String(40), nullable=False, unique=True)
    loan_account_last4: Mapped[str] = mapped_column(String(4), nullable=False)
    overdue_since: Mapped[date] = mapped_column(Date, nullable=False)
    overdue_amount: Mapped[Decimal] = _money()
    bank_recommends: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    fed_on: Mapped[date] = mapped_column(Date, nullable=False)  # the feed that last described it
    stage: Mapped[CollectionStage] = mapped_column(str_enum(CollectionStage), nullable=False)
    referred_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    referral_reasons: Mapped[list[str]] = mapped_column(JSONB, nullable=False, default=list)
    outcome: Mapped[str | None] = mapped_column(String(30))  # won, settled, lost, withdrawn
    outcome_on: Mapped[date | None] = mapped_column(Date)
    outcome_note: Mapped[str | None] = mapped_column(Text)

    __table_args__ = (Index("ix_collection_cases_node_id", "node_id"),
                      Index("ix_collection_cases_unit_id", "unit_id"))


class Reminder(IdMixin, TenantBase):
    """One reminder to the owner: the channel, what came of it, a promise to pay."""

    __tablename__ = "collection_reminders"

    case_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), ForeignKey("collection_cases.id",
                                                                              ondelete="CASCADE"), nullable=False)
    channel: Mapped[str] = mapped_column(String(20), nullable=False)  # phone, sms, email, lawyer_letter
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    by: Mapped[str] = mapped_column(String(200), nullable=False)
    outcome: Mapped[str] = mapped_column(String(30), nullable=False)  # reached, no_answer, promised, refused
    promised_on: Mapped[date | None] = mapped_column(Date)
    note: Mapped[str | None] = mapped_column(Text)

    __table_args__ = (Index("ix_collection_reminders_case_id", "case_id", "at"),)


register_customer_reference(CertificateCase, "customer_id")
register_customer_reference(Guarantee, "customer_id")
register_customer_reference(CollectionCase, "customer_id")
