from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

import msgspec

from app.core.problems import FieldError, field_error
from app.core.schemas import Input, Schema, free_object
from app.domains.approvals.models import (
    ActionKind,
    ApprovalAction,
    ApprovalChain,
    ApprovalRequest,
    RequestStatus,
)

MAX_STEPS = 20
Level = Literal["project", "branch", "group"]
Name = Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
Title = Annotated[str, msgspec.Meta(min_length=1, max_length=300)]
Comment = Annotated[str, msgspec.Meta(max_length=4000)]
RoleCode = Annotated[str, msgspec.Meta(min_length=1, max_length=60)]
TypeCode = Annotated[str, msgspec.Meta(min_length=1, max_length=60)]
# A string, exact and never a float; the pattern says all a valid amount is, so the document
# states it whole and the services never meet NaN, exponents or a third decimal.
Money = Annotated[str, msgspec.Meta(pattern=r"^(0|[1-9][0-9]{0,15})(\.[0-9]{1,2})?$", examples=["50000.00"],
                                    description="A non-negative amount, at most 2 decimals, as a string.")]


def money(value: str | None) -> Decimal | None:
    return None if value is None else Decimal(value)


class Step(Input):
    """One step of a chain: a role at a level relative to the record's node, or a named user.

    ``minAmount``: the step applies only to requests whose amount is at least this.
    ``when: "referred"``: the step applies only when the approver of the step before refers the
    request on (``refer: true`` in their approval), a step taken "when necessary"; otherwise it
    is skipped.
    """

    name: Name
    role: RoleCode | None = None
    at: Level | None = msgspec.field(default=None)
    user: uuid.UUID | None = None
    min_amount: Money | None = None
    when: Literal["referred"] | None = None


class ChainIn(Input):
    steps: Annotated[list[Step], msgspec.Meta(min_length=1, max_length=MAX_STEPS)]


class ChainOut(Schema):
    request_type: str
    title: str
    steps: list[Step]
    # True while the tenant has not edited the chain: the type's default applies (version 0).
    is_default: bool
    version: int
    updated_at: datetime | None


def step_problems(steps: list[Step], prefix: str = "steps") -> list[FieldError]:
    """What is wrong with a chain's shape (roles and users are checked against the tenant apart)."""
    errors: list[FieldError] = []
    for i, step in enumerate(steps):
        where = f"{prefix}.{i}"
        if (step.role is None) == (step.user is None):
            errors.append(field_error(where, "give either role (with at) or user"))
        elif step.role is not None and step.at is None:
            errors.append(field_error(f"{where}.at", "required with role: project, branch or group"))
        elif step.user is not None and step.at is not None:
            errors.append(field_error(f"{where}.at", "only with role"))
    if steps and steps[0].when is not None:
        errors.append(field_error(f"{prefix}.0.when", "the first step has no step before it to refer it on"))
    if steps and all(s.min_amount is not None for s in steps):
        # Otherwise a small enough request would need nobody's approval.
        errors.append(field_error(prefix, "at least one step must apply whatever the amount (no minAmount)"))
    return errors


def parse_steps(raw: list[dict[str, Any]]) -> list[Step]:
    """Stored or registered steps back into Steps; a malformed default fails loudly."""
    steps = msgspec.convert(raw, list[Step])
    problems = step_problems(steps)
    if problems:
        raise ValueError("; ".join(f"{p.field}: {p.message}" for p in problems))
    return steps


def dump_steps(steps: list[Step]) -> list[dict[str, Any]]:
    dumped: list[dict[str, Any]] = msgspec.to_builtins(steps)  # each Struct becomes a dict
    return dumped


Payload = Annotated[dict[str, Any], free_object(
    "What the request is about, as its type defines it (see the type's documentation).", nullable=False)]
RevisedPayload = Annotated[dict[str, Any] | None,
                           free_object("The revised payload; absent or null keeps the current one.")]
ActionData = Annotated[dict[str, Any] | None, free_object(
    "What the action carried besides its comment (a delegation's account, a resubmission's changes).")]


