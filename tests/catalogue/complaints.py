"""Route-catalogue entries of the complaints, disputes and calendars routes (see
tests/catalogue/__init__.py), and the helpers the complaints tests share: a record taken
through the resolution loop to any state over the API, an approver for the proposal chain,
an owner linked to a customer, a photo uploaded straight to storage.
"""

from __future__ import annotations

import functools
import hashlib
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import Select, select

from tests.catalogue import Kind, SubtreeSpec, WorldSeed
from tests.routes import (
    Ctx,
    Factory,
    Made,
    _create,
    _new_customer,
    _new_project,
    _staff_account,
    _token_of,
    shared,
)

BASE = "/api/v1/complaints"
DISPUTES = "/api/v1/disputes"
LETTERS = f"{BASE}/capa-letters"
ATTACHMENTS = f"{BASE}/attachments"
MINE = f"{BASE}/mine"
CALENDARS = "/api/v1/calendars"
APPROVER_SCOPES = ["approvals:read", "approvals:write"]
BASES = {"complaint": BASE, "dispute": DISPUTES}


def _unique() -> str:
    return uuid.uuid4().hex[:12]


async def ok(response: Any, status: int = 200) -> Any:
    assert response.status_code == status, f"{response.request.method} {response.request.url}: " \
                                           f"{response.status_code} {response.text}"
    return response.json()


# ---------------------------------------------------------------------- building blocks


async def tenant_ctx(client: Any, db: Any, new_tenant: Any, mint: Any, prefix: str, *, subject: str = "complaints-test",
                     time_zone: str = "Asia/Shanghai") -> Ctx:
    """A new tenant, and the context of a caller with every tenant scope in it (its subject is
    no account: helpers make the owners and staff they need)."""
    from tests.conftest import bearer

    slug = await new_tenant(prefix, time_zone=time_zone)
    return Ctx(client=client, db=db, tenant=slug, subject=subject, auth=bearer(mint(tenant=slug)), mark=_unique()[:6])


async def category(ctx: Ctx, code: str = "WATERPROOFING") -> str:
    """The id of a seeded category of ``ctx.tenant``."""
    listed = await ok(await ctx.client.get(f"{BASE}/categories", params={"limit": 200}, headers=ctx.auth))
    return next(c["id"] for c in listed["items"] if c["code"] == code)


async def grant_role(ctx: Ctx, account: str, role_code: str, node_id: str) -> None:
    from app.core.audit import Actor
    from app.domains.access.services import grant_by_code
    from app.domains.org.models import OrgNode

    async with ctx.db.tenant_transaction(f"t_{ctx.tenant}") as session:
        session.info["actor"] = Actor(kind="operator", id="operator@test")
        node = await session.scalar(select(OrgNode).where(OrgNode.id == uuid.UUID(node_id)))
        await grant_by_code(session, account_id=uuid.UUID(account), role_code=role_code, node=node)


async def approver(ctx: Ctx, branch_id: str, role: str = "company_supervising_manager") -> str:
    """A staff account holding ``role`` at ``branch_id`` (by default, deciding the first step of
    complaint_resolution there)."""
    async def make() -> str:
        account = await _staff_account(ctx)
        await grant_role(ctx, account, role, branch_id)
        return account

    return await shared(ctx, ("approver", role, branch_id), make)


@dataclass
class Rec:
    """A record made over the API, as it stands after the last step."""

    body: dict[str, Any]
    url: str
    etag: str
    project: dict[str, Any]
    approver: str | None = None

    @property
    def id(self) -> str:
        return str(self.body["id"])


def record_body(ctx: Ctx, project_id: str, category_id: str, **extra: Any) -> dict[str, Any]:
    return {"channel": "hotline", "projectId": project_id, "categoryId": category_id,
            "subject": f"A-only complaint {ctx.mark}", "description": f"A's secret leak {ctx.mark}",
            "contactNote": f"A's caller {ctx.mark}", **extra}


async def new_record(ctx: Ctx, register: str = "complaint", project: dict[str, Any] | None = None,
                     **extra: Any) -> Rec:
    if project is None:
        project, _ = await shared(ctx, "complaints-project", functools.partial(_new_project, ctx))
    response = await ctx.client.post(BASES[register], headers=ctx.auth,
                                     json=record_body(ctx, project["id"], await category(ctx), **extra))
    body = await ok(response, 201)
    return Rec(body, response.headers["location"], response.headers["etag"], project)


