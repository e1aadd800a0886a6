"""Archive volumes over HTTP with the embedded default store (local disk, signed URLs served
by the API): building, numbering, review, filing under lock, corrections, clearance and
circulation, classification through approval, legal hold and disposal, integrity jobs and
the clean-up of uploads never completed (the last two on the real worker).

The S3 side (moto's server over HTTP, an outage mid-test) is in test_archives_s3.py."""

from __future__ import annotations

import hashlib
import json
import re
import uuid
from datetime import timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select, update

from app.core import clock
from app.core.audit import tenant_audit
from app.domains.archives import tasks
from app.domains.archives.models import ArchiveObjectRemoval, ArchivePage, ArchiveVolume
from app.storage import LocalStore, ObjectLocked, ObjectNotFound, RetentionMode
from tests.routes import Ctx, _new_project  # first: it loads the route catalogue

# isort: split
from tests.catalogue.archives import (
    PAGES,
    SETTINGS,
    VOLUMES,
    advance,
    client_token,
    confidentiality_officer,
    declare,
    new_volume,
    ok,
    person,
    put_bytes,
    scan,
    volume_in,
)
from tests.conftest import bearer, subject_of
from tests.worker.conftest import Worker, finished_job, wait_for

PROBLEM = "urn:cornerstone:problem:"


@pytest.fixture
async def ctx(client: Any, db: Any, new_tenant: Any, mint: Any) -> Ctx:
    slug = await new_tenant("arch")
    admin = bearer(mint(tenant=slug))
    return Ctx(client=client, db=db, tenant=slug, subject=subject_of(admin), auth=admin, mark=uuid.uuid4().hex[:8])


def _store(app: Any) -> LocalStore:
    store = app.state.store
    assert isinstance(store, LocalStore)  # the test settings use the embedded default
    return store


async def _actions(db: Any, slug: str, entity_id: str, *, system: bool = False) -> list[str]:
    """What was done to the entity; by people only unless ``system`` (the worker's own
    records, such as background re-verifications, come when it gets to them)."""
    async with db.tenant_session(f"t_{slug}") as session:
        stmt = select(tenant_audit.c.action).where(tenant_audit.c.entity_id == entity_id)
        if not system:
            stmt = stmt.where(tenant_audit.c.actor_kind != "system")
        return list((await session.scalars(stmt.order_by(tenant_audit.c.occurred_at, tenant_audit.c.id))).all())


# ------------------------------------------------------------------------------ building


