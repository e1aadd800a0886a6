"""HTTP for handovers, warranty repairs, property companies and the project's settings:
translate requests to service calls, nothing more."""

from __future__ import annotations

import uuid
from typing import Any

from litestar import Controller, Request, Response, get, patch, post, put
from litestar.di import Provide
from litestar.params import Parameter
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.scopes import requires
from app.core.deps import provide_tenant_session
from app.core.etag import etag
from app.core.idempotency import idempotent
from app.core.pagination import PageParams, page_params
from app.core.schemas import Page
from app.core.writes import created, updated, with_etag
from app.domains.access.authz import Authorizer, provide_authz
from app.domains.property import companies, handovers, photos, repairs
from app.domains.property.models import ChecklistKind, CompanyStatus, ContractStatus, HandoverStatus, RepairStatus
from app.domains.property.schemas import (
    AppointmentIn,
    AssignIn,
    CancelIn,
    ChecklistOut,
    ChecklistUpdate,
    ClientBinding,
    CompanyCreate,
    CompanyOut,
    CompanyUpdate,
    CompletionIn,
    ContractCreate,
    ContractEndIn,
    ContractOut,
    HandoverConfirmIn,
    HandoverCreate,
    HandOverIn,
    HandoverOut,
    InspectionIn,
    MoveInRate,
    PhotoIn,
    PhotoOut,
    PhotoUpload,
    ProjectSettingsIn,
    ProjectStateOut,
    RepairCreate,
    RepairOut,
    RepeatedPage,
    WarrantyPeriodIn,
    WarrantyPeriodOut,
    WarrantyPeriodUpdate,
)
from app.storage import ObjectStore
from app.storage.uploads import DownloadOut

BASE = "/api/v1/property"
DEPENDENCIES = {"session": Provide(provide_tenant_session), "authz": Provide(provide_authz)}
MOVES = [404, 409, 412, 428]
READ_SCOPE, WRITE_SCOPE = "property:read", "property:write"
HANDOVER = "/handovers/{handover_id:uuid}"
REPAIR = "/repairs/{repair_id:uuid}"
COMPANY = "/companies/{company_id:uuid}"
CONTRACT = "/contracts/{contract_id:uuid}"
PROJECT = "/projects/{project_id:uuid}"


