"""A tenant's approval chains: each registered type's default, stored as the tenant's own,
with the roles it names.

Runs on every migration too, so a request type a later domain registers gets its chain and
its roles in the groups that existed before it. Only types without a stored chain are
written: a type without one runs on its default anyway, so storing that default changes
nothing the group chose, while a chain the group edited is stored and left alone. A role
the chain names that the group already has (by code) is the group's and is not touched.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.domains.approvals import services
from app.domains.approvals.models import ApprovalChain
from app.domains.approvals.registry import request_types
from app.tenants.seeding import seeder

if TYPE_CHECKING:
    from app.tenants.models import Tenant


@seeder("approvals.chains", since="0004_approvals", every_migration=True)
async def seed_chains(session: AsyncSession, tenant: Tenant) -> None:
    # One query tells which types have a chain: a migration that brings no new type costs no more.
    stored = set((await session.scalars(select(ApprovalChain.request_type))).all())
    types = request_types()
    await services.create_default_chains(session, [types[code] for code in sorted(types.keys() - stored)])


@seeder("approvals.chains.corrected", since="0015_relations")
async def correct_chains(session: AsyncSession, tenant: Tenant) -> None:
    # Defaults found to contradict their source documents (docs/relations.md, "Seeded approval
    # chains"): a group still on the old default, never edited, gets the corrected one.
    await services.replace_superseded_defaults(session, list(request_types().values()))


@seeder("approvals.chains.corrected.gifts", since="0018_grading_letter")
async def correct_gift_chain(session: AsyncSession, tenant: Tenant) -> None:
    # The second correction (docs/relations.md): gift applications' four sign-offs (seed 000
    # §20), for a group still on the former one-step default, never edited.
    await services.replace_superseded_defaults(session, list(request_types().values()))
