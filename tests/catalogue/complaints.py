"""Route-catalogue entries of the complaints routes (see tests/catalogue/__init__.py)."""

from __future__ import annotations

from tests.catalogue import SubtreeSpec
from tests.routes import Factory

FACTORIES: dict[str, Factory] = {}

SUBTREE = SubtreeSpec()
