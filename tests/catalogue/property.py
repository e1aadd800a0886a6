"""Route-catalogue entries of the property-management routes (see tests/catalogue/__init__.py),
and the helpers the property tests share: a home handed over through the API, a property company
commissioned for its project, its client bound and its token, records of every kind in any state.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Callable
from typing import Any

from sqlalchemy import Select, select

from tests.catalogue import Kind, SubtreeSpec, WorldSeed
from tests.routes import Ctx, Factory, Made, _new_customer, _new_project

BASE = "/api/v1/property"
MINE = f"{BASE}/mine"
PARTNER = f"{BASE}/partner"
HANDOVER = f"{BASE}/handovers/{{handover_id:uuid}}"
REPAIR = f"{BASE}/repairs/{{repair_id:uuid}}"
COMPANY = f"{BASE}/companies/{{company_id:uuid}}"
CONTRACT = f"{BASE}/contracts/{{contract_id:uuid}}"
ENTRY = f"{BASE}/coordination/{{entry_id:uuid}}"
ACTION = f"{BASE}/coordination/actions/{{action_id:uuid}}"
INSPECTION = f"{BASE}/inspections/{{inspection_id:uuid}}"
FINDING = f"{BASE}/findings/{{finding_id:uuid}}"
CASE = f"{BASE}/committees/{{case_id:uuid}}"
REPLACEMENT = f"{BASE}/replacements/{{replacement_id:uuid}}"
PERIOD = f"{BASE}/warranty-periods/{{period_id:uuid}}"
PROJECT = f"{BASE}/projects/{{project_id:uuid}}"
CHECKLIST = f"{BASE}/checklists/{{checklist_id:uuid}}"
SUPERVISION_CODES = ["security", "cleaning", "greening", "facilities", "renovation_control", "service_desk"]
PARTNER_SCOPE = "property:partner"


def _unique() -> str:
    return uuid.uuid4().hex[:12]


async def ok(response: Any, status: int = 200) -> Any:
    assert response.status_code == status, f"{response.request.method} {response.request.url}: " \
                                           f"{response.status_code} {response.text}"
    return response.json()


async def move(c: Any, auth: dict[str, str], url: str, action: str, body: Any, status: int = 200) -> Any:
    """A move on a record read first for its ETag."""
    current = await c.get(url, headers=auth)
    assert current.status_code == 200, current.text
    return await ok(await c.post(f"{url}/{action}", json=body,
                                 headers={**auth, "If-Match": current.headers["etag"]}), status)


# ---------------------------------------------------------------------- handovers


async def handover(c: Any, auth: dict[str, str], unit_id: str, stage: str = "scheduled",
                   defects: dict[str, str] | None = None) -> dict[str, Any]:
    """A handover of ``unit_id`` taken to ``stage`` (scheduled, inspected, confirmed, handed_over);
    ``defects``: item code -> warranty category of a defect found."""
    h = await ok(await c.post(f"{BASE}/handovers", headers=auth, json={
        "unitId": unit_id, "appointmentAt": "2026-11-20T10:00:00+08:00"}), 201)
    url = f"{BASE}/handovers/{h['id']}"
    defects = defects or {}
    if stage == "scheduled":
        return h  # type: ignore[no-any-return]
    h = await move(c, auth, url, "inspection", {"inspector": "验房师 Inspector Zhou", "results": [
        {"code": r["code"], "ok": r["code"] not in defects,
         **({"note": f"{r['label']} defect", "category": defects[r["code"]]} if r["code"] in defects else {})}
        for r in h["results"]]})
    if stage == "inspected":
        return h  # type: ignore[no-any-return]
    h = await move(c, auth, url, "confirmation", {"signedBy": "李业主 Owner Li"})
    if stage == "confirmed":
        return h  # type: ignore[no-any-return]
    return await move(c, auth, url, "keys", {"keysHanded": 3})  # type: ignore[no-any-return]


async def home(ctx: Ctx, stage: str = "handed_over") -> dict[str, Any]:
    """A customer's unit in a new project, its handover taken to ``stage``: the customer, unit,
    project id and handover. The project is always its own: contracts, committees and the
    coordination cadence hold one per project."""
    customer, _, building = await _new_customer(ctx, own_project=True)
    unit = customer["units"][0]
    h = await handover(ctx.client, ctx.auth, unit["unitId"], stage)
    return {"customer": customer, "unit": unit["unitId"], "project": unit["projectId"], "building": building,
            "handover": h}


async def company(c: Any, auth: dict[str, str], name: str = "物业公司") -> dict[str, Any]:
    return await ok(await c.post(f"{BASE}/companies", headers=auth, json={  # type: ignore[no-any-return]
        "name": f"{name} {_unique()}", "contactName": "赵经理", "contactPhone": "0755-8888 0000"}), 201)


async def contract(c: Any, auth: dict[str, str], project_id: str, company_id: str) -> dict[str, Any]:
    return await ok(await c.post(f"{BASE}/contracts", headers=auth, json={  # type: ignore[no-any-return]
        "projectId": project_id, "companyId": company_id, "startsOn": "2026-01-01", "endsOn": "2028-12-31",
        "scope": ["security", "cleaning", "maintenance"]}), 201)


async def managed(ctx: Ctx) -> dict[str, Any]:
    """A home handed over in a project whose property company is commissioned."""
    world = await home(ctx)
    world["company"] = await company(ctx.client, ctx.auth)
    world["contract"] = await contract(ctx.client, ctx.auth, world["project"], world["company"]["id"])
    return world


async def partner_token(ctx: Ctx, company_id: str) -> dict[str, str]:
    """Register the company's confidential client (scope property:partner), bind it over the API,
    and mint its token. The token also carries property:read, so that the route-wide gates can
    read the record back at its staff URL; the bound client itself holds property:partner only."""
    from app.auth.models import ClientKind
    from app.auth.services import create_client
    from app.auth.tokens import KeyRing
    from app.config import get_settings
    from app.core.audit import Actor
    from app.tenants.models import Tenant

    async with ctx.db.platform_transaction() as session:
        session.info["actor"] = Actor(kind="operator", id="operator@test")
        tenant_id = await session.scalar(select(Tenant.id).where(Tenant.slug == ctx.tenant))
        client, _ = await create_client(session, tenant_id=tenant_id, name=f"物业 client {ctx.mark}",
                                        kind=ClientKind.confidential, redirect_uris=[],
                                        allowed_scopes=[PARTNER_SCOPE])
        client_id = client.client_id
    url = f"{BASE}/companies/{company_id}"
    current = await ctx.client.get(url, headers=ctx.auth)
    await ok(await ctx.client.put(f"{url}/client", json={"clientId": client_id},
                                  headers={**ctx.auth, "If-Match": current.headers["etag"]}))
    settings = get_settings()
    ring = KeyRing(issuer=settings.issuer, audience=settings.audience, token_ttl=settings.access_token_ttl)
    async with ctx.db.platform_session() as session:
        await ring.refresh(session, force=True)
    token = ring.mint(subject=client_id, client_id=client_id, scopes=[PARTNER_SCOPE, "property:read"],
                      tenant=ctx.tenant)
    return {"Authorization": f"Bearer {token}"}


# ---------------------------------------------------------------------- records in a state


async def repair(ctx: Ctx, stage: str = "open", world: dict[str, Any] | None = None,
                 auth: dict[str, str] | None = None) -> tuple[dict[str, Any], dict[str, Any]]:
    """A repair order of a handed-over home, taken to ``stage`` (open, assigned, scheduled,
    completed), assigned to the project's company when it has one (else a contractor)."""
    world = world or await home(ctx)
    r = await ok(await ctx.client.post(f"{BASE}/repairs", headers=ctx.auth, json={
        "unitId": world["unit"], "category": "waterproofing", "description": f"卫生间渗水 {ctx.mark}"}), 201)
    url = f"{BASE}/repairs/{r['id']}"
    if stage != "open":
        who = ({"assignee": "property_company", "companyId": world["company"]["id"]} if "company" in world
               else {"assignee": "contractor", "contractor": "防水工程公司"})
        r = await move(ctx.client, ctx.auth, url, "assign", who)
    if stage in ("scheduled", "completed"):
        r = await move(ctx.client, ctx.auth, url, "appointment", {"appointmentAt": "2026-12-20T09:00:00+08:00"})
    if stage == "completed":
        r = await move(ctx.client, ctx.auth, url, "completion", {"workDone": "重做防水层", "cost": "800.00"})
    return r, world


