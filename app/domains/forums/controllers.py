"""HTTP for customer forums and their improvement actions: requests become service calls."""

from __future__ import annotations

import uuid
from typing import Any

from litestar import Controller, Request, Response, get, patch, post
from litestar.di import Provide
from litestar.params import Parameter
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.scopes import requires
from app.core.deps import provide_tenant_session
from app.core.pagination import PageParams, page_params
from app.core.schemas import Page
from app.core.writes import created, updated, with_etag
from app.domains.access.authz import Authorizer, provide_authz
from app.domains.forums import actions, services
from app.domains.forums.models import ActionStatus
from app.domains.forums.schemas import (
    ActionDone,
    ActionDrop,
    ActionOut,
    ActionUpdate,
    Cancellation,
    Closing,
    FindingIn,
    FindingOut,
    ForumCreate,
    ForumOut,
    ForumStatus,
    ForumUpdate,
    Invitations,
    InviteeOut,
    Minutes,
    Submission,
)

BASE = "/api/v1/forums"
DEPENDENCIES = {"session": Provide(provide_tenant_session), "authz": Provide(provide_authz)}
NODE_FILTER = "Records at this org node or below it."
MOVES = [404, 409, 412, 428]


class ForumController(Controller):
    path = BASE
    tags = ["Forums"]
    dependencies = DEPENDENCIES

    @get("/", operation_id="listForums", summary="List customer forums",
         dependencies={"page": page_params(*services.SORT)}, **requires("forums:read"))
    async def list_forums(self, session: AsyncSession, authz: Authorizer, page: PageParams,
                          status: ForumStatus | None = Parameter(query="status", default=None),
                          node_id: uuid.UUID | None = Parameter(query="nodeId", default=None,
                                                                description=NODE_FILTER)) -> Page[ForumOut]:
        return await services.list_forums(session, authz, page, status=status, node_id=node_id)

    @post("/", operation_id="planForum", summary="Plan a customer forum: its purpose, timing, format, participants, "
                                                 "budget",
          description="At a project or branch. With `submit` the plan goes to the `forum_plan` approval chain.",
          **requires("forums:write", errors=[404, 409]))
    async def plan(self, request: Request[Any, Any, Any], session: AsyncSession, authz: Authorizer,
                   data: ForumCreate) -> Response[ForumOut]:
        return await created(request, session, lambda: services.create_forum(session, authz, data),
                             lambda f: services.forum_out(session, f), lambda f: f"{BASE}/{f.id}")

    @get("/{forum_id:uuid}", operation_id="getForum", summary="A forum with its plan and minutes",
         **requires("forums:read", errors=[404]))
    async def get_forum(self, session: AsyncSession, authz: Authorizer, forum_id: uuid.UUID) -> Response[ForumOut]:
        f, _ = await services.get_forum(session, authz, forum_id)
        return with_etag(await services.forum_out(session, f), f.version)

    @patch("/{forum_id:uuid}", operation_id="reviseForum", summary="Revise a draft plan, or one rejected or withdrawn",
           **requires("forums:write", errors=MOVES))
    async def revise(self, request: Request[Any, Any, Any], session: AsyncSession, authz: Authorizer,
                     forum_id: uuid.UUID, data: ForumUpdate) -> Response[ForumOut]:
        return await updated(request, services.get_forum(session, authz, forum_id, lock=True),
                             lambda f, path: services.update_forum(session, authz, f, path, data),
                             lambda f: services.forum_out(session, f))

    @post("/{forum_id:uuid}/submit", operation_id="submitForum", status_code=200,
          summary="Send the plan to approval (again)", **requires("forums:write", errors=MOVES))
    async def submit(self, request: Request[Any, Any, Any], session: AsyncSession, authz: Authorizer,
                     forum_id: uuid.UUID, data: Submission) -> Response[ForumOut]:
        return await updated(request, services.get_forum(session, authz, forum_id, lock=True),
                             lambda f, path: services.submit_forum(session, authz, f, path, data),
                             lambda f: services.forum_out(session, f))

    @get("/{forum_id:uuid}/invitations", operation_id="listForumInvitations",
         summary="Who was invited, and who came", **requires("forums:read", errors=[404]))
    async def list_invitations(self, session: AsyncSession, authz: Authorizer,
                               forum_id: uuid.UUID) -> list[InviteeOut]:
        f, _ = await services.get_forum(session, authz, forum_id)
        return await services.invitees(session, f)

    @post("/{forum_id:uuid}/invitations", operation_id="inviteToForum", status_code=200,
          summary="Invite customers (before the meeting)", **requires("forums:write", errors=MOVES))
    async def invite(self, request: Request[Any, Any, Any], session: AsyncSession, authz: Authorizer,
                     forum_id: uuid.UUID, data: Invitations) -> Response[ForumOut]:
        return await updated(request, services.get_forum(session, authz, forum_id, lock=True),
                             lambda f, path: services.invite(session, authz, f, path, data),
                             lambda f: services.forum_out(session, f))

    @post("/{forum_id:uuid}/minutes", operation_id="recordForumMinutes", status_code=200,
          summary="The meeting took place: minutes and attendance (its plan approved)",
          **requires("forums:write", errors=MOVES))
    async def minutes(self, request: Request[Any, Any, Any], session: AsyncSession, authz: Authorizer,
                      forum_id: uuid.UUID, data: Minutes) -> Response[ForumOut]:
        return await updated(request, services.get_forum(session, authz, forum_id, lock=True),
                             lambda f, path: services.record_minutes(session, authz, f, path, data),
                             lambda f: services.forum_out(session, f))

    @get("/{forum_id:uuid}/findings", operation_id="listForumFindings",
         summary="The findings of a forum with their improvement actions", **requires("forums:read", errors=[404]))
    async def list_findings(self, session: AsyncSession, authz: Authorizer, forum_id: uuid.UUID) -> list[FindingOut]:
        f, _ = await services.get_forum(session, authz, forum_id)
        return await services.findings(session, f)

    @post("/{forum_id:uuid}/findings", operation_id="addForumFinding",
          summary="A classified finding and the improvement actions it calls for",
          **requires("forums:write", errors=[404, 409]))
    async def add_finding(self, request: Request[Any, Any, Any], session: AsyncSession, authz: Authorizer,
                          forum_id: uuid.UUID, data: FindingIn) -> Response[FindingOut]:
        async def make() -> Any:
            f, path = await services.get_forum(session, authz, forum_id, lock=True)
            return await services.add_finding(session, authz, f, path, data)

        return await created(request, session, make, lambda x: services.finding_out(session, x),
                             lambda x: f"{BASE}/{forum_id}/findings")

    @post("/{forum_id:uuid}/close", operation_id="closeForum", status_code=200,
          summary="Close a forum with the analysis of what was heard", **requires("forums:write", errors=MOVES))
    async def close(self, request: Request[Any, Any, Any], session: AsyncSession, authz: Authorizer,
                    forum_id: uuid.UUID, data: Closing) -> Response[ForumOut]:
        return await updated(request, services.get_forum(session, authz, forum_id, lock=True),
                             lambda f, path: services.close(session, authz, f, path, data),
                             lambda f: services.forum_out(session, f))

    @post("/{forum_id:uuid}/cancel", operation_id="cancelForum", status_code=200,
          summary="Cancel a forum (one under review: withdraw its request first)",
          **requires("forums:write", errors=MOVES))
    async def cancel(self, request: Request[Any, Any, Any], session: AsyncSession, authz: Authorizer,
                     forum_id: uuid.UUID, data: Cancellation) -> Response[ForumOut]:
        return await updated(request, services.get_forum(session, authz, forum_id, lock=True),
                             lambda f, path: services.cancel(session, authz, f, path, data),
                             lambda f: services.forum_out(session, f))


