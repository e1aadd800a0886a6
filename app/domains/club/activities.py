"""Club activities: plan → approval (revise until approved) → publication → registration with
capacity and waitlist → check-in → record → evaluation.

- A **plan** (a period's programme or one event) names its purpose, content, form, time,
  capacity and budget by line item; it goes to the ``club_activity`` chain. Rejected or
  withdrawn, it is revised and submitted again.
- **Published** once approved, it is offered to the club's active members of the tiers and
  projects it names (none named: every member).
- **Registration** locks the activity's row, so places are counted one registration at a
  time: while places are left a registration takes one, after that it joins the waitlist.
  A place given back (a cancellation) goes to the first on the waitlist at once.
- **Check-in**: a registration holding a place has a token, the content of its QR code:
  its id and an HMAC of it under the tenant's index key, so it cannot be made up; it is
  accepted once (the registration is then ``checked_in``).
- **Evaluation**: participants (checked in), conversion (referrals and purchases linked
  afterwards), satisfaction (the surveys domain's results of the named questionnaire from
  participants since the activity began), cost per participant and sales value per yuan.
"""

from __future__ import annotations

import hmac
import uuid
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

import msgspec
from sqlalchemy import Numeric, Select, and_, case, cast, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core import audit, clock
from app.core.keystore import tenant_keys
from app.core.numbering import next_number
from app.core.pagination import PageParams, paginate
from app.core.problems import ProblemError, field_error
from app.core.schemas import Page, provided
from app.core.states import Workflow
from app.domains.access.authz import Authorizer
from app.domains.access.records import get_at_node, node_for, subtree_filter
from app.domains.approvals import services as approvals
from app.domains.approvals.approvable import (
    Approvable,
    approvable_type,
    page_with_request_status,
    request_status,
    revisable,
    shown_status,
    status_filter,
)
from app.domains.approvals.models import ApprovalRequest, RequestStatus
from app.domains.approvals.schemas import Resubmission
from app.domains.club.clubs import READ, WRITE, conflict, established_club, tiers_of
from app.domains.club.members import get_member, own_customers
from app.domains.club.models import (
    Activity,
    ActivityStage,
    ClubTier,
    Member,
    MemberStatus,
    Registration,
    RegistrationStatus,
)
from app.domains.club.schemas import (
    ActivityCreate,
    ActivityOut,
    ActivityRecord,
    ActivityStatus,
    ActivityUpdate,
    BudgetLine,
    BudgetLineOut,
    Cancellation,
    CheckIn,
    Evaluation,
    EvaluationIn,
    OwnActivity,
    RegistrationIn,
    RegistrationOut,
    Submission,
)
from app.domains.org.models import NodeKind, OrgNode
from app.domains.surveys.models import Dimension, Questionnaire, SurveyAnswer, SurveyResult

ACTIVITY, REGISTRATION, ACTIVITY_TYPE = "club_activity", "club_registration", "club_activity"
ACTIVITY_NODES = (NodeKind.project, NodeKind.branch)
SORT = {"startsAt": Activity.starts_at, "createdAt": Activity.created_at, "number": Activity.number}
REGISTRATION_SORT = {"createdAt": Registration.created_at}
CHECK_IN_KEY = "club.check_in"  # the blind-index namespace of check-in codes
ZERO = Decimal("0.00")

FLOW = Workflow("activity", {
    "publish": ([ActivityStage.submitted], [ActivityStage.published]),
    "record": ([ActivityStage.published], [ActivityStage.held]),
    "evaluate": ([ActivityStage.held, ActivityStage.evaluated], [ActivityStage.evaluated]),
    "cancel": ([ActivityStage.draft, ActivityStage.submitted, ActivityStage.published], [ActivityStage.cancelled]),
})


# Numeric(14, 2): a total must stay below a trillion yuan, though each line alone may not reach it.
MAX_TOTAL = Decimal("999999999999.99")


def _lines(lines: Sequence[BudgetLine], field: str) -> tuple[list[dict[str, str]], Decimal]:
    stored = [{"item": line.item, "amount": str(Decimal(line.amount).quantize(ZERO))} for line in lines]
    total = sum((Decimal(line.amount) for line in lines), ZERO).quantize(ZERO)
    if total > MAX_TOTAL:
        raise ProblemError("validation", f"The lines add up to {total}, more than {MAX_TOTAL}.",
                           errors=[field_error(field, f"the total must be at most {MAX_TOTAL}")])
    return stored, total