async def step(ctx: Ctx, rec: Rec, action: str, body: dict[str, Any], status: int = 200,
               auth: dict[str, str] | None = None) -> Rec:
    response = await ctx.client.post(f"{rec.url}/{action}", json=body,
                                     headers={**(auth or ctx.auth), "If-Match": rec.etag})
    rec.body = await ok(response, status)
    rec.etag = response.headers["etag"]
    return rec


async def refresh(ctx: Ctx, rec: Rec) -> Rec:
    response = await ctx.client.get(rec.url, headers=ctx.auth)
    rec.body = await ok(response)
    rec.etag = response.headers["etag"]
    return rec


async def decide(ctx: Ctx, rec: Rec, approve: bool, comment: str = "reviewed") -> dict[str, Any]:
    """The pending proposal's approval request decided by the record's approver."""
    assert rec.approver is not None
    request_id = rec.body["proposals"][-1]["approvalRequestId"]
    auth = await _token_of(ctx, rec.approver, APPROVER_SCOPES)
    decided = await ok(await ctx.client.post(f"/api/v1/approvals/requests/{request_id}/"
                                             f"{'approve' if approve else 'reject'}",
                                             json={"comment": comment}, headers=auth))
    await refresh(ctx, rec)
    return decided  # type: ignore[no-any-return]


LOOP = ["received", "investigating", "proposal", "approval", "negotiation", "handling", "feedback", "closed"]


async def record_in(ctx: Ctx, state: str, register: str = "complaint", **extra: Any) -> Rec:
    """A record taken over the API to ``state`` (a loop state, or ``litigation``) along the
    plain path: an apology, approved, agreed."""
    rec = await new_record(ctx, register, **extra)
    if state == "received":
        return rec
    target = LOOP.index("proposal") if state == "litigation" else LOOP.index(state)
    # Someone to decide the proposal chain's first step, whether it is proposed here or next.
    rec.approver = await approver(ctx, rec.project["parentId"])
    moves: list[tuple[str, dict[str, Any]]] = [
        ("investigate", {"reply": "We are looking into it."}),
        ("findings", {"cause": f"A's secret cause {ctx.mark}", "responsibleParty": "contractor"}),
        ("proposals", {"kind": "apology", "description": "A written apology."}),
        ("", {}),  # the approval
        ("negotiations", {"customerResponse": "Accepted.", "agreed": True}),
        ("handling", {"result": "Apologised in person.", "check": "Confirmed by phone."}),
        ("feedback", {"opinion": "Fine.", "satisfaction": 4}),
    ]
    for action, body in moves[:target]:
        if action:
            await step(ctx, rec, action, body)
        else:
            await decide(ctx, rec, approve=True)
    if state == "litigation":
        await step(ctx, rec, "litigation", {"caseReference": f"(2026)粤0305民初{_unique()[:4]}号"})
    assert rec.body["status"] == state, rec.body["status"]
    return rec


def photo(content: bytes | None = None) -> tuple[bytes, dict[str, Any]]:
    # A JPEG's own first bytes: completion checks that the bytes are the declared format.
    data = content or b"\xff\xd8\xff\xe0" + f"JPEG {_unique()}".encode()
    return data, {"filename": "leak.jpg", "contentType": "image/jpeg", "size": len(data),
                  "sha256": hashlib.sha256(data).hexdigest()}


async def put_bytes(client: Any, upload: dict[str, Any], content: bytes) -> Any:
    """PUT the bytes to the presigned URL as a client would (the local store is the app)."""
    parts = urlsplit(upload["url"])
    return await client.put(f"{parts.path}?{parts.query}", content=content, headers=upload["headers"])


async def attachment(ctx: Ctx, rec: Rec, *, stored: bool = True, uploaded: bool = True,
                     auth: dict[str, str] | None = None, base: str | None = None) -> dict[str, Any]:
    content, body = photo()
    started = await ok(await ctx.client.post(f"{base or rec.url}/attachments", json=body,
                                             headers=auth or ctx.auth), 201)
    if uploaded:
        put = await put_bytes(ctx.client, started["upload"], content)
        assert put.status_code == 200, put.text
    if stored:
        complete = f"{MINE if base else BASE}/attachments/{started['attachment']['id']}/complete"
        return await ok(await ctx.client.post(complete, headers=auth or ctx.auth))  # type: ignore[no-any-return]
    return started["attachment"]  # type: ignore[no-any-return]