async def test_a_volume_is_built_numbered_reviewed_and_filed(ctx: Ctx, app: Any, mint: Any) -> None:
    c, auth = ctx.client, ctx.auth
    volume, url = await new_volume(ctx, retention="30_years")
    assert volume["status"] == "draft" and volume["archiveNumber"] is None
    assert volume["classification"] == "internal" and volume["circulation"] == {"roles": [], "accountIds": []}
    files = [scan(900), scan(1200, "image/tiff"), scan(650, "image/png")]
    issued = await ok(await c.post(f"{url}/pages", headers={**auth, "Idempotency-Key": "scan-1"}, json={"pages": [
        declare(files[0], fileName="p1.pdf"), declare(files[1], "image/tiff"), declare(files[2], "image/png")]}), 201)
    again = await ok(await c.post(f"{url}/pages", headers={**auth, "Idempotency-Key": "scan-1"}, json={"pages": [
        declare(files[0], fileName="p1.pdf"), declare(files[1], "image/tiff"), declare(files[2], "image/png")]}), 201)
    assert [i["page"]["id"] for i in again["items"]] == [i["page"]["id"] for i in issued["items"]]
    pages = [i["page"] for i in issued["items"]]
    assert all(p["status"] == "pending" and p["pageNumber"] is None for p in pages)
    upload = issued["items"][0]["upload"]
    assert upload["method"] == "PUT" and upload["headers"]["Content-Type"] == "application/pdf"
    assert "Authorization" not in upload["headers"] and ctx.tenant.replace("_", "-") in upload["url"]

    # Completing before the bytes arrived: 409 naming the page, nothing recorded.
    early = await ok(await c.post(f"{url}/pages/complete", headers=auth, json={"pageIds": [pages[0]["id"]]}), 409)
    assert early["errors"] == [{"field": "pageIds.0", "message": "not uploaded yet"}]
    for item, data in zip(issued["items"], files, strict=True):  # the scanning station's plain PUTs
        await ok(await put_bytes(c, item["upload"], data))
    done = await ok(await c.post(f"{url}/pages/complete", headers=auth, json={"pageIds": [p["id"] for p in pages]}))
    assert [(p["status"], p["pageNumber"]) for p in done["items"]] == [("stored", 1), ("stored", 2), ("stored", 3)]
    assert all(p["versionId"] for p in done["items"])
    store = _store(app)
    info = await store.stat(ctx.tenant, f"volumes/{volume['id']}/pages/{pages[1]['id']}")
    assert info.size == len(files[1]) and info.sha256 == hashlib.sha256(files[1]).hexdigest()

    # Re-ordering before assembly: page numbers follow.
    etag = (await c.get(url, headers=auth)).headers["etag"]
    order = [pages[2]["id"], pages[0]["id"], pages[1]["id"]]
    incomplete = await ok(await c.put(f"{url}/pages/order", headers={**auth, "If-Match": etag},
                                      json={"pageIds": order[:2]}), 409)
    assert incomplete["errors"][0]["field"] == "pageIds"
    await ok(await c.put(f"{url}/pages/order", headers={**auth, "If-Match": etag}, json={"pageIds": order}))
    listed = await ok(await c.get(f"{url}/pages", headers=auth))
    assert [p["id"] for p in listed["items"]] == order and [p["pageNumber"] for p in listed["items"]] == [1, 2, 3]

    # Assembly checks the contents list against the pages and the remarks sheet.
    etag = (await c.get(url, headers=auth)).headers["etag"]
    refused = await ok(await c.post(f"{url}/assemble", headers={**auth, "If-Match": etag}), 409)
    assert {e["field"] for e in refused["errors"]} == {"contents", "remarks.compiler", "remarks.compiledOn"}
    etag = (await c.put(f"{url}/contents", headers={**auth, "If-Match": etag}, json={"items": [
        {"responsibleParty": "销售部", "title": "认购书", "documentNumber": "RG-001", "date": "2025-11-02",
         "pageFrom": 1, "pageTo": 1},
        {"responsibleParty": "销售部", "title": "商品房买卖合同", "date": "2026-01-15", "pageFrom": 3, "pageTo": 5},
    ]})).headers["etag"]
    etag = (await c.put(f"{url}/remarks", headers={**auth, "If-Match": etag}, json={
        "notes": "本卷共3页。", "compiler": "王档案", "compiledOn": "2026-04-01"})).headers["etag"]
    refused = await ok(await c.post(f"{url}/assemble", headers={**auth, "If-Match": etag}), 409)
    assert {e["field"] for e in refused["errors"]} == {"contents.1.pageFrom", "contents.1.pageTo"}
    etag = (await c.put(f"{url}/contents", headers={**auth, "If-Match": etag}, json={"items": [
        {"responsibleParty": "销售部", "title": "认购书", "documentNumber": "RG-001", "date": "2025-11-02",
         "pageFrom": 1, "pageTo": 1},
        {"responsibleParty": "销售部", "title": "商品房买卖合同", "date": "2026-01-15", "pageFrom": 2, "pageTo": 3},
    ]})).headers["etag"]
    assembled = await ok(await c.post(f"{url}/assemble", headers={**auth, "If-Match": etag}))
    # DA/T 22: fonds-category·year-retention-organisation-item; the year is the contents' last.
    assert assembled["archiveNumber"] == "Z001-KH·2026-D30-KF-0001"
    assert (assembled["status"], assembled["year"], assembled["dateFrom"], assembled["dateTo"]) == (
        "assembled", 2026, "2025-11-02", "2026-01-15")
    assert (assembled["pageCount"], assembled["itemCount"]) == (3, 2)
    assert [p["contentsItem"] for p in (await ok(await c.get(f"{url}/pages", headers=auth)))["items"]] == [1, 2, 2]
    changed = await ok(await c.patch(url, headers={**auth, "If-Match": etag_of(assembled)}, json={"title": "x"}), 409)
    assert "Reopen it first" in changed["detail"]

    # The next volume of the same year, retention and organisation takes the next number.
    other, _, _ = await volume_in(ctx, "assembled")
    assert other["archiveNumber"] == "Z001-KH·2026-D30-KF-0002"

    # Reviewed by someone else than its assembler, who signs the remarks sheet.
    own = await ok(await c.post(f"{url}/review", headers={**auth, "If-Match": etag_of(assembled)},
                                json={"reviewerName": "王档案"}), 403)
    assert "someone other" in own["detail"]
    reviewer = await client_token(ctx, "records-office")
    reviewed = await ok(await c.post(f"{url}/review", headers={**reviewer, "If-Match": etag_of(assembled)},
                                     json={"reviewerName": "李审核", "comment": "齐全"}))
    assert reviewed["status"] == "reviewed" and reviewed["remarks"]["reviewer"] == "李审核"
    assert reviewed["remarks"]["reviewedOn"] and reviewed["reviewedBy"] == "records-office"

    filed = await ok(await c.post(f"{url}/file", headers={**auth, "If-Match": etag_of(reviewed)}))
    assert filed["status"] == "filed" and filed["retentionMode"] == "GOVERNANCE"
    # 30 years from 1 January after the documents' year (2026) or the filing year if later,
    # at midnight in the group's time zone (Asia/Shanghai), whose year may be UTC's next.
    group_year = clock.utcnow().astimezone(ZoneInfo("Asia/Shanghai")).year
    assert filed["retainUntil"] == f"{max(2026, group_year) + 30}-12-31T16:00:00Z"
    for page in order:
        key = f"volumes/{volume['id']}/pages/{page}"
        locked = await store.stat(ctx.tenant, key)
        assert locked.retention_mode is RetentionMode.GOVERNANCE and locked.retain_until is not None
        # The storage itself refuses: no delete of the locked version, not even asked without bypass.
        with pytest.raises(ObjectLocked):
            await store.delete(ctx.tenant, key, locked.version_id)

    # Filed: immutable through the API too.
    for method, path, body in (("PATCH", url, {"title": "x"}), ("DELETE", url, None),
                               ("PUT", f"{url}/contents", {"items": []}), ("POST", f"{url}/reopen", {"reason": "x"})):
        refused = await c.request(method, path, headers={**auth, "If-Match": etag_of(filed)}, json=body)
        assert refused.status_code == 409, (method, path, refused.text)
    added = await ok(await c.post(f"{url}/pages", headers=auth, json={"pages": [declare(scan())]}), 409)
    assert "correct a page with a new revision" in added["detail"]
    page_etag = (await c.get(f"{PAGES}/{order[0]}", headers=auth)).headers["etag"]
    assert (await c.delete(f"{PAGES}/{order[0]}", headers={**auth, "If-Match": page_etag})).status_code == 409
    # The circulation scope stays the holder's to change.
    await ok(await c.patch(url, headers={**auth, "If-Match": etag_of(filed)},
                           json={"circulation": {"roles": ["group_admin"], "accountIds": []}}))
    assert await _actions(ctx.db, ctx.tenant, volume["id"]) == [
        "archives.volume.create", "archives.volume.reorder", "archives.volume.contents", "archives.volume.remarks",
        "archives.volume.contents", "archives.volume.assemble", "archives.volume.review", "archives.volume.file",
        "archives.volume.update"]


def etag_of(volume: dict[str, Any]) -> str:
    return f'"{volume["version"]}"'