def _lines_out(lines: Sequence[dict[str, Any]] | None) -> list[BudgetLineOut]:
    return [BudgetLineOut(item=line["item"], amount=Decimal(line["amount"])) for line in lines or []]


def _status(a: Activity, request: RequestStatus | None) -> ActivityStatus:
    return shown_status(a.stage.value, request)  # type: ignore[return-value]  # a member of ActivityStatus


def _label(a: Activity) -> str:
    return f"Activity {a.number}"


async def get_activity(session: AsyncSession, authz: Authorizer, activity_id: uuid.UUID, *,
                       lock: bool = False) -> tuple[Activity, str]:
    return await get_at_node(session, authz, Activity, activity_id, READ, "activity", lock=lock)


async def _counts(session: AsyncSession, activity_id: uuid.UUID) -> dict[RegistrationStatus, int]:
    rows = await session.execute(select(Registration.status, func.count()).where(
        Registration.activity_id == activity_id).group_by(Registration.status))
    return {status: int(n) for status, n in rows.tuples()}


async def activity_out(session: AsyncSession, a: Activity) -> ActivityOut:
    counts = await _counts(session, a.id)
    return ActivityOut(
        id=a.id, club_id=a.club_id, node_id=a.node_id, number=a.number, kind=a.kind, title=a.title,
        purpose=a.purpose, content=a.content, form=a.form, venue=a.venue, starts_at=a.starts_at, ends_at=a.ends_at,
        capacity=a.capacity, budget=_lines_out(a.budget_lines), budget_total=a.budget, tiers=list(a.tiers),
        project_ids=[uuid.UUID(p) for p in a.project_ids],
        status=_status(a, await request_status(session, a.approval_request_id)),
        approval_request_id=a.approval_request_id, published_at=a.published_at,
        registered=counts.get(RegistrationStatus.registered, 0) + counts.get(RegistrationStatus.checked_in, 0),
        waitlisted=counts.get(RegistrationStatus.waitlisted, 0),
        checked_in=counts.get(RegistrationStatus.checked_in, 0), summary=a.held_summary,
        actual=None if a.actual_lines is None else _lines_out(a.actual_lines), actual_cost=a.actual_cost,
        cancel_reason=a.cancel_reason, created_at=a.created_at, version=a.version)


async def list_activities(session: AsyncSession, authz: Authorizer, params: PageParams, *, status: str | None,
                          club_id: uuid.UUID | None, node_id: uuid.UUID | None) -> Page[ActivityOut]:
    stmt: Select[Any] = (select(Activity)
                         .outerjoin(ApprovalRequest, ApprovalRequest.id == Activity.approval_request_id)
                         .where(authz.visible(READ, Activity.node_id)))
    if status is not None:
        stmt = stmt.where(status_filter(Activity.stage, ActivityStage, status))
    if club_id is not None:
        stmt = stmt.where(Activity.club_id == club_id)
    if node_id is not None:
        stmt = stmt.where(await subtree_filter(session, Activity.node_id, node_id))
    page = await page_with_request_status(session, stmt, params, sortable=SORT, default_sort=["-startsAt"],
                                          tiebreak=Activity.id, to_schema=lambda a, _: a)
    return Page(items=[await activity_out(session, a) for a in page.items], total=page.total, limit=page.limit,
                offset=page.offset)


async def _check_audience(session: AsyncSession, club_id: uuid.UUID, tiers: Sequence[str],
                          projects: Sequence[uuid.UUID]) -> None:
    known = {t.code for t in await tiers_of(session, club_id)}
    errors = [field_error(f"tiers.{i}", "not a tier of the club") for i, code in enumerate(tiers) if code not in known]
    if projects:
        found = set((await session.scalars(select(OrgNode.id).where(OrgNode.id.in_(projects),
                                                                     OrgNode.kind == NodeKind.project))).all())
        errors += [field_error(f"projectIds.{i}", "no such project") for i, p in enumerate(projects)
                   if p not in found]
    if errors:
        raise ProblemError("validation", "The activity's audience names what the club does not have.",
                           errors=errors)


