"""The owners' committee (业主委员会) and the replacement of the property company.

Customer affairs urges the property company to form the committee with the sub-district office
within the period the tenant's rule sets (seeded from the common local rule: once half the units
are delivered, or two years after the first delivery, whichever comes first), and follows its
milestones: preparatory meeting, owners' general meeting, election, filing. Once it is formed,
the committee's chosen company takes over: a handover checklist (documents, facilities, funds,
keys) signed off through the approval engine. When approved, the project passes to the
committee: the commissioned contract ends and daily property work refuses new records, while
warranty repairs go on."""

from __future__ import annotations

import math
import uuid
from datetime import date
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core import clock, tenant_settings
from app.core.pagination import PageParams, paginate
from app.core.problems import ProblemError, field_error
from app.core.schemas import Page
from app.core.states import Workflow
from app.core.writes import saved
from app.domains.access.authz import Authorizer
from app.domains.access.records import get_at_node
from app.domains.approvals import services as approvals
from app.domains.approvals.approvable import Approvable, approvable_type, request_status, shown_status
from app.domains.approvals.models import ApprovalRequest, RequestStatus
from app.domains.org.models import Unit
from app.domains.property.common import (
    COMMITTEE_RULE_SETTING,
    PROJECT,
    READ,
    WRITE,
    plus_months,
    project_for,
    snapshot,
    state_of,
)
from app.domains.property.companies import active_contract, close_contract
from app.domains.property.models import (
    CommitteeCase,
    CommitteeStatus,
    Handover,
    HandoverStatus,
    Phase,
    Replacement,
    ReplacementStage,
)
from app.domains.property.schemas import (
    CommitteeCreate,
    CommitteeOut,
    MemberIn,
    MilestoneIn,
    ReplacementCreate,
    ReplacementOut,
    ReplacementTick,
    ResolutionIn,
)
from app.tenants.bound import today

CASE, REPLACEMENT = "committee_case", "property_replacement"
REQUEST_TYPE = "property_replacement"
STANDARD_CHECKLIST = [
    ("documents", "竣工图纸与设备档案 As-built drawings and equipment records"),
    ("documents", "业主资料与物业服务档案 Owner and service records"),
    ("facilities", "共用设施设备清点 Common facilities and equipment inventory"),
    ("funds", "专项维修资金与预收费用结算 Maintenance fund and prepaid fees settled"),
    ("keys", "钥匙与门禁卡移交 Keys and access cards"),
]
C = CommitteeStatus
CASE_FLOW = Workflow("committee case", {
    "prepare": ([C.preparing], [C.preparing, C.formed]),
    "record": ([C.formed], [C.formed]),
    "replace": ([C.formed], [C.replaced]),
})
R = ReplacementStage
REPLACEMENT_FLOW = Workflow("replacement", {
    "edit": ([R.draft], [R.draft]),
    "submit": ([R.draft], [R.submitted]),
})
SORT = {"deadline": CommitteeCase.deadline, "createdAt": CommitteeCase.created_at}


def _case(c: CommitteeCase) -> dict[str, Any]:
    return {"projectId": str(c.node_id), "status": c.status.value,
            "deadline": c.deadline.isoformat() if c.deadline else None, "subdistrictOffice": c.subdistrict_office,
            "milestones": c.milestones, "members": c.members, "resolutions": c.resolutions,
            "formedOn": c.formed_on.isoformat() if c.formed_on else None}


def _replacement(r: Replacement) -> dict[str, Any]:
    return {"projectId": str(r.node_id), "incomingCompany": r.incoming_company, "stage": r.stage.value,
            "effectiveOn": r.effective_on.isoformat(), "checklist": r.checklist,
            "completedOn": r.completed_on.isoformat() if r.completed_on else None}


# ------------------------------------------------------------------ the formation case


