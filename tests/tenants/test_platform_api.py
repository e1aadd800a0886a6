"""The platform tenants API over HTTP: provisioning, lifecycle, guards on input, audit."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from sqlalchemy import select, text

from app.core.audit import platform_audit
from app.domains.org.models import NodeKind, OrgNode
from app.tenants.migrations import tenant_head
from tests.conftest import OPERATOR, bearer

TENANTS = "/platform/v1/tenants"
PROBLEM = "urn:cornerstone:problem:"


def _slug(prefix: str = "pl") -> str:
    return f"{prefix}_{uuid.uuid4().hex[:10]}"


async def _schema_exists(db: Any, schema: str) -> bool:
    async with db.platform_session() as session:
        found = await session.scalar(
            text("SELECT count(*) FROM information_schema.schemata WHERE schema_name = :s"), {"s": schema}
        )
    return bool(found)


async def _audit_actions(db: Any, slug: str) -> list[tuple[str, str, str]]:
    async with db.platform_session() as session:
        rows = (await session.execute(
            select(platform_audit.c.action, platform_audit.c.actor_kind, platform_audit.c.actor_id)
            .where(platform_audit.c.entity_type == "tenant", platform_audit.c.entity_id == slug)
            .order_by(platform_audit.c.occurred_at, platform_audit.c.id)
        )).all()
    return [tuple(r) for r in rows]


async def _create(client: Any, auth: dict[str, str], slug: str, **fields: Any) -> Any:
    response = await client.post(TENANTS, json={"slug": slug, "displayName": fields.pop("name", slug), **fields},
                                 headers=auth)
    assert response.status_code == 201, response.text
    return response


async def test_create_provisions_schema_with_defaults(client: Any, mint: Any, db: Any) -> None:
    auth = bearer(mint())
    slug = _slug()
    created = await _create(client, auth, slug, name="万科南方")
    body = created.json()
    assert created.headers["location"] == f"{TENANTS}/{slug}"
    assert created.headers["etag"] == f'"{body["version"]}"'
    assert body["slug"] == slug and body["displayName"] == "万科南方"
    assert body["timeZone"] == "Asia/Shanghai" and body["locale"] == "zh-CN"
    assert body["status"] == "active" and body["schemaRevision"] == tenant_head()

    assert await _schema_exists(db, f"t_{slug}")
    async with db.tenant_session(f"t_{slug}") as session:
        nodes = (await session.scalars(select(OrgNode))).all()
    assert [(n.kind, n.name, n.depth) for n in nodes] == [(NodeKind.group, "万科南方", 0)]

    got = await client.get(f"{TENANTS}/{slug}", headers=auth)
    assert got.status_code == 200 and got.json() == body and got.headers["etag"] == created.headers["etag"]
    missing = await client.get(f"{TENANTS}/{_slug('none')}", headers=auth)
    assert missing.status_code == 404 and missing.json()["type"] == PROBLEM + "not-found"

    assert await _audit_actions(db, slug) == [("tenant.create", "operator", OPERATOR)]


async def test_idempotent_create(client: Any, mint: Any, db: Any) -> None:
    slug = _slug("idem")
    auth = bearer(mint(), **{"Idempotency-Key": f"create-{slug}"})
    payload = {"slug": slug, "displayName": "Retry Group"}
    first = await client.post(TENANTS, json=payload, headers=auth)
    again = await client.post(TENANTS, json=payload, headers=auth)
    assert first.status_code == again.status_code == 201, again.text
    assert again.json() == first.json()
    assert again.headers["idempotent-replayed"] == "true"
    assert again.headers["location"] == first.headers["location"]
    # The same key for a different body is refused rather than replayed or run.
    other = await client.post(TENANTS, json={**payload, "slug": _slug("idem")}, headers=auth)
    assert other.status_code == 422 and other.json()["type"] == PROBLEM + "idempotency-key-reused"
    # One tenant, one audit record: the retry did no work.
    assert await _audit_actions(db, slug) == [("tenant.create", "operator", OPERATOR)]
    # Without the key, the same body is a plain duplicate.
    dup = await client.post(TENANTS, json=payload, headers=bearer(mint()))
    assert dup.status_code == 409 and dup.json()["type"] == PROBLEM + "duplicate"
    assert dup.json()["errors"][0]["field"] == "slug"


async def test_list_filters_sort_and_pagination(client: Any, mint: Any) -> None:
    auth = bearer(mint())
    mark = uuid.uuid4().hex[:8]  # other tests share the registry: filter on this run's marker
    slugs = [f"ls_{mark}_{n}" for n in ("c", "a", "b")]
    etags = [(await _create(client, auth, s, name=f"{name} {mark}")).headers["etag"]
             for s, name in zip(slugs, ["Gamma", "Alpha", "Beta"], strict=True)]
    suspended = await client.post(f"{TENANTS}/{slugs[0]}/suspend", json={"reason": "unpaid"},
                                  headers={**auth, "If-Match": etags[0]})
    assert suspended.status_code == 200, suspended.text

    page1 = (await client.get(TENANTS, params={"q": mark, "limit": 2, "sort": "slug"}, headers=auth)).json()
    assert page1["total"] == 3 and page1["limit"] == 2 and page1["offset"] == 0
    assert [t["slug"] for t in page1["items"]] == sorted(slugs)[:2]
    page2 = (await client.get(TENANTS, params={"q": mark, "limit": 2, "offset": 2, "sort": "slug"},
                              headers=auth)).json()
    assert page2["total"] == 3 and [t["slug"] for t in page2["items"]] == sorted(slugs)[2:]

    by_name = (await client.get(TENANTS, params={"q": mark, "sort": "-displayName"}, headers=auth)).json()
    assert [t["displayName"].split()[0] for t in by_name["items"]] == ["Gamma", "Beta", "Alpha"]

    only_suspended = (await client.get(TENANTS, params={"q": mark, "status": "suspended"}, headers=auth)).json()
    assert [t["slug"] for t in only_suspended["items"]] == [slugs[0]] and only_suspended["total"] == 1
    active = (await client.get(TENANTS, params={"q": mark, "status": "active"}, headers=auth)).json()
    assert active["total"] == 2

    # q matches the display name too, case-insensitively; '_' in q is literal, not a wildcard.
    by_display = (await client.get(TENANTS, params={"q": f"alpha {mark}"}, headers=auth)).json()
    assert [t["slug"] for t in by_display["items"]] == [slugs[1]]
    literal = (await client.get(TENANTS, params={"q": f"ls{mark}"}, headers=auth)).json()
    assert literal["total"] == 0
    wildcard = (await client.get(TENANTS, params={"q": f"ls_{mark}_%"}, headers=auth)).json()
    assert wildcard["total"] == 0

    bad_status = await client.get(TENANTS, params={"status": "sleeping"}, headers=auth)
    assert bad_status.status_code == 422 and bad_status.json()["type"] == PROBLEM + "validation"
    bad_sort = await client.get(TENANTS, params={"sort": "schemaRevision"}, headers=auth)
    assert bad_sort.status_code == 422 and bad_sort.json()["errors"][0]["field"] == "sort"


async def test_patch_requires_current_etag(client: Any, mint: Any, db: Any) -> None:
    auth = bearer(mint())
    slug = _slug()
    etag = (await _create(client, auth, slug)).headers["etag"]

    missing = await client.patch(f"{TENANTS}/{slug}", json={"displayName": "New"}, headers=auth)
    assert missing.status_code == 428 and missing.json()["type"] == PROBLEM + "precondition-required"
    stale = await client.patch(f"{TENANTS}/{slug}", json={"displayName": "New"}, headers={**auth, "If-Match": '"99"'})
    assert stale.status_code == 412 and stale.json()["type"] == PROBLEM + "precondition-failed"
    assert stale.headers["etag"] == etag

    bad_zone = await client.patch(f"{TENANTS}/{slug}", json={"timeZone": "Mars/Olympus"},
                                  headers={**auth, "If-Match": etag})
    assert bad_zone.status_code == 422 and bad_zone.json()["type"] == PROBLEM + "validation"
    assert [e["field"] for e in bad_zone.json()["errors"]] == ["timeZone"]

    updated = await client.patch(f"{TENANTS}/{slug}", json={"displayName": "Renamed", "timeZone": "Asia/Hong_Kong"},
                                 headers={**auth, "If-Match": etag})
    assert updated.status_code == 200, updated.text
    body = updated.json()
    assert body["displayName"] == "Renamed" and body["timeZone"] == "Asia/Hong_Kong" and body["locale"] == "zh-CN"
    assert updated.headers["etag"] != etag and updated.headers["etag"] == f'"{body["version"]}"'
    # The old ETag is now stale.
    again = await client.patch(f"{TENANTS}/{slug}", json={"displayName": "X"}, headers={**auth, "If-Match": etag})
    assert again.status_code == 412

    assert [a for a, _, _ in await _audit_actions(db, slug)] == ["tenant.create", "tenant.update"]


async def test_lifecycle_gates_tenant_tokens(client: Any, mint: Any, db: Any) -> None:
    op = bearer(mint())
    slug, bystander = _slug("life"), _slug("life")
    await _create(client, op, slug)
    await _create(client, op, bystander)
    token = bearer(mint(tenant=slug))
    other = bearer(mint(tenant=bystander))
    branches = "/api/v1/org/branches"

    async def step(action: str, etag: str, expect: int = 200, **body: Any) -> Any:
        response = await client.post(f"{TENANTS}/{slug}/{action}", json={"reason": f"{action} test", **body},
                                     headers={**op, "If-Match": etag})
        assert response.status_code == expect, response.text
        return response

    assert (await client.get(branches, headers=token)).status_code == 200
    etag = (await client.get(f"{TENANTS}/{slug}", headers=op)).headers["etag"]

    suspended = await step("suspend", etag)
    assert suspended.json()["status"] == "suspended" and suspended.json()["statusReason"] == "suspend test"
    refused = await client.get(branches, headers=token)
    assert refused.status_code == 403 and refused.json()["type"] == PROBLEM + "tenant-unavailable"
    assert (await client.get(branches, headers=other)).status_code == 200

    # A suspended tenant cannot be suspended again, nor purged.
    conflict = await step("suspend", suspended.headers["etag"], 409)
    assert conflict.json()["type"] == PROBLEM + "conflict"
    resumed = await step("resume", suspended.headers["etag"])
    assert resumed.json()["status"] == "active"
    assert (await client.get(branches, headers=token)).status_code == 200

    # Purging needs the deletion mark first.
    early = await step("purge", resumed.headers["etag"], 409, confirm=slug)
    assert early.json()["type"] == PROBLEM + "conflict"
    assert await _schema_exists(db, f"t_{slug}")

    marked = await step("delete", resumed.headers["etag"])
    assert marked.json()["status"] == "pending_deletion" and marked.json()["deletionRequestedAt"]
    refused = await client.get(branches, headers=token)
    assert refused.status_code == 403 and refused.json()["type"] == PROBLEM + "tenant-unavailable"
    assert (await client.get(branches, headers=other)).status_code == 200

    wrong = await step("purge", marked.headers["etag"], 422, confirm=bystander)
    assert wrong.json()["type"] == PROBLEM + "validation"
    assert [e["field"] for e in wrong.json()["errors"]] == ["confirm"]
    assert await _schema_exists(db, f"t_{slug}")
    no_etag = await client.post(f"{TENANTS}/{slug}/purge", json={"confirm": slug, "reason": "x"}, headers=op)
    assert no_etag.status_code == 428

    purged = await step("purge", marked.headers["etag"], confirm=slug)
    assert purged.json()["status"] == "purged"
    assert not await _schema_exists(db, f"t_{slug}")
    assert await _schema_exists(db, f"t_{bystander}")
    # The tombstone keeps the slug: a token for it is now a token for no tenant.
    gone = await client.get(branches, headers=token)
    assert gone.status_code == 401 and gone.json()["type"] == PROBLEM + "invalid-token"
    listed = (await client.get(TENANTS, params={"q": slug}, headers=op)).json()
    assert listed["total"] == 0  # purged tenants are hidden unless asked for by status
    tomb = (await client.get(TENANTS, params={"q": slug, "status": "purged"}, headers=op)).json()
    assert [t["slug"] for t in tomb["items"]] == [slug]

    reuse = await client.post(TENANTS, json={"slug": slug, "displayName": "again"}, headers=op)
    assert reuse.status_code == 409 and reuse.json()["type"] == PROBLEM + "duplicate"
    assert reuse.json()["errors"][0]["field"] == "slug"

    # Every successful write is in the platform audit log, by the operator; refusals are not.
    assert await _audit_actions(db, slug) == [
        (action, "operator", OPERATOR)
        for action in ["tenant.create", "tenant.suspend", "tenant.resume", "tenant.delete", "tenant.purge"]
    ]


@pytest.mark.parametrize("slug", [
    "ab",  # too short
    "x" * 41,  # too long
    "Acme",  # uppercase
    "acme-south",  # hyphen
    "acme__south",  # double underscore
    "acme_",  # trailing underscore
    "_acme",  # leading underscore
    "1acme",  # starts with a digit
    "platform",  # reserved
    "public",  # reserved
    "pg_acme",  # PostgreSQL's own prefix
    "pgacme",
])
async def test_bad_slugs_are_refused_on_the_slug_field(client: Any, mint: Any, db: Any, slug: str) -> None:
    response = await client.post(TENANTS, json={"slug": slug, "displayName": "Bad"}, headers=bearer(mint()))
    assert response.status_code == 422, response.text
    problem = response.json()
    assert problem["type"] == PROBLEM + "validation"
    assert [e["field"] for e in problem["errors"]] == ["slug"]
    assert not await _schema_exists(db, f"t_{slug}")
    assert await _audit_actions(db, slug) == []


async def test_unknown_time_zone_is_refused(client: Any, mint: Any, db: Any) -> None:
    slug = _slug("tz")
    # Host files under the zoneinfo directory load as zones but are not IANA names: "localtime"
    # would make the tenant's deadlines depend on the host's configuration.
    for zone in ["Mars/Olympus", "../../etc/passwd", "", "Asia", "localtime", "posixrules", "right/UTC",
                 "zone.tab"]:
        response = await client.post(TENANTS, json={"slug": slug, "displayName": "TZ", "timeZone": zone},
                                     headers=bearer(mint()))
        assert response.status_code == 422, response.text
        assert response.json()["type"] == PROBLEM + "validation"
        assert [e["field"] for e in response.json()["errors"]] == ["timeZone"]
    assert not await _schema_exists(db, f"t_{slug}")
    got = await client.get(f"{TENANTS}/{slug}", headers=bearer(mint()))
    assert got.status_code == 404


async def test_nul_characters_are_bad_input_not_a_crash(client: Any, mint: Any, db: Any) -> None:
    # PostgreSQL cannot store NUL in text: that must be the caller's 422, never our 500.
    auth = bearer(mint())
    slug = _slug("nul")
    etag = (await _create(client, auth, slug)).headers["etag"]
    answers = [
        await client.post(TENANTS, json={"slug": _slug("nul"), "displayName": "a\x00b"}, headers=auth),
        await client.get(TENANTS, params={"q": "\x00"}, headers=auth),
        await client.get(f"{TENANTS}/%00{slug}", headers=auth),
        await client.patch(f"{TENANTS}/{slug}", json={"displayName": "\x00"}, headers={**auth, "If-Match": etag}),
        await client.post(f"{TENANTS}/{slug}/suspend", json={"reason": "x\x00"}, headers={**auth, "If-Match": etag}),
    ]
    for response in answers:
        assert response.status_code == 422, (response.request.url, response.text)
        assert response.json()["type"] == PROBLEM + "validation"
    # Nothing was applied: the tenant is as created, and only its creation is audited.
    got = await client.get(f"{TENANTS}/{slug}", headers=auth)
    assert got.headers["etag"] == etag and got.json()["status"] == "active"
    assert [a for a, _, _ in await _audit_actions(db, slug)] == ["tenant.create"]


async def test_provisioning_report(client: Any, mint: Any) -> None:
    auth = bearer(mint())
    slug = _slug()
    await _create(client, auth, slug)
    report = await client.get(f"{TENANTS}/{slug}/provisioning", headers=auth)
    assert report.status_code == 200, report.text
    body = report.json()
    assert body["slug"] == slug and body["schema"] == f"t_{slug}" and body["status"] == "active"
    assert body["headRevision"] == tenant_head() and body["schemaRevision"] == tenant_head()
    assert body["upToDate"] is True
    assert body["provisionedAt"] and isinstance(body["provisioningMs"], int)
    assert body["migrationError"] is None
    missing = await client.get(f"{TENANTS}/{_slug('none')}/provisioning", headers=auth)
    assert missing.status_code == 404 and missing.json()["type"] == PROBLEM + "not-found"
