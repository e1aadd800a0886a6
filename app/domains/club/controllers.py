"""HTTP for the club: clubs, members and points, activities and registrations, and the
owner's app (``owner:self``). Requests become service calls, nothing more."""

from __future__ import annotations

import uuid
from typing import Any

from litestar import Controller, Request, Response, get, patch, post
from litestar.di import Provide
from litestar.params import Parameter
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.scopes import requires
from app.core.deps import provide_tenant_session
from app.core.pagination import PageParams, page_params
from app.core.schemas import Page
from app.core.writes import created, updated, with_etag
from app.domains.access.authz import Authorizer, provide_authz
from app.domains.club import activities, clubs, members
from app.domains.club.models import Club, ClubStage, MemberStatus, RegistrationStatus
from app.domains.club.photo_routes import ActivityPhotoController
from app.domains.club.schemas import (
    ActivityCreate,
    ActivityOut,
    ActivityRecord,
    ActivityStatus,
    ActivityUpdate,
    Cancellation,
    CheckIn,
    ClubCreate,
    ClubOut,
    ClubStatus,
    ClubUpdate,
    EntryIn,
    EntryOut,
    Evaluation,
    EvaluationIn,
    Leaving,
    MemberCard,
    MemberCreate,
    MemberOut,
    MemberUpdate,
    OwnActivity,
    OwnEnrolment,
    RegistrationIn,
    RegistrationOut,
    Reversal,
    Submission,
)
from app.domains.club.settings import ClubSettingsController

BASE = "/api/v1/club"
MINE = f"{BASE}/mine"
DEPENDENCIES = {"session": Provide(provide_tenant_session), "authz": Provide(provide_authz)}
NODE_FILTER = "Records at this org node or below it."
MOVES = [404, 409, 412, 428]


class ClubController(Controller):
    path = f"{BASE}/clubs"
    tags = ["Club"]
    dependencies = DEPENDENCIES

    @get("/", operation_id="listClubs", summary="List clubs and their establishment plans",
         dependencies={"page": page_params(*clubs.SORT)},
         description="Clubs planned at or under the nodes where the caller's roles hold `club.read`, a page at a time "
                     "and newest first, each with its tiers and active members counted: filter by status (draft, "
                     "established, or while under review its `club_plan` request's pending, approved, rejected or "
                     "withdrawn) or a node's subtree. Needs club:read.",
         **requires("club:read"))
    async def list_clubs(self, session: AsyncSession, authz: Authorizer, page: PageParams,
                         status: ClubStatus | None = Parameter(query="status", default=None),
                         node_id: uuid.UUID | None = Parameter(query="nodeId", default=None,
                                                               description=NODE_FILTER)) -> Page[ClubOut]:
        return await clubs.list_clubs(session, authz, page, status=status, node_id=node_id)

    @post("/", operation_id="planClub", summary="Plan a club (its establishment plan and tiers)",
          description="At the group or a branch. With `submit` the plan goes to the `club_plan` approval chain at "
                      "once; once approved the club is `established` and takes members.",
          **requires("club:write", errors=[404, 409]))
    async def plan(self, request: Request[Any, Any, Any], session: AsyncSession, authz: Authorizer,
                   data: ClubCreate) -> Response[ClubOut]:
        return await created(request, session, lambda: clubs.create_club(session, authz, data),
                             lambda c: clubs.club_out(session, c), lambda c: f"{BASE}/clubs/{c.id}")

    @get("/{club_id:uuid}", operation_id="getClub", summary="A club with its tiers",
         description="One club: its purpose, charter, budget, the points a referral earns, its tiers (each from its "
                     "lowest lifetime points), its status and approval request, when it was established and how many "
                     "members are active. The ETag is what If-Match needs to revise or submit its plan. Needs "
                     "`club.read` at the club's group or branch (404 otherwise).",
         **requires("club:read", errors=[404]))
    async def get_club(self, session: AsyncSession, authz: Authorizer, club_id: uuid.UUID) -> Response[ClubOut]:
        club, _ = await clubs.get_club(session, authz, club_id)
        return with_etag(await clubs.club_out(session, club), club.version)

    @patch("/{club_id:uuid}", operation_id="reviseClub",
           summary="Revise a draft plan, or one rejected or withdrawn",
           description="Changes the plan's name (409 when another club has it), purpose, charter, budget, referral "
                       "points or tiers (replaced as a whole: distinct codes and thresholds, the lowest starting at 0 "
                       "points, 422 otherwise). Needs `club.write` at the club's node and If-Match; 409 unless the "
                       "plan is a draft or its approval request was rejected or withdrawn. Audited.",
           **requires("club:write", errors=MOVES))
    async def revise(self, request: Request[Any, Any, Any], session: AsyncSession, authz: Authorizer,
                     club_id: uuid.UUID, data: ClubUpdate) -> Response[ClubOut]:
        return await updated(request, clubs.get_club(session, authz, club_id, lock=True),
                             lambda c, path: clubs.update_club(session, authz, c, path, data),
                             lambda c: clubs.club_out(session, c))

    @post("/{club_id:uuid}/submit", operation_id="submitClub", status_code=200,
          summary="Send the plan to approval (again)",
          description="Sends the establishment plan to the `club_plan` chain (the supervising manager at the group by "
                      "default), with an optional note: a rejected plan goes round again on its request, a draft or "
                      "withdrawn one opens a new request. Once approved the club is established (audited) and takes "
                      "members. Needs `club.write` at the club's node and If-Match; 409 while pending, once approved "
                      "or established.",
          **requires("club:write", errors=MOVES))
    async def submit(self, request: Request[Any, Any, Any], session: AsyncSession, authz: Authorizer,
                     club_id: uuid.UUID, data: Submission) -> Response[ClubOut]:
        return await updated(request, clubs.get_club(session, authz, club_id, lock=True),
                             lambda c, path: clubs.submit_club(session, authz, c, path, data),
                             lambda c: clubs.club_out(session, c))


