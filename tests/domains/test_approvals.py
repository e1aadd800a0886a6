"""The approval engine over HTTP: a three-level chain (project manager → branch manager →
group GM) with a rejection, a resubmission and the full history; the precise problems of
bad actions; concurrent approvals; delegation; inboxes; notifications in the outbox.

Actors are real platform accounts with role assignments in the tenant, and every token
names its account explicitly.
"""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, select, text

from app.auth.models import AccountKind, OutboxMessage, OutboxStatus
from app.auth.outbox import deliver_message
from app.auth.services import create_account
from app.core import audit
from app.core.audit import Actor, tenant_audit
from app.core.ids import new_id
from app.domains.access.authz import register_permissions
from app.domains.access.models import Role, RoleAssignment
from app.domains.approvals import registry
from app.domains.approvals.models import ApprovalRequest
from app.domains.approvals.registry import register_request_type
from app.domains.org.models import NodeKind, OrgNode
from app.tenants.models import Tenant
from tests.conftest import OPERATOR, bearer

API = "/api/v1/approvals"
PROBLEM = "urn:cornerstone:problem:"

# ------------------------------------------------------------------- a test request type

SUBMIT = "test.approvals.submit"
register_permissions({SUBMIT: "Tests: submit the engine's test request types."})
TEST_TYPE = "test_purchase"


async def _on_approved(session: Any, request: ApprovalRequest) -> None:
    if request.payload.get("failOnApproval"):
        # The domain refuses: the approval must not stand either.
        from app.core.problems import ProblemError

        raise ProblemError("conflict", "The test domain refuses this approval.")
    # What the domain writes, with the transaction it ran in (compared with the request's).
    txid = await session.scalar(text("SELECT txid_current()"))
    await audit.record(session, action="test.purchase.approved", entity_type="test_purchase",
                       entity_id=request.id, after={"txid": txid, "item": request.payload.get("item")})


async def _on_rejected(session: Any, request: ApprovalRequest) -> None:
    await audit.record(session, action="test.purchase.rejected", entity_type="test_purchase",
                       entity_id=request.id, after={"item": request.payload.get("item")})


register_request_type(TEST_TYPE, "Test purchase", permission=SUBMIT, on_approved=_on_approved,
                      on_rejected=_on_rejected)


# ------------------------------------------------------------------------------ fixtures

@dataclass
class Org:
    slug: str
    tenant_id: uuid.UUID
    root: uuid.UUID
    branch: uuid.UUID
    project: uuid.UUID


async def make_org(db: Any, new_tenant: Any, prefix: str = "ap") -> Org:
    slug = await new_tenant(prefix)
    async with db.platform_session() as session:
        tenant_id = await session.scalar(select(Tenant.id).where(Tenant.slug == slug))
    async with db.tenant_transaction(f"t_{slug}") as session:
        root = await session.scalar(select(OrgNode).where(OrgNode.kind == NodeKind.group))
        branch = _node(root, NodeKind.branch, "SZ", "Shenzhen")
        project = _node(branch, NodeKind.project, "SZ-BAY", "Bay Garden")
        session.add_all([branch, project])
    return Org(slug=slug, tenant_id=tenant_id, root=root.id, branch=branch.id, project=project.id)


def _node(parent: OrgNode, kind: NodeKind, code: str, name: str) -> OrgNode:
    node_id = new_id()
    return OrgNode(id=node_id, kind=kind, parent_id=parent.id, path=f"{parent.path}/{node_id}",
                   depth=parent.depth + 1, code=code, name=name)


async def make_account(db: Any, org: Org, name: str) -> str:
    async with db.platform_transaction() as session:
        session.info["actor"] = Actor(kind="operator", id=OPERATOR)
        account = await create_account(session, tenant_id=org.tenant_id, kind=AccountKind.staff,
                                       username=f"{name}_{uuid.uuid4().hex[:8]}", display_name=name, password=None,
                                       scopes=["approvals:read", "approvals:write"])
    return str(account.id)


async def make_role(db: Any, org: Org, code: str, permissions: list[str]) -> None:
    async with db.tenant_transaction(f"t_{org.slug}") as session:
        session.add(Role(code=code, name=code, permissions=permissions))


async def assign(db: Any, org: Org, account: str, role: str, node: uuid.UUID) -> None:
    async with db.tenant_transaction(f"t_{org.slug}") as session:
        role_id = await session.scalar(select(Role.id).where(Role.code == role))
        session.add(RoleAssignment(account_id=uuid.UUID(account), role_id=role_id, node_id=node))


def as_(mint: Any, org: Org, account: str) -> dict[str, str]:
    return bearer(mint(tenant=org.slug, subject=account))


