"""Customer forums (客户座谈会): the plan (approved through the engine), the invitations and
attendance, the minutes, the findings and the improvement actions they become.

A forum sits at the project or branch that holds it; its findings and actions at the same
node. Money is ``Numeric(14, 2)`` yuan.
"""

from __future__ import annotations

import enum
import uuid
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import Date, DateTime, ForeignKey, Index, Numeric, String, Text, UniqueConstraint
from sqlalchemy.dialects.postgresql import UUID
from sqlalchemy.orm import Mapped, mapped_column

from app.core.models import IdMixin, TenantBase, TimestampMixin, VersionMixin, str_enum
from app.domains.customers.references import register_customer_reference


def _node() -> Mapped[uuid.UUID]:
    return mapped_column(UUID(as_uuid=True), ForeignKey("org_nodes.id", ondelete="RESTRICT"), nullable=False)


class ForumKind(str, enum.Enum):
    regular = "regular"  # 定期
    ad_hoc = "ad_hoc"  # 不定期


class ForumScope(str, enum.Enum):
    general = "general"  # 综合
    thematic = "thematic"  # 专题


class ForumStage(str, enum.Enum):
    """Where the forum is; while ``submitted`` its approval request says pending, approved,
    rejected or withdrawn."""

    draft = "draft"
    submitted = "submitted"
    held = "held"  # the meeting took place: minutes and attendance recorded
    closed = "closed"  # its findings analysed and turned into actions
    cancelled = "cancelled"


class Forum(IdMixin, TimestampMixin, VersionMixin, TenantBase):
    __tablename__ = "forums"

    node_id: Mapped[uuid.UUID] = _node()
    number: Mapped[str] = mapped_column(String(30), nullable=False, unique=True)  # ZT-2026-000001 (座谈)
    title: Mapped[str] = mapped_column(String(200), nullable=False)
    kind: Mapped[ForumKind] = mapped_column(str_enum(ForumKind), nullable=False)
    scope: Mapped[ForumScope] = mapped_column(str_enum(ForumScope), nullable=False)
    theme: Mapped[str | None] = mapped_column(String(200))  # a thematic forum's subject
    purpose: Mapped[str] = mapped_column(Text, nullable=False)  # 会议目的, decided first
    # The plan (策划): timing, format, participants, budget.
    planned_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    format: Mapped[str] = mapped_column(String(200), nullable=False)
    venue: Mapped[str | None] = mapped_column(String(300))
    participants: Mapped[str] = mapped_column(Text, nullable=False)  # who is to take part
    budget: Mapped[Decimal] = mapped_column(Numeric(14, 2), nullable=False)
    stage: Mapped[ForumStage] = mapped_column(str_enum(ForumStage), nullable=False)
    approval_request_id: Mapped[uuid.UUID | None] = mapped_column(
        UUID(as_uuid=True), ForeignKey("approval_requests.id", ondelete="RESTRICT"))
    held_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    minutes: Mapped[str | None] = mapped_column(Text)  # 会议记录
    analysis: Mapped[str | None] = mapped_column(Text)  # 信息分析
    actual_cost: Mapped[Decimal | None] = mapped_column(Numeric(14, 2))
    cancel_reason: Mapped[str | None] = mapped_column(String(2000))
    created_by: Mapped[str] = mapped_column(String(200), nullable=False)

    __table_args__ = (Index("ix_forums_node_id", "node_id"), Index("ix_forums_planned_at", "planned_at"))


class InviteeStatus(str, enum.Enum):
    invited = "invited"
    attended = "attended"
    absent = "absent"


class ForumInvitee(IdMixin, TenantBase):
    """A customer invited to a forum, and whether they came."""

    __tablename__ = "forum_invitees"

    forum_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("forums.id", ondelete="CASCADE"), nullable=False)
    customer_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("customers.id", ondelete="RESTRICT"), nullable=False)
    status: Mapped[InviteeStatus] = mapped_column(str_enum(InviteeStatus), nullable=False)
    invited_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)

    __table_args__ = (UniqueConstraint("forum_id", "customer_id"),
                      Index("ix_forum_invitees_customer_id", "customer_id"))


class FindingCategory(str, enum.Enum):
    """What a finding is used to improve (004 §4.7.8), or what it is about."""

    forum = "forum"  # the forums themselves
    service = "service"  # customer service
    relationship = "relationship"  # relationship maintenance
    product = "product"  # the product: design, quality, facilities
    property = "property"  # property management


class ForumFinding(IdMixin, TimestampMixin, TenantBase):
    """What was heard, classified (the analysis of the meeting's information)."""

    __tablename__ = "forum_findings"

    forum_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("forums.id", ondelete="CASCADE"), nullable=False)
    node_id: Mapped[uuid.UUID] = _node()  # the forum's
    category: Mapped[FindingCategory] = mapped_column(str_enum(FindingCategory), nullable=False)
    description: Mapped[str] = mapped_column(Text, nullable=False)
    created_by: Mapped[str] = mapped_column(String(200), nullable=False)

    __table_args__ = (Index("ix_forum_findings_forum_id", "forum_id"),)

    @property
    def version(self) -> int:
        """A finding is recorded once and not changed: its ETag is always the first."""
        return 1


class ActionStatus(str, enum.Enum):
    open = "open"
    done = "done"
    dropped = "dropped"


class ImprovementAction(IdMixin, TimestampMixin, VersionMixin, TenantBase):
    """An improvement a finding calls for: who does it, by when, and what came of it."""

    __tablename__ = "forum_actions"

    finding_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("forum_findings.id", ondelete="CASCADE"), nullable=False)
    forum_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("forums.id", ondelete="CASCADE"), nullable=False)
    node_id: Mapped[uuid.UUID] = _node()  # the forum's
    title: Mapped[str] = mapped_column(String(300), nullable=False)
    owner_id: Mapped[str] = mapped_column(String(200), nullable=False)  # the staff account responsible
    due_on: Mapped[date] = mapped_column(Date, nullable=False)
    status: Mapped[ActionStatus] = mapped_column(str_enum(ActionStatus), nullable=False)
    progress: Mapped[str | None] = mapped_column(Text)  # the latest follow-up note
    result: Mapped[str | None] = mapped_column(Text)
    done_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # Set by the overdue scan the day it finds the action past due (its owner told once).
    overdue_since: Mapped[date | None] = mapped_column(Date)

    __table_args__ = (
        Index("ix_forum_actions_node_id", "node_id"),
        Index("ix_forum_actions_status_due_on", "status", "due_on"),
        Index("ix_forum_actions_finding_id", "finding_id"),
    )


register_customer_reference(ForumInvitee, "customer_id")