class RequestCreate(Input):
    type: TypeCode
    title: Title
    payload: Payload = msgspec.field(default_factory=dict)
    # Where the record sits; types that know it from the payload ignore it.
    node_id: uuid.UUID | None = None
    amount: Money | None = None
    reason: Comment | None = None
    # False keeps it a draft, to submit later with POST …/submit.
    submit: bool = True


class Decision(Input):
    comment: Comment | None = None
    # Refer the request on to the next step when that step applies only "when referred"; without
    # it such a step is skipped. Ignored when the next step always applies.
    refer: bool = False
    # The step being decided, as the caller saw it: when the request has moved on, 409
    # instead of deciding the next step by mistake.
    step: Annotated[int, msgspec.Meta(ge=1, le=MAX_STEPS)] | None = None


class Rejection(Input):
    comment: Annotated[str, msgspec.Meta(min_length=1, max_length=4000)]
    step: Annotated[int, msgspec.Meta(ge=1, le=MAX_STEPS)] | None = None


class Withdrawal(Input):
    comment: Comment | None = None


class Resubmission(Input):
    """The revised request: a new round through the chain as it is now."""

    reason: Annotated[str, msgspec.Meta(min_length=1, max_length=4000)]
    payload: RevisedPayload = None
    title: Title | None = None
    amount: Money | None = None


class Delegation(Input):
    account_id: uuid.UUID
    comment: Comment | None = None
    step: Annotated[int, msgspec.Meta(ge=1, le=MAX_STEPS)] | None = None


class RequestOut(Schema):
    id: uuid.UUID
    type: str
    title: str
    status: RequestStatus
    node_id: uuid.UUID
    subject_type: str | None
    subject_id: str | None
    amount: Decimal | None
    reason: str | None
    round: int
    current_step: int | None
    current_step_name: str | None
    submitted_by: str
    submitted_at: datetime | None
    decided_at: datetime | None
    version: int
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, r: ApprovalRequest) -> RequestOut:
        name = r.steps[r.current_step - 1]["name"] if r.current_step else None
        return cls(
            id=r.id, type=r.request_type, title=r.title, status=r.status, node_id=r.node_id,
            subject_type=r.subject_type, subject_id=r.subject_id, amount=r.amount, reason=r.reason, round=r.round,
            current_step=r.current_step, current_step_name=name, submitted_by=r.submitted_by,
            submitted_at=r.submitted_at, decided_at=r.decided_at, version=r.version, created_at=r.created_at,
            updated_at=r.updated_at,
        )


class ActionOut(Schema):
    id: uuid.UUID
    step: int | None
    actor: str
    action: ActionKind
    comment: str | None
    data: ActionData
    at: datetime

    @classmethod
    def of(cls, a: ApprovalAction) -> ActionOut:
        data = {k: v for k, v in (a.data or {}).items() if k != "steps"} or None  # steps: shown per round
        return cls(id=a.id, step=a.step, actor=a.actor, action=a.action, comment=a.comment, data=data, at=a.at)


StepState = Literal["waiting", "current", "approved", "rejected", "stopped", "skipped"]


class RoundStep(Schema):
    step: int
    name: str
    role: str | None
    at: Level | None
    user: uuid.UUID | None
    min_amount: str | None
    when: Literal["referred"] | None
    state: StepState
    approvers: list[uuid.UUID]  # who could decide it (resolved when it became current)


class RoundOut(Schema):
    round: int
    reason: str | None  # the submission's or resubmission's reason
    steps: list[RoundStep]
    actions: list[ActionOut]


class RequestDetail(RequestOut):
    payload: Payload
    rounds: list[RoundOut]


def chain_out(request_type: str, title: str, chain: ApprovalChain | None, steps: list[Step]) -> ChainOut:
    return ChainOut(request_type=request_type, title=title, steps=steps, is_default=chain is None,
                    version=chain.version if chain else 0, updated_at=chain.updated_at if chain else None)
