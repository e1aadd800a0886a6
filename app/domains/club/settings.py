"""The club's tenant policy over HTTP: how long points stay valid (expiry.py)."""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
from litestar import Controller, Request, Response, get, put
from litestar.di import Provide
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.scopes import requires
from app.core import tenant_settings
from app.core.deps import provide_tenant_session
from app.core.etag import check_if_match, etag
from app.core.schemas import Input, Schema
from app.domains.access.authz import Authorizer, provide_authz
from app.domains.club.clubs import POINTS, READ
from app.domains.club.expiry import VALIDITY
from app.domains.org.services import get_root

Months = Annotated[int, msgspec.Meta(ge=1, le=120)]


class ClubSettingsIn(Input):
    """Points earned expire this many months later (their earning day's date, at its start)."""

    points_valid_months: Months


class ClubSettings(Schema):
    points_valid_months: int


class ClubSettingsController(Controller):
    path = "/api/v1/club/settings"
    tags = ["Club"]
    dependencies = {"session": Provide(provide_tenant_session), "authz": Provide(provide_authz)}

    @get("", operation_id="getClubSettings", summary="The group's club policy (points validity)",
         description=("The group's club policy: how many months earned points stay valid before the daily scan "
                      "expires them (oldest first); `ETag` for a change."),
         **requires("club:read"))
    async def get_settings(self, session: AsyncSession, authz: Authorizer) -> Response[ClubSettings]:
        authz.require_anywhere(READ)
        value, version = await tenant_settings.get(session, VALIDITY)
        return Response(ClubSettings(points_valid_months=int(value["months"])), headers={"ETag": etag(version)})

    @put("", operation_id="putClubSettings", summary="Change the group's club policy",
         description="Needs `club.points` at the group node. If-Match `\"0\"` while the defaults apply.",
         **requires("club:write", errors=[412, 428]))
    async def put_settings(self, request: Request[Any, Any, Any], session: AsyncSession, authz: Authorizer,
                           data: ClubSettingsIn) -> Response[ClubSettings]:
        authz.require(POINTS, (await get_root(session)).path)
        _, version = await tenant_settings.get(session, VALIDITY, lock=True)
        check_if_match(request, version)
        version = await tenant_settings.put(session, VALIDITY, {"months": data.points_valid_months})
        return Response(ClubSettings(points_valid_months=data.points_valid_months), headers={"ETag": etag(version)})
