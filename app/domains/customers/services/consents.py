"""Consents (what, when, through which channel; withdrawal) and the behaviour data an
active behaviour consent permits.
"""

from __future__ import annotations

import uuid

from sqlalchemy import exists, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core import audit, clock
from app.core.pagination import PageParams, paginate
from app.core.problems import ProblemError, field_error
from app.core.schemas import Page
from app.core.writes import saved
from app.domains.access.authz import Authorizer
from app.domains.customers.models import ConsentKind, Customer, CustomerConsent
from app.domains.customers.references import erase_behaviour_data
from app.domains.customers.schemas import BehaviourIn, ConsentIn, ConsentOut, ConsentWithdrawal
from app.domains.customers.services.common import CONSENT, ENTITY, WRITE, get_customer, require_live


def consent_row(customer_id: uuid.UUID, data: ConsentIn, recorded_by: str) -> CustomerConsent:
    return CustomerConsent(customer_id=customer_id, kind=data.kind, purpose=data.purpose, channel=data.channel,
                           granted_at=data.granted_at or clock.utcnow(), recorded_by=recorded_by)


# ---------------------------------------------------------------------------- consents


def consent_out(c: CustomerConsent) -> ConsentOut:
    now = clock.utcnow()
    active = c.granted_at <= now and (c.withdrawn_at is None or c.withdrawn_at > now)
    return ConsentOut(id=c.id, customer_id=c.customer_id, kind=c.kind, purpose=c.purpose, channel=c.channel,
                      granted_at=c.granted_at, recorded_by=c.recorded_by, withdrawn_at=c.withdrawn_at,
                      withdrawal_channel=c.withdrawal_channel, active=active, version=c.version)


async def list_consents(session: AsyncSession, customer: Customer, params: PageParams) -> Page[ConsentOut]:
    stmt = select(CustomerConsent).where(CustomerConsent.customer_id == customer.id)
    return await paginate(session, stmt, params, sortable={"grantedAt": CustomerConsent.granted_at,
                                                            "kind": CustomerConsent.kind},
                          default_sort=["-grantedAt"], tiebreak=CustomerConsent.id, to_schema=consent_out)


async def add_consent(session: AsyncSession, authz: Authorizer, customer: Customer, path: str,
                      data: ConsentIn) -> CustomerConsent:
    authz.require(WRITE, path)
    require_live(customer)
    row = consent_row(customer.id, data, audit.actor_of(session).id)
    session.add(row)
    return await saved(session, row, "customers.consent.grant", CONSENT,
                       snapshot=lambda r: {**audit.snapshot(r), "customer": str(customer.id)})


async def get_consent(session: AsyncSession, authz: Authorizer, consent_id: uuid.UUID, *,
                      lock: bool = False) -> tuple[CustomerConsent, Customer, str]:
    """A consent of a customer the caller may read, with the customer and their node's path."""
    customer_id = await session.scalar(select(CustomerConsent.customer_id).where(CustomerConsent.id == consent_id))
    customer, path = None, ""
    try:
        if customer_id:
            customer, path = await get_customer(session, authz, customer_id, lock=lock)
    except ProblemError:
        customer = None
    stmt = select(CustomerConsent).where(CustomerConsent.id == consent_id)
    row = await session.scalar(stmt.with_for_update() if lock else stmt)
    if customer is None or row is None:
        raise ProblemError("not-found", f"No consent with id {consent_id}.")
    return row, customer, path


async def has_consent(session: AsyncSession, customer_id: uuid.UUID, kind: ConsentKind) -> bool:
    """A consent of ``kind`` in effect now (granted, not withdrawn yet)."""
    now = clock.utcnow()
    return bool(await session.scalar(select(exists().where(
        CustomerConsent.customer_id == customer_id, CustomerConsent.kind == kind,
        CustomerConsent.granted_at <= now,
        (CustomerConsent.withdrawn_at.is_(None)) | (CustomerConsent.withdrawn_at > now)))))


async def withdraw_consent(session: AsyncSession, authz: Authorizer, customer: Customer, path: str,
                           consent: CustomerConsent, data: ConsentWithdrawal) -> CustomerConsent:
    authz.require(WRITE, path)
    if consent.withdrawn_at is not None:
        raise ProblemError("conflict", f"The consent was withdrawn already, at {consent.withdrawn_at.isoformat()}.")
    at = data.withdrawn_at or clock.utcnow()
    if at < consent.granted_at:
        raise ProblemError("conflict", f"The consent took effect at {consent.granted_at.isoformat()}: it cannot "
                                       "be withdrawn before that.",
                           errors=[field_error("withdrawnAt", "before the consent took effect")])
    before = audit.snapshot(consent)
    consent.withdrawn_at = at
    consent.withdrawal_channel = data.channel
    await saved(session, consent, "customers.consent.withdraw", CONSENT, before=before,
                snapshot=lambda c: {**audit.snapshot(c), "customer": str(customer.id)})
    # Behaviour data is kept only while consented to: the last withdrawal erases it, the
    # customer's own and what other domains recorded (a visit's needs, a call's interests).
    if consent.kind is ConsentKind.behaviour and not await has_consent(session, customer.id, ConsentKind.behaviour):
        erased = await erase_behaviour_data(session, customer.id)
        if customer.behaviour is not None:
            customer.behaviour = None
            await session.flush()
            erased["customers.behaviour"] = 1
        if erased:
            await audit.record(session, action="customers.behaviour.erase", entity_type=ENTITY,
                               entity_id=customer.id, after={"erased": erased}, reason="behaviour consent withdrawn")
    return consent


async def set_behaviour(session: AsyncSession, authz: Authorizer, customer: Customer, path: str,
                        data: BehaviourIn) -> Customer:
    authz.require(WRITE, path)
    require_live(customer)
    if not await has_consent(session, customer.id, ConsentKind.behaviour):
        raise ProblemError("consent-required", f"Customer {customer.number} has no active consent of kind "
                                               "'behaviour': record their consent before storing behaviour data.",
                           errors=[field_error("data", "needs an active behaviour consent")])
    had = customer.behaviour is not None
    customer.behaviour = data.data
    # The data itself stays out of the trail: what changed, not what it says.
    return await saved(session, customer, "customers.behaviour.set", ENTITY, before={"hasBehaviour": had},
                       snapshot=lambda _: {"hasBehaviour": True, "keys": sorted(data.data)[:50]})
