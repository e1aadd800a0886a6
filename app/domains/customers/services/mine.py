"""Self-service: home owners' own customer records and their contact details."""

from __future__ import annotations

import uuid

import msgspec
from sqlalchemy import ColumnElement, and_, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core import tenant_settings
from app.core.crypto import mask_id_number
from app.core.keystore import tenant_keys
from app.core.pagination import PageParams, paginate
from app.core.problems import ProblemError, field_error
from app.core.schemas import Page, provided
from app.core.writes import saved
from app.domains.access.authz import Authorizer
from app.domains.approvals import services as approvals
from app.domains.customers.models import Customer
from app.domains.customers.schemas import OwnContactResult, OwnContactUpdate, OwnCustomerOut
from app.domains.customers.services.changes import pending_changes
from app.domains.customers.services.common import (
    ADDRESS,
    ENTITY,
    ID_NUMBER,
    OWNER_APPROVAL,
    PHONE,
    duplicates,
    open_plain,
    open_sealed,
    refuse_duplicates,
    safe_snapshot,
    seal_values,
    set_sealed,
)
from app.domains.customers.services.ownership import ownerships_of
from app.domains.customers.services.profiles import SORT

# -------------------------------------------------------------------------- self-service


async def _mine(session: AsyncSession, authz: Authorizer) -> ColumnElement[bool]:
    owner = authz.owner_id
    return and_(Customer.account_id == owner, Customer.merged_into_id.is_(None)) if owner else Customer.id.is_(None)


async def own_out(session: AsyncSession, customer: Customer) -> OwnCustomerOut:
    keys = await tenant_keys(session)
    id_number = open_sealed(keys, ID_NUMBER, customer.id_number_sealed)
    return OwnCustomerOut(id=customer.id, number=customer.number, name=customer.name,
                          phone=open_sealed(keys, PHONE, customer.phone_sealed),
                          email=open_plain(keys, customer, "email"),
                          address=open_sealed(keys, ADDRESS, customer.address_sealed),
                          id_number=mask_id_number(id_number) if id_number else None,
                          units=(await ownerships_of(session, [customer.id])).get(customer.id, []),
                          version=customer.version)


async def list_mine(session: AsyncSession, authz: Authorizer, params: PageParams) -> Page[OwnCustomerOut]:
    stmt = select(Customer).where(await _mine(session, authz))
    page = await paginate(session, stmt, params, sortable=SORT, default_sort=["number"], tiebreak=Customer.id,
                          to_schema=lambda c: c)
    return Page(items=[await own_out(session, c) for c in page.items], total=page.total, limit=page.limit,
                offset=page.offset)


async def get_mine(session: AsyncSession, authz: Authorizer, customer_id: uuid.UUID, *, lock: bool = False,
                   field: str | None = None) -> Customer:
    """The owner's own customer record; 404 otherwise (naming ``field`` when a body named it)."""
    stmt = select(Customer).where(Customer.id == customer_id, await _mine(session, authz))
    if lock:
        stmt = stmt.with_for_update()
    customer = await session.scalar(stmt)
    if customer is None:
        raise ProblemError("not-found", f"No customer with id {customer_id}.",
                           errors=[field_error(field, "no such customer of yours")] if field else None)
    return customer


async def update_mine(session: AsyncSession, authz: Authorizer, customer: Customer,
                      data: OwnContactUpdate) -> OwnContactResult:
    changes = provided(data)
    keys = await tenant_keys(session)
    before = safe_snapshot(customer, keys)
    if data.email is not msgspec.UNSET:
        del changes["email"]
        set_sealed(keys, customer, "email", data.email)
    request_id = None
    if changes:
        needs_approval, _ = await tenant_settings.get(session, OWNER_APPROVAL)
        if needs_approval:
            pending = await pending_changes(session, _nobody(), customer, changes)
            request = await approvals.request_change(
                session, entity_type=ENTITY, entity_id=str(customer.id), changes=pending,
                reason="The owner changed their own contact details.",
                title=f"Owner's contact change of customer {customer.number}")
            request_id = request.id
        else:
            phone = changes.get("phone")
            address = changes.get("address")
            sealed = seal_values(keys, phone=phone if isinstance(phone, str) else None, id_number=None,
                                 address=address if isinstance(address, str) else None)
            if "phone" in changes:
                refuse_duplicates(await duplicates(session, _nobody(), phone_index=sealed.phone_index,
                                                     id_index=None, except_id=customer.id))
                customer.phone_sealed, customer.phone_index = sealed.phone_sealed, sealed.phone_index
            if "address" in changes:
                customer.address_sealed = sealed.address_sealed
    await saved(session, customer, "customers.self_update", ENTITY, before=before,
                snapshot=lambda c: {**safe_snapshot(c, keys),
                                    "approvalRequest": str(request_id) if request_id else None})
    return OwnContactResult(customer=await own_out(session, customer), approval_request_id=request_id)


def _nobody() -> Authorizer:
    # Duplicates found on an owner's behalf are named without ids: an owner sees no other customer.
    from app.auth.principal import Principal

    return Authorizer(principal=Principal(subject="owner", client_id="owner", scopes=frozenset(), tenant=None,
                                          token_id="", expires_at=0))
