"""Route-catalogue entries of the club (see tests/catalogue/__init__.py): clubs, members and
their points, activities and registrations, the owner's app; and the subtree matrix's part."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

from sqlalchemy import Select, select

from tests.catalogue import Kind, SubtreeSpec, WorldSeed
from tests.catalogue.complaints import owner
from tests.catalogue.relations import deciders
from tests.routes import Ctx, Factory, Made, _create, _new_customer, _unique

BASE = "/api/v1/club"
MINE = f"{BASE}/mine"
STARTS, ENDS = "2030-05-01T14:00:00+08:00", "2030-05-01T17:00:00+08:00"
TIERS = [{"code": "member", "name": "会员", "minPoints": 0}, {"code": "gold", "name": "金卡", "minPoints": 1000}]


async def ok(response: Any, status: int = 200) -> Any:
    assert response.status_code == status, f"{response.request.method} {response.request.url}: " \
                                           f"{response.status_code} {response.text}"
    return response.json()


async def _root(ctx: Ctx) -> str:
    return str((await ok(await ctx.client.get("/api/v1/org/group", headers=ctx.auth)))["id"])


async def _branch_of(ctx: Ctx, project_id: str) -> str:
    return str((await ok(await ctx.client.get(f"/api/v1/org/projects/{project_id}", headers=ctx.auth)))["parentId"])


def club_body(node_id: str, **extra: Any) -> dict[str, Any]:
    return {"nodeId": node_id, "name": f"阳光·{_unique()}会", "purpose": "维系业主关系，提升满意度",
            "charter": "业主自愿入会；积分兑换礼品；会员专属活动", "budget": "200000.00", "referralPoints": 200,
            "tiers": TIERS, **extra}


async def approve(ctx: Ctx, request_id: str, who: dict[str, str]) -> None:
    await ok(await ctx.client.post(f"/api/v1/approvals/requests/{request_id}/approve", headers=who, json={}))


async def manager(ctx: Ctx, node_id: str) -> dict[str, str]:
    """A supervising manager at ``node_id`` (before a request is submitted: its approvers are
    found then)."""
    [who] = await deciders(ctx, [("supervising_manager", node_id)])
    return who


async def new_club(ctx: Ctx, *, established: bool = True) -> tuple[dict[str, Any], str]:
    root = await _root(ctx)
    who = await manager(ctx, root)  # before any submission: its approvers are found then
    c, location = await _create(ctx, f"{BASE}/clubs", club_body(root, submit=established))
    if established:
        await approve(ctx, c["approvalRequestId"], who)
        c = await ok(await ctx.client.get(location, headers=ctx.auth))
        assert c["status"] == "established", c
    return c, location


async def new_member(ctx: Ctx, club_id: str | None = None) -> tuple[dict[str, Any], str, dict[str, Any]]:
    """A member (of a new club unless named), their URL and customer."""
    if club_id is None:
        club_id = (await new_club(ctx))[0]["id"]
    customer, _, _ = await _new_customer(ctx)
    m, location = await _create(ctx, f"{BASE}/members", {"clubId": club_id, "customerId": customer["id"],
                                                         "birthDate": "1980-03-15"})
    return m, location, customer


def activity_body(club_id: str, node_id: str, **extra: Any) -> dict[str, Any]:
    return {"clubId": club_id, "nodeId": node_id, "kind": "event", "title": f"亲子烘焙 {_unique()}",
            "purpose": "增进业主互动", "content": "烘焙课程与亲子游戏", "form": "沙龙", "venue": "会所",
            "startsAt": STARTS, "endsAt": ENDS, "capacity": 2,
            "budget": [{"item": "场地", "amount": "2000.00"}, {"item": "物料", "amount": "1000.00"}], **extra}


async def new_activity(ctx: Ctx, club_id: str, project_id: str, state: str = "draft") -> tuple[dict[str, Any], str]:
    """An activity at ``project_id``: a ``draft``, ``approved``, ``published`` or ``held``."""
    who = await manager(ctx, await _branch_of(ctx, project_id))
    a, location = await _create(ctx, f"{BASE}/activities", activity_body(club_id, project_id,
                                                                         submit=state != "draft"))
    if state == "draft":
        return a, location
    await approve(ctx, a["approvalRequestId"], who)
    for move, body, reached in (("publish", None, "approved"), ("record", {"summary": "顺利举行", "actual": [
            {"item": "场地", "amount": "1800.00"}]}, "published")):
        if state == reached:
            break
        etag = (await ctx.client.get(location, headers=ctx.auth)).headers["etag"]
        await ok(await ctx.client.post(f"{location}/{move}", headers={**ctx.auth, "If-Match": etag}, json=body))
    return await ok(await ctx.client.get(location, headers=ctx.auth)), location


async def check_in_token(ctx: Ctx, registration_id: str) -> str:
    from app.domains.club.activities import _token

    async with ctx.db.tenant_session(f"t_{ctx.tenant}") as session:
        return await _token(session, uuid.UUID(registration_id))


# ---------------------------------------------------------------------------- factories


async def _clubs(ctx: Ctx) -> Made:
    return Made(params={}, values=[], url=None, bodies={"POST": club_body(await _root(ctx))})


def _club(post: dict[str, Any]) -> Factory:
    async def make(ctx: Ctx) -> Made:
        c, location = await new_club(ctx, established=False)
        return Made(params={"club_id": c["id"]}, values=[c["id"], c["name"]], url=location,
                    bodies={"PATCH": {"budget": "150000.00"}, "POST": post})

    return make


async def _members(ctx: Ctx) -> Made:
    club, _ = await new_club(ctx)
    customer, _, _ = await _new_customer(ctx)
    return Made(params={}, values=[], url=None, bodies={"POST": {"clubId": club["id"], "customerId": customer["id"]}})


def _member(post: dict[str, Any]) -> Factory:
    async def make(ctx: Ctx) -> Made:
        m, location, _ = await new_member(ctx)
        return Made(params={"member_id": m["id"]}, values=[m["id"], m["number"]], url=location,
                    bodies={"PATCH": {"birthDate": "1981-04-16"}, "POST": post})

    return make


async def _entry(ctx: Ctx) -> Made:
    m, location, _ = await new_member(ctx)
    e, entry_url = await _create(ctx, f"{location}/points", {"kind": "earn", "points": 300,
                                                             "reason": f"业主推荐 {ctx.mark}"})
    return Made(params={"entry_id": e["id"]}, values=[e["id"], e["reason"]], url=entry_url,
                bodies={"POST": {"reason": "录入错误"}})


async def _activities(ctx: Ctx) -> Made:
    club, _ = await new_club(ctx)
    _, _, customer = await new_member(ctx, club["id"])
    return Made(params={}, values=[], url=None,
                bodies={"POST": activity_body(club["id"], customer["units"][0]["projectId"])})


async def _published(ctx: Ctx, state: str = "published") -> tuple[dict[str, Any], str, dict[str, Any]]:
    """A published activity at the project of a new member (returned too)."""
    club, _ = await new_club(ctx)
    m, _, customer = await new_member(ctx, club["id"])
    a, location = await new_activity(ctx, club["id"], customer["units"][0]["projectId"], state)
    return a, location, m


def _activity(state: str, post: dict[str, Any] | None) -> Factory:
    async def make(ctx: Ctx) -> Made:
        if state == "draft":
            club, _ = await new_club(ctx)
            _, _, customer = await new_member(ctx, club["id"])
            a, location = await new_activity(ctx, club["id"], customer["units"][0]["projectId"])
        else:
            a, location, _ = await _published(ctx, state)
        return Made(params={"activity_id": a["id"]}, values=[a["id"], a["number"], a["title"]], url=location,
                    bodies={"PATCH": {"venue": f"另一会所 {ctx.mark}"}, **({"POST": post} if post is not None else {})})

    return make


async def _registrations(ctx: Ctx) -> Made:
    a, location, m = await _published(ctx)
    return Made(params={"activity_id": a["id"]}, values=[a["id"], a["number"]], url=location,
                bodies={"POST": {"memberId": m["id"]}})


async def _registered(ctx: Ctx) -> tuple[dict[str, Any], dict[str, Any], str]:
    a, location, m = await _published(ctx)
    r, r_url = await _create(ctx, f"{location}/registrations", {"memberId": m["id"]})
    return a, r, r_url


async def _check_ins(ctx: Ctx) -> Made:
    a, r, r_url = await _registered(ctx)
    return Made(params={"activity_id": a["id"]}, values=[a["id"], r["id"]], url=r_url,
                bodies={"POST": {"token": await check_in_token(ctx, r["id"])}})


async def _registration(ctx: Ctx) -> Made:
    a, r, r_url = await _registered(ctx)
    return Made(params={"registration_id": r["id"]}, values=[r["id"]], url=r_url, bodies={"POST": {}})


# ------------------------------------------------------------------------------ the owner


async def _own_world(ctx: Ctx, *, member: bool = True,
                     state: str | None = None) -> tuple[dict[str, str], dict[str, Any], dict[str, Any] | None]:
    """An owner (headers, customer), with a membership of a new club and, when ``state``, a
    published activity at their project; the club, membership and activity by name."""
    auth, customer, _ = await owner(ctx)
    club, _ = await new_club(ctx)
    made: dict[str, Any] = {"club": club}
    if member:
        made["member"], _ = await _create(ctx, f"{BASE}/members", {"clubId": club["id"], "customerId": customer["id"]})
    if state is not None:
        made["activity"], _ = await new_activity(ctx, club["id"], customer["units"][0]["projectId"], state)
    return auth, customer, made


def _auth(ctx: Ctx, auth: dict[str, str]) -> dict[str, str] | None:
    return None if auth is ctx.auth else auth


async def _own_clubs(ctx: Ctx) -> Made:
    auth, _, made = await _own_world(ctx, member=False)
    return Made(params={}, values=[], url=None, auth=_auth(ctx, auth), bodies={"POST": {"clubId": made["club"]["id"]}})


async def _own_membership(ctx: Ctx) -> Made:
    auth, _, made = await _own_world(ctx)
    m = made["member"]
    return Made(params={"member_id": m["id"]}, values=[m["id"], m["number"]],
                url=f"{MINE}/memberships/{m['id']}", auth=_auth(ctx, auth))


async def _own_activities(ctx: Ctx) -> Made:
    auth, _, made = await _own_world(ctx, state="published")
    return Made(params={}, values=[], url=None, auth=_auth(ctx, auth))


async def _own_activity(ctx: Ctx) -> Made:
    auth, _, made = await _own_world(ctx, state="published")
    a = made["activity"]
    return Made(params={"activity_id": a["id"]}, values=[a["id"], a["number"]],
                url=f"{MINE}/memberships/{made['member']['id']}", auth=_auth(ctx, auth), bodies={"POST": {}})


async def _own_registration(ctx: Ctx) -> Made:
    auth, _, made = await _own_world(ctx, state="published")
    created = await ctx.client.post(f"{MINE}/activities/{made['activity']['id']}/registrations", headers=auth)
    r = await ok(created, 201)
    return Made(params={"registration_id": r["id"]}, values=[r["id"], str(r["checkInToken"])],
                url=f"{MINE}/registrations/{r['id']}", auth=_auth(ctx, auth), bodies={"POST": {}})


async def activity_photo(ctx: Ctx, activity_url: str, stage: str = "stored", auth: dict[str, str] | None = None,
                         caption: str | None = None) -> dict[str, Any]:
    """A photo of an activity: started (``pending``), its bytes PUT (``uploaded``), or ``stored``."""
    from tests.catalogue.complaints import put_bytes
    from tests.catalogue.property import jpeg

    data, body = jpeg()
    client, headers = ctx.client, auth or ctx.auth
    started = await ok(await client.post(f"{activity_url}/photos", headers=headers,
                                         json={"caption": caption or f"A-only photo {ctx.mark}", **body}), 201)
    if stage != "pending":
        assert (await put_bytes(client, started["upload"], data)).status_code == 200
    if stage in ("pending", "uploaded"):
        return dict(started["photo"])
    return dict(await ok(await client.post(f"{BASE}/photos/{started['photo']['id']}/complete", headers=headers)))


def _photo_at(stage: str) -> Factory:
    async def factory(ctx: Ctx) -> Made:
        _, location, _ = await _published(ctx)
        p = await activity_photo(ctx, location, stage)
        return Made(params={"photo_id": p["id"]}, values=[p["id"], p["caption"]], url=f"{BASE}/photos/{p['id']}",
                    bodies={"POST": {}})
    return factory


async def _activity_photos(ctx: Ctx) -> Made:
    from tests.catalogue.property import jpeg

    a, location, _ = await _published(ctx)
    return Made(params={"activity_id": a["id"]}, values=[a["id"]], url=location,
                bodies={"POST": {"caption": "catalogue", **jpeg()[1]}})


async def _settings(ctx: Ctx) -> Made:
    return Made(params={}, values=[], url=f"{BASE}/settings", bodies={"PUT": {"pointsValidMonths": 24}})


ACTIVITY = f"{BASE}/activities/{{activity_id:uuid}}"
FACTORIES: dict[str, Factory] = {
    f"{BASE}/clubs": _clubs,
    f"{BASE}/clubs/{{club_id:uuid}}": _club({}),
    f"{BASE}/clubs/{{club_id:uuid}}/submit": _club({"note": "catalogue"}),
    f"{BASE}/members": _members,
    f"{BASE}/members/{{member_id:uuid}}": _member({}),
    f"{BASE}/members/{{member_id:uuid}}/leave": _member({"reason": "catalogue"}),
    f"{BASE}/members/{{member_id:uuid}}/points": _member({"kind": "earn", "points": 50, "reason": "catalogue"}),
    f"{BASE}/points/{{entry_id:uuid}}": _entry,
    f"{BASE}/points/{{entry_id:uuid}}/reverse": _entry,
    f"{BASE}/activities": _activities,
    ACTIVITY: _activity("draft", None),
    f"{ACTIVITY}/submit": _activity("draft", {"note": "catalogue"}),
    f"{ACTIVITY}/publish": _activity("approved", {}),
    f"{ACTIVITY}/record": _activity("published", {"summary": "catalogue", "actual": []}),
    f"{ACTIVITY}/cancel": _activity("draft", {"reason": "catalogue"}),
    f"{ACTIVITY}/evaluation": _activity("held", {"referrals": 1, "purchases": 1, "salesValue": "1000000.00"}),
    f"{ACTIVITY}/registrations": _registrations,
    f"{ACTIVITY}/check-ins": _check_ins,
    f"{BASE}/registrations/{{registration_id:uuid}}": _registration,
    f"{BASE}/registrations/{{registration_id:uuid}}/cancel": _registration,
    f"{MINE}/clubs": _own_clubs,
    f"{MINE}/memberships": _own_clubs,
    f"{MINE}/memberships/{{member_id:uuid}}": _own_membership,
    f"{MINE}/memberships/{{member_id:uuid}}/points": _own_membership,
    f"{MINE}/activities": _own_activities,
    f"{MINE}/activities/{{activity_id:uuid}}/registrations": _own_activity,
    f"{MINE}/registrations": _own_activities,
    f"{MINE}/registrations/{{registration_id:uuid}}": _own_registration,
    f"{MINE}/registrations/{{registration_id:uuid}}/cancel": _own_registration,
    f"{BASE}/settings": _settings,
    f"{ACTIVITY}/photos": _activity_photos,
    f"{BASE}/photos/{{photo_id:uuid}}": _photo_at("pending"),
    f"{BASE}/photos/{{photo_id:uuid}}/complete": _photo_at("uploaded"),
    f"{BASE}/photos/{{photo_id:uuid}}/download": _photo_at("stored"),
}


# --------------------------------------------------------------------------- the subtree


def _at_node(model: Any, value: Any) -> Callable[[], Select[Any]]:
    from app.domains.org.models import OrgNode

    return lambda: select(model.id, OrgNode.path, value, model.version).join(OrgNode, OrgNode.id == model.node_id)


def _kinds() -> dict[str, Kind]:
    from app.domains.club.models import Activity, ActivityPhoto, Club, Member, PointsEntry, Registration
    from app.domains.org.models import OrgNode

    def entries() -> Select[Any]:
        # An entry never changes and has no version column: its balance stands in (an int).
        return (select(PointsEntry.id, OrgNode.path, PointsEntry.reason, PointsEntry.balance_after)
                .join(OrgNode, OrgNode.id == PointsEntry.node_id))

    def registrations() -> Select[Any]:
        # A registration shows no text of its own: its member's number stands for it.
        return (select(Registration.id, OrgNode.path, Member.number, Registration.version)
                .join(OrgNode, OrgNode.id == Registration.node_id).join(Member, Member.id == Registration.member_id))

    return {
        "club": Kind("club.read", _at_node(Club, Club.name)),
        "club_member": Kind("club.read", _at_node(Member, Member.number)),
        "club_points_entry": Kind("club.read", entries),
        "club_activity": Kind("club.read", _at_node(Activity, Activity.title)),
        "club_registration": Kind("club.read", registrations),
        "club_activity_photo": Kind("club.read", _at_node(ActivityPhoto, ActivityPhoto.caption)),
    }


_OWNERS = "an owner's own memberships and registrations (owner:self), found from their account, not a node"
CLUB, MEMBER = f"{BASE}/clubs/{{club_id:uuid}}", f"{BASE}/members/{{member_id:uuid}}"
REGISTRATION = f"{BASE}/registrations/{{registration_id:uuid}}"


def _write_bodies() -> dict[tuple[str, str], Callable[[Any, Any], Any]]:
    return {
        (CLUB, "PATCH"): lambda w, u: {"budget": "1.00"},
        (f"{CLUB}/submit", "POST"): lambda w, u: {},
        (MEMBER, "PATCH"): lambda w, u: {"birthDate": "1970-01-01"},
        (f"{MEMBER}/leave", "POST"): lambda w, u: {"reason": "changed"},
        (f"{MEMBER}/points", "POST"): lambda w, u: {"kind": "earn", "points": 1, "reason": "changed"},
        (f"{BASE}/points/{{entry_id:uuid}}/reverse", "POST"): lambda w, u: {"reason": "changed"},
        (ACTIVITY, "PATCH"): lambda w, u: {"venue": "changed"},
        (f"{ACTIVITY}/submit", "POST"): lambda w, u: {},
        (f"{ACTIVITY}/record", "POST"): lambda w, u: {"summary": "x", "actual": []},
        (f"{ACTIVITY}/cancel", "POST"): lambda w, u: {"reason": "changed"},
        (f"{ACTIVITY}/evaluation", "POST"): lambda w, u: {"referrals": 0, "purchases": 0},
        (f"{ACTIVITY}/registrations", "POST"): lambda w, u: {"memberId": str(uuid.uuid4())},
        (f"{ACTIVITY}/check-ins", "POST"): lambda w, u: {"token": "x"},
        (f"{ACTIVITY}/photos", "POST"): lambda w, u: {"filename": "x.jpg", "contentType": "image/jpeg", "size": 5,
                                                      "sha256": "0" * 64},
        (f"{BASE}/photos/{{photo_id:uuid}}/complete", "POST"): lambda w, u: {},
    }


def _creates() -> dict[str, tuple[str, Callable[[uuid.UUID], dict[str, Any]], str]]:
    return {
        f"{BASE}/clubs": ("branch", lambda n: club_body(str(n)), "club.write"),
    }


async def _populate(seed: WorldSeed) -> None:
    """A club at the group; per project its owner as a member with a points entry, and a
    published activity there with the owner registered."""
    ctx = Ctx(client=seed.client, db=seed.db, tenant=seed.slug, subject="subtree-admin", auth=seed.admin,
              mark="subtree")
    customers = (await ok(await ctx.client.get("/api/v1/customers", params={"limit": 200},
                                               headers=ctx.auth)))["items"]
    club, _ = await new_club(ctx)
    for project in seed.projects:
        owner_ = next(c for c in customers if c["nodeId"] == project["id"])
        m, m_url = await _create(ctx, f"{BASE}/members", {"clubId": club["id"], "customerId": owner_["id"]})
        await _create(ctx, f"{m_url}/points", {"kind": "earn", "points": 100, "reason": f"{project['name']}积分"})
        a, a_url = await new_activity(ctx, club["id"], project["id"], "published")
        await _create(ctx, f"{a_url}/registrations", {"memberId": m["id"]})
        await activity_photo(ctx, a_url, caption=f"{project['name']}活动照片")


SUBTREE = SubtreeSpec(
    kinds=_kinds(),
    lists={f"{BASE}/clubs": "club", f"{BASE}/members": "club_member", f"{BASE}/activities": "club_activity"},
    # A ledger or a registration list is one member's or one activity's: its parent decides.
    subset_lists={},
    details={
        CLUB: "club", f"{CLUB}/submit": "club",
        **{f"{MEMBER}{tail}": "club_member" for tail in ("", "/leave", "/points")},
        **{f"{BASE}/points/{{entry_id:uuid}}{tail}": "club_points_entry" for tail in ("", "/reverse")},
        **{f"{ACTIVITY}{tail}": "club_activity" for tail in ("", "/submit", "/publish", "/record", "/cancel",
                                                             "/evaluation", "/registrations", "/check-ins",
                                                             "/photos")},
        **{f"{BASE}/photos/{{photo_id:uuid}}{tail}": "club_activity_photo" for tail in ("", "/complete", "/download")},
        **{f"{REGISTRATION}{tail}": "club_registration" for tail in ("", "/cancel")},
    },
    read_urls={"club": f"{CLUB.replace('{club_id:uuid}', '{}')}", "club_member": f"{BASE}/members/{{}}",
               "club_points_entry": f"{BASE}/points/{{}}", "club_activity": f"{BASE}/activities/{{}}",
               "club_registration": f"{BASE}/registrations/{{}}", "club_activity_photo": f"{BASE}/photos/{{}}"},
    no_node={**{path: _OWNERS for path in FACTORIES if path.startswith(MINE)},
             f"{BASE}/settings": "the group's points validity: club.read anywhere reads it, club.points at the group "
                                 "node changes it (tests/domains/test_club_expiry.py)"},
    write_bodies=_write_bodies(),
    creates=_creates(),
    populate=_populate,
)
