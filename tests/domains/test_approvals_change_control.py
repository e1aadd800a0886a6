"""Change control of protected information (DOMAIN.md, customer information): a change or
deletion is a request with the proposed change and a reason, applied by the engine only on
final approval, and audited with the approver as the actor.

The customers domain registers its applier itself; here a test applier over the branches
of the org tree stands in for it (a real table, changed for real).
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import select

from app.core.audit import Actor, tenant_audit
from app.core.problems import ProblemError
from app.domains.access.authz import register_permissions
from app.domains.approvals import services
from app.domains.approvals.registry import ChangeApplier, register_change_applier
from app.domains.org.models import NodeKind, OrgNode
from tests.domains.test_approvals import (
    API,
    Org,
    as_,
    assign,
    make_account,
    make_org,
    make_role,
    problem,
)

CHANGE = "test.branch.change"
register_permissions({CHANGE: "Tests: ask for changes of a branch's protected fields."})
ENTITY = "test_branch"


async def _branch(session: Any, entity_id: str) -> OrgNode:
    try:
        node_id = uuid.UUID(entity_id)
    except ValueError:
        node_id = None
    node = await session.get(OrgNode, node_id) if node_id else None
    if node is None or node.kind is not NodeKind.branch:
        raise ProblemError("not-found", f"No branch {entity_id}.")
    return node


async def _node_of(session: Any, entity_id: str) -> uuid.UUID:
    return (await _branch(session, entity_id)).id


async def _read(session: Any, entity_id: str, fields: frozenset[str]) -> dict[str, Any]:
    node = await _branch(session, entity_id)
    return {f: getattr(node, f) for f in sorted(fields)}


async def _apply(session: Any, entity_id: str, changes: dict[str, Any], deletion: bool) -> None:
    node = await _branch(session, entity_id)
    if deletion:
        await session.delete(node)
    for field, value in changes.items():
        setattr(node, field, value)
    await session.flush()


register_change_applier(ChangeApplier(entity_type=ENTITY, permission=CHANGE,
                                      fields=frozenset({"name", "description"}),
                                      node_of=_node_of, read=_read, apply=_apply))


async def _cast(db: Any, new_tenant: Any) -> tuple[Org, str, str, str]:
    """The seeded change_control chain: the branch's department supervisor, then, when the
    supervisor refers it on, the CRM head."""
    org = await make_org(db, new_tenant, "cc")
    employee, supervisor, crm_head = [await make_account(db, org, n) for n in ("employee", "supervisor", "crm")]
    await make_role(db, org, "cc_employee", [CHANGE])
    await assign(db, org, employee, "cc_employee", org.branch)
    await assign(db, org, supervisor, "department_supervisor", org.branch)  # roles seeded with the chain
    await assign(db, org, crm_head, "crm_head", org.root)
    return org, employee, supervisor, crm_head


async def _name(db: Any, org: Org) -> str:
    async with db.tenant_session(f"t_{org.slug}") as session:
        return (await session.get(OrgNode, org.branch)).name  # type: ignore[union-attr]


async def test_a_change_is_applied_only_on_approval_and_audited_with_the_approver(
        client: Any, db: Any, new_tenant: Any, mint: Any) -> None:
    org, employee, supervisor, crm_head = await _cast(db, new_tenant)
    created = await client.post(f"{API}/requests", headers=as_(mint, org, employee), json={
        "type": "change_control", "title": "Rename the Shenzhen branch",
        "payload": {"entityType": ENTITY, "entityId": str(org.branch), "changes": {"name": "深圳分公司"}},
        "reason": "official name from the business licence",
    })
    assert created.status_code == 201, created.text
    request = created.json()
    assert (request["subjectType"], request["subjectId"], request["nodeId"]) == (ENTITY, str(org.branch),
                                                                                  str(org.branch))
    # The proposed change, with the values it replaces.
    assert request["payload"] == {"entityType": ENTITY, "entityId": str(org.branch),
                                  "changes": {"name": "深圳分公司"}, "deletion": False,
                                  "before": {"name": "Shenzhen"}}
    assert [s["name"] for s in request["rounds"][0]["steps"]] == ["Department supervisor", "CRM head"]

    assert [s["when"] for s in request["rounds"][0]["steps"]] == [None, "referred"]

    # Seed 001 §2.2.3 (3): the supervisor judges it necessary and refers it to the CRM head.
    referred = await act_as(client, mint, org, supervisor, request["id"], "approve", {"refer": True})
    assert referred.status_code == 200 and referred.json()["currentStep"] == 2
    assert await _name(db, org) == "Shenzhen"  # one approval of two: nothing applied yet
    final = await act_as(client, mint, org, crm_head, request["id"], "approve", {"comment": "ok"})
    assert final.status_code == 200 and final.json()["status"] == "approved"
    assert await _name(db, org) == "深圳分公司"

    async with db.tenant_session(f"t_{org.slug}") as session:
        rows = (await session.execute(select(tenant_audit).where(
            tenant_audit.c.entity_type == ENTITY, tenant_audit.c.entity_id == str(org.branch)))).all()
    assert len(rows) == 1
    applied = rows[0]
    assert (applied.action, applied.actor_kind, applied.actor_id) == ("change_control.update", "user", crm_head)
    assert (applied.before, applied.after) == ({"name": "Shenzhen"}, {"name": "深圳分公司"})
    assert "official name from the business licence" in applied.reason and request["id"] in applied.reason


async def act_as(client: Any, mint: Any, org: Org, who: str, request_id: str, action: str,
                 body: dict[str, Any] | None = None) -> Any:
    return await client.post(f"{API}/requests/{request_id}/{action}", json=body or {}, headers=as_(mint, org, who))


async def test_rejected_or_withdrawn_changes_are_never_applied(client: Any, db: Any, new_tenant: Any,
                                                               mint: Any) -> None:
    org, employee, supervisor, _crm_head = await _cast(db, new_tenant)
    async with db.tenant_transaction(f"t_{org.slug}") as session:
        session.info["actor"] = Actor(kind="user", id=employee)
        # The domain's own code uses the hook (its endpoint checked the permission already).
        deletion = await services.request_change(session, entity_type=ENTITY, entity_id=str(org.branch),
                                                 deletion=True, reason="duplicate branch")
        rename = await services.request_change(session, entity_type=ENTITY, entity_id=str(org.branch),
                                               changes={"description": "x"}, reason="typo")
    assert deletion.title == f"Delete {ENTITY} {org.branch}"
    rejected = await act_as(client, mint, org, supervisor, str(deletion.id), "reject", {"comment": "it is not"})
    assert rejected.status_code == 200 and rejected.json()["status"] == "rejected"
    withdrawn = await act_as(client, mint, org, employee, str(rename.id), "withdraw")
    assert withdrawn.status_code == 200
    async with db.tenant_session(f"t_{org.slug}") as session:
        node = await session.get(OrgNode, org.branch)
    assert node is not None and node.description is None


async def test_stale_or_invalid_changes_are_refused(client: Any, db: Any, new_tenant: Any, mint: Any) -> None:
    org, employee, supervisor, crm_head = await _cast(db, new_tenant)
    auth = as_(mint, org, employee)

    def change(payload: dict[str, Any]) -> dict[str, Any]:
        return {"type": "change_control", "title": "x", "reason": "r", "payload": payload}

    base = {"entityType": ENTITY, "entityId": str(org.branch)}
    for payload, field in [
        ({**base, "changes": {"code": "X"}}, "payload.changes.code"),  # not a protected field
        ({**base}, "payload.changes"),  # neither changes nor deletion
        ({**base, "changes": {"name": "y"}, "deletion": True}, "payload.changes"),
        ({**base, "entityType": "planet", "changes": {"name": "y"}}, "payload.entityType"),
        ({**base, "entityId": str(uuid.uuid4()), "changes": {"name": "y"}}, "payload.entityId"),
        ({**base, "changes": {"name": "y"}, "colour": "red"}, "payload.colour"),
        ({"entityId": str(org.branch)}, "payload.entityType"),
    ]:
        refused = await client.post(f"{API}/requests", headers=auth, json=change(payload))
        assert refused.status_code == 422, (payload, refused.text)
        assert refused.json()["errors"][0]["field"] == field, (payload, refused.text)
    # The requester needs the applier's permission on the record.
    problem(await client.post(f"{API}/requests", headers=as_(mint, org, supervisor),
                              json=change({**base, "changes": {"name": "y"}})), 403, "forbidden")

    # Two changes of the same field: the second to be approved finds it moved and is refused.
    first = (await client.post(f"{API}/requests", headers=auth, json=change({**base, "changes": {"name": "A"}}))).json()
    second = (await client.post(f"{API}/requests", headers=auth,
                                json=change({**base, "changes": {"name": "B"}}))).json()
    for rid in (first["id"], second["id"]):
        assert (await act_as(client, mint, org, supervisor, rid, "approve", {"refer": True})).status_code == 200
    assert (await act_as(client, mint, org, crm_head, first["id"], "approve")).status_code == 200
    detail = problem(await act_as(client, mint, org, crm_head, second["id"], "approve"), 409, "conflict")
    assert "changed since this request was submitted (name)" in detail
    assert await _name(db, org) == "A"
    # Rejected, revised, resubmitted: the new round replaces against the current value.
    assert (await act_as(client, mint, org, crm_head, second["id"], "reject", {"comment": "stale"})).status_code == 200
    again = await act_as(client, mint, org, employee, second["id"], "resubmit", {"reason": "against A now"})
    assert again.status_code == 200 and again.json()["payload"]["before"] == {"name": "A"}
    for who in (supervisor, crm_head):
        assert (await act_as(client, mint, org, who, second["id"], "approve", {"refer": True})).status_code == 200
    assert await _name(db, org) == "B"


async def test_the_crm_head_decides_only_when_the_supervisor_refers_the_change(
        client: Any, db: Any, new_tenant: Any, mint: Any) -> None:
    """Seed 001 §2.2.3: the supervisor reviews; "when necessary" the CRM head approves. Not
    referred, the supervisor's approval is the last: the CRM head's step is skipped."""
    org, employee, supervisor, crm_head = await _cast(db, new_tenant)
    created = await client.post(f"{API}/requests", headers=as_(mint, org, employee), json={
        "type": "change_control", "title": "Fix the branch name's spelling",
        "payload": {"entityType": ENTITY, "entityId": str(org.branch), "changes": {"name": "Shenzhen Co."}},
        "reason": "typo"})
    assert created.status_code == 201, created.text
    rid = created.json()["id"]
    assert (await act_as(client, mint, org, crm_head, rid, "approve")).status_code == 403  # not its turn
    done = await act_as(client, mint, org, supervisor, rid, "approve", {"comment": "routine"})
    assert done.status_code == 200 and done.json()["status"] == "approved", done.text
    steps = done.json()["rounds"][0]["steps"]
    assert [(s["name"], s["state"]) for s in steps] == [("Department supervisor", "approved"), ("CRM head", "skipped")]
    assert await _name(db, org) == "Shenzhen Co."
    async with db.tenant_session(f"t_{org.slug}") as session:
        [applied] = (await session.execute(select(tenant_audit).where(
            tenant_audit.c.entity_type == ENTITY, tenant_audit.c.entity_id == str(org.branch)))).all()
    assert applied.actor_id == supervisor
    # A chain whose first step would wait for a referral nobody can make is refused.
    configurer = await make_account(db, org, "configurer")
    await make_role(db, org, "cc_configurer", ["approvals.configure", "approvals.read"])
    await assign(db, org, configurer, "cc_configurer", org.root)
    chain = await client.get(f"{API}/chains/change_control", headers=as_(mint, org, configurer))
    bad = await client.put(f"{API}/chains/change_control", headers={
        **as_(mint, org, configurer), "If-Match": chain.headers["etag"]}, json={
        "steps": [{"name": "CRM head", "role": "crm_head", "at": "group", "when": "referred"}]})
    problem(bad, 422, "validation")
    assert [e["field"] for e in bad.json()["errors"]] == ["steps.0.when"], bad.text
