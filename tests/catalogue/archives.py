"""Route-catalogue entries of the archives routes (see tests/catalogue/__init__.py), and the
helpers that build volumes through the API (the archives tests use them too).

Pages are uploaded as a client would: a presigned PUT of the bytes, sent with a plain HTTP
client (here the app's own endpoints of the local store, in process), then completed."""

from __future__ import annotations

import hashlib
import os
import uuid
from typing import Any

import httpx
from sqlalchemy import select

from app.auth.scopes import TENANT_SCOPES
from tests.catalogue import Kind, SubtreeSpec, WorldSeed
from tests.routes import Ctx, Factory, Made, _new_customer, _staff_account

BASE = "/api/v1/archives"
VOLUMES = f"{BASE}/volumes"
PAGES = f"{BASE}/pages"
SETTINGS = f"{BASE}/settings"
# Acts as another person than the caller: a volume is reviewed by someone other than its assembler.
ASSEMBLER = "catalogue-assembler"

MAGIC = {"application/pdf": b"%PDF-1.7\n", "image/tiff": b"II*\x00", "image/jpeg": b"\xff\xd8\xff\xe0",
         "image/png": b"\x89PNG\r\n\x1a\n"}


def scan(size: int = 700, content_type: str = "application/pdf") -> bytes:
    """A file of the type (its first bytes are the format's own), random after them."""
    head = MAGIC[content_type]
    return head + os.urandom(size - len(head))


def declare(data: bytes, content_type: str = "application/pdf", **extra: Any) -> dict[str, Any]:
    return {"size": len(data), "contentType": content_type, "sha256": hashlib.sha256(data).hexdigest(), **extra}


async def ok(response: httpx.Response, status: int = 200) -> Any:
    assert response.status_code == status, f"{response.request.method} {response.request.url}: " \
                                           f"{response.status_code} {response.text}"
    return response.json() if response.content else None


async def client_token(ctx: Ctx, name: str) -> dict[str, str]:
    """A partner back end's token in ctx.tenant (the whole group, every tenant scope)."""
    from app.auth.tokens import KeyRing
    from app.config import get_settings

    settings = get_settings()
    ring = KeyRing(issuer=settings.issuer, audience=settings.audience, token_ttl=settings.access_token_ttl)
    async with ctx.db.platform_session() as session:
        await ring.refresh(session, force=True)
    token = ring.mint(subject=name, client_id=name, scopes=sorted(TENANT_SCOPES), tenant=ctx.tenant)
    return {"Authorization": f"Bearer {token}"}


async def put_bytes(client: Any, upload: dict[str, Any], data: bytes) -> httpx.Response:
    """The scanning station's PUT: the URL and headers the API signed, the file as the body."""
    return await client.request(upload["method"], upload["url"], content=data, headers=upload["headers"])


async def add_pages(client: Any, auth: dict[str, str], volume_id: str, files: list[bytes], *,
                    content_type: str = "application/pdf", complete: bool = True,
                    uploader: Any = None) -> list[dict[str, Any]]:
    """Issue, upload (with ``uploader``, a plain HTTP client; ``client`` itself when None, which
    reaches the local store's URLs) and complete pages."""
    issued = await ok(await client.post(f"{VOLUMES}/{volume_id}/pages", headers=auth, json={
        "pages": [declare(f, content_type, fileName=f"scan-{n:04d}.pdf") for n, f in enumerate(files, 1)]}), 201)
    for item, data in zip(issued["items"], files, strict=True):
        await ok(await put_bytes(uploader or client, item["upload"], data))
    if not complete:
        return [item["page"] for item in issued["items"]]
    done = await ok(await client.post(f"{VOLUMES}/{volume_id}/pages/complete", headers=auth,
                                      json={"pageIds": [i["page"]["id"] for i in issued["items"]]}))
    return list(done["items"])


async def new_volume(ctx: Ctx, *, auth: dict[str, str] | None = None, **fields: Any) -> tuple[dict[str, Any], str]:
    customer, _, _ = await _new_customer(ctx)
    body = {"customerId": customer["id"], "title": f"A-only volume {ctx.mark} {uuid.uuid4().hex[:6]}",
            "responsibleParty": "客户事务部", "retention": "30_years", **fields}
    created = await ctx.client.post(VOLUMES, headers=auth or ctx.auth, json=body)
    volume = await ok(created, 201)
    return volume, created.headers["location"]


