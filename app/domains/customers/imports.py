"""Bulk import of customers and their unit ownership from CSV files.

The upload is checked before any job exists: size, encoding (UTF-8, else detected with
charset-normalizer: GBK/GB18030 files from Excel are common), header (unknown, missing or
repeated columns are a 422 naming each). The file is then kept sealed with the tenant's data
key (it holds phone and ID numbers) for the job, which validates every row, reports each
rejected row with its line, field and reason, and writes either every valid row
(``valid_rows``) or nothing unless every row is valid (``all_or_nothing``). The job acts
with the uploader's grants and is audited in their name.
"""

from __future__ import annotations

import csv
import io
import re
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

import msgspec
from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.principal import Principal
from app.core import audit, clock, pii
from app.core.crypto import TenantKeys
from app.core.ids import new_id
from app.core.jobs import Job, JobError, Progress, create_job
from app.core.keystore import tenant_keys
from app.core.numbering import format_number, take
from app.core.problems import FieldError, ProblemError, field_error
from app.core.schemas import EMAIL_PATTERN
from app.core.text import decode
from app.domains.access.authz import Authorizer, load_authorizer
from app.domains.customers import services
from app.domains.customers.models import (
    BusinessType,
    ContractStage,
    CreditRating,
    Customer,
    CustomerImport,
    CustomerKind,
    CustomerStatus,
    CustomerUnit,
    EnterpriseSize,
    Gender,
    ImportMode,
    OwnerRole,
    PaymentMethod,
)
from app.domains.customers.schemas import ImportRejection, ImportResult
from app.domains.customers.services.common import sealed_columns
from app.domains.org.models import NodeKind, OrgNode, Unit
from app.tenants.bound import time_zone

IMPORT_KIND = "customers.import"
MAX_BYTES = 16 * 1024 * 1024  # ~150,000 rows of typical width
MAX_ROWS = 100_000
Mode = ImportMode
CONTENT = "customer_imports.content"  # the sealed file's associated data
BATCH = 500  # rows per INSERT and per progress report

# The template's columns, in its order. A file has the required ones and any of the others, in
# this order, named exactly so: a header that cannot be misread (no guessing which column is
# which, no near-misses silently ignored), and one the API document can state whole.
COLUMNS = (
    "kind", "name", "status", "gender", "phone", "email", "id_number", "address", "occupation", "interests",
    "valid_until", "industry", "size", "credit_rating", "bank_name", "bank_account", "tax_id",
    # The archive form's fields (seed 002, 客户档案表); lists and competition go through the API.
    "region", "fax", "business_type", "company_nature", "legal_representative", "registered_capital",
    "annual_sales", "monthly_purchasing", "invoice_phone", "invoice_requirements", "website", "purchase_needs",
    "source",
    "purpose", "node_code", "building_code", "unit_number", "owner_role", "stage", "contract_number",
    "subscribed_on", "contracted_on", "payment_method", "amount",
)
REQUIRED = ("kind", "name", "source", "purpose")
OPTIONAL = tuple(c for c in COLUMNS if c not in REQUIRED)
# The whole rule as a regular expression (for the document): the header, then at least one row.
HEADER_PATTERN = "".join(f",{c}" if c in REQUIRED else f"(,{c})?" for c in COLUMNS).removeprefix(",")
# A row counts when a cell holds more than blanks and control characters (spelled out, as the
# document's ECMA regular expressions and Python's disagree on what \s is).
FILE_PATTERN = f"^{HEADER_PATTERN}\\r?\\n[^\\r\\n]*[^\\x00-\\x20,\"][^\\r\\n]*(\\r?\\n[^\\r\\n]*)*$"
_BLANK = re.compile(r"^[\x00-\x20]*$")
_EMAIL = re.compile(EMAIL_PATTERN)
_AMOUNT = re.compile(r"^(0|[1-9][0-9]{0,11})(\.[0-9]{1,2})?$")
_TAX_ID = re.compile(r"^[0-9A-Z]{15,20}$")
_BANK_ACCOUNT = re.compile(r"^[0-9]{8,30}$")
_FAX = re.compile(r"^\+?[0-9][0-9 -]{5,24}$")
_WEBSITE = re.compile(r"^https?://[^\s]{1,290}$")


# ------------------------------------------------------------------------ before the job


def _problem(detail: str, errors: list[FieldError]) -> ProblemError:
    return ProblemError("validation", detail, errors=errors)