def _check_times(a: Activity) -> None:
    if a.ends_at < a.starts_at:
        raise ProblemError("validation", "The activity ends before it starts.",
                           errors=[field_error("endsAt", "before startsAt")])


async def create_activity(session: AsyncSession, authz: Authorizer, data: ActivityCreate) -> Activity:
    club = await established_club(session, authz, data.club_id)
    node = await node_for(session, authz, data.node_id, WRITE, kinds=ACTIVITY_NODES)
    await _check_audience(session, club.id, data.tiers, data.project_ids)
    lines, total = _lines(data.budget, "budget")
    activity = Activity(
        club_id=club.id, node_id=node.id, number=await next_number(session, "HD", clock.utcnow().year),
        kind=data.kind, title=data.title, purpose=data.purpose, content=data.content, form=data.form,
        venue=data.venue, starts_at=data.starts_at, ends_at=data.ends_at, capacity=data.capacity,
        budget_lines=lines, budget=total, tiers=list(data.tiers), project_ids=[str(p) for p in data.project_ids],
        stage=ActivityStage.draft, created_by=authz.principal.subject)
    _check_times(activity)
    session.add(activity)
    await session.flush()
    await session.refresh(activity)
    await audit.record(session, action="club.activity.create", entity_type=ACTIVITY, entity_id=activity.id,
                       after=audit.snapshot(activity))
    if data.submit:
        await submit_activity(session, authz, activity, node.path, Submission())
    return activity


async def update_activity(session: AsyncSession, authz: Authorizer, a: Activity, path: str,
                          data: ActivityUpdate) -> Activity:
    authz.require(WRITE, path)
    status = await request_status(session, a.approval_request_id)
    if not revisable(a.stage, ActivityStage.draft, ActivityStage.submitted, status):
        raise conflict(f"activity {a.number}", shown_status(a.stage.value, status),
                       "only a draft, or a plan rejected or withdrawn, can be revised")
    changes = provided(data)
    before = audit.snapshot(a)
    if data.budget is not msgspec.UNSET:
        del changes["budget"]
        a.budget_lines, a.budget = _lines(data.budget, "budget")
    if data.project_ids is not msgspec.UNSET:
        changes["project_ids"] = [str(p) for p in data.project_ids]
    await _check_audience(session, a.club_id, data.tiers if data.tiers is not msgspec.UNSET else [],
                          data.project_ids if data.project_ids is not msgspec.UNSET else [])
    for name, value in changes.items():
        setattr(a, name, value)
    _check_times(a)
    a.updated_at = clock.utcnow()
    await session.flush()
    await session.refresh(a)
    await audit.record(session, action="club.activity.update", entity_type=ACTIVITY, entity_id=a.id, before=before,
                       after=audit.snapshot(a))
    return a


async def submit_activity(session: AsyncSession, authz: Authorizer, a: Activity, path: str,
                          data: Submission) -> Activity:
    authz.require(WRITE, path)
    status = await request_status(session, a.approval_request_id)
    if not revisable(a.stage, ActivityStage.draft, ActivityStage.submitted, status):
        raise conflict(f"activity {a.number}", shown_status(a.stage.value, status),
                       "it is already under review or decided")
    before = audit.snapshot(a)
    if status is RequestStatus.rejected:
        assert a.approval_request_id is not None
        await approvals.resubmit(session, a.approval_request_id, Resubmission(
            reason=data.note or "Revised and submitted again.", amount=str(a.budget)))
    else:
        request = await approvals.create_request(
            session, request_type=ACTIVITY_TYPE, title=f"{a.number} {a.title}"[:300],
            payload={"activityId": str(a.id)}, amount=a.budget, reason=data.note)
        a.approval_request_id = request.id
    a.stage = ActivityStage.submitted
    a.updated_at = clock.utcnow()
    await session.flush()
    await session.refresh(a)
    await audit.record(session, action="club.activity.submit", entity_type=ACTIVITY, entity_id=a.id, before=before,
                       after=audit.snapshot(a), reason=data.note)
    return a


ACTIVITY_RECORD = Approvable(Activity, key="activityId", entity=ACTIVITY, what="activity")


