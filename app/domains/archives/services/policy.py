"""The group's archive policy: numbering, classification levels, retention mode, URL lifetimes,
the largest page."""

from __future__ import annotations

import re
from typing import Any

import msgspec
from sqlalchemy import Column, String, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core import tenant_settings
from app.core.problems import ProblemError, field_error
from app.domains.access.authz import Authorizer
from app.domains.archives.models import (
    ArchiveVolume,
    RetentionPeriod,
)
from app.domains.archives.schemas import (
    ArchivePolicy,
    ArchiveSettings,
)
from app.domains.archives.services.common import CONFIGURE, POLICY, clearance
from app.domains.org import services as org

RETENTION_CODES = {RetentionPeriod.permanent: "Y", RetentionPeriod.years_30: "D30", RetentionPeriod.years_10: "D10"}


def text_length(column: Column[Any]) -> int:
    """The most characters a String column holds."""
    assert isinstance(column.type, String) and column.type.length is not None
    return column.type.length


NUMBER_MAX = text_length(ArchiveVolume.__table__.c.archive_number)
# The item placeholder is given room for ten digits, whatever itemDigits pads it to.
ITEM_WIDTH = 10


async def get_policy(session: AsyncSession, *, lock: bool = False) -> tuple[ArchivePolicy, int]:
    value, version = await tenant_settings.get(session, POLICY, lock=lock)
    return msgspec.convert(value, ArchivePolicy), version


def settings_out(policy: ArchivePolicy, version: int) -> ArchiveSettings:
    return ArchiveSettings(policy=policy, version=version, clearance_permissions={
        level.code: clearance(n) for n, level in enumerate(policy.classification_levels, 1)})


def level_codes(policy: ArchivePolicy) -> list[str]:
    return [level.code for level in policy.classification_levels]


def require_level(policy: ArchivePolicy, code: str, field: str) -> None:
    if code not in level_codes(policy):
        raise ProblemError("conflict", f"{code!r} is not one of the group's classification levels "
                                       f"({', '.join(level_codes(policy))}).",
                           errors=[field_error(field, "not a classification level of the group")])


def _longest_number(policy: ArchivePolicy) -> int:
    """The most characters an archive number of the policy's pattern can have."""
    scheme = policy.numbering
    widths = {"fonds": len(scheme.fonds), "category": len(scheme.category), "year": 4,
              "retention": max(map(len, RETENTION_CODES.values())),
              "organisation": text_length(ArchiveVolume.__table__.c.organisation_code),
              "item": max(scheme.item_digits, ITEM_WIDTH)}
    return len(re.sub(r"\{(\w+)\}", lambda m: "x" * widths[m.group(1)], scheme.pattern))


async def put_policy(session: AsyncSession, authz: Authorizer, data: ArchivePolicy) -> int:
    authz.require(CONFIGURE, (await org.get_root(session)).path)
    codes = level_codes(data)
    errors = [field_error(f"classificationLevels.{i}.code", "listed twice")
              for i, code in enumerate(codes) if code in codes[:i]]
    if (longest := _longest_number(data)) > NUMBER_MAX:
        errors.append(field_error("numbering.pattern", f"numbers of up to {longest} characters, above {NUMBER_MAX}"))
    if data.default_classification not in codes:
        errors.append(field_error("defaultClassification", "not one of the classification levels"))
    used = (await session.scalars(select(ArchiveVolume.classification).distinct())).all()
    errors += [field_error("classificationLevels", f"{code!r} is the level of existing volumes")
               for code in sorted(set(used) - set(codes))]
    if errors:
        raise ProblemError("conflict", "The policy does not fit: " + "; ".join(
            f"{e.field}: {e.message}" for e in errors), errors=errors)
    return await tenant_settings.put(session, POLICY, msgspec.to_builtins(data))