@dataclass
class Cast:
    """Everyone the three-level chain needs."""

    org: Org
    admin: str  # configures chains
    clerk: str  # submits
    pm: str
    pm2: str  # a second project manager of the same project
    bm: str
    gm: str
    outsider: str  # staff with no role at all


THREE_LEVELS = [
    {"name": "Project manager", "role": "ap_pm", "at": "project"},
    {"name": "Branch manager", "role": "ap_bm", "at": "branch"},
    {"name": "Group GM", "role": "ap_gm", "at": "group"},
]


async def make_cast(db: Any, new_tenant: Any, client: Any, mint: Any, *, chain: list[dict[str, Any]] | None = None
                    ) -> Cast:
    org = await make_org(db, new_tenant)
    names = ["admin", "clerk", "pm", "pm2", "bm", "gm", "outsider"]
    accounts = {n: await make_account(db, org, n) for n in names}
    await make_role(db, org, "ap_admin", ["approvals.configure", "approvals.read"])
    await make_role(db, org, "ap_clerk", [SUBMIT])
    for code in ("ap_pm", "ap_bm", "ap_gm"):
        await make_role(db, org, code, ["approvals.read", "org.read"])
    await assign(db, org, accounts["admin"], "ap_admin", org.root)
    await assign(db, org, accounts["clerk"], "ap_clerk", org.project)
    await assign(db, org, accounts["pm"], "ap_pm", org.project)
    await assign(db, org, accounts["pm2"], "ap_pm", org.project)
    await assign(db, org, accounts["bm"], "ap_bm", org.branch)
    await assign(db, org, accounts["gm"], "ap_gm", org.root)
    cast = Cast(org=org, **accounts)
    put = await client.put(f"{API}/chains/{TEST_TYPE}", json={"steps": chain or THREE_LEVELS},
                           headers={**as_(mint, org, cast.admin), "If-Match": '"0"'})
    assert put.status_code == 200, put.text
    return cast


async def submit(client: Any, mint: Any, cast: Cast, **extra: Any) -> dict[str, Any]:
    body = {"type": TEST_TYPE, "title": "Buy a lawn mower", "nodeId": str(cast.org.project),
            "payload": {"item": "lawn mower", "price": "1200.00"}, "reason": "the old one broke", **extra}
    created = await client.post(f"{API}/requests", json=body, headers=as_(mint, cast.org, cast.clerk))
    assert created.status_code == 201, created.text
    return created.json()  # type: ignore[no-any-return]


async def act(client: Any, mint: Any, cast: Cast, who: str, request_id: str, action: str,
              body: dict[str, Any] | None = None) -> Any:
    return await client.post(f"{API}/requests/{request_id}/{action}", json=body or {},
                             headers=as_(mint, cast.org, who))


async def inbox_ids(client: Any, mint: Any, cast: Cast, who: str) -> list[str]:
    answer = await client.get(f"{API}/inbox", headers=as_(mint, cast.org, who))
    assert answer.status_code == 200, answer.text
    return [r["id"] for r in answer.json()["items"]]


def problem(answer: Any, status: int, slug: str) -> str:
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"] == "application/problem+json"
    assert answer.json()["type"] == PROBLEM + slug, answer.text
    return answer.json()["detail"]  # type: ignore[no-any-return]


async def tenant_rows(db: Any, org: Org, stmt: Any) -> list[Any]:
    async with db.tenant_session(f"t_{org.slug}") as session:
        return list((await session.execute(stmt)).all())


# --------------------------------------------------------------------------------- tests