def read_header(text: str) -> tuple[list[str], int]:
    """The header's column names (checked) and the number of data rows."""
    reader = csv.reader(io.StringIO(text))
    try:
        header = next(reader)
    except (StopIteration, csv.Error) as exc:
        raise _problem("The file has no header line.", [field_error("header", str(exc) or "missing", "body")]) \
            from None
    names = list(header)
    errors: list[FieldError] = []
    last = -1
    for i, name in enumerate(names):
        where = f"header.{i + 1}"
        if name not in COLUMNS:
            errors.append(field_error(where, f"unknown column {name!r}; the columns, in this order: "
                                             f"{', '.join(COLUMNS)}", "body"))
        elif names.index(name) != i:
            errors.append(field_error(where, f"column {name!r} repeated", "body"))
        elif COLUMNS.index(name) < last:
            errors.append(field_error(where, f"column {name!r} must come before {COLUMNS[last]!r} (the order of "
                                             f"the template: {', '.join(COLUMNS)})", "body"))
        else:
            last = COLUMNS.index(name)
    for name in REQUIRED:
        if name not in names:
            errors.append(field_error(f"header.{name}", "required column missing", "body"))
    if errors:
        raise _problem("The header is not a customer import header: "
                       + "; ".join(f"{e.field}: {e.message}" for e in errors[:5]), errors)
    try:
        rows = sum(1 for row in reader if not all(_BLANK.match(cell) for cell in row))
    except csv.Error as exc:
        raise _problem(f"The file is not valid CSV: {exc}.", [field_error("file", str(exc), "body")]) from None
    if rows == 0:
        raise _problem("The file has a header and no rows.", [field_error("file", "no rows", "body")])
    if rows > MAX_ROWS:
        raise _problem(f"The file has {rows} rows; split it into files of at most {MAX_ROWS}.",
                       [field_error("file", f"at most {MAX_ROWS} rows", "body")])
    return names, rows


async def start_import(session: AsyncSession, authz: Authorizer, content: bytes, mode: Mode,
                       node_id: uuid.UUID | None) -> Job:
    """Check the upload and queue its job (the caller enqueues the task after commit)."""
    from app.domains.org.services import get_root

    root = await get_root(session)
    node = root if node_id is None else await session.get(OrgNode, node_id)
    if node is None or node.kind is NodeKind.building or not authz.can(services.READ, node.path):
        raise ProblemError("not-found", f"No group, branch or project with id {node_id}.",
                           errors=[field_error("nodeId", "no such group, branch or project", "query")])
    authz.require(services.IMPORT, node.path)
    authz.require(services.WRITE, node.path)
    text, encoding = decode(content)
    _, rows = read_header(text)
    keys = await tenant_keys(session)
    job = await create_job(session, IMPORT_KIND)
    actor = audit.actor_of(session)
    staged = CustomerImport(job_id=job.id, mode=mode, encoding=encoding, rows=rows, node_id=node.id,
                            content_sealed=keys.seal(CONTENT, text), requested_by=actor.id,
                            client_id=actor.client_id)
    session.add(staged)
    await session.flush()
    await audit.record(session, action="customers.import.start", entity_type="customer_import",
                       entity_id=staged.id, after={"job": str(job.id), "mode": mode, "encoding": encoding,
                                                   "rows": rows, "bytes": len(content)})
    return job


# ------------------------------------------------------------------------------ the job


@dataclass
class Row:
    line: int
    values: dict[str, str]
    customer: dict[str, Any] = field(default_factory=dict)
    ownership: dict[str, Any] | None = None
    unit_key: tuple[str, str] | None = None


@dataclass
class Context:
    keys: TenantKeys
    authz: Authorizer
    default_node: OrgNode
    nodes: dict[str, OrgNode]  # code -> group/branch/project node
    buildings: dict[str, OrgNode]  # code -> building
    units: dict[tuple[str, str], tuple[Unit, str]]  # (building code, number) -> unit, building path
    owned: dict[uuid.UUID, str]  # unit id -> who owns it as primary (a description)
    phones: dict[str, str]  # blind index -> existing customer (a description)
    id_numbers: dict[str, str]


def _enum(value: str, cls: Any, name: str, errors: list[tuple[str, str]]) -> Any:
    try:
        return cls(value)
    except ValueError:
        errors.append((name, f"one of {', '.join(m.value for m in cls)}"))
        return None


def _date(value: str, name: str, errors: list[tuple[str, str]]) -> date | None:
    try:
        return date.fromisoformat(value)
    except ValueError:
        errors.append((name, "a date as YYYY-MM-DD"))
        return None


