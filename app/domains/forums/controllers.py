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
         dependencies={"page": page_params(*services.SORT)},
         description="Customer forums at or under the nodes where the caller's roles hold `forums.read`, a page at a "
                     "time, latest planned first, each with its invitation and attendance counts: filter by status "
                     "(draft, held, closed, cancelled, or while under review its approval request's pending, "
                     "approved, rejected or withdrawn) or a node's subtree. Needs forums:read.",
         **requires("forums:read"))
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
         description="One forum: its plan (purpose, timing, format, venue, participants, budget), its status and "
                     "approval request, how many were invited and came, and once held its minutes, actual cost and "
                     "analysis. The ETag is what If-Match needs for any step. Needs `forums.read` at the forum's "
                     "project or branch (404 otherwise).",
         **requires("forums:read", errors=[404]))
    async def get_forum(self, session: AsyncSession, authz: Authorizer, forum_id: uuid.UUID) -> Response[ForumOut]:
        f, _ = await services.get_forum(session, authz, forum_id)
        return with_etag(await services.forum_out(session, f), f.version)

    @patch("/{forum_id:uuid}", operation_id="reviseForum", summary="Revise a draft plan, or one rejected or withdrawn",
           description="Changes the plan's title, kind, scope, theme, purpose, timing, format, venue, participants or "
                       "budget (a thematic forum names its theme, 422 otherwise). Needs `forums.write` at the forum's "
                       "node and If-Match; 409 unless the plan is a draft or its approval request was rejected or "
                       "withdrawn. Audited.",
           **requires("forums:write", errors=MOVES))
    async def revise(self, request: Request[Any, Any, Any], session: AsyncSession, authz: Authorizer,
                     forum_id: uuid.UUID, data: ForumUpdate) -> Response[ForumOut]:
        return await updated(request, services.get_forum(session, authz, forum_id, lock=True),
                             lambda f, path: services.update_forum(session, authz, f, path, data),
                             lambda f: services.forum_out(session, f))

    @post("/{forum_id:uuid}/submit", operation_id="submitForum", status_code=200,
          summary="Send the plan to approval (again)",
          description="Sends the plan to the `forum_plan` approval chain (the supervising manager at the branch by "
                      "default), with an optional note: a rejected plan goes round again on its request, a draft or "
                      "withdrawn one opens a new request. Its approvers decide under `/api/v1/approvals`. Needs "
                      "`forums.write` at the forum's node and If-Match; 409 while it is pending, approved or past the "
                      "plan.",
          **requires("forums:write", errors=MOVES))
    async def submit(self, request: Request[Any, Any, Any], session: AsyncSession, authz: Authorizer,
                     forum_id: uuid.UUID, data: Submission) -> Response[ForumOut]:
        return await updated(request, services.get_forum(session, authz, forum_id, lock=True),
                             lambda f, path: services.submit_forum(session, authz, f, path, data),
                             lambda f: services.forum_out(session, f))

    @get("/{forum_id:uuid}/invitations", operation_id="listForumInvitations",
         summary="Who was invited, and who came",
         description="The customers invited to the forum, in the order invited, with their names and whether they "
                     "attended once the minutes are recorded. Needs `forums.read` at the forum's node (404 "
                     "otherwise).",
         **requires("forums:read", errors=[404]))
    async def list_invitations(self, session: AsyncSession, authz: Authorizer,
                               forum_id: uuid.UUID) -> list[InviteeOut]:
        f, _ = await services.get_forum(session, authz, forum_id)
        return await services.invitees(session, f)

    @post("/{forum_id:uuid}/invitations", operation_id="inviteToForum", status_code=200,
          summary="Invite customers (before the meeting)",
          description="Invites customers to the forum before the meeting; those invited already stay as they are. "
                      "Needs `forums.write` at the forum's node and If-Match; each customer must be one the caller "
                      "may write to (404 naming `customerIds.N`); 409 once the meeting is held, closed or cancelled. "
                      "Audited with the customers added.",
          **requires("forums:write", errors=MOVES))
    async def invite(self, request: Request[Any, Any, Any], session: AsyncSession, authz: Authorizer,
                     forum_id: uuid.UUID, data: Invitations) -> Response[ForumOut]:
        return await updated(request, services.get_forum(session, authz, forum_id, lock=True),
                             lambda f, path: services.invite(session, authz, f, path, data),
                             lambda f: services.forum_out(session, f))

    @post("/{forum_id:uuid}/minutes", operation_id="recordForumMinutes", status_code=200,
          summary="The meeting took place: minutes and attendance (its plan approved)",
          description="The meeting took place: records when, the minutes, the actual cost, and attendance (each "
                      "invitee attended or absent); the forum moves to held. Needs `forums.write` at the forum's node "
                      "and If-Match; 409 unless its plan is approved; 422 naming `attended.N` for someone not "
                      "invited. Audited.",
          **requires("forums:write", errors=MOVES))
    async def minutes(self, request: Request[Any, Any, Any], session: AsyncSession, authz: Authorizer,
                      forum_id: uuid.UUID, data: Minutes) -> Response[ForumOut]:
        return await updated(request, services.get_forum(session, authz, forum_id, lock=True),
                             lambda f, path: services.record_minutes(session, authz, f, path, data),
                             lambda f: services.forum_out(session, f))

    @get("/{forum_id:uuid}/findings", operation_id="listForumFindings",
         summary="The findings of a forum with their improvement actions",
         description="The findings recorded from the forum, in the order recorded, each with its category and the "
                     "improvement actions it called for (owner, due date, status, overdue). Needs `forums.read` at "
                     "the forum's node (404 otherwise).",
         **requires("forums:read", errors=[404]))
    async def list_findings(self, session: AsyncSession, authz: Authorizer, forum_id: uuid.UUID) -> list[FindingOut]:
        f, _ = await services.get_forum(session, authz, forum_id)
        return await services.findings(session, f)

    @post("/{forum_id:uuid}/findings", operation_id="addForumFinding",
          summary="A classified finding and the improvement actions it calls for",
          description="Records a classified finding of a held forum (about the forums themselves, service, "
                      "relationship, product or property management) with the improvement actions it calls for, each "
                      "with an owner (an active staff account of the group: 404 naming `actions.N.ownerId` for no "
                      "such account) and a due date not in the past (422). Needs `forums.write` at the forum's node; "
                      "409 unless the forum is held. Audited, each action too; the daily scan tells an owner once "
                      "their action is overdue.",
          **requires("forums:write", errors=[404, 409]))
    async def add_finding(self, request: Request[Any, Any, Any], session: AsyncSession, authz: Authorizer,
                          forum_id: uuid.UUID, data: FindingIn) -> Response[FindingOut]:
        async def make() -> Any:
            f, path = await services.get_forum(session, authz, forum_id, lock=True)
            return await services.add_finding(session, authz, f, path, data)

        return await created(request, session, make, lambda x: services.finding_out(session, x),
                             lambda x: f"{BASE}/{forum_id}/findings")

    @post("/{forum_id:uuid}/close", operation_id="closeForum", status_code=200,
          summary="Close a forum with the analysis of what was heard",
          description="Closes a held forum with the analysis of what was heard (held → closed); its improvement "
                      "actions go on being followed up. Needs `forums.write` at the forum's node and If-Match; 409 "
                      "unless the minutes are recorded (held). Audited.",
          **requires("forums:write", errors=MOVES))
    async def close(self, request: Request[Any, Any, Any], session: AsyncSession, authz: Authorizer,
                    forum_id: uuid.UUID, data: Closing) -> Response[ForumOut]:
        return await updated(request, services.get_forum(session, authz, forum_id, lock=True),
                             lambda f, path: services.close(session, authz, f, path, data),
                             lambda f: services.forum_out(session, f))

    @post("/{forum_id:uuid}/cancel", operation_id="cancelForum", status_code=200,
          summary="Cancel a forum (one under review: withdraw its request first)",
          description="Cancels a forum that has not taken place, with the reason: a draft, or a plan approved, "
                      "rejected or withdrawn. Needs `forums.write` at the forum's node and If-Match; 409 while its "
                      "approval request is pending (withdraw it first) or once held. Audited.",
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
         dependencies={"page": page_params(*actions.SORT)},
         description="Improvement actions at or under the nodes where the caller's roles hold `forums.read`, a page "
                     "at a time by due date: filter by status, overdue (open past the due date), mine (owned by the "
                     "caller), forum, or a node's subtree. Needs forums:read.",
         **requires("forums:read"))
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
         description="One improvement action: its forum and finding, owner, due date, status, progress, and the "
                     "result once done or the reason once dropped; `overdueSince` is when the daily scan flagged it. "
                     "The ETag is what If-Match needs for a follow-up. Needs `forums.read` at the forum's node (404 "
                     "otherwise).",
         **requires("forums:read", errors=[404]))
    async def get_action(self, session: AsyncSession, authz: Authorizer,
                         action_id: uuid.UUID) -> Response[ActionOut]:
        a, _ = await actions.get_action(session, authz, action_id)
        return with_etag(await actions.show(session, a), a.version)

    @patch("/{action_id:uuid}", operation_id="followUpImprovementAction",
           summary="Follow up: progress, a new owner or due date",
           description="Records progress on an open action, hands it to a new owner (an active staff account of the "
                       "group: 404 naming `ownerId` for no such account) or moves its due date (a new date clears the "
                       "overdue flag, so a miss is flagged and told again). Needs `forums.write` at the forum's node "
                       "and If-Match; 409 unless the action is open. Audited.",
           **requires("forums:write", errors=MOVES))
    async def follow_up(self, request: Request[Any, Any, Any], session: AsyncSession, authz: Authorizer,
                        action_id: uuid.UUID, data: ActionUpdate) -> Response[ActionOut]:
        return await updated(request, actions.get_action(session, authz, action_id, lock=True),
                             lambda a, path: actions.follow_up(session, authz, a, path, data),
                             lambda a: actions.show(session, a))

    @post("/{action_id:uuid}/complete", operation_id="completeImprovementAction", status_code=200,
          summary="The action is done: its result",
          description="The action is done (open → done), with its result. Needs `forums.write` at the forum's node "
                      "and If-Match; 409 unless the action is open. Audited.",
          **requires("forums:write", errors=MOVES))
    async def complete(self, request: Request[Any, Any, Any], session: AsyncSession, authz: Authorizer,
                       action_id: uuid.UUID, data: ActionDone) -> Response[ActionOut]:
        return await updated(request, actions.get_action(session, authz, action_id, lock=True),
                             lambda a, path: actions.complete(session, authz, a, path, data),
                             lambda a: actions.show(session, a))

    @post("/{action_id:uuid}/drop", operation_id="dropImprovementAction", status_code=200,
          summary="Drop an action, with the reason",
          description="Drops an open action (open → dropped) with the reason, kept as its result. Needs "
                      "`forums.write` at the forum's node and If-Match; 409 unless the action is open. Audited with "
                      "the reason.",
          **requires("forums:write", errors=MOVES))
    async def drop(self, request: Request[Any, Any, Any], session: AsyncSession, authz: Authorizer,
                   action_id: uuid.UUID, data: ActionDrop) -> Response[ActionOut]:
        return await updated(request, actions.get_action(session, authz, action_id, lock=True),
                             lambda a, path: actions.drop(session, authz, a, path, data),
                             lambda a: actions.show(session, a))


CONTROLLERS: list[type[Controller]] = [ActionController, ForumController]
