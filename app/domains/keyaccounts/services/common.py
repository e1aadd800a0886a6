"""What the key-account aggregates share: permissions, the key-customer test, and the step
that sends a record to its approval chain (a new request, or the next round of a rejected one)."""

from __future__ import annotations

import uuid
from typing import Any, Protocol

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core import clock
from app.core.numbering import next_number
from app.core.problems import ProblemError, field_error
from app.domains.access.authz import Authorizer, register_permissions
from app.domains.approvals import services as approvals
from app.domains.approvals.approvable import request_status, revisable, shown_status
from app.domains.approvals.models import RequestStatus
from app.domains.approvals.schemas import Resubmission
from app.domains.customers.lookups import customer_for
from app.domains.customers.models import Customer
from app.domains.grading.models import CustomerGrade, Grade
from app.domains.org.models import OrgNode
from app.tenants.bound import local_year

READ, WRITE = "keyaccounts.read", "keyaccounts.write"

register_permissions({
    READ: "See the improvement actions, big-customer strategies and return visits, and after-sales service plans "
          "of the subtree.",
    WRITE: "Raise and track improvement actions, draft big-customer strategies, issue and report big-customer "
           "return visits, draft after-sales service plans, in one's subtree.",
})


class Submittable(Protocol):
    id: Any
    stage: Any
    approval_request_id: uuid.UUID | None


def conflict(what: str, state: str, hint: str = "") -> ProblemError:
    return ProblemError("conflict", f"The {what} is {state}{': ' + hint if hint else '.'}")


async def number(session: AsyncSession, prefix: str) -> str:
    return await next_number(session, prefix, await local_year(session, clock.utcnow()))


async def key_customer(session: AsyncSession, authz: Authorizer, customer_id: uuid.UUID,
                       field: str = "customerId") -> tuple[Customer, OrgNode]:
    """A big customer the caller may act for: one the grading gave an account manager, or of
    grade A (seed 000 Ch 4: 对公司有战略意义的客户; docs/relations.md)."""
    customer, node = await customer_for(session, authz, customer_id, WRITE, field=field)
    g = await session.scalar(select(CustomerGrade).where(CustomerGrade.customer_id == customer.id))
    if g is None or (g.account_manager_id is None and g.grade is not Grade.A):
        raise ProblemError("conflict", f"Customer {customer.number} is not a big customer: it needs an account "
                                       "manager or grade A (PUT /api/v1/grading/customers/{id}/account-manager).",
                           errors=[field_error(field, "not a big customer")])
    return customer, node


async def to_approval(session: AsyncSession, record: Submittable, *, what: str, draft: Any, submitted: Any,
                      request_type: str, title: str, key: str, note: str | None) -> None:
    """Send ``record`` to ``request_type``'s chain: a draft or a withdrawn record as a new
    request, a rejected one as the next round of its request (by its submitter)."""
    status = await request_status(session, record.approval_request_id)
    if not revisable(record.stage, draft, submitted, status):
        raise conflict(what, shown_status(record.stage.value, status), "it is already under review or decided")
    if status is RequestStatus.rejected and record.stage is submitted:
        assert record.approval_request_id is not None
        await approvals.resubmit(session, record.approval_request_id,
                                 Resubmission(reason=note or "Revised and submitted again."))
    else:
        request = await approvals.create_request(session, request_type=request_type, title=title[:300],
                                                 payload={key: str(record.id)}, reason=note)
        record.approval_request_id = request.id
    record.stage = submitted
