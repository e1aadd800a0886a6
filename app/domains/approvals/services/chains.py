"""Approval chains: each request type's steps, the tenant's own or the type's default."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.models import Account
from app.core import audit
from app.core.pagination import PageParams
from app.core.problems import FieldError, ProblemError, field_error
from app.core.schemas import Page
from app.domains.access.models import Role
from app.domains.access.schemas import RoleCreate
from app.domains.access.services import ensure_roles
from app.domains.approvals.models import (
    ApprovalChain,
)
from app.domains.approvals.registry import RequestType, request_types
from app.domains.approvals.schemas import (
    ChainIn,
    ChainOut,
    Step,
    chain_out,
    dump_steps,
    parse_steps,
    step_problems,
)
from app.domains.approvals.services.common import CHAIN_ENTITY, active_staff


def type_or_404(code: str) -> RequestType:
    entry = request_types().get(code)
    if entry is None:
        raise no_chain(code)
    return entry


def no_chain(code: str) -> ProblemError:
    # One answer for an unknown type and a known one without a chain: the two look alike
    # to a caller, whichever tenant holds what.
    return ProblemError("not-found", f"No approval chain for request type {code!r}.")


async def _chain_row(session: AsyncSession, code: str, *, lock: bool = False) -> ApprovalChain | None:
    stmt = select(ApprovalChain).where(ApprovalChain.request_type == code)
    if lock:
        stmt = stmt.with_for_update()
    return await session.scalar(stmt)


@dataclass
class Chain:
    entry: RequestType
    row: ApprovalChain | None  # None: the type's default
    steps: list[Step]

    @property
    def version(self) -> int:
        return self.row.version if self.row else 0

    def out(self) -> ChainOut:
        return chain_out(self.entry.code, self.entry.title, self.row, self.steps)


async def get_chain(session: AsyncSession, code: str, *, lock: bool = False) -> Chain:
    entry = type_or_404(code)
    row = await _chain_row(session, code, lock=lock)
    if row is not None:
        return Chain(entry, row, parse_steps(row.steps))
    if entry.default_chain:
        return Chain(entry, None, parse_steps([dict(s) for s in entry.default_chain]))
    raise no_chain(code)


async def chain_for_update(session: AsyncSession, code: str) -> Chain | None:
    """The chain to replace, locked; None for a registered type with no chain (nor default)."""
    entry = type_or_404(code)
    if entry.default_chain or await _chain_row(session, code) is not None:
        return await get_chain(session, code, lock=True)
    return None


async def list_chains(session: AsyncSession, params: PageParams) -> Page[ChainOut]:
    """The tenant's chains, and the defaults of registered types it has not edited."""
    rows = {c.request_type: c for c in (await session.scalars(select(ApprovalChain))).all()}
    chains: list[ChainOut] = []
    for code in sorted(set(rows) | {c for c, e in request_types().items() if e.default_chain}):
        entry = request_types().get(code)
        row = rows.get(code)
        if entry is None:  # a type whose domain no longer registers it: still shown, as stored
            entry = RequestType(code=code, title=code)
        steps = parse_steps(row.steps) if row else parse_steps([dict(s) for s in entry.default_chain])
        chains.append(chain_out(code, entry.title, row, steps))
    # A handful of chains per tenant: sorted and sliced here (the only sort field is requestType).
    if params.sort and params.sort.startswith("-"):
        chains.reverse()
    return Page(items=chains[params.offset:params.offset + params.limit], total=len(chains), limit=params.limit,
                offset=params.offset)


async def _tenant_problems(session: AsyncSession, steps: list[Step]) -> list[FieldError]:
    """Roles must exist and named users be active staff of this tenant."""
    codes = {s.role for s in steps if s.role}
    known = set((await session.scalars(select(Role.code).where(Role.code.in_(codes)))).all()) if codes else set()
    users = {s.user for s in steps if s.user}
    staff = set((await session.scalars(select(Account.id).where(Account.id.in_(users), await active_staff(session))))
                .all()) if users else set()
    errors: list[FieldError] = []
    for i, step in enumerate(steps):
        if step.role and step.role not in known:
            errors.append(field_error(f"steps.{i}.role", f"no role with code {step.role!r}"))
        if step.user and step.user not in staff:
            errors.append(field_error(f"steps.{i}.user", "no active staff account with this id in the group"))
    return errors


