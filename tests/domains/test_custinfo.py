"""Customer information to the letter of the seeds, over the API as the people in them act:
the quarterly full review of the customer base (001 §2.2.1), customer development from
screening to periodic reports (000 §17), the departments' information needs served by customer
affairs (004 §4.8), and the archive form's fields on customer records (002, 客户档案表)."""

from __future__ import annotations

import uuid
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from tests.domains.customers_helpers import World, create, make_world, ok, person
from tests.domains.test_approvals import as_, assign, make_account

# isort: split
from app.core import clock
from app.domains.custinfo.tasks import scan_tenant
from app.fanout.tasks import BoundTenant

API = "/api/v1/customer-information"
SH = ZoneInfo("Asia/Shanghai")


@pytest.fixture(scope="module")
async def world(app: Any, db: Any, new_tenant: Any, mint: Any) -> World:
    import httpx

    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as c:
        return await make_world(c, db, new_tenant, mint, units=2, prefix="ci")


def _if(headers: dict[str, str], version: Any) -> dict[str, str]:
    return {**headers, "If-Match": f'"{version}"'}


async def _person_as(db: Any, mint: Any, world: World, role: str, node: Any) -> tuple[str, dict[str, str]]:
    account = await make_account(db, world.org, role)
    await assign(db, world.org, account, role, node)
    return account, as_(mint, world.org, account)


async def _project(client: Any, world: World, name: str) -> dict[str, Any]:
    return dict(await ok(await client.post("/api/v1/org/projects", headers=world.admin, json={
        "branchId": world.branch["id"], "code": f"P{uuid.uuid4().hex[:6].upper()}", "name": name,
        "handoverDate": "2020-01-01"})))


def _at(monkeypatch: Any, moment: str) -> None:
    instant = datetime.fromisoformat(moment).replace(tzinfo=SH)
    monkeypatch.setattr(clock, "utcnow", lambda: instant.astimezone(ZoneInfo("UTC")))