async def test_three_levels_with_a_rejection_and_a_resubmission(client: Any, db: Any, new_tenant: Any,
                                                               mint: Any) -> None:
    cast = await make_cast(db, new_tenant, client, mint)
    org = cast.org

    created = await submit(client, mint, cast)
    rid = created["id"]
    assert (created["status"], created["round"], created["currentStep"]) == ("pending", 1, 1)
    assert created["currentStepName"] == "Project manager"
    assert sorted(created["rounds"][0]["steps"][0]["approvers"]) == sorted([cast.pm, cast.pm2])

    # Inboxes: only the current step's approvers see it.
    assert rid in await inbox_ids(client, mint, cast, cast.pm)
    assert rid not in await inbox_ids(client, mint, cast, cast.bm)

    # Level 1 approves; level 2 rejects with a comment.
    first = await act(client, mint, cast, cast.pm, rid, "approve", {"comment": "fine by the project"})
    assert first.status_code == 200, first.text
    assert (first.json()["currentStep"], first.json()["currentStepName"]) == (2, "Branch manager")
    assert first.headers["etag"] == f'"{first.json()["version"]}"'
    assert rid not in await inbox_ids(client, mint, cast, cast.pm2)  # the step is decided for both
    assert rid in await inbox_ids(client, mint, cast, cast.bm)
    rejected = await act(client, mint, cast, cast.bm, rid, "reject", {"comment": "too expensive: find a cheaper one"})
    assert rejected.status_code == 200, rejected.text
    assert (rejected.json()["status"], rejected.json()["currentStep"]) == ("rejected", None)

    # Revise and resubmit: round 2 goes through the whole chain again.
    again = await act(client, mint, cast, cast.clerk, rid, "resubmit", {
        "reason": "a cheaper model", "payload": {"item": "lawn mower", "price": "800.00"}})
    assert again.status_code == 200, again.text
    assert (again.json()["status"], again.json()["round"], again.json()["currentStep"]) == ("pending", 2, 1)
    for who in (cast.pm, cast.bm, cast.gm):
        step = await act(client, mint, cast, who, rid, "approve", {"comment": f"ok ({who[:8]})"})
        assert step.status_code == 200, step.text
    final = step.json()
    assert (final["status"], final["currentStep"], final["decidedAt"] is not None) == ("approved", None, True)

    # The full history, round by round.
    got = await client.get(f"{API}/requests/{rid}", headers=as_(mint, org, cast.clerk))
    assert got.status_code == 200 and got.headers["etag"] == f'"{got.json()["version"]}"'
    history = got.json()
    assert history["payload"] == {"item": "lawn mower", "price": "800.00"}
    one, two = history["rounds"]
    assert (one["round"], one["reason"], two["round"], two["reason"]) == (1, "the old one broke", 2, "a cheaper model")
    assert [s["state"] for s in one["steps"]] == ["approved", "rejected", "stopped"]
    assert [s["state"] for s in two["steps"]] == ["approved", "approved", "approved"]
    assert [s["name"] for s in two["steps"]] == ["Project manager", "Branch manager", "Group GM"]
    assert [(a["action"], a["step"], a["actor"]) for a in one["actions"]] == [
        ("submit", None, cast.clerk), ("approve", 1, cast.pm), ("reject", 2, cast.bm)]
    assert one["actions"][2]["comment"] == "too expensive: find a cheaper one"
    assert [(a["action"], a["step"], a["actor"]) for a in two["actions"]] == [
        ("resubmit", None, cast.clerk), ("approve", 1, cast.pm), ("approve", 2, cast.bm), ("approve", 3, cast.gm)]
    assert two["actions"][0]["data"]["previousPayload"] == {"item": "lawn mower", "price": "1200.00"}
    assert two["steps"][1]["approvers"] == [cast.bm] and two["steps"][2]["approvers"] == [cast.gm]

    # The domain's callbacks ran: on the rejection, and on approval in the approval's own transaction.
    rows = await tenant_rows(db, org, select(tenant_audit.c.action, tenant_audit.c.actor_id, tenant_audit.c.after)
                             .where(tenant_audit.c.entity_id == rid).order_by(tenant_audit.c.occurred_at,
                                                                              tenant_audit.c.id))
    actions = [r.action for r in rows]
    assert actions == [
        "approvals.request.submit", "approvals.request.approve_step", "test.purchase.rejected",
        "approvals.request.reject", "approvals.request.resubmit", "approvals.request.approve_step",
        "approvals.request.approve_step", "test.purchase.approved", "approvals.request.approve",
    ]
    approved = next(r for r in rows if r.action == "test.purchase.approved")
    assert approved.actor_id == cast.gm and approved.after["item"] == "lawn mower"
    request_xmin = (await tenant_rows(db, org, text(
        f'SELECT xmin::text::bigint FROM "t_{org.slug}".approval_requests WHERE id = :id'
    ).bindparams(id=uuid.UUID(rid))))[0][0]
    assert approved.after["txid"] % 2**32 == request_xmin  # the final update and the callback: one transaction

    # Notifications: each newly current step's approvers, and the submitter on each decision.
    async with db.platform_session() as session:
        sent = (await session.execute(
            select(OutboxMessage.recipient, OutboxMessage.data["event"].astext, OutboxMessage.channel)
            .where(OutboxMessage.tenant_id == org.tenant_id).order_by(OutboxMessage.created_at, OutboxMessage.id)
        )).all()
    events = sorted((r, e) for r, e, _ in sent)
    assert events == sorted([
        (cast.pm, "approval.awaiting"), (cast.pm2, "approval.awaiting"), (cast.bm, "approval.awaiting"),
        (cast.clerk, "approval.rejected"),
        (cast.pm, "approval.awaiting"), (cast.pm2, "approval.awaiting"), (cast.bm, "approval.awaiting"),
        (cast.gm, "approval.awaiting"), (cast.clerk, "approval.approved"),
    ])
    assert {c for _, _, c in sent} == {"inbox"}