class MemberController(Controller):
    path = f"{BASE}/members"
    tags = ["Club"]
    dependencies = DEPENDENCIES

    @get("/", operation_id="listMembers", summary="List club members",
         dependencies={"page": page_params(*members.SORT)},
         description="Club members at or under the nodes where the caller's roles hold `club.read` (a member sits at "
                     "their customer's node), a page at a time by member number, each with their tier and balance: "
                     "filter by club, customer, status (active, left) or a node's subtree. Needs club:read.",
         **requires("club:read"))
    async def list_members(self, session: AsyncSession, authz: Authorizer, page: PageParams,
                           club_id: uuid.UUID | None = Parameter(query="clubId", default=None),
                           customer_id: uuid.UUID | None = Parameter(query="customerId", default=None),
                           status: MemberStatus | None = Parameter(query="status", default=None),
                           node_id: uuid.UUID | None = Parameter(query="nodeId", default=None,
                                                                 description=NODE_FILTER)) -> Page[MemberOut]:
        return await members.list_members(session, authz, page, club_id=club_id, customer_id=customer_id,
                                          status=status, node_id=node_id)

    @post("/", operation_id="enrolMember", summary="Enrol an owner or a prospect in an established club",
          description="A referral (`referredById`) credits the referrer the club's referral points.",
          **requires("club:write", errors=[404, 409]))
    async def enrol(self, request: Request[Any, Any, Any], session: AsyncSession, authz: Authorizer,
                    data: MemberCreate) -> Response[MemberOut]:
        return await created(request, session, lambda: members.enrol(session, authz, data),
                             lambda m: members.member_out(session, m), lambda m: f"{BASE}/members/{m.id}")

    @get("/{member_id:uuid}", operation_id="getMember", summary="A member: number, tier, balance",
         description="One membership: the member number, club, tier, status, the day joined, birth date, who referred "
                     "them, and the points balance and lifetime points (which set the tier). The ETag is what "
                     "If-Match needs to change or end it. Needs `club.read` at the customer's node (404 otherwise).",
         **requires("club:read", errors=[404]))
    async def get_member(self, session: AsyncSession, authz: Authorizer,
                         member_id: uuid.UUID) -> Response[MemberOut]:
        member, _ = await members.get_member(session, authz, member_id)
        return with_etag(await members.member_out(session, member), member.version)

    @patch("/{member_id:uuid}", operation_id="updateMember", summary="Change a member's birth date",
           description="Changes a member's birth date (null clears it). Needs `club.write` at the member's node and "
                       "If-Match. Audited.",
           **requires("club:write", errors=MOVES))
    async def update_member(self, request: Request[Any, Any, Any], session: AsyncSession, authz: Authorizer,
                            member_id: uuid.UUID, data: MemberUpdate) -> Response[MemberOut]:
        return await updated(request, members.get_member(session, authz, member_id, lock=True),
                             lambda m, path: members.update_member(session, authz, m, path, data),
                             lambda m: members.member_out(session, m))

    @post("/{member_id:uuid}/leave", operation_id="leaveClub", status_code=200, summary="End a membership",
          description="Ends an active membership with the reason (active → left): its points stay on the ledger but "
                      "no longer move. Needs `club.write` at the member's node and If-Match; 409 unless the member is "
                      "active. Audited with the reason.",
          **requires("club:write", errors=MOVES))
    async def leave(self, request: Request[Any, Any, Any], session: AsyncSession, authz: Authorizer,
                    member_id: uuid.UUID, data: Leaving) -> Response[MemberOut]:
        return await updated(request, members.get_member(session, authz, member_id, lock=True),
                             lambda m, path: members.leave(session, authz, m, path, data),
                             lambda m: members.member_out(session, m))

    @get("/{member_id:uuid}/points", operation_id="listPointsEntries", summary="A member's points ledger",
         dependencies={"page": page_params(*members.ENTRY_SORT)},
         description="The member's points ledger, newest first: each entry's kind (earn, referral, redeem, expire, "
                     "reversal), signed points, the balance after it, reason and reference, and the reversal that "
                     "undid it if any. Entries are never changed. Needs `club.read` at the member's node (404 "
                     "otherwise).",
         **requires("club:read", errors=[404]))
    async def list_points(self, session: AsyncSession, authz: Authorizer, page: PageParams,
                          member_id: uuid.UUID) -> Page[EntryOut]:
        member, _ = await members.get_member(session, authz, member_id)
        return await members.list_entries(session, member, page)

    @post("/{member_id:uuid}/points", operation_id="movePoints", summary="Credit, redeem or expire points",
          description="Movements of one member are serialised: a debit larger than the balance is 409 naming the "
                      "balance, and concurrent debits never overdraw. Send an `Idempotency-Key`: a retry gets the "
                      "first answer back instead of moving points twice.",
          **requires("club:write", errors=[404, 409]))
    async def move_points(self, request: Request[Any, Any, Any], session: AsyncSession, authz: Authorizer,
                          member_id: uuid.UUID, data: EntryIn) -> Response[EntryOut]:
        async def make() -> Any:
            member, path = await members.get_member(session, authz, member_id, lock=True)
            return await members.add_entry(session, authz, member, path, data)

        return await created(request, session, make, lambda e: members.entry_out(session, e),
                             lambda e: f"{BASE}/points/{e.id}")


