"""Care campaigns: the group's rules and the scan that sends their messages.

Rules are the group's (``care.configure`` at the group node changes them). Every hour the
fan-out scan visits each tenant; outside the group's quiet hours (its time zone) it finds, per
active rule, the customers whose occasion is today there:

- ``birthday``: active club members whose birth date falls today (29 February on the 28th in
  other years);
- ``holiday``: every live customer, on the rule's month and day;
- ``anniversary``: owners of units in a project whose handover date falls today, a year or
  more ago.

Only customers with an active **marketing** consent are written to, through the first of the
rule's channels they can be reached on (``app``: their owner account's inbox; ``push``: app
push to that account; ``wechat``: a template message to the openid the owner bound in the app,
binding being the owner's agreement to WeChat messages (wechat.py); ``sms``: their phone;
``email``: their address). A customer who stated a preference (preferences.py, or the owner
in the app: own.py) is written to only through their channels, in their order; the channels
passed over are recorded on the message with the reason ("no WeChat binding"). An owner's own
quiet hours hold their message like the group's. A message is recorded per rule, customer and
occasion (unique in the database), in the transaction that writes it to the outbox: a
customer hears once per occasion, however often the scan runs.

Messages due inside quiet hours are **held**, not dropped: the first run after the quiet
hours end sends them. Each run also sends what was due yesterday and has not gone out (a
greeting due late in the evening, inside the quiet hours that run past midnight; a day the
scan could not run), under yesterday's occasion key, so still once.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, Select, and_, exists, extract, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.config import get_settings
from app.core import audit, clock
from app.core.channels import wechat_account, wechat_data
from app.core.keystore import tenant_keys
from app.core.notify import EMAIL, INBOX, PUSH, SMS, WECHAT, queue_messages
from app.core.pagination import PageParams, paginate
from app.core.problems import ProblemError, field_error
from app.core.schemas import Page, provided
from app.domains.access.authz import Authorizer, register_permissions
from app.domains.care import wechat
from app.domains.care.models import CareMessage, CarePreference, CareRule, Occasion
from app.domains.care.preferences import own_quiet, preference_of, quiet_hours
from app.domains.care.schemas import CareMessageOut, QuietHours, RuleIn, RuleOut, RuleUpdate
from app.domains.club.models import Member, MemberStatus
from app.domains.customers.models import ConsentKind, Customer, CustomerConsent, CustomerUnit
from app.domains.customers.services import customer_email
from app.domains.customers.services.common import PHONE, open_sealed
from app.domains.org import services as org
from app.domains.org.models import OrgNode, Unit
from app.tenants.bound import tenant_id, time_zone

READ, CONFIGURE = "care.read", "care.configure"
RULE = "care_rule"
SORT = {"name": CareRule.name, "createdAt": CareRule.created_at}
MESSAGE_SORT = {"sentAt": CareMessage.sent_at}
SCAN_BATCH = 500  # customers per rule and run; the rest wait for the next hourly run

register_permissions({
    READ: "See the group's care campaigns and the care messages sent.",
    CONFIGURE: "Define the group's care campaigns (birthday, holiday, handover anniversary); at the group node.",
})

def rule_out(r: CareRule) -> RuleOut:
    return RuleOut(id=r.id, name=r.name, occasion=r.occasion, month=r.month, day=r.day, channels=list(r.channels),
                   subject=r.subject, body=r.body, active=r.active, created_at=r.created_at, version=r.version)


async def _root_path(session: AsyncSession) -> str:
    return (await org.get_root(session)).path


async def get_rule(session: AsyncSession, authz: Authorizer, rule_id: uuid.UUID, *,
                   lock: bool = False) -> tuple[CareRule, str]:
    authz.require_anywhere(READ)
    stmt = select(CareRule).where(CareRule.id == rule_id)
    rule = await session.scalar(stmt.with_for_update() if lock else stmt)
    if rule is None:
        raise ProblemError("not-found", f"No care rule with id {rule_id}.")
    return rule, await _root_path(session)


async def list_rules(session: AsyncSession, authz: Authorizer, params: PageParams) -> Page[RuleOut]:
    authz.require_anywhere(READ)
    return await paginate(session, select(CareRule), params, sortable=SORT, default_sort=["name"],
                          tiebreak=CareRule.id, to_schema=rule_out)


def _check(rule: CareRule) -> None:
    holiday = rule.occasion is Occasion.holiday
    if holiday != (rule.month is not None and rule.day is not None):
        raise ProblemError("validation", "A holiday names its month and day; other occasions none.",
                           errors=[field_error("month", "with day, for holidays only")])
    if holiday:
        try:
            date(2024, rule.month or 0, rule.day or 0)  # a leap year: 29 February is a date
        except ValueError:
            raise ProblemError("validation", "No such day of the year.",
                               errors=[field_error("day", "not a day of that month")]) from None


async def _unique(session: AsyncSession, name: str, besides: uuid.UUID | None = None) -> None:
    stmt = select(CareRule.id).where(CareRule.name == name)
    if besides is not None:
        stmt = stmt.where(CareRule.id != besides)
    if await session.scalar(stmt) is not None:
        raise ProblemError("conflict", f"A care rule named {name!r} exists already.",
                           errors=[field_error("name", "taken")])


async def create_rule(session: AsyncSession, authz: Authorizer, data: RuleIn) -> CareRule:
    authz.require(CONFIGURE, await _root_path(session))
    await _unique(session, data.name)
    rule = CareRule(name=data.name, occasion=data.occasion, month=data.month, day=data.day,
                    channels=list(dict.fromkeys(data.channels)), subject=data.subject, body=data.body,
                    active=data.active, created_by=authz.principal.subject)
    _check(rule)
    session.add(rule)
    await session.flush()
    await session.refresh(rule)
    await audit.record(session, action="care.rule.create", entity_type=RULE, entity_id=rule.id,
                       after=audit.snapshot(rule))
    return rule


async def update_rule(session: AsyncSession, authz: Authorizer, rule: CareRule, path: str,
                      data: RuleUpdate) -> CareRule:
    authz.require(CONFIGURE, path)
    changes = provided(data)
    if "name" in changes:
        await _unique(session, str(changes["name"]), rule.id)
    before = audit.snapshot(rule)
    for name, value in changes.items():
        setattr(rule, name, list(dict.fromkeys(value)) if name == "channels" else value)  # type: ignore[call-overload]
    _check(rule)
    await session.flush()
    await session.refresh(rule)
    await audit.record(session, action="care.rule.update", entity_type=RULE, entity_id=rule.id, before=before,
                       after=audit.snapshot(rule))
    return rule


async def list_messages(session: AsyncSession, authz: Authorizer, params: PageParams, *,
                        rule_id: uuid.UUID | None, customer_id: uuid.UUID | None) -> Page[CareMessageOut]:
    authz.require_anywhere(READ)
    stmt: Select[Any] = select(CareMessage)
    if rule_id is not None:
        stmt = stmt.where(CareMessage.rule_id == rule_id)
    if customer_id is not None:
        stmt = stmt.where(CareMessage.customer_id == customer_id)
    return await paginate(session, stmt, params, sortable=MESSAGE_SORT, default_sort=["-sentAt"],
                          tiebreak=CareMessage.id, to_schema=lambda m: CareMessageOut(
                              id=m.id, rule_id=m.rule_id, customer_id=m.customer_id, occasion=m.occasion,
                              channel=m.channel, skipped=list(m.skipped), sent_at=m.sent_at))


# ------------------------------------------------------------------------------- the scan


def _quiet(now: time, hours: QuietHours) -> bool:
    start, end = hours.times()
    if start <= end:
        return start <= now < end
    return now >= start or now < end  # across midnight


def _on(month: Any, day: Any, today: date) -> ColumnElement[bool]:
    """``month``/``day`` (SQL expressions) fall on ``today``; 29 February on the 28th in other years."""
    same = and_(extract("month", month) == today.month, extract("day", day) == today.day)
    leap = today.year % 4 == 0 and (today.year % 100 != 0 or today.year % 400 == 0)
    if today.month == 2 and today.day == 28 and not leap:
        return or_(same, and_(extract("month", month) == 2, extract("day", day) == 29))
    return same


def _consented() -> ColumnElement[bool]:
    now = clock.utcnow()
    return exists().where(CustomerConsent.customer_id == Customer.id, CustomerConsent.kind == ConsentKind.marketing,
                          CustomerConsent.granted_at <= now,
                          or_(CustomerConsent.withdrawn_at.is_(None), CustomerConsent.withdrawn_at > now))


def _targets(rule: CareRule, today: date) -> tuple[str, Select[Any]] | None:
    """The occasion's key and the customers it is today, or None when it is not today."""
    live = Customer.merged_into_id.is_(None)
    if rule.occasion is Occasion.birthday:
        return f"birthday:{today.year}", (
            select(Customer).where(live, exists().where(
                Member.customer_id == Customer.id, Member.status == MemberStatus.active,
                Member.birth_date.is_not(None), _on(Member.birth_date, Member.birth_date, today))))
    if rule.occasion is Occasion.holiday:
        if (rule.month, rule.day) != (today.month, today.day):
            return None
        return f"holiday:{today.isoformat()}", select(Customer).where(live)
    handover = OrgNode.handover_date
    return f"anniversary:{today.year}", select(Customer).where(live, exists().where(
        CustomerUnit.customer_id == Customer.id, Unit.id == CustomerUnit.unit_id, OrgNode.id == Unit.project_id,
        handover.is_not(None), extract("year", handover) < today.year, _on(handover, handover, today)))


