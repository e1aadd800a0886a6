"""Change control: protected fields, ownership changes and deletions asked for as approval
requests, and the appliers the approval engine calls once approved.
"""

from __future__ import annotations

import base64
import uuid
from collections.abc import Callable
from datetime import date
from decimal import Decimal
from typing import Any

import msgspec
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core import audit
from app.core.crypto import TenantKeys, mask_id_number, mask_phone, mask_text
from app.core.keystore import tenant_keys
from app.core.problems import ProblemError, field_error
from app.core.schemas import provided
from app.domains.access.authz import Authorizer
from app.domains.approvals import services as approvals
from app.domains.approvals.models import ApprovalRequest
from app.domains.approvals.registry import ChangeApplier, register_change_applier
from app.domains.customers.models import Customer, CustomerKind, CustomerUnit, OwnerRole
from app.domains.customers.references import foreign_holders
from app.domains.customers.schemas import (
    ChangeCustomer,
    ChangeOwnership,
    ChangeRequestIn,
    DeleteCustomer,
    DeleteOwnership,
    OwnershipChanges,
)
from app.domains.customers.services.common import (
    ADDRESS,
    ENTITY,
    ID_NUMBER,
    IX_ID,
    IX_PHONE,
    OWNERSHIP,
    PENDING,
    PHONE,
    WRITE,
    customer_row,
    duplicates,
    normalise_id,
    normalise_phone,
    refuse_duplicates,
    require_live,
    wire_name,
)
from app.domains.customers.services.ownership import get_ownership

# ---------------------------------------------------------------------- change control

CUSTOMER_FIELDS = frozenset({"name", "phone", "idNumber", "address"})
OWNERSHIP_FIELDS = frozenset({"role", "stage", "contractNumber", "subscribedOn", "contractedOn", "paymentMethod",
                              "amount"})


def _pending(keys: TenantKeys, normal: str, mask: str) -> dict[str, str]:
    """A protected value as it waits in an approval request: sealed, with its mask for the
    approvers to read."""
    return {"sealed": base64.b64encode(keys.seal(PENDING, normal)).decode(), "masked": mask}


async def pending_changes(session: AsyncSession, authz: Authorizer, customer: Customer,
                           changes: dict[str, Any]) -> dict[str, Any]:
    keys = await tenant_keys(session)
    out: dict[str, Any] = {}
    phone_ix = id_ix = None
    for name, value in changes.items():
        wire = wire_name(name)
        field = f"changes.{wire}"
        if value is None or name == "name":
            out[wire] = value
        elif name == "phone":
            normal = normalise_phone(value, field)
            phone_ix = keys.blind_index(IX_PHONE, normal)
            out[wire] = _pending(keys, normal, mask_phone(normal))
        elif name == "id_number":
            if customer.kind is not CustomerKind.person:
                # The customer's kind is its state: an enterprise has no ID number.
                raise ProblemError("conflict", "Only a person has an ID number.",
                                   errors=[field_error(field, "not a field of an enterprise")])
            normal = normalise_id(value, field)
            id_ix = keys.blind_index(IX_ID, normal)
            out[wire] = _pending(keys, normal, mask_id_number(normal))
        elif name == "address":
            out[wire] = _pending(keys, value, mask_text(value))
    errors = await duplicates(session, authz, phone_index=phone_ix, id_index=id_ix, except_id=customer.id)
    refuse_duplicates([field_error(f"changes.{e.field}", e.message) for e in errors])
    return out


def _plain_ownership(changes: dict[str, Any]) -> dict[str, Any]:
    return {wire_name(k): (v.isoformat() if isinstance(v, date) else v.value if hasattr(v, "value") else v)
            for k, v in changes.items()}


