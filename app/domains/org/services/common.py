"""What the org package's aggregates share: entity names, permissions, and paths."""

from __future__ import annotations

ENTITY = "org_node"
UNIT = "unit"
ROOT_CODE = "GROUP"
READ = "org.read"
MANAGE = "org.manage"


def parent_path(path: str) -> str:
    return path.rpartition("/")[0]
