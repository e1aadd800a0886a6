"""Complaint attachments through the shared upload lifecycle (app/storage/uploads.py).

An outside probe found that an attachment declared ``image/png`` stored and served HTML as
``x.html``. Now the name's extension must be the declared type's (422 naming ``filename``),
the completion reads the bytes back and refuses what does not begin as the declared format
(409), and a download is served as the declared type under a name with its extension, also
for a row stored before names were checked. A completed attachment is reached through its
own tenant only."""

from __future__ import annotations

import hashlib
import os
import uuid
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import update

import tests.routes  # noqa: F401 - first: it loads the catalogue modules
from app.domains.complaints.models import ComplaintAttachment
from tests.catalogue.complaints import (  # noqa: I001
    BASE,
    MINE,
    new_record,
    ok,
    owners_record,
    put_bytes,
    refresh,
    tenant_ctx,
)
from tests.conftest import bearer

PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"
HTML = b"<html><body><script>alert(document.domain)</script></body></html>"


def declare(data: bytes, filename: str = "x.png", content_type: str = "image/png") -> dict[str, Any]:
    return {"filename": filename, "contentType": content_type, "size": len(data),
            "sha256": hashlib.sha256(data).hexdigest()}


async def fetch(client: Any, url: str) -> Any:
    """GET a download URL as a browser would (the local store's URLs are the app's own)."""
    parts = urlsplit(url)
    return await client.get(f"{parts.path}?{parts.query}")


async def test_a_png_named_x_html_is_refused(client: Any, db: Any, new_tenant: Any, mint: Any) -> None:
    ctx = await tenant_ctx(client, db, new_tenant, mint, "upx")
    rec = await new_record(ctx)
    image = PNG + os.urandom(200)
    # Named as HTML: refused before anything is signed, naming the field.
    for name in ("x.html", "x.HTM", "drawing.svg", "x.html.", "x.png.html"):
        named = await client.post(f"{rec.url}/attachments", headers=ctx.auth, json=declare(image, name))
        assert named.status_code == 422, (name, named.text)
        [error] = named.json()["errors"]
        assert error["field"] == "filename" and "is not one of image/png (png)" in error["message"], error
    rec_owner, me = await owners_record(ctx)
    mine = await client.post(f"{MINE}/{rec_owner.id}/attachments", headers=me, json=declare(image, "x.html"))
    assert mine.status_code == 422 and mine.json()["errors"][0]["field"] == "filename"
    for record in (rec, rec_owner):
        await refresh(ctx, record)
        assert record.body["attachments"] == []


async def test_a_png_whose_bytes_are_html_is_refused_and_never_served(client: Any, db: Any, new_tenant: Any,
                                                                      mint: Any) -> None:
    ctx = await tenant_ctx(client, db, new_tenant, mint, "upl")
    rec = await new_record(ctx)
    url = f"{rec.url}/attachments"
    rec_owner, me = await owners_record(ctx)

    # HTML bytes under a PNG name and type: signed for exactly those bytes, uploaded as declared,
    # refused when completed; it stays pending (and expires), never downloadable.
    started = await ok(await client.post(url, headers=ctx.auth, json=declare(HTML)), 201)
    attachment = started["attachment"]
    assert (await put_bytes(client, started["upload"], HTML)).status_code == 200
    refused = await client.post(f"{BASE}/attachments/{attachment['id']}/complete", headers=ctx.auth)
    assert refused.status_code == 409, refused.text
    assert "the bytes do not begin as image/png does" in refused.json()["detail"]
    assert (await ok(await client.get(f"{BASE}/attachments/{attachment['id']}", headers=ctx.auth)))["status"] == \
        "pending"
    not_stored = await client.get(f"{BASE}/attachments/{attachment['id']}/download", headers=ctx.auth)
    assert not_stored.status_code == 409
    await refresh(ctx, rec)
    assert [(a["id"], a["status"]) for a in rec.body["attachments"]] == [(attachment["id"], "pending")]

    # The owner's route holds its photos to the same check.
    mine_started = await ok(await client.post(f"{MINE}/{rec_owner.id}/attachments", headers=me,
                                              json=declare(HTML, "photo.png")), 201)
    assert (await put_bytes(client, mine_started["upload"], HTML)).status_code == 200
    mine_refused = await client.post(f"{MINE}/attachments/{mine_started['attachment']['id']}/complete", headers=me)
    assert mine_refused.status_code == 409 and "not a image/png file" in mine_refused.json()["detail"]