async def test_bad_input_is_refused_precisely(ctx: Ctx) -> None:
    c, auth = ctx.client, ctx.auth
    volume, url = await new_volume(ctx)
    data = scan()
    wrong_type = await ok(await c.post(f"{url}/pages", headers=auth, json={"pages": [
        {**declare(data), "contentType": "text/html"}]}), 422)
    assert wrong_type["errors"][0]["field"] == "pages[0].contentType"
    too_big = await ok(await c.post(f"{url}/pages", headers=auth, json={"pages": [
        declare(data), {**declare(data), "size": 200 * 1024 * 1024}]}), 409)
    assert too_big["errors"] == [{"field": "pages.1.size", "message": "above the group's limit of 104857600 bytes "
                                                                     "per page"}]
    assert (await ok(await c.get(url, headers=auth)))["pendingUploads"] == 0  # nothing issued

    unknown = await ok(await c.post(VOLUMES, headers=auth, json={
        "customerId": str(uuid.uuid4()), "title": "x", "responsibleParty": "x", "retention": "10_years"}), 404)
    assert unknown["errors"][0]["field"] == "customerId"
    level = await ok(await c.post(VOLUMES, headers=auth, json={
        "customerId": volume["customerId"], "title": "x", "responsibleParty": "x", "retention": "10_years",
        "classification": "cosmic"}), 409)
    assert level["errors"][0]["field"] == "classification"
    nobody = await ok(await c.post(VOLUMES, headers=auth, json={
        "customerId": volume["customerId"], "title": "x", "responsibleParty": "x", "retention": "10_years",
        "unitIds": [str(uuid.uuid4())], "circulation": {"roles": ["no_such_role"], "accountIds": [str(uuid.uuid4())]}}),
        404)
    assert [e["field"] for e in nobody["errors"]] == ["unitIds.0"]
    # Documents are archived once formed: a later year would lock the objects too long.
    next_year = clock.utcnow().astimezone(ZoneInfo("Asia/Shanghai")).year + 1
    future = await ok(await c.post(VOLUMES, headers=auth, json={
        "customerId": volume["customerId"], "title": "x", "responsibleParty": "x", "retention": "10_years",
        "year": next_year}), 409)
    assert future["errors"] == [{"field": "year", "message": f"after {next_year - 1}"}]
    got = await c.get(url, headers=auth)
    assert (await ok(await c.patch(url, headers={**auth, "If-Match": got.headers["etag"]},
                                   json={"year": next_year}), 409))["errors"][0]["field"] == "year"
    dated = await ok(await c.put(f"{url}/contents", headers={**auth, "If-Match": got.headers["etag"]}, json={
        "items": [{"responsibleParty": "销售部", "title": "认购书", "pageFrom": 1, "pageTo": 1, "date": "2026-01-05"},
                  {"responsibleParty": "销售部", "title": "合同", "pageFrom": 2, "pageTo": 2,
                   "date": f"{next_year}-01-01"}]}), 409)
    assert [e["field"] for e in dated["errors"]] == ["items.1.date"]

    # A signed upload accepts only the declared bytes; the local store keeps nothing else.
    issued = await ok(await c.post(f"{url}/pages", headers=auth, json={"pages": [declare(data)]}), 201)
    refused = await put_bytes(c, issued["items"][0]["upload"], scan())
    assert refused.status_code == 400 and "Nothing was stored" in refused.json()["detail"]
    page_id = issued["items"][0]["page"]["id"]
    missing = await ok(await c.post(f"{url}/pages/complete", headers=auth,
                                    json={"pageIds": [str(uuid.uuid4()), page_id]}), 404)
    assert missing["errors"] == [{"field": "pageIds.0", "message": "no such page in this volume"}]

    # Declared a PDF, uploaded exactly as declared, but not a PDF: refused at completion.
    html = b"<html><script>alert(1)</script></html>"
    issued = await ok(await c.post(f"{url}/pages", headers=auth, json={"pages": [declare(html)]}), 201)
    await ok(await put_bytes(c, issued["items"][0]["upload"], html))
    page_id = issued["items"][0]["page"]["id"]
    refused = await ok(await c.post(f"{url}/pages/complete", headers=auth, json={"pageIds": [page_id]}), 422)
    assert refused["errors"] == [{"field": "pageIds.0", "message": "the stored object is not the declared file: the "
                                                                   "bytes do not begin as application/pdf does"}]
    assert (await ok(await c.get(f"{PAGES}/{page_id}", headers=auth)))["status"] == "pending"


