"""Property management end to end, over HTTP: a project from its first handover (with defects that
become repair orders, the unit's phase and the project's handover date written), the owner's
warranty repair from the app to sign-off (and one out of warranty, refused naming the expiry),
the property company's own client seeing its projects only, coordination with a missed cadence
found by the daily scan (fixed clocks, several tenants; and the beat through the real worker),
inspections with findings and the scorecard, the owners' committee formed within its deadline,
and the replacement of the property company through the approval engine, after which daily
property work is refused and warranty repairs go on."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import func, select, update

from app.auth.models import OutboxMessage
from app.core import clock
from app.core.audit import SYSTEM, Actor, tenant_audit
from tests.routes import _staff_account, _token_of  # first: it loads the catalogue modules

# isort: split
from tests.catalogue.complaints import grant_role, owner, tenant_ctx
from tests.catalogue.property import (
    BASE,
    MINE,
    PARTNER,
    case,
    company,
    entry,
    handover,
    home,
    inspection,
    managed,
    move,
    ok,
    partner_token,
    photo,
    repair,
)
from tests.conftest import bearer
from tests.worker.conftest import Worker, wait_for

PROBLEM = "urn:cornerstone:problem:"


async def test_a_handover_with_defects_writes_the_phase_and_opens_repairs(client: Any, db: Any, new_tenant: Any,
                                                                          mint: Any) -> None:
    ctx = await tenant_ctx(client, db, new_tenant, mint, "prophand")
    world = await home(ctx, "scheduled")
    h, url = world["handover"], f"{BASE}/handovers/{world['handover']['id']}"
    assert h["number"].startswith("JF-") and h["status"] == "scheduled" and h["customerId"] == world["customer"]["id"]
    codes = [r["code"] for r in h["results"]]
    assert {"walls", "doors_windows", "plumbing", "electrical", "waterproofing"} <= set(codes)

    # Keys before the owner confirmed: 409 naming the state needed.
    early = await client.post(f"{url}/keys", json={"keysHanded": 2},
                              headers={**ctx.auth, "If-Match": f'"{h["version"]}"'})
    assert early.status_code == 409 and "confirmed" in early.json()["detail"]
    # Every item needs a result; a defect a note.
    bad = await client.post(f"{url}/inspection", json={"inspector": "x", "results": [
        {"code": "walls", "ok": False}, {"code": "nope", "ok": True}]}, headers={**ctx.auth, "If-Match": '"1"'})
    assert bad.status_code == 422
    fields = {e["field"] for e in bad.json()["errors"]}
    assert {"results.0.note", "results.1.code", "results"} <= fields
    # A stale ETag: 412.
    stale = await client.post(f"{url}/cancel", json={"reason": "x"}, headers={**ctx.auth, "If-Match": '"99"'})
    assert stale.status_code == 412

    h = await move(client, ctx.auth, url, "inspection", {"inspector": "周验房", "results": [
        {"code": c, "ok": c not in ("waterproofing", "doors_windows"),
         **({"note": "卫生间地漏渗水", "category": "waterproofing"} if c == "waterproofing" else {}),
         **({"note": "窗框密封条缺失"} if c == "doors_windows" else {})} for c in codes]})
    assert h["status"] == "inspected" and h["defectCount"] == 2 and h["repairOrderIds"] == []
    # A photo of the defect, straight to storage: started, PUT, completed; then downloadable.
    shot = await photo(ctx, "handover", h["id"], "uploaded")
    assert shot["status"] == "pending"
    stored = await ok(await client.post(f"{BASE}/photos/{shot['id']}/complete", headers=ctx.auth))
    assert stored["status"] == "stored" and stored["subjectId"] == h["id"]
    link = await ok(await client.get(f"{BASE}/photos/{shot['id']}/download", headers=ctx.auth))
    assert link["url"]
    listed = await ok(await client.get(f"{BASE}/photos", headers=ctx.auth, params={"subjectId": h["id"]}))
    assert [p["id"] for p in listed] == [shot["id"]]
    not_a_photo = await client.post(f"{BASE}/photos", headers=ctx.auth, json={
        "subject": "handover", "subjectId": h["id"], "filename": "x.html", "contentType": "image/png", "size": 10,
        "sha256": "0" * 64})
    assert not_a_photo.status_code == 422 and not_a_photo.json()["errors"][0]["field"] == "filename"
    h = await move(client, ctx.auth, url, "confirmation", {"signedBy": "李业主"})
    assert h["confirmation"] == "signature" and len(h["repairOrderIds"]) == 2
    orders = [await ok(await client.get(f"{BASE}/repairs/{i}", headers=ctx.auth)) for i in h["repairOrderIds"]]
    assert {o["category"] for o in orders} == {"waterproofing", "decoration"}
    assert all(o["source"] == "handover" and o["sourceId"] == h["id"] and o["inWarranty"] for o in orders)

    project = await ok(await client.get(f"/api/v1/org/projects/{world['project']}", headers=ctx.auth))
    assert project["handoverDate"] == "2030-01-01"  # the helper's project: sealed in the future
    h = await move(client, ctx.auth, url, "keys", {"keysHanded": 3})
    assert h["status"] == "handed_over" and h["handedOverOn"] is not None
    day = h["handedOverOn"]
    # The unit's phase and the project's handover date (the pre/post-handover switch reads it).
    unit = await ok(await client.get(f"/api/v1/org/units/{world['unit']}", headers=ctx.auth))
    assert unit["status"] == "handed_over"
    project = await ok(await client.get(f"/api/v1/org/projects/{world['project']}", headers=ctx.auth))
    assert project["handoverDate"] == day
    rates = await ok(await client.get(f"{BASE}/move-in-rates", headers=ctx.auth,
                                      params={"projectId": world["project"]}))
    assert rates == [{"projectId": world["project"], "units": 1, "handedOver": 1, "rate": "100.00",
                      "firstMoveInOn": day, "handoverDate": day}]
    state = await ok(await client.get(f"{BASE}/projects/{world['project']}", headers=ctx.auth))
    assert state["phase"] == "developer" and state["firstMoveInOn"] == day and state["earlyDays"] == 7
    # A unit handed over takes no second handover.
    again = await client.post(f"{BASE}/handovers", headers=ctx.auth, json={
        "unitId": world["unit"], "appointmentAt": "2026-12-01T10:00:00+08:00"})
    assert again.status_code == 409


async def test_an_owner_asks_for_a_repair_and_signs_it_off(client: Any, db: Any, new_tenant: Any, mint: Any) -> None:
    ctx = await tenant_ctx(client, db, new_tenant, mint, "proprep", subject="owner-test")
    me, customer, unit = await owner(ctx)
    other, _, other_unit = await owner(ctx)
    # Not handed over yet: the owner's defects belong to the handover inspection.
    early = await client.post(f"{MINE}/repairs", headers=me, json={"unitId": unit, "category": "plumbing",
                                                                   "description": "漏水"})
    assert early.status_code == 409 and "not handed over" in early.json()["detail"]
    h = await handover(client, ctx.auth, unit, "inspected")
    # The owner confirms in the app; another owner cannot see it.
    assert (await client.get(f"{MINE}/handovers/{h['id']}", headers=other)).status_code == 404
    mine = await ok(await client.get(f"{MINE}/handovers", headers=me))
    assert [m["id"] for m in mine] == [h["id"]]
    confirmed = await ok(await client.post(f"{MINE}/handovers/{h['id']}/confirmation",
                                           headers={**me, "If-Match": f'"{h["version"]}"'}))
    assert confirmed["confirmation"] == "in_app"
    await move(client, ctx.auth, f"{BASE}/handovers/{h['id']}", "keys", {"keysHanded": 2})

    refused = await client.post(f"{MINE}/repairs", headers=me, json={"unitId": other_unit, "category": "plumbing",
                                                                      "description": "x"})
    assert refused.status_code == 404 and refused.json()["errors"][0]["field"] == "unitId"
    unknown = await client.post(f"{MINE}/repairs", headers=me, json={"unitId": unit, "category": "roof_garden",
                                                                      "description": "x"})
    assert unknown.status_code == 422 and unknown.json()["errors"][0]["field"] == "category"
    made = await client.post(f"{MINE}/repairs", headers={**me, "Idempotency-Key": "rep-1"}, json={
        "unitId": unit, "category": "plumbing", "description": "厨房水管漏水"})
    r = await ok(made, 201)
    again = await client.post(f"{MINE}/repairs", headers={**me, "Idempotency-Key": "rep-1"}, json={
        "unitId": unit, "category": "plumbing", "description": "厨房水管漏水"})
    assert again.json()["id"] == r["id"]
    assert r["number"].startswith("WX-") and r["source"] == "owner_app" and r["inWarranty"]
    assert date.fromisoformat(r["warrantyExpiresOn"]).year == date.fromisoformat(r["handedOverOn"]).year + 2
    assert (await client.get(f"{MINE}/repairs/{r['id']}", headers=other)).status_code == 404

    url = f"{BASE}/repairs/{r['id']}"
    # Sign-off before completion: 409.
    early_sign = await client.post(f"{MINE}/repairs/{r['id']}/sign-off", json={"rating": 5},
                                   headers={**me, "If-Match": f'"{r["version"]}"'})
    assert early_sign.status_code == 409
    await move(client, ctx.auth, url, "assign", {"assignee": "contractor", "contractor": "水电工程队"})
    await move(client, ctx.auth, url, "appointment", {"appointmentAt": "2026-12-20T09:00:00+08:00"})
    done = await move(client, ctx.auth, url, "completion", {"workDone": "更换三通", "cost": "260.00"})
    rejected = await ok(await client.post(f"{MINE}/repairs/{r['id']}/rejection", json={"comment": "还在滴水"},
                                          headers={**me, "If-Match": f'"{done["version"]}"'}))
    assert rejected["status"] == "assigned" and rejected["ownerComment"] == "还在滴水"
    done = await move(client, ctx.auth, url, "completion", {"workDone": "更换水管", "cost": "480.00"})
    signed = await ok(await client.post(f"{MINE}/repairs/{r['id']}/sign-off", json={"rating": 4, "comment": "好"},
                                        headers={**me, "If-Match": f'"{done["version"]}"'}))
    assert signed["status"] == "signed_off" and signed["rating"] == 4 and signed["cost"] == "480.00"
    listed = await ok(await client.get(f"{MINE}/repairs", headers=me))
    assert [i["id"] for i in listed["items"]] == [r["id"]]

    # Out of warranty: the unit was handed over three years ago (as recorded); refused naming the
    # expiry, unless accepted as paid work.
    from app.domains.property.models import Handover

    async with db.tenant_transaction(f"t_{ctx.tenant}") as session:
        await session.execute(update(Handover).where(Handover.id == uuid.UUID(h["id"]))
                              .values(handed_over_on=date(2023, 1, 10)))
    out = await client.post(f"{MINE}/repairs", headers=me, json={"unitId": unit, "category": "decoration",
                                                                  "description": "墙面开裂"})
    assert out.status_code == 409 and "2025-01-10" in out.json()["detail"]
    paid = await ok(await client.post(f"{MINE}/repairs", headers=me, json={
        "unitId": unit, "category": "decoration", "description": "墙面开裂", "paid": True}), 201)
    assert paid["paid"] and not paid["inWarranty"] and paid["warrantyExpiresOn"] == "2025-01-10"
    inside = await ok(await client.post(f"{MINE}/repairs", headers=me, json={
        "unitId": unit, "category": "waterproofing", "description": "外墙渗水"}), 201)
    assert inside["inWarranty"] and inside["warrantyExpiresOn"] == "2028-01-10"
    repeated = await ok(await client.get(f"{BASE}/repairs/repeated", headers=ctx.auth, params={"atLeast": 1}))
    assert {(i["category"], i["count"]) for i in repeated["items"]} == {("plumbing", 1), ("decoration", 1),
                                                                          ("waterproofing", 1)}
    assert (await ok(await client.get(f"{BASE}/repairs/repeated", headers=ctx.auth)))["items"] == []


async def test_the_property_companys_client_sees_its_projects_only(client: Any, db: Any, new_tenant: Any,
                                                                   mint: Any) -> None:
    ctx = await tenant_ctx(client, db, new_tenant, mint, "proppart")
    ours = await managed(ctx)
    theirs = await managed(ctx)
    auth = await partner_token(ctx, ours["company"]["id"])
    mine, _ = await repair(ctx, "assigned", world=ours)
    other, _ = await repair(ctx, "assigned", world=theirs)
    listed = await ok(await client.get(f"{PARTNER}/repairs", headers=auth))
    assert [i["id"] for i in listed["items"]] == [mine["id"]]
    assert (await client.get(f"{PARTNER}/repairs/{other['id']}", headers=auth)).status_code == 404
    scheduled = await ok(await client.post(f"{PARTNER}/repairs/{mine['id']}/appointment", json={
        "appointmentAt": "2026-12-22T14:00:00+08:00"}, headers={**auth, "If-Match": f'"{mine["version"]}"'}))
    assert scheduled["status"] == "scheduled"
    stale = await client.post(f"{PARTNER}/repairs/{mine['id']}/completion", json={"workDone": "x"},
                              headers={**auth, "If-Match": f'"{mine["version"]}"'})
    assert stale.status_code == 412
    # Its side of the coordination log, in its projects only.
    recorded = await ok(await client.post(f"{PARTNER}/coordination", headers=auth, json={
        "projectId": ours["project"], "heldOn": "2026-12-01", "form": "written", "topics": "物业月报"}), 201)
    assert recorded["recordedBy"] == "property_company" and recorded["companyId"] == ours["company"]["id"]
    elsewhere = await client.post(f"{PARTNER}/coordination", headers=auth, json={
        "projectId": theirs["project"], "heldOn": "2026-12-01", "form": "written", "topics": "x"})
    assert elsewhere.status_code == 404 and elsewhere.json()["errors"][0]["field"] == "projectId"
    theirs_entry, _ = await entry(ctx, theirs)
    assert (await client.get(f"{PARTNER}/coordination/{theirs_entry['id']}", headers=auth)).status_code == 404
    log = await ok(await client.get(f"{PARTNER}/coordination", headers=auth))
    assert [e["id"] for e in log["items"]] == [recorded["id"]]
    # An owner's complaint it received, forwarded into the register at its project.
    forwarded = await ok(await client.post(f"{PARTNER}/complaints", headers=auth, json={
        "projectId": ours["project"], "unitId": ours["unit"], "subject": "楼上装修噪音",
        "description": "业主反映楼上夜间装修", "contactNote": "李业主 138 0000 0000"}), 201)
    complaint = await ok(await client.get(f"/api/v1/complaints/{forwarded['id']}", headers=ctx.auth))
    assert complaint["channel"] == "property_company" and complaint["number"] == forwarded["number"]
    assert (await client.post(f"{PARTNER}/complaints", headers=auth, json={
        "projectId": theirs["project"], "subject": "x", "description": "x", "contactNote": "x"})).status_code == 404
    # A client holding more than property:partner is not bound.
    from app.auth.models import ClientKind
    from app.auth.services import create_client
    from app.tenants.models import Tenant

    async with db.platform_transaction() as session:
        session.info["actor"] = Actor(kind="operator", id="operator@test")
        tenant_id = await session.scalar(select(Tenant.id).where(Tenant.slug == ctx.tenant))
        wide, _ = await create_client(session, tenant_id=tenant_id, name="wide", kind=ClientKind.confidential,
                                      redirect_uris=[], allowed_scopes=["property:partner", "complaints:read"])
    url = f"{BASE}/companies/{theirs['company']['id']}"
    current = await client.get(url, headers=ctx.auth)
    refused = await client.put(f"{url}/client", json={"clientId": wide.client_id},
                               headers={**ctx.auth, "If-Match": current.headers["etag"]})
    assert refused.status_code == 422 and refused.json()["errors"][0]["field"] == "clientId"


class Clock:
    def __init__(self, monkeypatch: Any) -> None:
        self.monkeypatch = monkeypatch

    def set(self, day: str) -> None:
        instant = datetime.fromisoformat(f"{day}T04:00:00").replace(tzinfo=UTC)
        self.monkeypatch.setattr(clock, "utcnow", lambda: instant)


async def _scan(db: Any, slug: str) -> dict[str, int]:
    """The scan's body in one tenant, in process (so that the fixed clock holds)."""
    from app.domains.property.coordination import scan

    async with db.tenant_transaction(f"t_{slug}") as session:
        session.info["actor"] = SYSTEM
        return await scan(session)


