"""A person's requests about their personal information (PIPL arts. 44-47, seed 001 §2).

- **access**: a package of every record any domain holds about the person, built by a
  background job (``build_package``) and kept sealed; handing it over (``deliver``) is an
  audited act with its reason, and completes the request;
- **correction**: staff correct the records through their own domains' routes (protected
  fields through approval), then ``complete`` with the answer told to the person;
- **erasure**: every domain anonymises what it holds, or keeps it and says why per kind of
  record (``erase``, with ``privacy.erase``);
- **withdrawal**: the consents it names are withdrawn (``withdraw``, app/domains/privacy/withdrawal.py),
  and what they covered stops: care campaigns, behaviour data;
- any open request may be ``refuse``d with the reason told to the person (art. 50).

Each request has a deadline (``privacy.answer_days`` after filing); the deadline scan notes
the requests past it.
"""

from __future__ import annotations

import json
import uuid
from datetime import timedelta
from typing import Any

from sqlalchemy import Select, false, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.core import audit, clock, tenant_settings
from app.core.jobs import Job, JobError, Progress, create_job, run_job
from app.core.keystore import tenant_keys
from app.core.numbering import next_number
from app.core.pagination import PageParams, paginate
from app.core.personal import json_ready
from app.core.problems import ProblemError, field_error
from app.core.schemas import Page
from app.core.states import Workflow
from app.domains.access.authz import Authorizer, register_permissions
from app.domains.customers.lookups import customer_for
from app.domains.customers.models import ConsentKind, Customer
from app.domains.org.models import OrgNode
from app.domains.privacy import registry
from app.domains.privacy.models import PrivacyRequest, RequestChannel, RequestKind, RequestStatus
from app.domains.privacy.schemas import (
    AnswerIn,
    DetailsOut,
    MyRequestCreate,
    PackageOut,
    PrivacyRequestOut,
    RequestCreate,
)
from app.tenants.bound import local_year, today

READ, WRITE, ERASE, CONFIGURE = "privacy.read", "privacy.write", "privacy.erase", "privacy.configure"
register_permissions({
    READ: "See people's privacy requests in the subtree.",
    WRITE: "File, answer and refuse people's privacy requests; build and hand over their copies.",
    ERASE: "Carry out an erasure request: anonymise a person's records in every domain.",
    CONFIGURE: "Set the retention period of each kind of record (at the group).",
})

ANSWER_DAYS = tenant_settings.declare(
    "privacy.answer_days", 15, "Days within which a person's privacy request is to be answered.")
# Off by default: PIPL art. 50 asks for a timely answer and a second decision delays every one;
# an erasure already needs its own permission, and every step is audited (docs/privacy.md).
APPROVAL = tenant_settings.declare(
    "privacy.approval", [], "Kinds of privacy request (access, correction, erasure, withdrawal) decided through "
                            "the approval engine before they are carried out.")
APPROVAL_TYPE = "privacy_request"

ENTITY = "privacy_request"
SERIES = "GR"  # 个人信息: GR-2026-000123
PACKAGE_KIND = "privacy.package"
PROFILE = "customers.profile"  # the holding that says who the person is
# Sealed-field names (the associated data of each ciphertext).
DETAILS, PACKAGE = "privacy_requests.details", "privacy_requests.package"

FLOW: Workflow[RequestStatus] = Workflow("privacy request", {
    "deliver": ([RequestStatus.open, RequestStatus.completed], [RequestStatus.completed]),
    "build": ([RequestStatus.open], [RequestStatus.open]),
    "erase": ([RequestStatus.open], [RequestStatus.completed]),
    "withdraw": ([RequestStatus.open], [RequestStatus.completed]),
    "complete": ([RequestStatus.open], [RequestStatus.completed]),
    "refuse": ([RequestStatus.open], [RequestStatus.refused]),
})

SORT = {"createdAt": PrivacyRequest.created_at, "dueOn": PrivacyRequest.due_on, "number": PrivacyRequest.number}

_BULKY = frozenset({"details_sealed", "package_sealed", "outcome"})


def snapshot(r: PrivacyRequest) -> dict[str, Any]:
    """For the audit trail: never the person's words nor the package (sealed), only their presence."""
    snap = audit.snapshot(r, exclude=_BULKY)
    snap.update(has_details=r.details_sealed is not None, has_package=r.package_sealed is not None,
                outcome=r.outcome)
    return snap


def _label(r: PrivacyRequest) -> str:
    return f"Privacy request {r.number}"