async def deadline_of(session: AsyncSession, project_id: uuid.UUID) -> tuple[date | None, str]:
    """When the committee must be formed under the tenant's rule, and why."""
    rule, _ = await tenant_settings.get(session, COMMITTEE_RULE_SETTING)
    percent, years = int(rule["deliveredPercent"]), int(rule["yearsAfterFirstDelivery"])
    delivered = [d for d in (await session.scalars(select(Handover.handed_over_on).where(
        Handover.node_id == project_id, Handover.status == HandoverStatus.handed_over)
        .order_by(Handover.handed_over_on))).all() if d is not None]
    if not delivered:
        return None, f"No home delivered yet: the period starts with the first delivery ({percent}% of the units " \
                     f"delivered, or {years} years after the first delivery)."
    units = await session.scalar(select(func.count()).select_from(Unit).where(Unit.project_id == project_id)) or 0
    by_years = plus_months(delivered[0], 12 * years)
    needed = max(1, math.ceil(units * percent / 100))
    if len(delivered) >= needed and delivered[needed - 1] < by_years:
        return delivered[needed - 1], f"{percent}% of the {units} units delivered on {delivered[needed - 1]}."
    return by_years, f"{years} years after the first delivery on {delivered[0]} (unless {percent}% of the " \
                     f"{units} units are delivered earlier)."


async def create_case(session: AsyncSession, authz: Authorizer, data: CommitteeCreate) -> CommitteeCase:
    project = await project_for(session, authz, data.project_id, WRITE)
    if await session.scalar(select(CommitteeCase.id).where(CommitteeCase.node_id == project.id)) is not None:
        raise ProblemError("duplicate", f"Project {project.code} has its committee case already.",
                           errors=[field_error("projectId", "has a case")])
    deadline, basis = await deadline_of(session, project.id)
    case = CommitteeCase(node_id=project.id, status=CommitteeStatus.preparing, deadline=deadline,
                         deadline_basis=basis, subdistrict_office=data.subdistrict_office,
                         subdistrict_contact=data.subdistrict_contact,
                         preparation_group=[n.strip() for n in data.preparation_group
                                            if n.strip()], milestones={}, members=[], resolutions=[])
    session.add(case)
    return await saved(session, case, "property.committee.create", CASE, snapshot=_case)


async def get_case(session: AsyncSession, authz: Authorizer, case_id: uuid.UUID, *,
                   lock: bool = False) -> tuple[CommitteeCase, str]:
    return await get_at_node(session, authz, CommitteeCase, case_id, READ, "committee case", lock=lock)


async def case_out(session: AsyncSession, c: CommitteeCase) -> CommitteeOut:
    return CommitteeOut.of(c, await today(session))


async def list_cases(session: AsyncSession, authz: Authorizer, params: PageParams, *,
                     status: CommitteeStatus | None) -> Page[CommitteeOut]:
    day = await today(session)
    stmt: Select[Any] = select(CommitteeCase).where(authz.visible(READ, CommitteeCase.node_id))
    if status is not None:
        stmt = stmt.where(CommitteeCase.status == status)
    return await paginate(session, stmt, params, sortable=SORT, default_sort=["deadline"], tiebreak=CommitteeCase.id,
                          to_schema=lambda c: CommitteeOut.of(c, day))


async def milestone(session: AsyncSession, authz: Authorizer, c: CommitteeCase, path: str,
                    data: MilestoneIn) -> CommitteeCase:
    """A milestone reached; the filing forms the committee."""
    authz.require(WRITE, path)
    before = _case(c)
    target = CommitteeStatus.formed if data.milestone == "filing" else CommitteeStatus.preparing
    c.status = CASE_FLOW.to("prepare", c.status, target, "The committee case")
    c.milestones = {**c.milestones, data.milestone: data.reached_on.isoformat()}
    if target is CommitteeStatus.formed:
        c.formed_on = data.reached_on
    c.deadline, c.deadline_basis = await deadline_of(session, c.node_id)
    return await saved(session, c, "property.committee.milestone", CASE, before=before, snapshot=_case)