async def request_changes(session: AsyncSession, authz: Authorizer, customer: Customer, path: str,
                          data: ChangeRequestIn) -> ApprovalRequest:
    authz.require(WRITE, path)
    require_live(customer)
    if isinstance(data, (ChangeOwnership, DeleteOwnership)):
        row = await get_ownership(session, customer, data.ownership_id)
        deletion = isinstance(data, DeleteOwnership)
        changes = provided(data.changes) if isinstance(data, ChangeOwnership) else {}
        if not deletion and not changes:
            raise ProblemError("validation", "Say what to change.", errors=[field_error("changes", "empty")])
        return await approvals.request_change(
            session, entity_type=OWNERSHIP, entity_id=str(row.id), reason=data.reason,
            changes=_plain_ownership(changes), deletion=deletion, authz=authz,
            title=f"{'End' if deletion else 'Change'} an ownership of customer {customer.number}")
    deletion = isinstance(data, DeleteCustomer)
    changes = provided(data.changes) if isinstance(data, ChangeCustomer) else {}
    if not deletion and not changes:
        raise ProblemError("validation", "Say what to change.", errors=[field_error("changes", "empty")])
    pending = await pending_changes(session, authz, customer, changes)
    return await approvals.request_change(
        session, entity_type=ENTITY, entity_id=str(customer.id), reason=data.reason, changes=pending,
        deletion=deletion, authz=authz, title=f"{'Delete' if deletion else 'Change'} customer {customer.number}")


# The appliers the approval engine calls (as the approver, in its transaction).


def _fingerprint(keys: TenantKeys, field: str, sealed: bytes | None, mask: Any) -> dict[str, str] | None:
    """What the engine compares to see a protected value changed: a mask and a keyed digest,
    never the value."""
    if sealed is None:
        return None
    value = keys.open(field, sealed)
    return {"masked": mask(value), "digest": keys.blind_index(f"fingerprint:{field}", value)}


async def _read_customer(session: AsyncSession, entity_id: str, fields: frozenset[str]) -> dict[str, Any]:
    customer = await customer_row(session, entity_id)
    keys = await tenant_keys(session)
    values: dict[str, Callable[[], object]] = {
        "name": lambda: customer.name,
        "phone": lambda: _fingerprint(keys, PHONE, customer.phone_sealed, mask_phone),
        "idNumber": lambda: _fingerprint(keys, ID_NUMBER, customer.id_number_sealed, mask_id_number),
        "address": lambda: _fingerprint(keys, ADDRESS, customer.address_sealed, mask_text),
    }
    return {f: values[f]() for f in sorted(fields) if f in values}


def _unseal_pending(keys: TenantKeys, value: Any, field: str) -> str:
    if isinstance(value, dict) and isinstance(value.get("sealed"), str):
        return keys.open(PENDING, base64.b64decode(value["sealed"]))
    if isinstance(value, str):
        return value  # submitted through the engine's own API in plaintext
    raise ProblemError("validation", f"The change of {field} is not readable.",
                       errors=[field_error(f"payload.changes.{field}", "not a value")])


async def _apply_customer(session: AsyncSession, entity_id: str, changes: dict[str, Any], deletion: bool) -> None:
    customer = await customer_row(session, entity_id, lock=True)
    require_live(customer)
    if deletion:
        holders = await foreign_holders(session, customer.id)
        if holders:
            raise ProblemError("conflict", f"Customer {customer.number} is still named by "
                                           f"{', '.join(f'{n} rows of {t}' for t, n in holders.items())}: merge "
                                           "the customer instead, or close those records first.")
        await session.delete(customer)
        await session.flush()
        return
    keys = await tenant_keys(session)
    phone_ix = id_ix = None
    for field, value in changes.items():
        if field == "name":
            if not isinstance(value, str) or not value.strip():
                raise ProblemError("validation", "The name must not be empty.",
                                   errors=[field_error("payload.changes.name", "required")])
            customer.name = value.strip()[:200]
        elif value is None:
            column = {"phone": "phone", "idNumber": "id_number", "address": "address"}[field]
            setattr(customer, f"{column}_sealed", None)
            if field != "address":
                setattr(customer, f"{column}_index", None)
        elif field == "phone":
            normal = normalise_phone(_unseal_pending(keys, value, field), "payload.changes.phone")
            phone_ix = keys.blind_index(IX_PHONE, normal)
            customer.phone_sealed, customer.phone_index = keys.seal(PHONE, normal), phone_ix
        elif field == "idNumber":
            normal = normalise_id(_unseal_pending(keys, value, field), "payload.changes.idNumber")
            id_ix = keys.blind_index(IX_ID, normal)
            customer.id_number_sealed, customer.id_number_index = keys.seal(ID_NUMBER, normal), id_ix
        elif field == "address":
            customer.address_sealed = keys.seal(ADDRESS, _unseal_pending(keys, value, field)[:300])
    # Another customer may have taken the number while the request waited.
    from app.domains.access.authz import trusted

    refuse_duplicates(await duplicates(session, trusted(), phone_index=phone_ix, id_index=id_ix,
                                         except_id=customer.id))
    await session.flush()