async def test_bad_actions_get_precise_problems(client: Any, db: Any, new_tenant: Any, mint: Any) -> None:
    cast = await make_cast(db, new_tenant, client, mint)
    rid = (await submit(client, mint, cast))["id"]

    # Not on the step: the branch manager at step 1, an outsider, the submitter.
    detail = problem(await act(client, mint, cast, cast.bm, rid, "approve"), 403, "forbidden")
    assert "step 1 (Project manager)" in detail
    problem(await act(client, mint, cast, cast.clerk, rid, "approve"), 403, "forbidden")
    # Someone who may not even see it learns nothing about it.
    problem(await act(client, mint, cast, cast.outsider, rid, "approve"), 404, "not-found")
    problem(await client.get(f"{API}/requests/{rid}", headers=as_(mint, cast.org, cast.outsider)), 404, "not-found")
    # A rejection needs its comment.
    no_comment = await act(client, mint, cast, cast.pm, rid, "reject", {})
    assert no_comment.status_code == 422 and no_comment.json()["errors"][0]["field"] == "comment"

    # Approving twice.
    assert (await act(client, mint, cast, cast.pm, rid, "approve")).status_code == 200
    detail = problem(await act(client, mint, cast, cast.pm, rid, "approve"), 409, "conflict")
    assert "already decided" in detail
    # A decision meant for a step that has moved on.
    stale = await act(client, mint, cast, cast.bm, rid, "approve", {"step": 1})
    assert problem(stale, 409, "conflict") and stale.json()["errors"][0]["field"] == "step"
    # Only the submitter withdraws or resubmits.
    problem(await act(client, mint, cast, cast.pm, rid, "withdraw"), 403, "forbidden")
    problem(await act(client, mint, cast, cast.clerk, rid, "resubmit", {"reason": "x"}), 409, "conflict")

    # Withdrawn: nobody can act on it any more.
    withdrawn = await act(client, mint, cast, cast.clerk, rid, "withdraw", {"comment": "not needed after all"})
    assert withdrawn.status_code == 200 and withdrawn.json()["status"] == "withdrawn"
    assert "withdrawn" in problem(await act(client, mint, cast, cast.bm, rid, "approve"), 409, "conflict")
    problem(await act(client, mint, cast, cast.bm, rid, "reject", {"comment": "no"}), 409, "conflict")
    problem(await act(client, mint, cast, cast.bm, rid, "delegate", {"accountId": cast.gm}), 409, "conflict")
    problem(await act(client, mint, cast, cast.clerk, rid, "withdraw"), 409, "conflict")
    problem(await act(client, mint, cast, cast.clerk, rid, "resubmit", {"reason": "again"}), 409, "conflict")
    assert rid not in await inbox_ids(client, mint, cast, cast.bm)

    # Unknown request, unknown type, a type only its domain submits, no permission, bad amount.
    problem(await act(client, mint, cast, cast.pm, str(new_id()), "approve"), 404, "not-found")
    auth = as_(mint, cast.org, cast.clerk)
    unknown = await client.post(f"{API}/requests", headers=auth, json={"type": "nope", "title": "x",
                                                                     "nodeId": str(cast.org.project)})
    assert problem(unknown, 404, "not-found") and unknown.json()["errors"][0]["field"] == "type"
    domain_only = await client.post(f"{API}/requests", headers=auth, json={
        "type": "test_domain_only", "title": "x", "nodeId": str(cast.org.project)})
    assert domain_only.status_code == 422 and domain_only.json()["errors"][0]["field"] == "type"
    # The clerk may submit at the project only; the group node, which they cannot see, is
    # named like one that does not exist. The pm sees the project but may not submit there.
    hidden = await client.post(f"{API}/requests", headers=auth, json={
        "type": TEST_TYPE, "title": "x", "nodeId": str(cast.org.root)})
    assert problem(hidden, 404, "not-found") and hidden.json()["errors"][0]["field"] == "nodeId"
    problem(await client.post(f"{API}/requests", headers=as_(mint, cast.org, cast.pm), json={
        "type": TEST_TYPE, "title": "x", "nodeId": str(cast.org.project)}), 403, "forbidden")
    money = await client.post(f"{API}/requests", headers=auth, json={
        "type": TEST_TYPE, "title": "x", "nodeId": str(cast.org.project), "amount": "1.005"})
    assert money.status_code == 422 and money.json()["errors"][0]["field"] == "amount"
    nowhere = await client.post(f"{API}/requests", headers=auth, json={"type": TEST_TYPE, "title": "x"})
    assert nowhere.status_code == 422 and nowhere.json()["errors"][0]["field"] == "nodeId"


