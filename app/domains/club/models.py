"""The customer club (客户会): its establishment plan (approved through the engine), its tiers,
its members with their points ledger, and its activities with their registrations.

Every record sits at an org node (``node_id``): a club at the group or a branch that runs it, a
member and their ledger entries at their customer's node when enrolled, an activity at the
project or branch that holds it (a registration at its activity's). Money is
``Numeric(14, 2)`` yuan; points are whole numbers.

The ledger is append-only: an entry is never changed or deleted, a mistake is undone by a
compensating entry (``reverses_id``, unique: an entry is reversed at most once). A member's
``balance`` is the sum of their entries, kept on the member row under its row lock and
checked by the database never to fall below zero.
"""

from __future__ import annotations

import enum
import uuid
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import (
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
)
from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlalchemy.orm import Mapped, mapped_column

from app.core.models import IdMixin, TenantBase, TimestampMixin, VersionMixin, str_enum
from app.core.personal import kept_plain
from app.domains.customers.references import register_customer_reference
from app.storage.uploads import UploadMixin, UploadUse


def _node() -> Mapped[uuid.UUID]:
    return mapped_column(UUID(as_uuid=True), ForeignKey("org_nodes.id", ondelete="RESTRICT"), nullable=False)


def _approval() -> Mapped[uuid.UUID | None]:
    return mapped_column(UUID(as_uuid=True), ForeignKey("approval_requests.id", ondelete="RESTRICT"))


# --------------------------------------------------------------------------------- clubs


class ClubStage(str, enum.Enum):
    """Where the club's plan is; while ``submitted`` its approval request says pending,
    approved (then ``established``), rejected or withdrawn."""

    draft = "draft"
    submitted = "submitted"
    established = "established"  # the plan was approved: members may be enrolled
    closed = "closed"


class Club(IdMixin, TimestampMixin, VersionMixin, TenantBase):
    """A club and its establishment plan (章程、组织、预算)."""

    __tablename__ = "clubs"

    node_id: Mapped[uuid.UUID] = _node()
    name: Mapped[str] = mapped_column(String(100), nullable=False, unique=True)  # 阳光·XX会
    purpose: Mapped[str] = mapped_column(Text, nullable=False)
    charter: Mapped[str] = mapped_column(Text, nullable=False)  # rules of membership and benefits
    budget: Mapped[Decimal] = mapped_column(Numeric(14, 2), nullable=False)
    # Points credited to a member whose referral enrols as a new member.
    referral_points: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    stage: Mapped[ClubStage] = mapped_column(str_enum(ClubStage), nullable=False)
    approval_request_id: Mapped[uuid.UUID | None] = _approval()
    established_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_by: Mapped[str] = mapped_column(String(200), nullable=False)

    __table_args__ = (Index("ix_clubs_node_id", "node_id"),)


class ClubTier(IdMixin, TenantBase):
    """A membership tier and its rule: a member is in the highest tier whose ``min_points``
    their lifetime earned points reach."""

    __tablename__ = "club_tiers"

    club_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("clubs.id", ondelete="CASCADE"), nullable=False)
    code: Mapped[str] = mapped_column(String(40), nullable=False)
    name: Mapped[str] = mapped_column(String(100), nullable=False)
    min_points: Mapped[int] = mapped_column(Integer, nullable=False)
    benefits: Mapped[str | None] = mapped_column(Text)

    __table_args__ = (UniqueConstraint("club_id", "code"), UniqueConstraint("club_id", "min_points"))


class MemberStatus(str, enum.Enum):
    active = "active"
    left = "left"


class Member(IdMixin, TimestampMixin, VersionMixin, TenantBase):
    """A customer's membership of a club: their number and card, tier and points balance."""

    __tablename__ = "club_members"

    club_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("clubs.id", ondelete="RESTRICT"), nullable=False)
    customer_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("customers.id", ondelete="RESTRICT"), nullable=False)
    node_id: Mapped[uuid.UUID] = _node()  # the customer's node at enrolment
    number: Mapped[str] = mapped_column(String(30), nullable=False, unique=True)  # HY-2026-000001 (会员)
    tier_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("club_tiers.id", ondelete="RESTRICT"), nullable=False)
    status: Mapped[MemberStatus] = mapped_column(str_enum(MemberStatus), nullable=False)
    joined_on: Mapped[date] = mapped_column(Date, nullable=False)
    birth_date: Mapped[date | None] = mapped_column(Date, info=kept_plain(
        "given by the member for birthday greetings; the care scan selects members by its month and day in SQL"))
    referred_by_id: Mapped[uuid.UUID | None] = mapped_column(
        UUID(as_uuid=True), ForeignKey("club_members.id", ondelete="RESTRICT"))
    balance: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    lifetime_points: Mapped[int] = mapped_column(Integer, nullable=False, default=0)  # earned, never reduced
    left_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    __table_args__ = (
        UniqueConstraint("club_id", "customer_id"),
        CheckConstraint("balance >= 0", name="balance_not_negative"),
        Index("ix_club_members_node_id", "node_id"),
        Index("ix_club_members_customer_id", "customer_id"),
    )


