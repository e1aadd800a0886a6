"""The customers package's shared ground: permissions, the names of sealed fields and
blind indexes, a customer found for a caller, duplicates, sealing and the audit snapshot.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, and_, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core import audit, notify, pii, tenant_settings
from app.core.crypto import TenantKeys, mask_account, mask_email, mask_id_number, mask_phone, mask_text
from app.core.keystore import tenant_keys
from app.core.problems import FieldError, ProblemError, field_error
from app.domains.access import clearance as scale
from app.domains.access.authz import Authorizer, register_permissions
from app.domains.access.records import get_at_node
from app.domains.customers.models import Customer, CustomerConsent, CustomerContact, CustomerUnit
from app.domains.customers.references import register_customer_reference
from app.domains.org.models import OrgNode

READ = "customers.read"
WRITE = "customers.write"
REVEAL = "customers.reveal"
MERGE = "customers.merge"
IMPORT = "customers.import"

register_permissions({
    READ: "See customers (masked personal data), their units and consents in one's subtree.",
    WRITE: "Create customers, change their unprotected data, record consents and ownership, and ask for "
           "changes of protected data (applied on approval) in one's subtree.",
    REVEAL: "See customers' phone, ID numbers, addresses, e-mail, bank accounts and tax numbers in plaintext "
            "(every reveal is audited).",
    MERGE: "Ask for two customers of one's subtree to be merged (applied on approval).",
    IMPORT: "Import customers and unit ownership from CSV files.",
})

ENTITY = "customer"
OWNERSHIP = "customer_unit"
CONSENT = "customer_consent"
SERIES = "KH"  # 客户: KH-2026-000123
MERGE_TYPE = "customer_merge"

OWNER_APPROVAL = tenant_settings.declare(
    "customers.owner_contact_changes_need_approval", False,
    "Owners' own phone and address changes go through the change_control approval chain.")

# Sealed-field names: the associated data of each ciphertext, so one never opens as another.
PHONE, ID_NUMBER, ADDRESS, CONTACT_PHONE = "customers.phone", "customers.id_number", "customers.address", \
    "customer_contacts.phone"
EMAIL, BANK_ACCOUNT, TAX_ID, CONTACT_EMAIL = "customers.email", "customers.bank_account", "customers.tax_id", \
    "customer_contacts.email"
FAX, INVOICE_PHONE = "customers.fax", "customers.invoice_phone"
PENDING = "customers.pending_change"  # a protected value waiting in an approval request
# Blind-index namespaces: a customer's and a contact person's phone compare equal.
IX_PHONE, IX_ID, IX_EMAIL, IX_BANK_ACCOUNT = "phone", "id_number", "email", "bank_account"

register_customer_reference(CustomerContact, "customer_id", owned=True)
register_customer_reference(CustomerConsent, "customer_id", owned=True)
register_customer_reference(CustomerUnit, "customer_id", owned=True)


# ------------------------------------------------------------------------------ helpers


def open_sealed(keys: TenantKeys, field: str, sealed: bytes | None) -> str | None:
    return None if sealed is None else keys.open(field, sealed)


def normalise_phone(value: str, field: str) -> str:
    try:
        return pii.normalise_mobile(value)
    except ValueError as exc:
        raise ProblemError("validation", f"{field}: {exc}.", errors=[field_error(field, str(exc))]) from None


def normalise_id(value: str, field: str) -> str:
    try:
        return pii.normalise_id_number(value)
    except ValueError as exc:
        raise ProblemError("validation", f"{field}: {exc}.", errors=[field_error(field, str(exc))]) from None


async def get_customer(session: AsyncSession, authz: Authorizer, customer_id: uuid.UUID, *,
                       lock: bool = False, field: str | None = None) -> tuple[Customer, str]:
    """A customer the caller may read, with their node's path; any other id answers 404. A
    classified record also needs clearance for its level there (403, as archive volumes)."""
    customer, path = await get_at_node(session, authz, Customer, customer_id, READ, "customer", lock=lock,
                                       field=field)
    if customer.classification is not None:
        codes = await scale.level_codes(session)
        if not scale.is_cleared(authz, codes, customer.classification, path):
            raise ProblemError("forbidden", f"Reading customer {customer.number} needs clearance for the level "
                                            f"{customer.classification!r} (one of "
                                            f"{scale.covering(codes, customer.classification)}).")
    return customer, path


async def readable(session: AsyncSession, authz: Authorizer) -> ColumnElement[bool]:
    """Customers the caller may read: subtree, and clearance for a classified record's level."""
    cleared = scale.cleared_clause(authz, await scale.level_codes(session), Customer.classification,
                                   Customer.node_id)
    return and_(authz.visible(READ, Customer.node_id), or_(Customer.classification.is_(None), cleared))