async def test_pages_are_deleted_and_their_objects_removed(ctx: Ctx, app: Any, worker: Worker) -> None:
    c, auth = ctx.client, ctx.auth
    volume, url = await new_volume(ctx)
    data = [scan(), scan(), scan()]
    issued = await ok(await c.post(f"{url}/pages", headers=auth, json={"pages": [declare(d) for d in data]}), 201)
    for item, body in zip(issued["items"], data, strict=True):
        await ok(await put_bytes(c, item["upload"], body))
    pages = (await ok(await c.post(f"{url}/pages/complete", headers=auth,
                                   json={"pageIds": [i["page"]["id"] for i in issued["items"]]})))["items"]
    key = f"volumes/{volume['id']}/pages/{pages[1]['id']}"
    page_url = f"{PAGES}/{pages[1]['id']}"
    got = await c.get(page_url, headers=auth)
    assert (await ok(got))["pageNumber"] == 2
    volume_etag = (await c.get(url, headers=auth)).headers["etag"]
    await ok(await c.delete(page_url, headers={**auth, "If-Match": got.headers["etag"]}), 204)
    listed = await ok(await c.get(f"{url}/pages", headers=auth))
    assert [p["pageNumber"] for p in listed["items"]] == [1, 2]
    assert await _actions(ctx.db, ctx.tenant, pages[1]["id"]) == [
        "archives.page.upload", "archives.page.complete", "archives.page.delete"]
    # The pages after it moved up: a contents list written against the old numbering is stale.
    stale = await c.put(f"{url}/contents", headers={**auth, "If-Match": volume_etag}, json={"items": [
        {"responsibleParty": "销售部", "title": "认购书", "pageFrom": 1, "pageTo": 3}]})
    assert stale.status_code == 412, stale.text

    async def removed() -> bool:
        try:
            await _store(app).stat(ctx.tenant, key)
        except Exception:  # noqa: BLE001 - ObjectNotFound once the worker deleted it
            return True
        return False

    async def entries() -> list[Any]:
        async with ctx.db.tenant_session(f"t_{ctx.tenant}") as session:
            return list((await session.scalars(select(ArchiveObjectRemoval.not_before).where(
                ArchiveObjectRemoval.object_key == key))).all())

    async def removed_once() -> bool:
        return await removed() and len(await entries()) == 1

    await wait_for(worker, removed_once, "the page's object to be deleted")
    # Its upload URL is still valid, and a replayed PUT puts the bytes back under the key; the
    # removal list holds the key until the URL has expired, and the clean-up clears it then.
    [later] = await entries()
    assert later > clock.utcnow() + timedelta(minutes=30)
    await ok(await put_bytes(c, issued["items"][1]["upload"], data[1]))
    assert not await removed()
    async with ctx.db.tenant_transaction(f"t_{ctx.tenant}") as session:
        await session.execute(update(ArchiveObjectRemoval).where(ArchiveObjectRemoval.object_key == key)
                              .values(not_before=clock.utcnow() - timedelta(seconds=1)))
    tasks.clean_expired_uploads.apply_async()

    async def cleared() -> bool:
        return await removed() and not await entries()

    await wait_for(worker, cleared, "the replayed upload to be removed by the clean-up", timeout=90)
    assert "archives.object.remove" in await _actions(ctx.db, ctx.tenant, key, system=True)


async def test_a_permanent_volume_is_never_disposed_of(ctx: Ctx) -> None:
    volume, url, _ = await volume_in(ctx, "filed", retention="permanent")
    # Permanent volumes are locked for a century, storage's stand-in for "forever": when that
    # date has passed, the volume is still not disposed of.
    async with ctx.db.tenant_transaction(f"t_{ctx.tenant}") as session:
        await session.execute(update(ArchiveVolume).where(ArchiveVolume.id == uuid.UUID(volume["id"]))
                              .values(retain_until=clock.utcnow() - timedelta(days=1)))
    refused = await ok(await ctx.client.delete(url, headers={**ctx.auth, "If-Match": etag_of(volume)}), 409)
    assert "kept permanently" in refused["detail"]
    assert (await ok(await ctx.client.get(url, headers=ctx.auth)))["status"] == "filed"


async def test_a_pending_page_deleted_before_its_upload_arrives_leaves_no_object(ctx: Ctx, app: Any,
                                                                                 worker: Worker) -> None:
    c, auth = ctx.client, ctx.auth
    volume, url = await new_volume(ctx)
    data = scan()
    issued = await ok(await c.post(f"{url}/pages", headers=auth, json={"pages": [declare(data)]}), 201)
    page = issued["items"][0]["page"]
    key = f"volumes/{volume['id']}/pages/{page['id']}"
    await ok(await c.delete(f"{PAGES}/{page['id']}", headers={**auth, "If-Match": f'"{page["version"]}"'}), 204)

    async def removals() -> list[Any]:
        async with ctx.db.tenant_session(f"t_{ctx.tenant}") as session:
            return list((await session.scalars(select(ArchiveObjectRemoval.not_before).where(
                ArchiveObjectRemoval.object_key == key))).all())

    # The immediate removal (nothing stored yet) runs first; the one at the URL's expiry waits.
    async def only_the_late_removal_left() -> bool:
        return len(await removals()) == 1

    await wait_for(worker, only_the_late_removal_left, "the immediate removal of the deleted page's key")
    [late] = await removals()
    assert late > clock.utcnow()
    # The scanning station had the URL: its PUT arrives after the page is gone.
    await ok(await put_bytes(c, issued["items"][0]["upload"], data))
    assert (await _store(app).stat(ctx.tenant, key)).size == len(data)
    async with ctx.db.tenant_transaction(f"t_{ctx.tenant}") as session:  # the URL expired long ago
        await session.execute(update(ArchiveObjectRemoval).where(ArchiveObjectRemoval.object_key == key)
                              .values(not_before=clock.utcnow() - timedelta(seconds=1)))
    tasks.clean_expired_uploads.apply_async()

    async def gone() -> bool:
        try:
            await _store(app).stat(ctx.tenant, key)
            return False
        except Exception:  # noqa: BLE001 - ObjectNotFound
            async with ctx.db.tenant_session(f"t_{ctx.tenant}") as session:
                return not (await session.scalars(select(ArchiveObjectRemoval.id).where(
                    ArchiveObjectRemoval.object_key == key))).all()

    await wait_for(worker, gone, "the late upload of a deleted page to be removed", timeout=90)


# ------------------------------------------------------------------------------- access