async def get_request(session: AsyncSession, authz: Authorizer, request_id: uuid.UUID, *,
                      lock: bool = False) -> tuple[PrivacyRequest, str]:
    """A request the caller may read, with its node's path; any other id answers 404."""
    stmt = select(PrivacyRequest, OrgNode.path).join(OrgNode, OrgNode.id == PrivacyRequest.node_id) \
        .where(PrivacyRequest.id == request_id)
    if lock:
        stmt = stmt.with_for_update(of=PrivacyRequest)
    row = (await session.execute(stmt)).first()
    if row is None or not authz.can(READ, row[1]):
        raise ProblemError("not-found", f"No privacy request with id {request_id}.")
    return row[0], row[1]


async def request_out(session: AsyncSession, r: PrivacyRequest) -> PrivacyRequestOut:
    return PrivacyRequestOut.of(r, await today(session))


async def list_requests(session: AsyncSession, authz: Authorizer, params: PageParams, *,
                        status: RequestStatus | None, kind: RequestKind | None, overdue: bool | None,
                        customer_id: uuid.UUID | None) -> Page[PrivacyRequestOut]:
    stmt: Select[Any] = select(PrivacyRequest).where(authz.visible(READ, PrivacyRequest.node_id))
    if status is not None:
        stmt = stmt.where(PrivacyRequest.status == status)
    if kind is not None:
        stmt = stmt.where(PrivacyRequest.kind == kind)
    if customer_id is not None:
        stmt = stmt.where(PrivacyRequest.customer_id == customer_id)
    if overdue is not None:
        late = (PrivacyRequest.status == RequestStatus.open) & (PrivacyRequest.due_on < await today(session))
        stmt = stmt.where(late if overdue else ~late)
    day = await today(session)
    return await paginate(session, stmt, params, sortable=SORT, default_sort=["-createdAt"],
                          tiebreak=PrivacyRequest.id, to_schema=lambda r: PrivacyRequestOut.of(r, day))


async def file_request(session: AsyncSession, authz: Authorizer, data: RequestCreate) -> PrivacyRequest:
    customer, node = await customer_for(session, authz, data.customer_id, WRITE)
    return await _new(session, customer, data.kind, data.channel, data.details, data.consents)


def _consents(kind: RequestKind, consents: list[ConsentKind] | None) -> list[str] | None:
    """A withdrawal names the consents it withdraws; no other kind names any."""
    if (kind is RequestKind.withdrawal) != (consents is not None):
        hint = "name the consents withdrawn" if consents is None else "only a withdrawal names consents"
        raise ProblemError("validation", f"A {kind.value} request: {hint}.", errors=[field_error("consents", hint)])
    return None if consents is None else sorted({c.value for c in consents})


async def _new(session: AsyncSession, customer: Customer, kind: RequestKind, channel: RequestChannel,
               details: str | None, consents: list[ConsentKind] | None) -> PrivacyRequest:
    kinds = _consents(kind, consents)
    days, _ = await tenant_settings.get(session, ANSWER_DAYS)
    keys = await tenant_keys(session)
    now = clock.utcnow()
    r = PrivacyRequest(
        number=await next_number(session, SERIES, await local_year(session, now)), kind=kind,
        status=RequestStatus.open, channel=channel, customer_id=customer.id, node_id=customer.node_id,
        details_sealed=None if details is None else keys.seal(DETAILS, details),
        consent_kinds=kinds, filed_by=audit.actor_of(session).id,
        due_on=await today(session) + timedelta(days=int(days)))
    session.add(r)
    r = await saved(session, r, "privacy.request.file")
    routed, _ = await tenant_settings.get(session, APPROVAL)
    if kind.value in routed:
        from app.domains.approvals import services as approvals

        before = snapshot(r)
        request = await approvals.create_request(
            session, request_type=APPROVAL_TYPE, title=f"个人信息请求 {r.number} ({kind.value})",
            payload={"privacyRequestId": str(r.id)})
        r.approval_request_id = request.id
        r = await saved(session, r, "privacy.request.submit", before=before)
    return r


async def require_approved(session: AsyncSession, r: PrivacyRequest) -> None:
    """A request the tenant routes through the approval engine is carried out once approved."""
    if r.approval_request_id is None:
        return
    from app.domains.approvals.approvable import request_status
    from app.domains.approvals.models import RequestStatus as Decision

    status = await request_status(session, r.approval_request_id)
    if status is not Decision.approved:
        shown = status.value if status is not None else "missing"
        raise ProblemError("conflict", f"{_label(r)} is decided through approval, and its approval request is "
                                       f"{shown}: it is carried out once approved (or refused).")