async def _wechat_templates() -> Mapping[str, str] | None:
    """The template of each message kind of the deployment's official account; None while no
    account is configured (the outbox logs WeChat messages instead of sending them)."""
    url = get_settings().wechat_url
    return None if not url else wechat_account(url).templates


async def _channel(session: AsyncSession, rule: CareRule, c: Customer, preference: CarePreference | None,
                   skipped: list[dict[str, str]]) -> tuple[str, str] | None:
    """The first channel the customer can be reached on: (outbox channel, recipient). The
    rule's channels in its order, or the customer's own among them in theirs. The channels
    passed over go into ``skipped`` with the reason."""
    channels = list(rule.channels)
    if preference is not None and preference.channels:
        channels = [ch for ch in preference.channels if ch in channels]
    for channel in channels:
        reason: str
        if channel in ("app", "push", "wechat") and c.account_id is None:
            reason = "no owner account"
        elif channel in ("app", "push") and c.account_id is not None:
            return (INBOX if channel == "app" else PUSH), str(c.account_id)
        elif channel == "wechat" and c.account_id is not None:
            templates = await _wechat_templates()
            openid = await wechat.openid_of(session, c.account_id)
            if openid is None:
                reason = "no WeChat binding"
            elif templates is not None and rule.occasion.value not in templates:
                reason = f"no WeChat template for {rule.occasion.value}"
            else:
                return WECHAT, openid
        elif channel == "sms":
            if phone := open_sealed(await tenant_keys(session), PHONE, c.phone_sealed):
                return SMS, phone
            reason = "no phone"
        elif channel == "email":
            if (email := await customer_email(session, c)) is not None:
                return EMAIL, email
            reason = "no e-mail address"
        skipped.append({"channel": channel, "reason": reason})
    return None