class PointsController(Controller):
    path = f"{BASE}/points"
    tags = ["Club"]
    dependencies = DEPENDENCIES

    @get("/{entry_id:uuid}", operation_id="getPointsEntry", summary="One entry of a points ledger",
         description="One entry of a points ledger: its kind, signed points, the balance after it, reason, reference, "
                     "who made it, the entry it reverses or the one that reversed it. Entries never change: the ETag "
                     "stays the same. Needs `club.read` at the member's node (404 otherwise).",
         **requires("club:read", errors=[404]))
    async def get_entry(self, session: AsyncSession, authz: Authorizer, entry_id: uuid.UUID) -> Response[EntryOut]:
        entry, _ = await members.get_entry(session, authz, entry_id)
        return with_etag(await members.entry_out(session, entry), 1)

    @post("/{entry_id:uuid}/reverse", operation_id="reversePointsEntry",
          summary="Undo an entry by a compensating entry (once)",
          description="409 when it was reversed already, is itself a reversal, or its points were spent.",
          **requires("club:write", errors=[404, 409]))
    async def reverse(self, request: Request[Any, Any, Any], session: AsyncSession, authz: Authorizer,
                      entry_id: uuid.UUID, data: Reversal) -> Response[EntryOut]:
        async def make() -> Any:
            entry, path = await members.get_entry(session, authz, entry_id)
            return await members.reverse(session, authz, entry, path, data)

        return await created(request, session, make, lambda e: members.entry_out(session, e),
                             lambda e: f"{BASE}/points/{e.id}")