# ------------------------------------------------------------------ owners (owner:self)


def _owned(authz: Authorizer) -> Any:
    owner = authz.owner_id
    return PrivacyRequest.customer_id.in_(select(Customer.id).where(Customer.account_id == owner)) \
        if owner else false()


async def file_mine(session: AsyncSession, authz: Authorizer, data: MyRequestCreate) -> PrivacyRequest:
    """An owner's request about one of their own customer records, filed from the app."""
    from app.domains.customers.services import get_mine

    customer = await get_mine(session, authz, data.customer_id, field="customerId")
    return await _new(session, customer, data.kind, RequestChannel.app, data.details, data.consents)


async def list_mine(session: AsyncSession, authz: Authorizer, params: PageParams) -> Page[PrivacyRequestOut]:
    day = await today(session)
    return await paginate(session, select(PrivacyRequest).where(_owned(authz)), params, sortable=SORT,
                          default_sort=["-createdAt"], tiebreak=PrivacyRequest.id,
                          to_schema=lambda r: PrivacyRequestOut.of(r, day))


async def get_mine(session: AsyncSession, authz: Authorizer, request_id: uuid.UUID, *,
                   lock: bool = False) -> PrivacyRequest:
    stmt = select(PrivacyRequest).where(PrivacyRequest.id == request_id, _owned(authz))
    r = await session.scalar(stmt.with_for_update() if lock else stmt)
    if r is None:
        raise ProblemError("not-found", f"No privacy request with id {request_id}.")
    return r


async def saved(session: AsyncSession, r: PrivacyRequest, action: str, *, before: dict[str, Any] | None = None,
                reason: str | None = None) -> PrivacyRequest:
    from app.core.writes import saved as write

    return await write(session, r, action, ENTITY, before=before, reason=reason, snapshot=snapshot)


async def reveal_details(session: AsyncSession, r: PrivacyRequest, reason: str) -> DetailsOut:
    """The person's words, for staff answering the request; audited with the reason."""
    keys = await tenant_keys(session)
    await audit.record(session, action="privacy.request.reveal", entity_type=ENTITY, entity_id=r.id,
                       after={"fields": ["details"]}, reason=reason)
    return DetailsOut(details=None if r.details_sealed is None else keys.open(DETAILS, r.details_sealed))


def answered(r: PrivacyRequest, session: AsyncSession, answer: str) -> None:
    r.answer, r.answered_by, r.answered_at = answer, audit.actor_of(session).id, clock.utcnow()


async def start_package(session: AsyncSession, authz: Authorizer, r: PrivacyRequest, path: str) -> Job:
    """Queue the job that builds the copy (the caller enqueues its task after commit)."""
    authz.require(WRITE, path)
    if r.kind is not RequestKind.access:
        raise ProblemError("conflict", f"{_label(r)} asks for {r.kind.value}: only an access request gets a copy.")
    await require_approved(session, r)
    return await queue_package(session, r)


async def queue_package(session: AsyncSession, r: PrivacyRequest) -> Job:
    """The package job of an open access request (the caller enqueues its task after commit)."""
    FLOW.require("build", r.status, _label(r))
    before = snapshot(r)
    job = await create_job(session, PACKAGE_KIND)
    r.job_id, r.package_sealed = job.id, None
    await saved(session, r, "privacy.package.start", before=before)
    return job


async def build_package(session: AsyncSession, job_id: uuid.UUID) -> bool:
    """The job: every domain's records of the person, sealed on the request."""
    async def work(progress: Progress) -> dict[str, Any]:
        r = await session.scalar(select(PrivacyRequest).where(PrivacyRequest.job_id == job_id).with_for_update())
        if r is None:
            raise JobError("the request of this job is gone")
        holdings = registry.holdings()
        sections: dict[str, Any] = {}
        items = []
        for done, holding in enumerate(holdings, start=1):
            records = json_ready(await holding.collect(session, r.customer_id))
            sections[holding.kind] = records
            items.append({"kind": holding.kind, "records": len(records)})
            await progress.report(done, len(holdings))
        built = clock.utcnow()
        package = {"requestId": str(r.id), "customerId": str(r.customer_id), "builtAt": built.isoformat(),
                   "sections": sections}
        keys = await tenant_keys(session)
        before = snapshot(r)
        r.package_sealed, r.outcome = keys.seal(PACKAGE, json.dumps(package, ensure_ascii=False)), items
        await saved(session, r, "privacy.package.build", before=before)
        return {"requestId": str(r.id), "items": items}

    return await run_job(session, job_id, PACKAGE_KIND, work)