async def test_the_quarterly_review_of_the_customer_base(client: Any, db: Any, mint: Any, world: World,
                                                         monkeypatch: Any) -> None:
    """001 §2.2.1 (1) 每季度对客户信息数据库进行一次全面盘点: the daily scan opens the group's review on the
    quarter's first day, once; it lists the records past their validity and those due within the
    quarter; the customer information specialist works each; the review closes once all are."""
    project = world.project["id"]
    _, specialist = await _person_as(db, mint, world, "customer_info_specialist", world.org.project)
    other = await _project(client, world, "海景湾")
    _, outsider = await _person_as(db, mint, world, "customer_info_specialist", uuid.UUID(other["id"]))
    made = {}
    for key, until, extra in (("expired", "2026-12-01", {}), ("due", "2027-02-15", {}), ("due2", "2027-03-31", {}),
                              ("later", "2027-06-30", {}), ("lost", "2026-01-01", {"status": "lost"})):
        made[key] = await create(client, world, person(nodeId=project, validUntil=until, name=f"盘点{key}", **extra))

    _at(monkeypatch, "2026-12-31T23:30:00")  # the last day of Q4: nothing new to open for 2027 yet
    first = await scan_tenant(BoundTenant(db, world.slug))
    assert first == {"opened": 1}  # Q4 2026 had none: the first scan opens it, whatever the day
    _at(monkeypatch, "2027-01-01T08:00:00")
    assert await scan_tenant(BoundTenant(db, world.slug)) == {"opened": 1}
    assert await scan_tenant(BoundTenant(db, world.slug)) == {"opened": 0}  # once
    _at(monkeypatch, "2027-01-02T08:00:00")
    assert await scan_tenant(BoundTenant(db, world.slug)) == {"opened": 0}
    listed = await ok(await client.get(f"{API}/reviews", headers=world.admin), 200)
    review = next(r for r in listed["items"] if (r["year"], r["quarter"]) == (2027, 1))
    assert (review["startsOn"], review["endsOn"], review["status"]) == ("2027-01-01", "2027-03-31", "open")
    assert review["nodeId"] == str(world.org.root) and review["progress"]["listed"] == 3
    again = await client.post(f"{API}/reviews", headers=world.admin, json={"nodeId": str(world.org.root)})
    assert again.status_code == 409  # one review per node and quarter

    url = f"{API}/reviews/{review['id']}"
    items = (await ok(await client.get(f"{API}/review-items", headers=specialist,
                                       params={"reviewId": review["id"]}), 200))["items"]
    by_name = {i["customerName"]: i for i in items}
    assert set(by_name) == {"盘点expired", "盘点due", "盘点due2"}  # not the later one, nor the lost one
    assert by_name["盘点expired"]["due"] == "expired" and by_name["盘点due"]["due"] == "due"
    expired = by_name["盘点expired"]
    assert (await client.get(f"{API}/review-items/{expired['id']}", headers=outsider)).status_code == 404
    assert (await client.get(url, headers=outsider)).status_code == 404

    work = f"{API}/review-items/{expired['id']}/work"
    missing = await client.post(work, headers=_if(specialist, expired["version"]), json={"outcome": "confirmed"})
    assert missing.status_code == 422 and missing.json()["errors"][0]["field"] == "validUntil"
    inside = await client.post(work, headers=_if(specialist, expired["version"]),
                               json={"outcome": "confirmed", "validUntil": "2027-03-01"})
    assert inside.status_code == 409  # a renewal reaches beyond the quarter under review
    retire_with_date = await client.post(work, headers=_if(specialist, expired["version"]),
                                         json={"outcome": "retired", "validUntil": "2027-12-31"})
    assert retire_with_date.status_code == 422
    done = await ok(await client.post(work, headers=_if(specialist, expired["version"]), json={
        "outcome": "confirmed", "validUntil": "2027-12-31", "note": "电话核实无变化"}), 200)
    assert done["outcome"] == "confirmed" and done["newValidUntil"] == "2027-12-31" and done["workedBy"]
    twice = await client.post(work, headers=_if(specialist, done["version"]),
                              json={"outcome": "retired"})
    assert twice.status_code == 409
    customer = await ok(await client.get(f"/api/v1/customers/{made['expired']['id']}", headers=world.admin), 200)
    assert customer["validUntil"] == "2027-12-31"

    due = by_name["盘点due"]
    stale = await client.post(f"{API}/review-items/{due['id']}/work", headers=_if(specialist, due["version"] + 1),
                              json={"outcome": "retired"})
    assert stale.status_code == 412
    await ok(await client.post(f"{API}/review-items/{due['id']}/work", headers=_if(specialist, due["version"]),
                               json={"outcome": "retired", "note": "已搬离，联系不上"}), 200)
    retired = await ok(await client.get(f"/api/v1/customers/{made['due']['id']}", headers=world.admin), 200)
    assert retired["status"] == "inactive"

    assert (await client.get(url, headers=specialist)).status_code == 404  # the group's: its supervisors' view
    current = await ok(await client.get(url, headers=world.admin), 200)
    assert current["progress"] == {"listed": 3, "pending": 1, "confirmed": 1, "updated": 0, "retired": 1,
                                   "percentDone": 66}
    early = await client.post(f"{url}/close", headers=_if(world.admin, current["version"]), json={})
    assert early.status_code == 409 and "1 listed record" in early.json()["detail"]

    # "updated": the record corrected through the customer's own routes, then renewed.
    c2 = f"/api/v1/customers/{made['due2']['id']}"
    record = await ok(await client.get(c2, headers=world.admin), 200)
    await ok(await client.patch(c2, headers=_if(world.admin, record["version"]), json={"email": "new@example.com"}),
             200)
    due2 = by_name["盘点due2"]
    await ok(await client.post(f"{API}/review-items/{due2['id']}/work", headers=_if(specialist, due2["version"]),
                               json={"outcome": "updated", "validUntil": "2028-03-31"}), 200)
    pending = await ok(await client.get(f"{API}/review-items", headers=specialist,
                                        params={"reviewId": review["id"], "outcome": "pending"}), 200)
    assert pending["items"] == []
    current = await ok(await client.get(url, headers=world.admin), 200)
    closed = await ok(await client.post(f"{url}/close", headers=_if(world.admin, current["version"]),
                                        json={"note": "一季度盘点完成"}), 200)
    assert closed["status"] == "closed" and closed["progress"]["percentDone"] == 100