async def test_clearance_circulation_and_the_audited_download(ctx: Ctx, app: Any, mint: Any) -> None:
    c, admin = ctx.client, ctx.auth
    project, _ = await _new_project(ctx)
    reader_id, reader = await person(ctx, mint, ["archives.read", "archives.clearance.1"])
    cleared_id, cleared = await person(ctx, mint, ["archives.read", "archives.clearance.2"], role="archive_readers")
    _, elsewhere = await person(ctx, mint, ["archives.read", "archives.clearance.4"], node_id=project["id"])
    secret, url, pages = await volume_in(ctx, "pages", classification="secret")
    etag = etag_of(secret)
    page_url = f"{PAGES}/{pages[0]['id']}"

    # Outside the subtree: the volume does not exist. Without clearance: 403, and unlisted.
    assert (await ok(await c.get(url, headers=elsewhere), 404))["type"] == PROBLEM + "not-found"
    assert (await ok(await c.post(f"{page_url}/download", headers=elsewhere), 404))["type"] == PROBLEM + "not-found"
    denied = await ok(await c.post(f"{page_url}/download", headers=reader), 403)
    assert "clearance" in denied["detail"] and "archives.clearance.2" in denied["detail"]
    assert (await ok(await c.get(url, headers=reader), 403))["type"] == PROBLEM + "forbidden"
    assert (await ok(await c.get(VOLUMES, headers=reader)))["total"] == 0
    assert [v["id"] for v in (await ok(await c.get(VOLUMES, headers=cleared)))["items"]] == [secret["id"]]
    # Clearance N covers the first N levels, also when the group has fewer than N: the list
    # shows what the volume itself answers.
    _, widest = await person(ctx, mint, ["archives.read", "archives.clearance.6"])
    await ok(await c.get(url, headers=widest))
    assert [v["id"] for v in (await ok(await c.get(VOLUMES, headers=widest)))["items"]] == [secret["id"]]

    # Cleared: a short-lived URL, read with a plain HTTP client, and the issuance audited.
    download = await ok(await c.post(f"{page_url}/download", headers={**cleared, "X-Request-Id": "dl-1"}))
    assert download["pageNumber"] == 1 and download["versionId"] == pages[0]["versionId"]
    expires = clock.utcnow() + timedelta(seconds=300)
    assert abs((_parse(download["expiresAt"]) - expires).total_seconds()) < 30
    body = await c.get(download["url"])
    assert body.status_code == 200 and hashlib.sha256(body.content).hexdigest() == pages[0]["sha256"]
    assert body.headers["content-disposition"].startswith("attachment")
    async with ctx.db.tenant_session(f"t_{ctx.tenant}") as session:
        record = (await session.execute(select(tenant_audit).where(
            tenant_audit.c.action == "archives.page.download", tenant_audit.c.request_id == "dl-1"))).one()
    assert (record.actor_id, record.client_id, record.entity_id) == (cleared_id, "test-client", pages[0]["id"])
    assert record.occurred_at and record.after["versionId"] == pages[0]["versionId"]
    assert record.after["volumeId"] == secret["id"] and record.after["classification"] == "secret"

    # A circulation scope narrows further: roles (held above the volume) and named accounts.
    narrowed = await ok(await c.patch(url, headers={**admin, "If-Match": etag}, json={
        "circulation": {"roles": ["group_admin"], "accountIds": [reader_id]}}))
    assert (await ok(await c.post(f"{page_url}/download", headers=cleared), 403))["detail"].startswith(
        "You are outside")
    assert (await ok(await c.get(VOLUMES, headers=cleared)))["total"] == 0
    await ok(await c.patch(url, headers={**admin, "If-Match": etag_of(narrowed)}, json={
        "circulation": {"roles": ["archive_readers", "group_admin"], "accountIds": []}}))
    await ok(await c.post(f"{page_url}/download", headers=cleared))
    assert (await ok(await c.get(VOLUMES, headers=cleared)))["total"] == 1
    current = await c.get(url, headers=admin)
    # A reader does not build volumes; and a scope cannot leave out the one who sets it.
    assert (await c.patch(url, headers={**cleared, "If-Match": current.headers["etag"]},
                          json={"title": "x"})).status_code == 403
    out = await ok(await c.patch(url, headers={**admin, "If-Match": current.headers["etag"]}, json={
        "circulation": {"roles": [], "accountIds": [reader_id]}}), 409)
    assert out["errors"] == [{"field": "circulation", "message": "excludes the caller"}]
    # A partner back end is neither a role holder nor a named person.
    partner = await client_token(ctx, "partner-desk")
    assert (await ok(await c.get(url, headers=partner), 403))["detail"].startswith("You are outside")


def _parse(value: str) -> Any:
    from datetime import datetime

    return datetime.fromisoformat(value.replace("Z", "+00:00"))


async def test_classification_changes_through_approval(ctx: Ctx, mint: Any, db: Any) -> None:
    c, admin = ctx.client, ctx.auth
    volume, url, pages = await volume_in(ctx, "pages")
    officer = await confidentiality_officer(ctx)
    reader_id, reader = await person(ctx, mint, ["archives.read", "archives.clearance.1"])
    await ok(await c.get(url, headers=reader))
    unknown = await ok(await c.post(f"{url}/classification-requests", headers=admin,
                                    json={"classification": "cosmic", "reason": "x"}), 409)
    assert unknown["errors"][0]["field"] == "classification"
    asked = await c.post(f"{url}/classification-requests", headers=admin,
                         json={"classification": "confidential", "reason": "含有客户身份证件复印件"})
    request = await ok(asked, 201)
    assert asked.headers["location"] == f"/api/v1/approvals/requests/{request['id']}"
    assert (request["type"], request["status"], request["subjectId"]) == (
        "archive_classification", "pending", volume["id"])
    again = await ok(await c.post(f"{url}/classification-requests", headers=admin,
                                  json={"classification": "secret", "reason": "again"}), 409)
    assert request["id"] in again["detail"]
    # Nor is the volume deleted under an open request (it would be left about nothing).
    current = await c.get(url, headers=admin)
    stranded = await ok(await c.delete(url, headers={**admin, "If-Match": current.headers["etag"]}), 409)
    assert request["id"] in stranded["detail"]
    assert (await ok(await c.get(url, headers=admin)))["classification"] == "internal"

    approver = bearer(mint(tenant=ctx.tenant, subject=officer, scopes=["approvals:read", "approvals:write"]))
    decided = await ok(await c.post(f"/api/v1/approvals/requests/{request['id']}/approve", headers={
        **approver, "If-Match": f'"{request["version"]}"'}, json={"comment": "同意"}))
    assert decided["status"] == "approved"
    assert (await ok(await c.get(url, headers=admin)))["classification"] == "confidential"
    assert (await ok(await c.get(url, headers=reader), 403))["type"] == PROBLEM + "forbidden"
    async with db.tenant_session(f"t_{ctx.tenant}") as session:
        record = (await session.execute(select(tenant_audit).where(
            tenant_audit.c.action == "archives.volume.classify", tenant_audit.c.entity_id == volume["id"]))).one()
    assert record.actor_id == officer and (record.before["classification"], record.after["classification"]) == (
        "internal", "confidential")
    assert request["id"] in record.reason and "身份证件" in record.reason


