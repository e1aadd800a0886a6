"""Roles and role assignments.

- A role is a tenant-wide definition, so defining and changing roles needs ``roles.manage``
  at the group node; reading them needs ``roles.manage`` somewhere (to assign them).
- Assigning needs ``roles.manage`` at the target node, and the caller must hold every
  permission of the role there: a branch manager can staff their branch, but cannot hand
  out more than they have (no self-made group administrators).
- The group keeps at least one administrator: the last assignment of an all-permissions
  role at the group node cannot be removed, and ``group_admin`` keeps ``*``.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable

import msgspec
from sqlalchemy import exists, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.models import Account, AccountKind
from app.core import audit
from app.core.pagination import PageParams, paginate
from app.core.problems import ProblemError, field_error
from app.core.schemas import Page, provided
from app.domains.access.authz import ALL, PERMISSIONS, Authorizer
from app.domains.access.models import Role, RoleAssignment
from app.domains.access.schemas import AssignmentCreate, AssignmentOut, RoleCreate, RoleOut, RoleUpdate
from app.domains.org.models import OrgNode
from app.domains.org.services import Holder, get_root, live_records
from app.tenants.services import get_tenant

ROLE = "role"
ASSIGNMENT = "role_assignment"
MANAGE = "roles.manage"
GROUP_ADMIN = "group_admin"
ROLE_SORT = {"code": Role.code, "name": Role.name, "createdAt": Role.created_at}
ASSIGNMENT_SORT = {"createdAt": RoleAssignment.created_at}


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def check_permissions(permissions: list[str], field: str = "permissions") -> list[str]:
    """Registered names or the wildcard, each once, in a stable order."""
    bad = [(i, p) for i, p in enumerate(permissions) if p != ALL and p not in PERMISSIONS]
    if bad:
        raise ProblemError("validation", f"Unknown permissions: {', '.join(p for _, p in bad)}.",
                           errors=[field_error(f"{field}[{i}]", f"unknown permission {p!r}") for i, p in bad])
    return sorted(set(permissions))


def _expand(permissions: list[str]) -> list[str]:
    return sorted(PERMISSIONS) if ALL in permissions else list(permissions)


# ----------------------------------------------------------------------------- roles


async def _require_at_group(session: AsyncSession, authz: Authorizer) -> None:
    authz.require(MANAGE, (await get_root(session)).path)


async def list_roles(session: AsyncSession, authz: Authorizer, params: PageParams, *, q: str | None,
                     system: bool | None) -> Page[RoleOut]:
    authz.require_anywhere(MANAGE)
    stmt = select(Role)
    if q:
        pattern = f"%{_escape_like(q)}%"
        stmt = stmt.where(or_(Role.code.ilike(pattern, escape="\\"), Role.name.ilike(pattern, escape="\\")))
    if system is not None:
        stmt = stmt.where(Role.system.is_(system))
    return await paginate(session, stmt, params, sortable=ROLE_SORT, default_sort=["code"], tiebreak=Role.id,
                          to_schema=RoleOut.of)


async def get_role(session: AsyncSession, authz: Authorizer, role_id: uuid.UUID, *, lock: bool = False) -> Role:
    authz.require_anywhere(MANAGE)
    stmt = select(Role).where(Role.id == role_id)
    if lock:
        stmt = stmt.with_for_update()
    role = await session.scalar(stmt)
    if role is None:
        raise ProblemError("not-found", f"No role with id {role_id}.")
    return role


async def create_role(session: AsyncSession, authz: Authorizer, data: RoleCreate) -> Role:
    """A role the group defines (``ensure_roles`` makes the system roles)."""
    await _require_at_group(session, authz)
    permissions = check_permissions(data.permissions)
    if await session.scalar(select(exists().where(Role.code == data.code))):
        raise ProblemError("duplicate", f"The role code {data.code!r} is already used.",
                           errors=[field_error("code", "already used")])
    role = Role(code=data.code, name=data.name, description=data.description, permissions=permissions)
    session.add(role)
    await session.flush()
    await session.refresh(role)
    await audit.record(session, action="access.role.create", entity_type=ROLE, entity_id=role.id,
                       after=audit.snapshot(role))
    return role


async def ensure_roles(session: AsyncSession, roles: Iterable[RoleCreate]) -> None:
    """Create, as system roles, those of ``roles`` whose code the tenant does not have (seeding:
    provisioning and migrations); a role the group has is the group's and is left alone. One
    read, one insert and one audit statement, whatever the number of roles."""
    wanted = {r.code: r for r in roles}
    have = set((await session.scalars(select(Role.code).where(Role.code.in_(wanted)))).all())
    rows = [Role(code=r.code, name=r.name, description=r.description, permissions=check_permissions(r.permissions),
                 system=True) for code, r in wanted.items() if code not in have]
    await audit.add_created(session, rows, action="access.role.create", entity_type=ROLE)


async def update_role(session: AsyncSession, authz: Authorizer, role: Role, data: RoleUpdate) -> Role:
    await _require_at_group(session, authz)
    changes = provided(data)
    if data.permissions is not msgspec.UNSET:
        permissions = changes["permissions"] = check_permissions(data.permissions)
        if role.system and role.code == GROUP_ADMIN and ALL not in permissions:
            raise ProblemError("conflict", "group_admin keeps every permission ('*'): it is what keeps the "
                                           "group administrable. Define another role for narrower rights.",
                               errors=[field_error("permissions", "must contain '*'")])
    before = audit.snapshot(role)
    for field, value in changes.items():
        setattr(role, field, value)
    await session.flush()
    await session.refresh(role)
    await audit.record(session, action="access.role.update", entity_type=ROLE, entity_id=role.id,
                       before=before, after=audit.snapshot(role))
    return role


async def delete_role(session: AsyncSession, authz: Authorizer, role: Role) -> None:
    await _require_at_group(session, authz)
    if role.system:
        raise ProblemError("conflict", f"The role {role.code!r} comes with every group and cannot be deleted; "
                                       "its name and permissions can be changed.")
    used = await session.scalar(select(func.count()).where(RoleAssignment.role_id == role.id))
    if used:
        raise ProblemError("conflict", f"The role {role.code!r} is assigned {used} times; remove those "
                                       "assignments first.")
    before = audit.snapshot(role)
    await session.delete(role)
    await session.flush()
    await audit.record(session, action="access.role.delete", entity_type=ROLE, entity_id=role.id, before=before)


# ----------------------------------------------------------------------- assignments


async def list_assignments(session: AsyncSession, authz: Authorizer, params: PageParams, *,
                           account_id: uuid.UUID | None, node_id: uuid.UUID | None,
                           role_id: uuid.UUID | None) -> Page[AssignmentOut]:
    stmt = (select(RoleAssignment).join(OrgNode, OrgNode.id == RoleAssignment.node_id)
            .where(authz.visible_path(MANAGE, OrgNode.path)))
    if account_id is not None:
        stmt = stmt.where(RoleAssignment.account_id == account_id)
    if node_id is not None:
        stmt = stmt.where(RoleAssignment.node_id == node_id)
    if role_id is not None:
        stmt = stmt.where(RoleAssignment.role_id == role_id)
    page = await paginate(session, stmt, params, sortable=ASSIGNMENT_SORT,
                          default_sort=["createdAt"], tiebreak=RoleAssignment.id,
                          to_schema=lambda a: a)
    # The page's role codes and node kinds in one query each (a page is at most 200 rows).
    codes = dict((await session.execute(select(Role.id, Role.code).where(
        Role.id.in_({a.role_id for a in page.items})))).tuples().all())
    kinds = dict((await session.execute(select(OrgNode.id, OrgNode.kind).where(
        OrgNode.id.in_({a.node_id for a in page.items})))).tuples().all())
    return Page(items=[AssignmentOut.of(a, codes[a.role_id], kinds[a.node_id]) for a in page.items],
                total=page.total, limit=page.limit, offset=page.offset)


async def get_assignment(session: AsyncSession, authz: Authorizer, assignment_id: uuid.UUID, *,
                         lock: bool = False) -> tuple[RoleAssignment, OrgNode, Role]:
    """An assignment at a node where the caller manages roles; any other id answers 404."""
    stmt = (select(RoleAssignment, OrgNode, Role)
            .join(OrgNode, OrgNode.id == RoleAssignment.node_id)
            .join(Role, Role.id == RoleAssignment.role_id)
            .where(RoleAssignment.id == assignment_id))
    if lock:
        stmt = stmt.with_for_update(of=RoleAssignment)
    row = (await session.execute(stmt)).first()
    if row is None or not authz.can(MANAGE, row[1].path):
        raise ProblemError("not-found", f"No role assignment with id {assignment_id}.")
    return row[0], row[1], row[2]


def _require_may_grant(authz: Authorizer, role: Role, node: OrgNode) -> None:
    missing = [p for p in _expand(role.permissions) if not authz.can(p, node.path)]
    if missing:
        raise ProblemError("forbidden", f"You can hand out only permissions you hold at that node; the role "
                                        f"{role.code!r} also grants {', '.join(missing)}.")


async def _tenant_account(session: AsyncSession, tenant_slug: str, account_id: uuid.UUID) -> Account:
    # Accounts live in the shared schema: the account must name the caller's tenant (taken
    # from the token), or it is as unknown here as one that does not exist.
    tenant = await get_tenant(session, tenant_slug)
    account = await session.scalar(select(Account).where(Account.id == account_id,
                                                         Account.tenant_id == tenant.id))
    if account is None:
        raise ProblemError("not-found", f"No account with id {account_id} in this group.",
                           errors=[field_error("accountId", "no such account in this group")])
    if account.kind is not AccountKind.staff:
        raise ProblemError("validation", "Roles are for staff; owners see their own records only.",
                           errors=[field_error("accountId", "not a staff account")])
    return account


async def grant(session: AsyncSession, *, account_id: uuid.UUID, role: Role, node: OrgNode) -> RoleAssignment:
    """Record an assignment (checks done by the caller); audited."""
    if await session.scalar(select(exists().where(RoleAssignment.account_id == account_id,
                                                  RoleAssignment.role_id == role.id,
                                                  RoleAssignment.node_id == node.id))):
        raise ProblemError("duplicate", "The account already has this role at this node.")
    assignment = RoleAssignment(account_id=account_id, role_id=role.id, node_id=node.id)
    session.add(assignment)
    await session.flush()
    await session.refresh(assignment)
    await audit.record(session, action="access.assignment.create", entity_type=ASSIGNMENT, entity_id=assignment.id,
                       after={**audit.snapshot(assignment), "roleCode": role.code, "nodePath": node.path})
    return assignment


async def grant_by_code(session: AsyncSession, *, account_id: uuid.UUID, role_code: str,
                        node: OrgNode) -> RoleAssignment:
    """For seeding and tests: assign a role by its code, no caller to check."""
    role = await session.scalar(select(Role).where(Role.code == role_code))
    if role is None:
        raise ProblemError("not-found", f"No role {role_code!r}.")
    return await grant(session, account_id=account_id, role=role, node=node)


async def create_assignment(session: AsyncSession, authz: Authorizer, tenant_slug: str,
                            data: AssignmentCreate) -> tuple[RoleAssignment, OrgNode, Role]:
    node = await session.scalar(select(OrgNode).where(OrgNode.id == data.node_id))
    if node is None or not authz.can(MANAGE, node.path):
        # A node where the caller cannot manage roles is not theirs to name (nor to probe).
        if node is not None and authz.can("org.read", node.path):
            authz.require(MANAGE, node.path)
        raise ProblemError("not-found", f"No org node with id {data.node_id}.",
                           errors=[field_error("nodeId", "no such node")])
    role = await session.scalar(select(Role).where(Role.id == data.role_id))
    if role is None:
        raise ProblemError("not-found", f"No role with id {data.role_id}.",
                           errors=[field_error("roleId", "no such role")])
    await _tenant_account(session, tenant_slug, data.account_id)
    _require_may_grant(authz, role, node)
    assignment = await grant(session, account_id=data.account_id, role=role, node=node)
    return assignment, node, role


async def delete_assignment(session: AsyncSession, authz: Authorizer, assignment: RoleAssignment, node: OrgNode,
                            role: Role) -> None:
    _require_may_grant(authz, role, node)  # revoking what one could not grant is not one's call either
    if ALL in role.permissions and node.parent_id is None:
        others = await session.scalar(
            select(func.count()).select_from(RoleAssignment).join(Role, Role.id == RoleAssignment.role_id)
            .where(RoleAssignment.node_id == node.id, RoleAssignment.id != assignment.id,
                   Role.permissions.contains([ALL])))
        if not others:
            raise ProblemError("conflict", "This is the group's last administrator at the group node; assign "
                                           "another one first.")
    before = {**audit.snapshot(assignment), "roleCode": role.code, "nodePath": node.path}
    await session.delete(assignment)
    await session.flush()
    await audit.record(session, action="access.assignment.delete", entity_type=ASSIGNMENT, entity_id=assignment.id,
                       before=before)


@live_records("access.role_assignments")
async def _assignments_at(session: AsyncSession, holder: Holder) -> str | None:
    if holder.kind != "node":
        return None
    count = await session.scalar(select(func.count()).where(RoleAssignment.node_id == holder.id))
    return f"{count} role assignments" if count else None
