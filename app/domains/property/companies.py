"""Property companies (物业公司): registered by the group or a branch, commissioned per project by
a contract (period and scope), and bound to an OAuth client of the group through which the
company works its side — repair orders assigned to it, its side of the coordination log, owners'
complaints it forwards — and sees nothing else: a client bound to a company reaches only the
projects of its active contracts (404 elsewhere). Also the project's property-management
settings (the coordination cadence, the responsible staff)."""

from __future__ import annotations

import uuid
from typing import Any

import msgspec
from sqlalchemy import Select, false, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.directory import staff_subject
from app.auth.models import ClientStatus, OAuthClient
from app.core.pagination import PageParams, paginate
from app.core.problems import ProblemError, field_error
from app.core.schemas import Page
from app.core.states import Workflow
from app.core.writes import saved
from app.domains.access.authz import Authorizer
from app.domains.access.records import get_at_node, node_for
from app.domains.org.models import NodeKind, OrgNode
from app.domains.property.common import (
    CONFIGURE,
    PROJECT,
    READ,
    WRITE,
    cadence,
    project_for,
    require_daily_work,
    snapshot,
    state_of,
)
from app.domains.property.models import (
    CompanyStatus,
    ContractStatus,
    CoordinationEntry,
    PropertyCompany,
    PropertyContract,
    PropertyProject,
)
from app.domains.property.schemas import (
    ClientBinding,
    CompanyCreate,
    CompanyOut,
    CompanyUpdate,
    ContractCreate,
    ContractEndIn,
    ContractOut,
    ForwardedComplaint,
    ForwardedOut,
    ProjectSettingsIn,
    ProjectStateOut,
)
from app.tenants.bound import tenant_id

COMPANY, CONTRACT = "property_company", "property_contract"
PARTNER_SCOPE = "property:partner"
CONTRACT_FLOW = Workflow("contract", {"end": ([ContractStatus.active], [ContractStatus.ended])})
SORT = {"name": PropertyCompany.name, "createdAt": PropertyCompany.created_at}
CONTRACT_SORT = {"startsOn": PropertyContract.starts_on, "createdAt": PropertyContract.created_at}


def _company(c: PropertyCompany) -> dict[str, Any]:
    return {"name": c.name, "nodeId": str(c.node_id), "creditCode": c.credit_code, "contactName": c.contact_name,
            "contactPhone": c.contact_phone, "clientId": c.client_id, "status": c.status.value}


def _contract(c: PropertyContract) -> dict[str, Any]:
    return {"projectId": str(c.node_id), "companyId": str(c.company_id), "startsOn": c.starts_on.isoformat(),
            "endsOn": c.ends_on.isoformat(), "scope": c.scope, "status": c.status.value,
            "endedOn": c.ended_on.isoformat() if c.ended_on else None}


# ------------------------------------------------------------------ companies


async def create_company(session: AsyncSession, authz: Authorizer, data: CompanyCreate) -> PropertyCompany:
    if data.node_id is not None:
        node = await node_for(session, authz, data.node_id, WRITE, kinds=(NodeKind.group, NodeKind.branch))
    else:
        root = await session.scalar(select(OrgNode).where(OrgNode.kind == NodeKind.group))
        assert root is not None
        node = root
        authz.require(WRITE, node.path)
    company = PropertyCompany(node_id=node.id, name=data.name, credit_code=data.credit_code,
                              contact_name=data.contact_name, contact_phone=data.contact_phone,
                              status=CompanyStatus.active)
    session.add(company)
    return await saved(session, company, "property.company.create", COMPANY, snapshot=_company)


async def get_company(session: AsyncSession, authz: Authorizer, company_id: uuid.UUID, *,
                      lock: bool = False) -> tuple[PropertyCompany, str]:
    return await get_at_node(session, authz, PropertyCompany, company_id, READ, "property company", lock=lock)


async def list_companies(session: AsyncSession, authz: Authorizer, params: PageParams, *,
                         status: CompanyStatus | None) -> Page[CompanyOut]:
    stmt: Select[Any] = select(PropertyCompany).where(authz.visible(READ, PropertyCompany.node_id))
    if status is not None:
        stmt = stmt.where(PropertyCompany.status == status)
    return await paginate(session, stmt, params, sortable=SORT, default_sort=["name"], tiebreak=PropertyCompany.id,
                          to_schema=CompanyOut.of)


async def update_company(session: AsyncSession, authz: Authorizer, company: PropertyCompany, path: str,
                         data: CompanyUpdate) -> PropertyCompany:
    authz.require(WRITE, path)
    before = _company(company)
    for name in ("name", "contact_name", "contact_phone", "status"):
        value = getattr(data, name)
        if value is not msgspec.UNSET:
            setattr(company, name, value)
    return await saved(session, company, "property.company.update", COMPANY, before=before, snapshot=_company)


