"""A visit through its application (seed 000 §22 ②): the customer relations supervisor at the
world's branch approves it, as the visit_application chain has it by default."""

from __future__ import annotations

from typing import Any

from tests.domains.customers_helpers import World, ok
from tests.domains.test_approvals import as_, assign, make_account

VISITS = "/api/v1/interactions/visits"


async def supervisor(db: Any, mint: Any, world: World, role: str = "cr_supervisor") -> dict[str, str]:
    """Token headers of someone holding ``role`` at the world's branch."""
    account = await make_account(db, world.org, role)
    await assign(db, world.org, account, role, world.org.branch)
    return as_(mint, world.org, account)


async def approve_visit(client: Any, world: World, url: str, approver: dict[str, str]) -> str:
    """Apply for the visit at ``url`` (planned) and have ``approver`` approve it; its new ETag."""
    got = await client.get(url, headers=world.admin)
    applied = await ok(await client.post(f"{url}/apply", headers={**world.admin, "If-Match": got.headers["etag"]},
                                         json={}), 200)
    await ok(await client.post(f"/api/v1/approvals/requests/{applied['approvalRequestId']}/approve",
                               headers=approver, json={}), 200)
    return str((await client.get(url, headers=world.admin)).headers["etag"])


async def approved_visit(client: Any, world: World, approver: dict[str, str],
                         body: dict[str, Any]) -> tuple[str, str]:
    """A visit planned with ``body`` and approved: its URL and ETag."""
    planned = await client.post(VISITS, headers=world.admin, json=body)
    await ok(planned)
    url = planned.headers["location"]
    return url, await approve_visit(client, world, url, approver)