async def _activity_payload(session: AsyncSession, a: Activity) -> dict[str, Any]:
    return {"activityId": str(a.id), "number": a.number, "kind": a.kind.value, "title": a.title,
            "purpose": a.purpose, "content": a.content, "form": a.form, "startsAt": a.starts_at.isoformat(),
            "capacity": a.capacity, "budget": a.budget_lines, "budgetTotal": str(a.budget)}


ACTIVITY_REQUEST = approvable_type(
    ACTIVITY_TYPE, "Club activity plan", ACTIVITY_RECORD, describe=_activity_payload,
    default_chain=[{"name": "Supervising manager", "role": "supervising_manager", "at": "branch"}],
    default_roles={"supervising_manager": "Supervising manager"},
)


async def _move(session: AsyncSession, a: Activity, action: str, before: dict[str, Any],
                reason: str | None = None) -> Activity:
    await session.flush()
    await session.refresh(a)
    await audit.record(session, action=f"club.activity.{action}", entity_type=ACTIVITY, entity_id=a.id,
                       before=before, after=audit.snapshot(a), reason=reason)
    return a


async def publish(session: AsyncSession, authz: Authorizer, a: Activity, path: str) -> Activity:
    authz.require(WRITE, path)
    status = await request_status(session, a.approval_request_id)
    if a.stage is ActivityStage.submitted and status is not RequestStatus.approved:
        raise conflict(f"activity {a.number}", shown_status(a.stage.value, status),
                       "only an approved plan is published")
    before = audit.snapshot(a)
    a.stage = FLOW.to("publish", a.stage, ActivityStage.published, _label(a))
    a.published_at = clock.utcnow()
    return await _move(session, a, "publish", before)


async def record(session: AsyncSession, authz: Authorizer, a: Activity, path: str, data: ActivityRecord) -> Activity:
    authz.require(WRITE, path)
    before = audit.snapshot(a)
    a.stage = FLOW.to("record", a.stage, ActivityStage.held, _label(a))
    a.held_summary = data.summary
    a.actual_lines, a.actual_cost = _lines(data.actual, "actual")
    return await _move(session, a, "record", before)


async def evaluate(session: AsyncSession, authz: Authorizer, a: Activity, path: str, data: EvaluationIn) -> Activity:
    authz.require(WRITE, path)
    FLOW.require("evaluate", a.stage, _label(a), hint="record the activity first")
    if data.questionnaire_id is not None and await session.get(Questionnaire, data.questionnaire_id) is None:
        raise ProblemError("not-found", f"No questionnaire with id {data.questionnaire_id}.",
                           errors=[field_error("questionnaireId", "no such questionnaire")])
    before = audit.snapshot(a)
    a.stage = FLOW.to("evaluate", a.stage, ActivityStage.evaluated, _label(a))
    a.referrals, a.purchases, a.sales_value = data.referrals, data.purchases, Decimal(data.sales_value)
    a.questionnaire_id, a.evaluation_notes = data.questionnaire_id, data.notes
    return await _move(session, a, "evaluate", before)


async def cancel(session: AsyncSession, authz: Authorizer, a: Activity, path: str, data: Cancellation) -> Activity:
    authz.require(WRITE, path)
    status = await request_status(session, a.approval_request_id)
    if a.stage is ActivityStage.submitted and status is RequestStatus.pending:
        raise conflict(f"activity {a.number}", "pending", "withdraw its approval request first")
    before = audit.snapshot(a)
    a.stage = FLOW.to("cancel", a.stage, ActivityStage.cancelled, _label(a))
    a.cancel_reason = data.reason
    return await _move(session, a, "cancel", before, data.reason)