def _check(row: Row, ctx: Context, seen_phone: dict[str, int], seen_id: dict[str, int],
           seen_unit: dict[uuid.UUID, int]) -> list[tuple[str, str]]:
    """Validate one row into ``row.customer`` / ``row.ownership``; its errors (field, message)."""
    v = row.values
    errors: list[tuple[str, str]] = []
    kind = _enum(v.get("kind", ""), CustomerKind, "kind", errors)
    c = row.customer
    for name, limit in (("name", 200), ("source", 200), ("purpose", 500)):
        if not v.get(name):
            errors.append((name, "required"))
        elif len(v[name]) > limit:
            errors.append((name, f"at most {limit} characters"))
    c.update(kind=kind, name=v.get("name"), source=v.get("source"), purpose=v.get("purpose"))
    status = v.get("status") or "active"
    c["status"] = CustomerStatus(status) if status in ("active", "inactive", "lost") else None
    if c["status"] is None:
        errors.append(("status", "one of active, inactive, lost"))
    if v.get("email"):
        if len(v["email"]) > 254 or not _EMAIL.match(v["email"]):
            errors.append(("email", "not an email address"))
        c.update(sealed_columns(ctx.keys, "email", v["email"]))
    if v.get("valid_until"):
        c["valid_until"] = _date(v["valid_until"], "valid_until", errors)
    if v.get("phone"):
        try:
            normal = pii.normalise_mobile(v["phone"])
            digest = ctx.keys.blind_index(services.IX_PHONE, normal)
            if digest in ctx.phones:
                errors.append(("phone", f"already the phone of {ctx.phones[digest]}"))
            elif digest in seen_phone:
                errors.append(("phone", f"the same phone as row {seen_phone[digest]}"))
            else:
                seen_phone[digest] = row.line
            c.update(phone_sealed=ctx.keys.seal(services.PHONE, normal), phone_index=digest)
        except ValueError as exc:
            errors.append(("phone", str(exc)))
    if v.get("address"):
        if len(v["address"]) > 300:
            errors.append(("address", "at most 300 characters"))
        c["address_sealed"] = ctx.keys.seal(services.ADDRESS, v["address"])
    if v.get("region"):
        c["region"] = v["region"][:100]
    person_only = ("gender", "id_number", "occupation", "interests")
    enterprise_only = ("industry", "size", "credit_rating", "bank_name", "bank_account", "tax_id", *ARCHIVE_ONLY)
    for name in ("fax", "invoice_phone"):
        # A person's invoice phone is refused below, as not a field of a person.
        if v.get(name) and not (name == "invoice_phone" and kind is CustomerKind.person):
            if not _FAX.match(v[name]):
                errors.append((name, "a fax or landline number: digits, spaces and dashes"))
            c.update(sealed_columns(ctx.keys, name, v[name]))
    for name in (enterprise_only if kind is CustomerKind.person else person_only if kind else ()):
        if v.get(name):
            errors.append((name, f"not a field of a {kind.value}"))
    if kind is CustomerKind.person:
        if v.get("gender"):
            c["gender"] = _enum(v["gender"], Gender, "gender", errors)
        if v.get("occupation"):
            c["occupation"] = v["occupation"][:100]
        c["interests"] = [i.strip()[:50] for i in v.get("interests", "").split(";") if i.strip()][:20]
        if v.get("id_number"):
            try:
                normal = pii.normalise_id_number(v["id_number"])
                digest = ctx.keys.blind_index(services.IX_ID, normal)
                if digest in ctx.id_numbers:
                    errors.append(("id_number", f"already the ID number of {ctx.id_numbers[digest]}"))
                elif digest in seen_id:
                    errors.append(("id_number", f"the same ID number as row {seen_id[digest]}"))
                else:
                    seen_id[digest] = row.line
                c.update(id_number_sealed=ctx.keys.seal(services.ID_NUMBER, normal), id_number_index=digest)
            except ValueError as exc:
                errors.append(("id_number", str(exc)))
    elif kind is CustomerKind.enterprise:
        if v.get("industry"):
            c["industry"] = v["industry"][:100]
        if v.get("size"):
            c["size"] = _enum(v["size"], EnterpriseSize, "size", errors)
        if v.get("credit_rating"):
            c["credit_rating"] = _enum(v["credit_rating"].upper(), CreditRating, "credit_rating", errors)
        if v.get("bank_name"):
            c["bank_name"] = v["bank_name"][:200]
        for name, pattern, what in (("bank_account", _BANK_ACCOUNT, "8 to 30 digits"),
                                    ("tax_id", _TAX_ID, "15 to 20 digits or capital letters")):
            if v.get(name):
                if not pattern.match(v[name]):
                    errors.append((name, what))
                c.update(sealed_columns(ctx.keys, name, v[name]))
        _archive(v, c, errors)
    _place(row, ctx, errors, seen_unit)
    return errors