async def entry(ctx: Ctx, world: dict[str, Any] | None = None) -> tuple[dict[str, Any], dict[str, Any]]:
    world = world or await managed(ctx)
    e = await ok(await ctx.client.post(f"{BASE}/coordination", headers=ctx.auth, json={
        "projectId": world["project"], "heldOn": "2026-11-30", "form": "meeting",
        "topics": f"装修管理 {ctx.mark}", "ourAttendees": ["王经理"], "theirAttendees": ["赵经理"],
        "decisions": "加强巡查", "actions": [{"description": f"车库照明 {ctx.mark}", "owner": "property_company",
                                            "ownerName": "赵经理", "dueOn": "2026-12-01"}]}), 201)
    return e, world


def inspection_body(project_id: str, mark: str = "") -> dict[str, Any]:
    return {"projectId": project_id, "kind": "routine", "inspectedOn": "2026-11-28", "inspector": "王经理",
            "scores": [{"code": c, "score": 80} for c in SUPERVISION_CODES], "customerOpinions": f"业主意见 {mark}",
            "findings": [{"description": f"垃圾未及时清运 {mark}", "severity": "major", "deadline": "2026-12-05"}]}


async def inspection(ctx: Ctx, world: dict[str, Any] | None = None) -> tuple[dict[str, Any], dict[str, Any]]:
    world = world or await managed(ctx)
    i = await ok(await ctx.client.post(f"{BASE}/inspections", headers=ctx.auth,
                                       json=inspection_body(world["project"], ctx.mark)), 201)
    return i, world