register_request_type("test_domain_only", "Submitted only by its domain's code")


async def test_a_chain_naming_a_missing_role_or_nobody(client: Any, db: Any, new_tenant: Any, mint: Any) -> None:
    cast = await make_cast(db, new_tenant, client, mint)
    org = cast.org
    admin = {**as_(mint, org, cast.admin)}

    # Saving a chain that names an unknown role or account: 422 per step.
    bad = await client.put(f"{API}/chains/{TEST_TYPE}", headers={**admin, "If-Match": '"1"'}, json={"steps": [
        {"name": "Ghost", "role": "no_such_role", "at": "branch"},
        {"name": "Stranger", "user": str(uuid.uuid4())},
        {"name": "Half", "role": "ap_bm"},
    ]})
    assert bad.status_code == 422
    assert {e["field"] for e in bad.json()["errors"]} == {"steps.0.role", "steps.1.user", "steps.2.at"}

    # A role the chain names is deleted afterwards: submission says which step is broken.
    await make_role(db, org, "ap_legal", ["approvals.read"])
    chain = [*THREE_LEVELS[:1], {"name": "Legal review", "role": "ap_legal", "at": "group"}]
    put = await client.put(f"{API}/chains/{TEST_TYPE}", headers={**admin, "If-Match": '"1"'}, json={"steps": chain})
    assert put.status_code == 200 and put.headers["etag"] == '"2"', put.text
    async with db.tenant_transaction(f"t_{org.slug}") as session:
        await session.execute(delete(Role).where(Role.code == "ap_legal"))
    gone = await client.post(f"{API}/requests", headers=as_(mint, org, cast.clerk), json={
        "type": TEST_TYPE, "title": "x", "nodeId": str(org.project)})
    detail = problem(gone, 409, "conflict")
    assert "'ap_legal'" in detail and "step 2 (Legal review)" in detail and "no longer exists" in detail
    assert gone.json()["errors"][0]["field"] == "steps.1.role"

    # The role exists but nobody holds it where the step needs it.
    await make_role(db, org, "ap_legal", ["approvals.read"])
    nobody = await client.post(f"{API}/requests", headers=as_(mint, org, cast.clerk), json={
        "type": TEST_TYPE, "title": "x", "nodeId": str(org.project)})
    detail = problem(nobody, 409, "conflict")
    assert "Nobody can decide step 2 (Legal review)" in detail and "'ap_legal'" in detail
    # Nothing of the refused submissions was kept.
    assert await tenant_rows(db, org, select(ApprovalRequest.id)) == []


async def test_chain_etags_and_permissions(client: Any, db: Any, new_tenant: Any, mint: Any) -> None:
    cast = await make_cast(db, new_tenant, client, mint)
    org = cast.org
    admin = as_(mint, org, cast.admin)

    got = await client.get(f"{API}/chains/{TEST_TYPE}", headers=as_(mint, org, cast.clerk))
    assert got.status_code == 200 and got.headers["etag"] == '"1"'
    assert got.json()["isDefault"] is False and [s["role"] for s in got.json()["steps"]] == ["ap_pm", "ap_bm", "ap_gm"]
    # The seeded default of the built-in change control, stored at provisioning.
    cc = (await client.get(f"{API}/chains/change_control", headers=admin)).json()
    assert [(s["role"], s["at"], s["when"]) for s in cc["steps"]] == [("department_supervisor", "branch", None),
                                                                       ("crm_head", "group", "referred")]
    listed = (await client.get(f"{API}/chains?sort=-requestType", headers=admin)).json()
    codes = [c["requestType"] for c in listed["items"]]
    assert {"change_control", TEST_TYPE} <= set(codes) and codes == sorted(codes, reverse=True)

    body = {"steps": THREE_LEVELS[:2]}
    problem(await client.put(f"{API}/chains/{TEST_TYPE}", headers=admin, json=body), 428, "precondition-required")
    problem(await client.put(f"{API}/chains/{TEST_TYPE}", headers={**admin, "If-Match": '"7"'}, json=body), 412,
            "precondition-failed")
    # Configuring needs approvals.configure at the group.
    problem(await client.put(f"{API}/chains/{TEST_TYPE}", headers={**as_(mint, org, cast.bm), "If-Match": '"1"'},
                             json=body), 403, "forbidden")
    problem(await client.get(f"{API}/chains/no_such_type", headers=admin), 404, "not-found")
    # A type with no chain yet: If-Match "0" creates it, any other tag names nothing.
    problem(await client.get(f"{API}/chains/test_domain_only", headers=admin), 404, "not-found")
    problem(await client.put(f"{API}/chains/test_domain_only", headers={**admin, "If-Match": '"3"'}, json=body),
            404, "not-found")
    # Every step conditional: small requests would need nobody.
    conditional = await client.put(f"{API}/chains/{TEST_TYPE}", headers={**admin, "If-Match": '"1"'}, json={
        "steps": [{**THREE_LEVELS[0], "minAmount": "100.00"}]})
    assert conditional.status_code == 422 and conditional.json()["errors"][0]["field"] == "steps"

    updated = await client.put(f"{API}/chains/{TEST_TYPE}", headers={**admin, "If-Match": '"1"'}, json=body)
    assert updated.status_code == 200 and updated.headers["etag"] == '"2"' and len(updated.json()["steps"]) == 2
    rows = await tenant_rows(db, org, select(tenant_audit.c.action, tenant_audit.c.actor_id).where(
        tenant_audit.c.entity_type == "approval_chain", tenant_audit.c.entity_id == TEST_TYPE)
        .order_by(tenant_audit.c.occurred_at))
    assert [(r.action, r.actor_id) for r in rows] == [("approvals.chain.create", cast.admin),
                                                      ("approvals.chain.update", cast.admin)]