def require_live(customer: Customer) -> None:
    if customer.merged_into_id is not None:
        raise ProblemError("conflict", f"Customer {customer.number} was merged into customer "
                                       f"{customer.merged_into_id}: change that one instead.")


async def duplicates(session: AsyncSession, authz: Authorizer, *, phone_index: str | None,
                      id_index: str | None, except_id: uuid.UUID | None = None) -> list[FieldError]:
    """Field errors naming the live customers that already have this phone or ID number; the
    ids only of those the caller may see."""
    errors: list[FieldError] = []
    for field, column, digest in (("phone", Customer.phone_index, phone_index),
                                  ("idNumber", Customer.id_number_index, id_index)):
        if digest is None:
            continue
        stmt = (select(Customer.id, Customer.number, OrgNode.path).join(OrgNode, OrgNode.id == Customer.node_id)
                .where(column == digest, Customer.merged_into_id.is_(None)).order_by(Customer.number))
        if except_id is not None:
            stmt = stmt.where(Customer.id != except_id)
        hidden = 0
        for cid, number, path in (await session.execute(stmt)).all():
            if authz.can(READ, path):
                errors.append(field_error(field, f"already the {field} of customer {cid} ({number})"))
            else:
                hidden += 1
        if hidden:
            errors.append(field_error(field, f"already the {field} of {hidden} customer(s) outside your subtree"))
    return errors


def refuse_duplicates(errors: list[FieldError]) -> None:
    if errors:
        raise ProblemError("duplicate", "A customer with the same phone or ID number exists already; merge or "
                                        "update that one.", errors=errors)


# The plain-looking fields stored sealed: attribute -> (sealed-field name, blind-index
# namespace or None, normal form, mask).
PLAIN_SEALED: dict[str, tuple[str, str | None, Any, Any]] = {
    "email": (EMAIL, IX_EMAIL, lambda v: v.strip().lower(), mask_email),
    "bank_account": (BANK_ACCOUNT, IX_BANK_ACCOUNT, lambda v: v.replace(" ", ""), mask_account),
    "tax_id": (TAX_ID, None, lambda v: v.strip().upper(), mask_account),
    "fax": (FAX, None, lambda v: v.strip(), mask_account),
    "invoice_phone": (INVOICE_PHONE, None, lambda v: v.strip(), mask_account),
}


def sealed_columns(keys: TenantKeys, name: str, value: str | None) -> dict[str, Any]:
    """The columns that hold ``value`` of one of PLAIN_SEALED's fields: sealed, blind-indexed."""
    field, namespace, normal, _ = PLAIN_SEALED[name]
    plain = None if value is None else normal(value)
    columns: dict[str, Any] = {f"{name}_sealed": None if plain is None else keys.seal(field, plain)}
    if namespace is not None:
        columns[f"{name}_index"] = None if plain is None else keys.blind_index(namespace, plain)
    return columns


def set_sealed(keys: TenantKeys, customer: Customer, name: str, value: str | None) -> None:
    """Store ``value`` of one of PLAIN_SEALED's fields sealed (and blind-indexed), or clear it."""
    for column, stored in sealed_columns(keys, name, value).items():
        setattr(customer, column, stored)