async def case(ctx: Ctx, formed: bool = False, world: dict[str, Any] | None = None
               ) -> tuple[dict[str, Any], dict[str, Any]]:
    world = world or await managed(ctx)
    k = await ok(await ctx.client.post(f"{BASE}/committees", headers=ctx.auth, json={
        "projectId": world["project"], "subdistrictOffice": f"粤海街道办 {ctx.mark}",
        "preparationGroup": ["王经理", "业主代表"]}), 201)
    if formed:
        k = await move(ctx.client, ctx.auth, f"{BASE}/committees/{k['id']}", "milestones",
                       {"milestone": "filing", "reachedOn": "2026-12-01"})
    return k, world


async def replacement(ctx: Ctx, ticked: bool = False) -> tuple[dict[str, Any], dict[str, Any]]:
    _, world = await case(ctx, formed=True)
    r = await ok(await ctx.client.post(f"{BASE}/replacements", headers=ctx.auth, json={
        "projectId": world["project"], "incomingCompany": f"业委会选聘物业 {ctx.mark}",
        "effectiveOn": "2027-01-01"}), 201)
    if ticked:
        # Someone to sign it off once submitted: the chain's customer affairs manager at the branch.
        from tests.catalogue.complaints import approver

        project = await ok(await ctx.client.get(f"/api/v1/org/projects/{world['project']}", headers=ctx.auth))
        world["approver"] = await approver(ctx, project["parentId"], "customer_affairs_manager")
        for index in range(len(r["checklist"])):
            r = await move(ctx.client, ctx.auth, f"{BASE}/replacements/{r['id']}", "checklist",
                           {"index": index, "done": True})
    return r, world


def jpeg() -> tuple[bytes, dict[str, Any]]:
    data = b"\xff\xd8\xff\xe0" + f"JPEG {_unique()}".encode()
    return data, {"filename": "defect.jpg", "contentType": "image/jpeg", "size": len(data),
                  "sha256": hashlib.sha256(data).hexdigest()}


async def photo(ctx: Ctx, subject: str, subject_id: str, stage: str = "stored") -> dict[str, Any]:
    """A photo of a record: started (``pending``), its bytes PUT (``uploaded``), or ``stored``."""
    from tests.catalogue.complaints import put_bytes

    data, body = jpeg()
    started = await ok(await ctx.client.post(f"{BASE}/photos", headers=ctx.auth, json={
        "subject": subject, "subjectId": subject_id, "caption": f"A-only photo {ctx.mark}", **body}), 201)
    if stage == "pending":
        return started["photo"]  # type: ignore[no-any-return]
    put = await put_bytes(ctx.client, started["upload"], data)
    assert put.status_code == 200, put.text
    if stage == "uploaded":
        return started["photo"]  # type: ignore[no-any-return]
    return await ok(await ctx.client.post(  # type: ignore[no-any-return]
        f"{BASE}/photos/{started['photo']['id']}/complete", headers=ctx.auth))


# ---------------------------------------------------------------------- factories


def _made(param: str, record: dict[str, Any], url: str, *values: str, **bodies: Any) -> Made:
    return Made(params={param: record["id"]}, values=[record["id"], *values], url=url, bodies=bodies)


async def _checklist(ctx: Ctx) -> Made:
    listed = await ok(await ctx.client.get(f"{BASE}/checklists", headers=ctx.auth, params={"kind": "handover"}))
    c = listed[0]
    return Made(params={"checklist_id": c["id"]}, values=[c["id"]], url=f"{BASE}/checklists/{c['id']}", bodies={
        "PUT": {"name": c["name"], "items": [{"code": i["code"], "label": i["label"]} for i in c["items"]]}})


async def _project(ctx: Ctx) -> Made:
    world = await home(ctx)
    return Made(params={"project_id": world["project"]}, values=[world["project"]],
                url=f"{BASE}/projects/{world['project']}", bodies={"PATCH": {"earlyDays": 7, "laterDays": 30}})


async def _handovers(ctx: Ctx) -> Made:
    customer, _, _ = await _new_customer(ctx)
    return Made(params={}, values=[], url=None, bodies={
        "POST": {"unitId": customer["units"][0]["unitId"], "appointmentAt": "2026-12-10T10:00:00+08:00"}})


def _handover_at(stage: str, body: Callable[[dict[str, Any]], Any] | None) -> Factory:
    async def factory(ctx: Ctx) -> Made:
        h = (await home(ctx, stage))["handover"]
        return _made("handover_id", h, f"{BASE}/handovers/{h['id']}", h["number"],
                     **({"POST": body(h)} if body else {}))
    return factory


def _inspection_of(h: dict[str, Any]) -> dict[str, Any]:
    return {"inspector": "验房师", "results": [{"code": r["code"], "ok": True} for r in h["results"]]}


async def _periods(ctx: Ctx) -> Made:
    return Made(params={}, values=[], url=None, bodies={"POST": {
        "category": f"c{_unique()}", "name": f"外墙 {ctx.mark}", "months": 36}})


