from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

import msgspec

from app.core.schemas import Input, Schema
from app.domains.access.authz import GRANTABLE
from app.domains.access.models import Role, RoleAssignment
from app.domains.org.models import NodeKind

RoleCode = Annotated[str, msgspec.Meta(min_length=2, max_length=60, pattern=r"^[a-z][a-z0-9_]*$",
                                       description="Stable code, e.g. `complaints_officer`.")]
Name = Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
Description = Annotated[str, msgspec.Meta(max_length=4000)]
Permission = Annotated[str, msgspec.Meta(min_length=1, max_length=100)]
# Litestar leaves a list's item constraints out of the document: the list states them, with
# the names registered when the document is built (GRANTABLE is the live list).
Permissions = Annotated[list[Permission], msgspec.Meta(
    max_length=200, extra_json_schema={"extra": {"items": {"type": "string", "enum": GRANTABLE}}},
    description="Registered permission names (GET /api/v1/access/permissions), or `*` for every permission, "
                "including those added later.")]


class PermissionOut(Schema):
    name: str
    description: str


class RoleOut(Schema):
    id: uuid.UUID
    code: str
    name: str
    description: str | None
    permissions: list[str]
    system: bool  # seeded at provisioning: editable, never deletable
    version: int
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, role: Role) -> RoleOut:
        return cls(id=role.id, code=role.code, name=role.name, description=role.description,
                   permissions=list(role.permissions), system=role.system, version=role.version,
                   created_at=role.created_at, updated_at=role.updated_at)


class RoleCreate(Input):
    code: RoleCode
    name: Name
    description: Description | None = None
    permissions: Permissions = msgspec.field(default_factory=list)


class RoleUpdate(Input):
    """Only the fields present are changed; the code is a role's identity and stays."""

    name: Name | msgspec.UnsetType = msgspec.UNSET
    description: Description | None | msgspec.UnsetType = msgspec.UNSET
    permissions: Permissions | msgspec.UnsetType = msgspec.UNSET


class AssignmentOut(Schema):
    id: uuid.UUID
    account_id: uuid.UUID
    role_id: uuid.UUID
    role_code: str
    node_id: uuid.UUID
    node_kind: NodeKind
    created_at: datetime

    @classmethod
    def of(cls, assignment: RoleAssignment, role_code: str, node_kind: NodeKind) -> AssignmentOut:
        return cls(id=assignment.id, account_id=assignment.account_id, role_id=assignment.role_id,
                   role_code=role_code, node_id=assignment.node_id, node_kind=node_kind,
                   created_at=assignment.created_at)


class AssignmentCreate(Input):
    account_id: uuid.UUID
    role_id: uuid.UUID
    node_id: uuid.UUID
