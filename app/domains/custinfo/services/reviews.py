"""The quarterly full review of the customer base (seed 001 §2.2.1 (1): 每季度对客户信息数据库
进行一次全面盘点): a review per quarter at a node lists the live customer records there and below
whose ``validUntil`` has passed or falls within the quarter; staff work each listed record
(confirmed or updated, renewed with a new ``validUntil``; or retired), and the review closes
once every record is worked. A daily scan opens the quarter's review at the group on the
quarter's first day (or the first scan after it), once.
"""

from __future__ import annotations

import uuid
from datetime import date

from sqlalchemy import func, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core import audit, clock
from app.core.ids import new_id
from app.core.keystore import tenant_keys
from app.core.numbering import next_number
from app.core.pagination import PageParams, paginate
from app.core.problems import ProblemError, field_error
from app.core.schemas import Page
from app.core.states import Workflow
from app.core.writes import saved
from app.domains.access.authz import Authorizer, trusted
from app.domains.access.records import get_at_node, node_for, under
from app.domains.custinfo.models import (
    CustomerReview,
    CustomerReviewItem,
    ReviewDue,
    ReviewOutcome,
    ReviewStatus,
)
from app.domains.custinfo.schemas import (
    RetireItem,
    ReviewClose,
    ReviewCreate,
    ReviewItemOut,
    ReviewItemWork,
    ReviewOut,
    ReviewProgress,
)
from app.domains.custinfo.services.common import ORG_LEVELS, READ, REVIEW, REVIEW_ENTITY, REVIEW_ITEM, conflict
from app.domains.customers.models import Customer, CustomerStatus
from app.domains.customers.references import register_customer_reference
from app.domains.customers.services import ENTITY as CUSTOMER_ENTITY
from app.domains.customers.services import safe_snapshot
from app.domains.org import services as org
from app.domains.org.models import OrgNode
from app.tenants.bound import today

register_customer_reference(CustomerReviewItem, "customer_id")

REVIEW_FLOW = Workflow("customer review", {"close": ([ReviewStatus.open], [ReviewStatus.closed])})
ITEM_FLOW = Workflow("review item", {
    "work": ([ReviewOutcome.pending], [ReviewOutcome.confirmed, ReviewOutcome.updated, ReviewOutcome.retired])})
REVIEW_SORT = {"startsOn": CustomerReview.starts_on, "createdAt": CustomerReview.created_at}
ITEM_SORT = {"validUntil": CustomerReviewItem.valid_until, "workedAt": CustomerReviewItem.worked_at}


def quarter_of(day: date) -> tuple[int, int]:
    return day.year, (day.month - 1) // 3 + 1


def quarter_bounds(year: int, quarter: int) -> tuple[date, date]:
    start = date(year, 3 * quarter - 2, 1)
    end = date(year + 1, 1, 1) if quarter == 4 else date(year, 3 * quarter + 1, 1)
    return start, date.fromordinal(end.toordinal() - 1)


async def get_review(session: AsyncSession, authz: Authorizer, review_id: uuid.UUID, *,
                     lock: bool = False) -> tuple[CustomerReview, str]:
    return await get_at_node(session, authz, CustomerReview, review_id, READ, "customer review", lock=lock)


