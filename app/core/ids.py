"""Identifiers: UUIDv7 everywhere (time-ordered, index-friendly)."""

from __future__ import annotations

import uuid

import uuid_utils.compat


def new_id() -> uuid.UUID:
    return uuid_utils.compat.uuid7()
