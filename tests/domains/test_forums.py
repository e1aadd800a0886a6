"""Customer forums over the API: the plan through approval (revise until approved), invitations
and attendance, minutes, classified findings that become tracked improvement actions, their
follow-up, and the overdue scan through the real worker (flagged and told once)."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

from sqlalchemy import select, update

from tests.routes import _create, _new_customer, _new_project, _staff_account  # first: the catalogue

# isort: split
from app.auth.models import OutboxMessage
from app.core import clock
from tests.catalogue.club import _branch_of, manager, ok
from tests.catalogue.complaints import tenant_ctx
from tests.catalogue.forums import BASE, DUE, WHEN, forum_body
from tests.worker.conftest import Worker, wait_for


async def _move(ctx: Any, url: str, action: str, body: Any) -> Any:
    etag = (await ctx.client.get(url, headers=ctx.auth)).headers["etag"]
    return await ctx.client.post(f"{url}/{action}", headers={**ctx.auth, "If-Match": etag}, json=body)


async def test_a_forum_whose_findings_become_tracked_actions(client: Any, db: Any, new_tenant: Any, mint: Any,
                                                            worker: Worker) -> None:
    ctx = await tenant_ctx(client, db, new_tenant, mint, "forum")
    project, _ = await _new_project(ctx)
    approver = await manager(ctx, await _branch_of(ctx, project["id"]))
    thematic = await ctx.client.post(BASE, headers=ctx.auth, json=forum_body(project["id"], theme=None))
    assert thematic.status_code == 422 and thematic.json()["errors"][0]["field"] == "theme"
    created = await ctx.client.post(BASE, headers=ctx.auth, json=forum_body(project["id"]))
    forum = await ok(created, 201)
    url = created.headers["location"]
    assert forum["number"].startswith("ZT-") and forum["status"] == "draft"

    guests = [(await _new_customer(ctx))[0] for _ in range(3)]
    await ok(await _move(ctx, url, "invitations", {"customerIds": [g["id"] for g in guests]}))
    # Not held before its plan is approved.
    early = await _move(ctx, url, "minutes", {"heldAt": WHEN, "minutes": "x"})
    assert early.status_code == 409
    submitted = await ok(await _move(ctx, url, "submit", {}))
    request_id = submitted["approvalRequestId"]
    await ok(await ctx.client.post(f"/api/v1/approvals/requests/{request_id}/reject", headers=approver,
                                   json={"comment": "请补充议程"}))
    revised = await ok(await ctx.client.patch(url, headers={
        **ctx.auth, "If-Match": (await ctx.client.get(url, headers=ctx.auth)).headers["etag"]},
        json={"participants": "业主代表12人、项目经理、客服经理、物业经理"}))
    assert revised["status"] == "rejected"
    await ok(await _move(ctx, url, "submit", {"note": "已补充"}))
    await ok(await ctx.client.post(f"/api/v1/approvals/requests/{request_id}/approve", headers=approver, json={}))

    stranger = (await _new_customer(ctx))[0]
    bad = await _move(ctx, url, "minutes", {"heldAt": WHEN, "minutes": "x", "attended": [stranger["id"]]})
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "attended.0"
    held = await ok(await _move(ctx, url, "minutes", {
        "heldAt": WHEN, "minutes": "业主反映入户门隔音差、报修响应慢", "attended": [guests[0]["id"], guests[1]["id"]],
        "actualCost": "2600.00"}))
    assert held["status"] == "held" and (held["invited"], held["attended"]) == (3, 2)
    listed = await ok(await ctx.client.get(f"{url}/invitations", headers=ctx.auth))
    assert sorted(i["status"] for i in listed) == ["absent", "attended", "attended"]

    owner = await _staff_account(ctx)
    past = await ctx.client.post(f"{url}/findings", headers=ctx.auth, json={
        "category": "service", "description": "x", "actions": [{"title": "x", "ownerId": owner,
                                                                 "dueOn": "2020-01-01"}]})
    assert past.status_code == 422 and past.json()["errors"][0]["field"] == "actions.0.dueOn"
    nobody = await ctx.client.post(f"{url}/findings", headers=ctx.auth, json={
        "category": "service", "description": "x", "actions": [{"title": "x", "ownerId": str(uuid.uuid4()),
                                                                 "dueOn": DUE}]})
    assert nobody.status_code == 404 and nobody.json()["errors"][0]["field"] == "actions.0.ownerId"
    product, _ = await _create(ctx, f"{url}/findings", {"category": "product", "description": "入户门隔音差",
                                                        "actions": [
        {"title": "更换入户门密封条", "ownerId": owner, "dueOn": DUE},
        {"title": "评估隔音门升级方案", "ownerId": owner, "dueOn": DUE}]})
    service, _ = await _create(ctx, f"{url}/findings", {"category": "service", "description": "报修响应慢",
                                                        "actions": [{"title": "报修两小时内响应", "ownerId": owner,
                                                                     "dueOn": DUE}]})
    assert [a["status"] for a in product["actions"]] == ["open", "open"]
    findings = await ok(await ctx.client.get(f"{url}/findings", headers=ctx.auth))
    assert [f["category"] for f in findings] == ["product", "service"]
    closed = await ok(await _move(ctx, url, "close", {"analysis": "交付质量与服务响应是业主最关注的两点"}))
    assert closed["status"] == "closed"

    # Follow-up: one done, one dropped, one left open, then found overdue by the scan.
    [door, upgrade], [repair] = product["actions"], service["actions"]
    done = await ok(await _move(ctx, f"{BASE}/actions/{door['id']}", "complete", {"result": "已全部更换"}))
    assert done["status"] == "done" and done["doneAt"]
    await ok(await _move(ctx, f"{BASE}/actions/{upgrade['id']}", "drop", {"reason": "成本过高"}))
    assert (await _move(ctx, f"{BASE}/actions/{door['id']}", "drop", {"reason": "x"})).status_code == 409
    mine = await ok(await ctx.client.get(f"{BASE}/actions", headers=ctx.auth, params={"forumId": forum["id"],
                                                                                      "status": "open"}))
    assert [a["id"] for a in mine["items"]] == [repair["id"]] and mine["items"][0]["overdue"] is False

    # Time passes: the repair action's due date is behind us.
    yesterday = (clock.utcnow() - timedelta(days=2)).date()
    from app.domains.forums.models import ImprovementAction
    from app.domains.forums.tasks import overdue_scan

    async with db.tenant_transaction(f"t_{ctx.tenant}") as session:
        await session.execute(update(ImprovementAction).where(ImprovementAction.id == uuid.UUID(repair["id"]))
                              .values(due_on=yesterday))
    overdue_scan.apply_async()

    async def flagged() -> Any:
        async with db.tenant_session(f"t_{ctx.tenant}") as session:
            row = await session.get(ImprovementAction, uuid.UUID(repair["id"]))
            return row is not None and row.overdue_since is not None

    assert await wait_for(worker, flagged, "the overdue scan")
    late = await ok(await ctx.client.get(f"{BASE}/actions", headers=ctx.auth, params={"overdue": "true"}))
    assert [a["id"] for a in late["items"]] == [repair["id"]] and late["items"][0]["overdueSince"]
    # A second run tells nobody again.
    from app.domains.forums.actions import scan_overdue

    async with db.tenant_transaction(f"t_{ctx.tenant}") as session:
        assert await scan_overdue(session) == {"flagged": 0, "messages": 0}
    async with db.platform_session() as session:
        told = (await session.scalars(select(OutboxMessage).where(OutboxMessage.recipient == owner))).all()
    assert len(told) == 1 and told[0].data["actionId"] == repair["id"]
    # A new due date clears the flag.
    moved = await ok(await ctx.client.patch(f"{BASE}/actions/{repair['id']}", headers={
        **ctx.auth, "If-Match": (await ctx.client.get(f"{BASE}/actions/{repair['id']}", headers=ctx.auth)).headers[
            "etag"]}, json={"dueOn": DUE, "progress": "维修班组已扩编"}))
    assert moved["overdueSince"] is None and moved["overdue"] is False and moved["progress"] == "维修班组已扩编"