async def bind_client(session: AsyncSession, authz: Authorizer, company: PropertyCompany, path: str,
                      data: ClientBinding) -> PropertyCompany:
    """Bind the company to a confidential client of this group whose only scope is
    ``property:partner`` (so that its tokens reach the partner routes and nothing else)."""
    authz.require(WRITE, path)
    before = _company(company)
    if data.client_id is not None:
        client = await session.scalar(select(OAuthClient).where(OAuthClient.client_id == data.client_id,
                                                                OAuthClient.tenant_id == await tenant_id(session)))
        if client is None or client.status is not ClientStatus.active:
            raise ProblemError("not-found", f"No active OAuth client {data.client_id} in this group.",
                               errors=[field_error("clientId", "no such client")])
        if set(client.allowed_scopes) != {PARTNER_SCOPE} or "client_credentials" not in client.grant_types:
            raise ProblemError("validation", f"A property company's client may hold the scope {PARTNER_SCOPE} only "
                                             f"and use client credentials.",
                               errors=[field_error("clientId", f"its scopes must be exactly {PARTNER_SCOPE}")])
        taken = await session.scalar(select(PropertyCompany.name).where(PropertyCompany.client_id == data.client_id,
                                                                        PropertyCompany.id != company.id))
        if taken is not None:
            raise ProblemError("duplicate", f"The client is bound to {taken} already.",
                               errors=[field_error("clientId", "bound to another company")])
    company.client_id = data.client_id
    return await saved(session, company, "property.company.bind_client", COMPANY, before=before, snapshot=_company)


# ------------------------------------------------------------------ contracts


async def create_contract(session: AsyncSession, authz: Authorizer, data: ContractCreate) -> PropertyContract:
    project = await project_for(session, authz, data.project_id, WRITE)
    await require_daily_work(session, project)
    company, _ = await get_at_node(session, authz, PropertyCompany, data.company_id, READ, "property company",
                                   field="companyId")
    if company.status is not CompanyStatus.active:
        raise ProblemError("conflict", f"{company.name} is inactive.")
    if data.ends_on <= data.starts_on:
        raise ProblemError("validation", "A contract ends after it starts.",
                           errors=[field_error("endsOn", "after startsOn")])
    active = await session.scalar(select(PropertyContract.id).where(PropertyContract.node_id == project.id,
                                                                    PropertyContract.status == ContractStatus.active))
    if active is not None:
        raise ProblemError("conflict", f"Project {project.code} has an active property contract: end it first.")
    contract = PropertyContract(node_id=project.id, company_id=company.id, starts_on=data.starts_on,
                                ends_on=data.ends_on, scope=list(dict.fromkeys(data.scope)),
                                status=ContractStatus.active)
    session.add(contract)
    return await saved(session, contract, "property.contract.create", CONTRACT, snapshot=_contract)


async def get_contract(session: AsyncSession, authz: Authorizer, contract_id: uuid.UUID, *,
                       lock: bool = False) -> tuple[PropertyContract, str]:
    return await get_at_node(session, authz, PropertyContract, contract_id, READ, "property contract", lock=lock)


async def list_contracts(session: AsyncSession, authz: Authorizer, params: PageParams, *,
                         project_id: uuid.UUID | None, company_id: uuid.UUID | None,
                         status: ContractStatus | None) -> Page[ContractOut]:
    stmt: Select[Any] = select(PropertyContract).where(authz.visible(READ, PropertyContract.node_id))
    if project_id is not None:
        stmt = stmt.where(PropertyContract.node_id == project_id)
    if company_id is not None:
        stmt = stmt.where(PropertyContract.company_id == company_id)
    if status is not None:
        stmt = stmt.where(PropertyContract.status == status)
    return await paginate(session, stmt, params, sortable=CONTRACT_SORT, default_sort=["-startsOn"],
                          tiebreak=PropertyContract.id, to_schema=ContractOut.of)


async def end_contract(session: AsyncSession, authz: Authorizer, contract: PropertyContract, path: str,
                       data: ContractEndIn) -> PropertyContract:
    authz.require(WRITE, path)
    return await close_contract(session, contract, data.ended_on)


async def close_contract(session: AsyncSession, contract: PropertyContract, day: Any) -> PropertyContract:
    before = _contract(contract)
    contract.status = CONTRACT_FLOW.to("end", contract.status, ContractStatus.ended, "The contract")
    contract.ended_on = day
    return await saved(session, contract, "property.contract.end", CONTRACT, before=before, snapshot=_contract)


async def active_contract(session: AsyncSession, project_id: uuid.UUID) -> PropertyContract | None:
    return await session.scalar(select(PropertyContract).where(PropertyContract.node_id == project_id,
                                                               PropertyContract.status == ContractStatus.active))


# ------------------------------------------------------------------ the partner's client


