"""Certificates over the API: an agency selected through the approval engine, its agreement,
a case from the owner's checklist (expired documents collected again) to delivery, lateness
found by the daily scan (in process with a fixed clock, and through the real worker), the
statistics against a fixture, and the owner's own view."""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import select

from app.auth.models import OutboxMessage
from app.core import clock
from app.core.audit import SYSTEM, tenant_audit
from app.domains.certificates import lateness, tasks
from app.domains.certificates.models import CertificateCase
from tests.routes import Ctx, _new_customer, _staff_account  # first: it loads the route catalogue

# isort: split
from tests.catalogue.certificates import (
    AGENCIES,
    BASE,
    CASES,
    MINE,
    agency_body,
    agreement_body,
    case_in,
    general_manager,
    new_agency,
    new_agreement,
    ok,
)
from tests.catalogue.complaints import owner, tenant_ctx
from tests.conftest import subject_of
from tests.worker.conftest import Worker, wait_for

PROBLEM = "urn:cornerstone:problem:"


@pytest.fixture(scope="module")
async def ctx(app: Any, db: Any, new_tenant: Any, mint: Any) -> Ctx:
    import httpx

    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as c:
        made = await tenant_ctx(c, db, new_tenant, mint, "cert", subject="cert-test")
    return made


def _at(day: str) -> datetime:
    return datetime.fromisoformat(f"{day}T04:00:00+00:00")  # noon in Shanghai


def fix_clock(monkeypatch: Any, day: str) -> None:
    monkeypatch.setattr(clock, "utcnow", lambda: _at(day))


def with_client(ctx: Ctx, client: Any) -> Ctx:
    return Ctx(client=client, db=ctx.db, tenant=ctx.tenant, subject=ctx.subject, auth=ctx.auth, mark=ctx.mark)


async def trail(db: Any, slug: str, entity_id: str) -> list[str]:
    async with db.tenant_session(f"t_{slug}") as session:
        rows = (await session.execute(select(tenant_audit.c.action).where(tenant_audit.c.entity_id == entity_id)
                                      .order_by(tenant_audit.c.occurred_at, tenant_audit.c.id))).scalars().all()
    return list(rows)


async def _post(client: Any, url: str, auth: dict[str, str], etag: str, body: dict[str, Any]) -> Any:
    return await client.post(url, headers={**auth, "If-Match": etag}, json=body)


async def test_an_agency_is_selected_then_signs_its_agreement(client: Any, ctx: Ctx) -> None:
    c = with_client(ctx, client)
    created = await client.post(AGENCIES, headers=ctx.auth, json=await agency_body(c))
    agency = await ok(created, 201)
    assert agency["status"] == "pending" and agency["approvalRequestId"]
    request = await ok(await client.get(f"/api/v1/approvals/requests/{agency['approvalRequestId']}",
                                        headers=ctx.auth))
    assert request["type"] == "agency_selection" and request["payload"]["name"] == agency["name"]
    url = created.headers["location"]
    # Not selected yet: no agreement, no change while under review.
    early = await client.post(f"{url}/agreements", headers=ctx.auth, json=agreement_body())
    assert early.status_code == 409 and "pending" in early.json()["detail"]
    frozen = await client.patch(url, headers={**ctx.auth, "If-Match": created.headers["etag"]},
                                json={"contactName": "x"})
    assert frozen.status_code == 409
    await ok(await client.post(f"/api/v1/approvals/requests/{agency['approvalRequestId']}/reject",
                               headers=await general_manager(c), json={"comment": "资质证明不全"}))
    got = await client.get(url, headers=ctx.auth)
    assert got.json()["status"] == "rejected"
    revised = await client.patch(url, headers={**ctx.auth, "If-Match": got.headers["etag"]},
                                 json={"licenceNumber": "91440300MA5XXXXX1", "reputation": "补充资质证明"})
    assert revised.status_code == 200, revised.text
    again = await ok(await _post(client, f"{url}/submit", ctx.auth, revised.headers["etag"], {"note": "已补充"}))
    assert again["status"] == "pending" and again["approvalRequestId"] == agency["approvalRequestId"]
    await ok(await client.post(f"/api/v1/approvals/requests/{agency['approvalRequestId']}/approve",
                               headers=await general_manager(c), json={}))
    assert (await ok(await client.get(url, headers=ctx.auth)))["status"] == "approved"

    bad = await client.post(f"{url}/agreements", headers=ctx.auth,
                            json=agreement_body(validFrom="2027-01-01", validUntil="2026-01-01"))
    assert bad.status_code == 409 and bad.json()["errors"][0]["field"] == "validUntil"
    signed = await client.post(f"{url}/agreements", headers=ctx.auth, json=agreement_body(number="DL-2026-001"))
    agreement = await ok(signed, 201)
    assert agreement["feePerCase"] == "800.00" and agreement["daysToIssue"] == 30
    twice = await client.post(f"{url}/agreements", headers=ctx.auth, json=agreement_body(number="DL-2026-001"))
    assert twice.status_code == 409
    listed = await ok(await client.get(f"{url}/agreements", headers=ctx.auth))
    assert [g["id"] for g in listed["items"]] == [agreement["id"]]
    assert await trail(ctx.db, ctx.tenant, agency["id"]) == [
        "certificates.agency.create", "certificates.agency.update", "certificates.agency.submit"]