async def _customer_node(session: AsyncSession, entity_id: str) -> uuid.UUID:
    return (await customer_row(session, entity_id)).node_id


async def _ownership_row_of(session: AsyncSession, entity_id: str, *, lock: bool = False) -> CustomerUnit:
    try:
        oid = uuid.UUID(entity_id)
    except ValueError:
        oid = None
    stmt = select(CustomerUnit).where(CustomerUnit.id == oid)
    if lock:
        stmt = stmt.with_for_update()
    row = await session.scalar(stmt) if oid else None
    if row is None:
        raise ProblemError("not-found", f"No ownership {entity_id}.")
    return row


async def _read_ownership(session: AsyncSession, entity_id: str, fields: frozenset[str]) -> dict[str, Any]:
    row = await _ownership_row_of(session, entity_id)
    snap = {wire_name(k): v for k, v in audit.snapshot(row).items()}
    return {f: snap.get(f) for f in sorted(fields)}


_OWNERSHIP_CONVERT: dict[str, Any] = {
    "subscribedOn": lambda v: None if v is None else date.fromisoformat(v),
    "contractedOn": lambda v: None if v is None else date.fromisoformat(v),
    "amount": lambda v: None if v is None else Decimal(str(v)),
}


async def _apply_ownership(session: AsyncSession, entity_id: str, changes: dict[str, Any], deletion: bool) -> None:
    row = await _ownership_row_of(session, entity_id, lock=True)
    if deletion:
        await session.delete(row)
        await session.flush()
        return
    try:
        typed = msgspec.convert(changes, OwnershipChanges)
    except msgspec.ValidationError as exc:
        raise ProblemError("validation", f"The ownership change is not valid: {exc}.",
                           errors=[field_error("payload.changes", str(exc))]) from None
    values = {k: v for k, v in msgspec.structs.asdict(typed).items() if v is not msgspec.UNSET}
    for name, value in values.items():
        if name == "amount" and value is not None:
            value = Decimal(value)
        setattr(row, name, value)
    if values.get("role") is OwnerRole.primary:
        other = await session.scalar(select(CustomerUnit.id).where(
            CustomerUnit.unit_id == row.unit_id, CustomerUnit.role == OwnerRole.primary, CustomerUnit.id != row.id))
        if other is not None:
            raise ProblemError("conflict", "The unit already has a primary owner: change that ownership first.")
    await session.flush()


async def _ownership_node(session: AsyncSession, entity_id: str) -> uuid.UUID:
    row = await _ownership_row_of(session, entity_id)
    return (await customer_row(session, str(row.customer_id))).node_id


register_change_applier(ChangeApplier(
    entity_type=ENTITY, permission=WRITE, fields=CUSTOMER_FIELDS, node_of=_customer_node, read=_read_customer,
    apply=_apply_customer))
register_change_applier(ChangeApplier(
    entity_type=OWNERSHIP, permission=WRITE, fields=OWNERSHIP_FIELDS, node_of=_ownership_node,
    read=_read_ownership, apply=_apply_ownership))
