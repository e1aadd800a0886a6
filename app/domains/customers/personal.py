"""What the customers domain holds about a person (app/core/personal.py): their profile with
every sealed field, their consents and their ownership; lost customers' data ages out.

An erasure anonymises the profile in place (the customer's id and number stay, so contracts,
complaints and statistics still count them) and keeps consents and contracts, saying why.
"""

from __future__ import annotations

import base64
import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.keystore import tenant_keys
from app.core.personal import ANONYMISED, Erasure, Holding, PersonalData, Retention, rows_holding, sealed_column
from app.domains.customers.imports import CONTENT as IMPORT_CONTENT
from app.domains.customers.models import (
    Customer,
    CustomerConsent,
    CustomerContact,
    CustomerImport,
    CustomerStatus,
    CustomerUnit,
)
from app.domains.customers.services.common import (
    ADDRESS,
    CONTACT_EMAIL,
    CONTACT_PHONE,
    ID_NUMBER,
    PENDING,
    PHONE,
    PLAIN_SEALED,
    open_plain,
    open_sealed,
)

# Everything that says who the customer is or how to reach them; the id, number, kind, status,
# node, source and dates stay.
BLANK: dict[str, Any] = {
    "name": ANONYMISED, "account_id": None, "valid_until": None, "gender": None, "occupation": None,
    "interests": [], "industry": None, "bank_name": None, "behaviour": None, "phone_sealed": None,
    "phone_index": None, "address_sealed": None, "region": None, "violations": [], "evaluations": [],
    "legal_representative": None, "id_number_sealed": None, "id_number_index": None,
    **{f"{name}_sealed": None for name in PLAIN_SEALED},
    **{f"{name}_index": None for name, (_, namespace, _, _) in PLAIN_SEALED.items() if namespace},
}
CONTACT_BLANK: dict[str, Any] = {"name": ANONYMISED, "title": None, "phone_sealed": None, "phone_index": None,
                                 "email_sealed": None}


async def collect_profile(session: AsyncSession, customer_id: uuid.UUID) -> list[dict[str, Any]]:
    c = await session.get(Customer, customer_id)
    if c is None:
        return []
    keys = await tenant_keys(session)
    contacts = (await session.scalars(select(CustomerContact).where(CustomerContact.customer_id == c.id)
                                      .order_by(CustomerContact.position))).all()
    return [{
        "number": c.number, "kind": c.kind, "name": c.name, "status": c.status, "source": c.source,
        "purpose": c.purpose, "enteredAt": c.entered_at, "validUntil": c.valid_until,
        "phone": open_sealed(keys, PHONE, c.phone_sealed), "email": open_plain(keys, c, "email"),
        "address": open_sealed(keys, ADDRESS, c.address_sealed), "gender": c.gender,
        "idNumber": open_sealed(keys, ID_NUMBER, c.id_number_sealed), "occupation": c.occupation,
        "interests": c.interests, "industry": c.industry, "size": c.size, "creditRating": c.credit_rating,
        "bankName": c.bank_name, "bankAccount": open_plain(keys, c, "bank_account"),
        "taxId": open_plain(keys, c, "tax_id"), "behaviour": c.behaviour, "region": c.region,
        "fax": open_plain(keys, c, "fax"), "invoicePhone": open_plain(keys, c, "invoice_phone"),
        "legalRepresentative": c.legal_representative, "violations": c.violations, "evaluations": c.evaluations,
        "contacts": [{"name": x.name, "title": x.title, "phone": open_sealed(keys, CONTACT_PHONE, x.phone_sealed),
                      "email": open_sealed(keys, CONTACT_EMAIL, x.email_sealed)} for x in contacts],
    }]