async def owner(ctx: Ctx) -> tuple[dict[str, str], dict[str, Any], str]:
    """A home owner: (their token's headers, their customer, the unit they own). The acting
    account when it is one (the isolation matrix's subject), else a new owner account."""
    from sqlalchemy import update

    from app.auth.models import AccountKind
    from app.auth.services import create_account
    from app.core.audit import Actor
    from app.domains.customers.models import Customer
    from app.tenants.models import Tenant

    customer, _, _ = await _new_customer(ctx)
    try:
        account, auth = str(uuid.UUID(ctx.subject)), ctx.auth
    except ValueError:
        async with ctx.db.platform_transaction() as session:
            session.info["actor"] = Actor(kind="operator", id="operator@test")
            tenant_id = await session.scalar(select(Tenant.id).where(Tenant.slug == ctx.tenant))
            created = await create_account(session, tenant_id=tenant_id, kind=AccountKind.owner,
                                           username=f"owner-{_unique()}", display_name=f"Owner {ctx.mark}",
                                           password=None, scopes=["owner:self"])
        account = str(created.id)
        auth = await _token_of(ctx, account, ["owner:self"])
    async with ctx.db.tenant_transaction(f"t_{ctx.tenant}") as session:
        await session.execute(update(Customer).where(Customer.id == uuid.UUID(customer["id"]))
                              .values(account_id=uuid.UUID(account)))
    return auth, customer, customer["units"][0]["unitId"]


async def owners_record(ctx: Ctx, state: str = "received") -> tuple[Rec, dict[str, str]]:
    """A complaint about an owner's unit, taken by staff to ``state``; and the owner's headers."""
    auth, customer, unit = await owner(ctx)
    project = await ok(await ctx.client.get(f"/api/v1/org/projects/{customer['units'][0]['projectId']}",
                                            headers=ctx.auth))
    rec = await new_record(ctx, "complaint", project=project, customerId=customer["id"], unitId=unit)
    if state != "received":
        rec.approver = await approver(ctx, project["parentId"])
        for action, body in [("investigate", {"reply": "On it."}),
                             ("findings", {"cause": "Seal failed.", "responsibleParty": "contractor"}),
                             ("proposals", {"kind": "repair", "description": "Reseal.", "dueDate": "2030-01-31"})]:
            await step(ctx, rec, action, body)
        await decide(ctx, rec, approve=True)
        await step(ctx, rec, "negotiations", {"customerResponse": "OK.", "agreed": True})
        await step(ctx, rec, "handling", {"result": "Resealed.", "check": "No leak after rain."})
    assert rec.body["status"] == state
    return rec, auth


# ------------------------------------------------------------------------ factories

TRANSITION_BODIES: dict[str, tuple[str, dict[str, Any]]] = {
    # tail -> (the state the record must be in, a valid body)
    "investigate": ("received", {"reply": "We have your complaint and are looking into it."}),
    "findings": ("investigating", {"cause": "The shower tray seal failed.", "responsibleParty": "contractor"}),
    "proposals": ("proposal", {"kind": "compensation", "amount": "3000.00", "description": "Compensation."}),
    "negotiations": ("negotiation", {"customerResponse": "Agreed.", "agreed": True}),
    "handling": ("handling", {"result": "Repaired.", "check": "Checked after rain."}),
    "feedback": ("feedback", {"opinion": "Satisfied.", "satisfaction": 5}),
    "litigation": ("proposal", {"caseReference": "(2026)粤0305民初1234号", "court": "南山区人民法院"}),
    "litigation-outcome": ("litigation", {"outcome": "Settled in court."}),
    "reopen": ("closed", {"reason": "The leak is back."}),
    "pause": ("investigating", {"reason": "customer", "note": "Waiting for photos."}),
    "resume": ("paused", {"note": "Photos received."}),
    "notes": ("received", {"body": "Called back.", "internal": False}),
    "capa-letters": ("closed", {"department": "工程管理部", "requestedAction": "Check every tray.",
                                "dueDate": "2030-01-31"}),
}