class ActivityController(Controller):
    path = f"{BASE}/activities"
    tags = ["Club"]
    dependencies = DEPENDENCIES

    @get("/", operation_id="listClubActivities", summary="List club activities",
         dependencies={"page": page_params(*activities.SORT)},
         description="Club activities planned at or under the nodes where the caller's roles hold `club.read`, a page "
                     "at a time, latest starting first, with their registrations counted: filter by status (draft, "
                     "published, held, evaluated, cancelled, or while under review the `club_activity` request's "
                     "pending, approved, rejected or withdrawn), club or a node's subtree. Needs club:read.",
         **requires("club:read"))
    async def list_activities(self, session: AsyncSession, authz: Authorizer, page: PageParams,
                              status: ActivityStatus | None = Parameter(query="status", default=None),
                              club_id: uuid.UUID | None = Parameter(query="clubId", default=None),
                              node_id: uuid.UUID | None = Parameter(query="nodeId", default=None,
                                                                    description=NODE_FILTER)) -> Page[ActivityOut]:
        return await activities.list_activities(session, authz, page, status=status, club_id=club_id,
                                                node_id=node_id)

    @post("/", operation_id="planClubActivity", summary="Plan an activity (a period's programme or an event)",
          description="At a project or branch, for an established club. With `submit` the plan goes to the "
                      "`club_activity` approval chain at once.", **requires("club:write", errors=[404, 409]))
    async def plan(self, request: Request[Any, Any, Any], session: AsyncSession, authz: Authorizer,
                   data: ActivityCreate) -> Response[ActivityOut]:
        return await created(request, session, lambda: activities.create_activity(session, authz, data),
                             lambda a: activities.activity_out(session, a), lambda a: f"{BASE}/activities/{a.id}")

    @get("/{activity_id:uuid}", operation_id="getClubActivity", summary="An activity with its registrations counted",
         description="One activity: its purpose, content, form, venue, time, capacity, budget by line, the tiers and "
                     "projects it is offered to, its status and approval request, the places taken, waitlisted and "
                     "checked in, and once held its summary and actual cost by line. The ETag is what If-Match needs "
                     "for any step. Needs `club.read` at its project or branch (404 otherwise).",
         **requires("club:read", errors=[404]))
    async def get_activity(self, session: AsyncSession, authz: Authorizer,
                           activity_id: uuid.UUID) -> Response[ActivityOut]:
        a, _ = await activities.get_activity(session, authz, activity_id)
        return with_etag(await activities.activity_out(session, a), a.version)

    @patch("/{activity_id:uuid}", operation_id="reviseClubActivity",
           summary="Revise a draft plan, or one rejected or withdrawn",
           description="Changes the plan's title, purpose, content, form, venue, time (it must end after it starts), "
                       "capacity, budget lines, or the tiers and projects it is offered to (each a tier of the club "
                       "and an existing project, 422 naming it otherwise). Needs `club.write` at the activity's node "
                       "and If-Match; 409 unless the plan is a draft or its approval request was rejected or "
                       "withdrawn. Audited.",
           **requires("club:write", errors=MOVES))
    async def revise(self, request: Request[Any, Any, Any], session: AsyncSession, authz: Authorizer,
                     activity_id: uuid.UUID, data: ActivityUpdate) -> Response[ActivityOut]:
        return await updated(request, activities.get_activity(session, authz, activity_id, lock=True),
                             lambda a, path: activities.update_activity(session, authz, a, path, data),
                             lambda a: activities.activity_out(session, a))

    @post("/{activity_id:uuid}/submit", operation_id="submitClubActivity", status_code=200,
          summary="Send the plan to approval (again)",
          description="Sends the plan to the `club_activity` chain (the supervising manager at the branch by "
                      "default), its budget total as the amount, with an optional note: a rejected plan goes round "
                      "again on its request, a draft or withdrawn one opens a new request. Needs `club.write` at the "
                      "activity's node and If-Match; 409 while pending, once approved or past the plan.",
          **requires("club:write", errors=MOVES))
    async def submit(self, request: Request[Any, Any, Any], session: AsyncSession, authz: Authorizer,
                     activity_id: uuid.UUID, data: Submission) -> Response[ActivityOut]:
        return await updated(request, activities.get_activity(session, authz, activity_id, lock=True),
                             lambda a, path: activities.submit_activity(session, authz, a, path, data),
                             lambda a: activities.activity_out(session, a))

    @post("/{activity_id:uuid}/publish", operation_id="publishClubActivity", status_code=200,
          summary="Publish an approved activity to the members it is for",
          description="Publishes an approved plan: registration opens to the club's active members of the tiers and "
                      "projects it names (every member when none are named), in the owners' app too. Needs "
                      "`club.write` at the activity's node and If-Match; 409 unless its approval request is approved "
                      "and it is not yet published. Audited.",
          **requires("club:write", errors=MOVES))
    async def publish(self, request: Request[Any, Any, Any], session: AsyncSession, authz: Authorizer,
                      activity_id: uuid.UUID) -> Response[ActivityOut]:
        return await updated(request, activities.get_activity(session, authz, activity_id, lock=True),
                             lambda a, path: activities.publish(session, authz, a, path),
                             lambda a: activities.activity_out(session, a))

    @post("/{activity_id:uuid}/record", operation_id="recordClubActivity", status_code=200,
          summary="Record the activity once held: what happened, what it cost",
          description="Records the activity once held (published → held): a summary of what happened and the actual "
                      "cost by line. Registration and check-in close. Needs `club.write` at the activity's node and "
                      "If-Match; 409 unless it is published. Audited.",
          **requires("club:write", errors=MOVES))
    async def record(self, request: Request[Any, Any, Any], session: AsyncSession, authz: Authorizer,
                     activity_id: uuid.UUID, data: ActivityRecord) -> Response[ActivityOut]:
        return await updated(request, activities.get_activity(session, authz, activity_id, lock=True),
                             lambda a, path: activities.record(session, authz, a, path, data),
                             lambda a: activities.activity_out(session, a))

    @post("/{activity_id:uuid}/cancel", operation_id="cancelClubActivity", status_code=200,
          summary="Cancel an activity (one under review: withdraw its request first)",
          description="Cancels an activity not yet held, with the reason: a draft, a plan approved, rejected or "
                      "withdrawn, or a published activity (its registrations stay as they are). Needs `club.write` at "
                      "the activity's node and If-Match; 409 while its approval request is pending (withdraw it "
                      "first), or once held, evaluated or cancelled. Audited with the reason.",
          **requires("club:write", errors=MOVES))
    async def cancel(self, request: Request[Any, Any, Any], session: AsyncSession, authz: Authorizer,
                     activity_id: uuid.UUID, data: Cancellation) -> Response[ActivityOut]:
        return await updated(request, activities.get_activity(session, authz, activity_id, lock=True),
                             lambda a, path: activities.cancel(session, authz, a, path, data),
                             lambda a: activities.activity_out(session, a))

    @get("/{activity_id:uuid}/evaluation", operation_id="getClubActivityEvaluation",
         summary="What the activity achieved: participants, conversion, satisfaction, cost–benefit",
         description="What the activity achieved, computed now: places taken, participants (checked in) and the "
                     "attendance rate, referrals and purchases linked to it and the conversion rate (purchases per "
                     "participant), sales value, satisfaction (the share of participants' overall scores of 4 or 5 in "
                     "the linked questionnaire's results since it began, with the responses counted), budget against "
                     "actual cost, cost per participant and sales value per yuan spent. Needs `club.read` at the "
                     "activity's node (404 otherwise).",
         **requires("club:read", errors=[404]))
    async def get_evaluation(self, session: AsyncSession, authz: Authorizer,
                             activity_id: uuid.UUID) -> Response[Evaluation]:
        a, _ = await activities.get_activity(session, authz, activity_id)
        return with_etag(await activities.evaluation(session, a), a.version)

    @post("/{activity_id:uuid}/evaluation", operation_id="evaluateClubActivity", status_code=200,
          summary="Link what followed (referrals, purchases, the satisfaction survey) and evaluate",
          description="Links what followed a held activity (referrals, purchases, sales value, the questionnaire of "
                      "its satisfaction survey, notes) and answers the evaluation; it may be done again as results "
                      "come in (held or evaluated → evaluated). Needs `club.write` at the activity's node and "
                      "If-Match; 409 until the activity is recorded as held; 404 naming `questionnaireId` for no such "
                      "questionnaire. Audited.",
          **requires("club:write", errors=MOVES))
    async def evaluate(self, request: Request[Any, Any, Any], session: AsyncSession, authz: Authorizer,
                       activity_id: uuid.UUID, data: EvaluationIn) -> Response[Evaluation]:
        return await updated(request, activities.get_activity(session, authz, activity_id, lock=True),
                             lambda a, path: activities.evaluate(session, authz, a, path, data),
                             lambda a: activities.evaluation(session, a))

    @get("/{activity_id:uuid}/registrations", operation_id="listClubRegistrations",
         summary="An activity's registrations and waitlist", dependencies={"page": page_params(
             *activities.REGISTRATION_SORT)},
         description="The activity's registrations in the order made: holding a place, checked in, cancelled, or on "
                     "the waitlist with their position; filter by status. Check-in tokens are not shown here. Needs "
                     "`club.read` at the activity's node (404 otherwise).",
         **requires("club:read", errors=[404]))
    async def list_registrations(self, session: AsyncSession, authz: Authorizer, page: PageParams,
                                 activity_id: uuid.UUID, status: RegistrationStatus | None = Parameter(
                                     query="status", default=None)) -> Page[RegistrationOut]:
        a, _ = await activities.get_activity(session, authz, activity_id)
        return await activities.list_registrations(session, a, page, status=status)

    @post("/{activity_id:uuid}/registrations", operation_id="registerClubMember",
          summary="Register a member: a place while places are left, else the waitlist",
          description="Registers a member for a published activity: a place while places are left, else the waitlist "
                      "(places are counted one registration at a time). The member must be one the caller may see "
                      "(404 naming `memberId`), active in the activity's club and of the tiers and projects it is "
                      "offered to (409 otherwise); a cancelled registration is renewed, any other is 409. Needs "
                      "`club.write` at the activity's node; 409 unless the activity is published. Accepts "
                      "`Idempotency-Key`. Audited.",
          **requires("club:write", errors=[404, 409]))
    async def register(self, request: Request[Any, Any, Any], session: AsyncSession, authz: Authorizer,
                       activity_id: uuid.UUID, data: RegistrationIn) -> Response[RegistrationOut]:
        async def make() -> Any:
            a, path = await activities.get_activity(session, authz, activity_id, lock=True)
            return await activities.register(session, authz, a, path, data)

        return await created(request, session, make, lambda r: activities.registration_out(session, r),
                             lambda r: f"{BASE}/registrations/{r.id}")

    @post("/{activity_id:uuid}/check-ins", operation_id="checkInClubMember", status_code=200,
          summary="Check a member in by the token of their QR code (once)",
          description="422 for a token that is not this activity's; 409 for one used already.",
          **requires("club:write", errors=[404, 409]))
    async def check_in(self, session: AsyncSession, authz: Authorizer, activity_id: uuid.UUID,
                       data: CheckIn) -> Response[RegistrationOut]:
        a, path = await activities.get_activity(session, authz, activity_id, lock=True)
        r = await activities.check_in(session, authz, a, path, data)
        return with_etag(await activities.registration_out(session, r), r.version)