async def save_chain(session: AsyncSession, chain: Chain | None, code: str, data: ChainIn) -> Chain:
    """Replace the chain (``chain`` as read under lock) or create it (``chain`` None)."""
    errors = step_problems(data.steps) + await _tenant_problems(session, data.steps)
    if errors:
        raise ProblemError("validation", "The chain is not valid.", errors=errors)
    steps = dump_steps(data.steps)
    entry = chain.entry if chain else type_or_404(code)
    before = audit.snapshot(chain.row) if chain and chain.row else None
    if chain and chain.row:
        row = chain.row
        row.steps = steps
    else:
        row = ApprovalChain(request_type=code, steps=steps)
        session.add(row)
    await session.flush()
    await session.refresh(row)
    await audit.record(session, action="approvals.chain.update" if before else "approvals.chain.create",
                       entity_type=CHAIN_ENTITY, entity_id=code, before=before, after=audit.snapshot(row))
    return Chain(entry, row, data.steps)


async def chains_naming_role(session: AsyncSession, code: str) -> list[str]:
    """The request types whose stored chain names the role ``code`` (for the access domain:
    deleting such a role breaks those chains)."""
    rows = (await session.execute(select(ApprovalChain.request_type, ApprovalChain.steps))).all()
    return sorted(t for t, steps in rows if any(s.get("role") == code for s in steps))


async def create_default_chains(session: AsyncSession, entries: list[RequestType]) -> None:
    """Store each of ``entries``' default as the tenant's chain (seeding; the caller knows they
    have none), creating the roles they name that the tenant lacks: a few statements in all."""
    entries = [e for e in entries if e.default_chain]
    # Reading requests is what an approver's role needs; the rest is the access domain's.
    await ensure_roles(session, [RoleCreate(code=code, name=name, permissions=["approvals.read"])
                                 for e in entries for code, name in e.default_roles.items()])
    rows = [ApprovalChain(request_type=e.code, steps=dump_steps(parse_steps([dict(s) for s in e.default_chain])))
            for e in entries]
    await audit.add_created(session, rows, action="approvals.chain.create", entity_type=CHAIN_ENTITY,
                            entity_id=lambda chain: chain.request_type)


async def replace_superseded_defaults(session: AsyncSession, entries: list[RequestType]) -> list[str]:
    """Give the current default to each of ``entries`` whose stored chain is still one of the
    defaults it replaces, as seeded and never edited (version 1); a chain the group edited, even
    back to an old default, is the group's. Creates the roles the new default names; returns
    the types changed."""
    entries = [e for e in entries if e.replaces and e.default_chain]
    rows = {r.request_type: r for r in (await session.scalars(select(ApprovalChain).where(
        ApprovalChain.request_type.in_([e.code for e in entries])).with_for_update())).all()}
    changed: list[RequestType] = []
    for entry in entries:
        row = rows.get(entry.code)
        old = [parse_steps([dict(s) for s in chain]) for chain in entry.replaces]
        if row is not None and row.version == 1 and parse_steps(row.steps) in old:
            changed.append(entry)
    await ensure_roles(session, [RoleCreate(code=code, name=name, permissions=["approvals.read"])
                                 for e in changed for code, name in e.default_roles.items()])
    for entry in changed:
        row = rows[entry.code]
        before = audit.snapshot(row)
        row.steps = dump_steps(parse_steps([dict(s) for s in entry.default_chain]))
        await session.flush()
        await session.refresh(row)
        await audit.record(session, action="approvals.chain.update", entity_type=CHAIN_ENTITY, entity_id=entry.code,
                           before=before, after=audit.snapshot(row),
                           reason="the default chain was corrected to its source document")
    return [e.code for e in changed]