async def test_a_case_from_the_checklist_to_delivery(client: Any, ctx: Ctx, monkeypatch: Any) -> None:
    c = with_client(ctx, client)
    fix_clock(monkeypatch, "2026-03-20")
    customer, _, _ = await _new_customer(c)
    agreement = await new_agreement(c)
    body = {"unitId": customer["units"][0]["unitId"], "customerId": customer["id"], "agreementId": agreement["id"],
            "openedOn": "2026-01-05"}
    created = await client.post(CASES, headers=ctx.auth, json=body)
    case = await ok(created, 201)
    assert case["number"].startswith("BZ-") and case["status"] == "collecting"
    assert case["nodeId"] == customer["units"][0]["projectId"]
    # The tenant's default checklist; two documents expire.
    assert [d["code"] for d in case["documents"]] == ["id_card", "purchase_contract", "deed_tax", "marital_status",
                                                     "power_of_attorney"]
    assert {d["status"] for d in case["documents"]} == {"missing"}
    twice = await client.post(CASES, headers=ctx.auth, json=body)
    assert twice.status_code == 409 and case["number"] in twice.json()["detail"]
    stranger, _, _ = await _new_customer(c)
    not_owner = await client.post(CASES, headers=ctx.auth, json={**body, "customerId": stranger["id"]})
    assert not_owner.status_code == 409 and not_owner.json()["errors"][0]["field"] == "customerId"

    url, etag = created.headers["location"], created.headers["etag"]
    refused = await _post(client, f"{url}/submit", ctx.auth, etag, {"submittedOn": "2026-03-20"})
    assert refused.status_code == 409 and len(refused.json()["errors"]) == 5
    for code, day in [("id_card", "2026-01-06"), ("purchase_contract", "2026-01-06"), ("deed_tax", "2026-01-06"),
                      ("marital_status", "2025-12-01"), ("power_of_attorney", "2026-01-06")]:
        moved = await _post(client, f"{url}/documents", ctx.auth, etag, {"code": code, "collectedOn": day})
        etag = moved.headers["etag"]
    case = moved.json()
    marital = next(d for d in case["documents"] if d["code"] == "marital_status")
    assert marital["expiresOn"] == "2026-03-01" and marital["status"] == "expired"  # 90 days
    assert (await _post(client, f"{url}/documents", ctx.auth, etag,
                        {"code": "id_card", "collectedOn": "2026-04-01"})).status_code == 409  # not in the future
    unknown = await _post(client, f"{url}/documents", ctx.auth, etag, {"code": "hukou", "collectedOn": "2026-03-01"})
    assert unknown.status_code == 409 and unknown.json()["errors"][0]["field"] == "code"
    stale = await _post(client, f"{url}/submit", ctx.auth, created.headers["etag"], {"submittedOn": "2026-03-20"})
    assert stale.status_code == 412
    expired = await _post(client, f"{url}/submit", ctx.auth, etag, {"submittedOn": "2026-03-20"})
    assert expired.status_code == 409 and [e["field"] for e in expired.json()["errors"]] == [
        "documents.marital_status"]
    moved = await _post(client, f"{url}/documents", ctx.auth, etag,
                        {"code": "marital_status", "collectedOn": "2026-03-18"})
    submitted = await _post(client, f"{url}/submit", ctx.auth, moved.headers["etag"], {"submittedOn": "2026-03-20"})
    case = await ok(submitted)
    assert case["status"] == "submitted" and case["dueOn"] == "2026-04-19" and case["late"] is False
    # Documents are collected before submission.
    assert (await _post(client, f"{url}/documents", ctx.auth, submitted.headers["etag"],
                        {"code": "id_card", "collectedOn": "2026-03-20"})).status_code == 409
    accepted = await _post(client, f"{url}/accept", ctx.auth, submitted.headers["etag"], {"acceptedOn": "2026-03-25"})
    early = await _post(client, f"{url}/deliver", ctx.auth, accepted.headers["etag"], {"deliveredOn": "2026-03-26"})
    assert early.status_code == 409 and "issued" in early.json()["detail"]
    issued = await _post(client, f"{url}/issue", ctx.auth, accepted.headers["etag"],
                         {"issuedOn": "2026-04-10", "certificateNumber": "粤(2026)深圳市不动产权第0100001号"})
    case = await ok(issued)
    assert case["status"] == "issued" and case["dueOn"] == "2026-04-17"  # 7 days to deliver
    delivered = await ok(await _post(client, f"{url}/deliver", ctx.auth, issued.headers["etag"],
                                     {"deliveredOn": "2026-04-12"}))
    assert delivered["status"] == "delivered" and delivered["late"] is False
    assert await trail(ctx.db, ctx.tenant, case["id"]) == [
        "certificates.case.create", *["certificates.case.document"] * 6, "certificates.case.submit",
        "certificates.case.accept", "certificates.case.issue", "certificates.case.deliver"]