async def test_the_cadence_scan_with_fixed_clocks_over_several_tenants(client: Any, db: Any, new_tenant: Any,
                                                                       mint: Any, monkeypatch: Any) -> None:
    now = Clock(monkeypatch)
    now.set("2026-03-02")
    tenants = []
    for prefix in ("cadencea", "cadenceb"):
        ctx = await tenant_ctx(client, db, new_tenant, mint, prefix)
        world = await managed(ctx)
        state_url = f"{BASE}/projects/{world['project']}"
        responsible = await _staff_account(ctx)
        current = await client.get(state_url, headers=ctx.auth)
        await ok(await client.patch(state_url, json={"responsibleAccountId": responsible},
                                    headers={**ctx.auth, "If-Match": current.headers["etag"]}))
        tenants.append((ctx, world, responsible))
    first = tenants[0][1]["handover"]["handedOverOn"]
    assert first == "2026-03-02"
    a, b = tenants
    # Tenant A coordinates on the 5th; tenant B never does.
    now.set("2026-03-05")
    await ok(await client.post(f"{BASE}/coordination", headers=a[0].auth, json={
        "projectId": a[1]["project"], "heldOn": "2026-03-05", "form": "meeting", "topics": "入住协调",
        "actions": [{"description": "门禁卡发放", "owner": "property_company", "ownerName": "赵经理",
                     "dueOn": "2026-03-08"}]}), 201)
    now.set("2026-03-09")  # weekly in the first three months: B was due on the 9th, not yet missed
    assert await _scan(db, b[0].tenant) == {"missed": 0, "overdue": 0, "notified": 0}
    assert await _scan(db, a[0].tenant) == {"missed": 0, "overdue": 1, "notified": 1}
    now.set("2026-03-10")
    assert await _scan(db, b[0].tenant) == {"missed": 1, "overdue": 0, "notified": 1}
    assert await _scan(db, b[0].tenant) == {"missed": 0, "overdue": 0, "notified": 0}  # flagged once
    assert await _scan(db, a[0].tenant) == {"missed": 0, "overdue": 0, "notified": 0}  # A due on the 12th
    now.set("2026-03-13")
    assert (await _scan(db, a[0].tenant))["missed"] == 1
    state = await ok(await client.get(f"{BASE}/projects/{a[1]['project']}", headers=a[0].auth))
    assert state["lastCoordinationOn"] == "2026-03-05" and state["nextCoordinationDue"] == "2026-03-12"
    # Later than three months after the first move-in: monthly.
    now.set("2026-06-10")
    await ok(await client.post(f"{BASE}/coordination", headers=a[0].auth, json={
        "projectId": a[1]["project"], "heldOn": "2026-06-10", "form": "meeting", "topics": "月度协调"}), 201)
    state = await ok(await client.get(f"{BASE}/projects/{a[1]['project']}", headers=a[0].auth))
    assert state["nextCoordinationDue"] == "2026-07-11"
    overdue = await ok(await client.get(f"{BASE}/coordination/actions", headers=a[0].auth,
                                        params={"overdue": "true"}))
    assert overdue["total"] == 1
    async with db.platform_session() as session:
        told = (await session.scalars(select(OutboxMessage.recipient).where(
            OutboxMessage.recipient.in_([a[2], b[2]])))).all()
    assert sorted(told) == sorted([a[2], a[2], b[2]])


