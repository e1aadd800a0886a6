"""Merging two customer records through the customer_merge approval chain."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.core import audit, clock
from app.core.keystore import tenant_keys
from app.core.problems import ProblemError, field_error
from app.domains.access.authz import Authorizer
from app.domains.approvals import services as approvals
from app.domains.approvals.models import ApprovalRequest
from app.domains.approvals.registry import request_type
from app.domains.customers.models import Customer, CustomerStatus, CustomerUnit, OwnerRole
from app.domains.customers.references import move_references
from app.domains.customers.schemas import MergeIn
from app.domains.customers.services.common import (
    ENTITY,
    MERGE,
    MERGE_TYPE,
    customer_row,
    get_customer,
    require_live,
    safe_snapshot,
)

# ------------------------------------------------------------------------------- merge


def _merge_ids(payload: dict[str, Any]) -> tuple[uuid.UUID, uuid.UUID]:
    errors, ids = [], []
    for key in ("survivorId", "mergedId"):
        try:
            ids.append(uuid.UUID(str(payload.get(key))))
        except ValueError:
            errors.append(field_error(f"payload.{key}", "a customer id"))
    if errors:
        raise ProblemError("validation", "A merge names the surviving and the merged customer.", errors=errors)
    return ids[0], ids[1]


async def _validate_merge(session: AsyncSession, payload: dict[str, Any]) -> dict[str, Any]:
    survivor_id, merged_id = _merge_ids(payload)
    if survivor_id == merged_id:
        raise ProblemError("validation", "A customer cannot be merged into itself.",
                           errors=[field_error("mergedId", "the same customer as the survivor")])
    for key, cid in (("survivorId", survivor_id), ("mergedId", merged_id)):
        customer = await session.get(Customer, cid)
        if customer is None:
            raise ProblemError("not-found", f"No customer with id {cid}.",
                               errors=[field_error(f"payload.{key}", "no such customer")])
        require_live(customer)
    return {"survivorId": str(survivor_id), "mergedId": str(merged_id)}


async def _merge_node(session: AsyncSession, payload: dict[str, Any]) -> uuid.UUID:
    survivor_id, _ = _merge_ids(payload)
    return (await customer_row(session, str(survivor_id))).node_id


async def request_merge(session: AsyncSession, authz: Authorizer, survivor: Customer, path: str,
                        data: MergeIn) -> ApprovalRequest:
    """Ask for ``data.merged_id`` to be merged into ``survivor``: both must be the caller's
    to merge; applied when the customer_merge chain approves."""
    authz.require(MERGE, path)
    if data.merged_id == survivor.id:
        raise ProblemError("validation", "A customer cannot be merged into itself.",
                           errors=[field_error("mergedId", "the same customer as the survivor")])
    require_live(survivor)
    try:
        merged, merged_path = await get_customer(session, authz, data.merged_id)
    except ProblemError:
        raise ProblemError("not-found", f"No customer with id {data.merged_id}.",
                           errors=[field_error("mergedId", "no such customer")]) from None
    authz.require(MERGE, merged_path)
    require_live(merged)
    return await approvals.create_request(
        session, request_type=MERGE_TYPE, reason=data.reason,
        title=f"Merge customer {merged.number} into {survivor.number}",
        payload={"survivorId": str(survivor.id), "mergedId": str(merged.id)})


async def merge(session: AsyncSession, survivor_id: uuid.UUID, merged_id: uuid.UUID) -> dict[str, int]:
    """Move everything of ``merged`` to ``survivor`` and leave ``merged`` a tombstone."""
    first, second = sorted([survivor_id, merged_id])  # lock in one order: two merges cannot deadlock
    rows = {c.id: c for c in (await session.scalars(select(Customer).where(Customer.id.in_([first, second]))
                                                    .order_by(Customer.id).with_for_update())).all()}
    survivor, merged = rows.get(survivor_id), rows.get(merged_id)
    if survivor is None or merged is None:
        raise ProblemError("conflict", "A customer of this merge no longer exists.")
    require_live(survivor)
    require_live(merged)
    keys = await tenant_keys(session)
    before = {"survivor": safe_snapshot(survivor, keys), "merged": safe_snapshot(merged, keys)}
    # Units both hold: the survivor keeps its row (primary if either was primary).
    both = (await session.execute(
        select(CustomerUnit).where(CustomerUnit.customer_id == merged.id,
                                   CustomerUnit.unit_id.in_(select(CustomerUnit.unit_id).where(
                                       CustomerUnit.customer_id == survivor.id))))).scalars().all()
    for row in both:
        primary = row.role is OwnerRole.primary
        await session.delete(row)
        await session.flush()
        if primary:
            await session.execute(update(CustomerUnit).where(
                CustomerUnit.customer_id == survivor.id, CustomerUnit.unit_id == row.unit_id)
                .values(role=OwnerRole.primary, version=CustomerUnit.version + 1)
                .execution_options(synchronize_session=False))
    moved = await move_references(session, merged.id, survivor.id)
    # Earlier tombstones of the merged customer now point at the survivor.
    await session.execute(update(Customer).where(Customer.merged_into_id == merged.id)
                          .values(merged_into_id=survivor.id).execution_options(synchronize_session=False))
    # What the survivor lacks, the merged record fills in; then the tombstone keeps no
    # personal data, and no blind index that would find it again.
    indexed = ("phone_sealed", "id_number_sealed", "email_sealed", "bank_account_sealed")
    for name in ("phone_sealed", "address_sealed", "id_number_sealed", "email_sealed", "gender", "occupation",
                 "industry", "size", "credit_rating", "bank_name", "bank_account_sealed", "tax_id_sealed",
                 "account_id", "valid_until", "behaviour"):
        if getattr(survivor, name) is None and getattr(merged, name) is not None:
            setattr(survivor, name, getattr(merged, name))
            if name in indexed:
                index = name.replace("_sealed", "_index")
                setattr(survivor, index, getattr(merged, index))
    survivor.interests = sorted(set(survivor.interests or []) | set(merged.interests or []))
    for name in ("phone_sealed", "phone_index", "address_sealed", "id_number_sealed", "id_number_index",
                 "behaviour", "account_id", "email_sealed", "email_index", "bank_account_sealed",
                 "bank_account_index", "tax_id_sealed"):
        setattr(merged, name, None)
    merged.status = CustomerStatus.merged
    merged.merged_into_id = survivor.id
    merged.merged_at = clock.utcnow()
    await session.flush()
    await session.refresh(survivor)
    await session.refresh(merged)
    after = {"survivor": safe_snapshot(survivor, keys), "merged": safe_snapshot(merged, keys), "moved": moved}
    await audit.record(session, action="customers.merge", entity_type=ENTITY, entity_id=survivor.id,
                       before=before["survivor"], after={**after["survivor"], "absorbed": str(merged.id),
                                                         "moved": moved})
    await audit.record(session, action="customers.merged_away", entity_type=ENTITY, entity_id=merged.id,
                       before=before["merged"], after={**after["merged"], "into": str(survivor.id)})
    return moved


async def _on_merge_approved(session: AsyncSession, request: ApprovalRequest) -> None:
    survivor_id, merged_id = _merge_ids(request.payload)
    await merge(session, survivor_id, merged_id)


MERGE_REQUEST = request_type(
    MERGE_TYPE, "Merge of two customer records",
    on_approved=_on_merge_approved,
    node_of=_merge_node,
    validate=_validate_merge,
    subject_of=lambda payload: (ENTITY, payload["survivorId"]),
    # A merge changes customer information: the same reviewers as change control.
    default_chain=[
        {"name": "Department supervisor", "role": "department_supervisor", "at": "branch"},
        {"name": "CRM head", "role": "crm_head", "at": "group"},
    ],
    default_roles={"department_supervisor": "Department supervisor", "crm_head": "CRM head"},
)
