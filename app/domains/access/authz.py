"""The one permission check every domain uses.

permission = token scope (the route's scope check) ∧ a role permission ∧ the record's org node
lies in the subtree of the node the role was assigned at. Deny by default.

- ``Authorizer.require(permission, node_path)`` guards one record (403 otherwise).
- ``Authorizer.visible(permission, node_id_column)`` is the WHERE clause that keeps a list
  inside the caller's subtrees, so lists never include rows the caller may not see.
- A role holding ``"*"`` (``ALL``) has every registered permission, present and future.

Grants are loaded once per request (one query). Callers:
- a **user** token (staff): the permissions of their role assignments, each on its subtree;
- a **client** token (client credentials, no user): a partner back end registered by the
  group, acting for the whole group within its scopes;
- an **owner** (a home owner): no role grants; domains show owners their own records only
  (``Authorizer.owner_id``).
"""

from __future__ import annotations

import bisect
import sys
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from litestar import Request
from sqlalchemy import ColumnElement, bindparam, false, or_, select, true
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.principal import Principal
from app.core.pagination import ColumnLike
from app.core.problems import ProblemError
from app.core.reads import Read, TenantReader
from app.domains.access.models import Role, RoleAssignment
from app.domains.org.models import OrgNode

# permission -> description. Domains add theirs with register_permissions() at import.
PERMISSIONS: dict[str, str] = {}

# In a role's permissions: every permission, including those registered after the role was
# saved (the group administrator must not lose rights each time a domain adds one).
ALL = "*"
# What the OpenAPI document offers a role: the wildcard and the product's permissions. A live
# list the document reads when it is built (after every domain registered). Names registered
# outside the app (by tests) stay valid but undocumented, so that every process that builds
# the document builds the same one; kept sorted ("*" first), so that the order in which
# domains happened to be imported does not show in it.
GRANTABLE: list[str] = [ALL]


def register_permissions(entries: dict[str, str]) -> None:
    for name, description in entries.items():
        if name == ALL:
            raise ValueError(f"{ALL!r} is the wildcard, not a permission")
        if name in PERMISSIONS and PERMISSIONS[name] != description:
            raise ValueError(f"permission {name!r} registered twice with different descriptions")
        if name not in PERMISSIONS and sys._getframe(1).f_globals.get("__name__", "").split(".")[0] == "app":
            bisect.insort(GRANTABLE, name)
        PERMISSIONS[name] = description


register_permissions({
    "org.read": "See the org tree (branches, projects, buildings, units) in one's subtree.",
    "org.manage": "Create, change, move and delete org nodes and units in one's subtree.",
    "roles.manage": "Define roles and assign them to accounts in one's subtree.",
    "audit.read": "Search and export the audit trail.",
    "approvals.configure": "Configure approval chains.",
})


def _under(path: str, root: str) -> bool:
    return path == root or path.startswith(root + "/")


def _is_root(path: str) -> bool:
    return "/" not in path  # the group node's path is its own id alone


@dataclass
class Authorizer:
    principal: Principal
    # permission -> org paths where it is granted; None means the whole group.
    grants: dict[str, list[str]] = field(default_factory=dict)
    whole_group: bool = False
    account_id: uuid.UUID | None = None

    @property
    def owner_id(self) -> uuid.UUID | None:
        """The account id of a home owner calling with owner:self, else None."""
        return self.account_id if "owner:self" in self.principal.scopes else None

    def paths(self, permission: str) -> list[str] | None:
        """Where ``permission`` holds: None for the whole group, [] for nowhere."""
        if permission not in PERMISSIONS:
            raise ValueError(f"unknown permission {permission!r}; register it first")
        if self.whole_group:
            return None
        paths = self.grants.get(permission, [])
        # Granted at the group node: the whole group, and lists need no filter at all.
        return None if any(_is_root(p) for p in paths) else paths

    def can(self, permission: str, node_path: str) -> bool:
        paths = self.paths(permission)
        return paths is None or any(_under(node_path, root) for root in paths)

    def require(self, permission: str, node_path: str) -> None:
        if not self.can(permission, node_path):
            raise ProblemError("forbidden", f"You lack the permission {permission} here.")

    def require_anywhere(self, permission: str) -> None:
        paths = self.paths(permission)
        if paths is not None and not paths:
            raise ProblemError("forbidden", f"You lack the permission {permission}.")

    def visible(self, permission: str, node_id: ColumnLike[Any]) -> ColumnElement[bool]:
        """A WHERE clause keeping rows whose ``node_id`` lies in a granted subtree."""
        paths = self.paths(permission)
        if paths is None:
            return true()
        if not paths:
            return false()
        return node_id.in_(select(OrgNode.id).where(_inside(paths, OrgNode.path)))

    def visible_path(self, permission: str, path: ColumnLike[str]) -> ColumnElement[bool]:
        """The same for rows that carry an org path themselves (org nodes): no subquery."""
        paths = self.paths(permission)
        if paths is None:
            return true()
        if not paths:
            return false()
        return _inside(paths, path)


def _inside(paths: list[str], path: ColumnLike[str]) -> ColumnElement[bool]:
    # Paths are ids and '/', never LIKE wildcards; a prefix match uses the text_pattern_ops index.
    return or_(*(or_(path == p, path.like(p + "/%")) for p in paths))


SYSTEM_PRINCIPAL = Principal(subject="system", client_id="system", scopes=frozenset(), tenant=None, token_id="",
                             expires_at=0)


def trusted() -> Authorizer:
    """For the system's own code (seeding, background tasks): the whole group, as there is no
    caller whose grants could narrow it."""
    return Authorizer(principal=SYSTEM_PRINCIPAL, whole_group=True)


# The grants of one account: the org path of each assignment, and its role's permissions.
GRANTS = Read(
    select(OrgNode.path, Role.permissions)
    .join(RoleAssignment, RoleAssignment.node_id == OrgNode.id)
    .join(Role, Role.id == RoleAssignment.role_id)
    .where(RoleAssignment.account_id == bindparam("account_id"))
)


async def load_authorizer(source: AsyncSession | TenantReader, principal: Principal) -> Authorizer:
    """The caller's grants, read in ``source``: a request's reader, or a session (whose
    transaction then sees the assignments it has not committed yet)."""
    if principal.kind == "client":
        return Authorizer(principal=principal, whole_group=True)
    try:
        account_id = uuid.UUID(principal.subject)
    except ValueError:
        return Authorizer(principal=principal)  # not an account: nothing granted
    rows: Sequence[Any]
    if isinstance(source, TenantReader):
        rows = await source.all(GRANTS, account_id=account_id)
    else:
        rows = (await source.execute(GRANTS.statement, {"account_id": account_id})).all()
    grants: dict[str, list[str]] = {}
    for path, permissions in rows:
        # The wildcard expands against the permissions registered now, not when the role was saved.
        for permission in PERMISSIONS if ALL in permissions else permissions:
            grants.setdefault(permission, []).append(path)
    # A grant under another grant of the same permission adds nothing: keep the outermost.
    for permission, paths in grants.items():
        grants[permission] = [p for p in paths if not any(q != p and _under(p, q) for q in paths)]
    return Authorizer(principal=principal, grants=grants, account_id=account_id)


async def provide_authz(request: Request[Any, Any, Any], reader: TenantReader) -> Authorizer:
    """Litestar dependency: the caller's grants in this tenant (through ``reader``)."""
    return await load_authorizer(reader, request.user)