# The archive form's enterprise columns (fax and region belong to persons too).
ARCHIVE_ONLY = ("business_type", "company_nature", "legal_representative", "registered_capital", "annual_sales",
                "monthly_purchasing", "invoice_phone", "invoice_requirements", "website", "purchase_needs")


def _archive(v: dict[str, str], c: dict[str, Any], errors: list[tuple[str, str]]) -> None:
    if v.get("business_type"):
        c["business_type"] = _enum(v["business_type"], BusinessType, "business_type", errors)
    for name, limit in (("company_nature", 100), ("legal_representative", 100), ("invoice_requirements", 500),
                        ("purchase_needs", 1000)):
        if v.get(name):
            c[name] = v[name][:limit]
    if v.get("website"):
        if not _WEBSITE.match(v["website"]):
            errors.append(("website", "an http(s) address"))
        c["website"] = v["website"][:300]
    if v.get("registered_capital"):
        if _AMOUNT.match(v["registered_capital"]):
            c["registered_capital"] = Decimal(v["registered_capital"])
        else:
            errors.append(("registered_capital", "yuan with at most 2 decimals, e.g. 5000000.00"))
    sales = {}
    for column, key in (("annual_sales", "annual"), ("monthly_purchasing", "monthlyPurchasing")):
        if v.get(column):
            if _AMOUNT.match(v[column]):
                sales[key] = v[column]
            else:
                errors.append((column, "yuan with at most 2 decimals"))
    if sales:
        c["sales"] = sales


def _place(row: Row, ctx: Context, errors: list[tuple[str, str]], seen_unit: dict[uuid.UUID, int]) -> None:
    """The row's unit (ownership) or, for a prospect, its node."""
    v, c = row.values, row.customer
    unit_cols = [k for k in ("building_code", "unit_number") if v.get(k)]
    deal_cols = [k for k in ("owner_role", "stage", "contract_number", "subscribed_on", "contracted_on",
                             "payment_method", "amount") if v.get(k)]
    if not unit_cols:
        for k in deal_cols:
            errors.append((k, "needs building_code and unit_number"))
        node = ctx.default_node
        if v.get("node_code"):
            found = ctx.nodes.get(v["node_code"].upper())
            if found is None or not ctx.authz.can(services.READ, found.path):
                errors.append(("node_code", "no group, branch or project with this code"))
                return
            node = found
        if not ctx.authz.can(services.WRITE, node.path):
            errors.append(("node_code", "you may not add customers here"))
        c["node_id"] = node.id
        return
    if len(unit_cols) < 2:
        errors.append(("unit_number" if "building_code" in unit_cols else "building_code",
                       "building_code and unit_number go together"))
        return
    if v.get("node_code"):
        errors.append(("node_code", "a customer with a unit belongs to the unit's project"))
    found_unit = ctx.units.get((v["building_code"].upper(), v["unit_number"]))
    if found_unit is None or not ctx.authz.can(services.READ, found_unit[1]):
        errors.append(("unit_number", "no such unit in this building"))
        return
    unit, path = found_unit
    if not ctx.authz.can(services.WRITE, path):
        errors.append(("unit_number", "you may not add customers to this unit"))
        return
    o: dict[str, Any] = {"unit_id": unit.id}
    o["role"] = _enum(v.get("owner_role") or "primary", OwnerRole, "owner_role", errors)
    o["stage"] = _enum(v.get("stage") or "subscription", ContractStage, "stage", errors)
    if v.get("payment_method"):
        o["payment_method"] = _enum(v["payment_method"], PaymentMethod, "payment_method", errors)
    if v.get("amount"):
        if _AMOUNT.match(v["amount"]):
            o["amount"] = Decimal(v["amount"])
        else:
            errors.append(("amount", "yuan with at most 2 decimals, e.g. 2350000.00"))
    if v.get("contract_number"):
        o["contract_number"] = v["contract_number"][:40]
    for name in ("subscribed_on", "contracted_on"):
        if v.get(name):
            o[name] = _date(v[name], name, errors)
    if o["role"] is OwnerRole.primary:
        if unit.id in ctx.owned:
            errors.append(("unit_number", f"already owned by {ctx.owned[unit.id]} as primary owner"))
        elif unit.id in seen_unit:
            errors.append(("unit_number", f"the primary owner is row {seen_unit[unit.id]}"))
        else:
            seen_unit[unit.id] = row.line
    c["node_id"] = unit.project_id
    row.ownership = o


