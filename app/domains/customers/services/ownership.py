"""Unit ownership: a customer's units with the deal, and a new subscription or purchase
(changing or ending one is a change request).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from decimal import Decimal

from sqlalchemy import exists, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core import audit
from app.core.problems import ProblemError, field_error
from app.core.writes import saved
from app.domains.access.authz import Authorizer
from app.domains.customers.models import Customer, CustomerUnit, OwnerRole
from app.domains.customers.schemas import OwnershipIn, OwnershipOut
from app.domains.customers.services.common import ENTITY, OWNERSHIP, READ, WRITE, require_live
from app.domains.org import services as org
from app.domains.org.models import NodeKind, OrgNode, Unit
from app.tenants.bound import time_zone


def _money(value: str | None) -> Decimal | None:
    return None if value is None else Decimal(value)


async def ownerships_of(session: AsyncSession, customer_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID,
                                                                                       list[OwnershipOut]]:
    if not customer_ids:
        return {}
    tz = await time_zone(session)
    rows = (await session.execute(
        select(CustomerUnit, Unit, OrgNode).join(Unit, Unit.id == CustomerUnit.unit_id)
        .join(OrgNode, OrgNode.id == Unit.project_id)
        .where(CustomerUnit.customer_id.in_(customer_ids))
        .order_by(CustomerUnit.role.desc(), CustomerUnit.created_at, CustomerUnit.id)
    )).all()
    out: dict[uuid.UUID, list[OwnershipOut]] = {}
    for cu, unit, project in rows:
        out.setdefault(cu.customer_id, []).append(OwnershipOut(
            id=cu.id, customer_id=cu.customer_id, unit_id=unit.id, unit_number=unit.number,
            building_id=unit.building_id, project_id=unit.project_id, role=cu.role, stage=cu.stage,
            contract_number=cu.contract_number, subscribed_on=cu.subscribed_on, contracted_on=cu.contracted_on,
            payment_method=cu.payment_method, amount=cu.amount, responsibility=org.responsibility(project, tz),
            version=cu.version, created_at=cu.created_at))
    return out


async def unit_for(session: AsyncSession, authz: Authorizer, unit_id: uuid.UUID, field: str) -> tuple[Unit, str]:
    """A unit the caller may write customers at, with its building's path (422 otherwise)."""
    try:
        unit, path = await org.get_unit(session, authz, unit_id)
    except ProblemError as exc:
        if exc.slug != "not-found":
            raise
        unit, path = None, None
    if unit is None or path is None or not authz.can(READ, path):
        raise ProblemError("not-found", f"No unit with id {unit_id}.", errors=[field_error(field, "no such unit")])
    authz.require(WRITE, path)
    return unit, path


async def check_ownable(session: AsyncSession, authz: Authorizer, unit: Unit, role: OwnerRole,
                         customer_id: uuid.UUID | None, field: str) -> None:
    """409 when the unit already has a primary owner (and a primary is asked for) or the
    customer already holds it."""
    if customer_id is not None and await session.scalar(select(exists().where(
            CustomerUnit.unit_id == unit.id, CustomerUnit.customer_id == customer_id))):
        raise ProblemError("duplicate", f"The customer already holds unit {unit.number}.",
                           errors=[field_error(field, "already held by this customer")])
    if role is not OwnerRole.primary:
        return
    owner = (await session.execute(
        select(Customer.id, Customer.number, OrgNode.path).join(CustomerUnit, CustomerUnit.customer_id == Customer.id)
        .join(OrgNode, OrgNode.id == Customer.node_id)
        .where(CustomerUnit.unit_id == unit.id, CustomerUnit.role == OwnerRole.primary))).first()
    if owner is not None and owner[0] != customer_id:
        who = f"customer {owner[0]} ({owner[1]})" if authz.can(READ, owner[2]) else "another customer"
        raise ProblemError("conflict", f"Unit {unit.number} is already owned by {who} as primary owner; add this "
                                       "customer as a co-owner, or change that ownership first.",
                           errors=[field_error(field, f"already owned by {who}")])


def ownership_row(customer_id: uuid.UUID, unit: Unit, data: OwnershipIn) -> CustomerUnit:
    return CustomerUnit(customer_id=customer_id, unit_id=unit.id, role=data.role, stage=data.stage,
                        contract_number=data.contract_number, subscribed_on=data.subscribed_on,
                        contracted_on=data.contracted_on, payment_method=data.payment_method,
                        amount=_money(data.amount))


# --------------------------------------------------------------------------- ownership


async def list_ownerships(session: AsyncSession, customer: Customer) -> list[OwnershipOut]:
    return (await ownerships_of(session, [customer.id])).get(customer.id, [])


async def add_ownership(session: AsyncSession, authz: Authorizer, customer: Customer, path: str,
                        data: OwnershipIn) -> CustomerUnit:
    """Record a new subscription or purchase of a unit (changing or ending one is protected:
    a change request)."""
    authz.require(WRITE, path)
    require_live(customer)
    unit, _ = await unit_for(session, authz, data.unit_id, "unitId")
    await check_ownable(session, authz, unit, data.role, customer.id, "unitId")
    row = ownership_row(customer.id, unit, data)
    session.add(row)
    await saved(session, row, "customers.ownership.create", OWNERSHIP)
    node = await session.get(OrgNode, customer.node_id)
    if node is not None and node.kind is not NodeKind.project:
        # A prospect who buys belongs to the project of the unit from now on.
        before = {"nodeId": str(customer.node_id)}
        customer.node_id = unit.project_id
        await session.flush()
        await audit.record(session, action="customers.move", entity_type=ENTITY, entity_id=customer.id,
                           before=before, after={"nodeId": str(unit.project_id)}, reason="first unit recorded")
    return row


async def get_ownership(session: AsyncSession, customer: Customer, ownership_id: uuid.UUID) -> CustomerUnit:
    row = await session.scalar(select(CustomerUnit).where(CustomerUnit.id == ownership_id,
                                                          CustomerUnit.customer_id == customer.id))
    if row is None:
        raise ProblemError("not-found", f"No ownership with id {ownership_id} for this customer.",
                           errors=[field_error("ownershipId", "not an ownership of this customer")])
    return row