def _made(rec: Rec, ctx: Ctx, bodies: dict[str, Any]) -> Made:
    return Made(params={"record_id": rec.id}, values=[rec.id, rec.body["number"], rec.body["subject"],
                                                      rec.body["description"], rec.body["contactNote"]],
                url=rec.url, bodies=bodies)


def _records(register: str) -> Factory:
    async def make(ctx: Ctx) -> Made:
        project, _ = await _new_project(ctx)
        return Made(params={}, values=[], url=None,
                    bodies={"POST": record_body(ctx, project["id"], await category(ctx))})

    return make


def _record(register: str) -> Factory:
    async def make(ctx: Ctx) -> Made:
        rec = await new_record(ctx, register)
        return _made(rec, ctx, {"PATCH": {"severity": "high", "subject": f"Renamed {ctx.mark}"}})

    return make


def _transition(register: str, tail: str) -> Factory:
    state, body = TRANSITION_BODIES[tail]

    async def make(ctx: Ctx) -> Made:
        rec = await record_in(ctx, "investigating" if state == "paused" else state, register)
        if state == "paused":
            await step(ctx, rec, "pause", {"reason": "third_party", "note": "Waiting on the supplier."})
        return _made(rec, ctx, {"POST": body})

    return make


def _attachments(register: str) -> Factory:
    async def make(ctx: Ctx) -> Made:
        rec = await new_record(ctx, register)
        return _made(rec, ctx, {"POST": photo()[1]})

    return make


def _attachment(*, stored: bool) -> Factory:
    async def make(ctx: Ctx) -> Made:
        rec = await new_record(ctx)
        a = await attachment(ctx, rec, stored=stored)
        return Made(params={"attachment_id": a["id"]}, values=[a["id"], rec.id, rec.body["number"]],
                    url=f"{ATTACHMENTS}/{a['id']}", bodies={"POST": {}})

    return make


async def _letter(ctx: Ctx) -> Made:
    rec = await record_in(ctx, "closed")
    letter = await ok(await ctx.client.post(f"{rec.url}/capa-letters", headers=ctx.auth, json={
        "department": f"A-only department {ctx.mark}", "requestedAction": f"A's secret action {ctx.mark}",
        "dueDate": "2030-01-31"}), 201)
    return Made(params={"letter_id": letter["id"]}, values=[letter["id"], letter["number"], letter["department"]],
                url=f"{LETTERS}/{letter['id']}", bodies={"POST": {"response": "Every tray was checked."}})


async def _categories(ctx: Ctx) -> Made:
    return Made(params={}, values=[], url=None, bodies={"POST": {
        "code": f"C{_unique().upper()}", "name": f"New category {ctx.mark}", "quality": True}})


async def _category(ctx: Ctx) -> Made:
    created, location = await _create(ctx, f"{BASE}/categories", {
        "code": f"C{_unique().upper()}", "name": f"A-only category {ctx.mark}", "quality": False,
        "resolutionMinutes": 900})
    return Made(params={"category_id": created["id"]}, values=[created["id"], created["code"], created["name"]],
                url=location, bodies={"PATCH": {"name": f"Renamed {ctx.mark}", "responseMinutes": 60}})


async def _settings(ctx: Ctx) -> Made:
    return Made(params={}, values=[], url=f"{BASE}/settings", bodies={"PUT": {
        "responseMinutes": 180, "resolutionMinutes": 2700, "warnPercent": 75,
        "escalation": [{"afterPercent": 100, "at": "project"}, {"afterPercent": 200, "at": "group"}]}})


async def _statistics_exports(ctx: Ctx) -> Made:
    return Made(params={}, values=[], url=None, bodies={"POST": {"month": "2026-01", "months": 3}})


async def _statistics_export(ctx: Ctx) -> Made:
    # Requested as the ctx's caller and run in-process: a worker taking a task sent here could race it.
    from app.core.audit import SYSTEM, Actor
    from app.core.jobs import create_job, run_job
    from app.domains.access.authz import SYSTEM_PRINCIPAL, Authorizer
    from app.domains.complaints import statistics

    await new_record(ctx)
    async with ctx.db.tenant_transaction(f"t_{ctx.tenant}") as session:
        session.info["actor"] = Actor(kind="user", id=ctx.subject, client_id="test-client")
        job = await create_job(session, statistics.EXPORT_KIND)
    async with ctx.db.tenant_transaction(f"t_{ctx.tenant}") as session:
        session.info["actor"] = SYSTEM
        period = await statistics.period_of(session, "2020-01", 60)
        authz = Authorizer(principal=SYSTEM_PRINCIPAL, whole_group=True)
        assert await run_job(session, job.id, statistics.EXPORT_KIND,
                             lambda progress: statistics.run_export(session, progress, authz, period, None))
    return Made(params={"job_id": str(job.id)}, values=[str(job.id)], url=f"/api/v1/jobs/{job.id}")