async def add_member(session: AsyncSession, authz: Authorizer, c: CommitteeCase, path: str,
                     data: MemberIn) -> CommitteeCase:
    authz.require(WRITE, path)
    if data.term_ends <= data.term_starts:
        raise ProblemError("validation", "A term ends after it starts.",
                           errors=[field_error("termEnds", "after termStarts")])
    before = _case(c)
    CASE_FLOW.require("record", c.status, "The committee case", hint="members are recorded once it is elected "
                                                                      "(the filing milestone)")
    c.members = [*c.members, {"name": data.name, "role": data.role, "termStarts": data.term_starts.isoformat(),
                              "termEnds": data.term_ends.isoformat()}]
    return await saved(session, c, "property.committee.member", CASE, before=before, snapshot=_case)


async def add_resolution(session: AsyncSession, authz: Authorizer, c: CommitteeCase, path: str,
                         data: ResolutionIn) -> CommitteeCase:
    authz.require(WRITE, path)
    before = _case(c)
    if c.status is CommitteeStatus.preparing:
        CASE_FLOW.require("record", c.status, "The committee case", hint="resolutions follow its formation")
    c.resolutions = [*c.resolutions, {"adoptedOn": data.adopted_on.isoformat(), "title": data.title,
                                      "text": data.text}]
    return await saved(session, c, "property.committee.resolution", CASE, before=before, snapshot=_case)


# ------------------------------------------------------------------ replacing the property company


REPLACEMENT_RECORD = Approvable(Replacement, key="replacementId", entity=REPLACEMENT, what="replacement")


async def replacement_out(session: AsyncSession, r: Replacement) -> ReplacementOut:
    status = await request_status(session, r.approval_request_id)
    return ReplacementOut.of(r, shown_status(r.stage.value, status))


async def create_replacement(session: AsyncSession, authz: Authorizer, data: ReplacementCreate) -> Replacement:
    project = await project_for(session, authz, data.project_id, WRITE)
    case = await session.scalar(select(CommitteeCase).where(CommitteeCase.node_id == project.id))
    if case is None or case.status is not CommitteeStatus.formed:
        raise ProblemError("conflict", f"Project {project.code} has no formed owners' committee: the company is "
                                       f"replaced at the committee's choice, once it is formed (filed).")
    contract = await active_contract(session, project.id)
    if contract is None:
        raise ProblemError("conflict", f"Project {project.code} has no commissioned property company to replace.")
    live = await session.scalar(select(Replacement.id).where(Replacement.node_id == project.id,
                                                             Replacement.stage != ReplacementStage.completed))
    if live is not None:
        raise ProblemError("conflict", f"Project {project.code} has a replacement under way: {live}.")
    items = ([(i.category, i.item) for i in data.checklist] if data.checklist else STANDARD_CHECKLIST)
    r = Replacement(node_id=project.id, outgoing_company_id=contract.company_id,
                    incoming_company=data.incoming_company, effective_on=data.effective_on,
                    checklist=[{"category": c, "item": i, "done": False, "note": None} for c, i in items],
                    stage=ReplacementStage.draft)
    session.add(r)
    return await saved(session, r, "property.replacement.create", REPLACEMENT, snapshot=_replacement)


async def get_replacement(session: AsyncSession, authz: Authorizer, replacement_id: uuid.UUID, *,
                          lock: bool = False) -> tuple[Replacement, str]:
    return await get_at_node(session, authz, Replacement, replacement_id, READ, "replacement", lock=lock)


async def list_replacements(session: AsyncSession, authz: Authorizer, params: PageParams) -> Page[ReplacementOut]:
    stmt: Select[Any] = select(Replacement).where(authz.visible(READ, Replacement.node_id))
    page = await paginate(session, stmt, params, sortable={"createdAt": Replacement.created_at},
                          default_sort=["-createdAt"], tiebreak=Replacement.id, to_schema=lambda r: r)
    return Page(items=[await replacement_out(session, r) for r in page.items], total=page.total, limit=page.limit,
                offset=page.offset)


