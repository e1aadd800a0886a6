"""Home owners (owner:self) and their complaints: filing one from the app about their own
unit, with a photo uploaded straight to storage (presigned PUT, then the size and SHA-256
check); following it without ever seeing internal notes or history; adding information;
rating the result."""

from __future__ import annotations

import hashlib
import uuid
from typing import Any
from urllib.parse import urlsplit

import pytest
from sqlalchemy import select

from app.auth.models import OutboxMessage
from tests.routes import _staff_account  # first: it loads the catalogue modules

# isort: split
from tests.catalogue.complaints import (
    BASE,
    MINE,
    Rec,
    approver,
    category,
    decide,
    ok,
    owner,
    photo,
    put_bytes,
    refresh,
    step,
    tenant_ctx,
)
from tests.conftest import bearer

PROBLEM = "urn:cornerstone:problem:"


async def test_an_owner_files_follows_and_rates(client: Any, db: Any, new_tenant: Any, mint: Any) -> None:
    ctx = await tenant_ctx(client, db, new_tenant, mint, "own", subject="owner-test")
    me, customer, unit = await owner(ctx)
    other, _, other_unit = await owner(ctx)

    categories = await ok(await client.get(f"{MINE}/categories", headers=me, params={"limit": 200}))
    assert "WATERPROOFING" not in str(categories) and any(c["name"] == "防水渗漏 Waterproofing"
                                                           for c in categories["items"])
    # Another owner's unit is none of mine.
    refused = await client.post(MINE, headers=me, json={"unitId": other_unit, "subject": "漏水", "description": "x"})
    assert refused.status_code == 404 and refused.json()["errors"][0]["field"] == "unitId"

    filed = await client.post(MINE, headers={**me, "Idempotency-Key": "app-1"}, json={
        "unitId": unit, "subject": "窗户漏水", "description": "Rain comes in at the bedroom window."})
    mine = await ok(filed, 201)
    assert mine["number"].startswith("TS-") and mine["status"] == "received" and mine["categoryName"] == "其他 Other"
    url = filed.headers["location"]

    # A photo, straight to storage: start, PUT exactly the declared bytes, confirm.
    content, body = photo(b"\xff\xd8\xff\xe0 a photo of the window")
    too_soon = await ok(await client.post(f"{url}/attachments", headers=me, json=body), 201)
    early = await client.post(f"{MINE}/attachments/{too_soon['attachment']['id']}/complete", headers=me)
    assert early.status_code == 409 and "Nothing was uploaded" in early.json()["detail"]
    other_bytes = await put_bytes(client, too_soon["upload"], b"\xff\xd8\xff\xe0 another photo!!")
    assert other_bytes.status_code == 400  # the signature binds the size and the SHA-256
    assert (await put_bytes(client, too_soon["upload"], content)).status_code == 200
    stored = await ok(await client.post(f"{MINE}/attachments/{too_soon['attachment']['id']}/complete", headers=me))
    assert stored["status"] == "stored" and stored["byOwner"] is True and stored["sha256"] == body["sha256"]
    link = await ok(await client.get(f"{MINE}/attachments/{stored['id']}/download", headers=me))
    parts = urlsplit(link["url"])
    fetched = await client.get(f"{parts.path}?{parts.query}")
    assert fetched.status_code == 200 and hashlib.sha256(fetched.content).hexdigest() == body["sha256"]
    # Not the other owner's, nor anyone's through the staff route without complaints:read.
    assert (await client.get(f"{MINE}/attachments/{stored['id']}/download", headers=other)).status_code == 404
    assert (await client.get(f"{MINE}/{mine['id']}", headers=other)).status_code == 404
    assert (await ok(await client.get(MINE, headers=other)))["total"] == 0

    # Customer service picks it up: classifies it, works it; internal words stay internal.
    rec = Rec(await ok(await client.get(f"{BASE}/{mine['id']}", headers=ctx.auth)), f"{BASE}/{mine['id']}", "",
              await ok(await client.get(f"/api/v1/org/projects/{customer['units'][0]['projectId']}",
                                        headers=ctx.auth)))
    await refresh(ctx, rec)
    assert rec.body["channel"] == "app" and rec.body["customerId"] == customer["id"] and rec.body["handlerId"] is None
    handler = await _staff_account(ctx)
    changed = await client.patch(rec.url, headers={**ctx.auth, "If-Match": rec.etag}, json={
        "categoryId": await category(ctx, "WATERPROOFING"), "handlerId": handler})
    rec.body, rec.etag = await ok(changed), changed.headers["etag"]
    assert rec.body["quality"] is True and rec.body["sla"]["resolutionTargetMinutes"] == 4500
    await ok(await client.post(f"{rec.url}/notes", headers=ctx.auth,
                               json={"body": "INTERNAL: blame the window supplier.", "internal": True}), 201)
    await refresh(ctx, rec)
    await step(ctx, rec, "investigate", {"reply": "师傅周三上午上门。"})
    await step(ctx, rec, "findings", {"cause": "SECRET: sealant skipped on floor 12.",
                                      "responsibleParty": "contractor"})
    rec.approver = await approver(ctx, rec.project["parentId"])
    await step(ctx, rec, "proposals", {"kind": "apology", "description": "Rejected wording."})
    await decide(ctx, rec, approve=False, comment="Offer a repair.")
    await step(ctx, rec, "proposals", {"kind": "repair", "description": "Reseal the window.", "dueDate": "2030-03-01"})
    await decide(ctx, rec, approve=True)

    # The owner adds information; their handler is told.
    added = await client.post(f"{url}/notes", headers=me, json={"body": "It also leaks in the living room."})
    assert added.status_code == 201
    async with db.platform_session() as session:
        told = (await session.scalars(select(OutboxMessage.recipient).where(
            OutboxMessage.data["event"].astext == "complaint.owner_note",
            OutboxMessage.data["complaintId"].astext == rec.id))).all()
    assert list(told) == [handler]

    seen = await ok(await client.get(url, headers=me))
    text = str(seen)
    assert "INTERNAL" not in text and "SECRET" not in text and "Rejected wording" not in text
    assert [n["body"] for n in seen["notes"]] == ["师傅周三上午上门。", "It also leaks in the living room."]
    assert [(p["round"], p["kind"], p["status"]) for p in seen["proposals"]] == [(2, "repair", "approved")]
    assert [e["action"] for e in seen["events"]] == ["registered", "investigation_started", "approved"]

    # Rating before the work is done is refused; after it, it closes the complaint.
    early_rating = await client.post(f"{url}/rating", headers={**me, "If-Match": f'"{seen["version"]}"'},
                                     json={"satisfaction": 5})
    assert early_rating.status_code == 409
    await refresh(ctx, rec)
    await step(ctx, rec, "negotiations", {"customerResponse": "OK", "agreed": True})
    await step(ctx, rec, "handling", {"result": "Resealed.", "check": "Dry after rain."})
    own = await client.get(url, headers=me)
    stale = await client.post(f"{url}/rating", headers={**me, "If-Match": '"1"'}, json={"satisfaction": 5})
    assert stale.status_code == 412
    rated = await client.post(f"{url}/rating", headers={**me, "If-Match": own.headers["etag"]},
                              json={"satisfaction": 3, "opinion": "Took a while."})
    assert (await ok(rated))["status"] == "closed" and rated.json()["satisfaction"] == 3
    again = await client.post(f"{url}/rating", headers={**me, "If-Match": rated.headers["etag"]},
                              json={"satisfaction": 5})
    assert again.status_code == 409 and "rated already" in again.json()["detail"]
    await refresh(ctx, rec)
    assert rec.body["satisfaction"] == 3 and rec.body["feedbackOpinion"] == "Took a while."