async def _period(ctx: Ctx) -> Made:
    project, _ = await _new_project(ctx)
    p = await ok(await ctx.client.post(f"{BASE}/warranty-periods", headers=ctx.auth, json={
        "category": "waterproofing", "name": f"项目防水 {ctx.mark}", "months": 96, "projectId": project["id"]}), 201)
    return _made("period_id", p, f"{BASE}/warranty-periods/{p['id']}", p["name"], PATCH={"months": 84})


async def _repairs(ctx: Ctx) -> Made:
    world = await home(ctx)
    return Made(params={}, values=[], url=None, bodies={"POST": {
        "unitId": world["unit"], "category": "plumbing", "description": f"水管漏水 {ctx.mark}"}})


def _repair_at(stage: str, body: Any = None) -> Factory:
    async def factory(ctx: Ctx) -> Made:
        r, _ = await repair(ctx, stage)
        return _made("repair_id", r, f"{BASE}/repairs/{r['id']}", r["number"], r["description"],
                     **({"POST": body} if body is not None else {}))
    return factory


async def _companies(ctx: Ctx) -> Made:
    return Made(params={}, values=[], url=None, bodies={"POST": {"name": f"新物业 {ctx.mark}"}})


async def _company(ctx: Ctx) -> Made:
    c = await company(ctx.client, ctx.auth, f"A-only 物业 {ctx.mark}")
    return _made("company_id", c, f"{BASE}/companies/{c['id']}", c["name"], PATCH={"contactName": "钱经理"},
                 PUT={"clientId": None})


async def _contracts(ctx: Ctx) -> Made:
    project, _ = await _new_project(ctx)
    c = await company(ctx.client, ctx.auth)
    return Made(params={}, values=[], url=None, bodies={"POST": {
        "projectId": project["id"], "companyId": c["id"], "startsOn": "2026-01-01", "endsOn": "2027-12-31",
        "scope": ["security"]}})


async def _contract(ctx: Ctx) -> Made:
    world = await managed(ctx)
    c = world["contract"]
    return _made("contract_id", c, f"{BASE}/contracts/{c['id']}", POST={"endedOn": "2026-12-01"})


async def _coordination(ctx: Ctx) -> Made:
    world = await managed(ctx)
    return Made(params={}, values=[], url=None, bodies={"POST": {
        "projectId": world["project"], "heldOn": "2026-12-01", "form": "phone", "topics": f"保洁 {ctx.mark}"}})


async def _entry(ctx: Ctx) -> Made:
    e, _ = await entry(ctx)
    return _made("entry_id", e, f"{BASE}/coordination/{e['id']}", e["topics"])


async def _action(ctx: Ctx) -> Made:
    e, _ = await entry(ctx)
    a = e["actions"][0]
    return _made("action_id", a, f"{BASE}/coordination/actions/{a['id']}", a["description"],
                 PATCH={"status": "done", "followUp": "已修复"})


async def _inspections(ctx: Ctx) -> Made:
    world = await managed(ctx)
    return Made(params={}, values=[], url=None, bodies={"POST": inspection_body(world["project"], ctx.mark)})


async def _inspection(ctx: Ctx) -> Made:
    i, _ = await inspection(ctx)
    return _made("inspection_id", i, f"{BASE}/inspections/{i['id']}", i["customerOpinions"])


def _finding_at(rectified: bool, body: Any = None) -> Factory:
    async def factory(ctx: Ctx) -> Made:
        i, _ = await inspection(ctx)
        f = i["findings"][0]
        url = f"{BASE}/findings/{f['id']}"
        if rectified:
            f = await move(ctx.client, ctx.auth, url, "rectification", {"rectification": "已清运"})
        return _made("finding_id", f, url, f["description"], **({"POST": body} if body is not None else {}))
    return factory


async def _committees(ctx: Ctx) -> Made:
    project, _ = await _new_project(ctx)
    return Made(params={}, values=[], url=None, bodies={"POST": {
        "projectId": project["id"], "subdistrictOffice": f"街道办 {ctx.mark}"}})


def _case_at(formed: bool, body: Any = None) -> Factory:
    async def factory(ctx: Ctx) -> Made:
        k, _ = await case(ctx, formed=formed)
        return _made("case_id", k, f"{BASE}/committees/{k['id']}", k["subdistrictOffice"],
                     **({"POST": body} if body is not None else {}))
    return factory


async def _replacements(ctx: Ctx) -> Made:
    _, world = await case(ctx, formed=True)
    return Made(params={}, values=[], url=None, bodies={"POST": {
        "projectId": world["project"], "incomingCompany": f"新物业 {ctx.mark}", "effectiveOn": "2027-01-01"}})


def _replacement_at(ticked: bool, body: Any) -> Factory:
    async def factory(ctx: Ctx) -> Made:
        r, _ = await replacement(ctx, ticked=ticked)
        return _made("replacement_id", r, f"{BASE}/replacements/{r['id']}", r["incomingCompany"], POST=body)
    return factory


