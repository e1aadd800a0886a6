"""A person's requests about their personal information, and the retention rules.

- ``privacy_requests``: one row per request (PIPL arts. 44-47: see and copy, correct,
  delete), with its deadline, its outcome per kind of record, and, for a copy, the package
  built by a background job, sealed with the tenant's data key (it is plaintext personal
  data of every domain);
- ``retention_runs``: what each retention scan anonymised, per kind.
"""

from __future__ import annotations

import enum
import uuid
from datetime import date, datetime
from typing import Any

from sqlalchemy import Date, DateTime, ForeignKey, Index, Integer, LargeBinary, String, func
from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlalchemy.orm import Mapped, mapped_column

from app.core.models import IdMixin, TenantBase, TimestampMixin, VersionMixin, str_enum
from app.domains.customers.references import register_customer_reference


class RequestKind(str, enum.Enum):
    access = "access"  # see and copy what is held (arts. 44, 45): a machine-readable package
    correction = "correction"  # correct or complete it (art. 46)
    erasure = "erasure"  # delete it: anonymised, except what law or contract keeps (art. 47)
    withdrawal = "withdrawal"  # withdraw consents: what they covered stops (arts. 15, 16)


class RequestStatus(str, enum.Enum):
    open = "open"
    completed = "completed"
    refused = "refused"  # with the reason told to the person (art. 50)


class RequestChannel(str, enum.Enum):
    app = "app"
    phone = "phone"
    in_person = "in_person"
    mail = "mail"
    online = "online"


class PrivacyRequest(IdMixin, TimestampMixin, VersionMixin, TenantBase):
    __tablename__ = "privacy_requests"

    number: Mapped[str] = mapped_column(String(30), nullable=False, unique=True)  # GR-2026-000123
    kind: Mapped[RequestKind] = mapped_column(str_enum(RequestKind), nullable=False)
    status: Mapped[RequestStatus] = mapped_column(str_enum(RequestStatus), nullable=False)
    channel: Mapped[RequestChannel] = mapped_column(str_enum(RequestChannel), nullable=False)
    customer_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("customers.id", ondelete="RESTRICT"), nullable=False)
    # The customer's node when filed: who may see and answer the request.
    node_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), ForeignKey("org_nodes.id", ondelete="RESTRICT"),
                                               nullable=False)
    # What the person asks, in their words (a correction names what is wrong); sealed, since
    # it may quote the personal data in question.
    details_sealed: Mapped[bytes | None] = mapped_column(LargeBinary)
    filed_by: Mapped[str] = mapped_column(String(200), nullable=False)  # the actor who recorded it
    due_on: Mapped[date] = mapped_column(Date, nullable=False)  # the tenant's answer deadline
    overdue_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))  # noted by the deadline scan
    # Per kind of record: what was done, kept and why (erasure), or how many records went in
    # the package (access).
    outcome: Mapped[list[dict[str, Any]] | None] = mapped_column(JSONB)
    answer: Mapped[str | None] = mapped_column(String(2000))  # told to the person: what was done, or why not
    answered_by: Mapped[str | None] = mapped_column(String(200))
    answered_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # A withdrawal: the kinds of consent withdrawn (marketing, behaviour, sharing).
    consent_kinds: Mapped[list[str] | None] = mapped_column(JSONB)
    # Where the tenant routes requests through the approval engine (privacy.approval): the request.
    approval_request_id: Mapped[uuid.UUID | None] = mapped_column(
        UUID(as_uuid=True), ForeignKey("approval_requests.id", ondelete="RESTRICT"))
    job_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True), ForeignKey("jobs.id", ondelete="SET NULL"))
    package_sealed: Mapped[bytes | None] = mapped_column(LargeBinary)

    __table_args__ = (
        Index("ix_privacy_requests_customer_id", "customer_id"),
        Index("ix_privacy_requests_node_id", "node_id"),
        Index("ix_privacy_requests_status_due_on", "status", "due_on"),
    )


class RetentionRun(IdMixin, TenantBase):
    __tablename__ = "retention_runs"

    kind: Mapped[str] = mapped_column(String(60), nullable=False)
    days: Mapped[int] = mapped_column(Integer, nullable=False)
    cutoff: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    anonymised: Mapped[int] = mapped_column(Integer, nullable=False)
    ran_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now(), nullable=False)

    __table_args__ = (Index("ix_retention_runs_kind_ran_at", "kind", "ran_at"),)


# A merge moves the requests to the surviving customer; a request keeps its customer from deletion.
register_customer_reference(PrivacyRequest, "customer_id")
