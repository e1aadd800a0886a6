"""The customer a request of another domain names (a visit's, a survey's, a grade's)."""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.problems import ProblemError, field_error
from app.domains.access.authz import Authorizer
from app.domains.customers.models import Customer
from app.domains.customers.services import READ as CUSTOMERS_READ
from app.domains.org.models import OrgNode


async def customer_for(session: AsyncSession, authz: Authorizer, customer_id: uuid.UUID, permission: str, *,
                       field: str = "customerId", lock: bool = False) -> tuple[Customer, OrgNode]:
    """The live customer a request names and their node, for a caller who may read the
    customer *or* holds ``permission`` there (a call-centre agent logs calls for customers
    whose files they do not read) and holds ``permission``; 404 naming the field otherwise,
    and 409 naming the survivor for a merged-away record."""
    stmt = select(Customer, OrgNode).join(OrgNode, OrgNode.id == Customer.node_id).where(Customer.id == customer_id)
    if lock:
        stmt = stmt.with_for_update(of=Customer)
    row = (await session.execute(stmt)).first()
    if row is None or not (authz.can(CUSTOMERS_READ, row[1].path) or authz.can(permission, row[1].path)):
        raise ProblemError("not-found", f"No customer with id {customer_id}.",
                           errors=[field_error(field, "no such customer")])
    customer, node = row[0], row[1]
    if customer.merged_into_id is not None:
        raise ProblemError("conflict", f"Customer {customer.number} was merged into customer "
                                       f"{customer.merged_into_id}: use that one.",
                           errors=[field_error(field, f"merged into {customer.merged_into_id}")])
    authz.require(permission, node.path)
    return customer, node