def _chunks(items: list[Any], size: int) -> Iterable[list[Any]]:
    for i in range(0, len(items), size):
        yield items[i:i + size]


async def _context(session: AsyncSession, authz: Authorizer, keys: TenantKeys, staged: CustomerImport,
                   rows: list[Row]) -> Context:
    default_node = await session.get(OrgNode, staged.node_id)
    assert default_node is not None
    node_codes = {r.values["node_code"].upper() for r in rows if r.values.get("node_code")}
    nodes = {n.code: n for n in (await session.scalars(select(OrgNode).where(
        OrgNode.code.in_(node_codes), OrgNode.kind != NodeKind.building))).all()} if node_codes else {}
    building_codes = {r.values["building_code"].upper() for r in rows if r.values.get("building_code")}
    buildings: dict[str, OrgNode] = {}
    units: dict[tuple[str, str], tuple[Unit, str]] = {}
    for chunk in _chunks(sorted(building_codes), 1000):
        for b in (await session.scalars(select(OrgNode).where(OrgNode.code.in_(chunk),
                                                              OrgNode.kind == NodeKind.building))).all():
            buildings[b.code] = b
    by_id = {b.id: b for b in buildings.values()}
    for chunk in _chunks(list(by_id), 500):
        for unit in (await session.scalars(select(Unit).where(Unit.building_id.in_(chunk)))).all():
            building = by_id[unit.building_id]
            units[(building.code, unit.number)] = (unit, building.path)
    owned: dict[uuid.UUID, str] = {}
    unit_ids = [u.id for u, _ in units.values()]
    for chunk in _chunks(unit_ids, 1000):
        for unit_id, cid, number, path in (await session.execute(
                select(CustomerUnit.unit_id, Customer.id, Customer.number, OrgNode.path)
                .join(Customer, Customer.id == CustomerUnit.customer_id).join(OrgNode, OrgNode.id == Customer.node_id)
                .where(CustomerUnit.unit_id.in_(chunk), CustomerUnit.role == OwnerRole.primary))).all():
            owned[unit_id] = f"customer {cid} ({number})" if authz.can(services.READ, path) else "another customer"
    # Existing phone and ID numbers among the file's: one indexed lookup per thousand.
    phones: dict[str, str] = {}
    id_numbers: dict[str, str] = {}
    for column, raw_name, namespace, normalise, out in (
            (Customer.phone_index, "phone", services.IX_PHONE, pii.normalise_mobile, phones),
            (Customer.id_number_index, "id_number", services.IX_ID, pii.normalise_id_number, id_numbers)):
        digests = set()
        for r in rows:
            try:
                if r.values.get(raw_name):
                    digests.add(keys.blind_index(namespace, normalise(r.values[raw_name])))
            except ValueError:
                pass
        for chunk in _chunks(sorted(digests), 1000):
            for digest, cid, number, path in (await session.execute(
                    select(column, Customer.id, Customer.number, OrgNode.path)
                    .join(OrgNode, OrgNode.id == Customer.node_id)
                    .where(column.in_(chunk), Customer.merged_into_id.is_(None)))).all():
                assert digest is not None  # one of the file's digests
                out[digest] = f"customer {cid} ({number})" if authz.can(services.READ, path) else \
                    "a customer outside your subtree"
    return Context(keys=keys, authz=authz, default_node=default_node, nodes=nodes, buildings=buildings,
                   units=units, owned=owned, phones=phones, id_numbers=id_numbers)


