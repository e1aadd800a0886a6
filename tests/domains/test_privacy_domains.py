"""One home owner with records in every domain: their copy holds each domain's records, and an
erasure anonymises or keeps each kind, saying why (PIPL arts. 45, 47)."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select

from tests.routes import _create, _new_customer  # first: it loads the catalogue modules

# isort: split
from app.core import clock
from app.core.audit import SYSTEM
from tests.catalogue.care import BASE as CARE
from tests.catalogue.care import rule_body
from tests.catalogue.certificates import case_in, collection_in, guarantee_in
from tests.catalogue.club import new_club
from tests.catalogue.complaints import grant_role, owner, tenant_ctx
from tests.catalogue.forums import new_forum
from tests.catalogue.privacy import REQUESTS, build_package
from tests.catalogue.property import BASE as PROPERTY
from tests.catalogue.property import case as committee_case
from tests.catalogue.property import handover, move, ok

SH = ZoneInfo("Asia/Shanghai")
MARKETING = {"kind": "marketing", "purpose": "节日关怀", "channel": "app"}


async def _greeted(ctx: Any, customer_id: str, monkeypatch: Any) -> None:
    """A holiday greeting sent to the customer by the care scan (a fixed clock, outside quiet hours)."""
    from app.domains.care.services import scan

    await ok(await ctx.client.post(f"/api/v1/customers/{customer_id}/consents", headers=ctx.auth, json=MARKETING),
             201)
    await _create(ctx, f"{CARE}/rules", rule_body(name=f"元旦问候 {ctx.mark}", month=1, day=1))
    instant = datetime(2027, 1, 1, 10, 0, tzinfo=SH).astimezone(ZoneInfo("UTC"))
    monkeypatch.setattr(clock, "utcnow", lambda: instant)
    async with ctx.db.tenant_transaction(f"t_{ctx.tenant}") as session:
        session.info["actor"] = SYSTEM
        assert (await scan(session))["sent"] >= 1
    monkeypatch.undo()


async def test_an_owners_records_in_every_domain_are_copied_and_erased_or_kept(
        client: Any, db: Any, new_tenant: Any, mint: Any, monkeypatch: Any) -> None:
    ctx = await tenant_ctx(client, db, new_tenant, mint, "pvd")
    mine, person, unit = await owner(ctx)
    project = person["units"][0]["projectId"]
    # Property: the home handed over, a repair the owner asked for and commented on, a committee seat.
    await handover(ctx.client, ctx.auth, unit, "handed_over")
    asked = await ok(await client.post(f"{PROPERTY}/mine/repairs", headers=mine, json={
        "unitId": unit, "category": "waterproofing", "description": "卫生间渗水"}), 201)
    url = f"{PROPERTY}/repairs/{asked['id']}"
    await move(client, ctx.auth, url, "assign", {"assignee": "contractor", "contractor": "防水工程公司"})
    await move(client, ctx.auth, url, "appointment", {"appointmentAt": "2026-12-20T09:00:00+08:00"})
    await move(client, ctx.auth, url, "completion", {"workDone": "重做防水层", "cost": "800.00"})
    await move(client, mine, f"{PROPERTY}/mine/repairs/{asked['id']}", "sign-off",
               {"rating": 5, "comment": "canary-comment 师傅很好"})
    seat, _ = await committee_case(ctx, formed=True, world={"project": project})
    await move(client, ctx.auth, f"{PROPERTY}/committees/{seat['id']}", "members", {
        "name": person["name"], "role": "member", "termStarts": "2026-12-01", "termEnds": "2031-11-30"})
    # Certificates: a case, a guarantee on the loan, an overdue loan referred to litigation.
    await case_in(ctx, "collecting", customer=person)
    guarantee, _ = await guarantee_in(ctx, "active", customer=person)
    await collection_in(ctx, "referred", customer=person)
    # Club, forum, care.
    club, _ = await new_club(ctx)
    await _create(ctx, "/api/v1/club/members", {"clubId": club["id"], "customerId": person["id"],
                                                "birthDate": "1980-03-15"})
    other, _, _ = await _new_customer(ctx)
    await new_forum(ctx, "approved", project_id=project, guests=[person, other])
    await _greeted(ctx, person["id"], monkeypatch)

    access = await ok(await client.post(REQUESTS, headers=ctx.auth, json={
        "customerId": person["id"], "kind": "access", "channel": "phone"}), 201)
    await build_package(ctx, access["id"])
    package = await ok(await client.post(f"{REQUESTS}/{access['id']}/deliver", headers=ctx.auth,
                                         json={"reason": "mailed to the owner"}))
    s = package["sections"]
    assert s["property.handovers"][0]["status"] == "handed_over"
    assert s["property.repairs"][0]["ownerComment"] == "canary-comment 师傅很好"
    assert s["property.committees"][0]["memberships"][0]["name"] == person["name"]
    assert [c["stage"] for c in s["certificates.cases"]] == ["collecting"]
    [loan] = s["certificates.guarantees"]
    assert loan["number"] == guarantee["number"] and loan["loanAccount"].endswith(guarantee["loanAccount"][-4:])
    assert len(loan["loanAccount"]) > 4  # opened, not the mask
    assert s["certificates.collections"][0]["stage"] == "referred"
    assert s["club.members"][0]["birthDate"] == "1980-03-15"
    assert s["forums.invitations"][0]["status"] == "invited"
    assert s["care.messages"][0]["occasion"] == "holiday:2027-01-01"

    erasure = await ok(await client.post(REQUESTS, headers=ctx.auth, json={
        "customerId": person["id"], "kind": "erasure", "channel": "phone"}), 201)
    done = await ok(await client.post(f"{REQUESTS}/{erasure['id']}/erase", json={"answer": "done"},
                                      headers={**ctx.auth, "If-Match": f'"{erasure["version"]}"'}))
    items = {i["kind"]: i for i in done["items"]}
    assert items["property.repairs"]["anonymised"] == 1
    assert items["club.members"]["anonymised"] == 1
    for kind, reason in [("property.handovers", "delivery"), ("property.committees", "public filing"),
                         ("certificates.cases", "title"), ("certificates.guarantees", "contract"),
                         ("certificates.collections", "litigation"), ("forums.invitations", "attendance"),
                         ("care.messages", "sent twice")]:
        assert items[kind]["kept"] == 1 and reason in items[kind]["reason"], (kind, items[kind])
    # What was erased is gone from the tables; what is kept is still there.
    from app.domains.club.models import Member
    from app.domains.property.models import RepairOrder

    async with db.tenant_session(f"t_{ctx.tenant}") as session:
        comment = await session.scalar(select(RepairOrder.owner_comment).where(RepairOrder.number == asked["number"]))
        born = await session.scalar(select(Member.birth_date).where(Member.customer_id == person["id"]))
    assert comment is None and born is None
    kept = await ok(await client.get(f"/api/v1/guarantees/{guarantee['id']}", headers=ctx.auth))
    assert kept["loanAmount"] == guarantee["loanAmount"] and kept["status"] == "active"


async def _scan_at(ctx: Any, moment: datetime, monkeypatch: Any) -> dict[str, int]:
    from app.domains.care.services import scan

    monkeypatch.setattr(clock, "utcnow", lambda: moment.astimezone(ZoneInfo("UTC")))
    try:
        async with ctx.db.tenant_transaction(f"t_{ctx.tenant}") as session:
            session.info["actor"] = SYSTEM
            return await scan(session)
    finally:
        monkeypatch.undo()


async def _greetings(ctx: Any, customer_id: str) -> list[str]:
    from app.domains.care.models import CareMessage

    async with ctx.db.tenant_session(f"t_{ctx.tenant}") as session:
        return sorted((await session.scalars(select(CareMessage.occasion).where(
            CareMessage.customer_id == customer_id))).all())


async def test_a_withdrawal_filed_in_the_app_stops_care_campaigns_and_club_greetings(
        client: Any, db: Any, new_tenant: Any, mint: Any, monkeypatch: Any) -> None:
    from tests.catalogue.club import _root
    from tests.routes import _person

    ctx = await tenant_ctx(client, db, new_tenant, mint, "pvc")
    mine, person, _ = await owner(ctx)
    await ok(await client.post(f"/api/v1/customers/{person['id']}/consents", headers=ctx.auth, json=MARKETING), 201)
    # Another consenting member, reached by mail: the scan still writes to them afterwards.
    other, _ = await _create(ctx, "/api/v1/customers", _person(ctx, nodeId=await _root(ctx), email="o@example.com",
                                                               consents=[MARKETING]))
    club, _ = await new_club(ctx)
    for who in (person, other):
        await _create(ctx, "/api/v1/club/members", {"clubId": club["id"], "customerId": who["id"],
                                                    "birthDate": "1980-01-01"})
    await _create(ctx, f"{CARE}/rules", rule_body(name=f"生日祝福 {ctx.mark}", occasion="birthday", month=None,
                                                  day=None))
    await _create(ctx, f"{CARE}/rules", rule_body(name=f"元旦问候 {ctx.mark}", month=1, day=1))
    await _scan_at(ctx, datetime(2027, 1, 1, 10, 0, tzinfo=SH), monkeypatch)
    assert await _greetings(ctx, person["id"]) == ["birthday:2027", "holiday:2027-01-01"]

    # The owner withdraws from the app: a withdrawal names what it withdraws, and only a withdrawal does.
    url = "/api/v1/privacy/mine"
    bare = await client.post(url, headers=mine, json={"customerId": person["id"], "kind": "withdrawal"})
    assert bare.status_code == 422 and bare.json()["errors"][0]["field"] == "consents", bare.text
    odd = await client.post(url, headers=mine, json={"customerId": person["id"], "kind": "access",
                                                     "consents": ["marketing"]})
    assert odd.status_code == 422 and odd.json()["errors"][0]["field"] == "consents", odd.text
    filed = await ok(await client.post(url, headers=mine, json={
        "customerId": person["id"], "kind": "withdrawal", "consents": ["marketing"], "details": "别再发问候了"}), 201)
    assert filed["consents"] == ["marketing"] and filed["channel"] == "app"
    wrong = await client.post(f"{REQUESTS}/{filed['id']}/erase", json={"answer": "x"},
                              headers={**ctx.auth, "If-Match": f'"{filed["version"]}"'})
    assert wrong.status_code == 409, wrong.text
    done = await ok(await client.post(f"{REQUESTS}/{filed['id']}/withdraw", json={"answer": "已撤回营销同意"},
                                      headers={**ctx.auth, "If-Match": f'"{filed["version"]}"'}))
    assert done["status"] == "completed" and done["items"][0]["kind"] == "customers.consents.marketing"
    assert done["items"][0]["records"] == 1
    consents = await ok(await client.get(f"/api/v1/customers/{person['id']}/consents", headers=ctx.auth))
    assert consents["items"][0]["withdrawnAt"] and consents["items"][0]["withdrawalChannel"] == "app"
    seen = await ok(await client.get(f"{url}/{filed['id']}", headers=mine))
    assert seen["status"] == "completed" and seen["answer"] == "已撤回营销同意"

    # A year on: the care scan greets the other member, and writes nothing for the owner.
    await _scan_at(ctx, datetime(2028, 1, 1, 10, 0, tzinfo=SH), monkeypatch)
    assert await _greetings(ctx, person["id"]) == ["birthday:2027", "holiday:2027-01-01"]
    assert "birthday:2028" in await _greetings(ctx, other["id"])


async def test_owners_download_their_own_copy_built_by_the_worker(client: Any, db: Any, new_tenant: Any, mint: Any,
                                                                    worker: Any) -> None:
    from tests.worker.conftest import wait_for

    ctx = await tenant_ctx(client, db, new_tenant, mint, "pvo")
    mine, person, _ = await owner(ctx)
    theirs, other, _ = await owner(ctx)
    url = "/api/v1/privacy/mine"
    filed = await ok(await client.post(url, headers=mine, json={"customerId": person["id"], "kind": "access"}), 201)
    assert filed["jobId"], filed  # the copy is being built already

    async def built() -> Any:
        seen = await ok(await client.get(f"{url}/{filed['id']}", headers=mine))
        return seen if seen["packageReady"] else None

    await wait_for(worker, built, "the owner's package")
    # Only one's own: another owner's request is not there for them.
    stranger = await client.post(f"{url}/{filed['id']}/download", headers=theirs)
    assert stranger.status_code == 404, stranger.text
    package = await ok(await client.post(f"{url}/{filed['id']}/download", headers=mine))
    assert package["requestId"] == filed["id"] and package["customerId"] == person["id"]
    [profile] = package["sections"]["customers.profile"]
    assert profile["name"] == person["name"] and profile["idNumber"]
    done = await ok(await client.get(f"{url}/{filed['id']}", headers=mine))
    assert done["status"] == "completed" and "owners' app" in done["answer"]
    # A request without a copy has nothing to download.
    fix = await ok(await client.post(url, headers=theirs, json={"customerId": other["id"], "kind": "correction",
                                                                "details": "电话号码错了"}), 201)
    assert fix["jobId"] is None
    none = await client.post(f"{url}/{fix['id']}/download", headers=theirs)
    assert none.status_code == 409 and "no copy" in none.json()["detail"], none.text


async def test_requests_the_tenant_routes_through_approval_wait_for_it(client: Any, db: Any, new_tenant: Any,
                                                                       mint: Any) -> None:
    from tests.catalogue.club import _root
    from tests.catalogue.relations import deciders

    ctx = await tenant_ctx(client, db, new_tenant, mint, "pvp")
    url = "/api/v1/privacy/settings"
    got = await client.get(url, headers=ctx.auth)
    assert got.status_code == 200 and got.json() == {"approvalKinds": []} and got.headers["etag"] == '"0"'
    # Unrouted: an erasure is carried out straight away.
    mine, person, _ = await owner(ctx)
    plain = await ok(await client.post(REQUESTS, headers=ctx.auth, json={
        "customerId": person["id"], "kind": "correction", "channel": "phone"}), 201)
    assert plain["approvalRequestId"] is None

    [officer] = await deciders(ctx, [("privacy_officer", await _root(ctx))])
    body = {"approvalKinds": ["erasure", "access", "erasure"]}
    assert (await client.put(url, json=body, headers=ctx.auth)).status_code == 428
    put = await ok(await client.put(url, json=body, headers={**ctx.auth, "If-Match": '"0"'}))
    assert put == {"approvalKinds": ["access", "erasure"]}

    erasure = await ok(await client.post(REQUESTS, headers=ctx.auth, json={
        "customerId": person["id"], "kind": "erasure", "channel": "phone", "details": "请删除我的信息"}), 201)
    assert erasure["approvalRequestId"]
    pending = await ok(await client.get(f"/api/v1/approvals/requests/{erasure['approvalRequestId']}",
                                        headers=ctx.auth))
    assert pending["status"] == "pending" and pending["payload"]["kind"] == "erasure"
    assert "请删除" not in str(pending)  # the approvers see what is asked, not the person's words
    early = await client.post(f"{REQUESTS}/{erasure['id']}/erase", json={"answer": "done"},
                              headers={**ctx.auth, "If-Match": f'"{erasure["version"]}"'})
    assert early.status_code == 409 and "pending" in early.json()["detail"], early.text
    await ok(await client.post(f"/api/v1/approvals/requests/{erasure['approvalRequestId']}/approve",
                               headers=officer, json={}))
    now = await ok(await client.get(f"{REQUESTS}/{erasure['id']}", headers=ctx.auth))
    done = await ok(await client.post(f"{REQUESTS}/{erasure['id']}/erase", json={"answer": "done"},
                                      headers={**ctx.auth, "If-Match": f'"{now["version"]}"'}))
    assert done["status"] == "completed"

    # An owner's access request from the app waits for approval before its copy is built.
    other, _, _ = await _new_customer(ctx)
    mine2, person2, _ = await owner(ctx)
    filed = await ok(await client.post("/api/v1/privacy/mine", headers=mine2, json={
        "customerId": person2["id"], "kind": "access"}), 201)
    assert filed["jobId"] is None and filed["approvalRequestId"]
    await ok(await client.post(f"/api/v1/approvals/requests/{filed['approvalRequestId']}/approve",
                               headers=officer, json={}))
    started = await ok(await client.get(f"/api/v1/privacy/mine/{filed['id']}", headers=mine2))
    assert started["jobId"], started  # approved: the copy is being built
    # Refused while its approval waits: approving it later changes nothing.
    moot = await ok(await client.post("/api/v1/privacy/mine", headers=mine2, json={
        "customerId": person2["id"], "kind": "access"}), 201)
    await ok(await client.post(f"{REQUESTS}/{moot['id']}/refuse", json={"answer": "请到售楼处核验身份"},
                               headers={**ctx.auth, "If-Match": f'"{moot["version"]}"'}))
    await ok(await client.post(f"/api/v1/approvals/requests/{moot['approvalRequestId']}/approve",
                               headers=officer, json={}))
    after = await ok(await client.get(f"/api/v1/privacy/mine/{moot['id']}", headers=mine2))
    assert after["status"] == "refused" and after["jobId"] is None
    # A kind not routed is not held up.
    fix = await ok(await client.post(REQUESTS, headers=ctx.auth, json={
        "customerId": other["id"], "kind": "correction", "channel": "phone"}), 201)
    assert fix["approvalRequestId"] is None
    # Only the group sets the policy: a privacy officer of a branch may not.
    from tests.routes import _new_branch, _staff_account, _token_of

    account = await _staff_account(ctx)
    await grant_role(ctx, account, "privacy_officer", (await _new_branch(ctx))["id"])
    clerk = await _token_of(ctx, account, ["privacy:read", "privacy:write"])
    assert (await client.get(url, headers=clerk)).status_code == 200
    refused = await client.put(url, json={"approvalKinds": []}, headers={**clerk, "If-Match": '"1"'})
    assert refused.status_code == 403, refused.text


async def test_reception_guests_age_out_and_the_reception_stays(client: Any, db: Any, new_tenant: Any,
                                                                mint: Any) -> None:
    from datetime import timedelta

    from sqlalchemy import update

    from app.domains.interactions.models import Reception, ReceptionGuest
    from app.domains.privacy.tasks import retention_tenant
    from app.fanout.tasks import BoundTenant
    from tests.catalogue.relations import INTERACTIONS, _reception_body
    from tests.routes import _new_project

    ctx = await tenant_ctx(client, db, new_tenant, mint, "pvh")
    project, _ = await _new_project(ctx)
    guest, _, _ = await _new_customer(ctx)
    guests = [{"name": "王小明", "role": "customer", "customerId": guest["id"]},
              {"name": "李律师", "role": "guest", "organisation": "某律师事务所"}]
    made = []
    for _ in range(2):
        r, _ = await _create(ctx, f"{INTERACTIONS}/receptions",
                             _reception_body(ctx, project["id"], submit=False, guests=guests))
        made.append(r)
    old, fresh = made
    async with db.tenant_transaction(f"t_{ctx.tenant}") as session:
        await session.execute(update(Reception).where(Reception.id == old["id"])
                              .values(scheduled_at=clock.utcnow() - timedelta(days=1100)))
    counts = await retention_tenant(BoundTenant(db=db, slug=ctx.tenant))
    assert counts["anonymised"] == 2
    async with db.tenant_session(f"t_{ctx.tenant}") as session:
        rows = (await session.execute(select(ReceptionGuest.reception_id, ReceptionGuest.name,
                                             ReceptionGuest.organisation, ReceptionGuest.customer_id))).all()
    kept = {(str(r), n, o) for r, n, o, _ in rows}
    assert kept == {(old["id"], "(anonymised)", None), (fresh["id"], "王小明", None),
                    (fresh["id"], "李律师", "某律师事务所")}
    still = await ok(await client.get(f"{INTERACTIONS}/receptions/{old['id']}", headers=ctx.auth))
    assert still["budget"] == old["budget"] and len(still["guests"]) == 2
    runs = await ok(await client.get("/api/v1/privacy/retention-runs", headers=ctx.auth,
                                     params={"kind": "interactions.receptions"}))
    assert runs["total"] == 1 and runs["items"][0]["anonymised"] == 2 and runs["items"][0]["days"] == 1095