async def fill(ctx: Ctx, volume_id: str, pages: int, auth: dict[str, str] | None = None) -> None:
    """The contents list (one item per two pages) and the remarks sheet of a draft."""
    auth = auth or ctx.auth
    items = [{"responsibleParty": "销售部", "title": f"购房合同 第{n}部分", "documentNumber": f"HT-{n}",
              "date": "2026-03-0" + str(n % 9 + 1), "pageFrom": n, "pageTo": min(n + 1, pages)}
             for n in range(1, pages + 1, 2)]
    url = f"{VOLUMES}/{volume_id}"
    etag = (await ctx.client.get(url, headers=auth)).headers["etag"]
    etag = (await ctx.client.put(f"{url}/contents", headers={**auth, "If-Match": etag},
                                 json={"items": items})).headers["etag"]
    await ok(await ctx.client.put(f"{url}/remarks", headers={**auth, "If-Match": etag}, json={
        "notes": "本卷共计页数如目录所列，无缺页。", "compiler": "王档案", "compiledOn": "2026-04-01"}))


async def advance(ctx: Ctx, url: str, action: str, auth: dict[str, str], body: Any = None) -> dict[str, Any]:
    etag = (await ctx.client.get(url, headers=auth)).headers["etag"]
    return await ok(await ctx.client.post(f"{url}/{action}", headers={**auth, "If-Match": etag}, json=body))


STATES = ["draft", "pages", "ready", "assembled", "reviewed", "filed"]


async def volume_in(ctx: Ctx, state: str, *, pages: int = 2, uploader: Any = None, **fields: Any
                    ) -> tuple[dict[str, Any], str, list[dict[str, Any]]]:
    """A volume in ``state`` (one of STATES: ``pages`` is a draft with stored pages, ``ready``
    one that can be assembled; it is assembled by another than ctx's caller, who may then
    review it), with its URL and its stored pages."""
    at = STATES.index(state)
    volume, url = await new_volume(ctx, **fields)
    stored = (await add_pages(ctx.client, ctx.auth, volume["id"], [scan() for _ in range(pages)], uploader=uploader)
              if at >= 1 else [])
    if at >= 2:
        await fill(ctx, volume["id"], pages)
    if at >= 3:
        await advance(ctx, url, "assemble", await client_token(ctx, ASSEMBLER))
    if at >= 4:
        await advance(ctx, url, "review", ctx.auth, {"reviewerName": "李审核"})
    if at >= 5:
        await advance(ctx, url, "file", ctx.auth)
    return await ok(await ctx.client.get(url, headers=ctx.auth)), url, stored


async def two_levels(ctx: Ctx) -> list[str]:
    """The group's level codes, with a second one added if the policy has only one."""
    got = await ctx.client.get(SETTINGS, headers=ctx.auth)
    policy = (await ok(got))["policy"]
    if len(policy["classificationLevels"]) == 1:
        policy["classificationLevels"].append({"code": f"l{uuid.uuid4().hex[:8]}", "name": "秘密"})
        put = await ctx.client.put(SETTINGS, headers={**ctx.auth, "If-Match": got.headers["etag"]}, json=policy)
        policy = (await ok(put))["policy"]
    return [level["code"] for level in policy["classificationLevels"]]


async def confidentiality_officer(ctx: Ctx) -> str:
    """A staff account holding the role that decides classification changes, at the group."""
    from app.core.audit import Actor
    from app.domains.access.services import grant_by_code
    from app.domains.org.models import NodeKind, OrgNode

    account = await _staff_account(ctx)
    async with ctx.db.tenant_transaction(f"t_{ctx.tenant}") as session:
        session.info["actor"] = Actor(kind="operator", id="operator@test")
        root = await session.scalar(select(OrgNode).where(OrgNode.kind == NodeKind.group))
        await grant_by_code(session, account_id=uuid.UUID(account), role_code="confidentiality_officer", node=root)
    return account


async def person(ctx: Ctx, mint: Any, permissions: list[str], *, node_id: str | None = None,
                 scopes: tuple[str, ...] = ("archives:read",), role: str | None = None) -> tuple[str, dict[str, str]]:
    """A staff account of ctx.tenant holding a role of ``permissions`` (named ``role``, made if
    new) at a node (the group when None): its id and a token of its own."""
    from app.core.audit import Actor
    from app.domains.access.models import Role
    from app.domains.access.services import grant_by_code
    from app.domains.org.models import NodeKind, OrgNode
    from tests.conftest import bearer

    account = await _staff_account(ctx)
    code = role or f"r{uuid.uuid4().hex[:10]}"
    async with ctx.db.tenant_transaction(f"t_{ctx.tenant}") as session:
        session.info["actor"] = Actor(kind="operator", id="operator@test")
        if await session.scalar(select(Role.id).where(Role.code == code)) is None:
            session.add(Role(code=code, name=code, permissions=sorted(permissions)))
            await session.flush()
        at = OrgNode.id == uuid.UUID(node_id) if node_id else OrgNode.kind == NodeKind.group
        node = await session.scalar(select(OrgNode).where(at))
        await grant_by_code(session, account_id=uuid.UUID(account), role_code=code, node=node)
    return account, bearer(mint(tenant=ctx.tenant, subject=account, scopes=list(scopes)))