def _photo_at(stage: str) -> Factory:
    """A photo of a repair order: started (``pending``), its bytes uploaded (``uploaded``), or stored."""
    async def factory(ctx: Ctx) -> Made:
        r, _ = await repair(ctx)
        p = await photo(ctx, "repair", r["id"], stage)
        return Made(params={"photo_id": p["id"]}, values=[p["id"], p["caption"]], url=f"{BASE}/photos/{p['id']}",
                    bodies={"POST": {}})
    return factory


async def _photos(ctx: Ctx) -> Made:
    r, _ = await repair(ctx)
    _, body = jpeg()
    return Made(params={}, values=[], url=None, bodies={"POST": {"subject": "repair", "subjectId": r["id"], **body}})


# -- the owner's app: the acting account when it is one (the isolation matrix's subject), else a new owner


async def _my_home(ctx: Ctx, stage: str) -> tuple[dict[str, str], dict[str, Any], str]:
    from tests.catalogue.complaints import owner

    auth, customer, unit = await owner(ctx)
    h = await handover(ctx.client, ctx.auth, unit, stage)
    return auth, h, unit


async def _my_handover(ctx: Ctx) -> Made:
    auth, h, _ = await _my_home(ctx, "inspected")
    return Made(params={"handover_id": h["id"]}, values=[h["id"], h["number"]], url=f"{MINE}/handovers/{h['id']}",
                auth=auth, bodies={"POST": {}})


async def _my_repairs(ctx: Ctx) -> Made:
    auth, _, unit = await _my_home(ctx, "handed_over")
    return Made(params={}, values=[], url=None, auth=auth, bodies={"POST": {
        "unitId": unit, "category": "electrical", "description": f"插座没电 {ctx.mark}"}})


def _my_repair(body: Any = None) -> Factory:
    async def factory(ctx: Ctx) -> Made:
        auth, _, unit = await _my_home(ctx, "handed_over")
        r = await ok(await ctx.client.post(f"{MINE}/repairs", headers=auth, json={
            "unitId": unit, "category": "electrical", "description": f"插座没电 {ctx.mark}"}), 201)
        url = f"{BASE}/repairs/{r['id']}"
        for action, step in [("assign", {"assignee": "contractor", "contractor": "电工"}),
                             ("completion", {"workDone": "更换插座"})]:
            r = await move(ctx.client, ctx.auth, url, action, step)
        return Made(params={"repair_id": r["id"]}, values=[r["id"], r["number"], r["description"]],
                    url=f"{MINE}/repairs/{r['id']}", auth=auth, bodies={"POST": body} if body is not None else {})
    return factory


# -- the property company's client


def _partner_repair(stage: str, body: Any = None) -> Factory:
    async def factory(ctx: Ctx) -> Made:
        world = await managed(ctx)
        r, _ = await repair(ctx, stage, world=world)
        auth = await partner_token(ctx, world["company"]["id"])
        return Made(params={"repair_id": r["id"]}, values=[r["id"], r["number"], r["description"]],
                    url=f"{BASE}/repairs/{r['id']}", auth=auth, bodies={"POST": body} if body is not None else {})
    return factory


async def _partner_coordination(ctx: Ctx) -> Made:
    world = await managed(ctx)
    auth = await partner_token(ctx, world["company"]["id"])
    return Made(params={}, values=[], url=None, auth=auth, bodies={"POST": {
        "projectId": world["project"], "heldOn": "2026-12-02", "form": "written", "topics": f"物业月报 {ctx.mark}"}})


async def _partner_complaints(ctx: Ctx) -> Made:
    world = await managed(ctx)
    auth = await partner_token(ctx, world["company"]["id"])
    return Made(params={}, values=[], url=None, auth=auth, bodies={"POST": {
        "projectId": world["project"], "unitId": world["unit"], "subject": f"楼上噪音 {ctx.mark}",
        "description": "业主反映楼上装修噪音", "contactNote": "李业主 138 0000 0000"}})


async def _partner_entry(ctx: Ctx) -> Made:
    e, world = await entry(ctx)
    auth = await partner_token(ctx, world["company"]["id"])
    return Made(params={"entry_id": e["id"]}, values=[e["id"], e["topics"]], url=f"{BASE}/coordination/{e['id']}",
                auth=auth)


async def _partner_action(ctx: Ctx) -> Made:
    e, world = await entry(ctx)
    auth = await partner_token(ctx, world["company"]["id"])
    a = e["actions"][0]
    return Made(params={"action_id": a["id"]}, values=[a["id"], a["description"]],
                url=f"{BASE}/coordination/actions/{a['id']}", auth=auth,
                bodies={"PATCH": {"status": "done", "followUp": "灯已修好"}})


async def _partner_finding(ctx: Ctx) -> Made:
    i, world = await inspection(ctx)
    auth = await partner_token(ctx, world["company"]["id"])
    f = i["findings"][0]
    return Made(params={"finding_id": f["id"]}, values=[f["id"], f["description"]],
                url=f"{BASE}/findings/{f['id']}", auth=auth, bodies={"POST": {"rectification": "已清运"}})