async def test_a_record_closed_by_staff_can_still_be_rated(client: Any, db: Any, new_tenant: Any,
                                                           mint: Any) -> None:
    from tests.catalogue.complaints import owners_record

    ctx = await tenant_ctx(client, db, new_tenant, mint, "ownrate", subject="owner-test")
    rec, me = await owners_record(ctx, "feedback")
    await step(ctx, rec, "feedback", {"opinion": "Owner not reachable by phone."})
    assert rec.body["status"] == "closed" and rec.body["satisfaction"] is None
    own = await client.get(f"{MINE}/{rec.id}", headers=me)
    rated = await client.post(f"{MINE}/{rec.id}/rating", headers={**me, "If-Match": own.headers["etag"]},
                              json={"satisfaction": 4})
    assert (await ok(rated))["satisfaction"] == 4 and rated.json()["status"] == "closed"
    # A staff account is no home owner: nothing of theirs here, and no filing.
    staff = bearer(mint(tenant=ctx.tenant, subject=await _staff_account(ctx), scopes=["owner:self"]))
    assert (await ok(await client.get(MINE, headers=staff)))["total"] == 0
    assert (await client.post(MINE, headers=staff, json={"unitId": str(uuid.uuid4()), "subject": "x",
                                                          "description": "x"})).status_code == 404
    partner = bearer(mint(tenant=ctx.tenant, subject="test-client", scopes=["owner:self"]))
    filed = await client.post(MINE, headers=partner, json={"unitId": str(uuid.uuid4()), "subject": "x",
                                                            "description": "x"})
    assert filed.status_code == 403 and filed.json()["type"] == PROBLEM + "forbidden"


async def test_uploads_never_confirmed_are_removed(client: Any, db: Any, new_tenant: Any, mint: Any,
                                                   monkeypatch: Any) -> None:
    from datetime import timedelta

    from app.core import clock
    from app.core.audit import SYSTEM
    from app.domains.complaints import services
    from app.storage import ObjectNotFound, get_store
    from tests.catalogue.complaints import attachment, new_record

    ctx = await tenant_ctx(client, db, new_tenant, mint, "ownexp", subject="owner-test")
    rec = await new_record(ctx)
    never = await attachment(ctx, rec, stored=False, uploaded=False)
    unconfirmed = await attachment(ctx, rec, stored=False)
    kept = await attachment(ctx, rec)
    store = get_store()
    key = f"complaints/{rec.id}/{unconfirmed['id']}"
    assert (await store.stat(ctx.tenant, key)).size == unconfirmed["size"]

    async def expire(after: timedelta) -> int:
        later = clock.utcnow() + after
        monkeypatch.setattr(clock, "utcnow", lambda: later)
        async with db.tenant_transaction(f"t_{ctx.tenant}") as session:
            session.info["actor"] = SYSTEM
            return await services.expire_uploads(session, store, ctx.tenant)

    assert await expire(timedelta(minutes=30)) == 0  # the URLs are barely expired
    assert await expire(timedelta(hours=2)) == 2
    assert await expire(timedelta(hours=2)) == 0
    await refresh(ctx, rec)
    assert [a["id"] for a in rec.body["attachments"]] == [kept["id"]]
    with pytest.raises(ObjectNotFound):  # the unconfirmed bytes are gone too
        await store.stat(ctx.tenant, key)
    assert (await client.get(f"{BASE}/attachments/{never['id']}", headers=ctx.auth)).status_code == 404