async def test_customer_development_from_screening_to_periodic_reports(client: Any, db: Any, mint: Any,
                                                                       world: World, monkeypatch: Any) -> None:
    """000 §17 客户开发管理流程: ② ③ prospects screened, ④ the development application reviewed by the
    development supervisor and the customer service manager, ⑤ ⑥ carried out and reported on."""
    project = world.project["id"]
    _, developer = await _person_as(db, mint, world, "development_specialist", world.org.branch)
    _, supervisor = await _person_as(db, mint, world, "development_supervisor", world.org.branch)
    _, manager = await _person_as(db, mint, world, "cs_manager", world.org.branch)
    owner = await create(client, world, person(units=[{"unitId": world.units[1]["id"]}]))
    keen = await create(client, world, person(nodeId=project, name="意向客户甲"))
    cold = await create(client, world, person(nodeId=project, name="意向客户乙"))

    refused = await client.post(f"{API}/screenings", headers=developer, json={
        "nodeId": project, "title": "学区房意向客户", "scope": "首次置业家庭",
        "entries": [{"customerId": owner["id"], "qualified": True, "reason": "已是业主"}]})
    assert refused.status_code == 422 and refused.json()["errors"][0]["field"] == "entries.0.customerId"
    screening = await ok(await client.post(f"{API}/screenings", headers=developer, json={
        "nodeId": project, "title": "学区房意向客户", "scope": "首次置业家庭，预算三百万以内",
        "entries": [{"customerId": keen["id"], "qualified": True, "reason": "预算匹配，三个月内购房"},
                    {"customerId": cold["id"], "qualified": False, "reason": "仅作了解，无购房计划"}]}))
    assert [e["qualified"] for e in screening["entries"]] == [True, False]

    unqualified = await client.post(f"{API}/developments", headers=developer, json={
        "screeningId": screening["id"], "customerId": cold["id"], "plan": "x"})
    assert unqualified.status_code == 409
    applied = await ok(await client.post(f"{API}/developments", headers=developer, json={
        "screeningId": screening["id"], "customerId": keen["id"], "reportEveryDays": 14,
        "plan": "两周内邀约看样板间，介绍学区配套与按揭方案"}))
    assert applied["status"] == "pending" and applied["number"].startswith("KF-")
    url = f"{API}/developments/{applied['id']}"
    twice = await client.post(f"{API}/developments", headers=developer, json={
        "screeningId": screening["id"], "customerId": keen["id"], "plan": "again"})
    assert twice.status_code == 409
    early = await client.post(f"{url}/reports", headers=_if(developer, applied["version"]), json={
        "periodEnd": "2026-12-14", "progress": "x"})
    assert early.status_code == 409

    request = f"/api/v1/approvals/requests/{applied['approvalRequestId']}"
    out_of_turn = await client.post(f"{request}/approve", headers=manager, json={})
    assert out_of_turn.status_code in (403, 409)  # the supervisor reviews first
    step = await ok(await client.post(f"{request}/approve", headers=supervisor, json={}), 200)
    assert step["status"] == "pending"
    assert (await ok(await client.post(f"{request}/approve", headers=manager, json={}), 200))["status"] == "approved"
    approved = await ok(await client.get(url, headers=developer), 200)
    today = (await _today(client, world))
    assert approved["status"] == "approved" and approved["nextReportOn"] == str(today + timedelta(days=14))
    assert approved["reportOverdue"] is False

    reported = await ok(await client.post(f"{url}/reports", headers=_if(developer, approved["version"]), json={
        "periodEnd": str(today + timedelta(days=13)), "progress": "已看样板间，对学区满意",
        "nextSteps": "下周复访，讨论付款方式"}), 200)
    [report] = reported["reports"]
    assert (report["periodStart"], report["periodEnd"]) == (str(today), str(today + timedelta(days=13)))
    overlap = await client.post(f"{url}/reports", headers=_if(developer, reported["version"]), json={
        "periodEnd": str(today + timedelta(days=5)), "progress": "x"})
    assert overlap.status_code == 409 and overlap.json()["errors"][0]["field"] == "periodEnd"
    _at(monkeypatch, f"{today + timedelta(days=20)}T10:00:00")
    late = await ok(await client.get(url, headers=developer), 200)
    assert late["reportOverdue"] is True  # the next report was due six days ago
    closed = await ok(await client.post(f"{url}/close", headers=_if(developer, late["version"]),
                                        json={"result": "won", "note": "已签认购书"}), 200)
    assert closed["status"] == "closed" and closed["result"] == "won" and closed["reportOverdue"] is False
    after = await client.post(f"{url}/reports", headers=_if(developer, closed["version"]), json={
        "periodEnd": str(today + timedelta(days=30)), "progress": "x"})
    assert after.status_code == 409
    listed = await ok(await client.get(f"{API}/developments", headers=developer,
                                       params={"customerId": keen["id"]}), 200)
    assert [d["status"] for d in listed["items"]] == ["closed"]


