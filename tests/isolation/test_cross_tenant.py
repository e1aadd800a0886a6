"""The cross-tenant matrix: tenant B, holding every tenant scope, can neither read, change
nor detect anything of tenant A, on every /api route the app serves.

The routes are read from the app itself, so a new route is covered the day it is added: a
route with a path parameter needs a factory in the shared route catalogue (FACTORIES in
tests/routes.py; the test fails until it has one).
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from sqlalchemy import select, text

from app.core.db import Database
from app.core.ids import new_id
from app.domains.access.authz import PERMISSIONS
from app.domains.org.models import NodeKind, OrgNode
from tests.conftest import bearer
from tests.grants import grant
from tests.routes import FACTORIES, Ctx, Made, handlers, missing_factory, random_params, routes, url

PROBLEM = "urn:cornerstone:problem:"
UUID_RE = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


# B's token has A's subject: subjects can coincide across tenants (a shared client id, a
# reused user id), and a per-user filter must not be what hides A's rows from B. An account
# id, so that both can hold roles.
SUBJECT = "0190f5a0-0000-7000-8000-00000000b0b0"


async def _two_tenants(db: Any, new_tenant: Any, mint: Any, mark: str
                       ) -> tuple[str, str, dict[str, str], dict[str, str]]:
    a = await new_tenant("iso_a", name=f"Group A {mark}")
    b = await new_tenant("iso_b", name=f"Group B {mark}")
    # Every tenant scope and every permission at the group node, for both.
    for slug in (a, b):
        await grant(db, slug, SUBJECT, PERMISSIONS)
    return a, b, bearer(mint(tenant=a, subject=SUBJECT)), bearer(mint(tenant=b, subject=SUBJECT))


async def _own_account(db: Any, mint: Any, slug: str) -> dict[str, str]:
    """The token headers of a new staff account of tenant ``slug``, for account:self."""
    from app.auth.models import AccountKind
    from app.auth.services import create_account
    from app.core.audit import Actor
    from app.tenants.models import Tenant

    async with db.platform_transaction() as session:
        session.info["actor"] = Actor(kind="operator", id="operator@test")
        tenant_id = await session.scalar(select(Tenant.id).where(Tenant.slug == slug))
        account = await create_account(session, tenant_id=tenant_id, kind=AccountKind.staff,
                                       username=f"own-{uuid.uuid4().hex[:8]}", display_name=f"Own {slug}",
                                       password=None, scopes=["account:self"])
    return bearer(mint(tenant=slug, subject=str(account.id), scopes=["account:self"]))


def _api_routes(app: Any) -> list[Any]:
    return routes(app, ("/api/",))


async def _call(client: Any, method: str, url: str, headers: dict[str, str], body: Any) -> Any:
    return await client.request(method, url, headers=headers, json=body)


@dataclass
class Matrix:
    """Two tenants and a resource of A's for every /api route with a path parameter."""

    a: str
    b: str
    mark: str
    auth_a: dict[str, str]
    auth_b: dict[str, str]
    made: dict[str, Made]  # route template -> A's resource


@pytest.fixture(scope="module")
async def matrix(app: Any, db: Any, new_tenant: Any, mint: Any) -> Matrix:
    """Built once for both matrices: the resources are most of their cost (a record taken
    through its workflow takes a dozen requests), and neither test changes them (the id
    matrix asserts it after every route; B's refused writes are all it sends)."""
    mark = uuid.uuid4().hex[:8]
    a, b, auth_a, auth_b = await _two_tenants(db, new_tenant, mint, mark)
    made: dict[str, Made] = {}
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as client:
        ctx = Ctx(client=client, db=db, tenant=a, subject=SUBJECT, auth=auth_a, mark=mark)
        for route in _api_routes(app):
            if route.path_parameters and route.path in FACTORIES:
                made[route.path] = await FACTORIES[route.path](ctx)
    return Matrix(a=a, b=b, mark=mark, auth_a=auth_a, auth_b=auth_b, made=made)


async def test_id_routes_answer_404_to_another_tenant(client: Any, app: Any, matrix: Matrix) -> None:
    a, mark, auth_a, auth_b = matrix.a, matrix.mark, matrix.auth_a, matrix.auth_b

    id_routes = [r for r in _api_routes(app) if r.path_parameters]
    missing = [r.path for r in id_routes if r.path not in FACTORIES]
    assert not missing, missing_factory(missing)

    for route in id_routes:
        made = matrix.made[route.path]
        original = await client.get(made.url, headers=auth_a)
        assert original.status_code == 200, original.text
        etag = original.headers["etag"]
        secrets = [*made.values, a, f"Group A {mark}"]
        target = url(route, made.params)
        rand_params = random_params(route)
        rand_url = url(route, rand_params)

        for method, handler in handlers(route):
            where = f"{method} {route.path}"
            body = made.bodies.get(method) if method in {"POST", "PUT", "PATCH"} else None
            if method in {"POST", "PUT", "PATCH"}:
                assert body is not None, f"{where}: the factory must give a valid body for {method}"
            # A's real ETag: were isolation broken, the write would go through, not stop at 412.
            headers = {**auth_b, "If-Match": etag}
            answer = await _call(client, method, target, headers, body)
            unknown = await _call(client, method, rand_url, headers, body)

            if handler.opt.get("scopes"):
                assert answer.status_code == 404, f"{where} as B: {answer.status_code} {answer.text}"
                assert answer.json()["type"] == PROBLEM + "not-found", f"{where}: {answer.text}"
            # else: a handler declaring no scope (the framework's OPTIONS) is closed by the guard;
            # like every other answer it must not tell A's resource from one that never existed.
            assert "etag" not in answer.headers and "location" not in answer.headers, where

            # B learns nothing: the answer is the one for an id that never existed, except
            # where B's own request (path and id) is echoed back.
            def scrub(r: Any, params: dict[str, str]) -> tuple[int, str]:
                content = r.text
                for name, value in params.items():
                    content = content.replace(value, f"<{name}>")
                return r.status_code, content

            assert scrub(answer, made.params) == scrub(unknown, rand_params), f"{where} is an oracle"
            echoed = set(made.params.values())
            for secret in secrets:
                if secret not in echoed:
                    assert secret not in answer.text, f"{where} leaked {secret!r}"

        # Nothing B sent changed A's resource.
        after = await client.get(made.url, headers=auth_a)
        assert after.status_code == 200 and after.json() == original.json() and after.headers["etag"] == etag