async def test_corrections_of_a_filed_volume_are_new_revisions(ctx: Ctx, app: Any) -> None:
    c, auth = ctx.client, ctx.auth
    volume, url, pages = await volume_in(ctx, "filed")
    first = pages[0]
    fixed = scan(1000)
    no_reason = await ok(await c.post(f"{PAGES}/{first['id']}/corrections", headers=auth, json=declare(fixed)), 422)
    assert no_reason["errors"][0]["field"] == "reason"
    issued = await ok(await c.post(f"{PAGES}/{first['id']}/corrections", headers=auth,
                                   json=declare(fixed, reason="扫描件缺角，重新扫描")), 201)
    correction = issued["page"]
    assert (correction["revision"], correction["lineageId"], correction["status"]) == (2, first["id"], "pending")
    await ok(await put_bytes(c, issued["upload"], fixed))
    done = await ok(await c.post(f"{url}/pages/complete", headers=auth, json={"pageIds": [correction["id"]]}))
    assert [(p["revision"], p["status"], p["pageNumber"]) for p in done["items"]] == [(2, "stored", 1)]
    old = await ok(await c.get(f"{PAGES}/{first['id']}", headers=auth))
    assert old["status"] == "superseded" and old["pageNumber"] is None
    manifest = await ok(await c.get(f"{url}/manifest", headers=auth))
    assert [(p["revision"], p["current"]) for p in manifest["pages"] if p["lineageId"] == first["id"]] == [
        (1, False), (2, True)]
    lines = "".join(f"{p['pageId']} {p['revision']} {p['objectKey']} {p['versionId']} {p['size']} {p['sha256']}\n"
                    for p in manifest["pages"])
    assert manifest["digest"] == hashlib.sha256(lines.encode()).hexdigest() and manifest["pageCount"] == 2
    store = _store(app)
    for page in (first, correction):  # both revisions are locked until the volume's date
        info = await store.stat(ctx.tenant, f"volumes/{volume['id']}/pages/{page['id']}")
        assert info.retain_until is not None and info.retention_mode is RetentionMode.GOVERNANCE
    async with ctx.db.tenant_session(f"t_{ctx.tenant}") as session:
        reason = await session.scalar(select(tenant_audit.c.reason).where(
            tenant_audit.c.action == "archives.page.correct", tenant_audit.c.entity_id == correction["id"]))
    assert reason == "扫描件缺角，重新扫描"

    # Once its retention has ended a volume is due for disposal: no correction could be locked.
    async with ctx.db.tenant_transaction(f"t_{ctx.tenant}") as session:
        await session.execute(update(ArchiveVolume).where(ArchiveVolume.id == uuid.UUID(volume["id"]))
                              .values(retain_until=clock.utcnow() - timedelta(days=1)))
    ended = await ok(await c.post(f"{PAGES}/{correction['id']}/corrections", headers=auth,
                                  json=declare(scan(), reason="again")), 409)
    assert "due for disposal" in ended["detail"]


async def test_legal_hold_and_disposal_after_retention(ctx: Ctx, app: Any, worker: Worker) -> None:
    c, auth = ctx.client, ctx.auth
    volume, url, pages = await volume_in(ctx, "filed")
    store = _store(app)
    keys = [f"volumes/{volume['id']}/pages/{p['id']}" for p in pages]
    early = await ok(await c.delete(url, headers={**auth, "If-Match": etag_of(volume)}), 409)
    assert "retained until" in early["detail"]
    held = await ok(await c.post(f"{url}/legal-hold", headers={**auth, "If-Match": etag_of(volume)},
                                 json={"hold": True, "reason": "（2026）粤0305民初123号 诉讼保全"}))
    assert held["legalHold"]["on"] and held["legalHold"]["reason"].endswith("诉讼保全")
    assert [(await store.stat(ctx.tenant, k)).legal_hold for k in keys] == [True, True]
    # A legal hold forbids deletion whatever the retention, even with the governance bypass.
    with pytest.raises(ObjectLocked):
        await store.delete(ctx.tenant, keys[0], (await store.stat(ctx.tenant, keys[0])).version_id,
                           bypass_governance=True)

    # Simulate the end of the retention period: its date moved into the past, in the record
    # and on the objects (the local store keeps it beside each version).
    past = clock.utcnow() - timedelta(days=1)
    async with ctx.db.tenant_transaction(f"t_{ctx.tenant}") as session:
        await session.execute(update(ArchiveVolume).where(ArchiveVolume.id == uuid.UUID(volume["id"]))
                              .values(retain_until=past))
    for key in keys:
        info = await store.stat(ctx.tenant, key)
        meta = store.root / store.bucket_name(ctx.tenant) / key / ".v" / f"{info.version_id}.json"
        meta.write_text(json.dumps({**json.loads(meta.read_text()), "retain_until": past.isoformat()}))
    still_held = await ok(await c.delete(url, headers={**auth, "If-Match": etag_of(held)}), 409)
    assert "legal hold" in still_held["detail"]
    released = await ok(await c.post(f"{url}/legal-hold", headers={**auth, "If-Match": etag_of(held)},
                                     json={"hold": False, "reason": "案件已结"}))
    assert not (await store.stat(ctx.tenant, keys[0])).legal_hold
    await ok(await c.delete(url, headers={**auth, "If-Match": etag_of(released),
                                          "Change-Reason": "retention ended; disposal list 2057-01"}), 204)
    assert (await ok(await c.get(url, headers=auth), 404))["type"] == PROBLEM + "not-found"
    assert (await _actions(ctx.db, ctx.tenant, volume["id"]))[-3:] == [
        "archives.volume.legal_hold", "archives.volume.legal_hold", "archives.volume.dispose"]
    async with ctx.db.tenant_session(f"t_{ctx.tenant}") as session:
        disposal = (await session.execute(select(tenant_audit).where(
            tenant_audit.c.action == "archives.volume.dispose", tenant_audit.c.entity_id == volume["id"]))).one()
    assert disposal.reason == "retention ended; disposal list 2057-01"
    assert (disposal.before["archive_number"], disposal.before["pages"]) == (volume["archiveNumber"], 2)
    # What was destroyed stays on record: the contents list and the manifest of the objects.
    assert [i["title"] for i in disposal.before["contents"]] == [i["title"] for i in volume["contents"]]
    assert disposal.before["manifest"] == [f"{p['id']} 1 {k} {p['versionId']} {p['size']} {p['sha256']}"
                                           for p, k in zip(pages, keys, strict=True)]
    assert disposal.before["manifestDigest"] == hashlib.sha256(
        "".join(line + "\n" for line in disposal.before["manifest"]).encode()).hexdigest()

    async def objects_gone() -> bool:
        for key in keys:
            try:
                await store.stat(ctx.tenant, key)
            except ObjectNotFound:
                continue
            return False
        return True

    await wait_for(worker, objects_gone, "the disposed volume's objects to be deleted")


