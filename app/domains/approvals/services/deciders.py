"""Who may decide a step: the role holders at the step's level above the request's node, or
the account it names; resolved when the step becomes current."""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.models import Account
from app.core.problems import ProblemError, field_error
from app.domains.access.models import Role, RoleAssignment
from app.domains.approvals.models import (
    ApprovalRequest,
    ApprovalStepApprover,
)
from app.domains.approvals.schemas import (
    Step,
)
from app.domains.approvals.services.common import active_staff, notify, request_node, step_label, steps_of
from app.domains.org.models import NodeKind, OrgNode


async def levels_of(session: AsyncSession, node: OrgNode) -> dict[str, OrgNode]:
    """The request node's project, branch and group (those that exist above or at it)."""
    ids = [uuid.UUID(p) for p in node.path.split("/")]
    nodes = (await session.scalars(select(OrgNode).where(OrgNode.id.in_(ids)))).all()
    return {n.kind.value: n for n in nodes if n.kind in (NodeKind.project, NodeKind.branch, NodeKind.group)}


async def resolve(session: AsyncSession, request: ApprovalRequest, step_no: int, step: Step,
                  levels: dict[str, OrgNode]) -> list[uuid.UUID]:
    """The accounts that may decide ``step``; a precise 409 when there are none."""
    staff = await active_staff(session)
    label = step_label(step_no, step)
    if step.user is not None:
        found = await session.scalar(select(Account.id).where(Account.id == step.user, staff))
        if found is None:
            raise ProblemError("conflict", f"Nobody can decide {label} of this {request.request_type} request: "
                                           f"the account {step.user} it names is not an active staff account of "
                                           "the group. An administrator must change the chain.")
        return [found]
    assert step.role is not None and step.at is not None
    role_id = await session.scalar(select(Role.id).where(Role.code == step.role))
    if role_id is None:
        raise ProblemError(
            "conflict",
            f"The chain of {request.request_type} names the role {step.role!r} at {label}, and that role no longer "
            "exists. An administrator must change the chain.",
            errors=[field_error(f"steps.{step_no - 1}.role", f"role {step.role!r} no longer exists", "chain")],
        )
    node = levels.get(step.at)
    if node is None:
        raise ProblemError("conflict", f"Nobody can decide {label}: it needs the record's {step.at}, and the "
                                       f"record is not under any {step.at}.")
    accounts = (await session.scalars(
        select(RoleAssignment.account_id)
        .join(Account, Account.id == RoleAssignment.account_id)
        .where(RoleAssignment.role_id == role_id, RoleAssignment.node_id == node.id, staff)
        .order_by(RoleAssignment.account_id)
    )).all()
    if not accounts:
        raise ProblemError("conflict", f"Nobody can decide {label}: no active staff account holds the role "
                                       f"{step.role!r} at the {step.at} {node.name} ({node.code}). Assign the role "
                                       "there, or change the chain.")
    return list(accounts)


async def approvers_of(session: AsyncSession, request_id: uuid.UUID, round_: int, step: int) -> set[uuid.UUID]:
    return set((await session.scalars(select(ApprovalStepApprover.account_id).where(
        ApprovalStepApprover.request_id == request_id, ApprovalStepApprover.round == round_,
        ApprovalStepApprover.step == step))).all())


async def make_current(session: AsyncSession, request: ApprovalRequest, step_no: int,
                       levels: dict[str, OrgNode] | None = None) -> None:
    step = steps_of(request)[step_no - 1]
    levels = levels if levels is not None else await levels_of(session, await request_node(session, request.node_id))
    accounts = await resolve(session, request, step_no, step, levels)
    session.add_all([ApprovalStepApprover(request_id=request.id, round=request.round, step=step_no, account_id=a)
                     for a in accounts])
    request.current_step = step_no
    await notify(session, [str(a) for a in accounts], "approval.awaiting", request,
                 f"Approval needed: {request.title}",
                 f"{request.title} awaits your decision at {step_label(step_no, step)}, round {request.round}.")