async def test_amount_conditions_pick_the_steps(client: Any, db: Any, new_tenant: Any, mint: Any) -> None:
    chain = [*THREE_LEVELS[:2], {**THREE_LEVELS[2], "minAmount": "50000"}]
    cast = await make_cast(db, new_tenant, client, mint, chain=chain)
    small = await submit(client, mint, cast, amount="49999.99")
    large = await submit(client, mint, cast, amount="50000.00")
    assert [s["name"] for s in small["rounds"][0]["steps"]] == ["Project manager", "Branch manager"]
    assert [s["name"] for s in large["rounds"][0]["steps"]] == ["Project manager", "Branch manager", "Group GM"]
    assert large["amount"] == "50000.00"
    for who in (cast.pm, cast.bm):
        assert (await act(client, mint, cast, who, small["id"], "approve")).status_code == 200
    assert (await client.get(f"{API}/requests/{small['id']}", headers=as_(mint, cast.org, cast.clerk))
            ).json()["status"] == "approved"
    # A chain that depends on the amount needs one.
    missing = await client.post(f"{API}/requests", headers=as_(mint, cast.org, cast.clerk), json={
        "type": TEST_TYPE, "title": "x", "nodeId": str(cast.org.project)})
    assert missing.status_code == 422 and missing.json()["errors"][0]["field"] == "amount"


async def test_concurrent_approvals_of_one_step_one_wins(client: Any, db: Any, new_tenant: Any, mint: Any) -> None:
    cast = await make_cast(db, new_tenant, client, mint)
    for _ in range(3):
        rid = (await submit(client, mint, cast))["id"]
        answers = await asyncio.gather(act(client, mint, cast, cast.pm, rid, "approve"),
                                       act(client, mint, cast, cast.pm2, rid, "approve"))
        assert sorted(a.status_code for a in answers) == [200, 409], [a.text for a in answers]
        history = (await client.get(f"{API}/requests/{rid}", headers=as_(mint, cast.org, cast.clerk))).json()
        assert [a["action"] for a in history["rounds"][0]["actions"]] == ["submit", "approve"]
        assert history["currentStep"] == 2


async def test_a_callback_that_fails_undoes_the_approval(client: Any, db: Any, new_tenant: Any, mint: Any) -> None:
    cast = await make_cast(db, new_tenant, client, mint, chain=THREE_LEVELS[:1])
    rid = (await submit(client, mint, cast, payload={"item": "x", "failOnApproval": True}))["id"]
    problem(await act(client, mint, cast, cast.pm, rid, "approve"), 409, "conflict")
    after = (await client.get(f"{API}/requests/{rid}", headers=as_(mint, cast.org, cast.clerk))).json()
    assert (after["status"], after["currentStep"]) == ("pending", 1)
    assert [a["action"] for a in after["rounds"][0]["actions"]] == ["submit"]


