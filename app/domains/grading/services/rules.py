"""The group's grading rules: read, and set (normalised, versioned and audited as a tenant
setting).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import msgspec
from sqlalchemy.ext.asyncio import AsyncSession

from app.core import tenant_settings
from app.domains.access.authz import Authorizer
from app.domains.grading.models import Grade
from app.domains.grading.schemas import Rules, RulesOut
from app.domains.grading.services.common import CONFIGURE, READ, RULES
from app.domains.org import services as org

# -------------------------------------------------------------------------------- rules


def rules_of(value: Any) -> Rules:
    # Rules a group stored before there was a method were RFM rules: they stay RFM.
    if isinstance(value, dict) and "method" not in value:
        value = {**value, "method": "rfm"}
    return msgspec.convert(value, Rules)


def normalised(rules: Rules) -> Rules:
    """The rules as kept and used: each set of cut points ascending."""
    rfm = rules.rfm
    return msgspec.structs.replace(rules, rfm=msgspec.structs.replace(
        rfm, recency_days=sorted(rfm.recency_days), frequency=sorted(rfm.frequency),
        monetary=sorted(rfm.monetary, key=Decimal)),
        sales=msgspec.structs.replace(rules.sales, growth=sorted(rules.sales.growth)))


def bands_of(rules: Rules) -> list[tuple[Grade, Decimal]]:
    b = rules.bands
    return [(Grade.A, Decimal(b.a)), (Grade.B, Decimal(b.b)), (Grade.C, Decimal(b.c)), (Grade.D, Decimal(b.d))]


async def get_rules(session: AsyncSession, authz: Authorizer, *, lock: bool = False) -> RulesOut:
    authz.require_anywhere(READ)
    value, version = await tenant_settings.get(session, RULES, lock=lock)
    return RulesOut(rules=rules_of(value), is_default=version == 0, version=version)


async def put_rules(session: AsyncSession, authz: Authorizer, rules: Rules) -> RulesOut:
    authz.require(CONFIGURE, (await org.get_root(session)).path)
    rules = normalised(rules)
    version = await tenant_settings.put(session, RULES, msgspec.to_builtins(rules))
    return RulesOut(rules=rules, is_default=False, version=version)