class RegistrationController(Controller):
    path = f"{BASE}/registrations"
    tags = ["Club"]
    dependencies = DEPENDENCIES

    @get("/{registration_id:uuid}", operation_id="getClubRegistration", summary="A registration",
         description="One registration: its member and activity, status, waitlist position, and when it was promoted "
                     "from the waitlist, cancelled or checked in. The ETag is what If-Match needs to cancel it. Needs "
                     "`club.read` at the activity's node (404 otherwise).",
         **requires("club:read", errors=[404]))
    async def get_registration(self, session: AsyncSession, authz: Authorizer,
                               registration_id: uuid.UUID) -> Response[RegistrationOut]:
        r, _ = await activities.get_registration(session, authz, registration_id)
        return with_etag(await activities.registration_out(session, r), r.version)

    @post("/{registration_id:uuid}/cancel", operation_id="cancelClubRegistration", status_code=200,
          summary="Cancel a registration; a place given back goes to the first on the waitlist",
          description="Cancels a registration holding a place or on the waitlist; a place given back goes at once to "
                      "the first on the waitlist (audited as a promotion). Needs `club.write` at the activity's node "
                      "and If-Match; 409 for a registration cancelled or checked in already, or once the activity is "
                      "no longer published. Audited.",
          **requires("club:write", errors=MOVES))
    async def cancel(self, request: Request[Any, Any, Any], session: AsyncSession, authz: Authorizer,
                     registration_id: uuid.UUID) -> Response[RegistrationOut]:
        async def change(r: Any, path: str) -> Any:
            authz.require(clubs.WRITE, path)
            return await activities.cancel_registration(session, await activities.locked_activity(
                session, r.activity_id), r)

        async def load() -> Any:
            r, path = await activities.get_registration(session, authz, registration_id)
            await activities.locked_activity(session, r.activity_id)  # the activity first, as registering does
            return await activities.get_registration(session, authz, registration_id, lock=True)

        return await updated(request, load(), change, lambda r: activities.registration_out(session, r))