class SettingsController(Controller):
    path = BASE
    tags = ["Handover"]
    dependencies = DEPENDENCIES

    @get("/checklists", operation_id="listPropertyChecklists",
         summary="The tenant's handover and supervision checklists",
         description="The tenant's checklists, by kind and code: those a handover inspection runs through and those "
                     "of routine supervision of the property company, each with its items; filter by kind. Needs "
                     "property:read and `property.read` at some node (403 otherwise).",
         **requires(READ_SCOPE))
    async def list_checklists(self, session: AsyncSession, authz: Authorizer,
                              kind: ChecklistKind | None = Parameter(query="kind", default=None)) -> list[ChecklistOut]:
        return await handovers.list_checklists(session, authz, kind)

    @get("/checklists/{checklist_id:uuid}", operation_id="getPropertyChecklist", summary="A checklist",
         description="One checklist with its items (code and label). The ETag is what If-Match needs to change it. "
                     "Needs property:read and `property.read` at some node (403 otherwise); 404 for no such "
                     "checklist.",
         **requires(READ_SCOPE, errors=[404]))
    async def get_checklist(self, session: AsyncSession, authz: Authorizer,
                            checklist_id: uuid.UUID) -> Response[ChecklistOut]:
        c, _ = await handovers.get_checklist(session, authz, checklist_id)
        return with_etag(ChecklistOut.of(c), c.version)

    @put("/checklists/{checklist_id:uuid}", operation_id="updatePropertyChecklist",
         summary="Change a checklist's items (property.configure at the group node)",
         description="Replaces a checklist's name and items (codes must differ, 422 otherwise). Handovers and "
                     "inspections already made keep the items they were made with. Needs `property.configure` at the "
                     "group node (403 otherwise) and If-Match. Audited.",
         **requires(WRITE_SCOPE, errors=[404, 412, 428]))
    async def update_checklist(self, request: Request[Any, Any, Any], session: AsyncSession, authz: Authorizer,
                               checklist_id: uuid.UUID, data: ChecklistUpdate) -> Response[ChecklistOut]:
        return await updated(request, handovers.get_checklist(session, authz, checklist_id, lock=True),
                             lambda c, _: handovers.update_checklist(session, authz, c, data),
                             lambda c: _async(ChecklistOut.of(c)))

    @get(PROJECT, operation_id="getPropertyProject",
         summary="A project's property management: phase, first move-in, cadence and when coordination is due",
         description="A project's property-management state: its phase (the developer's property company, or the "
                     "owners' committee's company since it took over), the first move-in, the coordination cadence "
                     "and the staff member responsible, the last coordination and when the next one is due (and when "
                     "one was missed). Needs `property.read` at the project; 404 otherwise, and for a project with no "
                     "home handed over nor settings yet.",
         **requires(READ_SCOPE, errors=[404]))
    async def get_project(self, session: AsyncSession, authz: Authorizer,
                          project_id: uuid.UUID) -> Response[ProjectStateOut]:
        out = await companies.project_state(session, authz, project_id)
        return with_etag(out, out.version)

    @patch(PROJECT, operation_id="updatePropertyProject",
           summary="Set a project's coordination cadence and responsible staff (property.configure)",
           description="Sets the project's coordination cadence (at least every `earlyDays` for `earlyMonths` after "
                       "the first move-in, then every `laterDays`; the early one no less frequent, 422 otherwise) and "
                       "the staff member told when a coordination is missed (an active staff account, 404 naming "
                       "`responsibleAccountId` for no such account; null: nobody). Needs `property.configure` at the "
                       "project (`property.read` there to find it, 404 otherwise) and If-Match. Audited.",
           **requires(WRITE_SCOPE, errors=[404, 412, 428]))
    async def update_project(self, request: Request[Any, Any, Any], session: AsyncSession, authz: Authorizer,
                             project_id: uuid.UUID, data: ProjectSettingsIn) -> Response[ProjectStateOut]:
        return await updated(request, companies.lock_state(session, authz, project_id),
                             lambda s, path: companies.update_state(session, authz, s, path, data),
                             lambda s: companies.state_out(session, s))

    @get("/move-in-rates", operation_id="listMoveInRates",
         summary="Move-in rates: units handed over per project (one project with projectId)",
         description="Move-in rates: per project, its units, how many are handed over and the rate in percent, the "
                     "first move-in and the project's handover date. With `projectId` that project alone (404 naming "
                     "it when the caller cannot see it), otherwise every project with units under the nodes where the "
                     "caller's roles hold `property.read`. Needs property:read.",
         **requires(READ_SCOPE, errors=[404]))
    async def move_in_rates(self, session: AsyncSession, authz: Authorizer,
                            project_id: uuid.UUID | None = Parameter(query="projectId", default=None)
                            ) -> list[MoveInRate]:
        return await handovers.move_in_rates(session, authz, project_id)


async def _async(value: Any) -> Any:
    return value