async def deliver(session: AsyncSession, authz: Authorizer, r: PrivacyRequest, path: str,
                  reason: str) -> PackageOut:
    """The copy in plain text, handed over: audited with its reason; completes the request."""
    authz.require(WRITE, path)
    return await hand_over(session, r, reason)


async def hand_over(session: AsyncSession, r: PrivacyRequest, reason: str) -> PackageOut:
    await require_approved(session, r)
    if r.package_sealed is None:
        raise ProblemError("conflict", f"{_label(r)} has no copy yet: build it first "
                                       f"(POST .../package) and wait for its job.")
    target = FLOW.to("deliver", r.status, RequestStatus.completed, _label(r))
    keys = await tenant_keys(session)
    package = json.loads(keys.open(PACKAGE, r.package_sealed))
    before = snapshot(r)
    if r.status is RequestStatus.open:
        answered(r, session, f"Copy handed over: {reason}")
    r.status = target
    await saved(session, r, "privacy.package.deliver", before=before, reason=reason)
    return PackageOut(request_id=r.id, customer_id=r.customer_id, built_at=package["builtAt"],
                      sections=package["sections"])


async def erase(session: AsyncSession, authz: Authorizer, r: PrivacyRequest, path: str,
                data: AnswerIn) -> PrivacyRequest:
    """Every domain anonymises what it holds about the person, or keeps it and says why."""
    authz.require(ERASE, path)
    if r.kind is not RequestKind.erasure:
        raise ProblemError("conflict", f"{_label(r)} asks for {r.kind.value}, not erasure.")
    await require_approved(session, r)
    target = FLOW.to("erase", r.status, RequestStatus.completed, _label(r))
    before = snapshot(r)
    items = []
    # The profile goes last: another domain may find the person by what it says (a committee by the name).
    for holding in sorted(registry.holdings(), key=lambda h: h.kind == PROFILE):
        done = await holding.erase(session, r.customer_id)
        items.append({"kind": holding.kind, "anonymised": done.anonymised, "kept": done.kept,
                      "reason": done.reason})
    # The holdings write with UPDATE statements (this request's row among them): read it back.
    await session.refresh(r)
    r.outcome, r.status = items, target
    # The person's own words may name what was erased: they go too.
    r.details_sealed = None
    answered(r, session, data.answer)
    return await saved(session, r, "privacy.request.erase", before=before)


async def complete(session: AsyncSession, authz: Authorizer, r: PrivacyRequest, path: str,
                   data: AnswerIn) -> PrivacyRequest:
    authz.require(WRITE, path)
    if r.kind is not RequestKind.correction:
        hint = {RequestKind.access: "deliver its copy", RequestKind.withdrawal: "withdraw"}.get(r.kind, "erase")
        raise ProblemError("conflict", f"{_label(r)} asks for {r.kind.value}: {hint} to complete it.")
    await require_approved(session, r)
    target = FLOW.to("complete", r.status, RequestStatus.completed, _label(r))
    before = snapshot(r)
    r.status = target
    answered(r, session, data.answer)
    return await saved(session, r, "privacy.request.complete", before=before)


async def refuse(session: AsyncSession, authz: Authorizer, r: PrivacyRequest, path: str,
                 data: AnswerIn) -> PrivacyRequest:
    authz.require(WRITE, path)
    target = FLOW.to("refuse", r.status, RequestStatus.refused, _label(r))
    before = snapshot(r)
    r.status = target
    answered(r, session, data.answer)
    return await saved(session, r, "privacy.request.refuse", before=before)


async def note_overdue(session: AsyncSession) -> int:
    """The deadline scan's work in one tenant: open requests past their deadline, noted once
    each (audited); a count for the run's report."""
    day = await today(session)
    late = (await session.scalars(
        update(PrivacyRequest)
        .where(PrivacyRequest.status == RequestStatus.open, PrivacyRequest.due_on < day,
               PrivacyRequest.overdue_at.is_(None))
        .values(overdue_at=clock.utcnow(), version=PrivacyRequest.version + 1)
        .returning(PrivacyRequest.id).execution_options(synchronize_session=False))).all()
    for request_id in late:
        await audit.record(session, action="privacy.request.overdue", entity_type=ENTITY, entity_id=request_id,
                           after={"dueOn": day.isoformat()})
    return len(late)