# ------------------------------------------------------------------------------ factories


def _volume(state: str, bodies: dict[str, Any] | None = None, *, pages: int = 2) -> Factory:
    async def make(ctx: Ctx) -> Made:
        volume, url, _ = await volume_in(ctx, state, pages=pages)
        return Made(params={"volume_id": volume["id"]}, values=[volume["id"], volume["title"]], url=url,
                    bodies=dict(bodies or {}))

    return make


async def _settings(ctx: Ctx) -> Made:
    policy = (await ok(await ctx.client.get(SETTINGS, headers=ctx.auth)))["policy"]
    return Made(params={}, values=[], url=SETTINGS, bodies={"PUT": {**policy, "downloadUrlSeconds": 240}})


async def _volumes(ctx: Ctx) -> Made:
    customer, _, _ = await _new_customer(ctx)
    return Made(params={}, values=[], url=None, bodies={"POST": {
        "customerId": customer["id"], "title": f"New volume {ctx.mark}", "responsibleParty": "客户事务部",
        "retention": "10_years", "unitIds": [], "circulation": {"roles": [], "accountIds": []}}})


async def _classification(ctx: Ctx) -> Made:
    made = await _volume("draft")(ctx)
    await confidentiality_officer(ctx)
    current = (await ok(await ctx.client.get(made.url or "", headers=ctx.auth)))["classification"]
    other = next(code for code in await two_levels(ctx) if code != current)
    made.bodies = {"POST": {"classification": other, "reason": "含有客户身份证件"}}
    return made


async def _uploads(ctx: Ctx) -> Made:
    data = scan()
    return await _volume("draft", {"POST": {"pages": [declare(data, fileName="scan-0001.pdf")]}})(ctx)


async def _completion(ctx: Ctx) -> Made:
    volume, url, _ = await volume_in(ctx, "draft")
    [page] = await add_pages(ctx.client, ctx.auth, volume["id"], [scan()], complete=False)
    return Made(params={"volume_id": volume["id"]}, values=[volume["id"], volume["title"]], url=url,
                bodies={"POST": {"pageIds": [page["id"]]}})


async def _order(ctx: Ctx) -> Made:
    volume, url, pages = await volume_in(ctx, "pages", pages=3)
    return Made(params={"volume_id": volume["id"]}, values=[volume["id"], volume["title"]], url=url,
                bodies={"PUT": {"pageIds": [p["id"] for p in reversed(pages)]}})


def _page(state: str, bodies: dict[str, Any] | None = None) -> Factory:
    async def make(ctx: Ctx) -> Made:
        volume, _, pages = await volume_in(ctx, state)
        page = pages[0]
        return Made(params={"page_id": page["id"]}, values=[page["id"], volume["id"], volume["title"]],
                    url=f"{PAGES}/{page['id']}", bodies=dict(bodies or {}))

    return make


async def _correction(ctx: Ctx) -> Made:
    data = scan(800)
    return await _page("filed", {"POST": declare(data, reason="扫描件缺角，重新扫描")})(ctx)


# POST routes that take no body (the isolation matrix sends one all the same).
NO_BODY: dict[str, Any] = {"POST": {}}
V = VOLUMES + "/{volume_id:uuid}"
P = PAGES + "/{page_id:uuid}"