async def test_an_agency_not_selected_takes_no_case(client: Any, ctx: Ctx) -> None:
    c = with_client(ctx, client)
    agency, url = await new_agency(c)
    agreement = await ok(await client.post(f"{url}/agreements", headers=ctx.auth, json=agreement_body()), 201)
    got = await client.get(url, headers=ctx.auth)
    await ok(await _post(client, f"{url}/suspend", ctx.auth, got.headers["etag"], {"note": "多次逾期"}))
    customer, _, _ = await _new_customer(c)
    refused = await client.post(CASES, headers=ctx.auth, json={
        "unitId": customer["units"][0]["unitId"], "customerId": customer["id"], "agreementId": agreement["id"]})
    assert refused.status_code == 409 and refused.json()["errors"][0]["field"] == "agreementId"


async def _scan(db: Any, slug: str) -> dict[str, int]:
    async with db.tenant_transaction(f"t_{slug}") as session:
        session.info["actor"] = SYSTEM
        return await lateness.scan(session)


async def _told(db: Any, case_id: str) -> list[tuple[str, str, Any]]:
    """The outbox messages about the case: (recipient, channel, data)."""
    async with db.platform_session() as session:
        return [tuple(r) for r in (await session.execute(
            select(OutboxMessage.recipient, OutboxMessage.channel, OutboxMessage.data)
            .where(OutboxMessage.data["caseId"].astext == case_id)
            .order_by(OutboxMessage.created_at, OutboxMessage.id))).all()]


