"""HTTP for the calendars domain: translate requests to service calls, nothing more."""

from __future__ import annotations

import uuid
from typing import Any

from litestar import Controller, Request, Response, get, post, put
from litestar.di import Provide
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.scopes import requires
from app.core.deps import provide_tenant_session
from app.core.etag import check_if_match, etag
from app.core.idempotency import idempotent
from app.core.pagination import PageParams, page_params
from app.core.schemas import Page
from app.domains.access.authz import Authorizer, provide_authz
from app.domains.calendars import services
from app.domains.calendars.schemas import CalendarCreate, CalendarOut, CalendarReplace, CalendarSummary

BASE = "/api/v1/calendars"
_RULES = ("Overlapping holidays, a make-up day inside a holiday or given twice, a holiday running past "
          "9999-12-31: 409 `conflict` whose errors name the entries; an unknown time zone: 422. Needs the "
          "permission `calendars.manage` at the group node.")


async def _out(session: AsyncSession, row: Any, status: int = 200) -> Response[CalendarOut]:
    return Response(await services.calendar_out(session, row), status_code=status, headers={"ETag": etag(row.version)})


class CalendarController(Controller):
    path = BASE
    tags = ["Calendars"]
    dependencies = {"session": Provide(provide_tenant_session), "authz": Provide(provide_authz)}

    @get("/", operation_id="listCalendars", summary="List the group's working calendars",
         dependencies={"page": page_params(*services.SORT)},
         description="The group's working calendars, a page at a time, marking the default one that business-time"
                     " clocks (SLA targets counted in working hours) count in. Needs calendars:read.",
         **requires("calendars:read"))
    async def list_calendars(self, session: AsyncSession, page: PageParams) -> Page[CalendarSummary]:
        return await services.list_calendars(session, page)

    @post("/", operation_id="createCalendar", summary="Create a working calendar",
          description=_RULES + " The first calendar, or one with `isDefault: true`, becomes the default that "
                               "business-time clocks count in.",
          **requires("calendars:write", errors=[409]))
    async def create_calendar(self, request: Request[Any, Any, Any], session: AsyncSession, authz: Authorizer,
                              data: CalendarCreate) -> Response[CalendarOut]:
        await services.require_manager(session, authz)

        async def produce() -> Response[CalendarOut]:
            row = await services.create_calendar(session, data)
            response = await _out(session, row, 201)
            response.headers["Location"] = f"{BASE}/{row.id}"
            return response

        return await idempotent(request, session, produce)

    @get("/{calendar_id:uuid}", operation_id="getCalendar",
         summary="A working calendar with its hours, holidays and make-up working days",
         description="One working calendar: its working hours, weekly rest days, and per year the public holidays"
                     " and make-up working days. Its ETag is what If-Match needs to replace it. Needs "
                     "calendars:read; 404 for an unknown id.",
         **requires("calendars:read", errors=[404]))
    async def get_calendar(self, session: AsyncSession, calendar_id: uuid.UUID) -> Response[CalendarOut]:
        return await _out(session, await services.get_calendar(session, calendar_id))

    @put("/{calendar_id:uuid}", operation_id="replaceCalendar",
         summary="Replace a calendar: hours, rest days, holidays and make-up days of every year",
         description=_RULES + " Enter later years' holidays here: the official calendar a tenant starts with "
                              "stops at the last year the `chinese-calendar` package knows. Open SLA clocks take "
                              "the new calendar at their next change or scan.",
         **requires("calendars:write", errors=[404, 409, 412, 428]))
    async def replace_calendar(self, request: Request[Any, Any, Any], session: AsyncSession, authz: Authorizer,
                               calendar_id: uuid.UUID, data: CalendarReplace) -> Response[CalendarOut]:
        row = await services.get_calendar(session, calendar_id, lock=True)
        await services.require_manager(session, authz)
        check_if_match(request, row.version)
        return await _out(session, await services.replace_calendar(session, row, data))


CONTROLLERS: list[type[Controller]] = [CalendarController]