FACTORIES: dict[str, Factory] = {
    CHECKLIST: _checklist,
    PROJECT: _project,
    f"{BASE}/handovers": _handovers,
    HANDOVER: _handover_at("scheduled", None),
    f"{HANDOVER}/inspection": _handover_at("scheduled", _inspection_of),
    f"{HANDOVER}/confirmation": _handover_at("inspected", lambda h: {"signedBy": "李业主"}),
    f"{HANDOVER}/keys": _handover_at("confirmed", lambda h: {"keysHanded": 2}),
    f"{HANDOVER}/cancel": _handover_at("scheduled", lambda h: {"reason": "业主改期"}),
    f"{BASE}/warranty-periods": _periods,
    PERIOD: _period,
    f"{BASE}/repairs": _repairs,
    REPAIR: _repair_at("open"),
    f"{REPAIR}/assign": _repair_at("open", {"assignee": "contractor", "contractor": "防水公司"}),
    f"{REPAIR}/appointment": _repair_at("assigned", {"appointmentAt": "2026-12-21T09:00:00+08:00"}),
    f"{REPAIR}/completion": _repair_at("assigned", {"workDone": "更换密封胶", "cost": "120.50"}),
    f"{REPAIR}/cancel": _repair_at("open", {"reason": "重复报修"}),
    f"{BASE}/companies": _companies,
    COMPANY: _company,
    f"{COMPANY}/client": _company,
    f"{BASE}/contracts": _contracts,
    CONTRACT: _contract,
    f"{CONTRACT}/end": _contract,
    f"{BASE}/coordination": _coordination,
    ENTRY: _entry,
    ACTION: _action,
    f"{BASE}/inspections": _inspections,
    INSPECTION: _inspection,
    FINDING: _finding_at(False),
    f"{FINDING}/rectification": _finding_at(False, {"rectification": "已清运"}),
    f"{FINDING}/verification": _finding_at(True, {"verifiedBy": "王经理"}),
    f"{BASE}/committees": _committees,
    CASE: _case_at(False),
    f"{CASE}/milestones": _case_at(False, {"milestone": "preparatory_meeting", "reachedOn": "2026-11-01"}),
    f"{CASE}/members": _case_at(True, {"name": "张主任", "role": "chair", "termStarts": "2026-12-01",
                                       "termEnds": "2031-11-30"}),
    f"{CASE}/resolutions": _case_at(True, {"adoptedOn": "2026-12-02", "title": "选聘物业", "text": "公开招标"}),
    f"{BASE}/replacements": _replacements,
    REPLACEMENT: _replacement_at(False, None),
    f"{REPLACEMENT}/checklist": _replacement_at(False, {"index": 0, "done": True, "note": "图纸移交"}),
    f"{REPLACEMENT}/submit": _replacement_at(True, {}),
    f"{BASE}/photos": _photos,
    f"{BASE}/photos/{{photo_id:uuid}}": _photo_at("pending"),
    f"{BASE}/photos/{{photo_id:uuid}}/complete": _photo_at("uploaded"),
    f"{BASE}/photos/{{photo_id:uuid}}/download": _photo_at("stored"),
    f"{MINE}/handovers/{{handover_id:uuid}}": _my_handover,
    f"{MINE}/handovers/{{handover_id:uuid}}/confirmation": _my_handover,
    f"{MINE}/repairs": _my_repairs,
    f"{MINE}/repairs/{{repair_id:uuid}}": _my_repair(),
    f"{MINE}/repairs/{{repair_id:uuid}}/sign-off": _my_repair({"rating": 5, "comment": "满意"}),
    f"{MINE}/repairs/{{repair_id:uuid}}/rejection": _my_repair({"comment": "还在漏"}),
    f"{PARTNER}/repairs/{{repair_id:uuid}}": _partner_repair("assigned"),
    f"{PARTNER}/repairs/{{repair_id:uuid}}/appointment": _partner_repair(
        "assigned", {"appointmentAt": "2026-12-22T14:00:00+08:00"}),
    f"{PARTNER}/repairs/{{repair_id:uuid}}/completion": _partner_repair("scheduled", {"workDone": "重新打胶"}),
    f"{PARTNER}/coordination": _partner_coordination,
    f"{PARTNER}/complaints": _partner_complaints,
    f"{PARTNER}/coordination/{{entry_id:uuid}}": _partner_entry,
    f"{PARTNER}/coordination/actions/{{action_id:uuid}}": _partner_action,
    f"{PARTNER}/findings/{{finding_id:uuid}}/rectification": _partner_finding,
}


# ---------------------------------------------------------------------- the subtree matrix


def _at_node(model_path: str, value: str) -> Callable[[], Select[Any]]:
    def truth() -> Select[Any]:
        from app.domains.org.models import OrgNode
        from app.domains.property import models

        model = getattr(models, model_path)
        return (select(model.id, OrgNode.path, getattr(model, value), model.version)
                .join(OrgNode, OrgNode.id == model.node_id))
    return truth


def _project_states() -> Select[Any]:
    from app.domains.org.models import OrgNode
    from app.domains.property.models import PropertyProject

    return (select(PropertyProject.node_id, OrgNode.path, OrgNode.code, PropertyProject.version)
            .join(OrgNode, OrgNode.id == PropertyProject.node_id))