async def run_import(session: AsyncSession, job_id: uuid.UUID, progress: Progress) -> dict[str, Any]:
    staged = await session.scalar(select(CustomerImport).where(CustomerImport.job_id == job_id).with_for_update())
    if staged is None or staged.content_sealed is None:
        raise JobError("The uploaded file is no longer there; upload it again.")
    keys = await tenant_keys(session)
    text = keys.open(CONTENT, staged.content_sealed)
    tenant = session.info["tenant_schema"].removeprefix("t_")
    principal = Principal(subject=staged.requested_by, client_id=staged.client_id or "", scopes=frozenset(),
                          tenant=tenant, token_id="", expires_at=0)
    authz = await load_authorizer(session, principal)
    # The rows are written, and audited, in the uploader's name: the job only carries them out.
    system_actor = session.info["actor"]
    session.info["actor"] = audit.Actor(kind=principal.kind, id=staged.requested_by, client_id=staged.client_id,
                                        reason=f"customer import, job {job_id}")
    try:
        return await _run(session, staged, keys, authz, text, progress)
    finally:
        session.info["actor"] = system_actor


async def _run(session: AsyncSession, staged: CustomerImport, keys: TenantKeys, authz: Authorizer, text: str,
               progress: Progress) -> dict[str, Any]:
    reader = csv.reader(io.StringIO(text))
    header = next(reader)
    rows: list[Row] = []
    for cells in reader:
        if all(_BLANK.match(cell) for cell in cells):
            continue
        values = {name: cells[i].strip() for i, name in enumerate(header) if i < len(cells) and cells[i].strip()}
        row = Row(line=reader.line_num, values=values)
        if len(cells) > len(header):
            row.values["__extra__"] = "1"
        rows.append(row)
    total = len(rows)
    # Two passes over the rows: checking all of them, then writing the valid ones.
    await progress.report(0, total * 2)
    ctx = await _context(session, authz, keys, staged, rows)
    rejections: list[ImportRejection] = []
    valid: list[Row] = []
    seen_phone: dict[str, int] = {}
    seen_id: dict[str, int] = {}
    seen_unit: dict[uuid.UUID, int] = {}
    for i, row in enumerate(rows, start=1):
        errors = _check(row, ctx, seen_phone, seen_id, seen_unit)
        if row.values.pop("__extra__", None):
            errors.append(("row", f"more cells than the header's {len(header)} columns"))
        if errors:
            rejections.extend(ImportRejection(row=row.line, field=f, message=m) for f, m in errors)
        else:
            valid.append(row)
        if i % BATCH == 0:
            await progress.report(i)
    await progress.report(total)
    rejected_rows = total - len(valid)
    if staged.mode == "all_or_nothing" and rejected_rows:
        valid = []
    units = await _write(session, valid, progress, total) if valid else 0
    staged.content_sealed = None  # the file is not kept once its rows are in
    await session.flush()
    result = ImportResult(mode=staged.mode, encoding=staged.encoding,
                          rows=total, imported=len(valid), rejected=rejected_rows, units=units,
                          rejections=rejections)
    await audit.record(session, action="customers.import.finish", entity_type="customer_import",
                       entity_id=staged.id, after={"job": str(staged.job_id), "imported": len(valid),
                                                   "rejected": rejected_rows, "units": units})
    await progress.report(total * 2)
    summary: dict[str, Any] = msgspec.to_builtins(result)  # a Struct becomes a dict
    return summary


async def _write(session: AsyncSession, rows: list[Row], progress: Progress, offset: int) -> int:
    tz = await time_zone(session)
    year = clock.utcnow().astimezone(services.zone(tz)).year
    first = await take(session, services.SERIES, year, count=len(rows))
    written = units = 0
    for chunk_no, chunk in enumerate(_chunks(rows, BATCH)):
        customers: list[dict[str, Any]] = []
        ownerships: list[dict[str, Any]] = []
        trail: list[dict[str, Any]] = []
        for j, row in enumerate(chunk):
            cid = new_id()
            number = format_number(services.SERIES, year, first + chunk_no * BATCH + j)
            values = {"id": cid, "number": number, "version": 1, "interests": [], "violations": [],
                      "evaluations": [], **row.customer}
            customers.append(values)
            if row.ownership is not None:
                ownerships.append({"id": new_id(), "customer_id": cid, "version": 1, **row.ownership})
            trail.append({"action": "customers.create", "entity_type": services.ENTITY, "entity_id": cid,
                          "after": {"number": number, "kind": values["kind"].value, "name": values["name"],
                                    "nodeId": str(values["node_id"]), "line": row.line,
                                    "unit": str(row.ownership["unit_id"]) if row.ownership else None}})
        await session.execute(insert(Customer), customers)
        if ownerships:
            await session.execute(insert(CustomerUnit), ownerships)
        await audit.record_many(session, trail)
        written += len(chunk)
        units += len(ownerships)
        await progress.report(offset + written)
    return units