async def partner(session: AsyncSession, authz: Authorizer) -> PropertyCompany | None:
    """The active property company the calling client is bound to; None for any other caller,
    who then reaches no project through the partner routes (empty lists, 404 for any id)."""
    principal = authz.principal
    if principal.kind != "client":
        return None
    company: PropertyCompany | None = await session.scalar(
        select(PropertyCompany).where(PropertyCompany.client_id == principal.client_id,
                                      PropertyCompany.status == CompanyStatus.active))
    return company


def partner_projects(company: PropertyCompany | None) -> Any:
    """The projects the company is commissioned for now: the only ones its client reaches."""
    if company is None:
        return select(PropertyContract.node_id).where(false())
    return select(PropertyContract.node_id).where(PropertyContract.company_id == company.id,
                                                  PropertyContract.status == ContractStatus.active)


async def partner_project(session: AsyncSession, company: PropertyCompany | None,
                          project_id: uuid.UUID) -> OrgNode:
    project = await session.scalar(select(OrgNode).where(OrgNode.id == project_id,
                                                         OrgNode.id.in_(partner_projects(company))))
    if project is None:
        raise ProblemError("not-found", f"No project with id {project_id}.",
                           errors=[field_error("projectId", "no such project")])
    return project


async def forward_complaint(session: AsyncSession, company: PropertyCompany | None,
                            data: ForwardedComplaint) -> ForwardedOut:
    """An owner's complaint the company received, forwarded into the complaint register (channel
    ``property_company``) at one of its projects: customer affairs works it from there."""
    from app.domains.access.authz import trusted
    from app.domains.complaints.models import ComplaintCategory, ComplaintChannel, Register
    from app.domains.complaints.schemas import RecordCreate
    from app.domains.complaints.services import create_record

    project = await partner_project(session, company, data.project_id)
    category = await session.scalar(select(ComplaintCategory.id).where(ComplaintCategory.code == data.category_code))
    if category is None:
        raise ProblemError("validation", f"No complaint category {data.category_code}.",
                           errors=[field_error("categoryCode", "no such category")])
    assert company is not None  # a project was found for it
    # The company reaches this project (its contract): the register is written for it, as the system would.
    record = await create_record(session, trusted(), Register.complaint, RecordCreate(
        channel=ComplaintChannel.property_company, project_id=project.id, category_id=category,
        subject=data.subject, description=data.description,
        contact_note=f"{company.name}: {data.contact_note}"[:500], unit_id=data.unit_id))
    return ForwardedOut(id=record.id, number=record.number, status=record.status.value, project_id=project.id)


# ------------------------------------------------------------------ the project's settings


async def _project(session: AsyncSession, authz: Authorizer, project_id: uuid.UUID) -> OrgNode:
    """The project of a path, for a caller who reads property management there (404 otherwise,
    like a project that does not exist)."""
    project = await session.scalar(select(OrgNode).where(OrgNode.id == project_id, OrgNode.kind == NodeKind.project))
    if project is None or not authz.can(READ, project.path):
        raise ProblemError("not-found", f"No project with id {project_id}.")
    return project


async def project_state(session: AsyncSession, authz: Authorizer, project_id: uuid.UUID) -> ProjectStateOut:
    project = await _project(session, authz, project_id)
    state = await session.scalar(select(PropertyProject).where(PropertyProject.node_id == project.id))
    if state is None:
        raise ProblemError("not-found", f"Project {project.code} has no property management yet (no home handed "
                                        f"over, no settings).")
    return await state_out(session, state)


async def state_out(session: AsyncSession, state: PropertyProject) -> ProjectStateOut:
    last = await session.scalar(select(CoordinationEntry.held_on).where(CoordinationEntry.node_id == state.node_id)
                                .order_by(CoordinationEntry.held_on.desc()).limit(1))
    return ProjectStateOut.of(state, last, cadence(state, last))


async def lock_state(session: AsyncSession, authz: Authorizer, project_id: uuid.UUID) -> tuple[PropertyProject, str]:
    project = await _project(session, authz, project_id)
    await state_of(session, project.id)
    state = await state_of(session, project.id, lock=True)
    return state, project.path


async def update_state(session: AsyncSession, authz: Authorizer, state: PropertyProject, path: str,
                       data: ProjectSettingsIn) -> PropertyProject:
    authz.require(CONFIGURE, path)
    before = snapshot(state)
    for name in ("early_months", "early_days", "later_days"):
        value = getattr(data, name)
        if value is not None:
            setattr(state, name, value)
    if data.responsible_account_id is not msgspec.UNSET:
        account = data.responsible_account_id
        state.responsible_account_id = (uuid.UUID(await staff_subject(session, account, "responsibleAccountId"))
                                        if account is not None else None)
    if state.early_days > state.later_days:
        raise ProblemError("validation", "The early cadence is at least as frequent as the later one.",
                           errors=[field_error("earlyDays", "at most laterDays")])
    return await saved(session, state, "property.project.update", PROJECT, before=before, snapshot=snapshot)