class HandoverController(Controller):
    path = BASE + "/handovers"
    tags = ["Handover"]
    dependencies = DEPENDENCIES

    @get("/", operation_id="listHandovers", summary="List handovers",
         dependencies={"page": page_params(*handovers.SORT)},
         description="Handovers at or under the nodes where the caller's roles hold `property.read`, a page at a time "
                     "by appointment: filter by project or status. Each carries its inspection results and the repair "
                     "orders its defects became. Needs property:read.",
         **requires(READ_SCOPE))
    async def list_handovers(self, session: AsyncSession, authz: Authorizer, page: PageParams,
                             project_id: uuid.UUID | None = Parameter(query="projectId", default=None),
                             status: HandoverStatus | None = Parameter(query="status", default=None)
                             ) -> Page[HandoverOut]:
        return await handovers.list_handovers(session, authz, page, project_id=project_id, status=status)

    @post("/", operation_id="createHandover", summary="Make a handover appointment for a unit",
          description="Makes the handover appointment of a unit not yet handed over, for one of its owners "
                      "(`customerId`, the primary owner when absent; 422 naming it for someone who does not own the "
                      "unit), against a handover checklist (the tenant's standard one when absent, 404 naming "
                      "`checklistId` for no such checklist). Needs `property.write` at the unit's project (404 naming "
                      "`unitId` when the caller cannot see it); 409 when the unit is handed over or has a handover "
                      "under way. Accepts `Idempotency-Key`. Audited.",
          **requires(WRITE_SCOPE, errors=[404, 409]))
    async def create_handover(self, request: Request[Any, Any, Any], session: AsyncSession, authz: Authorizer,
                              data: HandoverCreate) -> Response[HandoverOut]:
        return await created(request, session, lambda: handovers.create_handover(session, authz, data),
                             lambda h: handovers.handover_out(session, h), lambda h: f"{BASE}/handovers/{h.id}")

    @get("/{handover_id:uuid}", operation_id="getHandover", summary="A handover with its inspection record",
         description="One handover: the unit, owner and appointment, the inspection result of each checklist item "
                     "(defects with their note and warranty category), how and by whom it was confirmed, the keys "
                     "handed and the repair orders opened from its defects. The ETag is what If-Match needs for any "
                     "step. Needs `property.read` at its project (404 otherwise).",
         **requires(READ_SCOPE, errors=[404]))
    async def get_handover(self, session: AsyncSession, authz: Authorizer,
                           handover_id: uuid.UUID) -> Response[HandoverOut]:
        h, _ = await handovers.get_handover(session, authz, handover_id)
        return with_etag(await handovers.handover_out(session, h), h.version)

    @post("/{handover_id:uuid}/inspection", operation_id="inspectHandover", status_code=200,
          summary="Record the inspection against the checklist (defects with a note)",
          description="Records the inspection: a result for every item of the checklist (422 naming each missing or "
                      "unknown item), a defect with a note saying what is wrong and its warranty category (decoration "
                      "when absent), and the inspector. Inspecting again replaces the results. Needs `property.write` "
                      "at the project and If-Match; 409 unless the handover is scheduled or inspected. Audited.",
          **requires(WRITE_SCOPE, errors=MOVES))
    async def inspect(self, request: Request[Any, Any, Any], session: AsyncSession, authz: Authorizer,
                      handover_id: uuid.UUID, data: InspectionIn) -> Response[HandoverOut]:
        return await updated(request, handovers.get_handover(session, authz, handover_id, lock=True),
                             lambda h, path: handovers.inspect(session, authz, h, path, data),
                             lambda h: handovers.handover_out(session, h))

    @post("/{handover_id:uuid}/confirmation", operation_id="confirmHandoverBySignature", status_code=200,
          summary="The owner signed the inspection record; its defects become repair orders",
          description="The owner signed the inspection record, captured by staff with the signer's name (inspected → "
                      "confirmed); the owner may instead confirm in the app. Each defect becomes a repair order at "
                      "once, in warranty from today. Needs `property.write` at the project and If-Match; 409 unless "
                      "the handover is inspected. Audited, each repair order too.",
          **requires(WRITE_SCOPE, errors=MOVES))
    async def confirm(self, request: Request[Any, Any, Any], session: AsyncSession, authz: Authorizer,
                      handover_id: uuid.UUID, data: HandoverConfirmIn) -> Response[HandoverOut]:
        return await updated(request, handovers.get_handover(session, authz, handover_id, lock=True),
                             lambda h, path: handovers.confirm_by_signature(session, authz, h, path, data),
                             lambda h: handovers.handover_out(session, h))

    @post("/{handover_id:uuid}/keys", operation_id="handOverKeys", status_code=200,
          summary="Hand the keys over: the unit is handed over (and the project, with its first home)",
          description="Hands the keys over (confirmed → handed over), with how many and a note: the unit is handed "
                      "over, and the first home of a project sets its handover date (from which customer affairs "
                      "answers for the project) and its first move-in, from which coordination is due; the caller "
                      "becomes the project's responsible staff member if none is named. Needs `property.write` at the "
                      "project and If-Match; 409 until the owner confirmed the inspection record. Audited.",
          **requires(WRITE_SCOPE, errors=MOVES))
    async def keys(self, request: Request[Any, Any, Any], session: AsyncSession, authz: Authorizer,
                   handover_id: uuid.UUID, data: HandOverIn) -> Response[HandoverOut]:
        return await updated(request, handovers.get_handover(session, authz, handover_id, lock=True),
                             lambda h, path: handovers.hand_over(session, authz, h, path, data),
                             lambda h: handovers.handover_out(session, h))

    @post("/{handover_id:uuid}/cancel", operation_id="cancelHandover", status_code=200,
          summary="Cancel a handover not completed",
          description="Cancels a handover not completed (scheduled, inspected or confirmed), with the reason kept as "
                      "its note; the unit may then get a new appointment. Needs `property.write` at the project and "
                      "If-Match; 409 once handed over or cancelled. Audited with the reason.",
          **requires(WRITE_SCOPE, errors=MOVES))
    async def cancel(self, request: Request[Any, Any, Any], session: AsyncSession, authz: Authorizer,
                     handover_id: uuid.UUID, data: CancelIn) -> Response[HandoverOut]:
        return await updated(request, handovers.get_handover(session, authz, handover_id, lock=True),
                             lambda h, path: handovers.cancel(session, authz, h, path, data),
                             lambda h: handovers.handover_out(session, h))