async def _anonymise(session: AsyncSession, ids: list[uuid.UUID]) -> int:
    if not ids:
        return 0
    await session.execute(update(CustomerContact).where(CustomerContact.customer_id.in_(ids))
                          .values(CONTACT_BLANK).execution_options(synchronize_session=False))
    result = await session.execute(update(Customer).where(Customer.id.in_(ids))
                                   .values({**BLANK, "version": Customer.version + 1})
                                   .returning(Customer.id).execution_options(synchronize_session=False))
    return len(result.all())


async def reseal_pending(session: AsyncSession, batch: int) -> int:
    """Protected values waiting in change-control requests (sealed inside the payload) that an
    earlier key sealed, sealed again with the newest: at most ``batch`` of them."""
    from app.domains.approvals.models import ApprovalRequest

    keys, done = await tenant_keys(session), 0
    waiting = (await session.scalars(select(ApprovalRequest).where(
        ApprovalRequest.payload["entityType"].astext == "customer",
        ApprovalRequest.payload["changes"].astext.contains('"sealed"')).order_by(ApprovalRequest.id)
        .with_for_update(skip_locked=True))).all()
    for request in waiting:
        changes, touched = dict(request.payload["changes"]), False
        for wire, value in changes.items():
            if isinstance(value, dict) and isinstance(value.get("sealed"), str):
                sealed = base64.b64decode(value["sealed"])
                if not keys.is_current(PENDING, sealed):
                    again = keys.seal(PENDING, keys.open(PENDING, sealed))
                    changes[wire], touched = {**value, "sealed": base64.b64encode(again).decode()}, True
                    done += 1
        if touched:
            request.payload = {**request.payload, "changes": changes}
        if done >= batch:
            break
    await session.flush()
    return done


async def erase_profile(session: AsyncSession, customer_id: uuid.UUID) -> Erasure:
    return Erasure(kind="customers.profile", anonymised=await _anonymise(session, [customer_id]))


async def anonymise_lost(session: AsyncSession, cutoff: datetime, batch: int) -> int:
    """Lost customers untouched since ``cutoff`` and not anonymised yet, one batch."""
    ids = list((await session.scalars(
        select(Customer.id).where(Customer.status == CustomerStatus.lost, Customer.updated_at < cutoff,
                                  Customer.name != ANONYMISED)
        .order_by(Customer.updated_at).limit(batch).with_for_update(skip_locked=True))).all())
    return await _anonymise(session, ids)


PERSONAL = PersonalData(
    holdings=(
        Holding("customers.profile", "The customer's profile: name, phone, e-mail, address, ID number, bank "
                                     "account, tax number, profile, behaviour data, contact persons.",
                collect_profile, erase_profile),
        rows_holding("customers.consents", "What the person consented to and withdrew, when and how.",
                     CustomerConsent, show=("kind", "purpose", "channel", "granted_at", "withdrawn_at",
                                            "withdrawal_channel"),
                     keep="consents and their withdrawals are the proof that processing was lawful (PIPL arts. "
                          "14-16)"),
        rows_holding("customers.ownership", "The units the person bought: stage, contract, payment, amount.",
                     CustomerUnit, show=("unit_id", "role", "stage", "contract_number", "subscribed_on",
                                         "contracted_on", "payment_method", "amount"),
                     keep="sales contracts are kept as long as contract, tax and property registration rules ask"),
    ),
    retention=(Retention("customers.lost", "Profiles of lost customers, counted from their last change.", 1095,
                         anonymise_lost),),
    sealed=(sealed_column(Customer, "phone_sealed", PHONE), sealed_column(Customer, "address_sealed", ADDRESS),
            sealed_column(Customer, "id_number_sealed", ID_NUMBER),
            *(sealed_column(Customer, f"{name}_sealed", field) for name, (field, _, _, _) in PLAIN_SEALED.items()),
            sealed_column(CustomerContact, "phone_sealed", CONTACT_PHONE),
            sealed_column(CustomerContact, "email_sealed", CONTACT_EMAIL),
            sealed_column(CustomerImport, "content_sealed", IMPORT_CONTENT)),
    reseal=(reseal_pending,),
)