async def test_an_attachment_is_served_as_its_declared_type_under_a_name_with_its_extension(
        client: Any, db: Any, new_tenant: Any, mint: Any) -> None:
    ctx = await tenant_ctx(client, db, new_tenant, mint, "upn")
    rec = await new_record(ctx)
    image = PNG + os.urandom(300)
    # A name without an extension is given the type's.
    started = await ok(await client.post(f"{rec.url}/attachments", headers=ctx.auth,
                                         json=declare(image, "卫生间 leak")), 201)
    assert started["attachment"]["filename"] == "卫生间 leak.png"
    assert (await put_bytes(client, started["upload"], image)).status_code == 200
    attachment_id = started["attachment"]["id"]
    stored = await ok(await client.post(f"{BASE}/attachments/{attachment_id}/complete", headers=ctx.auth))
    assert stored["status"] == "stored" and stored["storedAt"] is not None
    link = await ok(await client.get(f"{BASE}/attachments/{attachment_id}/download", headers=ctx.auth))
    got = await fetch(client, link["url"])
    assert got.status_code == 200 and got.content == image
    assert got.headers["content-type"] == "image/png" and got.headers["x-content-type-options"] == "nosniff"
    assert got.headers["content-disposition"] == \
        "attachment; filename=\"___ leak.png\"; filename*=UTF-8''%E5%8D%AB%E7%94%9F%E9%97%B4%20leak.png"

    # A row stored before names were checked, as the probe's was: never served as .html.
    async with db.tenant_transaction(f"t_{ctx.tenant}") as session:
        await session.execute(update(ComplaintAttachment).where(ComplaintAttachment.id == uuid.UUID(attachment_id))
                              .values(filename="x.html"))
    link = await ok(await client.get(f"{BASE}/attachments/{attachment_id}/download", headers=ctx.auth))
    got = await fetch(client, link["url"])
    assert got.headers["content-disposition"] == 'attachment; filename="x.png"'
    assert got.headers["content-type"] == "image/png"


async def test_a_completed_attachment_is_neither_confirmed_nor_downloaded_through_another_tenant(
        client: Any, db: Any, new_tenant: Any, mint: Any) -> None:
    ctx = await tenant_ctx(client, db, new_tenant, mint, "upa")
    other = await tenant_ctx(client, db, new_tenant, mint, "upb")
    rec, me = await owners_record(ctx)
    image = PNG + os.urandom(100)
    started = await ok(await client.post(f"{MINE}/{rec.id}/attachments", headers=me, json=declare(image)), 201)
    # The URL is for this tenant's own bucket.
    assert ctx.tenant.replace("_", "-") in started["upload"]["url"]
    assert other.tenant.replace("_", "-") not in started["upload"]["url"]
    assert (await put_bytes(client, started["upload"], image)).status_code == 200
    attachment_id = started["attachment"]["id"]

    # Another tenant's staff (every scope) and owners find no such attachment: not to confirm,
    # not to read, not to download.
    foreign_owner = bearer(mint(tenant=other.tenant, subject=str(uuid.uuid4()), scopes=["owner:self"]))
    for headers, path in ((other.auth, f"{BASE}/attachments/{attachment_id}"),
                          (foreign_owner, f"{MINE}/attachments/{attachment_id}")):
        confirm = await client.post(f"{path}/complete", headers=headers)
        assert confirm.status_code == 404, confirm.text
    stored = await ok(await client.post(f"{MINE}/attachments/{attachment_id}/complete", headers=me))
    assert stored["status"] == "stored"
    for headers, path in ((other.auth, f"{BASE}/attachments/{attachment_id}"),
                          (foreign_owner, f"{MINE}/attachments/{attachment_id}")):
        assert (await client.post(f"{path}/complete", headers=headers)).status_code == 404
        assert (await client.get(f"{path}/download", headers=headers)).status_code == 404
    assert (await client.get(f"{BASE}/attachments/{attachment_id}", headers=other.auth)).status_code == 404
    # Its own tenant still has it, as stored.
    link = await ok(await client.get(f"{BASE}/attachments/{attachment_id}/download", headers=ctx.auth))
    assert (await fetch(client, link["url"])).content == image
