"""What the parts of the approval engine share: who counts as staff and as a person, the org
node of a request, a step's label, the in-app messages it sends."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

import msgspec
from sqlalchemy import and_
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.models import Account, AccountKind, AccountStatus
from app.core.notify import queue_messages
from app.core.problems import ProblemError, field_error
from app.domains.access.authz import register_permissions
from app.domains.approvals.models import (
    ApprovalRequest,
)
from app.domains.approvals.schemas import (
    Step,
)
from app.domains.org.models import OrgNode
from app.tenants.bound import tenant_id

ENTITY = "approval_request"
CHAIN_ENTITY = "approval_chain"
INBOX = "inbox"  # the outbox channel of in-app notifications


register_permissions({
    "approvals.read": "See the approval requests of one's subtree and their history.",
})


async def active_staff(session: AsyncSession) -> Any:
    """Active staff accounts of this tenant: the only ones who may decide a step."""
    return and_(Account.tenant_id == await tenant_id(session), Account.status == AccountStatus.active,
                Account.kind == AccountKind.staff)


def person_of(kind: str, subject: str) -> uuid.UUID | None:
    """The account id of a user (a person); None for clients and the system, who never decide."""
    if kind != "user":
        return None
    try:
        return uuid.UUID(subject)
    except ValueError:
        return None


def step_label(step_no: int, step: Step) -> str:
    return f"step {step_no} ({step.name})"


def steps_of(request: ApprovalRequest) -> list[Step]:
    return msgspec.convert(request.steps, list[Step])


async def notify(session: AsyncSession, recipients: Sequence[str], event: str, request: ApprovalRequest,
                 subject: str, body: str) -> None:
    """In-app messages (channel ``inbox``, to account ids), written with the change and
    delivered by the outbox once it commits."""
    if not recipients:
        return
    await queue_messages(session, recipients, tenant_id=await tenant_id(session), channel=INBOX, subject=subject,
                         body=body, data={"event": event, "requestId": str(request.id),
                                          "requestType": request.request_type, "round": request.round,
                                          "step": request.current_step, "status": request.status.value})


async def request_node(session: AsyncSession, node_id: uuid.UUID) -> OrgNode:
    node = await session.get(OrgNode, node_id)
    if node is None:
        raise unknown_node(node_id)
    return node


def unknown_node(node_id: uuid.UUID) -> ProblemError:
    return ProblemError("not-found", f"No org node with id {node_id}.", errors=[field_error("nodeId", "unknown")])


def not_found(request_id: uuid.UUID) -> ProblemError:
    return ProblemError("not-found", f"No approval request with id {request_id}.")
