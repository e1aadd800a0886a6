"""Org tree rules: one root per tenant, a fixed shape (group → branch → project → building,
units in buildings), unique codes, no deleting a node that still holds anything, and every
read and write inside the caller's subtrees (``Authorizer``).

Visibility: a record the caller may not read (``org.read`` at its node) is answered like
one that does not exist (404), so ids cannot be probed; one the caller may read but not
change answers 403. Creating and deleting a node need ``org.manage`` at its parent (they
change the parent's children), changing it needs ``org.manage`` at the node itself.

The package holds one aggregate per module (nodes, units, responsibility, the live-records
hooks; common: what they share); this module gathers what the rest of the application calls.
"""

from __future__ import annotations

from app.domains.org.services.common import ENTITY, MANAGE, READ, ROOT_CODE, UNIT, parent_path
from app.domains.org.services.hooks import LIVE_RECORD_CHECKS, Holder, LiveRecordsCheck, live_records, records_at
from app.domains.org.services.nodes import (
    GROUP_NODE,
    NODE_BY_ID,
    NODE_SORT,
    PROJECT_SORT,
    create_branch,
    create_building,
    create_project,
    create_root,
    delete_node,
    get_root,
    list_branches,
    list_buildings,
    list_projects,
    lock_node,
    move_project,
    read_node,
    read_root,
    update_node,
)
from app.domains.org.services.responsibility import responsibility, unit_responsibility
from app.domains.org.services.units import (
    UNIT_BY_ID,
    UNIT_SORT,
    create_unit,
    delete_unit,
    get_unit,
    list_units,
    read_unit,
    update_unit,
)

__all__ = [
    "ENTITY", "GROUP_NODE", "Holder", "LIVE_RECORD_CHECKS", "LiveRecordsCheck", "MANAGE", "NODE_BY_ID",
    "NODE_SORT", "PROJECT_SORT", "READ", "ROOT_CODE", "UNIT", "UNIT_BY_ID", "UNIT_SORT", "create_branch",
    "create_building", "create_project", "create_root", "create_unit", "delete_node", "delete_unit", "get_root",
    "get_unit", "list_branches", "list_buildings", "list_projects", "list_units", "live_records", "lock_node",
    "move_project", "parent_path", "read_node", "read_root", "read_unit", "records_at", "responsibility",
    "unit_responsibility", "update_node", "update_unit",
]
