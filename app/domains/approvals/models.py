"""The approval engine's tables: per-type chains, requests, who may decide each step, and
the history of every action.

A request keeps every round: the steps of a round are written into its submit or
resubmit action, approvers are rows per (round, step), and actions are never changed,
so the whole "revise until approved" loop can be replayed from the tables.
"""

from __future__ import annotations

import enum
import uuid
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
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


class RequestStatus(str, enum.Enum):
    draft = "draft"
    pending = "pending"
    approved = "approved"
    rejected = "rejected"  # may be revised and resubmitted as a new round
    withdrawn = "withdrawn"  # final: nobody can act on it any more


class ActionKind(str, enum.Enum):
    create = "create"
    submit = "submit"
    approve = "approve"
    reject = "reject"
    withdraw = "withdraw"
    resubmit = "resubmit"
    delegate = "delegate"



class ApprovalChain(IdMixin, TimestampMixin, VersionMixin, TenantBase):
    """A tenant's chain for one request type. Absent: the type's registered default applies."""

    __tablename__ = "approval_chains"

    request_type: Mapped[str] = mapped_column(String(60), nullable=False, unique=True)
    # Ordered steps as the API shows them (camelCase): name, role + at | user, minAmount.
    steps: Mapped[list[dict[str, Any]]] = mapped_column(JSONB, nullable=False)


class ApprovalRequest(IdMixin, TimestampMixin, VersionMixin, TenantBase):
    __tablename__ = "approval_requests"

    request_type: Mapped[str] = mapped_column(String(60), nullable=False)
    # The domain record the request is about (a complaint, a customer, ...), when there is one.
    subject_type: Mapped[str | None] = mapped_column(String(60))
    subject_id: Mapped[str | None] = mapped_column(String(200))
    # Where the record sits: approvers are found relative to this node.
    node_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), ForeignKey("org_nodes.id", ondelete="RESTRICT"),
                                               nullable=False)
    title: Mapped[str] = mapped_column(String(300), nullable=False)
    payload: Mapped[dict[str, Any]] = mapped_column(JSONB, nullable=False, default=dict)
    amount: Mapped[Decimal | None] = mapped_column(Numeric(18, 2))  # for step conditions; never a float
    reason: Mapped[str | None] = mapped_column(Text)
    status: Mapped[RequestStatus] = mapped_column(str_enum(RequestStatus), nullable=False)
    round: Mapped[int] = mapped_column(Integer, nullable=False, default=1)
    # 1-based position in ``steps`` while pending; None otherwise.
    current_step: Mapped[int | None] = mapped_column(Integer)
    # This round's applicable steps, copied from the chain at submission: editing the chain
    # never changes a request already under way.
    steps: Mapped[list[dict[str, Any]]] = mapped_column(JSONB, nullable=False, default=list)
    chain_version: Mapped[int | None] = mapped_column(Integer)  # 0: the type's default chain
    submitted_by: Mapped[str] = mapped_column(String(200), nullable=False)  # the actor's id
    submitted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    decided_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    __table_args__ = (
        Index("ix_approval_requests_status_request_type", "status", "request_type"),
        Index("ix_approval_requests_submitted_by", "submitted_by"),
        Index("ix_approval_requests_node_id", "node_id"),
        Index("ix_approval_requests_subject_type_subject_id", "subject_type", "subject_id"),
    )


class ApprovalStepApprover(IdMixin, TenantBase):
    """An account that may decide one step of one round: resolved from role assignments
    when the step becomes current, or added by a delegation."""

    __tablename__ = "approval_step_approvers"

    request_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("approval_requests.id", ondelete="CASCADE"), nullable=False
    )
    round: Mapped[int] = mapped_column(Integer, nullable=False)
    step: Mapped[int] = mapped_column(Integer, nullable=False)
    # Platform accounts live in the shared schema: no foreign key across schemas.
    account_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), nullable=False)
    delegated_by: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now(), nullable=False)

    __table_args__ = (
        UniqueConstraint("request_id", "round", "step", "account_id"),
        Index("ix_approval_step_approvers_account_id", "account_id"),
    )


class ApprovalAction(IdMixin, TenantBase):
    """One entry of a request's history; written once, never changed."""

    __tablename__ = "approval_actions"

    request_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("approval_requests.id", ondelete="CASCADE"), nullable=False
    )
    round: Mapped[int] = mapped_column(Integer, nullable=False)
    step: Mapped[int | None] = mapped_column(Integer)  # None for actions on the whole request
    actor: Mapped[str] = mapped_column(String(200), nullable=False)
    action: Mapped[ActionKind] = mapped_column(str_enum(ActionKind), nullable=False)
    comment: Mapped[str | None] = mapped_column(Text)
    # What else the action carried: the round's steps (submit, resubmit), a delegate's id,
    # the payload a resubmission replaced.
    data: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now(), nullable=False)

    __table_args__ = (Index("ix_approval_actions_request_id_at", "request_id", "at"),)
