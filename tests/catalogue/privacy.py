"""Route-catalogue entries of the privacy routes (see tests/catalogue/__init__.py), and the
subtree matrix's part for them: a privacy request sits at its customer's node."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import Select, select

from tests.catalogue import Kind, SubtreeSpec, WorldSeed
from tests.routes import Ctx, Factory, Made, _create, _new_customer

BASE = "/api/v1/privacy"
REQUESTS = f"{BASE}/requests"
ONE = f"{REQUESTS}/{{request_id:uuid}}"
RULE_KIND = "privacy.request_contents"


async def new_request(ctx: Ctx, kind: str, customer_id: str | None = None) -> tuple[dict[str, Any], str]:
    if customer_id is None:
        customer, _, _ = await _new_customer(ctx)
        customer_id = customer["id"]
    consents = {"consents": ["marketing"]} if kind == "withdrawal" else {}
    return await _create(ctx, REQUESTS, {"customerId": customer_id, "kind": kind, "channel": "phone",
                                         "details": f"A-only words {ctx.mark}", **consents})


async def build_package(ctx: Ctx, request_id: str) -> None:
    """Build an access request's copy in-process (a worker taking the task could race a factory)."""
    from app.core.audit import SYSTEM, Actor
    from app.domains.privacy import services
    from app.domains.privacy.models import PrivacyRequest

    async with ctx.db.tenant_transaction(f"t_{ctx.tenant}") as session:
        session.info["actor"] = Actor(kind="user", id=ctx.subject, client_id="test-client")
        r = await session.scalar(select(PrivacyRequest).where(PrivacyRequest.id == uuid.UUID(request_id))
                                 .with_for_update())
        assert r is not None
        from app.domains.access.authz import trusted

        job = await services.start_package(session, trusted(), r, "")
    async with ctx.db.tenant_transaction(f"t_{ctx.tenant}") as session:
        session.info["actor"] = SYSTEM
        assert await services.build_package(session, job.id)


async def _requests(ctx: Ctx) -> Made:
    customer, _, _ = await _new_customer(ctx)
    return Made(params={}, values=[], url=None, bodies={"POST": {
        "customerId": customer["id"], "kind": "access", "channel": "app", "details": f"New request {ctx.mark}"}})


def _request(kind: str, post: dict[str, Any] | None = None, *, packaged: bool = False) -> Factory:
    async def make(ctx: Ctx) -> Made:
        r, location = await new_request(ctx, kind)
        if packaged:
            await build_package(ctx, r["id"])
        return Made(params={"request_id": r["id"]}, values=[r["id"], r["number"]], url=location,
                    bodies={"POST": post} if post is not None else {})

    return make


async def _rules(ctx: Ctx) -> Made:
    return Made(params={}, values=[], url=None)


async def _rules_put(ctx: Ctx) -> Made:
    return Made(params={}, values=[], url=f"{BASE}/retention-rules",
                bodies={"PUT": {"rules": [{"kind": RULE_KIND, "days": 45}]}})


async def _settings(ctx: Ctx) -> Made:
    return Made(params={}, values=[], url=f"{BASE}/settings", bodies={"PUT": {"approvalKinds": ["erasure"]}})


async def _mine(ctx: Ctx) -> Made:
    from tests.routes import _my_customer

    made = await _my_customer(ctx)
    return Made(params={}, values=[], url=None, auth=made.auth, bodies={"POST": {
        "customerId": made.params["customer_id"], "kind": "access", "details": f"Mine {ctx.mark}"}})


async def _my_request(ctx: Ctx) -> Made:
    from tests.routes import _my_customer

    made = await _my_customer(ctx)
    filed = await ctx.client.post(f"{BASE}/mine", headers=made.auth or ctx.auth, json={
        "customerId": made.params["customer_id"], "kind": "correction", "details": f"A-only words {ctx.mark}"})
    assert filed.status_code == 201, filed.text
    r = filed.json()
    return Made(params={"request_id": r["id"]}, values=[r["id"], r["number"]], url=filed.headers["location"],
                auth=made.auth)


async def run_package_job(ctx: Ctx, request_id: str) -> None:
    """Run the package job an owner's access request started, in-process (no worker needed)."""
    from app.core.audit import SYSTEM
    from app.core.jobs import JobError
    from app.domains.privacy import services
    from app.domains.privacy.models import PrivacyRequest

    try:
        async with ctx.db.tenant_transaction(f"t_{ctx.tenant}") as session:
            session.info["actor"] = SYSTEM
            job_id = await session.scalar(select(PrivacyRequest.job_id)
                                          .where(PrivacyRequest.id == uuid.UUID(request_id)))
            assert job_id is not None
            await services.build_package(session, job_id)
    except JobError:
        pass  # a worker of this run took the task and finished first (ours rolled back): the copy is built