def open_plain(keys: TenantKeys, customer: Customer, name: str) -> str | None:
    return open_sealed(keys, PLAIN_SEALED[name][0], getattr(customer, f"{name}_sealed"))


async def customer_email(session: AsyncSession, customer: Customer) -> str | None:
    """The customer's e-mail address in plain text, for the mail sent to it (never for display)."""
    return open_plain(await tenant_keys(session), customer, "email")


async def customer_reach(session: AsyncSession, customer: Customer) -> tuple[str, str] | None:
    """Where to tell a customer something: (outbox channel, recipient) — in the app when they
    have an account, else by mail; None when they have neither."""
    if customer.account_id is not None:
        return notify.INBOX, str(customer.account_id)
    if (email := await customer_email(session, customer)) is not None:
        return notify.EMAIL, email
    return None


def masked(keys: TenantKeys, customer: Customer, name: str) -> str | None:
    value = open_plain(keys, customer, name)
    return None if value is None else PLAIN_SEALED[name][3](value)


SEALED_COLUMNS = frozenset({
    "phone_sealed", "address_sealed", "id_number_sealed", "phone_index", "id_number_index", "email_sealed",
    "email_index", "bank_account_sealed", "bank_account_index", "tax_id_sealed", "fax_sealed",
    "invoice_phone_sealed"})


def safe_snapshot(customer: Customer, keys: TenantKeys) -> dict[str, Any]:
    """The customer for the audit trail: sealed columns as masks, never plaintext."""
    snap = audit.snapshot(customer, exclude=SEALED_COLUMNS | {"behaviour"})
    phone = open_sealed(keys, PHONE, customer.phone_sealed)
    id_number = open_sealed(keys, ID_NUMBER, customer.id_number_sealed)
    address = open_sealed(keys, ADDRESS, customer.address_sealed)
    snap.update(phone=mask_phone(phone) if phone else None, id_number=mask_id_number(id_number) if id_number else None,
                address=mask_text(address) if address else None, has_behaviour=customer.behaviour is not None,
                **{name: masked(keys, customer, name) for name in PLAIN_SEALED})
    return snap


@dataclass
class Sealed:
    """A customer's protected values, validated, normalised and sealed."""

    phone_sealed: bytes | None = None
    phone_index: str | None = None
    id_number_sealed: bytes | None = None
    id_number_index: str | None = None
    address_sealed: bytes | None = None


def seal_values(keys: TenantKeys, *, phone: str | None, id_number: str | None, address: str | None,
                prefix: str = "") -> Sealed:
    out = Sealed()
    errors: list[FieldError] = []
    if phone is not None:
        try:
            normal = pii.normalise_mobile(phone)
            out.phone_sealed, out.phone_index = keys.seal(PHONE, normal), keys.blind_index(IX_PHONE, normal)
        except ValueError as exc:
            errors.append(field_error(prefix + "phone", str(exc)))
    if id_number is not None:
        try:
            normal = pii.normalise_id_number(id_number)
            out.id_number_sealed, out.id_number_index = keys.seal(ID_NUMBER, normal), keys.blind_index(IX_ID, normal)
        except ValueError as exc:
            errors.append(field_error(prefix + "idNumber", str(exc)))
    if address is not None:
        out.address_sealed = keys.seal(ADDRESS, address)
    if errors:
        raise ProblemError("validation", "; ".join(f"{e.field}: {e.message}" for e in errors), errors=errors)
    return out


def zone(name: str) -> Any:
    from zoneinfo import ZoneInfo

    return ZoneInfo(name)


def wire_name(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(p.capitalize() for p in rest)


async def customer_row(session: AsyncSession, entity_id: str, *, lock: bool = False) -> Customer:
    try:
        cid = uuid.UUID(entity_id)
    except ValueError:
        cid = None
    stmt = select(Customer).where(Customer.id == cid)
    if lock:
        stmt = stmt.with_for_update()
    customer = await session.scalar(stmt) if cid else None
    if customer is None:
        raise ProblemError("not-found", f"No customer {entity_id}.")
    return customer
