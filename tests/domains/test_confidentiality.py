"""Confidentiality of customer records to the letter of seed 000 §17 (信息保密管理流程), over the
API as the customer service department acts: ① the confidentiality officer classifies a key
account's record on the archives' level scale, after which a sales clerk without clearance
no longer reads it (403, and it leaves their lists); ② classified material is handed over under
a number and taken back; ③-⑥ a breach found is remedied by the officer and closed with its
report by the customer service manager."""

from __future__ import annotations

from typing import Any

import pytest

from tests.domains.customers_helpers import World, create, make_world, ok
from tests.domains.test_approvals import as_, assign, make_account, make_role

API = "/api/v1/confidentiality"


@pytest.fixture(scope="module")
async def world(app: Any, db: Any, new_tenant: Any, mint: Any) -> World:
    import httpx

    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as c:
        return await make_world(c, db, new_tenant, mint, units=1, prefix="cf")


def _if(headers: dict[str, str], version: Any) -> dict[str, str]:
    return {**headers, "If-Match": f'"{version}"'}


async def test_classify_hand_over_and_remedy_a_breach(client: Any, db: Any, mint: Any, world: World) -> None:
    org = world.org
    people = {}
    for role in ("secrecy_officer", "secrecy_manager", "sales_clerk"):
        if role == "sales_clerk":
            await make_role(db, org, role, ["org.read", "customers.read"])
        account = await make_account(db, org, role)
        await assign(db, org, account, role, org.root)
        people[role] = (account, as_(mint, org, account))
    officer, manager = people["secrecy_officer"][1], people["secrecy_manager"][1]
    clerk_id, clerk = people["sales_clerk"]
    company = await create(client, world, {"kind": "enterprise", "name": "深圳市宏达建材有限公司",
                                           "source": "渠道合作", "purpose": "合作伙伴维护"})
    url = f"/api/v1/customers/{company['id']}"
    assert (await client.get(url, headers=clerk)).status_code == 200

    # ① 划分密级: on the group's scale (internal < secret < confidential < top_secret).
    above = await client.put(f"{url}/classification", headers=_if(officer, company["version"]),
                             json={"classification": "top_secret", "reason": "战略客户合同条款"})
    assert above.status_code == 403, above.text  # the officer is cleared for two levels only
    unknown = await client.put(f"{url}/classification", headers=_if(officer, company["version"]),
                               json={"classification": "cosmic", "reason": "战略客户合同条款"})
    assert unknown.status_code == 409 and unknown.json()["errors"][0]["field"] == "classification"
    level = await ok(await client.put(f"{url}/classification", headers=_if(officer, company["version"]),
                                      json={"classification": "secret", "reason": "战略客户合同条款"}), 200)
    assert level["classification"] == "secret"
    stale = await client.put(f"{url}/classification", headers=_if(officer, company["version"]),
                             json={"classification": "internal", "reason": "降低密级"})
    assert stale.status_code == 412
    denied = await client.get(url, headers=clerk)
    assert denied.status_code == 403 and "archives.clearance.2" in denied.json()["detail"]
    listed = await ok(await client.get("/api/v1/customers", headers=clerk, params={"limit": 200}), 200)
    assert company["id"] not in [c["id"] for c in listed["items"]]
    seen = await ok(await client.get(url, headers=officer), 200)
    assert seen["classification"] == "secret"

    # ② 编号传递: numbered, who to whom, what, when; taken back once.
    sent = await ok(await client.post(f"{API}/transfers", headers=officer, json={
        "customerId": company["id"], "material": "采购合同副本（第2份）", "recipientAccountId": clerk_id,
        "purpose": "合同评审"}))
    assert sent["number"].startswith("BM-") and sent["classification"] == "secret"
    assert sent["sentBy"] == people["secrecy_officer"][0] and sent["returnedAt"] is None
    nobody = await client.post(f"{API}/transfers", headers=officer, json={
        "customerId": company["id"], "material": "x", "recipientAccountId": company["id"], "purpose": "x"})
    assert nobody.status_code == 404 and nobody.json()["errors"][0]["field"] == "recipientAccountId"
    out = await ok(await client.get(f"{API}/transfers", headers=officer, params={"outstanding": "true"}), 200)
    assert [t["number"] for t in out["items"]] == [sent["number"]]
    back = await ok(await client.post(f"{API}/transfers/{sent['id']}/return", headers=_if(officer, sent["version"]),
                                      json={}), 200)
    assert back["returnedAt"] is not None and back["returnedTo"] == people["secrecy_officer"][0]
    again = await client.post(f"{API}/transfers/{sent['id']}/return", headers=_if(officer, back["version"]), json={})
    assert again.status_code == 409
    assert (await ok(await client.get(f"{API}/transfers", headers=officer,
                                      params={"outstanding": "true"}), 200))["items"] == []

    # ③ 监督检查 finds a leak, ④⑤ remedied, ⑥ the manager closes it with the report.
    breach = await ok(await client.post(f"{API}/breaches", headers=officer, json={
        "customerId": company["id"], "transferId": sent["id"], "description": "合同副本被复印后带出公司"}))
    assert breach["status"] == "open" and breach["number"].startswith("XM-")
    early = await client.post(f"{API}/breaches/{breach['id']}/close", headers=_if(manager, breach["version"]),
                              json={"report": "已处理"})
    assert early.status_code == 409 and "remediating" in early.json()["detail"]
    acted = await ok(await client.post(f"{API}/breaches/{breach['id']}/actions", headers=_if(
        officer, breach["version"]), json={"action": "收回复印件并销毁，涉事员工书面检讨"}), 200)
    assert acted["status"] == "remediating" and acted["actions"][0]["by"] == people["secrecy_officer"][0]
    not_his = await client.post(f"{API}/breaches/{breach['id']}/close", headers=_if(officer, acted["version"]),
                                json={"report": "已处理"})
    assert not_his.status_code == 403  # closing is the manager's (⑥)
    closed = await ok(await client.post(f"{API}/breaches/{breach['id']}/close", headers=_if(
        manager, acted["version"]), json={"report": "复印件已收回销毁；部门保密培训已完成。"}), 200)
    assert closed["status"] == "closed" and closed["closedBy"] == people["secrecy_manager"][0]
    after = await client.post(f"{API}/breaches/{breach['id']}/actions", headers=_if(officer, closed["version"]),
                              json={"action": "再次检查"})
    assert after.status_code == 409
