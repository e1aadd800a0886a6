"""Mortgage guarantees over the API: from the agency's selection to the release — the case
issued and the mortgage registered make the guarantee releasable by themselves, a release
asked for too early is refused naming what is missing, finance decides it through the approval
engine, the release is recorded with the bank's confirmation; the loan account sealed at rest;
the releasable list and the contingent liability by bank and project."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import text

from app.core import clock
from app.core.audit import SYSTEM
from app.domains.certificates import documents
from app.storage import ObjectNotFound, get_store
from tests.routes import Ctx, _new_customer  # first: it loads the route catalogue

# isort: split
from tests.catalogue.certificates import (
    GUARANTEES,
    STEPS,
    case_in,
    finance,
    guarantee_body,
    guarantee_document,
    guarantee_in,
    new_agreement,
    ok,
    pdf_document,
)
from tests.catalogue.complaints import tenant_ctx

PROBLEM = "urn:cornerstone:problem:"


@pytest.fixture(scope="module")
async def ctx(app: Any, db: Any, new_tenant: Any, mint: Any) -> Ctx:
    import httpx

    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as c:
        return await tenant_ctx(c, db, new_tenant, mint, "guar", subject="guarantee-test")


def with_client(ctx: Ctx, client: Any) -> Ctx:
    return Ctx(client=client, db=ctx.db, tenant=ctx.tenant, subject=ctx.subject, auth=ctx.auth, mark=ctx.mark)


async def _post(client: Any, url: str, auth: dict[str, str], version: int | str, body: dict[str, Any]) -> Any:
    etag = version if isinstance(version, str) else f'"{version}"'
    return await client.post(url, headers={**auth, "If-Match": etag}, json=body)


async def test_from_the_agency_to_the_release(client: Any, ctx: Ctx) -> None:
    c = with_client(ctx, client)
    customer, _, _ = await _new_customer(c)
    agreement = await new_agreement(c)  # an agency selected through the engine, its agreement signed
    body = guarantee_body(customer, loanAccount="6222-0012-3456-7890", loanAmount="720000.5")
    created = await client.post(GUARANTEES, headers=ctx.auth, json=body)
    g = await ok(created, 201)
    url = created.headers["location"]
    assert g["number"].startswith("DB-") and g["status"] == "active" and g["releasable"] is False
    assert g["loanAccount"] == "****7890" and g["loanAmount"] == "720000.50"
    assert g["conditions"] == {"certificateIssued": False, "certificateCaseId": None, "certificateIssuedOn": None,
                               "mortgageRegistered": False, "registeredOn": None}
    twice = await client.post(GUARANTEES, headers=ctx.auth, json={**body, "loanAccount": "622200123456 7890"})
    assert twice.status_code == 422  # not an account number
    twice = await client.post(GUARANTEES, headers=ctx.auth, json={**body, "loanAccount": "6222001234567890"})
    assert twice.status_code == 409 and g["number"] in twice.json()["detail"]

    # Neither condition holds: the refusal names both.
    early = await _post(client, f"{url}/release-request", ctx.auth, created.headers["etag"], {})
    assert early.status_code == 409 and [e["field"] for e in early.json()["errors"]] == [
        "conditions.certificateIssued", "conditions.mortgageRegistered"]
    # The certificate case, up to issue.
    case, case_url = await case_in(c, "accepted", customer=customer, agreement=agreement)
    registered = await ok(await _post(client, f"{url}/registration", ctx.auth, g["version"], {
        "registeredOn": "2026-02-20", "registrationNumber": "粤(2026)深圳市不动产证明第0200001号"}))
    assert registered["releasable"] is False and registered["conditions"]["mortgageRegistered"] is True
    one_missing = await _post(client, f"{url}/release-request", ctx.auth, registered["version"], {})
    assert one_missing.status_code == 409 and [e["field"] for e in one_missing.json()["errors"]] == [
        "conditions.certificateIssued"]
    releasable = await ok(await client.get(GUARANTEES, headers=ctx.auth, params={"releasable": "true", "limit": 200}))
    assert g["id"] not in {i["id"] for i in releasable["items"]}

    # The certificate issued: releasable, with nothing set on the guarantee.
    await ok(await _post(client, f"{case_url}/issue", ctx.auth, case["version"], STEPS[3][2]))
    got = await ok(await client.get(url, headers=ctx.auth))
    assert got["releasable"] is True and got["version"] == registered["version"]
    assert got["conditions"]["certificateCaseId"] == case["id"] and got["conditions"]["certificateIssuedOn"] == \
        "2026-02-01"
    releasable = await ok(await client.get(GUARANTEES, headers=ctx.auth, params={"releasable": "true", "limit": 200}))
    assert g["id"] in {i["id"] for i in releasable["items"]}

    branch = (await ok(await client.get(f"/api/v1/org/projects/{g['nodeId']}", headers=ctx.auth)))["parentId"]
    decider = await finance(c, branch)
    requested = await ok(await _post(client, f"{url}/release-request", ctx.auth, got["version"],
                                     {"note": "证已办妥，抵押已登记"}))
    assert requested["status"] == "pending" and requested["releasable"] is False
    request = await ok(await client.get(f"/api/v1/approvals/requests/{requested['approvalRequestId']}",
                                        headers=ctx.auth))
    assert request["type"] == "guarantee_release" and request["amount"] == "720000.50"
    assert request["payload"]["loanAccount"] == "****7890" and request["payload"]["certificateIssuedOn"] == "2026-02-01"
    assert [s["name"] for s in request["rounds"][0]["steps"]] == ["Finance"]
    not_yet = await _post(client, f"{url}/release", ctx.auth, requested["version"],
                          {"releasedOn": "2026-03-05", "bankConfirmation": "JC-2026-0305"})
    assert not_yet.status_code == 409 and "pending" in not_yet.json()["detail"]

    await ok(await client.post(f"/api/v1/approvals/requests/{requested['approvalRequestId']}/approve",
                               headers=decider, json={}))
    approved = await client.get(url, headers=ctx.auth)
    assert approved.json()["status"] == "approved"
    # The release is recorded with the bank's confirmation as a verified upload: none yet, or one
    # only declared (its bytes never PUT), or the loan contract, is refused naming it.
    c = with_client(ctx, client)
    await guarantee_document(c, g["id"], "loan_contract")
    pending = await guarantee_document(c, g["id"], "release_confirmation", stage="pending")
    release = {"releasedOn": "2026-03-05", "bankConfirmation": "JC-2026-0305", "note": "银行回执已存档"}
    missing = await _post(client, f"{url}/release", ctx.auth, approved.headers["etag"], release)
    assert missing.status_code == 409 and missing.json()["errors"][0]["field"] == "releaseConfirmation"
    named = await _post(client, f"{url}/release", ctx.auth, approved.headers["etag"],
                        {**release, "confirmationDocumentId": pending["id"]})
    assert named.status_code == 409 and named.json()["errors"][0]["field"] == "confirmationDocumentId"
    confirmation = await guarantee_document(c, g["id"], "release_confirmation")
    assert confirmation["status"] == "stored" and confirmation["kind"] == "release_confirmation"
    released = await ok(await _post(client, f"{url}/release", ctx.auth, approved.headers["etag"], release))
    assert released["status"] == "released" and released["releasedOn"] == "2026-03-05"
    assert released["bankConfirmation"] == "JC-2026-0305" and released["releaseDocumentId"] == confirmation["id"]
    assert [(d["kind"], d["status"]) for d in released["documents"]] == [
        ("loan_contract", "stored"), ("release_confirmation", "pending"), ("release_confirmation", "stored")]
    closed = await client.post(f"{GUARANTEES}/{g['id']}/documents", headers=ctx.auth, json=pdf_document("other")[1])
    assert closed.status_code == 409 and "released" in closed.json()["detail"]
    again = await _post(client, f"{url}/release-request", ctx.auth, released["version"], {})
    assert again.status_code == 409

    # The loan account is sealed at rest, and out of the audit trail.
    async with ctx.db.tenant_session(f"t_{ctx.tenant}") as session:
        raw = (await session.execute(text(
            f"SELECT * FROM t_{ctx.tenant}.mortgage_guarantees WHERE id = :id"), {"id": g["id"]})).mappings().one()
        audit = (await session.execute(text(
            f"SELECT action, after::text AS after FROM t_{ctx.tenant}.audit_log WHERE entity_id = :id "
            "ORDER BY occurred_at, id"), {"id": g["id"]})).all()
    assert "6222001234567890" not in str(dict(raw)) and b"6222001234567890" not in raw["loan_account_sealed"]
    assert [a.action for a in audit] == ["guarantees.guarantee.create", "guarantees.guarantee.registration",
                                         "guarantees.guarantee.release_request", "guarantees.guarantee.release"]
    assert '"releaseDocumentId"' in audit[-1].after or "release_document_id" in audit[-1].after
    assert all("6222001234567890" not in (a.after or "") and "sealed" not in (a.after or "") for a in audit)


async def test_a_rejected_release_is_asked_again(client: Any, ctx: Ctx) -> None:
    c = with_client(ctx, client)
    g, url = await guarantee_in(c, "pending")
    branch = (await ok(await client.get(f"/api/v1/org/projects/{g['nodeId']}", headers=ctx.auth)))["parentId"]
    await ok(await client.post(f"/api/v1/approvals/requests/{g['approvalRequestId']}/reject",
                               headers=await finance(c, branch), json={"comment": "银行回执未到"}))
    got = await ok(await client.get(url, headers=ctx.auth))
    assert got["status"] == "rejected" and got["releasable"] is True
    again = await ok(await _post(client, f"{url}/release-request", ctx.auth, got["version"], {"note": "回执已到"}))
    assert again["status"] == "pending" and again["approvalRequestId"] == g["approvalRequestId"]


async def test_the_contingent_liability_by_bank_and_project(client: Any, db: Any, new_tenant: Any,
                                                            mint: Any) -> None:
    c = await tenant_ctx(client, db, new_tenant, mint, "guarliab", subject="guarantee-test")
    first, _, _ = await _new_customer(c)
    await guarantee_in(c, customer=first, bank="中国建设银行", loanAmount="500000.00")
    await guarantee_in(c, "released", bank="中国建设银行", loanAmount="300000.00")  # no longer a liability
    second, _, _ = await _new_customer(c)
    await guarantee_in(c, customer=second, bank="中国工商银行", loanAmount="400000.10")
    await guarantee_in(c, "pending", bank="中国工商银行", loanAmount="100000.00")  # until released
    liability = await ok(await client.get(f"{GUARANTEES}/liability", headers=c.auth))
    assert liability["guarantees"] == 3 and liability["amount"] == "1000000.10"
    assert [(b["bank"], b["guarantees"], b["amount"]) for b in liability["byBank"]] == [
        ("中国工商银行", 2, "500000.10"), ("中国建设银行", 1, "500000.00")]
    assert sorted((r["bank"], r["projectId"], r["amount"]) for r in liability["rows"])[-1] == (
        "中国建设银行", first["units"][0]["projectId"], "500000.00")
    assert len(liability["rows"]) == 3
    listed = await ok(await client.get(GUARANTEES, headers=c.auth,
                                       params={"released": "false", "bank": "中国工商银行"}))
    assert listed["total"] == 2
    unknown = await client.post(GUARANTEES, headers=c.auth, json=guarantee_body(
        {"id": first["id"], "units": [{"unitId": str(uuid.uuid4())}]}))
    assert unknown.status_code == 404 and unknown.json()["errors"][0]["field"] == "unitId"
    bad = await client.post(GUARANTEES, headers=c.auth, json=guarantee_body(first, loanAmount="12.345"))
    assert bad.status_code == 422 and bad.json()["type"] == PROBLEM + "validation"


async def test_documents_go_through_the_upload_lifecycle(client: Any, ctx: Ctx, monkeypatch: Any) -> None:
    c = with_client(ctx, client)
    g, url = await guarantee_in(c, "active")
    # A declaration the use does not accept: 422 naming the field.
    wrong = await client.post(f"{url}/documents", headers=ctx.auth,
                              json={**pdf_document("loan_contract")[1], "filename": "contract.html"})
    assert wrong.status_code == 422 and wrong.json()["errors"][0]["field"] == "filename"
    # HTML bytes sent as the declared PDF: completion reads them back and refuses them.
    html = b"<html><script>alert(1)</script></html>"
    fake = await guarantee_document(c, g["id"], "loan_contract", stage="uploaded", data=html)
    refused = await client.post(f"{GUARANTEES}/documents/{fake['id']}/complete", headers=ctx.auth)
    assert refused.status_code == 409 and "application/pdf" in refused.json()["detail"]
    early = await client.get(f"{GUARANTEES}/documents/{fake['id']}/download", headers=ctx.auth)
    assert early.status_code == 409
    stored = await guarantee_document(c, g["id"], "guarantee_contract")
    link = await ok(await client.get(f"{GUARANTEES}/documents/{stored['id']}/download", headers=ctx.auth))
    assert link["url"] and link["expiresAt"]
    got = await ok(await client.get(url, headers=ctx.auth))
    assert [(d["kind"], d["status"]) for d in got["documents"]] == [("loan_contract", "pending"),
                                                                     ("guarantee_contract", "stored")]

    # The upload never completed is removed, bytes and row, an hour after its URL expired.
    store = get_store()
    key = f"guarantees/{g['id']}/{fake['id']}"
    assert (await store.stat(ctx.tenant, key)).size == len(html)

    async def expire(after: timedelta) -> int:
        later = clock.utcnow() + after
        monkeypatch.setattr(clock, "utcnow", lambda: later)
        async with ctx.db.tenant_transaction(f"t_{ctx.tenant}") as session:
            session.info["actor"] = SYSTEM
            return await documents.expire(session, store, ctx.tenant)

    assert await expire(timedelta(minutes=30)) == 0  # the URL is barely expired
    assert await expire(timedelta(hours=2)) >= 1
    with pytest.raises(ObjectNotFound):
        await store.stat(ctx.tenant, key)
    assert (await client.get(f"{GUARANTEES}/documents/{fake['id']}", headers=ctx.auth)).status_code == 404
    kept = await ok(await client.get(f"{GUARANTEES}/documents/{stored['id']}", headers=ctx.auth))
    assert kept["status"] == "stored"


async def test_a_guarantee_is_corrected_with_its_reason(client: Any, ctx: Ctx) -> None:
    c = with_client(ctx, client)
    g, url = await guarantee_in(c, "active")
    body = {"reason": "按借款合同更正金额", "loanAmount": "640000", "endsOn": "2027-06-01"}
    stale = await client.patch(url, headers={**ctx.auth, "If-Match": f'"{g["version"] + 5}"'}, json=body)
    assert stale.status_code == 412
    assert (await client.patch(url, headers=ctx.auth, json=body)).status_code == 428
    fixed = await ok(await client.patch(url, headers={**ctx.auth, "If-Match": f'"{g["version"]}"'}, json=body))
    assert fixed["loanAmount"] == "640000.00" and fixed["endsOn"] == "2027-06-01"
    backwards = await client.patch(url, headers={**ctx.auth, "If-Match": f'"{fixed["version"]}"'},
                                   json={"reason": "x", "startsOn": "2028-01-01"})
    assert backwards.status_code == 409 and backwards.json()["errors"][0]["field"] == "startsOn"
    unregistered = await client.patch(url, headers={**ctx.auth, "If-Match": f'"{fixed["version"]}"'},
                                      json={"reason": "x", "registrationNumber": "R9"})
    assert unregistered.status_code == 409 and unregistered.json()["errors"][0]["field"] == "registrationNumber"
    no_reason = await client.patch(url, headers={**ctx.auth, "If-Match": f'"{fixed["version"]}"'},
                                   json={"bank": "中国银行"})
    assert no_reason.status_code == 422
    async with ctx.db.tenant_session(f"t_{ctx.tenant}") as session:
        row = (await session.execute(text(
            f"SELECT reason, before, after FROM t_{ctx.tenant}.audit_log WHERE entity_id = :id "
            "AND action = 'guarantees.guarantee.update'"), {"id": g["id"]})).one()
    assert row.reason == "按借款合同更正金额" and "650000.00" in str(row.before) and "640000.00" in str(row.after)
    # Under finance's review, or released, its terms stay as they are.
    pending, purl = await guarantee_in(c, "pending")
    frozen = await client.patch(purl, headers={**ctx.auth, "If-Match": f'"{pending["version"]}"'},
                                json={"reason": "x", "loanAmount": "1.00"})
    assert frozen.status_code == 409 and "pending" in frozen.json()["detail"]
