"""HTTP for the coordination log, supervision, the owners' committee, and the two outside views:
the owner's app (``owner:self``: their own handovers and repairs) and the property company's
client (``property:partner``: its projects only)."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

from litestar import Controller, Request, Response, get, patch, post
from litestar.params import Parameter
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.scopes import requires
from app.core.etag import check_if_match
from app.core.pagination import PageParams, page_params
from app.core.schemas import Page
from app.core.writes import created, updated, with_etag
from app.domains.access.authz import Authorizer
from app.domains.property import committee, companies, coordination, handovers, repairs, supervision
from app.domains.property import controllers as property_controllers
from app.domains.property.controllers import BASE, DEPENDENCIES, MOVES, READ_SCOPE, WRITE_SCOPE, _async
from app.domains.property.models import ActionStatus, CommitteeStatus, FindingStatus, RepairStatus
from app.domains.property.schemas import (
    ActionUpdate,
    AppointmentIn,
    CommitteeCreate,
    CommitteeOut,
    CompletionIn,
    EntryCreate,
    FindingOut,
    ForwardedComplaint,
    ForwardedOut,
    HandoverOut,
    InspectionCreate,
    InspectionOut,
    LogActionOut,
    LogEntryOut,
    MemberIn,
    MilestoneIn,
    OwnRepairCreate,
    RectifyIn,
    RejectIn,
    RepairOut,
    ReplacementCreate,
    ReplacementOut,
    ReplacementTick,
    ResolutionIn,
    Scorecard,
    SignOffIn,
    VerifyIn,
)

PARTNER_SCOPE = "property:partner"
ACTION = "/coordination/actions/{action_id:uuid}"
FINDING = "/findings/{finding_id:uuid}"
CASE = "/committees/{case_id:uuid}"
REPLACEMENT = "/replacements/{replacement_id:uuid}"


class CoordinationController(Controller):
    path = BASE
    tags = ["Property coordination"]
    dependencies = DEPENDENCIES

    @get("/coordination", operation_id="listCoordination", summary="The coordination log",
         dependencies={"page": page_params(*coordination.SORT)},
         description="The coordination log of the projects where the caller's roles hold `property.read`, a page at a "
                     "time, latest held first: each record's form, both sides' attendees, topics, decisions, who "
                     "recorded it (customer affairs or the company) and its action items; filter by project. Needs "
                     "property:read.",
         **requires(READ_SCOPE))
    async def list_entries(self, session: AsyncSession, authz: Authorizer, page: PageParams,
                           project_id: uuid.UUID | None = Parameter(query="projectId", default=None)
                           ) -> Page[LogEntryOut]:
        return await coordination.list_entries(session, authz, page, project_id=project_id)

    @post("/coordination", operation_id="recordCoordination",
          summary="Record a coordination with the project's property company, with its action items",
          description="409 once the project passed to the owners' committee's company, or without a commissioned "
                      "company.", **requires(WRITE_SCOPE, errors=[404, 409]))
    async def create_entry(self, request: Request[Any, Any, Any], session: AsyncSession, authz: Authorizer,
                           data: EntryCreate) -> Response[LogEntryOut]:
        return await created(request, session, lambda: coordination.create_entry(session, authz, data),
                             lambda e: coordination.entry_out(session, e), lambda e: f"{BASE}/coordination/{e.id}")

    @get("/coordination/{entry_id:uuid}", operation_id="getCoordination", summary="A coordination record",
         description="One coordination record with its action items (owner, due date, status, overdue). Needs "
                     "`property.read` at its project (404 otherwise).",
         **requires(READ_SCOPE, errors=[404]))
    async def get_entry(self, session: AsyncSession, authz: Authorizer, entry_id: uuid.UUID) -> Response[LogEntryOut]:
        e, _ = await coordination.get_entry(session, authz, entry_id)
        return with_etag(await coordination.entry_out(session, e), e.version)

    @get("/coordination/actions", operation_id="listCoordinationActions", summary="Action items (overdue ones, ...)",
         dependencies={"page": page_params(*coordination.ACTION_SORT)},
         description="Action items of the coordination log at or under the nodes where the caller's roles hold "
                     "`property.read`, a page at a time by due date: filter by project, status (open, done) or "
                     "overdue (open past the due date; the daily scan flags each once and tells the project's "
                     "responsible staff member). Needs property:read.",
         **requires(READ_SCOPE))
    async def list_actions(self, session: AsyncSession, authz: Authorizer, page: PageParams,
                           project_id: uuid.UUID | None = Parameter(query="projectId", default=None),
                           status: ActionStatus | None = Parameter(query="status", default=None),
                           overdue: bool | None = Parameter(query="overdue", default=None)) -> Page[LogActionOut]:
        return await coordination.list_actions(session, authz, page, project_id=project_id, status=status,
                                               overdue=overdue)

    @get(ACTION, operation_id="getCoordinationAction", summary="An action item",
         description="One action item: what is to be done, by which side and whom, by when, its status and follow-up, "
                     "and whether it is overdue. The ETag is what If-Match needs to follow it up. Needs "
                     "`property.read` at its project (404 otherwise).",
         **requires(READ_SCOPE, errors=[404]))
    async def get_action(self, session: AsyncSession, authz: Authorizer,
                         action_id: uuid.UUID) -> Response[LogActionOut]:
        from app.tenants.bound import today

        a, _ = await coordination.get_action(session, authz, action_id)
        return with_etag(LogActionOut.of(a, await today(session)), a.version)

    @patch(ACTION, operation_id="followUpCoordinationAction", summary="Follow an action item up (done, or open)",
           description="Follows an action item up: done (dated today) or open again, with a follow-up note. Needs "
                       "`property.write` at its project and If-Match. Audited.",
           **requires(WRITE_SCOPE, errors=[404, 412, 428]))
    async def update_action(self, request: Request[Any, Any, Any], session: AsyncSession, authz: Authorizer,
                            action_id: uuid.UUID, data: ActionUpdate) -> Response[LogActionOut]:
        from app.tenants.bound import today

        day = await today(session)
        return await updated(request, coordination.get_action(session, authz, action_id, lock=True),
                             lambda a, path: coordination.update_action(session, authz, a, path, data),
                             lambda a: _async(LogActionOut.of(a, day)))


class SupervisionController(Controller):
    path = BASE
    tags = ["Property supervision"]
    dependencies = DEPENDENCIES

    @get("/inspections", operation_id="listSupervisionInspections", summary="Inspections of the property companies",
         dependencies={"page": page_params(*supervision.SORT)},
         description="Inspections of the property companies at or under the nodes where the caller's roles hold "
                     "`property.read`, a page at a time, latest first, each with its scores and findings: filter by "
                     "project or company. Needs property:read.",
         **requires(READ_SCOPE))
    async def list_inspections(self, session: AsyncSession, authz: Authorizer, page: PageParams,
                               project_id: uuid.UUID | None = Parameter(query="projectId", default=None),
                               company_id: uuid.UUID | None = Parameter(query="companyId", default=None)
                               ) -> Page[InspectionOut]:
        return await supervision.list_inspections(session, authz, page, project_id=project_id, company_id=company_id)

    @post("/inspections", operation_id="recordSupervisionInspection",
          summary="Record a routine or special inspection with its scores and findings",
          description="Records a routine or special inspection of the company commissioned for the project: every "
                      "item of the supervision checklist (the tenant's standard one when absent, 404 naming "
                      "`checklistId`) scored 0–100 (422 naming each missing or unknown item), the score their mean; "
                      "the owners' opinions heard and the project's complaints linked (422 naming others); findings "
                      "with a severity and a rectification deadline not before the inspection, which the company sees "
                      "through its client. Needs `property.write` at the project (404 naming `projectId` otherwise); "
                      "409 without a commissioned company or once the owners' committee's company took over. Accepts "
                      "`Idempotency-Key`. Audited, each finding too.",
          **requires(WRITE_SCOPE, errors=[404, 409]))
    async def create_inspection(self, request: Request[Any, Any, Any], session: AsyncSession, authz: Authorizer,
                                data: InspectionCreate) -> Response[InspectionOut]:
        return await created(request, session, lambda: supervision.create_inspection(session, authz, data),
                             lambda i: supervision.inspection_out(session, i), lambda i: f"{BASE}/inspections/{i.id}")

    @get("/inspections/{inspection_id:uuid}", operation_id="getSupervisionInspection", summary="An inspection",
         description="One inspection: its kind and subject, the company inspected, each checklist item's score and "
                     "note, the mean score, the owners' opinions, the complaints linked, and its findings. Needs "
                     "`property.read` at its project (404 otherwise).",
         **requires(READ_SCOPE, errors=[404]))
    async def get_inspection(self, session: AsyncSession, authz: Authorizer,
                             inspection_id: uuid.UUID) -> Response[InspectionOut]:
        i, _ = await supervision.get_inspection(session, authz, inspection_id)
        return with_etag(await supervision.inspection_out(session, i), i.version)

    @get("/findings", operation_id="listSupervisionFindings", summary="Findings and their rectification",
         dependencies={"page": page_params(*supervision.FINDING_SORT)},
         description="Inspection findings at or under the nodes where the caller's roles hold `property.read`, a page "
                     "at a time by rectification deadline: filter by project or status (open, rectified, verified); "
                     "each says whether it is overdue. Needs property:read.",
         **requires(READ_SCOPE))
    async def list_findings(self, session: AsyncSession, authz: Authorizer, page: PageParams,
                            project_id: uuid.UUID | None = Parameter(query="projectId", default=None),
                            status: FindingStatus | None = Parameter(query="status", default=None)
                            ) -> Page[FindingOut]:
        return await supervision.list_findings(session, authz, page, project_id=project_id, status=status)

    @get(FINDING, operation_id="getSupervisionFinding", summary="A finding",
         description="One finding: its description, severity, rectification deadline, status, what the company did "
                     "and who verified it. The ETag is what If-Match needs to record a rectification or verify it. "
                     "Needs `property.read` at its project (404 otherwise).",
         **requires(READ_SCOPE, errors=[404]))
    async def get_finding(self, session: AsyncSession, authz: Authorizer,
                          finding_id: uuid.UUID) -> Response[FindingOut]:
        from app.tenants.bound import today

        f, _ = await supervision.get_finding(session, authz, finding_id)
        return with_etag(FindingOut.of(f, await today(session)), f.version)

    @post(FINDING + "/rectification", operation_id="recordFindingRectification", status_code=200,
          summary="Record the company's rectification",
          description="Records what the company did about a finding, for the company (open → rectified); the company "
                      "may record it itself through its client. Needs `property.write` at the project and If-Match; "
                      "409 unless the finding is open. Audited.",
          **requires(WRITE_SCOPE, errors=MOVES))
    async def rectify(self, request: Request[Any, Any, Any], session: AsyncSession, authz: Authorizer,
                      finding_id: uuid.UUID, data: RectifyIn) -> Response[FindingOut]:
        from app.tenants.bound import today

        day = await today(session)

        async def change(f: Any, path: str) -> Any:
            authz.require("property.write", path)
            return await supervision.rectify(session, f, data)

        return await updated(request, supervision.get_finding(session, authz, finding_id, lock=True), change,
                             lambda f: _async(FindingOut.of(f, day)))

    @post(FINDING + "/verification", operation_id="verifyFinding", status_code=200,
          summary="Verify the rectification (or send it back)",
          description="Customer affairs checks the rectification, with the verifier's name: accepted (rectified → "
                      "verified) or not good enough (back to open, for the company to rectify again). Needs "
                      "`property.write` at the project and If-Match; 409 unless the finding is rectified. Audited.",
          **requires(WRITE_SCOPE, errors=MOVES))
    async def verify(self, request: Request[Any, Any, Any], session: AsyncSession, authz: Authorizer,
                     finding_id: uuid.UUID, data: VerifyIn) -> Response[FindingOut]:
        from app.tenants.bound import today

        day = await today(session)
        return await updated(request, supervision.get_finding(session, authz, finding_id, lock=True),
                             lambda f, path: supervision.verify(session, authz, f, path, data),
                             lambda f: _async(FindingOut.of(f, day)))

    @get("/scorecard", operation_id="getPropertyScorecard", summary="The property companies' scorecard for a period",
         description="The property companies' scorecard for a period (`from` 1 January, `to` today by default; 422 "
                     "when it ends before it starts), over the projects where the caller's roles hold `property.read` "
                     "(`projectId` narrows to one, 404 naming it otherwise): per company, inspections and their "
                     "average score, findings (critical, not yet verified, overdue), coordination records, repairs "
                     "completed and their average rating. Needs property:read and that permission at some node (403 "
                     "otherwise).",
         **requires(READ_SCOPE, errors=[404]))
    async def scorecard(self, session: AsyncSession, authz: Authorizer,
                        period_from: date | None = Parameter(query="from", default=None,
                                                             description="The first day; 1 January when absent."),
                        period_to: date | None = Parameter(query="to", default=None,
                                                           description="The last day; today when absent."),
                        project_id: uuid.UUID | None = Parameter(query="projectId", default=None)) -> Scorecard:
        return await supervision.scorecard(session, authz, period_from, period_to, project_id)


class CommitteeController(Controller):
    path = BASE
    tags = ["Owners' committee"]
    dependencies = DEPENDENCIES

    @get("/committees", operation_id="listCommitteeCases", summary="Owners' committee formation cases",
         dependencies={"page": page_params(*committee.SORT)},
         description="Owners' committee formation cases at or under the nodes where the caller's roles hold "
                     "`property.read`, a page at a time by deadline, each saying whether it is overdue; filter by "
                     "status (preparing, formed, replaced). Needs property:read.",
         **requires(READ_SCOPE))
    async def list_cases(self, session: AsyncSession, authz: Authorizer, page: PageParams,
                         status: CommitteeStatus | None = Parameter(query="status", default=None)
                         ) -> Page[CommitteeOut]:
        return await committee.list_cases(session, authz, page, status=status)

    @post("/committees", operation_id="openCommitteeCase",
          summary="Open a project's committee case (its deadline from the tenant's rule)",
          description="Opens the project's owners' committee case with the sub-district office and the preparation "
                      "group: its deadline follows the tenant's rule (`property.committee_rule`: a share of the units "
                      "delivered, or years after the first delivery, whichever comes first), none before the first "
                      "delivery, with the basis spelled out. Needs `property.write` at the project (404 naming "
                      "`projectId` otherwise); 409 (`duplicate`) when the project has its case already. Accepts "
                      "`Idempotency-Key`. Audited.",
          **requires(WRITE_SCOPE, errors=[404, 409]))
    async def create_case(self, request: Request[Any, Any, Any], session: AsyncSession, authz: Authorizer,
                          data: CommitteeCreate) -> Response[CommitteeOut]:
        return await created(request, session, lambda: committee.create_case(session, authz, data),
                             lambda c: committee.case_out(session, c), lambda c: f"{BASE}/committees/{c.id}")

    @get(CASE, operation_id="getCommitteeCase", summary="A committee case",
         description="One committee case: its status, deadline and basis and whether it is overdue, the sub-district "
                     "office and contact, the preparation group, the milestones reached, the day formed, the elected "
                     "members and the resolutions. The ETag is what If-Match needs for any step. Needs "
                     "`property.read` at the project (404 otherwise).",
         **requires(READ_SCOPE, errors=[404]))
    async def get_case(self, session: AsyncSession, authz: Authorizer, case_id: uuid.UUID) -> Response[CommitteeOut]:
        c, _ = await committee.get_case(session, authz, case_id)
        return with_etag(await committee.case_out(session, c), c.version)

    @post(CASE + "/milestones", operation_id="recordCommitteeMilestone", status_code=200,
          summary="A milestone reached (the filing forms the committee)",
          description="Records a milestone reached on a day (preparatory meeting, owners' general meeting, election, "
                      "filing); the filing forms the committee (preparing → formed). The deadline is worked out "
                      "again. Needs `property.write` at the project and If-Match; 409 once the committee is formed. "
                      "Audited.",
          **requires(WRITE_SCOPE, errors=MOVES))
    async def milestone(self, request: Request[Any, Any, Any], session: AsyncSession, authz: Authorizer,
                        case_id: uuid.UUID, data: MilestoneIn) -> Response[CommitteeOut]:
        return await updated(request, committee.get_case(session, authz, case_id, lock=True),
                             lambda c, path: committee.milestone(session, authz, c, path, data),
                             lambda c: committee.case_out(session, c))

    @post(CASE + "/members", operation_id="addCommitteeMember", status_code=200,
          summary="A member of the elected committee (role, term)",
          description="Records a member of the elected committee: name, role (chair, vice chair, member) and term "
                      "(ending after it starts, 422 otherwise). Needs `property.write` at the project and If-Match; "
                      "409 unless the committee is formed. Audited.",
          **requires(WRITE_SCOPE, errors=MOVES))
    async def member(self, request: Request[Any, Any, Any], session: AsyncSession, authz: Authorizer,
                     case_id: uuid.UUID, data: MemberIn) -> Response[CommitteeOut]:
        return await updated(request, committee.get_case(session, authz, case_id, lock=True),
                             lambda c, path: committee.add_member(session, authz, c, path, data),
                             lambda c: committee.case_out(session, c))

    @post(CASE + "/resolutions", operation_id="addCommitteeResolution", status_code=200,
          summary="A resolution of the committee",
          description="Records a resolution the committee adopted: the day, title and text. Needs `property.write` at "
                      "the project and If-Match; 409 while the committee is still being prepared. Audited.",
          **requires(WRITE_SCOPE, errors=MOVES))
    async def resolution(self, request: Request[Any, Any, Any], session: AsyncSession, authz: Authorizer,
                         case_id: uuid.UUID, data: ResolutionIn) -> Response[CommitteeOut]:
        return await updated(request, committee.get_case(session, authz, case_id, lock=True),
                             lambda c, path: committee.add_resolution(session, authz, c, path, data),
                             lambda c: committee.case_out(session, c))

    @get("/replacements", operation_id="listPropertyReplacements", summary="Replacements of the property company",
         dependencies={"page": page_params("createdAt")},
         description="Replacements of the property company at or under the nodes where the caller's roles hold "
                     "`property.read`, a page at a time and newest first, each with its handover checklist and "
                     "status. Needs property:read.",
         **requires(READ_SCOPE))
    async def list_replacements(self, session: AsyncSession, authz: Authorizer,
                                page: PageParams) -> Page[ReplacementOut]:
        return await committee.list_replacements(session, authz, page)

    @post("/replacements", operation_id="startPropertyReplacement",
          summary="Start handing the estate over to the committee's company (its handover checklist)",
          description="Starts handing the estate over to the company the formed owners' committee chose, effective on "
                      "a day, with its handover checklist (the standard one when absent: documents, facilities, "
                      "funds, keys); it starts as a draft. Needs `property.write` at the project (404 naming "
                      "`projectId` otherwise); 409 without a formed committee, without a commissioned company to "
                      "replace, or while another replacement is under way. Accepts `Idempotency-Key`. Audited.",
          **requires(WRITE_SCOPE, errors=[404, 409]))
    async def create_replacement(self, request: Request[Any, Any, Any], session: AsyncSession, authz: Authorizer,
                                 data: ReplacementCreate) -> Response[ReplacementOut]:
        return await created(request, session, lambda: committee.create_replacement(session, authz, data),
                             lambda r: committee.replacement_out(session, r), lambda r: f"{BASE}/replacements/{r.id}")

    @get(REPLACEMENT, operation_id="getPropertyReplacement", summary="A replacement",
         description="One replacement: the outgoing company, the incoming one and the day it takes effect, each "
                     "checklist item and whether it is done, its status (draft, the approval request's while under "
                     "sign-off, completed) and when completed. The ETag is what If-Match needs for any step. Needs "
                     "`property.read` at the project (404 otherwise).",
         **requires(READ_SCOPE, errors=[404]))
    async def get_replacement(self, session: AsyncSession, authz: Authorizer,
                              replacement_id: uuid.UUID) -> Response[ReplacementOut]:
        r, _ = await committee.get_replacement(session, authz, replacement_id)
        return with_etag(await committee.replacement_out(session, r), r.version)

    @post(REPLACEMENT + "/checklist", operation_id="tickReplacementItem", status_code=200,
          summary="Tick an item of the handover checklist",
          description="Marks an item of the handover checklist (by its index) done or not, with a note. Needs "
                      "`property.write` at the project and If-Match; 409 for an index beyond the checklist, or once "
                      "the replacement is submitted. Audited.",
          **requires(WRITE_SCOPE, errors=MOVES))
    async def tick(self, request: Request[Any, Any, Any], session: AsyncSession, authz: Authorizer,
                   replacement_id: uuid.UUID, data: ReplacementTick) -> Response[ReplacementOut]:
        return await updated(request, committee.get_replacement(session, authz, replacement_id, lock=True),
                             lambda r, path: committee.tick(session, authz, r, path, data),
                             lambda r: committee.replacement_out(session, r))

    @post(REPLACEMENT + "/submit", operation_id="submitPropertyReplacement", status_code=200,
          summary="Submit the completed checklist for sign-off (the approval engine)",
          description="Submits the completed checklist for sign-off through the `property_replacement` chain (the "
                      "customer affairs manager at the branch by default); 409 while an item is not done. Once "
                      "approved, the replacement is completed, the active contract ends, and the project passes to "
                      "the committee: daily property work (coordination, supervision, contracts) refuses new records "
                      "while warranty repairs go on. Rejected or withdrawn, it returns to draft to be corrected. "
                      "Needs `property.write` at the project and If-Match; 409 unless it is a draft. Audited.",
          **requires(WRITE_SCOPE, errors=MOVES))
    async def submit(self, request: Request[Any, Any, Any], session: AsyncSession, authz: Authorizer,
                     replacement_id: uuid.UUID) -> Response[ReplacementOut]:
        return await updated(request, committee.get_replacement(session, authz, replacement_id, lock=True),
                             lambda r, path: committee.submit(session, authz, r, path),
                             lambda r: committee.replacement_out(session, r))


class OwnerController(Controller):
    """The owner's app: their handovers and repairs (records of the units they own)."""

    path = BASE + "/mine"
    tags = ["Warranty repairs"]
    dependencies = DEPENDENCIES

    @get("/handovers", operation_id="listMyHandovers", summary="My handovers",
         description="The handovers of the units the caller owns (through their customer records), by appointment: "
                     "each with its inspection results and the repair orders its defects became. Needs owner:self.",
         **requires("owner:self"))
    async def handovers(self, session: AsyncSession, authz: Authorizer) -> list[HandoverOut]:
        return await handovers.my_handovers(session, authz)

    @get("/handovers/{handover_id:uuid}", operation_id="getMyHandover", summary="A handover of mine",
         description="One of the caller's own handovers with its inspection record. The ETag is what If-Match needs "
                     "to confirm it. Needs owner:self; a handover of anyone else answers 404.",
         **requires("owner:self", errors=[404]))
    async def get_handover(self, session: AsyncSession, authz: Authorizer,
                           handover_id: uuid.UUID) -> Response[HandoverOut]:
        h = await handovers.my_handover(session, authz, handover_id)
        return with_etag(await handovers.handover_out(session, h), h.version)

    @post("/handovers/{handover_id:uuid}/confirmation", operation_id="confirmMyHandover", status_code=200,
          summary="Confirm the inspection record in the app",
          description="The owner confirms the inspection record and its defects in the app (inspected → confirmed): "
                      "each defect becomes a repair order at once, in warranty from today; staff then hand the keys "
                      "over. Needs owner:self and If-Match; 404 for a handover of anyone else; 409 unless the "
                      "handover is inspected. Audited.",
          **requires("owner:self", errors=MOVES))
    async def confirm(self, request: Request[Any, Any, Any], session: AsyncSession, authz: Authorizer,
                      handover_id: uuid.UUID) -> Response[HandoverOut]:
        h = await handovers.my_handover(session, authz, handover_id, lock=True)
        check_if_match(request, h.version)
        h = await handovers.confirm_in_app(session, authz, h)
        return with_etag(await handovers.handover_out(session, h), h.version)

    @get("/repairs", operation_id="listMyRepairs", summary="My repair orders",
         dependencies={"page": page_params(*repairs.SORT)},
         description="The repair orders of the units the caller owns, a page at a time and newest first; filter by "
                     "status. Needs owner:self.",
         **requires("owner:self"))
    async def list_repairs(self, session: AsyncSession, authz: Authorizer, page: PageParams,
                           status: RepairStatus | None = Parameter(query="status", default=None)) -> Page[RepairOut]:
        return await repairs.list_repairs(session, authz, page, project_id=None, status=status, category=None,
                                          extra=repairs.mine(authz))

    @post("/repairs", operation_id="requestMyRepair",
          summary="Ask for a repair of a unit I own (409 out of warranty, naming the expiry)",
          description="The owner asks for a repair of a unit they own (404 naming `unitId` otherwise) in a warranty "
                      "category (422 naming the known ones for another), checked against the warranty counted from "
                      "the unit's handover: 409 before the handover, or out of warranty naming the expiry unless "
                      "`paid` is true and the tenant allows paid work (setting `property.paid_repairs`). Accepts "
                      "`Idempotency-Key`. Audited.",
          **requires("owner:self", errors=[404, 409]))
    async def create_repair(self, request: Request[Any, Any, Any], session: AsyncSession, authz: Authorizer,
                            data: OwnRepairCreate) -> Response[RepairOut]:
        return await created(request, session, lambda: repairs.create_own(session, authz, data),
                             lambda r: _async(RepairOut.of(r)), lambda r: f"{BASE}/mine/repairs/{r.id}")

    @get("/repairs/{repair_id:uuid}", operation_id="getMyRepair", summary="A repair order of mine",
         description="One of the caller's own repair orders: its status, assignee, appointment, work done and "
                     "warranty expiry. The ETag is what If-Match needs to sign it off or send it back. Needs "
                     "owner:self; an order of anyone else answers 404.",
         **requires("owner:self", errors=[404]))
    async def get_repair(self, session: AsyncSession, authz: Authorizer, repair_id: uuid.UUID) -> Response[RepairOut]:
        r = await repairs.my_repair(session, authz, repair_id)
        return with_etag(RepairOut.of(r), r.version)

    @post("/repairs/{repair_id:uuid}/sign-off", operation_id="signOffMyRepair", status_code=200,
          summary="Accept the work and rate it",
          description="The owner accepts the completed work and rates it 1–5, with a comment (completed → signed "
                      "off). Needs owner:self and If-Match; 404 for an order of anyone else; 409 unless the work is "
                      "completed. Audited.",
          **requires("owner:self", errors=MOVES))
    async def sign_off(self, request: Request[Any, Any, Any], session: AsyncSession, authz: Authorizer,
                       repair_id: uuid.UUID, data: SignOffIn) -> Response[RepairOut]:
        r = await repairs.my_repair(session, authz, repair_id, lock=True)
        check_if_match(request, r.version)
        r = await repairs.sign_off(session, r, data)
        return with_etag(RepairOut.of(r), r.version)

    @post("/repairs/{repair_id:uuid}/rejection", operation_id="rejectMyRepairWork", status_code=200,
          summary="Do not accept the work: it goes back to whoever did it",
          description="The owner does not accept the completed work, saying why: the order goes back to whoever did "
                      "it (completed → assigned), its appointment cleared. Needs owner:self and If-Match; 404 for an "
                      "order of anyone else; 409 unless the work is completed. Audited with the comment.",
          **requires("owner:self", errors=MOVES))
    async def reject(self, request: Request[Any, Any, Any], session: AsyncSession, authz: Authorizer,
                     repair_id: uuid.UUID, data: RejectIn) -> Response[RepairOut]:
        r = await repairs.my_repair(session, authz, repair_id, lock=True)
        check_if_match(request, r.version)
        r = await repairs.reject_work(session, r, data.comment)
        return with_etag(RepairOut.of(r), r.version)