async def test_list_routes_never_show_another_tenants_rows(client: Any, app: Any, db: Any, mint: Any,
                                                           matrix: Matrix) -> None:
    a, b, mark, auth_a, auth_b = matrix.a, matrix.b, matrix.mark, matrix.auth_a, matrix.auth_b
    # A has a resource of every kind the app serves (the matrix's), so that lists have A rows to leak.
    made = matrix.made
    # B has rows of its own: an empty list would prove little.
    await FACTORIES["/api/v1/org/branches/{branch_id:uuid}"](
        Ctx(client=client, db=db, tenant=b, subject=SUBJECT, auth=auth_b, mark=uuid.uuid4().hex[:8]))

    list_routes = [r for r in _api_routes(app) if not r.path_parameters and "GET" in r.methods]
    assert list_routes, "expected list routes under /api/"
    # One's own account (account:self) is a person's, and SUBJECT is a person in neither
    # tenant: those routes are read by an account of each tenant instead.
    own_a, own_b = await _own_account(db, mint, a), await _own_account(db, mint, b)
    a_ids: set[str] = set()
    answers_b: dict[str, str] = {}
    for route in list_routes:
        own = "account:self" in (route.route_handler_map["GET"][0].opt.get("scopes") or ())
        as_a = await client.get(route.path, headers=own_a if own else auth_a)
        as_b = await client.get(route.path, headers=own_b if own else auth_b)
        assert as_a.status_code == 200 and as_b.status_code == 200, f"GET {route.path}: {as_b.text}"
        a_ids |= set(UUID_RE.findall(as_a.text))
        answers_b[route.path] = as_b.text
    # A's lists do show A's rows (a branch at least), so the check below is not vacuous.
    assert made["/api/v1/org/branches/{branch_id:uuid}"].params["branch_id"] in a_ids

    # B's own subject is A's too (SUBJECT): B's audit trail naming it is no leak.
    secrets = {*a_ids, a, f"Group A {mark}", *(v for m in made.values() for v in m.values)} - {SUBJECT}
    for path, text_b in answers_b.items():
        leaked = [s for s in secrets if s in text_b]
        assert not leaked, f"GET {path} as B shows A's {leaked}"


async def test_tenant_sessions_share_a_pooled_connection_without_mixing(db: Any, new_tenant: Any) -> None:
    mark = uuid.uuid4().hex[:8]
    a = await new_tenant("iso_a", name=f"Group A {mark}")
    b = await new_tenant("iso_b", name=f"Group B {mark}")
    # One pooled connection, used alternately: a tenant binding that stuck to the connection
    # (search_path, or a map set on the connection and lost at commit) would show here.
    small = Database(db.url, pool_size=1)
    pids: set[int] = set()

    async def names(session: Any) -> set[str]:
        pids.add(await session.scalar(text("SELECT pg_backend_pid()")))
        return set((await session.scalars(select(OrgNode.name))).all())

    def branch(name: str) -> OrgNode:
        node_id = new_id()
        return OrgNode(id=node_id, kind=NodeKind.branch, parent_id=None, path=str(node_id), depth=1,
                       code=name.upper(), name=name)

    try:
        async with small.tenant_session(f"t_{a}") as sa, small.tenant_session(f"t_{b}") as sb:
            assert await names(sa) == {f"Group A {mark}"}
            sa.add(branch("a_one"))
            await sa.commit()  # the connection goes back to the pool

            assert await names(sb) == {f"Group B {mark}"}
            sb.add(branch("b_gone"))
            await sb.flush()
            assert await names(sb) == {f"Group B {mark}", "b_gone"}
            await sb.rollback()

            # After commit: A still bound to A, and sees its committed row.
            assert await names(sa) == {f"Group A {mark}", "a_one"}
            await sa.rollback()
            # After rollback: B sees neither its rolled-back row nor A's.
            assert await names(sb) == {f"Group B {mark}"}
            sb.add(branch("b_one"))
            await sb.commit()

            assert await names(sa) == {f"Group A {mark}", "a_one"}
            await sa.commit()
            assert await names(sb) == {f"Group B {mark}", "b_one"}
            await sb.commit()
        assert len(pids) == 1, f"expected one pooled connection, saw backends {pids}"
    finally:
        await small.dispose()