async def test_late_cases_are_found_and_their_agency_urged_once_a_day(client: Any, ctx: Ctx, db: Any,
                                                                       monkeypatch: Any) -> None:
    c = with_client(ctx, client)
    case, url = await case_in(c, "submitted")  # submitted 2026-01-10, due 2026-02-09
    assert case["dueOn"] == "2026-02-09" and case["responsibleAccountId"] == subject_of(ctx.auth)  # the opener
    # The CRM officer following the case (§4.5.2) is named: a change audited with its reason.
    officer = await _staff_account(c)
    handed = await client.patch(url, headers={**ctx.auth, "If-Match": f'"{case["version"]}"'},
                                json={"reason": "办证专员接手", "responsibleAccountId": officer})
    case = await ok(handed)
    assert case["responsibleAccountId"] == officer and case["status"] == "submitted"
    stale = await client.patch(url, headers={**ctx.auth, "If-Match": '"1"'}, json={"reason": "x"})
    assert stale.status_code == 412
    early = await client.patch(url, headers={**ctx.auth, "If-Match": handed.headers["etag"]},
                               json={"reason": "x", "certificateNumber": "粤(2026)第9号"})
    assert early.status_code == 409 and early.json()["errors"][0]["field"] == "certificateNumber"
    nobody = await client.patch(url, headers={**ctx.auth, "If-Match": handed.headers["etag"]},
                                json={"reason": "x", "responsibleAccountId": str(uuid.uuid4())})
    assert nobody.status_code == 404 and nobody.json()["errors"][0]["field"] == "responsibleAccountId"
    fix_clock(monkeypatch, "2026-02-09")
    await _scan(db, ctx.tenant)
    assert (await ok(await client.get(url, headers=ctx.auth)))["late"] is False
    fix_clock(monkeypatch, "2026-02-12")
    late = await ok(await client.get(CASES, headers=ctx.auth, params={"late": "true", "limit": 200}))
    assert case["id"] in {i["id"] for i in late["items"]}
    await _scan(db, ctx.tenant)
    await _scan(db, ctx.tenant)  # the same day: urged once
    got = await ok(await client.get(url, headers=ctx.auth))
    assert got["late"] is True and got["lateSince"] == "2026-02-10" and got["urgeCount"] == 1
    assert got["events"][-1]["kind"] == "urge" and "3 day(s) late" in got["events"][-1]["note"]
    # The responsible officer is told in the app, once per urge.
    told = await _told(db, case["id"])
    assert [(r, ch, d["event"], d["urgeCount"]) for r, ch, d in told] == [
        (officer, "inbox", "certificates.case.urged", 1)]
    fix_clock(monkeypatch, "2026-02-13")
    await _scan(db, ctx.tenant)
    assert (await ok(await client.get(url, headers=ctx.auth)))["urgeCount"] == 2
    assert [d["urgeCount"] for _, _, d in await _told(db, case["id"])] == [1, 2]


async def test_the_daily_scan_runs_through_the_worker(client: Any, worker: Worker, ctx: Ctx, db: Any) -> None:
    case, _ = await case_in(with_client(ctx, client), "accepted")  # due 2026-02-09, long past
    tasks.lateness_scan.apply_async()

    async def urged() -> bool:
        async with db.tenant_session(f"t_{ctx.tenant}") as session:
            row = await session.get(CertificateCase, uuid.UUID(case["id"]))
            return row is not None and row.urge_count >= 1

    assert await wait_for(worker, urged, "the lateness scan")


async def test_statistics_against_a_fixture(client: Any, db: Any, new_tenant: Any, mint: Any,
                                            monkeypatch: Any) -> None:
    c = await tenant_ctx(client, db, new_tenant, mint, "certst", subject="cert-test")
    fix_clock(monkeypatch, "2026-03-01")
    first, second = await new_agreement(c), await new_agreement(c)
    # First agency: issued on time (22 days), issued late (40 days, due 30), one late in progress;
    # on 2026-03-01 the two issued ones are late too: their delivery was due 7 days after the issue.
    on_time, on_time_url = await case_in(c, "issued", agreement=first)
    late_done, late_url = await case_in(c, "accepted", agreement=first)
    await ok(await c.client.post(f"{late_url}/issue", headers={**c.auth, "If-Match": f'"{late_done["version"]}"'},
                                 json={"issuedOn": "2026-02-19", "certificateNumber": "n2"}))
    await case_in(c, "submitted", agreement=first)  # due 2026-02-09: late on 2026-03-01
    # Second agency: one collecting, one delivered (22 days).
    await case_in(c, "collecting", agreement=second)
    await case_in(c, "delivered", agreement=second)
    stats = await ok(await c.client.get(f"{BASE}/statistics", headers=c.auth, params={"by": "agency"}))
    rows = {r["key"]: r for r in stats["rows"]}
    a, b = rows[first["agencyId"]], rows[second["agencyId"]]
    assert stats["asOf"] == "2026-03-01"
    assert (a["total"], a["collecting"], a["inProgress"], a["issued"], a["late"]) == (3, 0, 1, 2, 3)
    assert (a["finishedOnTime"], a["finishedLate"], a["onTimeRate"], a["averageDaysToIssue"]) == (
        1, 1, "0.50", "31.00")
    assert (b["total"], b["collecting"], b["issued"], b["late"], b["onTimeRate"], b["averageDaysToIssue"]) == (
        2, 1, 1, 0, "1.00", "22.00")
    performance = await ok(await c.client.get(f"{AGENCIES}/{first['agencyId']}/performance", headers=c.auth))
    assert performance["rows"] == [a]
    by_branch = await ok(await c.client.get(f"{BASE}/statistics", headers=c.auth, params={"by": "branch"}))
    assert sum(r["total"] for r in by_branch["rows"]) == 5 and len(by_branch["rows"]) == 5  # a branch per owner
    assert Decimal(a["onTimeRate"]) == Decimal("0.5") and on_time["status"] == "issued" and on_time_url