async def evaluation(session: AsyncSession, a: Activity) -> Evaluation:
    counts = await _counts(session, a.id)
    participants = counts.get(RegistrationStatus.checked_in, 0)
    taken = participants + counts.get(RegistrationStatus.registered, 0)
    satisfaction, responses = None, 0
    if a.questionnaire_id is not None:
        came = (select(Member.customer_id).join(Registration, Registration.member_id == Member.id)
                .where(Registration.activity_id == a.id, Registration.status == RegistrationStatus.checked_in))
        overall = SurveyAnswer.dimension == Dimension.overall
        row = (await session.execute(
            select(func.count(func.distinct(SurveyResult.id)),
                   case((func.count(SurveyAnswer.id).filter(overall) == 0, None), else_=func.round(
                       cast(func.count(SurveyAnswer.id).filter(and_(overall, SurveyAnswer.score >= 4)), Numeric)
                       * 100 / func.count(SurveyAnswer.id).filter(overall), 1)))
            .select_from(SurveyResult).join(SurveyAnswer, SurveyAnswer.result_id == SurveyResult.id)
            .where(SurveyResult.questionnaire_id == a.questionnaire_id, SurveyResult.customer_id.in_(came),
                   SurveyResult.responded_at >= a.starts_at))).one()
        responses, satisfaction = int(row[0]), (float(row[1]) if row[1] is not None else None)
    cost = a.actual_cost
    return Evaluation(
        activity_id=a.id, registered=taken, participants=participants,
        attendance_rate=round(participants / taken, 4) if taken else None, referrals=a.referrals,
        purchases=a.purchases,
        conversion_rate=round(a.purchases / participants, 4) if a.purchases is not None and participants else None,
        sales_value=a.sales_value, satisfaction=satisfaction, satisfaction_responses=responses, budget=a.budget,
        cost=cost, cost_per_participant=(cost / participants).quantize(ZERO) if cost is not None and participants
        else None,
        benefit_cost_ratio=round(float(a.sales_value / cost), 4) if a.sales_value is not None and cost else None,
        notes=a.evaluation_notes)


# -------------------------------------------------------------------------- registrations


async def _token(session: AsyncSession, registration_id: uuid.UUID) -> str:
    mac = (await tenant_keys(session)).blind_index(CHECK_IN_KEY, str(registration_id))
    return f"{registration_id}.{mac}"


async def _position(session: AsyncSession, r: Registration) -> int | None:
    if r.status is not RegistrationStatus.waitlisted:
        return None
    ahead = await session.scalar(select(func.count()).where(
        Registration.activity_id == r.activity_id, Registration.status == RegistrationStatus.waitlisted,
        or_(Registration.created_at < r.created_at,
            and_(Registration.created_at == r.created_at, Registration.id < r.id))))
    return int(ahead or 0) + 1


async def registration_out(session: AsyncSession, r: Registration, *, with_token: bool = False) -> RegistrationOut:
    token = await _token(session, r.id) if with_token and r.status is RegistrationStatus.registered else None
    return RegistrationOut(id=r.id, activity_id=r.activity_id, member_id=r.member_id, status=r.status,
                           waitlist_position=await _position(session, r), promoted_at=r.promoted_at,
                           cancelled_at=r.cancelled_at, checked_in_at=r.checked_in_at, check_in_token=token,
                           created_at=r.created_at, version=r.version)


async def list_registrations(session: AsyncSession, a: Activity, params: PageParams, *,
                             status: RegistrationStatus | None) -> Page[RegistrationOut]:
    stmt: Select[Any] = select(Registration).where(Registration.activity_id == a.id)
    if status is not None:
        stmt = stmt.where(Registration.status == status)
    page = await paginate(session, stmt, params, sortable=REGISTRATION_SORT, default_sort=["createdAt"],
                          tiebreak=Registration.id, to_schema=lambda r: r)
    return Page(items=[await registration_out(session, r) for r in page.items], total=page.total,
                limit=page.limit, offset=page.offset)


async def _open_to(session: AsyncSession, a: Activity, member: Member) -> bool:
    """Whether the activity is offered to ``member``: their club, tier and project."""
    if member.club_id != a.club_id or member.status is not MemberStatus.active:
        return False
    if a.tiers:
        tier = await session.get(ClubTier, member.tier_id)
        if tier is None or tier.code not in a.tiers:
            return False
    if a.project_ids:
        node = await session.get(OrgNode, member.node_id)
        if node is None or not any(p in node.path.split("/") for p in a.project_ids):
            return False
    return True