class WarrantyController(Controller):
    path = BASE
    tags = ["Warranty repairs"]
    dependencies = DEPENDENCIES

    @get("/warranty-periods", operation_id="listWarrantyPeriods",
         summary="Warranty periods (for a project: those that apply there)",
         description="Warranty periods by category: the group's and the projects' own the caller may see; with "
                     "`projectId`, the periods that apply there (its own where it has one, else the group's). Needs "
                     "property:read and `property.read` at some node (403 otherwise).",
         **requires(READ_SCOPE))
    async def list_periods(self, session: AsyncSession, authz: Authorizer,
                           project_id: uuid.UUID | None = Parameter(query="projectId", default=None)
                           ) -> list[WarrantyPeriodOut]:
        return await repairs.list_periods(session, authz, project_id)

    @post("/warranty-periods", operation_id="createWarrantyPeriod",
          summary="Add a warranty period (the group's, or a project's own)",
          description="Adds a warranty period for a category of defect (months from the handover, and its basis): a "
                      "project's own with `projectId` (needs `property.configure` at the project, 404 naming it "
                      "otherwise), else the group's (needs `property.configure` at the group). 409 (`duplicate`) when "
                      "that node has a period for the category already. Accepts `Idempotency-Key`. Audited.",
          **requires(WRITE_SCOPE, errors=[404, 409]))
    async def create_period(self, request: Request[Any, Any, Any], session: AsyncSession, authz: Authorizer,
                            data: WarrantyPeriodIn) -> Response[WarrantyPeriodOut]:
        return await created(request, session, lambda: repairs.create_period(session, authz, data),
                             lambda p: _async(WarrantyPeriodOut.of(p)), lambda p: f"{BASE}/warranty-periods/{p.id}")

    @get("/warranty-periods/{period_id:uuid}", operation_id="getWarrantyPeriod", summary="A warranty period",
         description="One warranty period: its category, name, months and basis, and whether it is the group's or a "
                     "project's own. The ETag is what If-Match needs to change it. Needs `property.read` at its node "
                     "(the group or the project; 404 otherwise).",
         **requires(READ_SCOPE, errors=[404]))
    async def get_period(self, session: AsyncSession, authz: Authorizer,
                         period_id: uuid.UUID) -> Response[WarrantyPeriodOut]:
        p, _ = await repairs.get_period(session, authz, period_id)
        return with_etag(WarrantyPeriodOut.of(p), p.version)

    @patch("/warranty-periods/{period_id:uuid}", operation_id="updateWarrantyPeriod",
           summary="Change a warranty period (orders opened keep their expiry)",
           description="Changes a warranty period's name, months or basis; repair orders already opened keep the "
                       "expiry they were checked against, new ones use the new period. Needs `property.configure` at "
                       "its node and If-Match. Audited.",
           **requires(WRITE_SCOPE, errors=[404, 412, 428]))
    async def update_period(self, request: Request[Any, Any, Any], session: AsyncSession, authz: Authorizer,
                            period_id: uuid.UUID, data: WarrantyPeriodUpdate) -> Response[WarrantyPeriodOut]:
        return await updated(request, repairs.get_period(session, authz, period_id, lock=True),
                             lambda p, path: repairs.update_period(session, authz, p, path, data),
                             lambda p: _async(WarrantyPeriodOut.of(p)))

    @get("/repairs", operation_id="listRepairOrders", summary="List repair orders",
         dependencies={"page": page_params(*repairs.SORT)},
         description="Repair orders at or under the nodes where the caller's roles hold `property.read`, a page at a "
                     "time and newest first: filter by project, status, warranty category or the property company "
                     "assigned. Needs property:read.",
         **requires(READ_SCOPE))
    async def list_repairs(self, session: AsyncSession, authz: Authorizer, page: PageParams,
                           project_id: uuid.UUID | None = Parameter(query="projectId", default=None),
                           status: RepairStatus | None = Parameter(query="status", default=None),
                           category: str | None = Parameter(query="category", default=None, max_length=40),
                           company_id: uuid.UUID | None = Parameter(query="companyId", default=None)
                           ) -> Page[RepairOut]:
        return await repairs.list_repairs(session, authz, page, project_id=project_id, status=status,
                                          category=category, company_id=company_id)

    @post("/repairs", operation_id="createRepairOrder",
          summary="Open a repair order (checked against the warranty from the unit's handover)",
          description="Out of warranty: 409 naming the expiry date, unless `paid` is true and the tenant allows paid "
                      "work (setting `property.paid_repairs`).", **requires(WRITE_SCOPE, errors=[404, 409]))
    async def create_repair(self, request: Request[Any, Any, Any], session: AsyncSession, authz: Authorizer,
                            data: RepairCreate) -> Response[RepairOut]:
        return await created(request, session, lambda: repairs.create_repair(session, authz, data),
                             lambda r: _async(RepairOut.of(r)), lambda r: f"{BASE}/repairs/{r.id}")

    @get("/repairs/repeated", operation_id="listRepeatedDefects",
         summary="Repeated defects: repair orders per building and category",
         description="Defects that keep coming back: repair orders (cancelled ones aside) counted per building and "
                     "warranty category, those with at least `atLeast` (2) orders, most first; `projectId` narrows to "
                     "one project. Over the projects where the caller's roles hold `property.read`; needs "
                     "property:read and that permission at some node (403 otherwise).",
         **requires(READ_SCOPE, errors=[404]))
    async def repeated(self, session: AsyncSession, authz: Authorizer,
                       project_id: uuid.UUID | None = Parameter(query="projectId", default=None),
                       at_least: int = Parameter(query="atLeast", default=2, ge=1, le=1000)) -> RepeatedPage:
        return await repairs.repeated(session, authz, project_id, at_least)

    @get(REPAIR, operation_id="getRepairOrder", summary="A repair order",
         description="One repair order: the unit, owner, source (owner's app, complaint, handover or inspection), "
                     "category and description, the warranty's expiry and whether it is paid work, who it is assigned "
                     "to, the appointment, the work done and its cost, and the owner's sign-off and rating. The ETag "
                     "is what If-Match needs for any step. Needs `property.read` at its project (404 otherwise).",
         **requires(READ_SCOPE, errors=[404]))
    async def get_repair(self, session: AsyncSession, authz: Authorizer, repair_id: uuid.UUID) -> Response[RepairOut]:
        r, _ = await repairs.get_repair(session, authz, repair_id)
        return with_etag(RepairOut.of(r), r.version)

    @post(REPAIR + "/assign", operation_id="assignRepairOrder", status_code=200,
          summary="Assign to the property company or a contractor",
          description="Assigns the order to the property company (an active one, 404 naming `companyId` otherwise) or "
                      "to a named contractor (no `companyId` then), or reassigns it: any appointment made is cleared. "
                      "A company's client then sees the order through the partner routes while its contract for the "
                      "project is active. Needs `property.write` at the project and If-Match; 409 once completed, "
                      "signed off or cancelled. Audited.",
          **requires(WRITE_SCOPE, errors=MOVES))
    async def assign(self, request: Request[Any, Any, Any], session: AsyncSession, authz: Authorizer,
                     repair_id: uuid.UUID, data: AssignIn) -> Response[RepairOut]:
        return await updated(request, repairs.get_repair(session, authz, repair_id, lock=True),
                             lambda r, path: repairs.assign(session, authz, r, path, data),
                             lambda r: _async(RepairOut.of(r)))

    @post(REPAIR + "/appointment", operation_id="scheduleRepairOrder", status_code=200,
          summary="Record the appointment with the owner",
          description="Records (or moves) the appointment agreed with the owner. Needs `property.write` at the "
                      "project and If-Match; 409 unless the order is assigned or scheduled. Audited.",
          **requires(WRITE_SCOPE, errors=MOVES))
    async def schedule(self, request: Request[Any, Any, Any], session: AsyncSession, authz: Authorizer,
                       repair_id: uuid.UUID, data: AppointmentIn) -> Response[RepairOut]:
        async def change(r: Any, path: str) -> Any:
            authz.require("property.write", path)
            return await repairs.schedule(session, r, data)

        return await updated(request, repairs.get_repair(session, authz, repair_id, lock=True), change,
                             lambda r: _async(RepairOut.of(r)))

    @post(REPAIR + "/completion", operation_id="completeRepairOrder", status_code=200,
          summary="Record the work done and its cost",
          description="Records the work done and its cost (assigned or scheduled → completed); the owner then signs "
                      "it off and rates it, or sends it back, in the app. Needs `property.write` at the project and "
                      "If-Match; 409 unless the order is assigned or scheduled. Audited.",
          **requires(WRITE_SCOPE, errors=MOVES))
    async def complete(self, request: Request[Any, Any, Any], session: AsyncSession, authz: Authorizer,
                       repair_id: uuid.UUID, data: CompletionIn) -> Response[RepairOut]:
        async def change(r: Any, path: str) -> Any:
            authz.require("property.write", path)
            return await repairs.complete(session, r, data)

        return await updated(request, repairs.get_repair(session, authz, repair_id, lock=True), change,
                             lambda r: _async(RepairOut.of(r)))

    @post(REPAIR + "/cancel", operation_id="cancelRepairOrder", status_code=200, summary="Cancel a repair order",
          description="Cancels an order not yet completed (open, assigned or scheduled), with the reason. Needs "
                      "`property.write` at the project and If-Match; 409 once completed, signed off or cancelled. "
                      "Audited with the reason.",
          **requires(WRITE_SCOPE, errors=MOVES))
    async def cancel(self, request: Request[Any, Any, Any], session: AsyncSession, authz: Authorizer,
                     repair_id: uuid.UUID, data: CancelIn) -> Response[RepairOut]:
        return await updated(request, repairs.get_repair(session, authz, repair_id, lock=True),
                             lambda r, path: repairs.cancel(session, authz, r, path, data.reason),
                             lambda r: _async(RepairOut.of(r)))