class PartnerController(Controller):
    """The property company's client: repair orders assigned to it, its side of the coordination
    log, findings to rectify — of the projects it is commissioned for, and nothing else."""

    path = BASE + "/partner"
    tags = ["Property companies"]
    dependencies = DEPENDENCIES

    @get("/repairs", operation_id="listPartnerRepairs", summary="Repair orders assigned to the company",
         dependencies={"page": page_params(*repairs.SORT)},
         description="For the property company's client: the repair orders assigned to the company in the projects of "
                     "its active contracts, a page at a time and newest first; filter by status. A caller not bound "
                     "to an active company sees none. Needs property:partner.",
         **requires(PARTNER_SCOPE, errors=[403]))
    async def list_repairs(self, session: AsyncSession, authz: Authorizer, page: PageParams,
                           status: RepairStatus | None = Parameter(query="status", default=None)) -> Page[RepairOut]:
        company = await companies.partner(session, authz)
        return await repairs.list_repairs(session, authz, page, project_id=None, status=status, category=None,
                                          extra=repairs.assigned_to(company))

    @get("/repairs/{repair_id:uuid}", operation_id="getPartnerRepair", summary="A repair order assigned to the company",
         description="One repair order assigned to the calling company in a project of its active contracts (404 for "
                     "any other). The ETag is what If-Match needs to schedule or complete it. Needs property:partner.",
         **requires(PARTNER_SCOPE, errors=[403, 404]))
    async def get_repair(self, session: AsyncSession, authz: Authorizer, repair_id: uuid.UUID) -> Response[RepairOut]:
        r = await repairs.partner_repair(session, await companies.partner(session, authz), repair_id)
        return with_etag(RepairOut.of(r), r.version)

    @post("/repairs/{repair_id:uuid}/appointment", operation_id="schedulePartnerRepair", status_code=200,
          summary="Record the appointment with the owner",
          description="The company records (or moves) the appointment agreed with the owner. Needs property:partner "
                      "and If-Match; 404 for an order not assigned to the company in a project of its active "
                      "contracts; 409 unless the order is assigned or scheduled. Audited.",
          **requires(PARTNER_SCOPE, errors=[403, *MOVES]))
    async def schedule(self, request: Request[Any, Any, Any], session: AsyncSession, authz: Authorizer,
                       repair_id: uuid.UUID, data: AppointmentIn) -> Response[RepairOut]:
        r = await repairs.partner_repair(session, await companies.partner(session, authz), repair_id, lock=True)
        check_if_match(request, r.version)
        r = await repairs.schedule(session, r, data)
        return with_etag(RepairOut.of(r), r.version)

    @post("/repairs/{repair_id:uuid}/completion", operation_id="completePartnerRepair", status_code=200,
          summary="Record the work done",
          description="The company records the work done and its cost (assigned or scheduled → completed); the owner "
                      "then signs it off or sends it back in the app. Needs property:partner and If-Match; 404 for an "
                      "order not assigned to the company in a project of its active contracts; 409 unless assigned or "
                      "scheduled. Audited.",
          **requires(PARTNER_SCOPE, errors=[403, *MOVES]))
    async def complete(self, request: Request[Any, Any, Any], session: AsyncSession, authz: Authorizer,
                       repair_id: uuid.UUID, data: CompletionIn) -> Response[RepairOut]:
        r = await repairs.partner_repair(session, await companies.partner(session, authz), repair_id, lock=True)
        check_if_match(request, r.version)
        r = await repairs.complete(session, r, data)
        return with_etag(RepairOut.of(r), r.version)

    @get("/coordination", operation_id="listPartnerCoordination", summary="The coordination log of its projects",
         dependencies={"page": page_params(*coordination.SORT)},
         description="For the property company's client: the coordination log of the projects of its active "
                     "contracts, both sides' records, latest held first, with their action items. A caller not bound "
                     "to an active company sees none. Needs property:partner.",
         **requires(PARTNER_SCOPE, errors=[403]))
    async def list_entries(self, session: AsyncSession, authz: Authorizer, page: PageParams) -> Page[LogEntryOut]:
        company = await companies.partner(session, authz)
        return await coordination.list_entries(session, None, page, project_id=None, company=company)

    @post("/coordination", operation_id="recordPartnerCoordination", summary="Record the company's side",
          description="The company records its side of a coordination in a project of its active contracts (404 "
                      "naming `projectId` otherwise), once it took place (422 for a day to come), with its action "
                      "items. 409 once the owners' committee's company took over. Needs property:partner. Accepts "
                      "`Idempotency-Key`. Audited.",
          **requires(PARTNER_SCOPE, errors=[403, 404, 409]))
    async def create_entry(self, request: Request[Any, Any, Any], session: AsyncSession, authz: Authorizer,
                           data: EntryCreate) -> Response[LogEntryOut]:
        async def make() -> Any:
            company = await companies.partner(session, authz)
            project = await companies.partner_project(session, company, data.project_id)
            assert company is not None  # a project was found for it
            return await coordination.create_partner_entry(session, company, project, data)

        return await created(request, session, make, lambda e: coordination.entry_out(session, e),
                             lambda e: f"{BASE}/partner/coordination/{e.id}")

    @get("/coordination/{entry_id:uuid}", operation_id="getPartnerCoordination",
         summary="A coordination record of its projects",
         description="One coordination record of a project of the calling company's active contracts, with its action "
                     "items (404 for any other). Needs property:partner.",
         **requires(PARTNER_SCOPE, errors=[403, 404]))
    async def get_entry(self, session: AsyncSession, authz: Authorizer, entry_id: uuid.UUID) -> Response[LogEntryOut]:
        e = await coordination.partner_entry(session, await companies.partner(session, authz), entry_id)
        return with_etag(await coordination.entry_out(session, e), e.version)

    @patch("/coordination/actions/{action_id:uuid}", operation_id="followUpPartnerAction",
           summary="Follow an action item up",
           description="The company follows an action item of its projects up: done (dated today) or open again, with "
                       "a follow-up note. Needs property:partner and If-Match; 404 for an item outside the projects "
                       "of its active contracts. Audited.",
           **requires(PARTNER_SCOPE, errors=[403, 404, 412, 428]))
    async def update_action(self, request: Request[Any, Any, Any], session: AsyncSession, authz: Authorizer,
                            action_id: uuid.UUID, data: ActionUpdate) -> Response[LogActionOut]:
        from app.tenants.bound import today

        a = await coordination.partner_action(session, await companies.partner(session, authz), action_id)
        check_if_match(request, a.version)
        a = await coordination.follow_up(session, a, data)
        return with_etag(LogActionOut.of(a, await today(session)), a.version)

    @post("/complaints", operation_id="forwardPartnerComplaint",
          summary="Forward an owner's complaint into the complaint register",
          description="The company forwards an owner's complaint it received into the complaint register (channel "
                      "`property_company`) at a project of its active contracts (404 naming `projectId` otherwise), "
                      "in a complaint category (`PROPERTY` by default, 422 for an unknown code): customer affairs "
                      "works it from there and its SLA clocks start. Answers the complaint's id, number and status. "
                      "Needs property:partner. Accepts `Idempotency-Key`. Audited.",
          **requires(PARTNER_SCOPE, errors=[404]))
    async def forward(self, request: Request[Any, Any, Any], session: AsyncSession, authz: Authorizer,
                      data: ForwardedComplaint) -> Response[ForwardedOut]:
        from app.core.idempotency import idempotent

        async def produce() -> Response[ForwardedOut]:
            out = await companies.forward_complaint(session, await companies.partner(session, authz), data)
            return Response(out, status_code=201)

        return await idempotent(request, session, produce)

    @get("/findings", operation_id="listPartnerFindings", summary="Inspection findings of its projects",
         dependencies={"page": page_params(*supervision.FINDING_SORT)},
         description="For the property company's client: the inspection findings in the projects of its active "
                     "contracts, a page at a time by rectification deadline; filter by status. A caller not bound to "
                     "an active company sees none. Needs property:partner.",
         **requires(PARTNER_SCOPE, errors=[403]))
    async def list_findings(self, session: AsyncSession, authz: Authorizer, page: PageParams,
                            status: FindingStatus | None = Parameter(query="status", default=None)
                            ) -> Page[FindingOut]:
        company = await companies.partner(session, authz)
        return await supervision.list_findings(session, None, page, project_id=None, status=status, company=company)

    @post("/findings/{finding_id:uuid}/rectification", operation_id="rectifyPartnerFinding", status_code=200,
          summary="Record the rectification of a finding",
          description="The company records what it did about a finding in one of its projects (open → rectified); "
                      "customer affairs then verifies it. Needs property:partner and If-Match; 404 for a finding "
                      "outside the projects of its active contracts; 409 unless the finding is open. Audited.",
          **requires(PARTNER_SCOPE, errors=[403, *MOVES]))
    async def rectify(self, request: Request[Any, Any, Any], session: AsyncSession, authz: Authorizer,
                      finding_id: uuid.UUID, data: RectifyIn) -> Response[FindingOut]:
        from app.tenants.bound import today

        f = await supervision.partner_finding(session, await companies.partner(session, authz), finding_id)
        check_if_match(request, f.version)
        f = await supervision.rectify(session, f, data)
        return with_etag(FindingOut.of(f, await today(session)), f.version)


CONTROLLERS: list[Any] = [CoordinationController, SupervisionController, CommitteeController, OwnerController,
                          PartnerController]
ROUTES: list[Any] = [*property_controllers.CONTROLLERS, *CONTROLLERS]