# ---------------------------------------------------------------------------- integrity


async def test_verification_job_reports_by_the_four_properties(ctx: Ctx, app: Any, db: Any,
                                                                 worker: Worker) -> None:
    c, auth = ctx.client, ctx.auth
    volume, url, pages = await volume_in(ctx, "filed", pages=3)

    # The background re-verification after completion recorded an outcome for each page.
    async def rechecked() -> Any:
        manifest = await ok(await c.get(f"{url}/manifest", headers=auth))
        return manifest if all(p["lastCheck"] for p in manifest["pages"]) else None

    manifest = await wait_for(worker, rechecked, "the pages' background re-verification")
    assert {p["lastCheck"]["outcome"] for p in manifest["pages"]} == {"ok"}

    started = await c.post(f"{url}/verifications", headers=auth)
    job = await ok(started, 202)
    assert started.headers["location"] == f"/api/v1/jobs/{job['id']}"
    done = await finished_job(db, worker, ctx.tenant, uuid.UUID(job["id"]))
    assert done.status.value == "succeeded", done.error
    assert (done.progress, done.done, done.total) == (100, 3, 3)
    report = done.result
    assert report["ok"] and report["checked"] == 3 and report["problems"] == []
    assert report["properties"] == {"authenticity": True, "integrity": True, "usability": True, "security": True}
    assert report["manifestDigest"] == manifest["digest"]

    # Bit rot on the disk under the store: the next verification names the page.
    store = _store(app)
    key = f"volumes/{volume['id']}/pages/{pages[1]['id']}"
    info = await store.stat(ctx.tenant, key)
    data_file = store.root / store.bucket_name(ctx.tenant) / key / ".v" / f"{info.version_id}.data"
    damaged = bytearray(data_file.read_bytes())
    damaged[-1] ^= 0xFF
    data_file.write_bytes(bytes(damaged))
    job = await ok(await c.post(f"{url}/verifications", headers=auth), 202)
    done = await finished_job(db, worker, ctx.tenant, uuid.UUID(job["id"]))
    report = done.result
    assert not report["ok"] and report["properties"]["authenticity"] is False
    assert [(p["pageId"], p["pageNumber"], p["outcome"]) for p in report["problems"]] == [
        (pages[1]["id"], 2, "mismatch")]
    manifest = await ok(await c.get(f"{url}/manifest", headers=auth))
    assert {p["pageId"]: p["lastCheck"]["outcome"] for p in manifest["pages"]}[pages[1]["id"]] == "mismatch"
    async with db.tenant_session(f"t_{ctx.tenant}") as session:
        verified = (await session.scalars(select(tenant_audit.c.after).where(
            tenant_audit.c.action == "archives.volume.verify", tenant_audit.c.entity_id == volume["id"])
            .order_by(tenant_audit.c.occurred_at))).all()
    assert [(v["ok"], v["problems"]) for v in verified] == [(True, 0), (False, 1)]


async def test_expired_uploads_are_cleaned_up_by_the_beat_task(ctx: Ctx, app: Any, worker: Worker) -> None:
    volume, url, _ = await volume_in(ctx, "pages", pages=1)
    data = scan()
    issued = await ok(await ctx.client.post(f"{url}/pages", headers=ctx.auth, json={"pages": [declare(data)]}), 201)
    page = issued["items"][0]["page"]
    await ok(await put_bytes(ctx.client, issued["items"][0]["upload"], data))  # uploaded, never completed
    key = f"volumes/{volume['id']}/pages/{page['id']}"
    assert (await _store(app).stat(ctx.tenant, key)).size == len(data)
    async with ctx.db.tenant_transaction(f"t_{ctx.tenant}") as session:  # its URL expired an hour ago
        await session.execute(update(ArchivePage).where(ArchivePage.id == uuid.UUID(page["id"]))
                              .values(upload_expires_at=clock.utcnow() - timedelta(hours=1)))
    tasks.clean_expired_uploads.apply_async()

    async def cleaned() -> bool:
        async with ctx.db.tenant_session(f"t_{ctx.tenant}") as session:
            if await session.get(ArchivePage, uuid.UUID(page["id"])) is not None:
                return False
        try:
            await _store(app).stat(ctx.tenant, key)
            return False
        except Exception:  # noqa: BLE001 - ObjectNotFound
            return True

    await wait_for(worker, cleaned, "the expired upload to be cleaned up", timeout=90)
    after = await ok(await ctx.client.get(url, headers=ctx.auth))
    assert (after["pageCount"], after["pendingUploads"]) == (1, 0)
    assert await _actions(ctx.db, ctx.tenant, page["id"], system=True) == [
        "archives.page.upload", "archives.page.upload_expired"]


# ----------------------------------------------------------------------------- policy


