from __future__ import annotations

import enum
import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import Annotated

import msgspec

from app.core.schemas import ONE_LINE_PATTERN, Input, Schema
from app.domains.org.models import NodeKind, OrgNode, Unit, UnitStatus

Code = Annotated[str, msgspec.Meta(
    min_length=1, max_length=40, pattern=r"^[A-Za-z0-9][A-Za-z0-9_-]*$",
    description="Short code unique in the tenant, e.g. `SZ` or `BJ-01` (stored upper-case).")]
Name = Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
Description = Annotated[str, msgspec.Meta(max_length=4000)]
Reason = Annotated[str, msgspec.Meta(min_length=1, max_length=2000)]
UnitNumber = Annotated[str, msgspec.Meta(min_length=1, max_length=20, pattern=ONE_LINE_PATTERN,
                                         description="The unit's number in its building, e.g. `1201`.",
                                         examples=["1201"])]
# Basements are negative floors; nobody builds higher than this.
Floor = Annotated[int, msgspec.Meta(ge=-20, le=300, examples=[12])]
Layout = Annotated[str, msgspec.Meta(min_length=1, max_length=40, examples=["3室2厅2卫"])]
# A decimal string, never a JSON number (a float on the way in many clients): positive, at most
# two decimals, at most Numeric(10, 2); the pattern states it whole.
Area = Annotated[str, msgspec.Meta(
    pattern=r"^(0\.(0[1-9]|[1-9][0-9]?)|[1-9][0-9]{0,7}(\.[0-9]{1,2})?)$", examples=["89.50"],
    description="Floor area in m² as a decimal string: positive, at most two decimals.")]


class OrgNodeOut(Schema):
    id: uuid.UUID
    kind: NodeKind
    parent_id: uuid.UUID | None
    code: str
    name: str
    description: str | None
    version: int
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, node: OrgNode) -> OrgNodeOut:
        return cls(
            id=node.id, kind=node.kind, parent_id=node.parent_id, code=node.code, name=node.name,
            description=node.description, version=node.version, created_at=node.created_at,
            updated_at=node.updated_at,
        )


class ProjectOut(Schema):
    id: uuid.UUID
    kind: NodeKind
    parent_id: uuid.UUID | None  # the branch
    code: str
    name: str
    description: str | None
    handover_date: date | None
    version: int
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, node: OrgNode) -> ProjectOut:
        return cls(
            id=node.id, kind=node.kind, parent_id=node.parent_id, code=node.code, name=node.name,
            description=node.description, handover_date=node.handover_date, version=node.version,
            created_at=node.created_at, updated_at=node.updated_at,
        )


class BranchCreate(Input):
    code: Code
    name: Name
    description: Description | None = None


class NodeUpdate(Input):
    """Only the fields present are changed; ``description: null`` clears it."""

    code: Code | msgspec.UnsetType = msgspec.UNSET
    name: Name | msgspec.UnsetType = msgspec.UNSET
    description: Description | None | msgspec.UnsetType = msgspec.UNSET


class ProjectCreate(Input):
    branch_id: uuid.UUID
    code: Code
    name: Name
    description: Description | None = None
    handover_date: date | None = None


class ProjectUpdate(NodeUpdate):
    """Only the fields present are changed; ``handoverDate: null`` clears it."""

    handover_date: date | None | msgspec.UnsetType = msgspec.UNSET


class ProjectMove(Input):
    branch_id: uuid.UUID
    reason: Reason


class BuildingCreate(Input):
    project_id: uuid.UUID
    code: Code
    name: Name
    description: Description | None = None


class UnitOut(Schema):
    id: uuid.UUID
    building_id: uuid.UUID
    project_id: uuid.UUID
    number: str
    floor: int
    layout: str | None
    area: Decimal | None  # encoded as a string: exact, never a float
    status: UnitStatus
    version: int
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, unit: Unit) -> UnitOut:
        return cls(
            id=unit.id, building_id=unit.building_id, project_id=unit.project_id, number=unit.number,
            floor=unit.floor, layout=unit.layout, area=unit.area, status=unit.status, version=unit.version,
            created_at=unit.created_at, updated_at=unit.updated_at,
        )


class UnitCreate(Input):
    building_id: uuid.UUID
    number: UnitNumber
    floor: Floor
    layout: Layout | None = None
    area: Area | None = None
    status: UnitStatus = UnitStatus.unsold


class UnitUpdate(Input):
    """Only the fields present are changed; ``layout``/``area`` may be cleared with null."""

    number: UnitNumber | msgspec.UnsetType = msgspec.UNSET
    floor: Floor | msgspec.UnsetType = msgspec.UNSET
    layout: Layout | None | msgspec.UnsetType = msgspec.UNSET
    area: Area | None | msgspec.UnsetType = msgspec.UNSET
    status: UnitStatus | msgspec.UnsetType = msgspec.UNSET


class Department(str, enum.Enum):
    project_department = "project_department"  # 项目部: before the project's handover date
    customer_affairs = "customer_affairs"  # 客户事务部: from the handover date on


class Responsibility(Schema):
    department: Department
    project_id: uuid.UUID
    handover_date: date | None
    # The first day (tenant time zone) the department has been responsible: the handover
    # date for customer affairs, the project's creation day for the project department.
    since: date
