"""Complaints over HTTP, end to end: the full resolution loop (a rejected proposal, a failed
negotiation round, approval, handling, the owner's rating, a corrective-action letter), the
way to litigation and back by reopening, two agents on one record, and the precise refusals
of bad input."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import select, update

from app.core.audit import tenant_audit
from app.domains.customers.models import Customer
from tests.routes import Ctx, _new_customer, _new_project, _staff_account  # first: it loads the catalogue modules

# isort: split
from tests.catalogue.complaints import (
    BASE,
    DISPUTES,
    LETTERS,
    MINE,
    Rec,
    approver,
    category,
    decide,
    grant_role,
    new_record,
    ok,
    owner,
    record_in,
    refresh,
    step,
    tenant_ctx,
)
from tests.conftest import bearer
from tests.grants import grant

PROBLEM = "urn:cornerstone:problem:"


async def _person(ctx: Ctx, mint: Any, role: str, node_id: str, scopes: list[str] | None = None
                  ) -> tuple[str, dict[str, str]]:
    account = await _staff_account(ctx)
    await grant_role(ctx, account, role, node_id)
    return account, bearer(mint(tenant=ctx.tenant, subject=account, scopes=scopes or [
        "complaints:read", "complaints:write", "approvals:read", "approvals:write", "customers:read"]))


async def _actions(db: Any, slug: str, entity_id: str) -> list[str]:
    async with db.tenant_transaction(f"t_{slug}") as session:
        return list((await session.scalars(select(tenant_audit.c.action).where(
            tenant_audit.c.entity_id == entity_id).order_by(tenant_audit.c.occurred_at, tenant_audit.c.id))).all())


async def test_the_full_loop(client: Any, db: Any, new_tenant: Any, mint: Any) -> None:
    ctx = await tenant_ctx(client, db, new_tenant, mint, "cpl")
    owner_auth, customer, unit = await owner(ctx)
    project = await ok(await client.get(f"/api/v1/org/projects/{customer['units'][0]['projectId']}",
                                        headers=ctx.auth))
    handler, as_handler = await _person(ctx, mint, "complaint_handler", project["id"])
    colleague, as_colleague = await _person(ctx, mint, "complaint_handler", project["id"])
    first_approver = await approver(ctx, project["parentId"])
    group = await ok(await client.get("/api/v1/org/group", headers=ctx.auth))
    crm_head = await _staff_account(ctx)
    await grant_role(ctx, crm_head, "crm_head", group["id"])
    as_approver = bearer(mint(tenant=ctx.tenant, subject=first_approver, scopes=["approvals:read", "approvals:write"]))
    as_crm = bearer(mint(tenant=ctx.tenant, subject=crm_head, scopes=["approvals:read", "approvals:write"]))
    hctx = Ctx(client=client, db=db, tenant=ctx.tenant, subject=handler, auth=as_handler, mark=ctx.mark)

    # The hotline agent registers it; they handle it from then on.
    created = await client.post(BASE, headers={**as_handler, "Idempotency-Key": "tel-1"}, json={
        "channel": "hotline", "projectId": project["id"], "unitId": unit, "customerId": customer["id"],
        "categoryId": await category(ctx, "WATERPROOFING"), "severity": "high", "subject": "卫生间渗水",
        "description": "Water comes through the bathroom ceiling.", "contactNote": "王先生 13800000000"})
    c = await ok(created, 201)
    assert c["number"].startswith("TS-") and c["status"] == "received" and c["handlerId"] == handler
    assert c["register"] == "complaint" and c["quality"] is True and c["department"] == "project_department"
    assert c["sla"]["responseTargetMinutes"] == 240 and c["sla"]["resolutionTargetMinutes"] == 4500
    assert c["sla"]["responseDueAt"] and c["sla"]["resolutionDueAt"]
    rec = Rec(c, created.headers["location"], created.headers["etag"], project, first_approver)

    # The owner follows it in the app; internal notes never show there.
    mine = await ok(await client.get(MINE, headers=owner_auth))
    assert [m["number"] for m in mine["items"]] == [c["number"]]
    await ok(await client.post(f"{rec.url}/notes", headers=as_handler,
                               json={"body": "Internal: the contractor was careless.", "internal": True}), 201)
    await step(hctx, rec, "investigate", {"reply": "我们已受理，工程师明天上门查看。"})
    assert rec.body["firstRespondedAt"] and rec.body["sla"]["responseMet"] is True
    seen = await ok(await client.get(f"{MINE}/{rec.id}", headers=owner_auth))
    assert [n["body"] for n in seen["notes"]] == ["我们已受理，工程师明天上门查看。"]
    assert "careless" not in str(seen) and "contractor" not in str(seen)

    # Two agents on one record: the second, with the ETag both read, gets 412 and changes nothing.
    etag = rec.etag
    first = await client.patch(rec.url, headers={**as_handler, "If-Match": etag}, json={"severity": "critical"})
    assert first.status_code == 200, first.text
    second = await client.patch(rec.url, headers={**as_colleague, "If-Match": etag}, json={"severity": "low"})
    assert second.status_code == 412 and second.json()["type"] == PROBLEM + "precondition-failed"
    await refresh(hctx, rec)
    assert rec.body["severity"] == "critical"

    # Out of order: handling before anything was agreed.
    early = await client.post(f"{rec.url}/handling", headers={**as_handler, "If-Match": rec.etag},
                              json={"result": "x", "check": "y"})
    assert early.status_code == 409 and "needs it to be handling" in early.json()["detail"]
    await step(hctx, rec, "findings", {"cause": "The shower tray's seal failed.", "responsibleParty": "contractor"})

    # A proposal without the fields its kind needs.
    bad = await client.post(f"{rec.url}/proposals", headers={**as_handler, "If-Match": rec.etag},
                            json={"kind": "compensation", "description": "Money."})
    assert bad.status_code == 422 and [e["field"] for e in bad.json()["errors"]] == ["amount"]

    # Round 1: a large compensation; one step whatever the amount, the company's supervising
    # manager (seed 004 §3.1.2); someone outside the chain cannot decide; rejected.
    await step(hctx, rec, "proposals", {"kind": "compensation", "amount": "80000", "description": "Full refit."})
    assert rec.body["status"] == "approval" and rec.body["proposals"][0]["status"] == "pending"
    request_id = rec.body["proposals"][0]["approvalRequestId"]
    outsider = await client.post(f"/api/v1/approvals/requests/{request_id}/approve", headers=as_colleague, json={})
    assert outsider.status_code == 403, outsider.text
    request = await ok(await client.get(f"/api/v1/approvals/requests/{request_id}", headers=as_approver))
    assert [s["name"] for s in request["rounds"][0]["steps"]] == ["Company supervising manager"]
    assert request["subjectType"] == "complaint" and request["subjectId"] == rec.id
    crm_refused = await client.post(f"/api/v1/approvals/requests/{request_id}/approve", headers=as_crm, json={})
    assert crm_refused.status_code == 403, crm_refused.text
    await ok(await client.post(f"/api/v1/approvals/requests/{request_id}/reject", headers=as_approver,
                               json={"comment": "Too much: repair instead."}))
    await refresh(hctx, rec)
    assert rec.body["status"] == "proposal"
    assert rec.body["proposals"][0]["status"] == "rejected"
    assert rec.body["proposals"][0]["decisionComment"] == "Too much: repair instead."

    # Round 2: a repair, approved; the customer does not agree.
    await step(hctx, rec, "proposals", {"kind": "repair", "description": "Reseal the tray.", "dueDate": "2030-06-30"})
    await decide(hctx, rec, approve=True)
    assert rec.body["status"] == "negotiation"
    await step(hctx, rec, "negotiations", {"customerResponse": "A reseal is not enough.", "agreed": False})
    assert rec.body["status"] == "proposal" and rec.body["proposals"][1]["status"] == "not_agreed"

    # Round 3: repair plus a small compensation, approved and agreed.
    await step(hctx, rec, "proposals", {"kind": "compensation", "amount": "3000.50",
                                        "description": "Reseal, and 3000.50 yuan for the ceiling."})
    await decide(hctx, rec, approve=True)
    await step(hctx, rec, "negotiations", {"customerResponse": "同意。", "agreed": True})
    assert rec.body["status"] == "handling"
    assert [(p["round"], p["kind"], p["status"], p["amount"]) for p in rec.body["proposals"]] == [
        (1, "compensation", "rejected", "80000.00"), (2, "repair", "not_agreed", None),
        (3, "compensation", "agreed", "3000.50")]
    assert [n["agreed"] for n in rec.body["negotiations"]] == [False, True]

    await step(hctx, rec, "handling", {"result": "Tray resealed, ceiling repainted.", "check": "No leak after 3 days."})
    assert rec.body["status"] == "feedback" and rec.body["resolvedAt"]
    assert rec.body["sla"]["resolutionSeconds"] is not None and rec.body["sla"]["resolutionMet"] is True

    # The owner rates the result in the app: that closes the complaint.
    own = await client.get(f"{MINE}/{rec.id}", headers=owner_auth)
    rated = await client.post(f"{MINE}/{rec.id}/rating", headers={**owner_auth, "If-Match": own.headers["etag"]},
                              json={"satisfaction": 4, "opinion": "修得不错"})
    assert rated.status_code == 200, rated.text
    assert rated.json()["status"] == "closed" and rated.json()["satisfaction"] == 4
    assert [p["round"] for p in rated.json()["proposals"]] == [2, 3]  # what was put to them
    await refresh(hctx, rec)
    assert rec.body["status"] == "closed" and rec.body["closedAt"]

    # Corrective action: the root cause goes to the engineering department, which answers.
    engineer = await _staff_account(ctx)
    sent = await client.post(f"{rec.url}/capa-letters", headers=as_handler, json={
        "department": "工程管理部", "assigneeId": engineer, "requestedAction": "Check every tray of the building.",
        "dueDate": "2030-07-31"})
    letter = await ok(sent, 201)
    assert letter["number"].startswith("LXH-") and letter["rootCause"] == "The shower tray's seal failed."
    as_engineer = bearer(mint(tenant=ctx.tenant, subject=engineer, scopes=["complaints:read", "complaints:write"]))
    respond = {"response": "All 120 trays checked; 3 resealed."}
    hidden = await client.post(f"{LETTERS}/{letter['id']}/response", headers={**as_engineer, "If-Match": '"1"'},
                               json=respond)
    assert hidden.status_code == 404  # a letter is seen where its record is
    # Reading the project's complaints is enough for the letter's assignee to answer it.
    await grant(db, ctx.tenant, engineer, ["complaints.read"], uuid.UUID(project["id"]))
    answered = await client.post(f"{LETTERS}/{letter['id']}/response", headers={**as_engineer, "If-Match": '"1"'},
                                 json=respond)
    assert (await ok(answered))["status"] == "responded" and answered.json()["respondedBy"] == engineer
    assert (await ok(await client.get(LETTERS, headers=as_handler, params={"complaintId": rec.id})))["total"] == 1

    assert await _actions(db, ctx.tenant, rec.id) == [
        "complaints.create", "complaints.note", "complaints.investigate", "complaints.update", "complaints.findings",
        "complaints.propose", "complaints.proposal.rejected", "complaints.propose", "complaints.proposal.approved",
        "complaints.negotiate", "complaints.propose", "complaints.proposal.approved", "complaints.negotiate",
        "complaints.handle", "complaints.rate"]
    history = [(e["action"], e["toStatus"]) for e in rec.body["events"] if e["toStatus"]]
    assert history == [
        ("registered", "received"), ("investigation_started", "investigating"), ("findings", "proposal"),
        ("proposed", "approval"), ("rejected", "proposal"), ("proposed", "approval"), ("approved", "negotiation"),
        ("not_agreed", "proposal"), ("proposed", "approval"), ("approved", "negotiation"), ("agreed", "handling"),
        ("handled", "feedback"), ("rated", "closed")]


async def test_litigation_and_reopen(client: Any, db: Any, new_tenant: Any, mint: Any) -> None:
    ctx = await tenant_ctx(client, db, new_tenant, mint, "cpllit")
    rec = await record_in(ctx, "negotiation")
    handler, as_handler = await _person(ctx, mint, "complaint_handler", rec.project["id"])
    supervisor, as_supervisor = await _person(ctx, mint, "complaint_supervisor", rec.project["id"])
    body = {"caseReference": "(2026)粤0305民初88号", "court": "深圳市南山区人民法院", "note": "Counsel: weak case."}
    refused = await client.post(f"{rec.url}/litigation", headers={**as_handler, "If-Match": rec.etag}, json=body)
    assert refused.status_code == 403 and "complaints.supervise" in refused.json()["detail"]
    await step(ctx, rec, "litigation", body, auth=as_supervisor)
    assert rec.body["status"] == "litigation" and rec.body["caseReference"] == body["caseReference"]
    assert rec.body["proposals"][-1]["status"] == "not_agreed"
    assert rec.body["sla"]["resolutionDueAt"] is not None  # frozen as it was; the clock stopped
    # Litigation is no place for a negotiation round, nor for reopening.
    for action, payload in [("negotiations", {"customerResponse": "x", "agreed": True}), ("reopen", {"reason": "x"})]:
        moved = await client.post(f"{rec.url}/{action}", headers={**as_supervisor, "If-Match": rec.etag}, json=payload)
        assert moved.status_code == 409, moved.text
    await step(ctx, rec, "litigation-outcome", {"outcome": "Judgment for the company; costs split."},
               auth=as_supervisor)
    assert rec.body["status"] == "closed" and rec.body["litigationOutcome"].startswith("Judgment")
    await step(ctx, rec, "reopen", {"reason": "New leak found by the owner."}, auth=as_handler)
    assert rec.body["status"] == "investigating" and rec.body["reopenCount"] == 1
    assert rec.body["closedAt"] is None
    assert [n["body"] for n in rec.body["notes"] if n["internal"]] == ["Counsel: weak case."]
    actions = await _actions(db, ctx.tenant, rec.id)
    assert actions[-3:] == ["complaints.litigate", "complaints.litigation_outcome", "complaints.reopen"]
    assert supervisor  # held the role that allowed it


async def test_disputes_are_a_register_of_their_own(client: Any, db: Any, new_tenant: Any, mint: Any) -> None:
    ctx = await tenant_ctx(client, db, new_tenant, mint, "cpldis")
    dispute = await new_record(ctx, "dispute", counterparty="深圳某装饰工程有限公司")
    complaint = await new_record(ctx, "complaint", project=dispute.project)
    assert dispute.body["number"].startswith("JF-") and dispute.body["register"] == "dispute"
    assert complaint.body["number"].startswith("TS-") and dispute.body["counterparty"] == "深圳某装饰工程有限公司"
    assert dispute.url == f"{DISPUTES}/{dispute.id}"
    # One register's id is not the other's.
    assert (await client.get(f"{BASE}/{dispute.id}", headers=ctx.auth)).status_code == 404
    assert (await client.get(f"{DISPUTES}/{complaint.id}", headers=ctx.auth)).status_code == 404
    assert [i["id"] for i in (await ok(await client.get(DISPUTES, headers=ctx.auth)))["items"]] == [dispute.id]
    assert [i["id"] for i in (await ok(await client.get(BASE, headers=ctx.auth)))["items"]] == [complaint.id]
    # The same loop: to litigation and out again.
    rec = await record_in(ctx, "litigation", "dispute")
    await step(ctx, rec, "litigation-outcome", {"outcome": "Mediated settlement."})
    assert rec.body["status"] == "closed" and rec.body["number"].startswith("JF-")


async def test_joint_complaints_are_grouped(client: Any, db: Any, new_tenant: Any, mint: Any) -> None:
    ctx = await tenant_ctx(client, db, new_tenant, mint, "cpljoint")
    first = await new_record(ctx)
    second = await new_record(ctx, project=first.project, jointWith=first.id)
    third = await new_record(ctx, project=first.project, jointWith=second.id)
    await refresh(ctx, first)
    assert first.body["jointGroup"] == first.id == second.body["jointGroup"] == third.body["jointGroup"]
    assert {r["number"] for r in first.body["related"]} == {second.body["number"], third.body["number"]}
    other_register = await client.post(BASE, headers=ctx.auth, json={
        **{k: first.body[k] for k in ("channel", "subject", "description", "contactNote")},
        "projectId": first.project["id"], "categoryId": first.body["category"]["id"],
        "jointWith": (await new_record(ctx, "dispute", project=first.project)).id})
    assert other_register.status_code == 404 and other_register.json()["errors"][0]["field"] == "jointWith"


async def test_bad_input_gets_precise_answers(client: Any, db: Any, new_tenant: Any, mint: Any) -> None:
    ctx = await tenant_ctx(client, db, new_tenant, mint, "cplbad")
    project, _ = await _new_project(ctx)
    other, _ = await _new_project(ctx)
    building = await ok(await client.post("/api/v1/org/buildings", headers=ctx.auth, json={
        "projectId": other["id"], "code": f"B{uuid.uuid4().hex[:6]}", "name": "1号楼"}), 201)
    unit = await ok(await client.post("/api/v1/org/units", headers=ctx.auth, json={
        "buildingId": building["id"], "number": "101", "floor": 1}), 201)
    waterproofing = await category(ctx)

    def body(**extra: Any) -> dict[str, Any]:
        return {"channel": "letter", "projectId": project["id"], "categoryId": waterproofing, "subject": "渗水",
                "description": "x", "contactNote": "x", **extra}

    async def refused(status: int, field: str | None, **extra: Any) -> dict[str, Any]:
        answer = await client.post(BASE, headers=ctx.auth, json=body(**extra))
        assert answer.status_code == status, answer.text
        if field:
            assert [e["field"] for e in answer.json()["errors"]] == [field]
        return answer.json()  # type: ignore[no-any-return]

    await refused(404, "unitId", unitId=unit["id"])  # a unit of another project
    await refused(404, "customerId", customerId=str(uuid.uuid4()))
    merged, _, _ = await _new_customer(ctx)
    survivor, _, _ = await _new_customer(ctx)
    async with db.tenant_transaction(f"t_{ctx.tenant}") as session:
        await session.execute(update(Customer).where(Customer.id == uuid.UUID(merged["id"]))
                              .values(merged_into_id=uuid.UUID(survivor["id"])))
    assert survivor["id"] in (await refused(409, "customerId", customerId=merged["id"]))["detail"]
    await refused(404, "categoryId", categoryId=str(uuid.uuid4()))
    await refused(404, "handlerId", handlerId=str(uuid.uuid4()))
    await refused(409, "receivedAt", receivedAt="2099-01-01T00:00:00Z")
    await refused(422, "channel", channel="fax")
    await refused(422, "contactNote", contactNote=None)

    # A project outside the caller's subtree is no project at all.
    clerk, as_clerk = await _person(ctx, mint, "complaint_handler", project["id"])
    answer = await client.post(BASE, headers=as_clerk, json=body(projectId=other["id"]))
    assert answer.status_code == 404 and answer.json()["errors"][0]["field"] == "projectId"
    assert (await client.post(BASE, headers=as_clerk, json=body())).status_code == 201

    # An inactive category takes no new records.
    made = await ok(await client.post(f"{BASE}/categories", headers=ctx.auth, json={
        "code": "WINDOWS", "name": "门窗 Windows", "quality": True, "parentId": await category(ctx, "QUALITY")}), 201)
    got = await client.get(f"{BASE}/categories/{made['id']}", headers=ctx.auth)
    await ok(await client.patch(f"{BASE}/categories/{made['id']}", json={"active": False},
                                headers={**ctx.auth, "If-Match": got.headers["etag"]}))
    await refused(409, "categoryId", categoryId=made["id"])
    duplicate = await client.post(f"{BASE}/categories", headers=ctx.auth, json={"code": "WINDOWS", "name": "x",
                                                                               "quality": True})
    assert duplicate.status_code == 409 and duplicate.json()["type"] == PROBLEM + "duplicate"

    # Clock moves that make no sense now.
    rec = await new_record(ctx, project=project)
    assert (await client.post(f"{rec.url}/resume", headers={**ctx.auth, "If-Match": rec.etag},
                              json={})).status_code == 409
    await step(ctx, rec, "pause", {"reason": "third_party", "note": "Waiting on the supplier."})
    again = await client.post(f"{rec.url}/pause", headers={**ctx.auth, "If-Match": rec.etag},
                              json={"reason": "customer", "note": "x"})
    assert again.status_code == 409 and "already paused" in again.json()["detail"]
    without = await client.post(f"{rec.url}/investigate", json={"reply": "x"}, headers=ctx.auth)
    assert without.status_code == 428
    letter = await client.post(f"{rec.url}/capa-letters", headers=ctx.auth, json={
        "department": "x", "requestedAction": "x", "dueDate": "2030-01-01"})
    assert letter.status_code == 409 and "closed record" in letter.json()["detail"]
    # Nobody holds the approval chain's role in this branch: the proposal says who is missing.
    await step(ctx, rec, "investigate", {"reply": "x"})
    await step(ctx, rec, "findings", {"cause": "x", "responsibleParty": "none"})
    lonely = await client.post(f"{rec.url}/proposals", headers={**ctx.auth, "If-Match": rec.etag},
                               json={"kind": "apology", "description": "Sorry."})
    assert lonely.status_code == 409 and "company_supervising_manager" in lonely.json()["detail"]
    assert (await refresh(ctx, rec)).body["status"] == "proposal"


async def test_categories_and_the_sla_policy(client: Any, db: Any, new_tenant: Any, mint: Any) -> None:
    ctx = await tenant_ctx(client, db, new_tenant, mint, "cplcat")
    listed = await ok(await client.get(f"{BASE}/categories", headers=ctx.auth, params={"limit": 200}))
    by_code = {c["code"]: c for c in listed["items"]}
    assert {"QUALITY", "STRUCTURE", "WATERPROOFING", "SERVICE", "OTHER"} <= set(by_code)
    # Targets are inherited: structure has its own first response, the quality branch's resolution.
    assert (by_code["STRUCTURE"]["effectiveResponseMinutes"], by_code["STRUCTURE"]["effectiveResolutionMinutes"]) \
        == (120, 4500)
    assert (by_code["SERVICE"]["effectiveResponseMinutes"], by_code["SERVICE"]["effectiveResolutionMinutes"]) \
        == (240, 2250)
    # The proposal chain's first approver reads the records they decide on.
    roles = await ok(await client.get("/api/v1/access/roles", headers=ctx.auth, params={"limit": 200}))
    manager = next(r for r in roles["items"] if r["code"] == "company_supervising_manager")
    assert {"approvals.read", "complaints.read", "complaints.supervise"} <= set(manager["permissions"])
    settings = await client.get(f"{BASE}/settings", headers=ctx.auth)
    assert settings.headers["etag"] == '"0"' and settings.json()["warnPercent"] == 80
    body = {"responseMinutes": 120, "resolutionMinutes": 900, "warnPercent": 90,
            "escalation": [{"afterPercent": 200, "at": "group"}, {"afterPercent": 100, "at": "branch"}]}
    assert (await client.put(f"{BASE}/settings", headers=ctx.auth, json=body)).status_code == 428
    put = await client.put(f"{BASE}/settings", headers={**ctx.auth, "If-Match": '"0"'}, json=body)
    assert put.status_code == 200 and put.headers["etag"] == '"1"'
    assert [s["at"] for s in put.json()["escalation"]] == ["branch", "group"]  # kept sorted
    service = await ok(await client.get(f"{BASE}/categories/{by_code['SERVICE']['id']}", headers=ctx.auth))
    assert (service["effectiveResponseMinutes"], service["effectiveResolutionMinutes"]) == (120, 900)
    # Configuring needs complaints.configure at the group node.
    project, _ = await _new_project(ctx)
    _, as_handler = await _person(ctx, mint, "complaint_handler", project["id"])
    assert (await client.put(f"{BASE}/settings", headers={**as_handler, "If-Match": '"1"'}, json=body)).status_code \
        == 403
    assert (await client.post(f"{BASE}/categories", headers=as_handler,
                              json={"code": "X", "name": "x", "quality": False})).status_code == 403


async def test_open_records_move_to_customer_affairs_at_handover(client: Any, db: Any, new_tenant: Any, mint: Any,
                                                                monkeypatch: Any) -> None:
    from datetime import UTC, datetime

    from app.core import clock
    from app.core.audit import SYSTEM
    from app.domains.complaints import services

    ctx = await tenant_ctx(client, db, new_tenant, mint, "cplho")
    open_one = await new_record(ctx)  # its project is handed over on 2030-01-01
    closed = await record_in(ctx, "closed")
    assert open_one.body["department"] == closed.body["department"] == "project_department"

    async def switch(at: datetime) -> int:
        monkeypatch.setattr(clock, "utcnow", lambda: at)
        async with db.tenant_transaction(f"t_{ctx.tenant}") as session:
            session.info["actor"] = SYSTEM
            return await services.switch_at_handover(session)

    assert await switch(datetime(2029, 12, 31, 15, 59, tzinfo=UTC)) == 0
    assert await switch(datetime(2029, 12, 31, 16, 1, tzinfo=UTC)) == 1  # midnight in Shanghai
    assert await switch(datetime(2030, 1, 2, tzinfo=UTC)) == 0
    assert (await refresh(ctx, open_one)).body["department"] == "customer_affairs"
    assert (await refresh(ctx, closed)).body["department"] == "project_department"  # history stays as it was
    assert (await _actions(db, ctx.tenant, open_one.id))[-1] == "complaints.handover"


async def test_a_rejected_proposal_is_answered_by_a_new_one_not_by_resubmitting(client: Any, db: Any,
                                                                                new_tenant: Any, mint: Any) -> None:
    ctx = await tenant_ctx(client, db, new_tenant, mint, "cplresub")
    rec = await record_in(ctx, "proposal")
    await step(ctx, rec, "proposals", {"kind": "apology", "description": "Sorry."})
    request_id = rec.body["proposals"][0]["approvalRequestId"]
    await decide(ctx, rec, approve=False)
    assert rec.body["status"] == "proposal"
    # Not through the engine: its approval would find the proposal rejected and move nothing.
    again = await client.post(f"/api/v1/approvals/requests/{request_id}/resubmit", headers=ctx.auth,
                              json={"reason": "Please look again."})
    assert again.status_code == 422 and again.json()["errors"][0]["field"] == "type"
    request = await ok(await client.get(f"/api/v1/approvals/requests/{request_id}", headers=ctx.auth))
    assert request["status"] == "rejected"
    await step(ctx, rec, "proposals", {"kind": "apology", "description": "Sorry, properly."})
    await decide(ctx, rec, approve=True)
    assert rec.body["status"] == "negotiation"
    assert [p["status"] for p in rec.body["proposals"]] == ["rejected", "approved"]


async def test_the_clocks_pause_only_while_the_resolution_clock_runs(client: Any, db: Any, new_tenant: Any,
                                                                    mint: Any) -> None:
    ctx = await tenant_ctx(client, db, new_tenant, mint, "cplpause")
    rec = await record_in(ctx, "feedback")
    # Resolved: the time until a reopen counts as paused already; a pause here would count twice.
    refused = await client.post(f"{rec.url}/pause", headers={**ctx.auth, "If-Match": rec.etag},
                                json={"reason": "customer", "note": "Waiting for the owner's opinion."})
    assert refused.status_code == 409 and "resolution clock" in refused.json()["detail"]
    assert (await refresh(ctx, rec)).body["sla"]["pausedSince"] is None


async def test_related_records_are_those_the_caller_may_see(client: Any, db: Any, new_tenant: Any,
                                                            mint: Any) -> None:
    ctx = await tenant_ctx(client, db, new_tenant, mint, "cplrel")
    first = await new_record(ctx)
    second = await new_record(ctx, jointWith=first.id)  # another project, another branch
    third = await new_record(ctx, project=first.project, jointWith=first.id)
    _, as_first = await _person(ctx, mint, "complaint_handler", first.project["id"])
    seen = await ok(await client.get(first.url, headers=as_first))
    assert [r["id"] for r in seen["related"]] == [third.id]
    assert second.body["number"] not in str(seen)
    whole = await ok(await client.get(first.url, headers=ctx.auth))
    assert {r["id"] for r in whole["related"]} == {second.id, third.id}


async def test_joining_a_record_another_request_holds_answers_409(client: Any, db: Any, new_tenant: Any,
                                                                  mint: Any) -> None:
    from app.domains.complaints.models import Complaint

    ctx = await tenant_ctx(client, db, new_tenant, mint, "cpllock")
    first = await new_record(ctx)
    second = await new_record(ctx, project=first.project)
    # Another request is changing the second record (and could be joining it to the first).
    async with db.tenant_transaction(f"t_{ctx.tenant}") as session:
        await session.execute(select(Complaint.id).where(Complaint.id == uuid.UUID(second.id)).with_for_update())
        busy = await client.patch(first.url, headers={**ctx.auth, "If-Match": first.etag},
                                  json={"jointWith": second.id})
    assert busy.status_code == 409 and "try again" in busy.json()["detail"]
    joined = await client.patch(first.url, headers={**ctx.auth, "If-Match": first.etag},
                                json={"jointWith": second.id})
    assert (await ok(joined))["jointGroup"] == second.id


async def test_a_target_too_long_to_draw_is_refused(client: Any, db: Any, new_tenant: Any, mint: Any) -> None:
    from app.domains.complaints.models import Complaint

    ctx = await tenant_ctx(client, db, new_tenant, mint, "cplhuge")
    settings = await client.get(f"{BASE}/settings", headers=ctx.auth)
    # Half a million business minutes: its escalation lines would lie decades ahead, past any
    # calendar, and the record would have no deadline at all.
    huge = await client.put(f"{BASE}/settings", headers={**ctx.auth, "If-Match": settings.headers["etag"]},
                            json={"responseMinutes": 240, "resolutionMinutes": 500_000, "warnPercent": 80,
                                  "escalation": [{"afterPercent": 1000, "at": "group"}]})
    assert huge.status_code == 422 and huge.json()["errors"][0]["field"] == "resolutionMinutes"
    longest = await client.put(f"{BASE}/settings", headers={**ctx.auth, "If-Match": settings.headers["etag"]},
                               json={"responseMinutes": 240, "resolutionMinutes": 100_000, "warnPercent": 80,
                                     "escalation": [{"afterPercent": 1000, "at": "group"}]})
    assert longest.status_code == 200, longest.text
    rec = await new_record(ctx, categoryId=await category(ctx, "SERVICE"))
    assert rec.body["sla"]["resolutionDueAt"] is not None
    async with db.tenant_transaction(f"t_{ctx.tenant}") as session:
        row = await session.get(Complaint, uuid.UUID(rec.id))
        assert row is not None and row.next_escalation_at is not None  # the tenfold line is drawn too