async def _my_package(ctx: Ctx) -> Made:
    from tests.routes import _my_customer

    made = await _my_customer(ctx)
    filed = await ctx.client.post(f"{BASE}/mine", headers=made.auth or ctx.auth, json={
        "customerId": made.params["customer_id"], "kind": "access", "details": f"A-only words {ctx.mark}"})
    assert filed.status_code == 201, filed.text
    r = filed.json()
    await run_package_job(ctx, r["id"])
    return Made(params={"request_id": r["id"]}, values=[r["id"], r["number"]], url=filed.headers["location"],
                auth=made.auth, bodies={"POST": {}})


FACTORIES: dict[str, Factory] = {
    f"{BASE}/mine": _mine,
    f"{BASE}/mine/{{request_id:uuid}}": _my_request,
    f"{BASE}/mine/{{request_id:uuid}}/download": _my_package,
    REQUESTS: _requests,
    ONE: _request("correction"),
    f"{ONE}/details": _request("correction", {"reason": "answering the request"}),
    f"{ONE}/package": _request("access", {}),  # no body: an empty one stands for it
    f"{ONE}/deliver": _request("access", {"reason": "handed to the person at the sales office"}, packaged=True),
    f"{ONE}/erase": _request("erasure", {"answer": "Erased where the law allows."}),
    f"{ONE}/withdraw": _request("withdrawal", {"answer": "Your marketing consent is withdrawn."}),
    f"{ONE}/complete": _request("correction", {"answer": "Corrected."}),
    f"{ONE}/refuse": _request("access", {"answer": "We could not confirm who asked."}),
    f"{BASE}/retention-rules": _rules_put,
    f"{BASE}/retention-runs": _rules,
    f"{BASE}/settings": _settings,
}


# ------------------------------------------------------------------------- subtree matrix


def _truth() -> Select[Any]:
    from app.domains.org.models import OrgNode
    from app.domains.privacy.models import PrivacyRequest

    return (select(PrivacyRequest.id, OrgNode.path, PrivacyRequest.number, PrivacyRequest.version)
            .join(OrgNode, OrgNode.id == PrivacyRequest.node_id))


async def _populate(seed: WorldSeed) -> None:
    """A correction request for every customer of the world (one per project and branch)."""
    listed = await seed.client.get("/api/v1/customers", headers=seed.admin, params={"limit": 200})
    assert listed.status_code == 200, listed.text
    for customer in listed.json()["items"]:
        made = await seed.client.post(REQUESTS, headers=seed.admin, json={
            "customerId": customer["id"], "kind": "correction", "channel": "in_person",
            "details": "地址有误"})
        assert made.status_code == 201, made.text


_RULES = ("retention periods are tenant-wide configuration, changed with privacy.configure at the group node "
          "(tests/domains/test_privacy.py)")

_SETTINGS = ("the group's privacy policy is tenant-wide configuration, changed with privacy.configure at the group "
             "node (tests/domains/test_privacy_domains.py)")

_OWNERS = ("an owner's own requests (owner:self): the customer's account link decides, not a node "
           "(tests/domains/test_privacy.py)")

SUBTREE = SubtreeSpec(
    kinds={"privacy_request": Kind("privacy.read", _truth)},
    lists={REQUESTS: "privacy_request"},
    details={ONE: "privacy_request", **{f"{ONE}/{tail}": "privacy_request" for tail in (
        "details", "package", "deliver", "erase", "withdraw", "complete", "refuse")}},
    read_urls={"privacy_request": f"{REQUESTS}/{{}}"},
    no_node={f"{BASE}/retention-rules": _RULES, f"{BASE}/retention-runs": _RULES,
             f"{BASE}/settings": _SETTINGS, f"{BASE}/mine": _OWNERS,
             f"{BASE}/mine/{{request_id:uuid}}": _OWNERS, f"{BASE}/mine/{{request_id:uuid}}/download": _OWNERS},
    write_bodies={
        (f"{ONE}/details", "POST"): lambda w, u: {"reason": "answering"},
        (f"{ONE}/deliver", "POST"): lambda w, u: {"reason": "handing over"},
        (f"{ONE}/erase", "POST"): lambda w, u: {"answer": "erased"},
        (f"{ONE}/withdraw", "POST"): lambda w, u: {"answer": "withdrawn"},
        (f"{ONE}/complete", "POST"): lambda w, u: {"answer": "corrected"},
        (f"{ONE}/refuse", "POST"): lambda w, u: {"answer": "refused"},
    },
    populate=_populate,
)
