"""Customer rules: who sees and changes what, personal data sealed at rest and masked in
answers, protected fields and deletions through the approval engine, consents, ownership.

Visibility: a customer sits at an org node (their unit's project, or a branch or the group
for prospects). A caller without ``customers.read`` there gets 404, as for an id that does
not exist; with read but not ``customers.write``, changes answer 403.

Personal data: phone, ID number and address are sealed with the tenant's data key
(app/core/keystore.py) and never written in plaintext, not to the audit trail nor to an
approval request's payload (which holds sealed values and masks). Phone and ID numbers get
a blind index: exact search and duplicate detection without decrypting anything.
"""

from __future__ import annotations

import base64
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

import msgspec
from sqlalchemy import ColumnElement, and_, delete, exists, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.core import audit, clock, pii, tenant_settings
from app.core.crypto import TenantKeys, mask_id_number, mask_phone, mask_text
from app.core.ids import new_id
from app.core.keystore import tenant_keys
from app.core.numbering import next_number
from app.core.pagination import PageParams, paginate
from app.core.problems import FieldError, ProblemError, field_error
from app.core.schemas import Page, provided
from app.domains.access.authz import Authorizer, register_permissions
from app.domains.approvals import services as approvals
from app.domains.approvals.models import ApprovalRequest
from app.domains.approvals.registry import ChangeApplier, register_change_applier, request_type
from app.domains.customers.models import (
    ConsentKind,
    Customer,
    CustomerConsent,
    CustomerContact,
    CustomerKind,
    CustomerStatus,
    CustomerUnit,
    OwnerRole,
)
from app.domains.customers.references import (
    erase_behaviour_data,
    foreign_holders,
    move_references,
    register_customer_reference,
)
from app.domains.customers.schemas import (
    BehaviourIn,
    ChangeCustomer,
    ChangeOwnership,
    ChangeRequestIn,
    ConsentIn,
    ConsentOut,
    ConsentWithdrawal,
    ContactIn,
    ContactOut,
    CustomerCreate,
    CustomerOut,
    CustomerSummary,
    CustomerUpdate,
    DeleteCustomer,
    DeleteOwnership,
    EnterpriseCreate,
    MergeIn,
    OwnContactResult,
    OwnContactUpdate,
    OwnCustomerOut,
    OwnershipChanges,
    OwnershipIn,
    OwnershipOut,
    PersonCreate,
    Revealed,
    SearchIn,
)
from app.domains.org import services as org
from app.domains.org.models import NodeKind, OrgNode, Unit
from app.tenants.bound import tenant_id, time_zone

READ = "customers.read"
WRITE = "customers.write"
REVEAL = "customers.reveal"
MERGE = "customers.merge"
IMPORT = "customers.import"

