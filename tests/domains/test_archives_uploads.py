"""Archive pages through the shared upload lifecycle (app/storage/uploads.py): a file name
whose extension is not the declared type's is refused, naming the page's field, before
anything is signed; a name without one is given the type's; a download is served as the
page's type under a name with its extension; and a page is reached through its own tenant
only. With the embedded default store (local disk, the app's own endpoints)."""

from __future__ import annotations

import uuid
from typing import Any
from urllib.parse import urlsplit

import pytest

from tests.catalogue.archives import PAGES, declare, new_volume, ok, put_bytes, scan, volume_in  # noqa: I001
from tests.conftest import bearer, subject_of
from tests.routes import Ctx  # first: it loads the route catalogue


async def _ctx(client: Any, db: Any, new_tenant: Any, mint: Any, prefix: str) -> Ctx:
    slug = await new_tenant(prefix)
    admin = bearer(mint(tenant=slug))
    return Ctx(client=client, db=db, tenant=slug, subject=subject_of(admin), auth=admin, mark=uuid.uuid4().hex[:8])


@pytest.fixture
async def ctx(client: Any, db: Any, new_tenant: Any, mint: Any) -> Ctx:
    return await _ctx(client, db, new_tenant, mint, "aupl")


async def test_a_page_named_as_another_type_is_refused_and_a_bare_name_gets_the_types(ctx: Ctx) -> None:
    c, auth = ctx.client, ctx.auth
    volume, url = await new_volume(ctx)
    pdf, tiff, png = scan(), scan(900, "image/tiff"), scan(800, "image/png")
    refused = await ok(await c.post(f"{url}/pages", headers=auth, json={"pages": [
        declare(pdf, fileName="p1.pdf"), declare(tiff, "image/tiff", fileName="scan.html"),
        declare(png, "image/png", fileName="p3.PDF")]}), 422)
    assert refused["errors"] == [
        {"field": "pages.1.fileName", "message": "the extension .html is not one of image/tiff (tif, tiff)"},
        {"field": "pages.2.fileName", "message": "the extension .pdf is not one of image/png (png)"}]
    assert (await ok(await c.get(url, headers=auth)))["pendingUploads"] == 0  # nothing issued

    issued = await ok(await c.post(f"{url}/pages", headers=auth, json={"pages": [
        declare(pdf, fileName="p1.pdf"), declare(tiff, "image/tiff", fileName="scan-0002"),
        declare(png, "image/png", fileName="Scan 3.PNG"), declare(png, "image/png")]}), 201)
    assert [i["page"]["fileName"] for i in issued["items"]] == ["p1.pdf", "scan-0002.tif", "Scan 3.PNG", None]

    # The download of a stored page: its own type, under its archive name with the type's extension.
    await ok(await put_bytes(c, issued["items"][1]["upload"], tiff))
    page_id = issued["items"][1]["page"]["id"]
    await ok(await c.post(f"{url}/pages/complete", headers=auth, json={"pageIds": [page_id]}))
    link = await ok(await c.post(f"{PAGES}/{page_id}/download", headers=auth))
    assert link["contentType"] == "image/tiff"
    parts = urlsplit(link["url"])
    got = await c.get(f"{parts.path}?{parts.query}")
    assert got.status_code == 200 and got.content == tiff and got.headers["content-type"] == "image/tiff"
    assert got.headers["content-disposition"] == f'attachment; filename="{volume["id"]}-p0001-r1.tif"'


async def test_a_correction_named_as_another_type_is_refused(ctx: Ctx) -> None:
    c, auth = ctx.client, ctx.auth
    _, _, pages = await volume_in(ctx, "filed", pages=1)
    fixed = scan(1000, "image/jpeg")
    refused = await ok(await c.post(f"{PAGES}/{pages[0]['id']}/corrections", headers=auth, json=declare(
        fixed, "image/jpeg", reason="重扫 rescanned", fileName="fix.svg")), 422)
    assert refused["errors"] == [{"field": "fileName", "message": "the extension .svg is not one of image/jpeg "
                                                                  "(jpg, jpeg, jpe)"}]
    issued = await ok(await c.post(f"{PAGES}/{pages[0]['id']}/corrections", headers=auth, json=declare(
        fixed, "image/jpeg", reason="重扫 rescanned", fileName="fix")), 201)
    assert issued["page"]["fileName"] == "fix.jpg" and issued["page"]["revision"] == 2


async def test_a_page_is_neither_completed_nor_downloaded_through_another_tenant(ctx: Ctx, client: Any, db: Any,
                                                                                 new_tenant: Any, mint: Any) -> None:
    other = await _ctx(client, db, new_tenant, mint, "auplb")
    c, auth = ctx.client, ctx.auth
    volume, url = await new_volume(ctx)
    data = scan()
    issued = await ok(await c.post(f"{url}/pages", headers=auth, json={"pages": [declare(data)]}), 201)
    upload = issued["items"][0]["upload"]
    assert ctx.tenant.replace("_", "-") in upload["url"] and other.tenant.replace("_", "-") not in upload["url"]
    await ok(await put_bytes(c, upload, data))
    page_id = issued["items"][0]["page"]["id"]

    complete = f"{url}/pages/complete"
    assert (await c.post(complete, headers=other.auth, json={"pageIds": [page_id]})).status_code == 404
    done = await ok(await c.post(complete, headers=auth, json={"pageIds": [page_id]}))
    assert done["items"][0]["status"] == "stored"
    assert (await c.post(complete, headers=other.auth, json={"pageIds": [page_id]})).status_code == 404
    assert (await c.post(f"{PAGES}/{page_id}/download", headers=other.auth)).status_code == 404
    assert (await c.get(f"{PAGES}/{page_id}", headers=other.auth)).status_code == 404
    link = await ok(await c.post(f"{PAGES}/{page_id}/download", headers=auth))
    parts = urlsplit(link["url"])
    assert (await c.get(f"{parts.path}?{parts.query}")).content == data
    assert volume["id"] in link["url"]
