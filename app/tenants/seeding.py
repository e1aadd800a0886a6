"""Seed data a new tenant starts with, contributed by each domain.

A domain registers ``async def seed(session, tenant)``; provisioning runs every seeder in
registration order, in the provisioning transaction, with a session bound to the new
tenant's schema. The org domain's root node comes first (others hang off it).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Awaitable, Callable

from sqlalchemy.ext.asyncio import AsyncSession

if TYPE_CHECKING:
    from app.tenants.models import Tenant

Seeder = Callable[[AsyncSession, "Tenant"], Awaitable[None]]
SEEDERS: list[tuple[str, Seeder]] = []


def seeder(name: str) -> Callable[[Seeder], Seeder]:
    def register(fn: Seeder) -> Seeder:
        if any(existing == name for existing, _ in SEEDERS):
            raise ValueError(f"seeder {name!r} registered twice")
        SEEDERS.append((name, fn))
        return fn

    return register


async def seed_tenant(session: AsyncSession, tenant: "Tenant") -> None:
    import app.seeds  # noqa: F401  (imports every domain's seeders, in order)

    for _, seed in SEEDERS:
        await seed(session, tenant)