class CompanyController(Controller):
    path = BASE
    tags = ["Property companies"]
    dependencies = DEPENDENCIES

    @get("/companies", operation_id="listPropertyCompanies", summary="List property companies",
         dependencies={"page": page_params(*companies.SORT)},
         description="Property companies registered at or under the nodes where the caller's roles hold "
                     "`property.read`, a page at a time by name; filter by status (active, inactive). Needs "
                     "property:read.",
         **requires(READ_SCOPE))
    async def list_companies(self, session: AsyncSession, authz: Authorizer, page: PageParams,
                             status: CompanyStatus | None = Parameter(query="status", default=None)
                             ) -> Page[CompanyOut]:
        return await companies.list_companies(session, authz, page, status=status)

    @post("/companies", operation_id="createPropertyCompany", summary="Register a property company",
          description="Registers a property company (name, credit code, contact) at the group or a branch (`nodeId`, "
                      "the group when absent); it starts active. Needs `property.write` at that node (404 naming "
                      "`nodeId` when the caller cannot see it). Accepts `Idempotency-Key`. Audited.",
          **requires(WRITE_SCOPE, errors=[404]))
    async def create_company(self, request: Request[Any, Any, Any], session: AsyncSession, authz: Authorizer,
                             data: CompanyCreate) -> Response[CompanyOut]:
        return await created(request, session, lambda: companies.create_company(session, authz, data),
                             lambda c: _async(CompanyOut.of(c)), lambda c: f"{BASE}/companies/{c.id}")

    @get(COMPANY, operation_id="getPropertyCompany", summary="A property company",
         description="One property company: its details, status and the OAuth client it is bound to. The ETag is what "
                     "If-Match needs to change it or bind its client. Needs `property.read` at its node (404 "
                     "otherwise).",
         **requires(READ_SCOPE, errors=[404]))
    async def get_company(self, session: AsyncSession, authz: Authorizer,
                          company_id: uuid.UUID) -> Response[CompanyOut]:
        c, _ = await companies.get_company(session, authz, company_id)
        return with_etag(CompanyOut.of(c), c.version)

    @patch(COMPANY, operation_id="updatePropertyCompany", summary="Change a property company's details or status",
           description="Changes a company's name, contact or status: an inactive company is offered no new contract "
                       "or repair order, and its client reaches nothing. Needs `property.write` at its node and "
                       "If-Match. Audited.",
           **requires(WRITE_SCOPE, errors=[404, 412, 428]))
    async def update_company(self, request: Request[Any, Any, Any], session: AsyncSession, authz: Authorizer,
                             company_id: uuid.UUID, data: CompanyUpdate) -> Response[CompanyOut]:
        return await updated(request, companies.get_company(session, authz, company_id, lock=True),
                             lambda c, path: companies.update_company(session, authz, c, path, data),
                             lambda c: _async(CompanyOut.of(c)))

    @put(COMPANY + "/client", operation_id="bindPropertyCompanyClient",
         summary="Bind the company to its OAuth client (scope property:partner only)",
         description="Binds the company to an active OAuth client of this group (null unbinds it) through which it "
                     "works its side: repair orders assigned to it, its side of the coordination log, complaints it "
                     "forwards, in the projects of its active contracts only. 404 naming `clientId` for no such "
                     "client; 422 unless the client's only scope is `property:partner` with client credentials; 409 "
                     "(`duplicate`) when another company has it. Needs `property.write` at the company's node and "
                     "If-Match. Audited.",
         **requires(WRITE_SCOPE, errors=[404, 409, 412, 428]))
    async def bind_client(self, request: Request[Any, Any, Any], session: AsyncSession, authz: Authorizer,
                          company_id: uuid.UUID, data: ClientBinding) -> Response[CompanyOut]:
        return await updated(request, companies.get_company(session, authz, company_id, lock=True),
                             lambda c, path: companies.bind_client(session, authz, c, path, data),
                             lambda c: _async(CompanyOut.of(c)))

    @get("/contracts", operation_id="listPropertyContracts", summary="List property-management contracts",
         dependencies={"page": page_params(*companies.CONTRACT_SORT)},
         description="Property-management contracts at or under the nodes where the caller's roles hold "
                     "`property.read`, a page at a time, latest starting first: filter by project, company or status "
                     "(active, ended). Needs property:read.",
         **requires(READ_SCOPE))
    async def list_contracts(self, session: AsyncSession, authz: Authorizer, page: PageParams,
                             project_id: uuid.UUID | None = Parameter(query="projectId", default=None),
                             company_id: uuid.UUID | None = Parameter(query="companyId", default=None),
                             status: ContractStatus | None = Parameter(query="status", default=None)
                             ) -> Page[ContractOut]:
        return await companies.list_contracts(session, authz, page, project_id=project_id, company_id=company_id,
                                              status=status)

    @post("/contracts", operation_id="createPropertyContract",
          summary="Commission a company for a project (one active contract per project)",
          description="Commissions an active property company (404 naming `companyId` when the caller cannot see it, "
                      "409 when inactive) for a project over a period and scope; it must end after it starts (422). "
                      "Needs `property.write` at the project (404 naming `projectId` otherwise); 409 while the "
                      "project has an active contract (end it first) or once the owners' committee's company took "
                      "over. Accepts `Idempotency-Key`. Audited.",
          **requires(WRITE_SCOPE, errors=[404, 409]))
    async def create_contract(self, request: Request[Any, Any, Any], session: AsyncSession, authz: Authorizer,
                              data: ContractCreate) -> Response[ContractOut]:
        return await created(request, session, lambda: companies.create_contract(session, authz, data),
                             lambda c: _async(ContractOut.of(c)), lambda c: f"{BASE}/contracts/{c.id}")

    @get(CONTRACT, operation_id="getPropertyContract", summary="A property-management contract",
         description="One contract: its project, company, period, scope, status and the day it ended. The ETag is "
                     "what If-Match needs to end it. Needs `property.read` at its project (404 otherwise).",
         **requires(READ_SCOPE, errors=[404]))
    async def get_contract(self, session: AsyncSession, authz: Authorizer,
                           contract_id: uuid.UUID) -> Response[ContractOut]:
        c, _ = await companies.get_contract(session, authz, contract_id)
        return with_etag(ContractOut.of(c), c.version)

    @post(CONTRACT + "/end", operation_id="endPropertyContract", status_code=200, summary="End a contract",
          description="Ends an active contract on `endedOn` (active → ended): the company's client no longer reaches "
                      "the project, and another company may be commissioned. Needs `property.write` at the project "
                      "and If-Match; 409 when ended already. Audited.",
          **requires(WRITE_SCOPE, errors=MOVES))
    async def end_contract(self, request: Request[Any, Any, Any], session: AsyncSession, authz: Authorizer,
                           contract_id: uuid.UUID, data: ContractEndIn) -> Response[ContractOut]:
        return await updated(request, companies.get_contract(session, authz, contract_id, lock=True),
                             lambda c, path: companies.end_contract(session, authz, c, path, data),
                             lambda c: _async(ContractOut.of(c)))