async def _register(session: AsyncSession, a: Activity, member: Member) -> Registration:
    """``a`` is locked: places are counted one registration at a time."""
    if a.stage is not ActivityStage.published:
        raise conflict(f"activity {a.number}", a.stage.value, "registration is open while it is published")
    if not await _open_to(session, a, member):
        raise ProblemError("conflict", f"Activity {a.number} is not offered to member {member.number} (its club, "
                                       "tiers or projects).", errors=[field_error("memberId", "not offered to")])
    existing = await session.scalar(select(Registration).where(Registration.activity_id == a.id,
                                                               Registration.member_id == member.id))
    counts = await _counts(session, a.id)
    held = counts.get(RegistrationStatus.registered, 0) + counts.get(RegistrationStatus.checked_in, 0)
    status = RegistrationStatus.registered if held < a.capacity else RegistrationStatus.waitlisted
    if existing is not None:
        if existing.status is not RegistrationStatus.cancelled:
            raise ProblemError("conflict", f"Member {member.number} is registered already ({existing.status.value}).",
                               errors=[field_error("memberId", "registered already")])
        before = audit.snapshot(existing)
        existing.status, existing.cancelled_at, existing.created_at = status, None, clock.utcnow()
        registration = existing
    else:
        before = None
        registration = Registration(activity_id=a.id, member_id=member.id, node_id=a.node_id, status=status)
        session.add(registration)
    await session.flush()
    await session.refresh(registration)
    await audit.record(session, action=f"club.registration.{status.value}", entity_type=REGISTRATION,
                       entity_id=registration.id, before=before, after=audit.snapshot(registration))
    return registration


async def register(session: AsyncSession, authz: Authorizer, a: Activity, path: str,
                   data: RegistrationIn) -> Registration:
    authz.require(WRITE, path)
    member, _ = await get_member(session, authz, data.member_id, field="memberId")
    return await _register(session, a, member)


async def _promote(session: AsyncSession, a: Activity) -> Registration | None:
    """A place freed: the first on the waitlist takes it."""
    first = await session.scalar(select(Registration).where(
        Registration.activity_id == a.id, Registration.status == RegistrationStatus.waitlisted)
        .order_by(Registration.created_at, Registration.id).limit(1).with_for_update())
    if first is None:
        return None
    before = audit.snapshot(first)
    first.status, first.promoted_at = RegistrationStatus.registered, clock.utcnow()
    await session.flush()
    await session.refresh(first)
    await audit.record(session, action="club.registration.promote", entity_type=REGISTRATION, entity_id=first.id,
                       before=before, after=audit.snapshot(first))
    return first


async def cancel_registration(session: AsyncSession, a: Activity, r: Registration) -> Registration:
    """``a`` is locked. A place given back goes to the first on the waitlist."""
    if r.status not in (RegistrationStatus.registered, RegistrationStatus.waitlisted):
        raise conflict("registration", r.status.value, "only a place held or waited for is cancelled")
    if a.stage is not ActivityStage.published:
        raise conflict(f"activity {a.number}", a.stage.value, "registrations change while it is published")
    held = r.status is RegistrationStatus.registered
    before = audit.snapshot(r)
    r.status, r.cancelled_at = RegistrationStatus.cancelled, clock.utcnow()
    await session.flush()
    await session.refresh(r)
    await audit.record(session, action="club.registration.cancel", entity_type=REGISTRATION, entity_id=r.id,
                       before=before, after=audit.snapshot(r))
    if held:
        await _promote(session, a)
    return r


async def get_registration(session: AsyncSession, authz: Authorizer, registration_id: uuid.UUID, *,
                           lock: bool = False) -> tuple[Registration, str]:
    return await get_at_node(session, authz, Registration, registration_id, READ, "registration", lock=lock)


async def locked_activity(session: AsyncSession, activity_id: uuid.UUID) -> Activity:
    a = await session.scalar(select(Activity).where(Activity.id == activity_id).with_for_update())
    assert a is not None  # a foreign key holds it
    return a


