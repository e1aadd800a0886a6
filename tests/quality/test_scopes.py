"""The scope matrix: every operation under /api and /platform, read from the app's routes.

For each operation, the scopes its handler declares (``opt["scopes"]``, what the guard
enforces) are the ones the OpenAPI document requires; a token lacking any one of them is
refused 403 insufficient-scope, and a token holding only them gets past the guard.
"""

from __future__ import annotations

from typing import Any

from app.auth.scopes import OPT_KEY, PLATFORM_SCOPES, SECURITY_SCHEME, TENANT_SCOPES
from tests.conftest import bearer
from tests.routes import CLIENT, document_path, operations, random_params, url

PROBLEM = "urn:cornerstone:problem:"
# What the guard answers when it stops a request; nothing past it may answer so to a token
# holding exactly the operation's scopes.
GUARD_REFUSALS = {PROBLEM + "insufficient-scope", PROBLEM + "forbidden", PROBLEM + "unauthenticated",
                  PROBLEM + "invalid-token", PROBLEM + "tenant-unavailable"}


def _problem_type(response: Any) -> str | None:
    try:
        body = response.json()
    except ValueError:
        return None
    return body.get("type") if isinstance(body, dict) else None


async def _account(db: Any, tenant: str) -> str:
    from sqlalchemy import select

    from app.auth.models import AccountKind
    from app.auth.services import create_account
    from app.core.audit import Actor
    from app.tenants.models import Tenant

    async with db.platform_transaction() as session:
        session.info["actor"] = Actor(kind="operator", id="operator@test")
        tenant_id = await session.scalar(select(Tenant.id).where(Tenant.slug == tenant))
        account = await create_account(session, tenant_id=tenant_id, kind=AccountKind.staff, username="scopes-me",
                                       display_name="Scopes", password=None, scopes=["account:self"])
    return str(account.id)


async def test_every_operation_requires_its_declared_scopes(client: Any, app: Any, db: Any, new_tenant: Any,
                                                           mint: Any) -> None:
    tenant = await new_tenant("scopes")
    document = (await client.get("/schema/openapi.json")).json()
    me = await _account(db, tenant)

    def token(platform: bool, scopes: list[str]) -> dict[str, str]:
        if platform:
            return bearer(mint(scopes=scopes))
        # account:self acts on the token's own account, which only a person has; anything else
        # gets a partner token (whole group), so that role grants play no part here.
        subject = me if "account:self" in scopes else CLIENT
        return bearer(mint(tenant=tenant, subject=subject, scopes=scopes))

    checked = 0
    for route, method, handler in operations(app):
        where = f"{method} {route.path}"
        required = list(handler.opt.get(OPT_KEY) or ())
        assert required, f"{where} declares no scope: give it **requires(...)"

        # The document states the same requirement the guard enforces.
        operation = document["paths"].get(document_path(route.path), {}).get(method.lower())
        assert operation is not None, f"{where} is missing from the OpenAPI document"
        assert operation.get("security") == [{SECURITY_SCHEME: required}], (
            f"{where}: the document requires {operation.get('security')}, the guard {required}")

        platform = any(s in PLATFORM_SCOPES for s in required)
        kind = PLATFORM_SCOPES if platform else TENANT_SCOPES
        assert set(required) <= kind, f"{where} mixes platform and tenant scopes: {required}"
        target = url(route, random_params(route))

        for scope in required:
            # Every other scope of the kind, only not this one.
            lacking = await client.request(method, target, headers=token(platform, sorted(kind - {scope})))
            assert lacking.status_code == 403, f"{where} without {scope}: {lacking.status_code} {lacking.text}"
            assert _problem_type(lacking) == PROBLEM + "insufficient-scope", f"{where}: {lacking.text}"
            assert scope in lacking.headers["www-authenticate"], where

        only = await client.request(method, target, headers=token(platform, required))
        assert only.status_code != 401 and _problem_type(only) not in GUARD_REFUSALS, (
            f"{where} with exactly {required} did not get past the guard: {only.status_code} {only.text}")
        checked += 1
    assert checked, "expected operations under /api and /platform"