async def test_the_daily_scan_runs_through_the_worker(client: Any, db: Any, worker: Worker, new_tenant: Any,
                                                      mint: Any) -> None:
    ctx = await tenant_ctx(client, db, new_tenant, mint, "cadencew")
    world = await managed(ctx)
    from app.domains.property import tasks
    from app.domains.property.models import PropertyProject

    async with db.tenant_transaction(f"t_{ctx.tenant}") as session:
        await session.execute(update(PropertyProject).where(PropertyProject.node_id == uuid.UUID(world["project"]))
                              .values(first_move_in_on=date(2026, 1, 5)))
    tasks.cadence_scan.apply_async()

    async def flagged() -> bool:
        async with db.tenant_session(f"t_{ctx.tenant}") as session:
            return await session.scalar(select(PropertyProject.cadence_missed_on).where(
                PropertyProject.node_id == uuid.UUID(world["project"]))) is not None

    assert await wait_for(worker, flagged, "the cadence scan")


async def test_inspections_findings_and_the_scorecard(client: Any, db: Any, new_tenant: Any, mint: Any) -> None:
    ctx = await tenant_ctx(client, db, new_tenant, mint, "propsup")
    i, world = await inspection(ctx)
    assert i["score"] == "80.00" and i["companyId"] == world["company"]["id"] and len(i["findings"]) == 1
    f = i["findings"][0]
    url = f"{BASE}/findings/{f['id']}"
    early = await client.post(f"{url}/verification", json={"verifiedBy": "王"},
                              headers={**ctx.auth, "If-Match": f'"{f["version"]}"'})
    assert early.status_code == 409 and "rectified" in early.json()["detail"]
    auth = await partner_token(ctx, world["company"]["id"])
    rectified = await ok(await client.post(f"{PARTNER}/findings/{f['id']}/rectification",
                                           json={"rectification": "已增加清运频次"},
                                           headers={**auth, "If-Match": f'"{f["version"]}"'}))
    back = await move(client, ctx.auth, url, "verification", {"verifiedBy": "王经理", "accepted": False})
    assert back["status"] == "open" and rectified["status"] == "rectified"
    await move(client, ctx.auth, url, "rectification", {"rectification": "每日两次清运"})
    verified = await move(client, ctx.auth, url, "verification", {"verifiedBy": "王经理"})
    assert verified["status"] == "verified"
    missing = await client.post(f"{BASE}/inspections", headers=ctx.auth, json={
        "projectId": world["project"], "kind": "special", "inspectedOn": "2026-11-28", "inspector": "x",
        "scores": [{"code": "security", "score": 50}]})
    assert missing.status_code == 422
    await repair(ctx, "completed", world=world)
    card = await ok(await client.get(f"{BASE}/scorecard", headers=ctx.auth,
                                      params={"from": "2026-01-01", "to": "2026-12-31"}))
    [row] = card["items"]
    assert row["companyId"] == world["company"]["id"] and row["inspections"] == 1 and row["findings"] == 1
    assert row["averageScore"] == "80.00" and row["openFindings"] == 0 and row["repairsCompleted"] == 1