async def check_in(session: AsyncSession, authz: Authorizer, a: Activity, path: str, data: CheckIn) -> Registration:
    """Accept a QR token once: it must be this activity's, made by us, for a place held."""
    authz.require(WRITE, path)
    refused = ProblemError("validation", "This is not a check-in code of this activity.",
                           errors=[field_error("token", "not valid")])
    raw_id, _, mac = data.token.partition(".")
    try:
        registration_id = uuid.UUID(raw_id)
    except ValueError:
        raise refused from None
    if not hmac.compare_digest(await _token(session, registration_id), data.token):
        raise refused
    r = await session.scalar(select(Registration).where(Registration.id == registration_id,
                                                        Registration.activity_id == a.id).with_for_update())
    if r is None:
        raise refused
    if a.stage is not ActivityStage.published:
        raise conflict(f"activity {a.number}", a.stage.value, "check-in is open while it is published")
    if r.status is RegistrationStatus.checked_in:
        raise ProblemError("conflict", f"This code was used already: checked in at {r.checked_in_at}.")
    if r.status is not RegistrationStatus.registered:
        raise conflict("registration", r.status.value, "only a place held checks in")
    before = audit.snapshot(r)
    r.status, r.checked_in_at, r.checked_in_by = RegistrationStatus.checked_in, clock.utcnow(), authz.principal.subject
    await session.flush()
    await session.refresh(r)
    await audit.record(session, action="club.registration.check_in", entity_type=REGISTRATION, entity_id=r.id,
                       before=before, after=audit.snapshot(r))
    return r


# ---------------------------------------------------------------------------- the owner


async def _own_members(session: AsyncSession, authz: Authorizer) -> list[Member]:
    ids = [c.id for c in await own_customers(session, authz)]
    return list((await session.scalars(select(Member).where(Member.customer_id.in_(ids),
                                                            Member.status == MemberStatus.active))).all())


async def own_activities(session: AsyncSession, authz: Authorizer, params: PageParams) -> Page[OwnActivity]:
    """Published activities offered to one of the owner's memberships."""
    members = await _own_members(session, authz)
    stmt: Select[Any] = select(Activity).where(Activity.stage == ActivityStage.published,
                                               Activity.club_id.in_([m.club_id for m in members]))
    rows = (await session.scalars(stmt.order_by(Activity.starts_at, Activity.id))).all()
    offered = [(a, m) for a in rows for m in members if await _open_to(session, a, m)]
    window = offered[params.offset:params.offset + params.limit]
    items = []
    for a, m in window:
        counts = await _counts(session, a.id)
        held = counts.get(RegistrationStatus.registered, 0) + counts.get(RegistrationStatus.checked_in, 0)
        mine = await session.scalar(select(Registration).where(Registration.activity_id == a.id,
                                                               Registration.member_id == m.id))
        items.append(OwnActivity(id=a.id, club_id=a.club_id, number=a.number, title=a.title, content=a.content,
                                 form=a.form, venue=a.venue, starts_at=a.starts_at, ends_at=a.ends_at,
                                 capacity=a.capacity, places_left=max(a.capacity - held, 0),
                                 my_registration_id=mine.id if mine else None,
                                 my_status=mine.status if mine else None))
    return Page(items=items, total=len(offered), limit=params.limit, offset=params.offset)


async def register_own(session: AsyncSession, authz: Authorizer, activity_id: uuid.UUID) -> Registration:
    a = await session.scalar(select(Activity).where(Activity.id == activity_id).with_for_update())
    members = await _own_members(session, authz)
    member = None
    for m in members:
        if a is not None and await _open_to(session, a, m):
            member = m
            break
    if a is None or member is None or a.stage not in (ActivityStage.published, ActivityStage.held,
                                                      ActivityStage.evaluated):
        raise ProblemError("not-found", f"No activity with id {activity_id}.")
    return await _register(session, a, member)


async def own_registrations(session: AsyncSession, authz: Authorizer, params: PageParams) -> Page[RegistrationOut]:
    ids = [m.id for m in await _own_members(session, authz)]
    stmt: Select[Any] = select(Registration).where(Registration.member_id.in_(ids))
    page = await paginate(session, stmt, params, sortable=REGISTRATION_SORT, default_sort=["-createdAt"],
                          tiebreak=Registration.id, to_schema=lambda r: r)
    return Page(items=[await registration_out(session, r, with_token=True) for r in page.items], total=page.total,
                limit=page.limit, offset=page.offset)


async def get_own_registration(session: AsyncSession, authz: Authorizer, registration_id: uuid.UUID, *,
                               lock: bool = False) -> Registration:
    ids = [c.id for c in await own_customers(session, authz)]
    stmt = (select(Registration).join(Member, Member.id == Registration.member_id)
            .where(Registration.id == registration_id, Member.customer_id.in_(ids)))
    r = await session.scalar(stmt.with_for_update(of=Registration) if lock else stmt)
    if r is None:
        raise ProblemError("not-found", f"No registration with id {registration_id}.")
    return r