async def test_the_policy_numbering_levels_and_who_may_change_it(ctx: Ctx, mint: Any) -> None:
    c, admin = ctx.client, ctx.auth
    got = await c.get(SETTINGS, headers=admin)
    settings = await ok(got)
    assert got.headers["etag"] == '"0"' and settings["clearancePermissions"] == {
        "internal": "archives.clearance.1", "secret": "archives.clearance.2", "confidential": "archives.clearance.3",
        "top_secret": "archives.clearance.4"}
    policy = settings["policy"]
    _, reader = await person(ctx, mint, ["archives.read", "archives.clearance.1"],
                             scopes=("archives:read", "archives:admin"))
    assert (await ok(await c.get(SETTINGS, headers=reader)))["policy"] == policy
    assert (await c.put(SETTINGS, headers={**reader, "If-Match": '"0"'}, json=policy)).status_code == 403

    volume, _ = await new_volume(ctx)
    dropped = {**policy, "classificationLevels": policy["classificationLevels"][1:], "defaultClassification": "secret"}
    refused = await ok(await c.put(SETTINGS, headers={**admin, "If-Match": '"0"'}, json=dropped), 409)
    assert refused["errors"] == [{"field": "classificationLevels", "message": "'internal' is the level of existing "
                                                                             "volumes"}]
    assert (await c.put(SETTINGS, headers=admin, json=policy)).status_code == 428
    mine = {**policy, "retentionMode": "COMPLIANCE", "numbering": {
        "fonds": "Q12", "category": "KHDA", "defaultOrganisation": "SZKF", "pattern": "{fonds}/{year}/{item}",
        "itemDigits": 5}}
    saved = await c.put(SETTINGS, headers={**admin, "If-Match": '"0"'}, json=mine)
    assert (await ok(saved))["policy"] == mine and saved.headers["etag"] == '"1"'
    stale = await c.put(SETTINGS, headers={**admin, "If-Match": '"0"'}, json=mine)
    assert stale.status_code == 412
    bad = await c.put(SETTINGS, headers={**admin, "If-Match": '"1"'}, json={
        **mine, "numbering": {**mine["numbering"], "pattern": "{fonds}-{volume}"}})
    assert bad.status_code == 422 and "pattern" in bad.text
    # A pattern whose numbers would not fit the register is refused, not failed on at assembly.
    long = await ok(await c.put(SETTINGS, headers={**admin, "If-Match": '"1"'}, json={
        **mine, "numbering": {**mine["numbering"], "fonds": "Z" * 10, "pattern": "{fonds}" * 10 + "{item}"}}), 409)
    assert long["errors"] == [{"field": "numbering.pattern", "message": "numbers of up to 110 characters, above 100"}]

    ready, url, _ = await volume_in(ctx, "filed")
    assert re.fullmatch(r"Q12/\d{4}/00001", ready["archiveNumber"]) and ready["retentionMode"] == "COMPLIANCE"
    assert volume["organisationCode"] == "KF" and ready["organisationCode"] == "SZKF"


async def test_volumes_are_found_and_reopened_before_filing(ctx: Ctx) -> None:
    c, auth = ctx.client, ctx.auth
    volume, url, _ = await volume_in(ctx, "reviewed")
    other, _, _ = await volume_in(ctx, "draft", retention="permanent")
    customer = await ok(await c.get(f"/api/v1/customers/{volume['customerId']}", headers=auth))
    unit = customer["units"][0]["unitId"]

    def ids(page: dict[str, Any]) -> list[str]:
        return [v["id"] for v in page["items"]]

    assert ids(await ok(await c.get(VOLUMES, headers=auth, params={"q": "ht-1"}))) == [volume["id"]]
    assert ids(await ok(await c.get(VOLUMES, headers=auth, params={"q": volume["archiveNumber"]}))) == [volume["id"]]
    assert ids(await ok(await c.get(VOLUMES, headers=auth, params={"retention": "permanent"}))) == [other["id"]]
    assert ids(await ok(await c.get(VOLUMES, headers=auth, params={"status": "reviewed"}))) == [volume["id"]]
    assert ids(await ok(await c.get(VOLUMES, headers=auth, params={"customerId": other["customerId"]}))) == [
        other["id"]]
    assert (await ok(await c.get(VOLUMES, headers=auth, params={"unitId": unit})))["total"] == 0

    # The units are the customer's own; the unit of another customer is not found.
    other_customer = await ok(await c.get(f"/api/v1/customers/{other['customerId']}", headers=auth))
    refused = await ok(await c.patch(f"{VOLUMES}/{other['id']}", headers={**auth, "If-Match": etag_of(other)},
                                     json={"unitIds": [unit]}), 404)
    assert refused["errors"] == [{"field": "unitIds.0", "message": "no such unit of the customer"}]
    mine = other_customer["units"][0]["unitId"]
    await ok(await c.patch(f"{VOLUMES}/{other['id']}", headers={**auth, "If-Match": etag_of(other)},
                           json={"unitIds": [mine]}))
    assert ids(await ok(await c.get(VOLUMES, headers=auth, params={"unitId": mine}))) == [other["id"]]

    # Reopened before filing: back to draft, the review void, the number kept.
    reopened = await advance(ctx, url, "reopen", auth, {"reason": "补扫一页"})
    assert (reopened["status"], reopened["reviewedBy"], reopened["remarks"]["reviewer"]) == ("draft", None, None)
    assert reopened["archiveNumber"] == volume["archiveNumber"]
    fixed = await ok(await c.patch(url, headers={**auth, "If-Match": etag_of(reopened)},
                                   json={"retention": "permanent"}), 409)
    assert fixed["errors"] == [{"field": "retention", "message": "fixed by the archive number"}]
    async with ctx.db.tenant_session(f"t_{ctx.tenant}") as session:
        reason = await session.scalar(select(tenant_audit.c.reason).where(
            tenant_audit.c.action == "archives.volume.reopen", tenant_audit.c.entity_id == volume["id"]))
    assert reason == "补扫一页"