async def _today(client: Any, world: World) -> date:
    return clock.utcnow().astimezone(SH).date()


async def test_information_needs_collected_reviewed_classified_and_provided(client: Any, db: Any, mint: Any,
                                                                            world: World) -> None:
    """004 §4.8: a department states its need (4.8.2); what is collected reaches customer affairs,
    which reviews it (4.8.3), classifies it (4.8.4) and provides it to the department that asked,
    which reads what was provided to it (4.8.5); another department does not."""
    other = await _project(client, world, "山语城")
    _, engineering = await _person_as(db, mint, world, "information_contact", world.org.project)
    _, marketing = await _person_as(db, mint, world, "information_contact", uuid.UUID(other["id"]))
    _, affairs = await _person_as(db, mint, world, "customer_affairs_officer", world.org.branch)
    owner = await create(client, world, person(units=[{"unitId": world.units[0]["id"]}]))

    need = await ok(await client.post(f"{API}/needs", headers=engineering, json={
        "nodeId": world.project["id"], "department": "工程部", "topic": "housing",
        "description": "业主对门窗、防水的意见，用于二期设计"}))
    theirs = await ok(await client.post(f"{API}/needs", headers=marketing, json={
        "nodeId": other["id"], "department": "营销部", "topic": "potential_needs", "description": "改善型需求"}))
    outside = await client.post(f"{API}/needs", headers=marketing, json={
        "nodeId": world.project["id"], "department": "营销部", "topic": "basic", "description": "x"})
    assert outside.status_code == 404  # not their node: as if it did not exist

    leak = await ok(await client.post(f"{API}/items", headers=engineering, json={
        "nodeId": world.project["id"], "customerId": owner["id"], "topic": "housing", "channel": "visit",
        "content": "主卧飘窗雨天渗水"}))
    rumour = await ok(await client.post(f"{API}/items", headers=engineering, json={
        "nodeId": world.project["id"], "topic": "community", "channel": "other", "content": "听说物业要涨价"}))
    park = await ok(await client.post(f"{API}/items", headers=engineering, json={
        "nodeId": world.project["id"], "topic": "community", "channel": "survey", "content": "希望增加儿童游乐设施"}))
    assert leak["status"] == "collected"
    queue = await ok(await client.get(f"{API}/items", headers=affairs, params={"status": "collected"}), 200)
    assert {i["id"] for i in queue["items"]} >= {leak["id"], rumour["id"], park["id"]}
    summary = await ok(await client.get(f"{API}/items/summary", headers=affairs), 200)
    counts = {t["topic"]: t for t in summary["topics"]}
    assert counts["housing"]["collected"] >= 1 and counts["community"]["collected"] >= 2

    provisions = f"{API}/needs/{need['id']}/provisions"
    unreviewed = await client.post(provisions, headers=affairs, json={"itemIds": [leak["id"]]})
    assert unreviewed.status_code == 409 and unreviewed.json()["errors"][0]["field"] == "itemIds.0"
    not_theirs = await client.post(f"{API}/items/{leak['id']}/review", headers=_if(engineering, leak["version"]),
                                   json={"accepted": True})
    assert not_theirs.status_code == 403  # customer affairs reviews
    accepted = await ok(await client.post(f"{API}/items/{leak['id']}/review", headers=_if(affairs, leak["version"]),
                                          json={"accepted": True, "note": "已核实"}), 200)
    rejected = await ok(await client.post(f"{API}/items/{rumour['id']}/review",
                                          headers=_if(affairs, rumour["version"]),
                                          json={"accepted": False, "note": "传闻，无来源"}), 200)
    assert (accepted["status"], rejected["status"]) == ("accepted", "rejected")
    no_filing = await client.post(f"{API}/items/{rumour['id']}/classify", headers=_if(affairs, rejected["version"]),
                                  json={"topic": "community"})
    assert no_filing.status_code == 409
    filed = await ok(await client.post(f"{API}/items/{leak['id']}/classify", headers=_if(affairs, accepted["version"]),
                                       json={"topic": "housing", "tags": ["门窗", "渗水", "门窗"]}), 200)
    assert filed["status"] == "classified" and filed["tags"] == ["门窗", "渗水"]
    park = await ok(await client.post(f"{API}/items/{park['id']}/review", headers=_if(affairs, park["version"]),
                                      json={"accepted": True}), 200)
    park = await ok(await client.post(f"{API}/items/{park['id']}/classify", headers=_if(affairs, park["version"]),
                                      json={"topic": "community"}), 200)
    wrong_topic = await client.post(provisions, headers=affairs, json={"itemIds": [park["id"]]})
    assert wrong_topic.status_code == 409 and "housing" in wrong_topic.json()["errors"][0]["message"]
    by_department = await client.post(provisions, headers=engineering, json={"itemIds": [leak["id"]]})
    assert by_department.status_code == 403  # on demand, by customer affairs

    given = await ok(await client.post(provisions, headers=affairs, json={"itemIds": [leak["id"]],
                                                                          "note": "本月第一批"}))
    assert given["department"] == "工程部" and [i["content"] for i in given["items"]] == ["主卧飘窗雨天渗水"]
    seen = await ok(await client.get(provisions, headers=engineering), 200)
    assert [p["id"] for p in seen["items"]] == [given["id"]]
    assert (await ok(await client.get(f"{API}/needs/{need['id']}", headers=engineering), 200))["provisions"] == 1
    assert (await client.get(provisions, headers=marketing)).status_code == 404
    assert (await client.get(f"{API}/provisions/{given['id']}", headers=marketing)).status_code == 404
    nothing = await ok(await client.get(f"{API}/needs/{theirs['id']}/provisions", headers=marketing), 200)
    assert nothing["items"] == []

    current = await ok(await client.get(f"{API}/needs/{need['id']}", headers=engineering), 200)
    await ok(await client.patch(f"{API}/needs/{need['id']}", headers=_if(engineering, current["version"]),
                                json={"active": False}), 200)
    withdrawn = await client.post(provisions, headers=affairs, json={"itemIds": [leak["id"]]})
    assert withdrawn.status_code == 409


