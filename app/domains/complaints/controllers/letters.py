"""HTTP for work-liaison letters of both registers."""

from __future__ import annotations

import uuid
from typing import Any

from litestar import Controller, Request, Response, get, post
from litestar.params import Parameter
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.scopes import requires
from app.core.etag import check_if_match, etag
from app.core.pagination import PageParams, page_params
from app.core.schemas import Page
from app.domains.access.authz import Authorizer
from app.domains.complaints import services
from app.domains.complaints.controllers.common import DEPENDENCIES, LETTERS, MOVES
from app.domains.complaints.models import LetterStatus
from app.domains.complaints.schemas import (
    CapaLetterOut,
    LetterResponseIn,
)


class CapaLetterController(Controller):
    """Work-liaison letters of both registers: follow them up, record the department's response."""

    path = LETTERS
    tags = ["Complaints"]
    dependencies = DEPENDENCIES

    @get("/", operation_id="listCapaLetters", summary="Work-liaison letters (overdue ones, one record's, ...)",
         dependencies={"page": page_params(*services.LETTER_SORT)},
         description="Work-liaison letters (corrective and preventive action requests sent to the party "
                     "responsible), a page at a time: filter by status, overdue or the complaint they came from. "
                     "Needs complaints:read.",
         **requires("complaints:read"))
    async def list_letters(
        self, session: AsyncSession, authz: Authorizer, page: PageParams,
        status: LetterStatus | None = Parameter(query="status", default=None),
        overdue: bool | None = Parameter(query="overdue", default=None,
                                         description="true: not responded to by the due date."),
        complaint_id: uuid.UUID | None = Parameter(query="complaintId", default=None),
    ) -> Page[CapaLetterOut]:
        return await services.list_letters(session, authz, page, status=status, overdue=overdue,
                                           complaint_id=complaint_id)

    @get("/{letter_id:uuid}", operation_id="getCapaLetter", summary="A work-liaison letter",
         description="One work-liaison letter: what was asked of whom and by when, and the response once "
                     "recorded. Its ETag is what If-Match needs to record the response. Needs complaints:read; "
                     "404 for an unknown id.",
         **requires("complaints:read", errors=[404]))
    async def get_letter(self, session: AsyncSession, authz: Authorizer,
                         letter_id: uuid.UUID) -> Response[CapaLetterOut]:
        letter, c, _ = await services.get_letter(session, authz, letter_id)
        return Response(await services.letter_view(session, letter, c), headers={"ETag": etag(letter.version)})

    @post("/{letter_id:uuid}/response", operation_id="respondToCapaLetter", status_code=200,
          summary="Record the responsible department's response",
          description="By the letter's assignee, or anyone who may work the record.",
          **requires("complaints:write", errors=MOVES))
    async def respond(self, request: Request[Any, Any, Any], session: AsyncSession, authz: Authorizer,
                      letter_id: uuid.UUID, data: LetterResponseIn) -> Response[CapaLetterOut]:
        letter, c, path = await services.get_letter(session, authz, letter_id, lock=True)
        check_if_match(request, letter.version)
        letter = await services.respond_letter(session, authz, letter, c, path, data)
        return Response(await services.letter_view(session, letter, c), headers={"ETag": etag(letter.version)})
