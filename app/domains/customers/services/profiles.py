"""Customer profiles: lists and search, creation, unprotected changes, reveal, and the
customer as answered (personal data masked).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from decimal import Decimal
from typing import Any

import msgspec
from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core import audit, clock, pii
from app.core.crypto import TenantKeys, mask_email, mask_id_number, mask_phone, mask_text
from app.core.ids import new_id
from app.core.keystore import tenant_keys
from app.core.numbering import next_number
from app.core.pagination import PageParams, paginate
from app.core.problems import ProblemError, field_error
from app.core.schemas import Page, provided
from app.core.writes import saved
from app.domains.access.authz import Authorizer
from app.domains.customers.models import Customer, CustomerContact, CustomerKind, CustomerStatus, CustomerUnit
from app.domains.customers.schemas import (
    CompetitionOut,
    ContactIn,
    ContactOut,
    CustomerCreate,
    CustomerOut,
    CustomerSummary,
    CustomerUpdate,
    EnterpriseCreate,
    EvaluationOut,
    OwnershipIn,
    PersonCreate,
    Revealed,
    SalesOut,
    SearchIn,
    ViolationOut,
)
from app.domains.customers.services.common import (
    ADDRESS,
    CONTACT_EMAIL,
    CONTACT_PHONE,
    ENTITY,
    ID_NUMBER,
    IX_BANK_ACCOUNT,
    IX_EMAIL,
    IX_ID,
    IX_PHONE,
    PHONE,
    PLAIN_SEALED,
    READ,
    REVEAL,
    SERIES,
    WRITE,
    duplicates,
    masked,
    normalise_id,
    normalise_phone,
    open_plain,
    open_sealed,
    readable,
    refuse_duplicates,
    require_live,
    safe_snapshot,
    seal_values,
    set_sealed,
    wire_name,
    zone,
)
from app.domains.customers.services.consents import consent_row
from app.domains.customers.services.ownership import check_ownable, ownership_row, ownerships_of, unit_for
from app.domains.org import services as org
from app.domains.org.models import NodeKind, OrgNode, Unit
from app.tenants.bound import tenant_id, time_zone


async def customer_out(session: AsyncSession, customer: Customer) -> CustomerOut:
    keys = await tenant_keys(session)
    contacts = (await session.scalars(select(CustomerContact).where(CustomerContact.customer_id == customer.id)
                                      .order_by(CustomerContact.position))).all()
    units = (await ownerships_of(session, [customer.id])).get(customer.id, [])
    phone = open_sealed(keys, PHONE, customer.phone_sealed)
    id_number = open_sealed(keys, ID_NUMBER, customer.id_number_sealed)
    address = open_sealed(keys, ADDRESS, customer.address_sealed)
    # The primary owner's unit first (ordered so): its project decides who is responsible.
    responsibility = units[0].responsibility if units else None
    return CustomerOut(
        id=customer.id, number=customer.number, kind=customer.kind, name=customer.name, status=customer.status,
        node_id=customer.node_id, account_id=customer.account_id, source=customer.source, purpose=customer.purpose,
        entered_at=customer.entered_at, valid_until=customer.valid_until, classification=customer.classification,
        phone=mask_phone(phone) if phone else None, email=masked(keys, customer, "email"),
        address=mask_text(address) if address else None, gender=customer.gender,
        id_number=mask_id_number(id_number) if id_number else None, occupation=customer.occupation,
        interests=list(customer.interests or []), industry=customer.industry, size=customer.size,
        credit_rating=customer.credit_rating, bank_name=customer.bank_name,
        bank_account=masked(keys, customer, "bank_account"), tax_id=masked(keys, customer, "tax_id"),
        contacts=[ContactOut(name=c.name, title=c.title,
                             email=mask_email(e) if (e := open_sealed(keys, CONTACT_EMAIL, c.email_sealed)) else None,
                             phone=mask_phone(p) if (p := open_sealed(keys, CONTACT_PHONE, c.phone_sealed)) else None)
                  for c in contacts],
        region=customer.region, fax=masked(keys, customer, "fax"),
        violations=msgspec.convert(customer.violations or [], list[ViolationOut]),
        evaluations=msgspec.convert(customer.evaluations or [], list[EvaluationOut]),
        business_type=customer.business_type, company_nature=customer.company_nature,
        legal_representative=customer.legal_representative, registered_capital=customer.registered_capital,
        sales=None if customer.sales is None else msgspec.convert(customer.sales, SalesOut),
        competition=None if customer.competition is None else msgspec.convert(customer.competition, CompetitionOut),
        invoice_phone=masked(keys, customer, "invoice_phone"), invoice_requirements=customer.invoice_requirements,
        website=customer.website, purchase_needs=customer.purchase_needs,
        units=units, responsibility=responsibility, behaviour=customer.behaviour,
        merged_into_id=customer.merged_into_id, merged_at=customer.merged_at, version=customer.version,
        created_at=customer.created_at, updated_at=customer.updated_at,
    )


def _summary(keys: TenantKeys) -> Any:
    def of(c: Customer) -> CustomerSummary:
        phone = open_sealed(keys, PHONE, c.phone_sealed)
        id_number = open_sealed(keys, ID_NUMBER, c.id_number_sealed)
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
    stmt = select(Customer).where(await readable(session, authz))
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
    stmt = select(Customer).where(await readable(session, authz))
    if data.phone is not None:
        stmt = stmt.where(Customer.phone_index == keys.blind_index(IX_PHONE, normalise_phone(data.phone, "phone")))
    if data.id_number is not None:
        digest = keys.blind_index(IX_ID, normalise_id(data.id_number, "idNumber"))
        stmt = stmt.where(Customer.id_number_index == digest)
    if data.email is not None:
        digest = keys.blind_index(IX_EMAIL, PLAIN_SEALED["email"][2](data.email))
        stmt = stmt.where(Customer.email_index == digest)
    if data.bank_account is not None:
        digest = keys.blind_index(IX_BANK_ACCOUNT, PLAIN_SEALED["bank_account"][2](data.bank_account))
        stmt = stmt.where(Customer.bank_account_index == digest)
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
        "email": mask_email(data.email) if data.email else None,
        "bankAccount": PLAIN_SEALED["bank_account"][3](data.bank_account) if data.bank_account else None,
        "namePrefix": data.name_prefix, "number": data.number, "found": [str(c.id) for c in page.items]})
    return page


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
                                    phone_sealed=sealed, phone_index=index,
                                    email_sealed=None if c.email is None else keys.seal(CONTACT_EMAIL, c.email)))
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
        unit, _ = await unit_for(session, authz, item.unit_id, field)
        await check_ownable(session, authz, unit, item.role, None, field)
        units.append((unit, item))
    if units:
        node = await session.get(OrgNode, units[0][0].project_id)
        assert node is not None
    else:
        node = await _prospect_node(session, authz, data.node_id)
    authz.require(WRITE, node.path)
    refuse_duplicates(await duplicates(session, authz, phone_index=sealed.phone_index,
                                         id_index=sealed.id_number_index))
    await _check_account(session, data.account_id)
    year = clock.utcnow().astimezone(zone(await time_zone(session))).year
    customer = Customer(
        id=new_id(), number=await next_number(session, SERIES, year),
        kind=CustomerKind.person if isinstance(data, PersonCreate) else CustomerKind.enterprise, name=data.name,
        status=CustomerStatus(data.status), node_id=node.id, account_id=data.account_id,
        source=data.source, purpose=data.purpose, valid_until=data.valid_until,
        **vars(sealed), interests=[],
    )
    set_sealed(keys, customer, "email", data.email)
    set_sealed(keys, customer, "fax", data.fax)
    customer.region = data.region
    customer.violations, customer.evaluations = archive_value("violations", data.violations), \
        archive_value("evaluations", data.evaluations)
    if isinstance(data, PersonCreate):
        customer.gender, customer.occupation, customer.interests = data.gender, data.occupation, list(data.interests)
    else:
        assert isinstance(data, EnterpriseCreate)
        customer.industry, customer.size, customer.credit_rating = data.industry, data.size, data.credit_rating
        customer.bank_name = data.bank_name
        set_sealed(keys, customer, "bank_account", data.bank_account)
        set_sealed(keys, customer, "tax_id", data.tax_id)
        set_sealed(keys, customer, "invoice_phone", data.invoice_phone)
        for name in ENTERPRISE_ARCHIVE:
            setattr(customer, name, archive_value(name, getattr(data, name)))
    session.add(customer)
    await session.flush()
    if isinstance(data, EnterpriseCreate):
        session.add_all(_contacts(keys, customer.id, data.contacts))
    actor = audit.actor_of(session).id
    session.add_all(consent_row(customer.id, c, actor) for c in data.consents)
    session.add_all(ownership_row(customer.id, unit, item) for unit, item in units)
    return await saved(session, customer, "customers.create", ENTITY, snapshot=lambda made: {
        **safe_snapshot(made, keys), "units": [str(u.id) for u, _ in units],
        "consents": [c.kind.value for c in data.consents],
        "contacts": len(data.contacts) if isinstance(data, EnterpriseCreate) else 0})


# ------------------------------------------------------------------------------ update

PERSON_ONLY = {"gender", "occupation", "interests"}
# The archive form's enterprise fields stored as they come (fax and invoice phone are sealed).
ENTERPRISE_ARCHIVE = ("business_type", "company_nature", "legal_representative", "registered_capital", "sales",
                      "competition", "invoice_requirements", "website", "purchase_needs")
ENTERPRISE_ONLY = {"industry", "size", "credit_rating", "bank_name", "bank_account", "tax_id", "contacts",
                   "invoice_phone", *ENTERPRISE_ARCHIVE}


def archive_value(name: str, value: Any) -> Any:
    """A value of the archive form as stored: money exact, structured parts as JSON (money in
    them as strings), lists as lists."""
    if value is None:
        return [] if name in ("violations", "evaluations") else None
    if name == "registered_capital":
        return Decimal(str(value))
    if name in ("sales", "competition", "violations", "evaluations"):
        built = msgspec.to_builtins(value)
        return {k: v for k, v in built.items() if v is not None} if isinstance(built, dict) else built
    return value


async def update_customer(session: AsyncSession, authz: Authorizer, customer: Customer, path: str,
                          data: CustomerUpdate) -> Customer:
    authz.require(WRITE, path)
    require_live(customer)
    changes = provided(data)
    wrong = sorted((PERSON_ONLY if customer.kind is CustomerKind.enterprise else ENTERPRISE_ONLY) & set(changes))
    if wrong:
        names = [wire_name(n) for n in wrong]
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
        if name in PLAIN_SEALED:
            set_sealed(keys, customer, name, None if value is None else str(value))
            continue
        if name == "status":
            value = CustomerStatus(str(value))
        elif name in ("registered_capital", "sales", "competition", "violations", "evaluations"):
            value = archive_value(name, value)
        setattr(customer, name, value)
    if contacts is not None:
        await session.execute(delete(CustomerContact).where(CustomerContact.customer_id == customer.id))
        session.add_all(_contacts(keys, customer.id, contacts))
        customer.updated_at = clock.utcnow()  # the contacts are part of the resource: a new version
    counted = {} if contacts is None else {"contacts": len(contacts)}
    return await saved(session, customer, "customers.update", ENTITY, before=before,
                       snapshot=lambda c: {**safe_snapshot(c, keys), **counted})


# ------------------------------------------------------------------------------ reveal


async def reveal(session: AsyncSession, authz: Authorizer, customer: Customer, path: str, fields: list[str],
                 reason: str) -> Revealed:
    """Plaintext of the asked fields, for a caller holding customers.reveal; audited."""
    authz.require(REVEAL, path)
    keys = await tenant_keys(session)
    wanted = sorted(set(fields))
    out = Revealed(id=customer.id)
    if "phone" in wanted:
        out.phone = open_sealed(keys, PHONE, customer.phone_sealed)
    if "idNumber" in wanted:
        out.id_number = open_sealed(keys, ID_NUMBER, customer.id_number_sealed)
    if "address" in wanted:
        out.address = open_sealed(keys, ADDRESS, customer.address_sealed)
    if "email" in wanted:
        out.email = open_plain(keys, customer, "email")
    if "bankAccount" in wanted:
        out.bank_account = open_plain(keys, customer, "bank_account")
    if "taxId" in wanted:
        out.tax_id = open_plain(keys, customer, "tax_id")
    if "fax" in wanted:
        out.fax = open_plain(keys, customer, "fax")
    if "invoicePhone" in wanted:
        out.invoice_phone = open_plain(keys, customer, "invoice_phone")
    if "contactPhones" in wanted or "contactEmails" in wanted:
        rows = (await session.scalars(select(CustomerContact).where(CustomerContact.customer_id == customer.id)
                                      .order_by(CustomerContact.position))).all()
        if "contactPhones" in wanted:
            out.contact_phones = [open_sealed(keys, CONTACT_PHONE, c.phone_sealed) for c in rows]
        if "contactEmails" in wanted:
            out.contact_emails = [open_sealed(keys, CONTACT_EMAIL, c.email_sealed) for c in rows]
    # Who saw what of whom, never the values themselves.
    await audit.record(session, action="customers.reveal", entity_type=ENTITY, entity_id=customer.id,
                       after={"fields": wanted, "number": customer.number}, reason=reason)
    return out


# ------------------------------------------------------------------------ org hooks


@org.live_records("customers")
async def _customers_at(session: AsyncSession, holder: org.Holder) -> str | None:
    if holder.kind == "unit":
        count = await session.scalar(select(func.count()).where(CustomerUnit.unit_id == holder.id))
        return f"{count} customer ownerships" if count else None
    count = await session.scalar(select(func.count()).where(Customer.node_id == holder.id))
    return f"{count} customers" if count else None