async def _my_complaints(ctx: Ctx) -> Made:
    auth, _, unit = await owner(ctx)
    return Made(params={}, values=[], url=None, auth=auth, bodies={"POST": {
        "unitId": unit, "subject": f"Owner's complaint {ctx.mark}", "description": "The window leaks."}})


def _my_complaint(state: str, body: dict[str, Any] | None) -> Factory:
    async def make(ctx: Ctx) -> Made:
        rec, auth = await owners_record(ctx, state)
        return Made(params={"record_id": rec.id}, values=[rec.id, rec.body["number"], rec.body["subject"]],
                    url=f"{MINE}/{rec.id}", auth=None if auth is ctx.auth else auth,
                    bodies={"POST": body} if body is not None else {})

    return make


def _my_attachment(*, stored: bool) -> Factory:
    async def make(ctx: Ctx) -> Made:
        rec, auth = await owners_record(ctx)
        a = await attachment(ctx, rec, stored=stored, auth=auth, base=f"{MINE}/{rec.id}")
        return Made(params={"attachment_id": a["id"]}, values=[a["id"], rec.id, rec.body["number"]],
                    url=f"{MINE}/{rec.id}", auth=None if auth is ctx.auth else auth, bodies={"POST": {}})

    return make


async def _calendars(ctx: Ctx) -> Made:
    return Made(params={}, values=[], url=None, bodies={"POST": {
        "code": f"C{_unique()}", "name": f"New calendar {ctx.mark}",
        "holidays": [{"name": "National Day", "start": "2031-10-01", "days": 7}],
        "makeUpDays": [{"date": "2031-09-28", "name": "National Day"}]}})


async def _calendar(ctx: Ctx) -> Made:
    created, location = await _create(ctx, CALENDARS, {
        "code": f"C{_unique()}", "name": f"A-only calendar {ctx.mark}", "workStart": "08:30", "workEnd": "17:30",
        "holidays": [{"name": f"A's holiday {ctx.mark}", "start": "2031-05-01", "days": 3}]})
    return Made(params={"calendar_id": created["id"]}, values=[created["id"], created["code"], created["name"]],
                url=location, bodies={"PUT": {"name": f"Renamed {ctx.mark}", "lunchMinutes": 60}})


def _register_factories(register: str, base: str) -> dict[str, Factory]:
    factories: dict[str, Factory] = {
        base: _records(register),
        f"{base}/{{record_id:uuid}}": _record(register),
        f"{base}/{{record_id:uuid}}/attachments": _attachments(register),
    }
    for tail in TRANSITION_BODIES:
        factories[f"{base}/{{record_id:uuid}}/{tail}"] = _transition(register, tail)
    return factories


FACTORIES: dict[str, Factory] = {
    **_register_factories("complaint", BASE),
    **_register_factories("dispute", DISPUTES),
    f"{BASE}/categories": _categories,
    f"{BASE}/categories/{{category_id:uuid}}": _category,
    f"{BASE}/settings": _settings,
    f"{BASE}/statistics/exports": _statistics_exports,
    f"{BASE}/statistics/exports/{{job_id:uuid}}/csv": _statistics_export,
    f"{BASE}/statistics/exports/{{job_id:uuid}}/xlsx": _statistics_export,
    f"{LETTERS}/{{letter_id:uuid}}": _letter,
    f"{LETTERS}/{{letter_id:uuid}}/response": _letter,
    f"{ATTACHMENTS}/{{attachment_id:uuid}}": _attachment(stored=True),
    f"{ATTACHMENTS}/{{attachment_id:uuid}}/complete": _attachment(stored=False),
    f"{ATTACHMENTS}/{{attachment_id:uuid}}/download": _attachment(stored=True),
    MINE: _my_complaints,
    f"{MINE}/{{record_id:uuid}}": _my_complaint("received", None),
    f"{MINE}/{{record_id:uuid}}/notes": _my_complaint("received", {"body": "Another photo attached."}),
    f"{MINE}/{{record_id:uuid}}/rating": _my_complaint("feedback", {"satisfaction": 4, "opinion": "Good work."}),
    f"{MINE}/{{record_id:uuid}}/attachments": _my_complaint("received", photo()[1]),
    f"{MINE}/attachments/{{attachment_id:uuid}}/complete": _my_attachment(stored=False),
    f"{MINE}/attachments/{{attachment_id:uuid}}/download": _my_attachment(stored=True),
    CALENDARS: _calendars,
    f"{CALENDARS}/{{calendar_id:uuid}}": _calendar,
}