async def _populate(seed: WorldSeed) -> None:
    """Per project: a company commissioned, a home handed over with a defect (a repair order), a
    coordination meeting with an action item, an inspection with a finding, a committee case."""
    c, admin = seed.client, seed.admin
    done: set[str] = set()
    for number, unit in sorted(seed.units.items()):
        project = unit["projectId"]
        if project in done:
            continue
        done.add(project)
        firm = await company(c, admin, f"{number}物业")
        await contract(c, admin, project, firm["id"])
        h = await handover(c, admin, unit["id"], "handed_over", defects={"plumbing": "plumbing"})
        data, body = jpeg()
        started = await ok(await c.post(f"{BASE}/photos", headers=admin, json={
            "subject": "handover", "subjectId": h["id"], "caption": f"{number} 渗水照片", **body}), 201)
        from tests.catalogue.complaints import put_bytes

        assert (await put_bytes(c, started["upload"], data)).status_code == 200
        await ok(await c.post(f"{BASE}/photos/{started['photo']['id']}/complete", headers=admin))
        await ok(await c.post(f"{BASE}/coordination", headers=admin, json={
            "projectId": project, "heldOn": "2026-11-30", "form": "meeting", "topics": f"{number} 协调",
            "actions": [{"description": "巡查", "owner": "developer", "ownerName": "王经理", "dueOn": "2026-12-31"}]}),
            201)
        await ok(await c.post(f"{BASE}/inspections", headers=admin, json=inspection_body(project, number)), 201)
        k = await ok(await c.post(f"{BASE}/committees", headers=admin, json={
            "projectId": project, "subdistrictOffice": f"{number} 街道办"}), 201)
        if len(done) == 1:  # one project whose committee is formed, its company being replaced
            await move(c, admin, f"{BASE}/committees/{k['id']}", "milestones",
                       {"milestone": "filing", "reachedOn": "2026-12-01"})
            await ok(await c.post(f"{BASE}/replacements", headers=admin, json={
                "projectId": project, "incomingCompany": f"{number} 新物业", "effectiveOn": "2027-01-01"}), 201)


_NO_NODE_CONFIG = "the group's configuration (checklists, the group's warranty periods): tenant-wide, changed with " \
                  "property.configure at the group node (tests/domains/test_property.py)"
_OWNERS = "an owner's own records (owner:self): the customer's account link decides, not a node " \
          "(tests/domains/test_property.py)"
_PARTNER = "the property company's client (property:partner): the projects of its active contracts decide, not " \
           "role grants; a person's token reaches nothing there (tests/domains/test_property.py)"
_STATS = "aggregates of the records the caller may read: Authorizer.visible on property.read " \
         "(tests/domains/test_property.py)"