async def tick(session: AsyncSession, authz: Authorizer, r: Replacement, path: str, data: ReplacementTick
               ) -> Replacement:
    authz.require(WRITE, path)
    before = _replacement(r)
    REPLACEMENT_FLOW.require("edit", r.stage, "The replacement", hint="it is under approval or done")
    if data.index >= len(r.checklist):
        raise ProblemError("conflict", f"The checklist has {len(r.checklist)} items.",
                           errors=[field_error("index", f"below {len(r.checklist)}")])
    items = [dict(i) for i in r.checklist]
    items[data.index].update(done=data.done, note=data.note)
    r.checklist = items
    return await saved(session, r, "property.replacement.tick", REPLACEMENT, before=before, snapshot=_replacement)


async def submit(session: AsyncSession, authz: Authorizer, r: Replacement, path: str) -> Replacement:
    """To sign-off: every item of the checklist done first."""
    authz.require(WRITE, path)
    before = _replacement(r)
    REPLACEMENT_FLOW.require("submit", r.stage, "The replacement")
    missing = [n for n, i in enumerate(r.checklist) if not i["done"]]
    if missing:
        raise ProblemError("conflict", f"{len(missing)} items of the handover checklist are not done: "
                                       f"{', '.join(r.checklist[n]['item'] for n in missing[:3])}.")
    request = await approvals.create_request(session, request_type=REQUEST_TYPE,
                                             title=f"物业公司更换 Replacement: {r.incoming_company}"[:300],
                                             payload={"replacementId": str(r.id)})
    r.approval_request_id = request.id
    r.stage = REPLACEMENT_FLOW.to("submit", r.stage, ReplacementStage.submitted, "The replacement")
    return await saved(session, r, "property.replacement.submit", REPLACEMENT, before=before,
                       snapshot=_replacement)


async def _approved(session: AsyncSession, request: ApprovalRequest) -> None:
    """Signed off: the project passes to the committee's company."""
    r = await REPLACEMENT_RECORD.of(session, request.payload, lock=True)
    before = _replacement(r)
    day = await today(session)
    r.stage, r.completed_on, r.updated_at = ReplacementStage.completed, day, clock.utcnow()
    await saved(session, r, "property.replacement.complete", REPLACEMENT, before=before, snapshot=_replacement)
    contract = await active_contract(session, r.node_id)
    if contract is not None:
        await close_contract(session, contract, day)
    state = await state_of(session, r.node_id, lock=True)
    state_before = snapshot(state)
    state.phase, state.replaced_on = Phase.committee, day
    await saved(session, state, "property.project.replaced", PROJECT, before=state_before, snapshot=snapshot)
    case = await session.scalar(select(CommitteeCase).where(CommitteeCase.node_id == r.node_id).with_for_update())
    if case is not None and case.status is CommitteeStatus.formed:
        case_before = _case(case)
        case.status = CASE_FLOW.to("replace", case.status, CommitteeStatus.replaced, "The committee case")
        await saved(session, case, "property.committee.replaced", CASE, before=case_before, snapshot=_case)


async def _payload(session: AsyncSession, r: Replacement) -> dict[str, Any]:
    return {"replacementId": str(r.id), "incomingCompany": r.incoming_company,
            "effectiveOn": r.effective_on.isoformat(), "checklist": r.checklist}


async def _back_to_draft(session: AsyncSession, request: ApprovalRequest) -> None:
    """Rejected or withdrawn: the replacement can be corrected and submitted again."""
    r = await REPLACEMENT_RECORD.of(session, request.payload, lock=True)
    if request.status in (RequestStatus.rejected, RequestStatus.withdrawn):
        before = _replacement(r)
        r.stage, r.approval_request_id, r.updated_at = ReplacementStage.draft, None, clock.utcnow()
        await saved(session, r, "property.replacement.returned", REPLACEMENT, before=before, snapshot=_replacement)


REQUEST_TYPES = [approvable_type(
    REQUEST_TYPE, "Replacement of the property company", REPLACEMENT_RECORD, describe=_payload,
    on_approved=_approved, on_rejected=_back_to_draft, on_withdrawn=_back_to_draft,
    default_chain=[{"name": "Customer affairs manager", "role": "customer_affairs_manager", "at": "branch"}],
    default_roles={"customer_affairs_manager": "客户事务部经理 Customer affairs manager"})]