async def test_delegation_and_inboxes(client: Any, db: Any, new_tenant: Any, mint: Any) -> None:
    cast = await make_cast(db, new_tenant, client, mint)
    first = (await submit(client, mint, cast))["id"]
    second = (await submit(client, mint, cast, title="Buy a hedge trimmer"))["id"]
    assert await inbox_ids(client, mint, cast, cast.pm) == [first, second]  # oldest first
    assert await inbox_ids(client, mint, cast, cast.outsider) == []
    assert await inbox_ids(client, mint, cast, cast.clerk) == []

    # Only an approver of the current step delegates, to an active staff account of the group.
    problem(await act(client, mint, cast, cast.bm, first, "delegate", {"accountId": cast.outsider}), 403, "forbidden")
    to_self = await act(client, mint, cast, cast.pm, first, "delegate", {"accountId": cast.pm})
    assert to_self.status_code == 422 and to_self.json()["errors"][0]["field"] == "accountId"
    stranger = await act(client, mint, cast, cast.pm, first, "delegate", {"accountId": str(uuid.uuid4())})
    assert stranger.status_code == 422 and stranger.json()["errors"][0]["field"] == "accountId"
    problem(await act(client, mint, cast, cast.pm, first, "delegate", {"accountId": cast.pm2}), 409, "conflict")

    delegated = await act(client, mint, cast, cast.pm, first, "delegate",
                          {"accountId": cast.outsider, "comment": "I am on leave"})
    assert delegated.status_code == 200, delegated.text
    assert sorted(delegated.json()["rounds"][0]["steps"][0]["approvers"]) == sorted([cast.pm, cast.pm2, cast.outsider])
    assert await inbox_ids(client, mint, cast, cast.outsider) == [first]
    # The delegate now sees the request and decides the step.
    assert (await client.get(f"{API}/requests/{first}", headers=as_(mint, cast.org, cast.outsider))).status_code == 200
    approved = await act(client, mint, cast, cast.outsider, first, "approve", {"comment": "as delegate"})
    assert approved.status_code == 200 and approved.json()["currentStep"] == 2
    assert await inbox_ids(client, mint, cast, cast.outsider) == []
    assert await inbox_ids(client, mint, cast, cast.pm) == [second]
    assert await inbox_ids(client, mint, cast, cast.bm) == [first]
    actions = approved.json()["rounds"][0]["actions"]
    assert [(a["action"], a["actor"]) for a in actions] == [
        ("submit", cast.clerk), ("delegate", cast.pm), ("approve", cast.outsider)]
    assert actions[1]["data"] == {"to": cast.outsider} and actions[1]["comment"] == "I am on leave"

    # The lists: filters by status, mine, awaitingMe, type.
    auth = as_(mint, cast.org, cast.bm)
    awaiting = (await client.get(f"{API}/requests?awaitingMe=true", headers=auth)).json()
    assert [r["id"] for r in awaiting["items"]] == [first] and awaiting["total"] == 1
    mine = (await client.get(f"{API}/requests?mine=true&sort=createdAt", headers=as_(mint, cast.org, cast.clerk)))
    assert [r["id"] for r in mine.json()["items"]] == [first, second]
    pending = (await client.get(f"{API}/requests?status=approved&type={TEST_TYPE}", headers=auth)).json()
    assert pending["total"] == 0
    # The outsider saw only what was delegated to them; the bm (approvals.read at the branch) all.
    seen = (await client.get(f"{API}/requests", headers=as_(mint, cast.org, cast.outsider))).json()
    assert [r["id"] for r in seen["items"]] == [first]
    assert (await client.get(f"{API}/requests", headers=auth)).json()["total"] == 2


async def test_drafts_and_idempotent_creation(client: Any, db: Any, new_tenant: Any, mint: Any) -> None:
    cast = await make_cast(db, new_tenant, client, mint)
    auth = {**as_(mint, cast.org, cast.clerk), "Idempotency-Key": "draft-1"}
    body = {"type": TEST_TYPE, "title": "Draft", "nodeId": str(cast.org.project), "submit": False}
    first = await client.post(f"{API}/requests", headers=auth, json=body)
    again = await client.post(f"{API}/requests", headers=auth, json=body)
    assert first.status_code == again.status_code == 201 and again.json() == first.json()
    assert again.headers["idempotent-replayed"] == "true"
    draft = first.json()
    assert (draft["status"], draft["currentStep"]) == ("draft", None)
    assert await inbox_ids(client, mint, cast, cast.pm) == []
    assert "draft" in problem(await act(client, mint, cast, cast.pm, draft["id"], "approve"), 409, "conflict")
    problem(await act(client, mint, cast, cast.pm, draft["id"], "submit"), 403, "forbidden")
    submitted = await act(client, mint, cast, cast.clerk, draft["id"], "submit")
    assert submitted.status_code == 200 and submitted.json()["status"] == "pending"
    assert [a["action"] for a in submitted.json()["rounds"][0]["actions"]] == ["create", "submit"]
    problem(await act(client, mint, cast, cast.clerk, draft["id"], "submit"), 409, "conflict")
    assert await inbox_ids(client, mint, cast, cast.pm) == [draft["id"]]