async def _send(session: AsyncSession, rule: CareRule, occasion: str, stmt: Select[Any], tid: uuid.UUID,
                local: datetime, counts: dict[str, int], trail: list[dict[str, Any]]) -> None:
    """Write the rule's message for ``occasion`` to each consenting customer not yet told,
    outside their own quiet hours."""
    sent = exists().where(CareMessage.rule_id == rule.id, CareMessage.customer_id == Customer.id,
                          CareMessage.occasion == occasion)
    customers = (await session.scalars(stmt.where(_consented(), ~sent).order_by(Customer.id)
                                       .limit(SCAN_BATCH))).all()
    for c in customers:
        preference = await preference_of(session, c.id)
        own = own_quiet(preference)
        if own is not None and _quiet(local.time(), own):
            counts["held"] += 1  # inside the customer's own quiet hours: a later run sends it
            continue
        skipped: list[dict[str, str]] = []
        reach = await _channel(session, rule, c, preference, skipped)
        if reach is None:
            counts["unreachable"] += 1
            continue
        channel, recipient = reach
        subject, body = rule.subject.replace("{name}", c.name), rule.body.replace("{name}", c.name)
        data: dict[str, Any] = {"event": "care.message", "ruleId": str(rule.id), "customerId": str(c.id),
                                "occasion": occasion}
        if channel == WECHAT:
            # The template's fields: the greeting, the customer, the day, the text.
            data["wechat"] = wechat_data(rule.occasion.value, {
                "first": subject, "keyword1": c.name, "keyword2": local.date().isoformat(), "remark": body})
        [message] = await queue_messages(session, [recipient], tenant_id=tid, channel=channel, subject=subject,
                                         body=body, data=data)
        row = CareMessage(rule_id=rule.id, customer_id=c.id, occasion=occasion, channel=channel, skipped=skipped,
                          outbox_message_id=message.id, sent_at=clock.utcnow())
        session.add(row)
        await session.flush()
        trail.append({"action": "care.message.send", "entity_type": "care_message", "entity_id": row.id,
                      "after": audit.snapshot(row)})
        counts["sent"] += 1


async def scan(session: AsyncSession) -> dict[str, int]:
    """One run in one tenant (idempotent: what was sent is not sent again). ``rules``: the
    rules due today."""
    counts = {"rules": 0, "sent": 0, "unreachable": 0, "held": 0, "quiet": 0}
    local = clock.utcnow().astimezone(ZoneInfo(await time_zone(session)))
    hours, _ = await quiet_hours(session)
    if _quiet(local.time(), hours):
        counts["quiet"] = 1  # held: the first run after the quiet hours sends them
        return counts
    today, tid = local.date(), await tenant_id(session)
    trail: list[dict[str, Any]] = []
    rules = (await session.scalars(select(CareRule).where(CareRule.active.is_(True))
                                   .order_by(CareRule.name))).all()
    for day in (today - timedelta(days=1), today):  # yesterday's: held past midnight, or a missed day
        for rule in rules:
            found = _targets(rule, day)
            if found is None:
                continue
            counts["rules"] += day == today
            await _send(session, rule, found[0], found[1], tid, local, counts, trail)
    await audit.record_many(session, trail)
    return counts