async def test_the_archive_form_on_customer_records(client: Any, db: Any, mint: Any, world: World,
                                                    worker: Any) -> None:
    """002 客户档案表: region, type, legal representative, capital, sales, competition, invoice
    details, violations, evaluations, fax, website and purchase needs on the record; fax and
    invoice phone sealed and masked like the other numbers; PATCH under If-Match; the import
    takes the new columns."""
    from tests.domains.test_customers_import import _finish, _upload

    body = {"kind": "enterprise", "name": "深圳市宏达建材有限公司", "source": "渠道合作", "purpose": "合作伙伴维护",
            "region": "华南", "fax": "0755-86001234", "businessType": "trading", "companyNature": "民营",
            "legalRepresentative": "赵宏达", "registeredCapital": "5000000.00",
            "sales": {"annual": "12000000.00", "offSeason": "600000.00", "peakSeason": "1500000.00",
                      "monthlyPurchasing": "800000.00"},
            "competition": {"competitorProducts": "某品牌瓷砖", "satisfaction": "一般"},
            "invoicePhone": "0755-86001235", "invoiceRequirements": "增值税专用发票，月结",
            "website": "https://www.hongda.example.cn", "purchaseNeeds": "精装修项目瓷砖与洁具",
            "violations": [{"on": "2026-05-10", "kind": "逾期付款", "description": "货款逾期15天"}],
            "evaluations": [{"evaluator": "销售内勤", "evaluation": "合作稳定，付款偶有延迟"}]}
    company = await create(client, world, body)
    assert company["fax"] != "0755-86001234" and company["fax"].endswith("1234")  # masked
    assert company["invoicePhone"].endswith("1235") and company["registeredCapital"] == "5000000.00"
    assert company["sales"]["annual"] == "12000000.00" and company["businessType"] == "trading"
    assert company["violations"][0]["kind"] == "逾期付款" and company["legalRepresentative"] == "赵宏达"
    url = f"/api/v1/customers/{company['id']}"
    shown = await ok(await client.post(f"{url}/reveal", headers=world.admin,
                                       json={"fields": ["fax", "invoicePhone"], "reason": "开票核对"}), 200)
    assert (shown["fax"], shown["invoicePhone"]) == ("0755-86001234", "0755-86001235")

    changed = await ok(await client.patch(url, headers=_if(world.admin, company["version"]), json={
        "region": "华东", "competition": None, "evaluations": [*company["evaluations"],
                                                             {"evaluator": "财务部", "evaluation": "信用良好"}],
        "sales": {"annual": "15000000.00"}}), 200)
    assert changed["region"] == "华东" and changed["competition"] is None and len(changed["evaluations"]) == 2
    assert changed["sales"] == {"annual": "15000000.00", "offSeason": None, "peakSeason": None,
                                "monthlyPurchasing": None, "offSeasonMonthlyPurchasing": None,
                                "peakSeasonMonthlyPurchasing": None}
    stale = await client.patch(url, headers=_if(world.admin, company["version"]), json={"region": "华北"})
    assert stale.status_code == 412
    someone = await create(client, world, person(region="华南", fax="020-12345678"))
    assert someone["region"] == "华南" and someone["fax"].endswith("5678")
    wrong = await client.patch(f"/api/v1/customers/{someone['id']}", headers=_if(world.admin, someone["version"]),
                               json={"legalRepresentative": "x"})
    assert wrong.status_code == 409 and wrong.json()["errors"][0]["field"] == "legalRepresentative"

    header = "kind,name,region,fax,business_type,legal_representative,registered_capital,annual_sales,website," \
             "source,purpose\n"
    rows = ("enterprise,广州市恒信贸易有限公司,华南,020-88886666,trading,钱恒信,3000000.00,9000000.00,"
            "https://hengxin.example.cn,展会,合作伙伴维护\n"
            "enterprise,坏网址公司,华南,,agent,,,,ftp://bad,展会,合作伙伴维护\n")
    job, _ = await _finish(client, world, worker, await _upload(client, world, (header + rows).encode(),
                                                                "valid_rows"))
    result = job["result"]
    assert (result["imported"], result["rejected"]) == (1, 1), job
    assert result["rejections"][0]["field"] == "website"
    found = await ok(await client.get("/api/v1/customers", headers=world.admin,
                                      params={"q": "广州市恒信", "limit": 5}), 200)
    imported = await ok(await client.get(f"/api/v1/customers/{found['items'][0]['id']}", headers=world.admin), 200)
    assert (imported["region"], imported["legalRepresentative"], imported["registeredCapital"]) == (
        "华南", "钱恒信", "3000000.00")
    assert imported["sales"]["annual"] == "9000000.00" and imported["fax"].endswith("6666")


async def test_the_demo_tenant_has_each_process_under_way(db: Any, demo: Any) -> None:
    """`make run`'s demo: this quarter's review open at the group, the prospect's development
    waiting for the development supervisor, engineering's need answered."""
    from sqlalchemy import select

    from app.domains.approvals.models import ApprovalRequest, RequestStatus
    from app.domains.custinfo.models import CustomerReview, Development, InformationProvision, ReviewStatus

    async with db.tenant_session(f"t_{demo.slug}") as session:
        reviews = (await session.scalars(select(CustomerReview))).all()
        developments = (await session.execute(select(Development, ApprovalRequest.status).join(
            ApprovalRequest, ApprovalRequest.id == Development.approval_request_id))).all()
        provisions = (await session.scalars(select(InformationProvision))).all()
    assert [r.status for r in reviews] == [ReviewStatus.open]
    assert [status for _, status in developments] == [RequestStatus.pending]
    assert len(provisions) == 1 and len(provisions[0].item_ids) == 1
