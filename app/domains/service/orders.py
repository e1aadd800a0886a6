"""In-sale orders to the letter of seed 001 §3.2 (售中服务).

- **Receipt** (§3.2.2 (1)): sales receives the customer's order; it is numbered (DD-…) and due
  for confirmation ``confirmWorkingMinutes`` of the group's working time after its receipt
  (§3.2.1 (1): "例如：工作日2小时内", 120 by default), counted in the group's working calendar
  (app/domains/calendars): an order taken on Friday at 17:00 is due on Monday at 10:00.
- **Confirmation** (§3.2.2 (2)): the order-processing centre confirms it (who, when, whether in
  time) and each department of the setting is told in-app, at once: the holders of its role
  at the order's node or above (§3.2.1 (1) "通知相关部门（如生产、物流）准备"; §3.2.2 (3)-(5)).
- **Overdue** (the scan, tasks.py): an order still unconfirmed past its deadline is flagged once
  and the order-processing centre and the receiver are told.
- **Progress** (§3.2.1 (2)): on a long process, each milestone is posted and sent to the
  customer, through their stated channels (care preferences) or in the app / by mail. These
  are service messages about the customer's own order, not marketing: no marketing consent is
  needed, but a customer who asked at ordering for no updates (``progressUpdates: false``) gets
  none (the milestone is recorded, ``sentVia: declined``).
- **Delivery** (§3.2.3): receipt and intactness checked, or the service's result confirmed with
  the customer (``inspection``), and the customer's in-sale feedback recorded (§3.2.3 (3)), at
  delivery or afterwards.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import msgspec
from sqlalchemy import Select, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core import audit, clock, tenant_settings
from app.core.keystore import tenant_keys
from app.core.notify import EMAIL, INBOX, PUSH, SMS, queue_messages
from app.core.numbering import next_number
from app.core.pagination import PageParams, paginate
from app.core.problems import ProblemError, field_error
from app.core.schemas import Page
from app.core.states import Workflow
from app.core.writes import saved
from app.domains.access.authz import Authorizer, register_permissions
from app.domains.access.models import Role, RoleAssignment
from app.domains.access.records import get_at_node, subtree_filter
from app.domains.calendars import services as calendars
from app.domains.care.preferences import preference_of
from app.domains.customers.lookups import customer_for
from app.domains.customers.models import Customer
from app.domains.customers.services import customer_email
from app.domains.customers.services.common import PHONE, open_sealed
from app.domains.org import services as org
from app.domains.org.models import OrgNode, Unit
from app.domains.service.models import OrderStatus, SaleOrder, SaleOrderUpdate
from app.domains.service.schemas import (
    ConfirmIn,
    DeliveryIn,
    DepartmentTold,
    FeedbackIn,
    FeedbackOut,
    OrderCreate,
    OrderOut,
    OrderSettings,
    OrderSettingsOut,
    OrderSummary,
    ProgressIn,
    ProgressOut,
)
from app.tenants.bound import local_year, tenant_id

READ, RECEIVE, CONFIRM = "orders.read", "orders.receive", "orders.confirm"
DELIVER, CONFIGURE = "orders.deliver", "orders.configure"
ORDER, UPDATE = "sale_order", "sale_order_update"

register_permissions({
    READ: "See customers' in-sale orders in the subtree, their progress and delivery.",
    RECEIVE: "Receive customers' orders (sales) and post their progress to the customer, in the subtree.",
    CONFIRM: "Confirm or cancel received orders (the order-processing centre); told of orders left unconfirmed "
             "past their deadline at the node where the role is held or above.",
    DELIVER: "Record an order's delivery and inspection and the customer's in-sale feedback, in the subtree.",
    CONFIGURE: "Set the confirmation deadline and the departments told of a confirmed order (at the group node).",
})

# 001 §3.2.1 (1) "例如：工作日2小时内" and §3.2.2 (3)-(5): preparation, logistics, finance.
SOURCE = "001 §3.2.1 (1) 订单确认: 工作日2小时内确认订单并通知相关部门; §3.2.2 (3)-(5) 生产/准备、物流、财务部门"
DEFAULT_SETTINGS: dict[str, Any] = {
    "confirmWorkingMinutes": 120,
    "departments": [
        {"code": "preparation", "name": "生产/准备部门 Preparation", "role": "order_preparation"},
        {"code": "logistics", "name": "物流部门 Logistics", "role": "order_logistics"},
        {"code": "finance", "name": "财务部门 Finance (收款)", "role": "order_finance"},
    ],
    "source": SOURCE,
}
SETTINGS = tenant_settings.declare(
    "orders.confirmation", DEFAULT_SETTINGS,
    "How long an in-sale order may wait for confirmation, in working minutes of the group's calendar, and the "
    "departments (roles) told when it is confirmed (001 §3.2.1 (1)).")

SORT = {"receivedAt": SaleOrder.received_at, "confirmDueAt": SaleOrder.confirm_due_at, "number": SaleOrder.number}
SCAN_BATCH = 500

FLOW: Workflow[OrderStatus] = Workflow("order", {
    "confirm": ([OrderStatus.received], [OrderStatus.confirmed]),
    "progress": ([OrderStatus.confirmed, OrderStatus.in_progress], [OrderStatus.in_progress]),
    "deliver": ([OrderStatus.confirmed, OrderStatus.in_progress], [OrderStatus.delivered]),
    "feedback": ([OrderStatus.delivered], [OrderStatus.delivered]),
    "cancel": ([OrderStatus.received, OrderStatus.confirmed, OrderStatus.in_progress], [OrderStatus.cancelled]),
})


def _label(o: SaleOrder) -> str:
    return f"Order {o.number}"


# ---------------------------------------------------------------------------- settings


def settings_of(value: dict[str, Any]) -> OrderSettings:
    return msgspec.convert(value, OrderSettings)


def settings_out(s: OrderSettings) -> OrderSettingsOut:
    return OrderSettingsOut(confirm_working_minutes=s.confirm_working_minutes, source=s.source,
                            departments=[DepartmentTold(code=d.code, name=d.name, role=d.role, told=0)
                                         for d in s.departments])


async def read_settings(session: AsyncSession, authz: Authorizer, *, lock: bool = False) -> tuple[OrderSettings, int]:
    if lock:
        authz.require(CONFIGURE, (await org.get_root(session)).path)
    else:
        authz.require_anywhere(READ)
    value, version = await tenant_settings.get(session, SETTINGS, lock=lock)
    return settings_of(value), version


async def put_settings(session: AsyncSession, data: OrderSettings) -> int:
    codes = [d.code for d in data.departments]
    if len(set(codes)) != len(codes):
        raise ProblemError("validation", "Each department is named once.",
                           errors=[field_error("departments", "a code named twice")])
    known = set((await session.scalars(select(Role.code).where(Role.code.in_([d.role for d in data.departments]))))
                .all())
    missing = [i for i, d in enumerate(data.departments) if d.role not in known]
    if missing:
        raise ProblemError("conflict", "A department names a role the group does not have.",
                           errors=[field_error(f"departments[{i}].role", "no such role") for i in missing])
    return await tenant_settings.put(session, SETTINGS, msgspec.to_builtins(data))


# ------------------------------------------------------------------------------ shapes


def overdue(o: SaleOrder, now: datetime | None = None) -> bool:
    return o.status is OrderStatus.received and (now or clock.utcnow()) >= o.confirm_due_at


async def order_out(session: AsyncSession, o: SaleOrder) -> OrderOut:
    updates = (await session.scalars(select(SaleOrderUpdate).where(SaleOrderUpdate.order_id == o.id)
                                     .order_by(SaleOrderUpdate.posted_at, SaleOrderUpdate.id))).all()
    feedback = None if o.feedback_rating is None or o.feedback_at is None else FeedbackOut(
        rating=o.feedback_rating, comment=o.feedback_comment, at=o.feedback_at)
    return OrderOut(
        id=o.id, number=o.number, customer_id=o.customer_id, node_id=o.node_id, unit_id=o.unit_id, kind=o.kind,
        item=o.item, amount=o.amount, channel=o.channel, status=o.status, progress_updates=o.progress_updates,
        received_at=o.received_at, received_by=o.received_by, confirm_minutes=o.confirm_minutes,
        confirm_due_at=o.confirm_due_at, overdue=overdue(o), confirmed_at=o.confirmed_at,
        confirmed_by=o.confirmed_by,
        confirmed_in_time=None if o.confirmed_at is None else o.confirmed_at <= o.confirm_due_at,
        confirm_note=o.confirm_note, departments=[msgspec.convert(d, DepartmentTold) for d in o.departments],
        expected_at=o.expected_at,
        progress=[ProgressOut(id=u.id, milestone=u.milestone, note=u.note, expected_at=u.expected_at,
                              posted_by=u.posted_by, posted_at=u.posted_at, sent_via=u.sent_via) for u in updates],
        delivered_at=o.delivered_at, delivery_confirmed_by=o.delivery_confirmed_by, inspection=o.inspection,
        inspection_notes=o.inspection_notes, feedback=feedback, cancel_reason=o.cancel_reason,
        created_at=o.created_at, version=o.version)


def _summary(o: SaleOrder) -> OrderSummary:
    return OrderSummary(id=o.id, number=o.number, customer_id=o.customer_id, node_id=o.node_id, kind=o.kind,
                        item=o.item, status=o.status, received_at=o.received_at, confirm_due_at=o.confirm_due_at,
                        overdue=overdue(o), version=o.version)


# ------------------------------------------------------------------------- the reads


async def get_order(session: AsyncSession, authz: Authorizer, order_id: uuid.UUID, *,
                    lock: bool = False) -> tuple[SaleOrder, str]:
    return await get_at_node(session, authz, SaleOrder, order_id, READ, "order", lock=lock)


async def list_orders(session: AsyncSession, authz: Authorizer, params: PageParams, *, status: OrderStatus | None,
                      customer_id: uuid.UUID | None, node_id: uuid.UUID | None,
                      is_overdue: bool | None) -> Page[OrderSummary]:
    stmt: Select[Any] = select(SaleOrder).where(authz.visible(READ, SaleOrder.node_id))
    if status is not None:
        stmt = stmt.where(SaleOrder.status == status)
    if customer_id is not None:
        stmt = stmt.where(SaleOrder.customer_id == customer_id)
    if node_id is not None:
        stmt = stmt.where(await subtree_filter(session, SaleOrder.node_id, node_id))
    if is_overdue is not None:
        late = (SaleOrder.status == OrderStatus.received) & (SaleOrder.confirm_due_at <= clock.utcnow())
        stmt = stmt.where(late if is_overdue else ~late)
    return await paginate(session, stmt, params, sortable=SORT, default_sort=["-receivedAt"], tiebreak=SaleOrder.id,
                          to_schema=_summary)


# ---------------------------------------------------------------------------- receipt


async def receive(session: AsyncSession, authz: Authorizer, data: OrderCreate) -> SaleOrder:
    customer, node = await customer_for(session, authz, data.customer_id, RECEIVE)
    where = node
    if data.unit_id is not None:
        unit = await session.get(Unit, data.unit_id)
        project = None if unit is None else await session.get(OrgNode, unit.project_id)
        if project is None or not (authz.can("org.read", project.path) or authz.can(RECEIVE, project.path)):
            raise ProblemError("not-found", f"No unit with id {data.unit_id}.",
                               errors=[field_error("unitId", "no such unit")])
        authz.require(RECEIVE, project.path)
        where = project
    now = clock.utcnow()
    received = data.received_at or now
    if received > now + timedelta(minutes=5):  # a little clock skew of the sales office's system
        raise ProblemError("validation", "An order cannot be received in the future.",
                           errors=[field_error("receivedAt", "in the future")])
    settings, _ = await tenant_settings.get(session, SETTINGS)
    minutes = settings_of(settings).confirm_working_minutes
    due = (await calendars.load(session)).add(received, minutes * 60)
    o = SaleOrder(number=await next_number(session, "DD", await local_year(session, received)),
                  customer_id=customer.id, node_id=where.id, unit_id=data.unit_id, kind=data.kind, item=data.item,
                  amount=None if data.amount is None else Decimal(data.amount), channel=data.channel,
                  status=OrderStatus.received, progress_updates=data.progress_updates, received_at=received,
                  received_by=authz.principal.subject, confirm_minutes=minutes, confirm_due_at=due, departments=[])
    session.add(o)
    return await saved(session, o, "orders.receive", ORDER)


# ------------------------------------------------------------------------ telling staff


def _account(subject: str | None) -> str | None:
    try:
        return str(uuid.UUID(subject)) if subject else None
    except ValueError:
        return None


async def holders(session: AsyncSession, path: str, *, role: str | None = None,
                  permission: str | None = None) -> list[str]:
    """Accounts holding ``role`` (or a role naming ``permission``) at the node of ``path`` or any
    node above it. Roles holding every permission (the group's administrators) are left out:
    they would hear of every order of the group."""
    ancestors = [uuid.UUID(p) for p in path.split("/") if p]
    stmt = (select(RoleAssignment.account_id).join(Role, Role.id == RoleAssignment.role_id)
            .where(RoleAssignment.node_id.in_(ancestors)))
    if role is not None:
        stmt = stmt.where(Role.code == role)
    if permission is not None:
        stmt = stmt.where(Role.permissions.contains([permission]))
    return [str(a) for a in dict.fromkeys((await session.scalars(stmt.order_by(RoleAssignment.account_id))).all())]


async def _tell_staff(session: AsyncSession, people: list[str], o: SaleOrder, event: str, subject: str,
                      body: str) -> int:
    if not people:
        return 0
    sent = await queue_messages(session, people, tenant_id=await tenant_id(session), channel=INBOX, subject=subject,
                                body=body, data={"event": event, "orderId": str(o.id), "number": o.number,
                                                 "status": o.status.value})
    return len(sent)


# ------------------------------------------------------------------------- confirmation


async def confirm(session: AsyncSession, authz: Authorizer, o: SaleOrder, path: str, data: ConfirmIn) -> SaleOrder:
    authz.require(CONFIRM, path)
    settings, _ = await tenant_settings.get(session, SETTINGS)
    # Who is told is read before the order changes: its version then moves once.
    told = [(d, await holders(session, path, role=d.role)) for d in settings_of(settings).departments]
    before = audit.snapshot(o)
    o.status = FLOW.to("confirm", o.status, OrderStatus.confirmed, _label(o))
    o.confirmed_at, o.confirmed_by = clock.utcnow(), authz.principal.subject
    o.confirm_note, o.expected_at = data.note, data.expected_at
    o.departments = [{"code": d.code, "name": d.name, "role": d.role, "told": len(people)} for d, people in told]
    for d, people in told:
        await _tell_staff(
            session, people, o, "orders.confirmed", f"订单 {o.number} 已确认，请准备 Order {o.number} confirmed",
            f"订单 {o.number}（{o.item}）已确认，请{d.name}按订单要求准备。\n"
            f"Order {o.number} ({o.item}) is confirmed: {d.name}, please prepare for it.")
    return await saved(session, o, "orders.confirm", ORDER, before=before)


async def scan(session: AsyncSession) -> dict[str, int]:
    """Orders still unconfirmed past their deadline, flagged once each: the order-processing
    centre (``orders.confirm`` at the order's node or above) and the receiver are told."""
    now = clock.utcnow()
    rows = (await session.execute(
        select(SaleOrder, OrgNode.path).join(OrgNode, OrgNode.id == SaleOrder.node_id)
        .where(SaleOrder.status == OrderStatus.received, SaleOrder.confirm_due_at <= now,
               SaleOrder.overdue_notified_at.is_(None))
        .order_by(SaleOrder.confirm_due_at, SaleOrder.id).limit(SCAN_BATCH).with_for_update(of=SaleOrder,
                                                                                             skip_locked=True))).all()
    counts = {"overdue": 0, "told": 0}
    for o, path in rows:
        before = audit.snapshot(o)
        o.overdue_notified_at = now
        people = [*await holders(session, path, permission=CONFIRM), *filter(None, [_account(o.received_by)])]
        counts["told"] += await _tell_staff(
            session, list(dict.fromkeys(people)), o, "orders.overdue",
            f"订单 {o.number} 超时未确认 Order {o.number} is not confirmed in time",
            f"订单 {o.number}（{o.item}）应于 {o.confirm_due_at.isoformat()} 前确认，至今未确认。\n"
            f"Order {o.number} ({o.item}) was due for confirmation by {o.confirm_due_at.isoformat()} and is still "
            "unconfirmed.")
        await saved(session, o, "orders.overdue", ORDER, before=before)
        counts["overdue"] += 1
    return counts


# ------------------------------------------------------------------------------ progress


async def _reach(session: AsyncSession, customer: Customer) -> tuple[str, str] | None:
    """The first channel the customer can be reached on: their stated order of channels (care
    preferences), else the app, then mail."""
    preference = await preference_of(session, customer.id)
    channels = list(preference.channels) if preference is not None and preference.channels else ["app", "email"]
    for channel in channels:
        if channel in ("app", "push") and customer.account_id is not None:
            return (INBOX if channel == "app" else PUSH), str(customer.account_id)
        if channel == "sms" and (phone := open_sealed(await tenant_keys(session), PHONE, customer.phone_sealed)):
            return SMS, phone
        if channel == "email" and (email := await customer_email(session, customer)) is not None:
            return EMAIL, email
    return None


async def post_progress(session: AsyncSession, authz: Authorizer, o: SaleOrder, path: str,
                        data: ProgressIn) -> SaleOrder:
    authz.require(RECEIVE, path)
    before = audit.snapshot(o)
    o.status = FLOW.to("progress", o.status, OrderStatus.in_progress, _label(o))
    if data.expected_at is not None:
        o.expected_at = data.expected_at
    update = SaleOrderUpdate(order_id=o.id, milestone=data.milestone, note=data.note, expected_at=data.expected_at,
                             posted_by=authz.principal.subject, posted_at=clock.utcnow(), sent_via="declined")
    if o.progress_updates:
        customer = await session.get(Customer, o.customer_id)
        assert customer is not None  # a foreign key holds it
        reach = await _reach(session, customer)
        update.sent_via = "unreachable"
        if reach is not None:
            channel, recipient = reach
            when = f"\n预计下一步 Next step expected: {data.expected_at.isoformat()}" if data.expected_at else ""
            [message] = await queue_messages(
                session, [recipient], tenant_id=await tenant_id(session), channel=channel,
                subject=f"订单 {o.number} 进度 Progress of your order {o.number}",
                body=f"尊敬的{customer.name}：您的订单（{o.item}）进展：{data.milestone}。"
                     f"{data.note or ''}\nDear {customer.name}, your order ({o.item}): {data.milestone}.{when}",
                data={"event": "orders.progress", "orderId": str(o.id), "number": o.number,
                      "customerId": str(customer.id), "milestone": data.milestone})
            update.sent_via, update.outbox_message_id = channel, message.id
    session.add(update)
    await session.flush()
    await audit.record(session, action="orders.progress.post", entity_type=UPDATE, entity_id=update.id,
                       after=audit.snapshot(update))
    return await saved(session, o, "orders.progress", ORDER, before=before)


# ------------------------------------------------------------------------------ delivery


def _feedback(o: SaleOrder, data: FeedbackIn) -> None:
    o.feedback_rating, o.feedback_comment, o.feedback_at = data.rating, data.comment, clock.utcnow()


async def deliver(session: AsyncSession, authz: Authorizer, o: SaleOrder, path: str, data: DeliveryIn) -> SaleOrder:
    authz.require(DELIVER, path)
    before = audit.snapshot(o)
    o.status = FLOW.to("deliver", o.status, OrderStatus.delivered, _label(o), hint="confirm it first")
    o.delivered_at, o.delivery_confirmed_by = clock.utcnow(), authz.principal.subject
    o.inspection, o.inspection_notes = data.inspection, data.notes
    if data.feedback is not None:
        _feedback(o, data.feedback)
    return await saved(session, o, "orders.deliver", ORDER, before=before)


async def give_feedback(session: AsyncSession, authz: Authorizer, o: SaleOrder, path: str,
                        data: FeedbackIn) -> SaleOrder:
    authz.require(DELIVER, path)
    FLOW.require("feedback", o.status, _label(o))
    if o.feedback_at is not None:
        raise ProblemError("conflict", f"{_label(o)} has the customer's feedback already.")
    before = audit.snapshot(o)
    _feedback(o, data)
    return await saved(session, o, "orders.feedback", ORDER, before=before)


async def cancel(session: AsyncSession, authz: Authorizer, o: SaleOrder, path: str, reason: str) -> SaleOrder:
    authz.require(CONFIRM, path)
    before = audit.snapshot(o)
    o.status = FLOW.to("cancel", o.status, OrderStatus.cancelled, _label(o))
    o.cancel_reason = reason
    return await saved(session, o, "orders.cancel", ORDER, before=before, reason=reason)


# ---------------------------------------------------------------------------- org hooks


@org.live_records("service")
async def _orders_at(session: AsyncSession, holder: org.Holder) -> str | None:
    if holder.kind == "unit":
        count = await session.scalar(select(func.count()).where(SaleOrder.unit_id == holder.id))
        return f"{count} orders" if count else None
    return await org.records_at(session, holder, [(SaleOrder, "orders")])