SUBTREE = SubtreeSpec(
    kinds={
        "property_handover": Kind("property.read", _at_node("Handover", "number")),
        "repair_order": Kind("property.read", _at_node("RepairOrder", "description")),
        "property_company": Kind("property.read", _at_node("PropertyCompany", "name")),
        "property_contract": Kind("property.read", _at_node("PropertyContract", "status")),
        "coordination_entry": Kind("property.read", _at_node("CoordinationEntry", "topics")),
        "coordination_action": Kind("property.read", _at_node("CoordinationAction", "description")),
        "supervision_inspection": Kind("property.read", _at_node("Inspection", "customer_opinions")),
        "supervision_finding": Kind("property.read", _at_node("Finding", "description")),
        "committee_case": Kind("property.read", _at_node("CommitteeCase", "subdistrict_office")),
        "property_replacement": Kind("property.read", _at_node("Replacement", "incoming_company")),
        "property_project": Kind("property.read", _project_states),
        "property_photo": Kind("property.read", _at_node("PropertyPhoto", "caption")),
    },
    lists={f"{BASE}/handovers": "property_handover", f"{BASE}/repairs": "repair_order",
           f"{BASE}/companies": "property_company", f"{BASE}/contracts": "property_contract",
           f"{BASE}/coordination": "coordination_entry", f"{BASE}/coordination/actions": "coordination_action",
           f"{BASE}/inspections": "supervision_inspection", f"{BASE}/findings": "supervision_finding",
           f"{BASE}/committees": "committee_case", f"{BASE}/replacements": "property_replacement"},
    details={
        **{HANDOVER + t: "property_handover" for t in ("", "/inspection", "/confirmation", "/keys", "/cancel")},
        **{REPAIR + t: "repair_order" for t in ("", "/assign", "/appointment", "/completion", "/cancel")},
        COMPANY: "property_company", f"{COMPANY}/client": "property_company",
        CONTRACT: "property_contract", f"{CONTRACT}/end": "property_contract",
        ENTRY: "coordination_entry", ACTION: "coordination_action", INSPECTION: "supervision_inspection",
        **{FINDING + t: "supervision_finding" for t in ("", "/rectification", "/verification")},
        **{CASE + t: "committee_case" for t in ("", "/milestones", "/members", "/resolutions")},
        **{REPLACEMENT + t: "property_replacement" for t in ("", "/checklist", "/submit")},
        PROJECT: "property_project",
        **{f"{BASE}/photos/{{photo_id:uuid}}" + t: "property_photo" for t in ("", "/complete", "/download")},
    },
    read_urls={"property_handover": f"{BASE}/handovers/{{}}", "repair_order": f"{BASE}/repairs/{{}}",
               "property_company": f"{BASE}/companies/{{}}", "property_contract": f"{BASE}/contracts/{{}}",
               "coordination_entry": f"{BASE}/coordination/{{}}",
               "coordination_action": f"{BASE}/coordination/actions/{{}}",
               "supervision_inspection": f"{BASE}/inspections/{{}}", "supervision_finding": f"{BASE}/findings/{{}}",
               "committee_case": f"{BASE}/committees/{{}}", "property_replacement": f"{BASE}/replacements/{{}}",
               "property_project": f"{BASE}/projects/{{}}", "property_photo": f"{BASE}/photos/{{}}"},
    no_node={
        f"{BASE}/checklists": _NO_NODE_CONFIG, CHECKLIST: _NO_NODE_CONFIG,
        f"{BASE}/warranty-periods": _NO_NODE_CONFIG + "; a project's own periods with their project",
        PERIOD: _NO_NODE_CONFIG + "; a project's own periods with their project",
        f"{BASE}/photos": "the photos of one record (subjectId), or the newest the caller may see: Authorizer.visible "
                          "on property.read (tests/domains/test_property.py)",
        f"{BASE}/move-in-rates": _STATS, f"{BASE}/repairs/repeated": _STATS, f"{BASE}/scorecard": _STATS,
        f"{MINE}/handovers": _OWNERS, f"{MINE}/handovers/{{handover_id:uuid}}": _OWNERS,
        f"{MINE}/handovers/{{handover_id:uuid}}/confirmation": _OWNERS, f"{MINE}/repairs": _OWNERS,
        f"{MINE}/repairs/{{repair_id:uuid}}": _OWNERS, f"{MINE}/repairs/{{repair_id:uuid}}/sign-off": _OWNERS,
        f"{MINE}/repairs/{{repair_id:uuid}}/rejection": _OWNERS,
        **{PARTNER + t: _PARTNER for t in (
            "/repairs", "/repairs/{repair_id:uuid}", "/repairs/{repair_id:uuid}/appointment",
            "/repairs/{repair_id:uuid}/completion", "/coordination", "/coordination/{entry_id:uuid}",
            "/coordination/actions/{action_id:uuid}", "/complaints", "/findings",
            "/findings/{finding_id:uuid}/rectification")},
    },
    write_bodies={
        (f"{HANDOVER}/inspection", "POST"): lambda w, u: {"inspector": "x", "results": [{"code": "walls", "ok": True}]},
        (f"{HANDOVER}/confirmation", "POST"): lambda w, u: {"signedBy": "x"},
        (f"{HANDOVER}/keys", "POST"): lambda w, u: {"keysHanded": 1},
        (f"{HANDOVER}/cancel", "POST"): lambda w, u: {"reason": "x"},
        (f"{REPAIR}/assign", "POST"): lambda w, u: {"assignee": "contractor", "contractor": "x"},
        (f"{REPAIR}/appointment", "POST"): lambda w, u: {"appointmentAt": "2026-12-21T09:00:00+08:00"},
        (f"{REPAIR}/completion", "POST"): lambda w, u: {"workDone": "x"},
        (f"{REPAIR}/cancel", "POST"): lambda w, u: {"reason": "x"},
        (COMPANY, "PATCH"): lambda w, u: {"contactName": "x"},
        (f"{COMPANY}/client", "PUT"): lambda w, u: {"clientId": None},
        (f"{CONTRACT}/end", "POST"): lambda w, u: {"endedOn": "2026-12-01"},
        (ACTION, "PATCH"): lambda w, u: {"status": "done"},
        (f"{FINDING}/rectification", "POST"): lambda w, u: {"rectification": "x"},
        (f"{FINDING}/verification", "POST"): lambda w, u: {"verifiedBy": "x"},
        (f"{CASE}/milestones", "POST"): lambda w, u: {"milestone": "election", "reachedOn": "2026-11-01"},
        (f"{CASE}/members", "POST"): lambda w, u: {"name": "x", "role": "member", "termStarts": "2026-01-01",
                                                   "termEnds": "2030-01-01"},
        (f"{CASE}/resolutions", "POST"): lambda w, u: {"adoptedOn": "2026-12-01", "title": "x", "text": "x"},
        (f"{REPLACEMENT}/checklist", "POST"): lambda w, u: {"index": 0, "done": True},
        (PROJECT, "PATCH"): lambda w, u: {"earlyDays": 5},
    },
    creates={
        f"{BASE}/handovers": ("unit", lambda parent: {"unitId": str(parent),
                                                      "appointmentAt": "2026-12-10T10:00:00+08:00"}, "property.write"),
        f"{BASE}/committees": ("project", lambda parent: {"projectId": str(parent), "subdistrictOffice": "x"},
                               "property.write"),
    },
    populate=_populate,
)