register_permissions({
    READ: "See customers (masked personal data), their units and consents in one's subtree.",
    WRITE: "Create customers, change their unprotected data, record consents and ownership, and ask for "
           "changes of protected data (applied on approval) in one's subtree.",
    REVEAL: "See customers' phone, ID numbers and addresses in plaintext (every reveal is audited).",
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
PENDING = "customers.pending_change"  # a protected value waiting in an approval request
# Blind-index namespaces: a customer's and a contact person's phone compare equal.
IX_PHONE, IX_ID = "phone", "id_number"

register_customer_reference(CustomerContact, "customer_id", owned=True)
register_customer_reference(CustomerConsent, "customer_id", owned=True)
register_customer_reference(CustomerUnit, "customer_id", owned=True)


# ------------------------------------------------------------------------------ helpers


def _open(keys: TenantKeys, field: str, sealed: bytes | None) -> str | None:
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
                       lock: bool = False) -> tuple[Customer, str]:
    """A customer the caller may read, with their node's path; any other id answers 404."""
    stmt = select(Customer, OrgNode.path).join(OrgNode, OrgNode.id == Customer.node_id) \
        .where(Customer.id == customer_id)
    if lock:
        stmt = stmt.with_for_update(of=Customer)
    row = (await session.execute(stmt)).first()
    if row is None or not authz.can(READ, row[1]):
        raise ProblemError("not-found", f"No customer with id {customer_id}.")
    return row[0], row[1]


def _live(customer: Customer) -> None:
    if customer.merged_into_id is not None:
        raise ProblemError("conflict", f"Customer {customer.number} was merged into customer "
                                       f"{customer.merged_into_id}: change that one instead.")


async def _duplicates(session: AsyncSession, authz: Authorizer, *, phone_index: str | None,
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


def _refuse_duplicates(errors: list[FieldError]) -> None:
    if errors:
        raise ProblemError("duplicate", "A customer with the same phone or ID number exists already; merge or "
                                        "update that one.", errors=errors)


def _money(value: str | None) -> Decimal | None:
    return None if value is None else Decimal(value)


def safe_snapshot(customer: Customer, keys: TenantKeys) -> dict[str, Any]:
    """The customer for the audit trail: sealed columns as masks, never plaintext."""
    snap = audit.snapshot(customer, exclude=frozenset({
        "phone_sealed", "address_sealed", "id_number_sealed", "phone_index", "id_number_index", "behaviour"}))
    phone = _open(keys, PHONE, customer.phone_sealed)
    id_number = _open(keys, ID_NUMBER, customer.id_number_sealed)
    address = _open(keys, ADDRESS, customer.address_sealed)
    snap.update(phone=mask_phone(phone) if phone else None, id_number=mask_id_number(id_number) if id_number else None,
                address=mask_text(address) if address else None, has_behaviour=customer.behaviour is not None)
    return snap


def _ownership_snapshot(row: CustomerUnit) -> dict[str, Any]:
    return audit.snapshot(row)


# ------------------------------------------------------------------------------ output


async def _ownerships(session: AsyncSession, customer_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID,
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


async def customer_out(session: AsyncSession, customer: Customer) -> CustomerOut:
    keys = await tenant_keys(session)
    contacts = (await session.scalars(select(CustomerContact).where(CustomerContact.customer_id == customer.id)
                                      .order_by(CustomerContact.position))).all()
    units = (await _ownerships(session, [customer.id])).get(customer.id, [])
    phone = _open(keys, PHONE, customer.phone_sealed)
    id_number = _open(keys, ID_NUMBER, customer.id_number_sealed)
    address = _open(keys, ADDRESS, customer.address_sealed)
    # The primary owner's unit first (ordered so): its project decides who is responsible.
    responsibility = units[0].responsibility if units else None
    return CustomerOut(
        id=customer.id, number=customer.number, kind=customer.kind, name=customer.name, status=customer.status,
        node_id=customer.node_id, account_id=customer.account_id, source=customer.source, purpose=customer.purpose,
        entered_at=customer.entered_at, valid_until=customer.valid_until,
        phone=mask_phone(phone) if phone else None, email=customer.email,
        address=mask_text(address) if address else None, gender=customer.gender,
        id_number=mask_id_number(id_number) if id_number else None, occupation=customer.occupation,
        interests=list(customer.interests or []), industry=customer.industry, size=customer.size,
        credit_rating=customer.credit_rating, bank_name=customer.bank_name, bank_account=customer.bank_account,
        tax_id=customer.tax_id,
        contacts=[ContactOut(name=c.name, title=c.title, email=c.email,
                             phone=mask_phone(p) if (p := _open(keys, CONTACT_PHONE, c.phone_sealed)) else None)
                  for c in contacts],
        units=units, responsibility=responsibility, behaviour=customer.behaviour,
        merged_into_id=customer.merged_into_id, merged_at=customer.merged_at, version=customer.version,
        created_at=customer.created_at, updated_at=customer.updated_at,
    )


def _summary(keys: TenantKeys) -> Any:
    def of(c: Customer) -> CustomerSummary:
        phone = _open(keys, PHONE, c.phone_sealed)
        id_number = _open(keys, ID_NUMBER, c.id_number_sealed)
        return CustomerSummary(id=c.id, number=c.number, kind=c.kind, name=c.name, status=c.status,
                               node_id=c.node_id, phone=mask_phone(phone) if phone else None,
                               id_number=mask_id_number(id_number) if id_number else None,
                               merged_into_id=c.merged_into_id, version=c.version, created_at=c.created_at)

    return of


# ------------------------------------------------------------------------------- lists

SORT = {"number": Customer.number, "name": Customer.name, "createdAt": Customer.created_at,
        "status": Customer.status}


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


async def list_customers(session: AsyncSession, authz: Authorizer, params: PageParams, *, q: str | None,
                         status: CustomerStatus | None, kind: CustomerKind | None, node_id: uuid.UUID | None,
                         include_merged: bool) -> Page[CustomerSummary]:
    stmt = select(Customer).where(authz.visible(READ, Customer.node_id))
    if q:
        stmt = stmt.where(Customer.name.like(f"{_escape_like(q)}%", escape="\\"))
    if status is not None:
        stmt = stmt.where(Customer.status == status)
    elif not include_merged:
        stmt = stmt.where(Customer.merged_into_id.is_(None))
    if kind is not None:
        stmt = stmt.where(Customer.kind == kind)
    if node_id is not None:
        stmt = stmt.where(Customer.node_id == node_id)
    return await paginate(session, stmt, params, sortable=SORT, default_sort=["number"], tiebreak=Customer.id,
                          to_schema=_summary(await tenant_keys(session)))


async def search(session: AsyncSession, authz: Authorizer, params: PageParams, data: SearchIn
                 ) -> Page[CustomerSummary]:
    # Probing numbers is for staff who may read customers somewhere; nobody else learns anything.
    authz.require_anywhere(READ)
    keys = await tenant_keys(session)
    stmt = select(Customer).where(authz.visible(READ, Customer.node_id))
    if data.phone is not None:
        stmt = stmt.where(Customer.phone_index == keys.blind_index(IX_PHONE, normalise_phone(data.phone, "phone")))
    if data.id_number is not None:
        digest = keys.blind_index(IX_ID, normalise_id(data.id_number, "idNumber"))
        stmt = stmt.where(Customer.id_number_index == digest)
    if data.name_prefix is not None:
        stmt = stmt.where(Customer.name.like(f"{_escape_like(data.name_prefix)}%", escape="\\"))
    if data.number is not None:
        stmt = stmt.where(Customer.number == data.number)
    if not data.include_merged:
        stmt = stmt.where(Customer.merged_into_id.is_(None))
    page = await paginate(session, stmt, params, sortable=SORT, default_sort=["number"], tiebreak=Customer.id,
                          to_schema=_summary(keys))
    # Looking people up by phone or ID number is itself personal-data processing: who searched
    # for what (masked) and what they found is kept.
    await audit.record(session, action="customers.search", entity_type=ENTITY, entity_id="search", after={
        "phone": mask_phone(data.phone) if data.phone else None,
        "idNumber": mask_id_number(data.id_number) if data.id_number else None,
        "namePrefix": data.name_prefix, "number": data.number, "found": [str(c.id) for c in page.items]})
    return page


# ------------------------------------------------------------------------------ create


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


def _contacts(keys: TenantKeys, customer_id: uuid.UUID, contacts: Iterable[ContactIn]) -> list[CustomerContact]:
    rows, errors = [], []
    for i, c in enumerate(contacts):
        sealed = index = None
        if c.phone is not None:
            try:
                normal = pii.normalise_mobile(c.phone)
                sealed, index = keys.seal(CONTACT_PHONE, normal), keys.blind_index(IX_PHONE, normal)
            except ValueError as exc:
                errors.append(field_error(f"contacts.{i}.phone", str(exc)))
        rows.append(CustomerContact(customer_id=customer_id, position=i, name=c.name, title=c.title,
                                    phone_sealed=sealed, phone_index=index, email=c.email))
    if errors:
        raise ProblemError("validation", "A contact person's phone is not valid.", errors=errors)
    return rows


async def _prospect_node(session: AsyncSession, authz: Authorizer, node_id: uuid.UUID | None) -> OrgNode:
    # A prospect placed nowhere in particular belongs to the group.
    node = await (org.get_root(session) if node_id is None else session.get(OrgNode, node_id))
    if node is None or node.kind is NodeKind.building or not authz.can(READ, node.path):
        raise ProblemError("not-found", f"No group, branch or project with id {node_id}.",
                           errors=[field_error("nodeId", "no such group, branch or project")])
    return node


async def _unit_for(session: AsyncSession, authz: Authorizer, unit_id: uuid.UUID, field: str) -> tuple[Unit, str]:
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


async def _check_ownable(session: AsyncSession, authz: Authorizer, unit: Unit, role: OwnerRole,
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


def _ownership_row(customer_id: uuid.UUID, unit: Unit, data: OwnershipIn) -> CustomerUnit:
    return CustomerUnit(customer_id=customer_id, unit_id=unit.id, role=data.role, stage=data.stage,
                        contract_number=data.contract_number, subscribed_on=data.subscribed_on,
                        contracted_on=data.contracted_on, payment_method=data.payment_method,
                        amount=_money(data.amount))


async def _check_account(session: AsyncSession, account_id: uuid.UUID | None, field: str = "accountId") -> None:
    """An owner's account of this tenant (accounts live in the shared schema)."""
    if account_id is None:
        return
    from app.auth.models import Account, AccountKind

    tenant = await tenant_id(session)
    found = await session.scalar(select(Account.id).where(Account.id == account_id, Account.tenant_id == tenant,
                                                          Account.kind == AccountKind.owner))
    if found is None:
        raise ProblemError("not-found", f"No owner account with id {account_id} in this group.",
                           errors=[field_error(field, "no such owner account")])


def _consent_row(customer_id: uuid.UUID, data: ConsentIn, recorded_by: str) -> CustomerConsent:
    return CustomerConsent(customer_id=customer_id, kind=data.kind, purpose=data.purpose, channel=data.channel,
                           granted_at=data.granted_at or clock.utcnow(), recorded_by=recorded_by)


async def create_customer(session: AsyncSession, authz: Authorizer, data: CustomerCreate) -> Customer:
    keys = await tenant_keys(session)
    sealed = seal_values(keys, phone=data.phone, address=data.address,
                         id_number=data.id_number if isinstance(data, PersonCreate) else None)
    units: list[tuple[Unit, OwnershipIn]] = []
    seen: set[uuid.UUID] = set()
    for i, item in enumerate(data.units):
        field = f"units.{i}.unitId"
        if item.unit_id in seen:
            raise ProblemError("validation", "A unit is listed twice.", errors=[field_error(field, "listed twice")])
        seen.add(item.unit_id)
        unit, _ = await _unit_for(session, authz, item.unit_id, field)
        await _check_ownable(session, authz, unit, item.role, None, field)
        units.append((unit, item))
    if units:
        node = await session.get(OrgNode, units[0][0].project_id)
        assert node is not None
    else:
        node = await _prospect_node(session, authz, data.node_id)
    authz.require(WRITE, node.path)
    _refuse_duplicates(await _duplicates(session, authz, phone_index=sealed.phone_index,
                                         id_index=sealed.id_number_index))
    await _check_account(session, data.account_id)
    year = clock.utcnow().astimezone(_zone(await time_zone(session))).year
    customer = Customer(
        id=new_id(), number=await next_number(session, SERIES, year),
        kind=CustomerKind.person if isinstance(data, PersonCreate) else CustomerKind.enterprise, name=data.name,
        status=CustomerStatus(data.status), node_id=node.id, account_id=data.account_id,
        source=data.source, purpose=data.purpose, valid_until=data.valid_until, email=data.email,
        **vars(sealed), interests=[],
    )
    if isinstance(data, PersonCreate):
        customer.gender, customer.occupation, customer.interests = data.gender, data.occupation, list(data.interests)
    else:
        assert isinstance(data, EnterpriseCreate)
        customer.industry, customer.size, customer.credit_rating = data.industry, data.size, data.credit_rating
        customer.bank_name, customer.bank_account, customer.tax_id = data.bank_name, data.bank_account, data.tax_id
    session.add(customer)
    await session.flush()
    if isinstance(data, EnterpriseCreate):
        session.add_all(_contacts(keys, customer.id, data.contacts))
    actor = audit.actor_of(session).id
    session.add_all(_consent_row(customer.id, c, actor) for c in data.consents)
    session.add_all(_ownership_row(customer.id, unit, item) for unit, item in units)
    await session.flush()
    await session.refresh(customer)
    await audit.record(session, action="customers.create", entity_type=ENTITY, entity_id=customer.id,
                       after={**safe_snapshot(customer, keys), "units": [str(u.id) for u, _ in units],
                              "consents": [c.kind.value for c in data.consents],
                              "contacts": len(data.contacts) if isinstance(data, EnterpriseCreate) else 0})
    return customer


def _zone(name: str) -> Any:
    from zoneinfo import ZoneInfo

    return ZoneInfo(name)


# ------------------------------------------------------------------------------ update

PERSON_ONLY = {"gender", "occupation", "interests"}
ENTERPRISE_ONLY = {"industry", "size", "credit_rating", "bank_name", "bank_account", "tax_id", "contacts"}


async def update_customer(session: AsyncSession, authz: Authorizer, customer: Customer, path: str,
                          data: CustomerUpdate) -> Customer:
    authz.require(WRITE, path)
    _live(customer)
    changes = provided(data)
    wrong = sorted((PERSON_ONLY if customer.kind is CustomerKind.enterprise else ENTERPRISE_ONLY) & set(changes))
    if wrong:
        names = [_wire(n) for n in wrong]
        # The customer's kind is part of its state: the change conflicts with it.
        raise ProblemError("conflict", f"Not fields of a {customer.kind.value} customer: {', '.join(names)}.",
                           errors=[field_error(n, f"not a field of a {customer.kind.value}") for n in names])
    keys = await tenant_keys(session)
    before = safe_snapshot(customer, keys)
    if data.account_id is not msgspec.UNSET:
        await _check_account(session, data.account_id)
    if data.interests is not msgspec.UNSET:
        changes["interests"] = list(data.interests)
    changes.pop("contacts", None)
    contacts = None if data.contacts is msgspec.UNSET else data.contacts
    for name, value in changes.items():
        if name == "status":
            value = CustomerStatus(str(value))
        setattr(customer, name, value)
    if contacts is not None:
        await session.execute(delete(CustomerContact).where(CustomerContact.customer_id == customer.id))
        session.add_all(_contacts(keys, customer.id, contacts))
        customer.updated_at = clock.utcnow()  # the contacts are part of the resource: a new version
    await session.flush()
    await session.refresh(customer)
    after = safe_snapshot(customer, keys)
    if contacts is not None:
        after["contacts"] = len(contacts)
    await audit.record(session, action="customers.update", entity_type=ENTITY, entity_id=customer.id,
                       before=before, after=after)
    return customer


def _wire(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(p.capitalize() for p in rest)


# ------------------------------------------------------------------------------ reveal


async def reveal(session: AsyncSession, authz: Authorizer, customer: Customer, path: str, fields: list[str],
                 reason: str | None) -> Revealed:
    """Plaintext of the asked fields, for a caller holding customers.reveal; audited."""
    authz.require(REVEAL, path)
    keys = await tenant_keys(session)
    wanted = sorted(set(fields))
    out = Revealed(id=customer.id)
    if "phone" in wanted:
        out.phone = _open(keys, PHONE, customer.phone_sealed)
    if "idNumber" in wanted:
        out.id_number = _open(keys, ID_NUMBER, customer.id_number_sealed)
    if "address" in wanted:
        out.address = _open(keys, ADDRESS, customer.address_sealed)
    if "contactPhones" in wanted:
        rows = (await session.scalars(select(CustomerContact).where(CustomerContact.customer_id == customer.id)
                                      .order_by(CustomerContact.position))).all()
        out.contact_phones = [_open(keys, CONTACT_PHONE, c.phone_sealed) for c in rows]
    # Who saw what of whom, never the values themselves.
    await audit.record(session, action="customers.reveal", entity_type=ENTITY, entity_id=customer.id,
                       after={"fields": wanted, "number": customer.number}, reason=reason)
    return out


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
    _live(customer)
    row = _consent_row(customer.id, data, audit.actor_of(session).id)
    session.add(row)
    await session.flush()
    await session.refresh(row)
    await audit.record(session, action="customers.consent.grant", entity_type=CONSENT, entity_id=row.id,
                       after={**audit.snapshot(row), "customer": str(customer.id)})
    return row


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
    await session.flush()
    await session.refresh(consent)
    await audit.record(session, action="customers.consent.withdraw", entity_type=CONSENT, entity_id=consent.id,
                       before=before, after={**audit.snapshot(consent), "customer": str(customer.id)})
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
    _live(customer)
    if not await has_consent(session, customer.id, ConsentKind.behaviour):
        raise ProblemError("consent-required", f"Customer {customer.number} has no active consent of kind "
                                               "'behaviour': record their consent before storing behaviour data.",
                           errors=[field_error("data", "needs an active behaviour consent")])
    had = customer.behaviour is not None
    customer.behaviour = data.data
    await session.flush()
    await session.refresh(customer)
    # The data itself stays out of the trail: what changed, not what it says.
    await audit.record(session, action="customers.behaviour.set", entity_type=ENTITY, entity_id=customer.id,
                       before={"hasBehaviour": had}, after={"hasBehaviour": True, "keys": sorted(data.data)[:50]})
    return customer


# --------------------------------------------------------------------------- ownership


async def list_ownerships(session: AsyncSession, customer: Customer) -> list[OwnershipOut]:
    return (await _ownerships(session, [customer.id])).get(customer.id, [])


async def add_ownership(session: AsyncSession, authz: Authorizer, customer: Customer, path: str,
                        data: OwnershipIn) -> CustomerUnit:
    """Record a new subscription or purchase of a unit (changing or ending one is protected:
    a change request)."""
    authz.require(WRITE, path)
    _live(customer)
    unit, _ = await _unit_for(session, authz, data.unit_id, "unitId")
    await _check_ownable(session, authz, unit, data.role, customer.id, "unitId")
    row = _ownership_row(customer.id, unit, data)
    session.add(row)
    await session.flush()
    await session.refresh(row)
    await audit.record(session, action="customers.ownership.create", entity_type=OWNERSHIP, entity_id=row.id,
                       after=_ownership_snapshot(row))
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


# ---------------------------------------------------------------------- change control

CUSTOMER_FIELDS = frozenset({"name", "phone", "idNumber", "address"})
OWNERSHIP_FIELDS = frozenset({"role", "stage", "contractNumber", "subscribedOn", "contractedOn", "paymentMethod",
                              "amount"})


def _pending(keys: TenantKeys, normal: str, mask: str) -> dict[str, str]:
    """A protected value as it waits in an approval request: sealed, with its mask for the
    approvers to read."""
    return {"sealed": base64.b64encode(keys.seal(PENDING, normal)).decode(), "masked": mask}


async def _pending_changes(session: AsyncSession, authz: Authorizer, customer: Customer,
                           changes: dict[str, Any]) -> dict[str, Any]:
    keys = await tenant_keys(session)
    out: dict[str, Any] = {}
    phone_ix = id_ix = None
    for name, value in changes.items():
        wire = _wire(name)
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
    errors = await _duplicates(session, authz, phone_index=phone_ix, id_index=id_ix, except_id=customer.id)
    _refuse_duplicates([field_error(f"changes.{e.field}", e.message) for e in errors])
    return out


def _plain_ownership(changes: dict[str, Any]) -> dict[str, Any]:
    return {_wire(k): (v.isoformat() if isinstance(v, date) else v.value if hasattr(v, "value") else v)
            for k, v in changes.items()}


async def request_changes(session: AsyncSession, authz: Authorizer, customer: Customer, path: str,
                          data: ChangeRequestIn) -> ApprovalRequest:
    authz.require(WRITE, path)
    _live(customer)
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
    pending = await _pending_changes(session, authz, customer, changes)
    return await approvals.request_change(
        session, entity_type=ENTITY, entity_id=str(customer.id), reason=data.reason, changes=pending,
        deletion=deletion, authz=authz, title=f"{'Delete' if deletion else 'Change'} customer {customer.number}")


# The appliers the approval engine calls (as the approver, in its transaction).

async def _customer_row(session: AsyncSession, entity_id: str, *, lock: bool = False) -> Customer:
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


def _fingerprint(keys: TenantKeys, field: str, sealed: bytes | None, mask: Any) -> dict[str, str] | None:
    """What the engine compares to see a protected value changed: a mask and a keyed digest,
    never the value."""
    if sealed is None:
        return None
    value = keys.open(field, sealed)
    return {"masked": mask(value), "digest": keys.blind_index(f"fingerprint:{field}", value)}


async def _read_customer(session: AsyncSession, entity_id: str, fields: frozenset[str]) -> dict[str, Any]:
    customer = await _customer_row(session, entity_id)
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
    customer = await _customer_row(session, entity_id, lock=True)
    _live(customer)
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

    _refuse_duplicates(await _duplicates(session, trusted(), phone_index=phone_ix, id_index=id_ix,
                                         except_id=customer.id))
    await session.flush()


async def _customer_node(session: AsyncSession, entity_id: str) -> uuid.UUID:
    return (await _customer_row(session, entity_id)).node_id


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
    snap = {_wire(k): v for k, v in audit.snapshot(row).items()}
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
    return (await _customer_row(session, str(row.customer_id))).node_id


register_change_applier(ChangeApplier(
    entity_type=ENTITY, permission=WRITE, fields=CUSTOMER_FIELDS, node_of=_customer_node, read=_read_customer,
    apply=_apply_customer))
register_change_applier(ChangeApplier(
    entity_type=OWNERSHIP, permission=WRITE, fields=OWNERSHIP_FIELDS, node_of=_ownership_node,
    read=_read_ownership, apply=_apply_ownership))


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
        _live(customer)
    return {"survivorId": str(survivor_id), "mergedId": str(merged_id)}


async def _merge_node(session: AsyncSession, payload: dict[str, Any]) -> uuid.UUID:
    survivor_id, _ = _merge_ids(payload)
    return (await _customer_row(session, str(survivor_id))).node_id


async def request_merge(session: AsyncSession, authz: Authorizer, survivor: Customer, path: str,
                        data: MergeIn) -> ApprovalRequest:
    """Ask for ``data.merged_id`` to be merged into ``survivor``: both must be the caller's
    to merge; applied when the customer_merge chain approves."""
    authz.require(MERGE, path)
    if data.merged_id == survivor.id:
        raise ProblemError("validation", "A customer cannot be merged into itself.",
                           errors=[field_error("mergedId", "the same customer as the survivor")])
    _live(survivor)
    try:
        merged, merged_path = await get_customer(session, authz, data.merged_id)
    except ProblemError:
        raise ProblemError("not-found", f"No customer with id {data.merged_id}.",
                           errors=[field_error("mergedId", "no such customer")]) from None
    authz.require(MERGE, merged_path)
    _live(merged)
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
    _live(survivor)
    _live(merged)
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
    for name in ("phone_sealed", "address_sealed", "id_number_sealed", "email", "gender", "occupation",
                 "industry", "size", "credit_rating", "bank_name", "bank_account", "tax_id", "account_id",
                 "valid_until", "behaviour"):
        if getattr(survivor, name) is None and getattr(merged, name) is not None:
            setattr(survivor, name, getattr(merged, name))
            if name in ("phone_sealed", "id_number_sealed"):
                index = name.replace("_sealed", "_index")
                setattr(survivor, index, getattr(merged, index))
    survivor.interests = sorted(set(survivor.interests or []) | set(merged.interests or []))
    for name in ("phone_sealed", "phone_index", "address_sealed", "id_number_sealed", "id_number_index",
                 "behaviour", "account_id", "email"):
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


# -------------------------------------------------------------------------- self-service


async def _mine(session: AsyncSession, authz: Authorizer) -> ColumnElement[bool]:
    owner = authz.owner_id
    return and_(Customer.account_id == owner, Customer.merged_into_id.is_(None)) if owner else Customer.id.is_(None)


async def own_out(session: AsyncSession, customer: Customer) -> OwnCustomerOut:
    keys = await tenant_keys(session)
    id_number = _open(keys, ID_NUMBER, customer.id_number_sealed)
    return OwnCustomerOut(id=customer.id, number=customer.number, name=customer.name,
                          phone=_open(keys, PHONE, customer.phone_sealed), email=customer.email,
                          address=_open(keys, ADDRESS, customer.address_sealed),
                          id_number=mask_id_number(id_number) if id_number else None,
                          units=(await _ownerships(session, [customer.id])).get(customer.id, []),
                          version=customer.version)


async def list_mine(session: AsyncSession, authz: Authorizer, params: PageParams) -> Page[OwnCustomerOut]:
    stmt = select(Customer).where(await _mine(session, authz))
    page = await paginate(session, stmt, params, sortable=SORT, default_sort=["number"], tiebreak=Customer.id,
                          to_schema=lambda c: c)
    return Page(items=[await own_out(session, c) for c in page.items], total=page.total, limit=page.limit,
                offset=page.offset)


async def get_mine(session: AsyncSession, authz: Authorizer, customer_id: uuid.UUID, *, lock: bool = False
                   ) -> Customer:
    stmt = select(Customer).where(Customer.id == customer_id, await _mine(session, authz))
    if lock:
        stmt = stmt.with_for_update()
    customer = await session.scalar(stmt)
    if customer is None:
        raise ProblemError("not-found", f"No customer with id {customer_id}.")
    return customer


async def update_mine(session: AsyncSession, authz: Authorizer, customer: Customer,
                      data: OwnContactUpdate) -> OwnContactResult:
    changes = provided(data)
    keys = await tenant_keys(session)
    before = safe_snapshot(customer, keys)
    if data.email is not msgspec.UNSET:
        del changes["email"]
        customer.email = data.email
    request_id = None
    if changes:
        needs_approval, _ = await tenant_settings.get(session, OWNER_APPROVAL)
        if needs_approval:
            pending = await _pending_changes(session, _nobody(), customer, changes)
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
                _refuse_duplicates(await _duplicates(session, _nobody(), phone_index=sealed.phone_index,
                                                     id_index=None, except_id=customer.id))
                customer.phone_sealed, customer.phone_index = sealed.phone_sealed, sealed.phone_index
            if "address" in changes:
                customer.address_sealed = sealed.address_sealed
    await session.flush()
    await session.refresh(customer)
    await audit.record(session, action="customers.self_update", entity_type=ENTITY, entity_id=customer.id,
                       before=before, after={**safe_snapshot(customer, keys),
                                             "approvalRequest": str(request_id) if request_id else None})
    return OwnContactResult(customer=await own_out(session, customer), approval_request_id=request_id)


def _nobody() -> Authorizer:
    # Duplicates found on an owner's behalf are named without ids: an owner sees no other customer.
    from app.auth.principal import Principal

    return Authorizer(principal=Principal(subject="owner", client_id="owner", scopes=frozenset(), tenant=None,
                                          token_id="", expires_at=0))


# ------------------------------------------------------------------------ org hooks


@org.live_records("customers")
async def _customers_at(session: AsyncSession, holder: org.Holder) -> str | None:
    if holder.kind == "unit":
        count = await session.scalar(select(func.count()).where(CustomerUnit.unit_id == holder.id))
        return f"{count} customer ownerships" if count else None
    count = await session.scalar(select(func.count()).where(Customer.node_id == holder.id))
    return f"{count} customers" if count else None


REQUEST_TYPES = [MERGE_REQUEST]  # the domain's declaration names this list