async def test_the_owner_follows_their_certificate(client: Any, ctx: Ctx) -> None:
    c = with_client(ctx, client)
    auth, customer, _ = await owner(c)
    created = await client.post(CASES, headers=ctx.auth, json={
        "unitId": customer["units"][0]["unitId"], "customerId": customer["id"],
        "agreementId": (await new_agreement(c))["id"], "openedOn": "2026-01-05"})
    case = await ok(created, 201)
    await _post(client, f"{created.headers['location']}/documents", ctx.auth, created.headers["etag"],
                {"code": "id_card", "collectedOn": "2026-01-06"})
    mine = await ok(await client.get(MINE, headers=auth))
    assert [m["id"] for m in mine["items"]] == [case["id"]]
    own = await ok(await client.get(f"{MINE}/{case['id']}", headers=auth))
    assert own["status"] == "collecting" and own["agencyName"].startswith("A-only agency")
    assert [d["name"][:4] for d in own["stillNeeded"]] == ["商品房买", "契税完税", "婚姻状况", "委托书 "]
    assert "customerId" not in own and "events" not in own
    # Another owner's case is not theirs.
    other, _ = await case_in(c, "submitted")
    assert (await client.get(f"{MINE}/{other['id']}", headers=auth)).status_code == 404
    # Staff routes are not theirs either.
    assert (await client.get(f"{CASES}/{case['id']}", headers=auth)).status_code == 403


async def test_an_unknown_unit_or_agreement_is_named(client: Any, ctx: Ctx) -> None:
    c = with_client(ctx, client)
    customer, _, _ = await _new_customer(c)
    agreement = await new_agreement(c)
    unknown = await client.post(CASES, headers=ctx.auth, json={
        "unitId": str(uuid.uuid4()), "customerId": customer["id"], "agreementId": agreement["id"]})
    assert unknown.status_code == 404 and unknown.json()["errors"][0]["field"] == "unitId"
    unknown = await client.post(CASES, headers=ctx.auth, json={
        "unitId": customer["units"][0]["unitId"], "customerId": customer["id"], "agreementId": str(uuid.uuid4())})
    assert unknown.status_code == 404 and unknown.json()["errors"][0]["field"] == "agreementId"
    closed = await client.post(CASES, headers=ctx.auth, json={"unitId": customer["units"][0]["unitId"],
                                                              "customerId": customer["id"], "agreementId": 5})
    assert closed.status_code == 422 and closed.json()["type"] == PROBLEM + "validation"


async def test_the_demo_tenant_shows_the_flows(client: Any, db: Any, mint: Any, demo: Any) -> None:
    from app.auth.models import Account
    from app.demo import OWNER, STAFF
    from app.tenants.models import Tenant
    from tests.conftest import bearer

    slug = demo.slug
    staff = bearer(mint(tenant=slug))
    [agency] = (await ok(await client.get(AGENCIES, headers=staff)))["items"]
    assert agency["status"] == "approved"
    [case] = (await ok(await client.get(CASES, headers=staff)))["items"]
    assert case["status"] == "issued"
    releasable = await ok(await client.get("/api/v1/guarantees", headers=staff, params={"releasable": "true"}))
    assert releasable["total"] == 1
    [referred] = (await ok(await client.get("/api/v1/collections/cases", headers=staff)))["items"]
    assert referred["status"] == "referred" and referred["referralReasons"] == ["overdue_more_than_6_months"]
    async with db.platform_session() as session:
        owner = await session.scalar(select(Account.id).join(Tenant, Tenant.id == Account.tenant_id)
                                     .where(Account.username == OWNER[0], Tenant.slug == slug))
        manager = await session.scalar(select(Account.id).join(Tenant, Tenant.id == Account.tenant_id)
                                       .where(Account.username == STAFF[0], Tenant.slug == slug))
    # The demo manager follows the case: told when the agency is urged.
    assert (await ok(await client.get(f"{CASES}/{case['id']}", headers=staff)))["responsibleAccountId"] == str(
        manager)
    mine = await ok(await client.get(MINE, headers=bearer(mint(tenant=slug, subject=str(owner),
                                                               scopes=["owner:self"]))))
    assert [m["status"] for m in mine["items"]] == ["issued"] and mine["items"][0]["expectedBy"]
