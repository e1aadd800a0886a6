"""Route-catalogue entries of the certificates routes (see tests/catalogue/__init__.py), and the
helpers that build agencies, agreements and certificate cases through the API (the domain's
tests use them too)."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import select

from tests.catalogue import Kind, SubtreeSpec, WorldSeed
from tests.routes import Ctx, Factory, Made, _new_customer, _staff_account, _token_of, _unique

BASE = "/api/v1/certificates"
AGENCIES, AGREEMENTS, CASES, MINE = f"{BASE}/agencies", f"{BASE}/agreements", f"{BASE}/cases", f"{BASE}/mine"
A, C = AGENCIES + "/{agency_id:uuid}", CASES + "/{case_id:uuid}"

# The stages a catalogue case goes through, with the date of each (fixed: in the past, in order).
STEPS: list[tuple[str, str, dict[str, Any]]] = [
    ("documents/id_card", "collecting", {"collectedOn": "2026-01-06"}),
    ("submit", "submitted", {"submittedOn": "2026-01-10"}),
    ("accept", "accepted", {"acceptedOn": "2026-01-12"}),
    ("issue", "issued", {"issuedOn": "2026-02-01", "certificateNumber": "粤(2026)深圳市不动产权第0012345号"}),
    ("deliver", "delivered", {"deliveredOn": "2026-02-05"}),
]
CHECKLIST = [{"code": "id_card", "name": "身份证复印件"}]
_DECIDERS: dict[str, dict[str, str]] = {}  # tenant -> a general manager at the group


async def ok(response: Any, status: int = 200) -> Any:
    assert response.status_code == status, f"{response.request.method} {response.request.url}: " \
                                           f"{response.status_code} {response.text}"
    return response.json() if response.content else None


async def general_manager(ctx: Ctx) -> dict[str, str]:
    """A general manager at the group (the agency_selection chain's decider)."""
    if ctx.tenant not in _DECIDERS:
        from app.core.audit import Actor
        from app.domains.access.services import grant_by_code
        from app.domains.org.models import NodeKind, OrgNode

        account = await _staff_account(ctx)
        async with ctx.db.tenant_transaction(f"t_{ctx.tenant}") as session:
            session.info["actor"] = Actor(kind="operator", id="operator@test")
            root = await session.scalar(select(OrgNode).where(OrgNode.kind == NodeKind.group))
            await grant_by_code(session, account_id=uuid.UUID(account), role_code="general_manager", node=root)
        _DECIDERS[ctx.tenant] = await _token_of(ctx, account, ["approvals:read", "approvals:write"])
    return _DECIDERS[ctx.tenant]


async def agency_body(ctx: Ctx, **extra: Any) -> dict[str, Any]:
    await general_manager(ctx)  # the selection chain's decider must exist when it is proposed
    group = await ok(await ctx.client.get("/api/v1/org/group", headers=ctx.auth))
    return {"nodeId": group["id"], "name": f"A-only agency {ctx.mark} {_unique()}", "contactName": "陈经理",
            "contactPhone": "0755-8888 1234", "licenceNumber": f"L{_unique()}", "reputation": "十年办证经验", **extra}


async def new_agency(ctx: Ctx, *, selected: bool = True) -> tuple[dict[str, Any], str]:
    created = await ctx.client.post(AGENCIES, headers=ctx.auth, json=await agency_body(ctx, submit=selected))
    agency = await ok(created, 201)
    if selected:
        await ok(await ctx.client.post(f"/api/v1/approvals/requests/{agency['approvalRequestId']}/approve",
                                       headers=await general_manager(ctx), json={}))
        agency = await ok(await ctx.client.get(created.headers["location"], headers=ctx.auth))
        assert agency["status"] == "approved", agency
    return agency, created.headers["location"]


def agreement_body(**extra: Any) -> dict[str, Any]:
    return {"number": f"DL-{_unique()}", "scope": "小产权证代办：资料收集、递件、领证、送达", "feePerCase": "800.00",
            "daysToIssue": 30, "daysToDeliver": 7, "signedOn": "2025-12-20", "validFrom": "2026-01-01",
            "validUntil": "2030-12-31", **extra}


async def new_agreement(ctx: Ctx) -> dict[str, Any]:
    agency, _ = await new_agency(ctx)
    return await ok(await ctx.client.post(f"{AGENCIES}/{agency['id']}/agreements", headers=ctx.auth,
                                          json=agreement_body()), 201)  # type: ignore[no-any-return]


async def case_in(ctx: Ctx, stage: str = "collecting", *, customer: dict[str, Any] | None = None,
                  agreement: dict[str, Any] | None = None) -> tuple[dict[str, Any], str]:
    """A case of a fresh owner (or ``customer``) for their unit, taken to ``stage``."""
    customer = customer or (await _new_customer(ctx))[0]
    agreement = agreement or await new_agreement(ctx)
    created = await ctx.client.post(CASES, headers=ctx.auth, json={
        "unitId": customer["units"][0]["unitId"], "customerId": customer["id"], "agreementId": agreement["id"],
        "openedOn": "2026-01-05", "checklist": CHECKLIST})
    case, url = await ok(created, 201), created.headers["location"]
    etag = created.headers["etag"]
    order = [reached for _, reached, _ in STEPS]
    for tail, _, body in STEPS[:order.index(stage) + 1] if stage != "collecting" else []:
        moved = await ctx.client.post(f"{url}/{tail}", headers={**ctx.auth, "If-Match": etag}, json=body)
        case, etag = await ok(moved), moved.headers["etag"]
    assert case["status"] == stage, case
    return case, url


# ------------------------------------------------------------------------------ factories

NOTE = {"note": "catalogue"}


async def _agencies(ctx: Ctx) -> Made:
    return Made(params={}, values=[], url=None, bodies={"POST": await agency_body(ctx)})


def _agency(selected: bool, bodies: dict[str, Any]) -> Factory:
    async def make(ctx: Ctx) -> Made:
        agency, url = await new_agency(ctx, selected=selected)
        return Made(params={"agency_id": agency["id"]}, values=[agency["id"], agency["name"]], url=url,
                    bodies=dict(bodies))

    return make


async def _agreement(ctx: Ctx) -> Made:
    g = await new_agreement(ctx)
    return Made(params={"agreement_id": g["id"]}, values=[g["id"], g["number"]], url=f"{AGREEMENTS}/{g['id']}")


async def _cases(ctx: Ctx) -> Made:
    customer, _, _ = await _new_customer(ctx)
    g = await new_agreement(ctx)
    return Made(params={}, values=[], url=None, bodies={"POST": {
        "unitId": customer["units"][0]["unitId"], "customerId": customer["id"], "agreementId": g["id"],
        "openedOn": "2026-01-05"}})


def _case(stage: str, bodies: dict[str, Any] | None = None, **params: str) -> Factory:
    async def make(ctx: Ctx) -> Made:
        case, url = await case_in(ctx, stage)
        return Made(params={"case_id": case["id"], **params}, values=[case["id"], case["number"]], url=url,
                    bodies=dict(bodies or {}))

    return make


async def _statistics(ctx: Ctx) -> Made:
    return Made(params={}, values=[], url=None)


async def _mine(ctx: Ctx) -> Made:
    return Made(params={}, values=[], url=None)


async def _my_case(ctx: Ctx) -> Made:
    from tests.catalogue.complaints import owner  # here: that module and this one load while routes does

    auth, customer, _ = await owner(ctx)
    case, _ = await case_in(ctx, "submitted", customer=customer)
    return Made(params={"case_id": case["id"]}, values=[case["id"], case["number"]], url=f"{MINE}/{case['id']}",
                auth=None if auth is ctx.auth else auth)


FACTORIES: dict[str, Factory] = {
    AGENCIES: _agencies,
    A: _agency(False, {"PATCH": {"contactName": "林经理"}}),
    A + "/submit": _agency(False, {"POST": NOTE}),
    A + "/suspend": _agency(True, {"POST": NOTE}),
    A + "/agreements": _agency(True, {"POST": agreement_body()}),
    A + "/performance": _agency(True, {}),
    AGREEMENTS + "/{agreement_id:uuid}": _agreement,
    CASES: _cases,
    C: _case("submitted"),
    C + "/documents/{code:str}": _case("collecting", {"POST": {"collectedOn": "2026-01-06"}}, code="id_card"),
    C + "/submit": _case("collecting", {"POST": {"submittedOn": "2026-01-05"}}),
    C + "/accept": _case("submitted", {"POST": {"acceptedOn": "2026-01-12"}}),
    C + "/issue": _case("accepted", {"POST": {"issuedOn": "2026-02-01", "certificateNumber": "粤(2026)第1号"}}),
    C + "/deliver": _case("issued", {"POST": {"deliveredOn": "2026-02-05"}}),
    C + "/cancel": _case("submitted", {"POST": {"reason": "业主撤回委托"}}),
    C + "/follow-ups": _case("submitted", {"POST": {"note": "电话催办", "urge": True}}),
    f"{BASE}/statistics": _statistics,
    MINE: _mine,
    MINE + "/{case_id:uuid}": _my_case,
}


# ---------------------------------------------------------------------- the subtree matrix


def _agencies_truth() -> Any:
    from app.domains.certificates.models import Agency
    from app.domains.org.models import OrgNode

    return select(Agency.id, OrgNode.path, Agency.name, Agency.version).join(OrgNode, OrgNode.id == Agency.node_id)


def _agreements_truth() -> Any:
    from app.domains.certificates.models import Agreement
    from app.domains.org.models import OrgNode

    return (select(Agreement.id, OrgNode.path, Agreement.number, Agreement.version)
            .join(OrgNode, OrgNode.id == Agreement.node_id))


def _cases_truth() -> Any:
    from app.domains.certificates.models import CertificateCase
    from app.domains.org.models import OrgNode

    return (select(CertificateCase.id, OrgNode.path, CertificateCase.number, CertificateCase.version)
            .join(OrgNode, OrgNode.id == CertificateCase.node_id))


async def _populate(seed: WorldSeed) -> None:
    """An agency per branch with its agreement, and a case for the owner of each project's
    first unit (submitted)."""
    ctx = Ctx(client=seed.client, db=seed.db, tenant=seed.slug, subject="subtree-admin", auth=seed.admin,
              mark="subtree")
    for code in ("SZ", "GZ"):
        agency = await ok(await ctx.client.post(AGENCIES, headers=ctx.auth, json=await agency_body(
            ctx, nodeId=seed.nodes[code]["id"], name=f"{seed.nodes[code]['name']}办证代理")), 201)
        await ok(await ctx.client.post(f"/api/v1/approvals/requests/{agency['approvalRequestId']}/approve",
                                       headers=await general_manager(ctx), json={}))
        agreement = await ok(await ctx.client.post(f"{AGENCIES}/{agency['id']}/agreements", headers=ctx.auth,
                                                   json=agreement_body()), 201)
        for project in seed.projects:
            if project["parentId"] != seed.nodes[code]["id"]:
                continue
            owners = await ok(await ctx.client.get("/api/v1/customers", headers=ctx.auth,
                                                   params={"nodeId": project["id"]}))
            await case_in(ctx, "submitted", customer=owners["items"][0], agreement=agreement)


_STATS = ("aggregates of the cases the caller may read: Authorizer.visible on certificates.read "
          "(tests/domains/test_certificates.py)")
_OWNERS = "an owner's own certificate cases (owner:self): the customer's account link decides, not a node " \
          "(tests/domains/test_certificates.py)"

SUBTREE = SubtreeSpec(
    kinds={"cert_agency": Kind("certificates.read", _agencies_truth),
           "cert_agreement": Kind("certificates.read", _agreements_truth),
           "cert_case": Kind("certificates.read", _cases_truth)},
    lists={AGENCIES: "cert_agency", CASES: "cert_case"},
    details={
        **{A + tail: "cert_agency" for tail in ("", "/submit", "/suspend", "/agreements", "/performance")},
        AGREEMENTS + "/{agreement_id:uuid}": "cert_agreement",
        **{C + tail: "cert_case" for tail in ("", "/documents/{code:str}", "/submit", "/accept", "/issue", "/deliver",
                                              "/cancel", "/follow-ups")},
    },
    read_urls={"cert_agency": AGENCIES + "/{}", "cert_agreement": AGREEMENTS + "/{}", "cert_case": CASES + "/{}"},
    no_node={f"{BASE}/statistics": _STATS, MINE: _OWNERS, MINE + "/{case_id:uuid}": _OWNERS},
    write_bodies={
        (A, "PATCH"): lambda w, u: {"contactName": "林经理"},
        (A + "/submit", "POST"): lambda w, u: NOTE,
        (A + "/suspend", "POST"): lambda w, u: NOTE,
        (A + "/agreements", "POST"): lambda w, u: agreement_body(),
        (C + "/documents/{code:str}", "POST"): lambda w, u: {"collectedOn": "2026-01-06"},
        (C + "/submit", "POST"): lambda w, u: {"submittedOn": "2026-01-10"},
        (C + "/accept", "POST"): lambda w, u: {"acceptedOn": "2026-01-12"},
        (C + "/issue", "POST"): lambda w, u: {"issuedOn": "2026-02-01", "certificateNumber": "x"},
        (C + "/deliver", "POST"): lambda w, u: {"deliveredOn": "2026-02-05"},
        (C + "/cancel", "POST"): lambda w, u: {"reason": "x"},
        (C + "/follow-ups", "POST"): lambda w, u: {"note": "x"},
    },
    creates={AGENCIES: ("branch", lambda parent: {"nodeId": str(parent), "name": "x", "contactName": "x",
                                                  "contactPhone": "0755-1"}, "certificates.write")},
    populate=_populate,
)