class EntryKind(str, enum.Enum):
    earn = "earn"
    referral = "referral"  # credited for a referred member's enrolment
    redeem = "redeem"
    expire = "expire"
    reversal = "reversal"  # compensates one earlier entry


class PointsEntry(IdMixin, TenantBase):
    """One movement of a member's points; never changed, never deleted."""

    __tablename__ = "club_points_entries"

    member_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("club_members.id", ondelete="RESTRICT"), nullable=False)
    node_id: Mapped[uuid.UUID] = _node()  # the member's
    kind: Mapped[EntryKind] = mapped_column(str_enum(EntryKind), nullable=False)
    points: Mapped[int] = mapped_column(Integer, nullable=False)  # signed: + earns, - spends
    balance_after: Mapped[int] = mapped_column(Integer, nullable=False)
    reason: Mapped[str] = mapped_column(String(500), nullable=False)
    reference: Mapped[str | None] = mapped_column(String(200))  # what it was for (an order, a gift, an activity)
    reverses_id: Mapped[uuid.UUID | None] = mapped_column(
        UUID(as_uuid=True), ForeignKey("club_points_entries.id", ondelete="RESTRICT"), unique=True)
    created_by: Mapped[str] = mapped_column(String(200), nullable=False)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now(), nullable=False)

    __table_args__ = (
        CheckConstraint("points <> 0", name="points_not_zero"),
        CheckConstraint("balance_after >= 0", name="balance_after_not_negative"),
        Index("ix_club_points_entries_member_id_created_at", "member_id", "created_at"),
    )

    @property
    def version(self) -> int:
        """An entry never changes: its ETag is always the first."""
        return 1


# ---------------------------------------------------------------------------- activities


class ActivityKind(str, enum.Enum):
    period = "period"  # a period plan (a quarter's or a year's programme)
    event = "event"  # one event


class ActivityStage(str, enum.Enum):
    draft = "draft"
    submitted = "submitted"  # its approval request says pending, approved, rejected or withdrawn
    published = "published"  # open to the members it is for: registration from the app
    held = "held"  # carried out: its record is in
    evaluated = "evaluated"
    cancelled = "cancelled"