FACTORIES: dict[str, Factory] = {
    SETTINGS: _settings,
    VOLUMES: _volumes,
    V: _volume("draft", {"PATCH": {"title": "Renamed volume", "year": 2026}}),
    V + "/contents": _volume("pages", {"PUT": {"items": [
        {"responsibleParty": "销售部", "title": "认购书", "pageFrom": 1, "pageTo": 2, "date": "2026-01-05"}]}}),
    V + "/remarks": _volume("draft", {"PUT": {"notes": "无缺页", "compiler": "王档案", "compiledOn": "2026-04-01"}}),
    V + "/assemble": _volume("ready", NO_BODY),
    V + "/reopen": _volume("assembled", {"POST": {"reason": "补充一页"}}),
    V + "/review": _volume("assembled", {"POST": {"reviewerName": "李审核", "comment": "齐全"}}),
    V + "/file": _volume("reviewed", NO_BODY),
    V + "/legal-hold": _volume("filed", {"POST": {"hold": True, "reason": "诉讼保全"}}),
    V + "/classification-requests": _classification,
    V + "/manifest": _volume("pages"),
    V + "/verifications": _volume("pages", NO_BODY),
    V + "/pages": _uploads,
    V + "/pages/complete": _completion,
    V + "/pages/order": _order,
    P: _page("pages"),
    P + "/download": _page("pages", NO_BODY),
    P + "/corrections": _correction,
}


# ------------------------------------------------------------------------- the subtree matrix


def _volumes_truth() -> Any:
    from app.domains.archives.models import ArchiveVolume
    from app.domains.org.models import OrgNode

    return (select(ArchiveVolume.id, OrgNode.path, ArchiveVolume.title, ArchiveVolume.version)
            .join(OrgNode, OrgNode.id == ArchiveVolume.node_id))


def _pages_truth() -> Any:
    from app.domains.archives.models import ArchivePage, ArchiveVolume
    from app.domains.org.models import OrgNode

    return (select(ArchivePage.id, OrgNode.path, ArchivePage.file_name, ArchivePage.version)
            .join(ArchiveVolume, ArchiveVolume.id == ArchivePage.volume_id)
            .join(OrgNode, OrgNode.id == ArchiveVolume.node_id))


async def _populate(seed: WorldSeed) -> None:
    """A draft volume with two stored pages for the owner of each project's first unit."""
    c, admin = seed.client, seed.admin
    for project in seed.projects:
        owners = await ok(await c.get("/api/v1/customers", headers=admin, params={"nodeId": project["id"]}))
        customer = owners["items"][0]
        volume = await ok(await c.post(VOLUMES, headers=admin, json={
            "customerId": customer["id"], "title": f"{project['name']}业主档案", "responsibleParty": "客户事务部",
            "retention": "permanent"}), 201)
        await add_pages(c, admin, volume["id"], [scan(), scan()])


SUBTREE = SubtreeSpec(
    kinds={"archive_volume": Kind("archives.read", _volumes_truth),
           "archive_page": Kind("archives.read", _pages_truth)},
    lists={VOLUMES: "archive_volume"},
    details={
        **{V + tail: "archive_volume" for tail in (
            "", "/contents", "/remarks", "/assemble", "/reopen", "/review", "/file", "/legal-hold",
            "/classification-requests", "/manifest", "/verifications", "/pages", "/pages/complete", "/pages/order")},
        **{P + tail: "archive_page" for tail in ("", "/download", "/corrections")},
    },
    read_urls={"archive_volume": VOLUMES + "/{}", "archive_page": PAGES + "/{}"},
    no_node={SETTINGS: "the group's archive policy: tenant-wide; reading needs archives.read somewhere, changing "
                       "it archives.configure at the group node (tests/domains/test_archives.py)"},
    write_bodies={
        (V, "PATCH"): lambda w, u: {"title": "changed"},
        (V + "/contents", "PUT"): lambda w, u: {"items": []},
        (V + "/remarks", "PUT"): lambda w, u: {"compiler": "王档案"},
        (V + "/reopen", "POST"): lambda w, u: {"reason": "again"},
        (V + "/review", "POST"): lambda w, u: {"reviewerName": "李审核"},
        (V + "/legal-hold", "POST"): lambda w, u: {"hold": True, "reason": "诉讼"},
        (V + "/classification-requests", "POST"): lambda w, u: {"classification": "secret", "reason": "x"},
        (V + "/pages", "POST"): lambda w, u: {"pages": [declare(scan())]},
        (V + "/pages/complete", "POST"): lambda w, u: {"pageIds": [str(w.records["archive_page"][0].id)]},
        (V + "/pages/order", "PUT"): lambda w, u: {"pageIds": [str(w.records["archive_page"][0].id)]},
        (P + "/corrections", "POST"): lambda w, u: declare(scan(), reason="重新扫描"),
    },
    creates={VOLUMES: ("customer", lambda parent: {"customerId": str(parent), "title": "x",
                                                   "responsibleParty": "x", "retention": "10_years"},
                       "archives.write")},
    populate=_populate,
)