class OwnClubController(Controller):
    """The owner's app: clubs to join, their membership card and points, activities offered to
    them, registering, their QR codes, cancelling."""

    path = MINE
    tags = ["Club"]
    dependencies = DEPENDENCIES

    @get("/clubs", operation_id="listOwnClubs", summary="Clubs an owner may join",
         dependencies={"page": page_params(*clubs.SORT)},
         description="The group's established clubs, which an owner may join, by name: each with its purpose, "
                     "charter, tiers and the points a referral earns. Needs owner:self.",
         **requires("owner:self"))
    async def list_clubs(self, session: AsyncSession, page: PageParams) -> Page[ClubOut]:
        rows = (await session.scalars(select(Club).where(Club.stage == ClubStage.established)
                                      .order_by(Club.name).offset(page.offset).limit(page.limit))).all()
        total = len((await session.scalars(select(Club.id).where(Club.stage == ClubStage.established))).all())
        return Page(items=[await clubs.club_out(session, c) for c in rows], total=total, limit=page.limit,
                    offset=page.offset)

    @get("/memberships", operation_id="listOwnMemberships", summary="The owner's membership cards",
         dependencies={"page": page_params(*members.SORT)},
         description="The caller's own membership cards (those of their customer records), by member number: club, "
                     "number, tier, status, the day joined, the points balance and the card code the app shows. Needs "
                     "owner:self.",
         **requires("owner:self"))
    async def list_memberships(self, session: AsyncSession, authz: Authorizer,
                               page: PageParams) -> Page[MemberCard]:
        return await members.list_own_members(session, authz, page)

    @post("/memberships", operation_id="joinClub", summary="Join an established club",
          description="The owner joins an established club from the app, with an optional birth date: the membership "
                      "is their first live customer record's and starts at the lowest tier with no points. 404 naming "
                      "`clubId` for no such club or a caller with no customer record; 409 for a club not established "
                      "yet or one they are a member of already. Accepts `Idempotency-Key`. Audited.",
          **requires("owner:self", errors=[404, 409]))
    async def join(self, request: Request[Any, Any, Any], session: AsyncSession, authz: Authorizer,
                   data: OwnEnrolment) -> Response[MemberCard]:
        return await created(request, session, lambda: members.enrol_own(session, authz, data),
                             lambda m: members.card_out(session, m), lambda m: f"{MINE}/memberships/{m.id}")

    @get("/memberships/{member_id:uuid}", operation_id="getOwnMembership", summary="A membership card",
         description="One of the caller's own membership cards: club, number, tier, status, balance and the card "
                     "code. Needs owner:self; a membership of anyone else answers 404.",
         **requires("owner:self", errors=[404]))
    async def get_membership(self, session: AsyncSession, authz: Authorizer,
                             member_id: uuid.UUID) -> Response[MemberCard]:
        member = await members.get_own_member(session, authz, member_id)
        return with_etag(await members.card_out(session, member), member.version)

    @get("/memberships/{member_id:uuid}/points", operation_id="listOwnPoints", summary="The owner's points ledger",
         dependencies={"page": page_params(*members.ENTRY_SORT)},
         description="The points ledger of one of the caller's own memberships, newest first: each entry's kind, "
                     "points, the balance after it and its reason. Needs owner:self; a membership of anyone else "
                     "answers 404.",
         **requires("owner:self", errors=[404]))
    async def list_points(self, session: AsyncSession, authz: Authorizer, page: PageParams,
                          member_id: uuid.UUID) -> Page[EntryOut]:
        return await members.list_entries(session, await members.get_own_member(session, authz, member_id), page)

    @get("/activities", operation_id="listOwnClubActivities",
         summary="Published activities offered to the owner (their club, tier and project)",
         dependencies={"page": page_params()},
         description="Published activities offered to one of the caller's active memberships (their club, tier and "
                     "project), by start time: each with its content, time, venue, the places left, and the caller's "
                     "registration and its status if any. Needs owner:self.",
         **requires("owner:self"))
    async def list_activities(self, session: AsyncSession, authz: Authorizer,
                              page: PageParams) -> Page[OwnActivity]:
        return await activities.own_activities(session, authz, page)

    @post("/activities/{activity_id:uuid}/registrations", operation_id="registerForClubActivity",
          summary="Register for an activity: a place while places are left, else the waitlist",
          description="Registers the caller for a published activity offered to one of their active memberships: a "
                      "place while places are left, else the waitlist. The answer carries the QR code's token while "
                      "it holds a place. 404 for an activity not offered to them or not open (a draft, under review "
                      "or cancelled); 409 once it is held, or when they are registered already (a cancelled "
                      "registration is renewed). Accepts `Idempotency-Key`. Audited.",
          **requires("owner:self", errors=[404, 409]))
    async def register(self, request: Request[Any, Any, Any], session: AsyncSession, authz: Authorizer,
                       activity_id: uuid.UUID) -> Response[RegistrationOut]:
        return await created(request, session, lambda: activities.register_own(session, authz, activity_id),
                             lambda r: activities.registration_out(session, r, with_token=True),
                             lambda r: f"{MINE}/registrations/{r.id}")

    @get("/registrations", operation_id="listOwnClubRegistrations",
         summary="The owner's registrations, each with its QR code's token while it holds a place",
         dependencies={"page": page_params(*activities.REGISTRATION_SORT)},
         description="The registrations of the caller's active memberships, newest first: status, waitlist position, "
                     "and the QR code's token (the check-in code) while a registration holds a place. Needs "
                     "owner:self.",
         **requires("owner:self"))
    async def list_registrations(self, session: AsyncSession, authz: Authorizer,
                                 page: PageParams) -> Page[RegistrationOut]:
        return await activities.own_registrations(session, authz, page)

    @get("/registrations/{registration_id:uuid}", operation_id="getOwnClubRegistration",
         summary="A registration with its QR code's token",
         description="One of the caller's own registrations: its status, waitlist position, and the QR code's token "
                     "while it holds a place. The ETag is what If-Match needs to cancel it. Needs owner:self; a "
                     "registration of anyone else answers 404.",
         **requires("owner:self", errors=[404]))
    async def get_registration(self, session: AsyncSession, authz: Authorizer,
                               registration_id: uuid.UUID) -> Response[RegistrationOut]:
        r = await activities.get_own_registration(session, authz, registration_id)
        return with_etag(await activities.registration_out(session, r, with_token=True), r.version)

    @post("/registrations/{registration_id:uuid}/cancel", operation_id="cancelOwnClubRegistration",
          status_code=200, summary="Cancel one's registration",
          description="The caller cancels their own registration holding a place or on the waitlist; a place given "
                      "back goes at once to the first on the waitlist. Needs owner:self and If-Match; 404 for a "
                      "registration of anyone else; 409 for one cancelled or checked in already, or once the activity "
                      "is no longer published. Audited.",
          **requires("owner:self", errors=MOVES))
    async def cancel(self, request: Request[Any, Any, Any], session: AsyncSession, authz: Authorizer,
                     registration_id: uuid.UUID) -> Response[RegistrationOut]:
        async def load() -> Any:
            r = await activities.get_own_registration(session, authz, registration_id)
            await activities.locked_activity(session, r.activity_id)
            return await activities.get_own_registration(session, authz, registration_id, lock=True), ""

        async def change(r: Any, _: str) -> Any:
            return await activities.cancel_registration(session, await activities.locked_activity(
                session, r.activity_id), r)

        return await updated(request, load(), change,
                             lambda r: activities.registration_out(session, r, with_token=True))


CONTROLLERS: list[type[Controller]] = [ClubController, MemberController, PointsController, ActivityController,
                                       RegistrationController, OwnClubController, ClubSettingsController,
                                       ActivityPhotoController]