def _store(request: Request[Any, Any, Any]) -> ObjectStore:
    store: ObjectStore = request.app.state.store  # set at start-up (app/asgi.py)
    return store


class PhotoController(Controller):
    path = BASE + "/photos"
    tags = ["Handover"]
    dependencies = DEPENDENCIES

    @get("/", operation_id="listPropertyPhotos", summary="The photos of a handover, repair order or finding",
         description="The photos of one handover, repair order or finding (`subjectId`) in the order uploaded, or "
                     "without it the 200 newest photos the caller may see; each with its caption, file name and "
                     "whether its upload is stored. Over the nodes where the caller's roles hold `property.read`. "
                     "Needs property:read.",
         **requires(READ_SCOPE))
    async def list_photos(self, session: AsyncSession, authz: Authorizer,
                          subject_id: uuid.UUID | None = Parameter(
                              query="subjectId", default=None,
                              description="The record's; the 200 newest photos the caller may see when absent.")
                          ) -> list[PhotoOut]:
        return await photos.list_photos(session, authz, subject_id)

    @post("/", operation_id="startPropertyPhotoUpload",
          summary="Start a photo of a handover (defects, the signed record), repair order or finding",
          description="Answers with the photo (pending) and a presigned PUT: send exactly its headers with the "
                      "bytes, then `POST /api/v1/property/photos/{id}/complete`. Accepts `Idempotency-Key`.",
          **requires(WRITE_SCOPE, errors=[404, 409]))
    async def start(self, request: Request[Any, Any, Any], session: AsyncSession, authz: Authorizer,
                    data: PhotoIn) -> Response[PhotoUpload]:
        async def produce() -> Response[PhotoUpload]:
            upload = await photos.start(session, _store(request), request.user.tenant, authz, data)
            return Response(upload, status_code=201, headers={"Location": f"{BASE}/photos/{upload.photo.id}",
                                                              "ETag": etag(upload.photo.version)})

        return await idempotent(request, session, produce)

    @get("/{photo_id:uuid}", operation_id="getPropertyPhoto", summary="A photo",
         description="One photo: the record it belongs to, caption, file name, size and type, and whether its upload "
                     "is pending or stored. Needs `property.read` at the record's project (404 otherwise).",
         **requires(READ_SCOPE, errors=[404]))
    async def get_photo(self, session: AsyncSession, authz: Authorizer, photo_id: uuid.UUID) -> Response[PhotoOut]:
        p, _ = await photos.get_photo(session, authz, photo_id)
        return with_etag(PhotoOut.of(p), p.version)

    @post("/{photo_id:uuid}/complete", operation_id="completePropertyPhotoUpload", status_code=200,
          summary="Confirm the upload: stored once its size, SHA-256 and format are verified",
          description="Confirms the upload once the bytes were PUT to the presigned URL: the photo is stored only if "
                      "storage holds exactly the declared image (size, SHA-256 and format), else 409 saying what "
                      "differs. Repeating it on a stored photo answers the photo unchanged; an upload never completed "
                      "is removed an hour after its URL expires. Needs `property.write` at the record's project. "
                      "Audited.",
          **requires(WRITE_SCOPE, errors=[404, 409]))
    async def complete(self, request: Request[Any, Any, Any], session: AsyncSession, authz: Authorizer,
                       photo_id: uuid.UUID) -> Response[PhotoOut]:
        p, path = await photos.get_photo(session, authz, photo_id, lock=True)
        p = await photos.complete(session, _store(request), request.user.tenant, authz, p, path)
        return with_etag(PhotoOut.of(p), p.version)

    @get("/{photo_id:uuid}/download", operation_id="downloadPropertyPhoto",
         summary="A short-lived URL of the stored photo",
         description="A short-lived presigned URL to fetch the stored photo, with its expiry. 409 while its upload is "
                     "not completed. Needs `property.read` at the record's project (404 otherwise).",
         **requires(READ_SCOPE, errors=[404, 409]))
    async def download(self, request: Request[Any, Any, Any], session: AsyncSession, authz: Authorizer,
                       photo_id: uuid.UUID) -> DownloadOut:
        p, _ = await photos.get_photo(session, authz, photo_id)
        return await photos.download(_store(request), request.user.tenant, p)


CONTROLLERS: list[Any] = [SettingsController, HandoverController, WarrantyController, CompanyController,
                          PhotoController]