class Activity(IdMixin, TimestampMixin, VersionMixin, TenantBase):
    """A club activity: its plan (purpose, content, form, budget by line item) through approval,
    its publication to members by tier and project, its record and evaluation."""

    __tablename__ = "club_activities"

    club_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("clubs.id", ondelete="RESTRICT"), nullable=False)
    node_id: Mapped[uuid.UUID] = _node()
    number: Mapped[str] = mapped_column(String(30), nullable=False, unique=True)  # HD-2026-000001 (活动)
    kind: Mapped[ActivityKind] = mapped_column(str_enum(ActivityKind), nullable=False)
    title: Mapped[str] = mapped_column(String(200), nullable=False)
    purpose: Mapped[str] = mapped_column(Text, nullable=False)
    content: Mapped[str] = mapped_column(Text, nullable=False)
    form: Mapped[str] = mapped_column(String(200), nullable=False)  # 形式: a salon, an outing, a lecture…
    venue: Mapped[str | None] = mapped_column(String(300))
    starts_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    ends_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    capacity: Mapped[int] = mapped_column(Integer, nullable=False)
    # [{"item", "amount"}] (amount a decimal string); the total is ``budget``.
    budget_lines: Mapped[list[dict[str, Any]]] = mapped_column(JSONB, nullable=False, default=list)
    budget: Mapped[Decimal] = mapped_column(Numeric(14, 2), nullable=False)
    # Who it is published to: tier codes and project ids; empty means every member.
    tiers: Mapped[list[str]] = mapped_column(JSONB, nullable=False, default=list)
    project_ids: Mapped[list[str]] = mapped_column(JSONB, nullable=False, default=list)
    stage: Mapped[ActivityStage] = mapped_column(str_enum(ActivityStage), nullable=False)
    approval_request_id: Mapped[uuid.UUID | None] = _approval()
    published_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # The record once held.
    held_summary: Mapped[str | None] = mapped_column(Text)
    actual_lines: Mapped[list[dict[str, Any]] | None] = mapped_column(JSONB)
    actual_cost: Mapped[Decimal | None] = mapped_column(Numeric(14, 2))
    # The evaluation: what followed (linked afterwards), the satisfaction survey's questionnaire.
    referrals: Mapped[int | None] = mapped_column(Integer)
    purchases: Mapped[int | None] = mapped_column(Integer)
    sales_value: Mapped[Decimal | None] = mapped_column(Numeric(14, 2))
    questionnaire_id: Mapped[uuid.UUID | None] = mapped_column(
        UUID(as_uuid=True), ForeignKey("questionnaires.id", ondelete="RESTRICT"))
    evaluation_notes: Mapped[str | None] = mapped_column(Text)
    cancel_reason: Mapped[str | None] = mapped_column(String(2000))
    created_by: Mapped[str] = mapped_column(String(200), nullable=False)

    __table_args__ = (
        CheckConstraint("capacity > 0", name="capacity_positive"),
        CheckConstraint("ends_at >= starts_at", name="ends_after_start"),
        Index("ix_club_activities_node_id", "node_id"),
        Index("ix_club_activities_club_id_stage", "club_id", "stage"),
    )


class RegistrationStatus(str, enum.Enum):
    registered = "registered"  # holds a place
    waitlisted = "waitlisted"  # promoted in order when a place frees
    cancelled = "cancelled"
    checked_in = "checked_in"


class Registration(IdMixin, TimestampMixin, VersionMixin, TenantBase):
    """A member's registration for an activity: a place, or a place on its waitlist."""

    __tablename__ = "club_registrations"

    activity_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("club_activities.id", ondelete="RESTRICT"), nullable=False)
    member_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("club_members.id", ondelete="RESTRICT"), nullable=False)
    node_id: Mapped[uuid.UUID] = _node()  # the activity's
    status: Mapped[RegistrationStatus] = mapped_column(str_enum(RegistrationStatus), nullable=False)
    promoted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    cancelled_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    checked_in_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    checked_in_by: Mapped[str | None] = mapped_column(String(200))

    __table_args__ = (
        UniqueConstraint("activity_id", "member_id"),
        Index("ix_club_registrations_activity_id_status_created_at", "activity_id", "status", "created_at"),
        Index("ix_club_registrations_member_id", "member_id"),
    )


class PhotoStatus(str, enum.Enum):
    pending = "pending"
    stored = "stored"


class ActivityPhoto(UploadMixin, IdMixin, TimestampMixin, VersionMixin, TenantBase):
    """A photo of an activity for its record, in the tenant's object store: pending until the
    upload is completed and verified (app/storage/uploads.py)."""

    __tablename__ = "club_activity_photos"
    UPLOAD_PENDING, UPLOAD_STORED = PhotoStatus.pending, PhotoStatus.stored

    activity_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("club_activities.id", ondelete="RESTRICT"), nullable=False)
    node_id: Mapped[uuid.UUID] = _node()  # the activity's
    caption: Mapped[str | None] = mapped_column(String(200))
    filename: Mapped[str] = mapped_column(String(200), nullable=False)
    status: Mapped[PhotoStatus] = mapped_column(str_enum(PhotoStatus), nullable=False)
    uploaded_by: Mapped[str] = mapped_column(String(200), nullable=False)

    __table_args__ = (
        Index("ix_club_activity_photos_activity_id", "activity_id"),
        Index("ix_club_activity_photos_status_upload_expires_at", "status", "upload_expires_at"),
    )


PHOTO_UPLOADS = UploadUse(
    name="club.activity_photo",
    content_types=("image/jpeg", "image/png", "image/webp", "image/heic"),
    max_size=20 * 1024 * 1024,
    upload_ttl=timedelta(minutes=15),
    download_ttl=timedelta(minutes=5),
    grace=timedelta(hours=1),
    key_layout="club/activities/{activity}/{photo}",
)


register_customer_reference(Member, "customer_id")