async def test_the_committee_is_formed_and_the_company_replaced(client: Any, db: Any, new_tenant: Any,
                                                                mint: Any) -> None:
    ctx = await tenant_ctx(client, db, new_tenant, mint, "propcom")
    k, world = await case(ctx)
    assert k["status"] == "preparing" and k["deadline"] is not None and "50%" in k["deadlineBasis"]
    # One unit of one handed over: 50 % reached on the first delivery.
    assert k["deadline"] == world["handover"]["handedOverOn"]
    early = await client.post(f"{BASE}/replacements", headers=ctx.auth, json={
        "projectId": world["project"], "incomingCompany": "x", "effectiveOn": "2027-01-01"})
    assert early.status_code == 409 and "formed" in early.json()["detail"]
    url = f"{BASE}/committees/{k['id']}"
    for milestone, day in [("preparatory_meeting", "2026-10-01"), ("general_meeting", "2026-11-01"),
                           ("election", "2026-11-15")]:
        k = await move(client, ctx.auth, url, "milestones", {"milestone": milestone, "reachedOn": day})
    no_members = await client.post(f"{url}/members", json={"name": "x", "role": "chair", "termStarts": "2026-12-01",
                                                           "termEnds": "2031-11-30"},
                                   headers={**ctx.auth, "If-Match": f'"{k["version"]}"'})
    assert no_members.status_code == 409
    k = await move(client, ctx.auth, url, "milestones", {"milestone": "filing", "reachedOn": "2026-12-01"})
    assert k["status"] == "formed" and k["formedOn"] == "2026-12-01"
    k = await move(client, ctx.auth, url, "members", {"name": "张主任", "role": "chair", "termStarts": "2026-12-01",
                                                      "termEnds": "2031-11-30"})
    k = await move(client, ctx.auth, url, "resolutions", {"adoptedOn": "2026-12-02", "title": "选聘新物业",
                                                          "text": "公开招标选聘物业服务企业"})
    assert k["members"][0]["role"] == "chair" and k["resolutions"][0]["title"] == "选聘新物业"

    open_repair, _ = await repair(ctx, "assigned", world=world)
    r = await ok(await client.post(f"{BASE}/replacements", headers=ctx.auth, json={
        "projectId": world["project"], "incomingCompany": "业委会选聘物业", "effectiveOn": "2027-01-01"}), 201)
    assert {i["category"] for i in r["checklist"]} == {"documents", "facilities", "funds", "keys"}
    rurl = f"{BASE}/replacements/{r['id']}"
    not_done = await client.post(f"{rurl}/submit", headers={**ctx.auth, "If-Match": f'"{r["version"]}"'})
    assert not_done.status_code == 409
    for index in range(len(r["checklist"])):
        r = await move(client, ctx.auth, rurl, "checklist", {"index": index, "done": True})
    approver = await _staff_account(ctx)
    project = await ok(await client.get(f"/api/v1/org/projects/{world['project']}", headers=ctx.auth))
    await grant_role(ctx, approver, "customer_affairs_manager", project["parentId"])
    r = await move(client, ctx.auth, rurl, "submit", {})
    assert r["status"] == "pending" and r["approvalRequestId"]
    decider = await _token_of(ctx, approver, ["approvals:read", "approvals:write"])
    await ok(await client.post(f"/api/v1/approvals/requests/{r['approvalRequestId']}/approve",
                               json={"comment": "移交清单齐全"}, headers=decider))
    r = await ok(await client.get(rurl, headers=ctx.auth))
    assert r["status"] == "completed" and r["completedOn"]
    state = await ok(await client.get(f"{BASE}/projects/{world['project']}", headers=ctx.auth))
    assert state["phase"] == "committee" and state["replacedOn"] == r["completedOn"]
    k = await ok(await client.get(url, headers=ctx.auth))
    assert k["status"] == "replaced"
    ended = await ok(await client.get(f"{BASE}/contracts/{world['contract']['id']}", headers=ctx.auth))
    assert ended["status"] == "ended"
    # Daily property work is refused with a clear problem; warranty repairs go on.
    refused = await client.post(f"{BASE}/coordination", headers=ctx.auth, json={
        "projectId": world["project"], "heldOn": "2026-12-01", "form": "meeting", "topics": "x"})
    assert refused.status_code == 409 and "owners' committee" in refused.json()["detail"]
    inspected = await client.post(f"{BASE}/inspections", headers=ctx.auth, json={
        "projectId": world["project"], "kind": "routine", "inspectedOn": "2026-12-01", "inspector": "x",
        "scores": [{"code": "security", "score": 50}]})
    assert inspected.status_code == 409
    c2 = await company(client, ctx.auth)
    again = await client.post(f"{BASE}/contracts", headers=ctx.auth, json={
        "projectId": world["project"], "companyId": c2["id"], "startsOn": "2027-01-01", "endsOn": "2028-01-01",
        "scope": ["security"]})
    assert again.status_code == 409
    # A new defect after the replacement: a repair order, assigned to a contractor.
    later, _ = await repair(ctx, "assigned", world={key: v for key, v in world.items() if key != "company"})
    assert later["status"] == "assigned" and later["contractor"]
    done = await move(client, ctx.auth, f"{BASE}/repairs/{open_repair['id']}", "completion", {"workDone": "修好"})
    assert done["status"] == "completed"
    async with db.tenant_session(f"t_{ctx.tenant}") as session:
        audited = await session.scalar(select(func.count()).select_from(tenant_audit).where(
            tenant_audit.c.action == "property.replacement.complete"))
    assert audited == 1


