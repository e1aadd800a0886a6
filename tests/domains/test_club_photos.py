"""Photos of club activities through the shared upload lifecycle: started on a published (or
held) activity, the bytes PUT to the presigned URL, completed only when storage holds exactly
the declared image (its first bytes a JPEG's), listed and downloaded; an upload never
completed is removed by the daily scan once its URL expired past the grace."""

from __future__ import annotations

import hashlib
import uuid
from datetime import timedelta
from typing import Any

from sqlalchemy import update

from tests.routes import _new_project  # first: it loads the catalogue modules

# isort: split
from app.domains.club.models import ActivityPhoto
from app.domains.club.tasks import expire_tenant
from app.fanout.tasks import BoundTenant
from tests.catalogue.club import BASE, activity_photo, new_activity, new_club, ok
from tests.catalogue.complaints import put_bytes, tenant_ctx
from tests.catalogue.property import jpeg


async def test_activity_photos_through_the_upload_lifecycle(client: Any, db: Any, new_tenant: Any,
                                                            mint: Any) -> None:
    ctx = await tenant_ctx(client, db, new_tenant, mint, "clubphoto")
    club, _ = await new_club(ctx)
    project, _ = await _new_project(ctx)
    draft, draft_url = await new_activity(ctx, club["id"], project["id"], "draft")
    early = await ctx.client.post(f"{draft_url}/photos", headers=ctx.auth, json={"caption": "x", **jpeg()[1]})
    assert early.status_code == 409 and "draft" in early.json()["detail"]
    a, url = await new_activity(ctx, club["id"], project["id"], "held")

    not_a_photo = await ctx.client.post(f"{url}/photos", headers=ctx.auth, json={
        "filename": "x.html", "contentType": "image/png", "size": 10, "sha256": "0" * 64})
    assert not_a_photo.status_code == 422 and not_a_photo.json()["errors"][0]["field"] == "filename"
    stored = await activity_photo(ctx, url, caption="烘焙课合影")
    assert stored["status"] == "stored" and stored["activityId"] == a["id"]
    link = await ok(await ctx.client.get(f"{BASE}/photos/{stored['id']}/download", headers=ctx.auth))
    assert link["url"]

    # HTML declared and sent as a JPEG: the bytes are not a JPEG's, so never stored.
    html = b"<html><script>alert(1)</script></html>"
    started = await ok(await ctx.client.post(f"{url}/photos", headers=ctx.auth, json={
        "filename": "fake.jpg", "contentType": "image/jpeg", "size": len(html),
        "sha256": hashlib.sha256(html).hexdigest()}), 201)
    photo_url = f"{BASE}/photos/{started['photo']['id']}"
    missing = await ctx.client.post(f"{photo_url}/complete", headers=ctx.auth)
    assert missing.status_code == 409 and "Nothing was uploaded" in missing.json()["detail"]
    assert (await put_bytes(ctx.client, started["upload"], html)).status_code == 200
    refused = await ctx.client.post(f"{photo_url}/complete", headers=ctx.auth)
    assert refused.status_code == 409 and "not the declared ones" in refused.json()["detail"]
    pending = await ctx.client.get(f"{photo_url}/download", headers=ctx.auth)
    assert pending.status_code == 409

    listed = await ok(await ctx.client.get(f"{url}/photos", headers=ctx.auth))
    assert [(p["id"], p["status"]) for p in listed] == [(stored["id"], "stored"), (started["photo"]["id"], "pending")]

    # The never-completed upload, its URL expired past the grace: removed by the daily scan.
    async with db.tenant_transaction(f"t_{ctx.tenant}") as session:
        row = await session.get(ActivityPhoto, uuid.UUID(started["photo"]["id"]))
        assert row is not None
        await session.execute(update(ActivityPhoto).where(ActivityPhoto.id == row.id)
                              .values(upload_expires_at=row.upload_expires_at - timedelta(days=1)))
    counts = await expire_tenant(BoundTenant(db, ctx.tenant))
    assert counts["expiredPhotos"] == 1
    assert (await ctx.client.get(photo_url, headers=ctx.auth)).status_code == 404
    listed = await ok(await ctx.client.get(f"{url}/photos", headers=ctx.auth))
    assert [p["id"] for p in listed] == [stored["id"]]