class ActionController(Controller):
    path = f"{BASE}/actions"
    tags = ["Forums"]
    dependencies = DEPENDENCIES

    @get("/", operation_id="listImprovementActions", summary="Improvement actions (overdue, one's own, a forum's)",
         dependencies={"page": page_params(*actions.SORT)}, **requires("forums:read"))
    async def list_actions(self, session: AsyncSession, authz: Authorizer, page: PageParams,
                           status: ActionStatus | None = Parameter(query="status", default=None),
                           overdue: bool | None = Parameter(query="overdue", default=None,
                                                            description="true: open past the due date."),
                           mine: bool | None = Parameter(query="mine", default=None,
                                                         description="true: those the caller owns."),
                           forum_id: uuid.UUID | None = Parameter(query="forumId", default=None),
                           node_id: uuid.UUID | None = Parameter(query="nodeId", default=None,
                                                                 description=NODE_FILTER)) -> Page[ActionOut]:
        return await actions.list_actions(session, authz, page, status=status, overdue=overdue, mine=mine,
                                          forum_id=forum_id, node_id=node_id)

    @get("/{action_id:uuid}", operation_id="getImprovementAction", summary="An improvement action",
         **requires("forums:read", errors=[404]))
    async def get_action(self, session: AsyncSession, authz: Authorizer,
                         action_id: uuid.UUID) -> Response[ActionOut]:
        a, _ = await actions.get_action(session, authz, action_id)
        return with_etag(await actions.show(session, a), a.version)

    @patch("/{action_id:uuid}", operation_id="followUpImprovementAction",
           summary="Follow up: progress, a new owner or due date", **requires("forums:write", errors=MOVES))
    async def follow_up(self, request: Request[Any, Any, Any], session: AsyncSession, authz: Authorizer,
                        action_id: uuid.UUID, data: ActionUpdate) -> Response[ActionOut]:
        return await updated(request, actions.get_action(session, authz, action_id, lock=True),
                             lambda a, path: actions.follow_up(session, authz, a, path, data),
                             lambda a: actions.show(session, a))

    @post("/{action_id:uuid}/complete", operation_id="completeImprovementAction", status_code=200,
          summary="The action is done: its result", **requires("forums:write", errors=MOVES))
    async def complete(self, request: Request[Any, Any, Any], session: AsyncSession, authz: Authorizer,
                       action_id: uuid.UUID, data: ActionDone) -> Response[ActionOut]:
        return await updated(request, actions.get_action(session, authz, action_id, lock=True),
                             lambda a, path: actions.complete(session, authz, a, path, data),
                             lambda a: actions.show(session, a))

    @post("/{action_id:uuid}/drop", operation_id="dropImprovementAction", status_code=200,
          summary="Drop an action, with the reason", **requires("forums:write", errors=MOVES))
    async def drop(self, request: Request[Any, Any, Any], session: AsyncSession, authz: Authorizer,
                   action_id: uuid.UUID, data: ActionDrop) -> Response[ActionOut]:
        return await updated(request, actions.get_action(session, authz, action_id, lock=True),
                             lambda a, path: actions.drop(session, authz, a, path, data),
                             lambda a: actions.show(session, a))


CONTROLLERS: list[type[Controller]] = [ActionController, ForumController]
