"""Big-customer strategies (seed 000 Ch 4 §14 ①, §12 ①): for one key customer, the
management strategy and goals for a period, drafted by the big-customer supervisor, reviewed
by the customer-service manager and approved by the general manager (``key_account_strategy``
chain); in force once approved, and looked back on at the end (⑦ 大客户服务回顾评价).
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core import audit, clock
from app.core.pagination import PageParams
from app.core.problems import ProblemError, field_error
from app.core.schemas import Page, provided
from app.core.states import Workflow
from app.core.writes import saved
from app.domains.access.authz import Authorizer
from app.domains.access.records import get_at_node, subtree_filter
from app.domains.approvals.approvable import (
    Approvable,
    approvable_type,
    page_with_request_status,
    request_status,
    revisable,
    shown_status,
    status_filter,
)
from app.domains.approvals.models import ApprovalRequest, RequestStatus
from app.domains.keyaccounts.models import KeyAccountStrategy, StrategyStage
from app.domains.keyaccounts.schemas import (
    StrategyCreate,
    StrategyOut,
    StrategyReview,
    StrategyStatus,
    StrategyUpdate,
    Submission,
)
from app.domains.keyaccounts.services.common import (
    READ,
    WRITE,
    conflict,
    key_customer,
    number,
    to_approval,
)

STRATEGY, STRATEGY_TYPE = "key_account_strategy", "key_account_strategy"
SORT = {"createdAt": KeyAccountStrategy.created_at, "startsOn": KeyAccountStrategy.starts_on,
        "number": KeyAccountStrategy.number}

STRATEGY_FLOW: Workflow[StrategyStage] = Workflow("big-customer strategy", {
    "review": ([StrategyStage.in_force], [StrategyStage.reviewed]),
})


def _status(s: KeyAccountStrategy, request: RequestStatus | None) -> StrategyStatus:
    return shown_status(s.stage.value, request)  # type: ignore[return-value]  # a member of StrategyStatus


def strategy_out(s: KeyAccountStrategy, request: RequestStatus | None) -> StrategyOut:
    return StrategyOut(
        id=s.id, number=s.number, customer_id=s.customer_id, node_id=s.node_id, title=s.title, goals=s.goals,
        strategy=s.strategy, starts_on=s.starts_on, ends_on=s.ends_on, status=_status(s, request),
        approval_request_id=s.approval_request_id, approved_at=s.approved_at, review=s.review,
        reviewed_at=s.reviewed_at, created_by=s.created_by, created_at=s.created_at, version=s.version)


async def show(session: AsyncSession, s: KeyAccountStrategy) -> StrategyOut:
    return strategy_out(s, await request_status(session, s.approval_request_id))


async def get_strategy(session: AsyncSession, authz: Authorizer, strategy_id: uuid.UUID, *,
                       lock: bool = False) -> tuple[KeyAccountStrategy, str]:
    return await get_at_node(session, authz, KeyAccountStrategy, strategy_id, READ, "big-customer strategy",
                             lock=lock)


async def list_strategies(session: AsyncSession, authz: Authorizer, params: PageParams, *, status: str | None,
                          customer_id: uuid.UUID | None, node_id: uuid.UUID | None) -> Page[StrategyOut]:
    stmt: Select[Any] = (select(KeyAccountStrategy)
                         .outerjoin(ApprovalRequest, ApprovalRequest.id == KeyAccountStrategy.approval_request_id)
                         .where(authz.visible(READ, KeyAccountStrategy.node_id)))
    if status is not None:
        stmt = stmt.where(status_filter(KeyAccountStrategy.stage, StrategyStage, status))
    if customer_id is not None:
        stmt = stmt.where(KeyAccountStrategy.customer_id == customer_id)
    if node_id is not None:
        stmt = stmt.where(await subtree_filter(session, KeyAccountStrategy.node_id, node_id))
    return await page_with_request_status(session, stmt, params, sortable=SORT, default_sort=["-createdAt"],
                                          tiebreak=KeyAccountStrategy.id, to_schema=strategy_out)


def _check_period(starts_on: Any, ends_on: Any) -> None:
    if ends_on < starts_on:
        raise ProblemError("validation", "The strategy's period ends before it starts.",
                           errors=[field_error("endsOn", "before startsOn")])


async def create_strategy(session: AsyncSession, authz: Authorizer, data: StrategyCreate) -> KeyAccountStrategy:
    customer, node = await key_customer(session, authz, data.customer_id)
    authz.require(WRITE, node.path)
    _check_period(data.starts_on, data.ends_on)
    s = KeyAccountStrategy(
        number=await number(session, "DK"), customer_id=customer.id, node_id=customer.node_id, title=data.title,
        goals=data.goals, strategy=data.strategy, starts_on=data.starts_on, ends_on=data.ends_on,
        stage=StrategyStage.draft, created_by=authz.principal.subject)
    session.add(s)
    await saved(session, s, "keyaccounts.strategy.create", STRATEGY)
    if data.submit:
        await submit_strategy(session, authz, s, node.path, Submission())
    return s


async def update_strategy(session: AsyncSession, authz: Authorizer, s: KeyAccountStrategy, path: str,
                          data: StrategyUpdate) -> KeyAccountStrategy:
    authz.require(WRITE, path)
    status = await request_status(session, s.approval_request_id)
    if not revisable(s.stage, StrategyStage.draft, StrategyStage.submitted, status):
        raise conflict(f"big-customer strategy {s.number}", shown_status(s.stage.value, status),
                       "only a draft, or one rejected or withdrawn, can be revised")
    changes = provided(data)
    _check_period(changes.get("starts_on", s.starts_on), changes.get("ends_on", s.ends_on))
    before = audit.snapshot(s)
    for name, value in changes.items():
        setattr(s, name, value)
    return await saved(session, s, "keyaccounts.strategy.update", STRATEGY, before=before)


async def submit_strategy(session: AsyncSession, authz: Authorizer, s: KeyAccountStrategy, path: str,
                          data: Submission) -> KeyAccountStrategy:
    authz.require(WRITE, path)
    before = audit.snapshot(s)
    await to_approval(session, s, what=f"big-customer strategy {s.number}", draft=StrategyStage.draft,
                      submitted=StrategyStage.submitted, request_type=STRATEGY_TYPE,
                      title=f"大客户管理战略 {s.number} {s.title}", key="strategyId", note=data.note)
    s.updated_at = clock.utcnow()
    return await saved(session, s, "keyaccounts.strategy.submit", STRATEGY, before=before, reason=data.note)


async def review_strategy(session: AsyncSession, authz: Authorizer, s: KeyAccountStrategy, path: str,
                          data: StrategyReview) -> KeyAccountStrategy:
    authz.require(WRITE, path)
    before = audit.snapshot(s)
    s.stage = STRATEGY_FLOW.to("review", s.stage, StrategyStage.reviewed, f"Big-customer strategy {s.number}")
    s.review, s.reviewed_at = data.review, clock.utcnow()
    return await saved(session, s, "keyaccounts.strategy.review", STRATEGY, before=before)


STRATEGY_RECORD = Approvable(KeyAccountStrategy, key="strategyId", entity=STRATEGY, what="big-customer strategy")


async def _payload(session: AsyncSession, s: KeyAccountStrategy) -> dict[str, Any]:
    return {"strategyId": str(s.id), "number": s.number, "customerId": str(s.customer_id), "title": s.title,
            "goals": s.goals, "strategy": s.strategy, "startsOn": s.starts_on.isoformat(),
            "endsOn": s.ends_on.isoformat()}


async def _approved(session: AsyncSession, request: ApprovalRequest) -> None:
    s = await STRATEGY_RECORD.of(session, request.payload, lock=True)
    before = audit.snapshot(s)
    s.stage, s.approved_at = StrategyStage.in_force, clock.utcnow()
    await saved(session, s, "keyaccounts.strategy.in_force", STRATEGY, before=before)


STRATEGY_REQUEST = approvable_type(
    STRATEGY_TYPE, "Big-customer management strategy and goals", STRATEGY_RECORD, describe=_payload,
    on_approved=_approved,
    # Seed 000 Ch 4 §14 ①: reviewed by the customer-service manager, approved by the general manager.
    default_chain=[{"name": "Customer service manager", "role": "cs_manager", "at": "branch"},
                   {"name": "General manager", "role": "general_manager", "at": "branch"}],
    default_roles={"cs_manager": "Customer service manager", "general_manager": "General manager"},
)