async def _progress(session: AsyncSession, review_ids: list[uuid.UUID]) -> dict[uuid.UUID, ReviewProgress]:
    counts: dict[uuid.UUID, dict[str, int]] = {rid: {} for rid in review_ids}
    if review_ids:
        rows = await session.execute(
            select(CustomerReviewItem.review_id, CustomerReviewItem.outcome, func.count())
            .where(CustomerReviewItem.review_id.in_(review_ids))
            .group_by(CustomerReviewItem.review_id, CustomerReviewItem.outcome))
        for rid, outcome, n in rows.tuples():
            counts[rid][outcome.value] = n
    out = {}
    for rid, c in counts.items():
        listed = sum(c.values())
        pending = c.get("pending", 0)
        out[rid] = ReviewProgress(listed=listed, pending=pending, confirmed=c.get("confirmed", 0),
                                  updated=c.get("updated", 0), retired=c.get("retired", 0),
                                  percent_done=100 if listed == 0 else (listed - pending) * 100 // listed)
    return out


def _review_out(r: CustomerReview, progress: ReviewProgress) -> ReviewOut:
    return ReviewOut(id=r.id, number=r.number, node_id=r.node_id, year=r.year, quarter=r.quarter,
                     starts_on=r.starts_on, ends_on=r.ends_on, status=r.status, opened_by=r.opened_by,
                     closed_at=r.closed_at, closed_by=r.closed_by, progress=progress, version=r.version,
                     created_at=r.created_at)


async def review_out(session: AsyncSession, r: CustomerReview) -> ReviewOut:
    return _review_out(r, (await _progress(session, [r.id]))[r.id])


async def list_reviews(session: AsyncSession, authz: Authorizer, params: PageParams, *,
                       status: ReviewStatus | None) -> Page[ReviewOut]:
    stmt = select(CustomerReview).where(authz.visible(READ, CustomerReview.node_id))
    if status is not None:
        stmt = stmt.where(CustomerReview.status == status)
    page = await paginate(session, stmt, params, sortable=REVIEW_SORT, default_sort=["-startsOn"],
                          tiebreak=CustomerReview.id, to_schema=lambda r: r)
    progress = await _progress(session, [r.id for r in page.items])
    return Page(items=[_review_out(r, progress[r.id]) for r in page.items], total=page.total, limit=page.limit,
                offset=page.offset)


async def _open(session: AsyncSession, node: OrgNode, year: int, quarter: int, opened_by: str) -> CustomerReview:
    found = await session.scalar(select(CustomerReview).where(
        CustomerReview.node_id == node.id, CustomerReview.year == year, CustomerReview.quarter == quarter))
    if found is not None:
        raise ProblemError("conflict", f"The review of {year} Q{quarter} at {node.code} exists already: "
                                       f"{found.number}.", errors=[field_error("quarter", "reviewed already")])
    starts_on, ends_on = quarter_bounds(year, quarter)
    opened_on = await today(session)
    review = CustomerReview(number=await next_number(session, "PD", year), node_id=node.id, year=year,
                            quarter=quarter, starts_on=starts_on, ends_on=ends_on, status=ReviewStatus.open,
                            opened_by=opened_by)
    session.add(review)
    await session.flush()
    # Every live record there and below whose validity ends before the quarter does: past it
    # already, or due within the quarter.
    listed = (await session.execute(
        select(Customer.id, Customer.node_id, Customer.valid_until)
        .where(under(Customer.node_id, node.path), Customer.merged_into_id.is_(None),
               Customer.status != CustomerStatus.lost, Customer.valid_until.is_not(None),
               Customer.valid_until <= ends_on)
        .order_by(Customer.valid_until, Customer.id))).all()
    if listed:
        await session.execute(insert(CustomerReviewItem), [
            {"id": new_id(), "review_id": review.id, "customer_id": cid, "node_id": nid, "valid_until": until,
             "due": ReviewDue.due if until is None or until >= opened_on else ReviewDue.expired,
             "outcome": ReviewOutcome.pending, "version": 1} for cid, nid, until in listed])
    return await saved(session, review, "custinfo.review.open", REVIEW_ENTITY,
                       snapshot=lambda r: {**audit.snapshot(r), "listed": len(listed)})


async def open_review(session: AsyncSession, authz: Authorizer, data: ReviewCreate) -> CustomerReview:
    node = await node_for(session, authz, data.node_id, REVIEW, kinds=ORG_LEVELS)
    year, quarter = quarter_of(await today(session))
    if (data.year is None) != (data.quarter is None):
        raise ProblemError("validation", "Give both year and quarter, or neither (today's quarter).",
                           errors=[field_error("quarter" if data.quarter is None else "year", "give both")])
    if data.year is not None and data.quarter is not None:
        year, quarter = data.year, data.quarter
    return await _open(session, node, year, quarter, authz.principal.subject)


async def close_review(session: AsyncSession, authz: Authorizer, review: CustomerReview, path: str,
                       data: ReviewClose) -> CustomerReview:
    authz.require(REVIEW, path)
    REVIEW_FLOW.require("close", review.status, f"Customer review {review.number}")
    pending = (await _progress(session, [review.id]))[review.id].pending
    if pending:
        raise conflict(f"customer review {review.number}", "not worked through",
                       f"{pending} listed record(s) are still pending")
    before = audit.snapshot(review)
    review.status = REVIEW_FLOW.to("close", review.status, ReviewStatus.closed, f"Customer review {review.number}")
    review.closed_at, review.closed_by = clock.utcnow(), authz.principal.subject
    return await saved(session, review, "custinfo.review.close", REVIEW_ENTITY, before=before, reason=data.note)


# ---------------------------------------------------------------------------- the items


def _item_out(i: CustomerReviewItem, number: str, name: str) -> ReviewItemOut:
    return ReviewItemOut(id=i.id, review_id=i.review_id, customer_id=i.customer_id, customer_number=number,
                         customer_name=name, node_id=i.node_id, valid_until=i.valid_until, due=i.due,
                         outcome=i.outcome, new_valid_until=i.new_valid_until, note=i.note, worked_by=i.worked_by,
                         worked_at=i.worked_at, version=i.version)


async def item_out(session: AsyncSession, i: CustomerReviewItem) -> ReviewItemOut:
    number, name = (await session.execute(select(Customer.number, Customer.name)
                                          .where(Customer.id == i.customer_id))).one()
    return _item_out(i, number, name)


async def list_items(session: AsyncSession, authz: Authorizer, params: PageParams, *, review_id: uuid.UUID | None,
                     outcome: ReviewOutcome | None, due: ReviewDue | None) -> Page[ReviewItemOut]:
    stmt = select(CustomerReviewItem).where(authz.visible(READ, CustomerReviewItem.node_id))
    if review_id is not None:
        stmt = stmt.where(CustomerReviewItem.review_id == review_id)
    if outcome is not None:
        stmt = stmt.where(CustomerReviewItem.outcome == outcome)
    if due is not None:
        stmt = stmt.where(CustomerReviewItem.due == due)
    page = await paginate(session, stmt, params, sortable=ITEM_SORT, default_sort=["validUntil"],
                          tiebreak=CustomerReviewItem.id, to_schema=lambda i: i)
    names = {cid: (number, name) for cid, number, name in (await session.execute(
        select(Customer.id, Customer.number, Customer.name)
        .where(Customer.id.in_([i.customer_id for i in page.items])))).tuples()}
    return Page(items=[_item_out(i, *names[i.customer_id]) for i in page.items], total=page.total,
                limit=page.limit, offset=page.offset)


async def get_item(session: AsyncSession, authz: Authorizer, item_id: uuid.UUID, *,
                   lock: bool = False) -> tuple[CustomerReviewItem, str]:
    return await get_at_node(session, authz, CustomerReviewItem, item_id, READ, "review item", lock=lock)


async def work_item(session: AsyncSession, authz: Authorizer, item: CustomerReviewItem, path: str,
                    data: ReviewItemWork) -> CustomerReviewItem:
    """Record how a listed customer record was worked, and apply it to the record: a new
    validity, or the customer made inactive."""
    authz.require(REVIEW, path)
    review = await session.scalar(select(CustomerReview).where(CustomerReview.id == item.review_id))
    assert review is not None
    if review.status is not ReviewStatus.open:
        raise conflict(f"customer review {review.number}", review.status.value, "its records are no longer worked")
    label = "Review item"
    ITEM_FLOW.require("work", item.outcome, label)
    outcome = ReviewOutcome(type(data).__struct_config__.tag)
    valid_until = None if isinstance(data, RetireItem) else data.valid_until
    if valid_until is not None and valid_until <= review.ends_on:
        # The quarter under review decides what counts as renewed: the review's state.
        raise ProblemError("conflict", f"A renewed record is valid beyond the quarter under review (after "
                                       f"{review.ends_on}).",
                           errors=[field_error("validUntil", f"after {review.ends_on}")])
    customer = await session.scalar(select(Customer).where(Customer.id == item.customer_id).with_for_update())
    assert customer is not None
    if customer.merged_into_id is not None:
        raise conflict(f"customer {customer.number}", "merged", f"work customer {customer.merged_into_id} instead")
    keys = await tenant_keys(session)
    customer_before = safe_snapshot(customer, keys)
    if outcome is ReviewOutcome.retired:
        customer.status = CustomerStatus.inactive
    else:
        customer.valid_until = valid_until
    await saved(session, customer, "customers.update", CUSTOMER_ENTITY, before=customer_before,
                snapshot=lambda c: safe_snapshot(c, keys), reason=f"quarterly review {review.number}")
    before = audit.snapshot(item)
    item.outcome = ITEM_FLOW.to("work", item.outcome, outcome, label)
    item.new_valid_until, item.note = valid_until, data.note
    item.worked_by, item.worked_at = authz.principal.subject, clock.utcnow()
    return await saved(session, item, "custinfo.review.work", REVIEW_ITEM, before=before)


# ------------------------------------------------------------------------------ the scan


async def scan(session: AsyncSession) -> dict[str, int]:
    """Open this quarter's review at the group when it is not open yet (idempotent)."""
    year, quarter = quarter_of(await today(session))
    root = await org.get_root(session)
    exists = await session.scalar(select(CustomerReview.id).where(
        CustomerReview.node_id == root.id, CustomerReview.year == year, CustomerReview.quarter == quarter))
    if exists is not None:
        return {"opened": 0}
    await _open(session, root, year, quarter, trusted().principal.subject)
    return {"opened": 1}
