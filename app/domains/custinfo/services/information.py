"""Customer information for the departments, to the letter of seed 004 §4.8: 4.8.2 the
departments state their needs (basic facts, opinions on the housing, feedback on the
community, potential needs…); 4.8.3 information collected through every channel (customers'
feedback) reaches customer affairs, which reviews it against the requirements; 4.8.4 classifies
what it accepts into the customer information base; 4.8.5 provides it on demand to the
department whose need asked for it, which reads what was provided to it.
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core import audit, clock
from app.core.numbering import next_number
from app.core.pagination import PageParams, paginate
from app.core.problems import ProblemError, field_error
from app.core.schemas import Page, provided
from app.core.states import Workflow
from app.core.writes import saved
from app.domains.access.authz import Authorizer
from app.domains.access.records import get_at_node, node_for
from app.domains.custinfo.models import (
    InfoItemStatus,
    InformationItem,
    InformationNeed,
    InformationProvision,
    InfoTopic,
)
from app.domains.custinfo.schemas import (
    ItemClassify,
    ItemCreate,
    ItemOut,
    ItemReview,
    ItemSummary,
    NeedCreate,
    NeedOut,
    NeedUpdate,
    ProvisionCreate,
    ProvisionOut,
    TopicCount,
)
from app.domains.custinfo.services.common import (
    AFFAIRS,
    COLLECT,
    ITEM,
    NEED,
    NEED_ENTITY,
    ORG_LEVELS,
    PROVISION,
    READ,
    conflict,
)
from app.domains.customers.lookups import customer_for
from app.domains.customers.references import register_customer_reference
from app.tenants.bound import local_year

register_customer_reference(InformationItem, "customer_id")

ITEM_FLOW = Workflow("information item", {
    "review": ([InfoItemStatus.collected], [InfoItemStatus.accepted, InfoItemStatus.rejected]),
    "classify": ([InfoItemStatus.accepted, InfoItemStatus.classified], [InfoItemStatus.classified]),
})
NEED_SORT = {"createdAt": InformationNeed.created_at, "number": InformationNeed.number}
ITEM_SORT = {"createdAt": InformationItem.created_at, "number": InformationItem.number}
PROVISION_SORT = {"createdAt": InformationProvision.created_at}


async def _year(session: AsyncSession) -> int:
    return await local_year(session, clock.utcnow())


# ----------------------------------------------------------------------------------- needs


async def get_need(session: AsyncSession, authz: Authorizer, need_id: uuid.UUID, *,
                   lock: bool = False) -> tuple[InformationNeed, str]:
    return await get_at_node(session, authz, InformationNeed, need_id, READ, "information need", lock=lock)


def _need_out(n: InformationNeed, provisions: int) -> NeedOut:
    return NeedOut(id=n.id, number=n.number, node_id=n.node_id, department=n.department, topic=n.topic,
                   description=n.description, stated_by=n.stated_by, active=n.active, provisions=provisions,
                   version=n.version, created_at=n.created_at)


async def _provision_counts(session: AsyncSession, ids: list[uuid.UUID]) -> dict[uuid.UUID, int]:
    if not ids:
        return {}
    rows = await session.execute(select(InformationProvision.need_id, func.count())
                                 .where(InformationProvision.need_id.in_(ids)).group_by(InformationProvision.need_id))
    return dict(rows.tuples().all())


async def need_out(session: AsyncSession, n: InformationNeed) -> NeedOut:
    return _need_out(n, (await _provision_counts(session, [n.id])).get(n.id, 0))


async def list_needs(session: AsyncSession, authz: Authorizer, params: PageParams, *, topic: InfoTopic | None,
                     active: bool | None) -> Page[NeedOut]:
    stmt = select(InformationNeed).where(authz.visible(READ, InformationNeed.node_id))
    if topic is not None:
        stmt = stmt.where(InformationNeed.topic == topic)
    if active is not None:
        stmt = stmt.where(InformationNeed.active.is_(active))
    page = await paginate(session, stmt, params, sortable=NEED_SORT, default_sort=["-createdAt"],
                          tiebreak=InformationNeed.id, to_schema=lambda n: n)
    counts = await _provision_counts(session, [n.id for n in page.items])
    return Page(items=[_need_out(n, counts.get(n.id, 0)) for n in page.items], total=page.total, limit=page.limit,
                offset=page.offset)


async def create_need(session: AsyncSession, authz: Authorizer, data: NeedCreate) -> InformationNeed:
    node = await node_for(session, authz, data.node_id, NEED, kinds=ORG_LEVELS)
    need = InformationNeed(number=await next_number(session, "XQ", await _year(session)), node_id=node.id,
                           department=data.department, topic=data.topic, description=data.description,
                           stated_by=authz.principal.subject, active=True)
    session.add(need)
    return await saved(session, need, "custinfo.need.create", NEED_ENTITY)


async def update_need(session: AsyncSession, authz: Authorizer, need: InformationNeed, path: str,
                      data: NeedUpdate) -> InformationNeed:
    authz.require(NEED, path)
    before = audit.snapshot(need)
    for name, value in provided(data).items():
        setattr(need, name, value)
    return await saved(session, need, "custinfo.need.update", NEED_ENTITY, before=before)


# ----------------------------------------------------------------------------------- items


async def get_item(session: AsyncSession, authz: Authorizer, item_id: uuid.UUID, *,
                   lock: bool = False) -> tuple[InformationItem, str]:
    return await get_at_node(session, authz, InformationItem, item_id, READ, "information item", lock=lock)


def item_out(i: InformationItem) -> ItemOut:
    return ItemOut(id=i.id, number=i.number, node_id=i.node_id, customer_id=i.customer_id, topic=i.topic,
                   channel=i.channel, content=i.content, collected_by=i.collected_by, status=i.status,
                   review_note=i.review_note, reviewed_by=i.reviewed_by, reviewed_at=i.reviewed_at,
                   tags=list(i.tags or []), classified_at=i.classified_at, version=i.version,
                   created_at=i.created_at)


def _item_snapshot(i: InformationItem) -> dict[str, Any]:
    # What a customer said stays out of the trail: its length is recorded.
    snap = audit.snapshot(i, exclude=frozenset({"content"}))
    snap["contentLength"] = len(i.content)
    return snap


async def list_items(session: AsyncSession, authz: Authorizer, params: PageParams, *,
                     status: InfoItemStatus | None, topic: InfoTopic | None,
                     customer_id: uuid.UUID | None) -> Page[ItemOut]:
    stmt = select(InformationItem).where(authz.visible(READ, InformationItem.node_id))
    if status is not None:
        stmt = stmt.where(InformationItem.status == status)
    if topic is not None:
        stmt = stmt.where(InformationItem.topic == topic)
    if customer_id is not None:
        stmt = stmt.where(InformationItem.customer_id == customer_id)
    return await paginate(session, stmt, params, sortable=ITEM_SORT, default_sort=["-createdAt"],
                          tiebreak=InformationItem.id, to_schema=item_out)


async def summary(session: AsyncSession, authz: Authorizer) -> ItemSummary:
    """The aggregate customer affairs reviews: per topic, the items in each status."""
    rows = await session.execute(select(InformationItem.topic, InformationItem.status, func.count())
                                 .where(authz.visible(READ, InformationItem.node_id))
                                 .group_by(InformationItem.topic, InformationItem.status))
    counts: dict[InfoTopic, dict[InfoItemStatus, int]] = {t: {} for t in InfoTopic}
    for topic, status, n in rows.tuples():
        counts[topic][status] = n
    return ItemSummary(topics=[TopicCount(topic=t, **{s.value: c.get(s, 0) for s in InfoItemStatus})
                               for t, c in counts.items()])


async def collect_item(session: AsyncSession, authz: Authorizer, data: ItemCreate) -> InformationItem:
    node = await node_for(session, authz, data.node_id, COLLECT, kinds=ORG_LEVELS)
    if data.customer_id is not None:
        await customer_for(session, authz, data.customer_id, COLLECT)
    item = InformationItem(number=await next_number(session, "XX", await _year(session)), node_id=node.id,
                           customer_id=data.customer_id, topic=data.topic, channel=data.channel,
                           content=data.content, collected_by=authz.principal.subject,
                           status=InfoItemStatus.collected, tags=[])
    session.add(item)
    return await saved(session, item, "custinfo.item.collect", ITEM, snapshot=_item_snapshot)


async def review_item(session: AsyncSession, authz: Authorizer, item: InformationItem, path: str,
                      data: ItemReview) -> InformationItem:
    authz.require(AFFAIRS, path)
    label = f"Information item {item.number}"
    before = _item_snapshot(item)
    item.status = ITEM_FLOW.to("review", item.status,
                               InfoItemStatus.accepted if data.accepted else InfoItemStatus.rejected, label)
    item.review_note, item.reviewed_by, item.reviewed_at = data.note, authz.principal.subject, clock.utcnow()
    return await saved(session, item, "custinfo.item.review", ITEM, before=before, snapshot=_item_snapshot)


async def classify_item(session: AsyncSession, authz: Authorizer, item: InformationItem, path: str,
                        data: ItemClassify) -> InformationItem:
    authz.require(AFFAIRS, path)
    before = _item_snapshot(item)
    item.status = ITEM_FLOW.to("classify", item.status, InfoItemStatus.classified,
                               f"Information item {item.number}")
    tags = [t for t in (" ".join(tag.split())[:50] for tag in data.tags) if t]
    item.topic, item.tags, item.classified_at = data.topic, list(dict.fromkeys(tags)), clock.utcnow()
    return await saved(session, item, "custinfo.item.classify", ITEM, before=before, snapshot=_item_snapshot)


# ------------------------------------------------------------------------------ provisions


async def _provision_out(session: AsyncSession, p: InformationProvision, need: InformationNeed) -> ProvisionOut:
    ids = [uuid.UUID(i) for i in p.item_ids]
    items = {i.id: i for i in (await session.scalars(select(InformationItem)
                                                     .where(InformationItem.id.in_(ids)))).all()}
    return ProvisionOut(id=p.id, need_id=p.need_id, node_id=p.node_id, department=need.department,
                        items=[item_out(items[i]) for i in ids if i in items], note=p.note,
                        provided_by=p.provided_by, created_at=p.created_at, version=p.version)


async def provision_out(session: AsyncSession, p: InformationProvision) -> ProvisionOut:
    need = await session.get(InformationNeed, p.need_id)
    assert need is not None
    return await _provision_out(session, p, need)


async def get_provision(session: AsyncSession, authz: Authorizer,
                        provision_id: uuid.UUID) -> tuple[InformationProvision, str]:
    return await get_at_node(session, authz, InformationProvision, provision_id, READ, "information provision")


async def list_provisions(session: AsyncSession, authz: Authorizer, need: InformationNeed,
                          params: PageParams) -> Page[ProvisionOut]:
    stmt = select(InformationProvision).where(InformationProvision.need_id == need.id)
    page = await paginate(session, stmt, params, sortable=PROVISION_SORT, default_sort=["-createdAt"],
                          tiebreak=InformationProvision.id, to_schema=lambda p: p)
    return Page(items=[await _provision_out(session, p, need) for p in page.items], total=page.total,
                limit=page.limit, offset=page.offset)


async def provide(session: AsyncSession, authz: Authorizer, need: InformationNeed, path: str,
                  data: ProvisionCreate) -> InformationProvision:
    """Hand classified items of the need's topic to the department that asked."""
    authz.require(AFFAIRS, path)
    if not need.active:
        raise conflict(f"information need {need.number}", "withdrawn", "nothing more is provided for it")
    wanted = list(dict.fromkeys(data.item_ids))
    found = {i.id: i for i in (await session.scalars(
        select(InformationItem).where(InformationItem.id.in_(wanted), authz.visible(READ, InformationItem.node_id))
    )).all()}
    errors = []
    for n, item_id in enumerate(data.item_ids):
        item = found.get(item_id)
        field = f"itemIds.{n}"
        if item is None:
            errors.append(field_error(field, "no such information item"))
        elif item.status is not InfoItemStatus.classified:
            errors.append(field_error(field, f"{item.status.value}: only classified items are provided"))
        elif item.topic is not need.topic:
            errors.append(field_error(field, f"about {item.topic.value}; the need asks for {need.topic.value}"))
    if errors:
        status = "not-found" if all(e.message == "no such information item" for e in errors) else "conflict"
        raise ProblemError(status, "Only classified items of the need's topic, in your reach, are provided.",
                           errors=errors)
    provision = InformationProvision(need_id=need.id, node_id=need.node_id, item_ids=[str(i) for i in wanted],
                                     note=data.note, provided_by=authz.principal.subject)
    session.add(provision)
    need.updated_at = clock.utcnow()  # the need's count of provisions moved: a new version
    return await saved(session, provision, "custinfo.provision.create", PROVISION)