async def test_inbox_notifications_are_delivered(client: Any, db: Any, new_tenant: Any, mint: Any) -> None:
    cast = await make_cast(db, new_tenant, client, mint)
    await submit(client, mint, cast)
    async with db.platform_session() as session:
        messages = (await session.scalars(select(OutboxMessage).where(OutboxMessage.tenant_id == cast.org.tenant_id))
                    ).all()
    assert sorted(m.recipient for m in messages) == sorted([cast.pm, cast.pm2])
    assert {(m.channel, m.subject) for m in messages} == {("inbox", "Approval needed: Buy a lawn mower")}
    # What the outbox's delivery task does with them (a worker on the run's queue may have
    # been first, or be delivering one right now); a second delivery changes nothing.
    for message in messages:
        for _ in range(100):
            outcome = await deliver_message(db, message.id, None)
            if outcome != "busy-or-missing":  # busy: the worker holds it until its delivery commits
                break
            await asyncio.sleep(0.05)
        assert outcome == "sent"
    async with db.platform_session() as session:
        statuses = set((await session.scalars(select(OutboxMessage.status).where(
            OutboxMessage.id.in_([m.id for m in messages])))).all())
    assert statuses == {OutboxStatus.sent}


async def test_a_types_default_chain_applies_until_the_tenant_edits_it(client: Any, db: Any, new_tenant: Any,
                                                                      mint: Any, request: Any) -> None:
    cast = await make_cast(db, new_tenant, client, mint)
    # Registered after the tenant was provisioned: nothing seeded, the default applies.
    code = f"test_late_{uuid.uuid4().hex[:8]}"
    register_request_type(code, "Registered late", permission=SUBMIT, default_chain=THREE_LEVELS[1:])
    # Only for this test: a tenant provisioned later in the run would get its chain (and roles it lacks).
    request.addfinalizer(lambda: registry._TYPES.pop(code, None))
    admin = as_(mint, cast.org, cast.admin)
    got = await client.get(f"{API}/chains/{code}", headers=admin)
    assert got.status_code == 200 and got.headers["etag"] == '"0"'
    assert got.json()["isDefault"] is True and [s["name"] for s in got.json()["steps"]] == ["Branch manager",
                                                                                           "Group GM"]
    assert code in [c["requestType"] for c in (await client.get(f"{API}/chains?limit=200", headers=admin)).json()[
        "items"]]
    created = await client.post(f"{API}/requests", headers=as_(mint, cast.org, cast.clerk), json={
        "type": code, "title": "x", "nodeId": str(cast.org.project)})
    assert created.status_code == 201, created.text
    assert created.json()["currentStepName"] == "Branch manager"
    assert created.json()["rounds"][0]["actions"][0]["data"]["chainVersion"] == 0

    problem(await client.put(f"{API}/chains/{code}", headers={**admin, "If-Match": '"1"'},
                             json={"steps": THREE_LEVELS}), 412, "precondition-failed")
    edited = await client.put(f"{API}/chains/{code}", headers={**admin, "If-Match": '"0"'},
                              json={"steps": THREE_LEVELS})
    assert edited.status_code == 200 and edited.headers["etag"] == '"1"' and edited.json()["isDefault"] is False
    # The request under way keeps the chain it was submitted with.
    assert (await act(client, mint, cast, cast.bm, created.json()["id"], "approve")).json()["currentStepName"] == \
        "Group GM"


async def test_a_next_step_nobody_can_decide_stops_the_approval(client: Any, db: Any, new_tenant: Any,
                                                                mint: Any) -> None:
    cast = await make_cast(db, new_tenant, client, mint)
    rid = (await submit(client, mint, cast))["id"]
    # The branch manager leaves after submission: step 2 is resolved again when it comes.
    async with db.tenant_transaction(f"t_{cast.org.slug}") as session:
        await session.execute(delete(RoleAssignment).where(RoleAssignment.account_id == uuid.UUID(cast.bm)))
    detail = problem(await act(client, mint, cast, cast.pm, rid, "approve"), 409, "conflict")
    assert "Nobody can decide step 2 (Branch manager)" in detail and "Shenzhen" in detail
    after = (await client.get(f"{API}/requests/{rid}", headers=as_(mint, cast.org, cast.clerk))).json()
    assert (after["status"], after["currentStep"]) == ("pending", 1)