async def test_the_demo_tenant_shows_the_flows(client: Any, db: Any, mint: Any, demo: Any) -> None:
    from app.auth.models import Account
    from app.demo import OWNER
    from app.tenants.models import Tenant

    slug = demo.slug
    admin = bearer(mint(tenant=slug))
    companies = await ok(await client.get(f"{BASE}/companies", headers=admin))
    assert [c["name"] for c in companies["items"]] == ["阳光物业服务有限公司 Sunshine Property Services"]
    cases = await ok(await client.get(f"{BASE}/committees", headers=admin))
    assert [c["status"] for c in cases["items"]] == ["preparing"]
    async with db.platform_session() as session:
        owner_id = await session.scalar(select(Account.id).join(Tenant, Tenant.id == Account.tenant_id)
                                        .where(Account.username == OWNER[0], Tenant.slug == slug))
    mine = await ok(await client.get(f"{MINE}/repairs", headers=bearer(mint(tenant=slug, subject=str(owner_id),
                                                                            scopes=["owner:self"]))))
    assert [(r["status"], r["category"]) for r in mine["items"]] == [("assigned", "waterproofing")]
    actions = await ok(await client.get(f"{BASE}/coordination/actions", headers=admin, params={"status": "open"}))
    assert actions["total"] == 1