# ---------------------------------------------------------------------- the subtree matrix


def _records_of(register: str) -> Callable[[], Select[Any]]:
    def truth() -> Select[Any]:
        from app.domains.complaints.models import Complaint, Register
        from app.domains.org.models import OrgNode

        return (select(Complaint.id, OrgNode.path, Complaint.subject, Complaint.version)
                .join(OrgNode, OrgNode.id == Complaint.node_id).where(Complaint.register == Register(register)))

    return truth


def _attachments_truth() -> Select[Any]:
    from app.domains.complaints.models import Complaint, ComplaintAttachment
    from app.domains.org.models import OrgNode

    # An attachment sits where its record does.
    return (select(ComplaintAttachment.id, OrgNode.path, ComplaintAttachment.sha256, ComplaintAttachment.version)
            .join(Complaint, Complaint.id == ComplaintAttachment.complaint_id)
            .join(OrgNode, OrgNode.id == Complaint.node_id))


def _letters_truth() -> Select[Any]:
    from app.domains.complaints.models import CapaLetter, Complaint
    from app.domains.org.models import OrgNode

    return (select(CapaLetter.id, OrgNode.path, CapaLetter.department, CapaLetter.version)
            .join(Complaint, Complaint.id == CapaLetter.complaint_id).join(OrgNode, OrgNode.id == Complaint.node_id))


# The subtree world's waterproofing category (set when it is populated), for creating bodies.
_WORLD: dict[str, str] = {}


async def _populate(seed: WorldSeed) -> None:
    """Per project: a complaint with a stored photo, and a dispute; in one project of each
    branch, a closed complaint with a work-liaison letter."""
    ctx = Ctx(client=seed.client, db=seed.db, tenant=seed.slug, subject="subtree-admin", auth=seed.admin,
              mark="subtree")
    _WORLD["category"] = await category(ctx)
    for project in seed.projects:
        p = project
        rec = await new_record(ctx, "complaint", project=project, subject=f"{p['name']}的投诉",
                               description="卫生间渗水")
        await attachment(ctx, rec)
        await new_record(ctx, "dispute", project=project, subject=f"{p['name']}的纠纷", description="合同纠纷",
                         counterparty="某装修公司")
    for code in ("SZ1", "GZ1"):
        project = seed.nodes[code]
        rec = await new_record(ctx, "complaint", project=project, subject=f"{project['name']}的已结投诉")
        rec.approver = await approver(ctx, project["parentId"])
        for action, body in [("investigate", {"reply": "收到"}),
                             ("findings", {"cause": "密封不良", "responsibleParty": "contractor"}),
                             ("proposals", {"kind": "apology", "description": "致歉"})]:
            await step(ctx, rec, action, body)
        await decide(ctx, rec, approve=True)
        for action, body in [("negotiations", {"customerResponse": "同意", "agreed": True}),
                             ("handling", {"result": "已维修", "check": "已验收"}),
                             ("feedback", {"opinion": "满意", "satisfaction": 5})]:
            await step(ctx, rec, action, body)
        await ok(await ctx.client.post(f"{rec.url}/capa-letters", headers=ctx.auth, json={
            "department": f"{code}工程管理部", "requestedAction": "排查", "dueDate": "2030-01-31"}), 201)


def _detail_routes(base: str, kind: str) -> dict[str, str]:
    tails = ["", "/attachments", *(f"/{t}" for t in TRANSITION_BODIES)]
    return {f"{base}/{{record_id:uuid}}{tail}": kind for tail in tails}


def _write_bodies(base: str) -> dict[tuple[str, str], Callable[[Any, Any], Any]]:
    bodies: dict[tuple[str, str], Callable[[Any, Any], Any]] = {
        (f"{base}/{{record_id:uuid}}", "PATCH"): lambda w, u: {"severity": "critical"},
        (f"{base}/{{record_id:uuid}}/attachments", "POST"): lambda w, u: photo()[1],
    }
    for tail, (_, body) in TRANSITION_BODIES.items():
        bodies[(f"{base}/{{record_id:uuid}}/{tail}", "POST")] = lambda w, u, b=body: b
    return bodies


def _create_body(parent: uuid.UUID) -> dict[str, Any]:
    return {"channel": "hotline", "projectId": str(parent), "categoryId": _WORLD["category"], "subject": "x",
            "description": "x", "contactNote": "x"}


_NO_NODE_STATS = ("aggregates of the records the caller may read: Authorizer.visible on complaints.read "
                  "(tests/domains/test_complaints_stats.py)")
_OWNERS = "an owner's own records (owner:self): the customer's account link decides, not a node " \
          "(tests/domains/test_complaints_owner.py)"
_POLICY = "the group's complaint policy (categories, SLA targets): tenant-wide configuration, changed with " \
          "complaints.configure at the group node (tests/domains/test_complaints.py)"
_CALENDARS = "working calendars are tenant-wide configuration, changed with calendars.manage at the group node " \
             "(tests/domains/test_calendars.py)"

SUBTREE = SubtreeSpec(
    kinds={
        "complaint": Kind("complaints.read", _records_of("complaint")),
        "dispute": Kind("complaints.read", _records_of("dispute")),
        "complaint_attachment": Kind("complaints.read", _attachments_truth),
        "capa_letter": Kind("complaints.read", _letters_truth),
    },
    lists={BASE: "complaint", DISPUTES: "dispute", LETTERS: "capa_letter"},
    details={
        **_detail_routes(BASE, "complaint"),
        **_detail_routes(DISPUTES, "dispute"),
        f"{ATTACHMENTS}/{{attachment_id:uuid}}": "complaint_attachment",
        f"{ATTACHMENTS}/{{attachment_id:uuid}}/complete": "complaint_attachment",
        f"{ATTACHMENTS}/{{attachment_id:uuid}}/download": "complaint_attachment",
        f"{LETTERS}/{{letter_id:uuid}}": "capa_letter",
        f"{LETTERS}/{{letter_id:uuid}}/response": "capa_letter",
    },
    read_urls={"complaint": f"{BASE}/{{}}", "dispute": f"{DISPUTES}/{{}}",
               "complaint_attachment": f"{ATTACHMENTS}/{{}}", "capa_letter": f"{LETTERS}/{{}}"},
    no_node={
        f"{BASE}/categories": _POLICY,
        f"{BASE}/categories/{{category_id:uuid}}": _POLICY,
        f"{BASE}/settings": _POLICY,
        f"{BASE}/statistics": _NO_NODE_STATS,
        f"{BASE}/statistics/exports": _NO_NODE_STATS + "; a job of its requester",
        f"{BASE}/statistics/exports/{{job_id:uuid}}/csv": "an export is a job of its requester",
        f"{BASE}/statistics/exports/{{job_id:uuid}}/xlsx": "an export is a job of its requester",
        f"{BASE}/recurring": _NO_NODE_STATS,
        MINE: _OWNERS,
        f"{MINE}/categories": "the categories an owner may choose from: tenant-wide",
        f"{MINE}/{{record_id:uuid}}": _OWNERS,
        f"{MINE}/{{record_id:uuid}}/notes": _OWNERS,
        f"{MINE}/{{record_id:uuid}}/rating": _OWNERS,
        f"{MINE}/{{record_id:uuid}}/attachments": _OWNERS,
        f"{MINE}/attachments/{{attachment_id:uuid}}/complete": _OWNERS,
        f"{MINE}/attachments/{{attachment_id:uuid}}/download": _OWNERS,
        CALENDARS: _CALENDARS,
        f"{CALENDARS}/{{calendar_id:uuid}}": _CALENDARS,
    },
    write_bodies={
        **_write_bodies(BASE),
        **_write_bodies(DISPUTES),
        (f"{LETTERS}/{{letter_id:uuid}}/response", "POST"): lambda w, u: {"response": "done"},
    },
    creates={
        BASE: ("project", _create_body, "complaints.write"),
        DISPUTES: ("project", _create_body, "complaints.write"),
    },
    populate=_populate,
)
