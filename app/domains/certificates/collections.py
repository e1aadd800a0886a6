"""Overdue mortgage collection (seed 004 §4.6).

- **The feed**: finance's periodic list of overdue loans (a CSV file, UTF-8 or GBK/GB18030, an
  XLSX workbook's first sheet, or the same rows as JSON) is imported idempotently: each row
  finds its unit by building code and unit number and its case by the loan account (blind
  index); a new loan opens a case, a changed row updates it, an unchanged one is left as it
  is (a re-import writes nothing), an amount of 0 closes the case (repaid). A row for an
  unknown unit, or a unit with no owner, is reported with its line and nothing of the file is
  imported.
- **Reminders**: phone, SMS, e-mail, lawyer's letter or visit, each with its outcome and a
  promise to pay where one was made.
- **The litigation rule**, evaluated daily: the bank recommends it, or the loan is overdue more
  than ``months`` (6), or the overdue amount exceeds ``amount`` (20,000 yuan) — per tenant.
  A qualifying open case is referred to the general management department with its reasons;
  the compiled materials and their package are package.py's; the litigation's outcome is recorded.
"""

from __future__ import annotations

import csv
import io
import uuid
from datetime import date
from decimal import Decimal
from typing import Any

import msgspec
from sqlalchemy import ColumnElement, Select, and_, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core import audit, clock
from app.core import tenant_settings as settings
from app.core.audit import snapshot
from app.core.keystore import tenant_keys
from app.core.numbering import next_number
from app.core.pagination import PageParams, paginate
from app.core.problems import FieldError, ProblemError, field_error
from app.core.schemas import Page
from app.core.spreadsheets import is_xlsx, read_xlsx
from app.core.states import Workflow
from app.core.text import decode
from app.core.writes import saved
from app.domains.access.authz import Authorizer
from app.domains.access.records import get_at_node, subtree_filter
from app.domains.certificates.models import CollectionCase, CollectionStage, Reminder
from app.domains.certificates.permissions import COLLECTION_READ, COLLECTION_WRITE
from app.domains.certificates.schemas import (
    CollectionOut,
    FeedIn,
    FeedResult,
    FeedRowIn,
    LitigationOutcome,
    LitigationRule,
    ReminderIn,
    ReminderOut,
)
from app.domains.customers.models import CustomerUnit, OwnerRole
from app.domains.org.models import OrgNode, Unit
from app.tenants.bound import local_year, today

CASE = "collection_case"
LOAN_FIELD = "loan_account"  # the same field as guarantees: one loan, one index
CENT = Decimal("0.01")
SORT = {"overdueSince": CollectionCase.overdue_since, "overdueAmount": CollectionCase.overdue_amount,
        "number": CollectionCase.number}
COLUMNS = ["building_code", "unit_number", "bank", "loan_account", "overdue_since", "overdue_amount",
           "bank_recommends_litigation"]
REQUIRED = COLUMNS[:-1]
MAX_BYTES = 8 * 1024 * 1024
SCAN_BATCH = 500
YES = {"yes", "y", "true", "1", "是"}
NO = {"no", "n", "false", "0", "否", ""}

RULE = settings.declare(
    "collections.litigation",
    {"months": 6, "amount": "20000.00"},
    "The litigation rule: a case is referred when the bank recommends it, the loan is overdue more than "
    "`months`, or the overdue amount exceeds `amount` yuan.",
)

FLOW: Workflow[CollectionStage] = Workflow("collection case", {
    "remind": ([CollectionStage.open, CollectionStage.referred], [CollectionStage.open, CollectionStage.referred]),
    "refer": ([CollectionStage.open], [CollectionStage.referred]),
    "outcome": ([CollectionStage.referred], [CollectionStage.litigated]),
    "close": ([CollectionStage.open, CollectionStage.referred], [CollectionStage.closed]),
    "reopen": ([CollectionStage.closed], [CollectionStage.open]),
})


def _snap(c: CollectionCase) -> dict[str, Any]:
    return snapshot(c, exclude=frozenset({"loan_account_sealed", "loan_account_index"}))


def add_months(day: date, months: int) -> date:
    month = day.month - 1 + months
    year, month = day.year + month // 12, month % 12 + 1
    last = [31, 29 if year % 4 == 0 and (year % 100 != 0 or year % 400 == 0) else 28, 31, 30, 31, 30, 31, 31, 30,
            31, 30, 31][month - 1]
    return date(year, month, min(day.day, last))


def months_between(start: date, end: date) -> int:
    """Whole months from ``start`` to ``end``."""
    months = (end.year - start.year) * 12 + end.month - start.month
    return months - 1 if add_months(start, months) > end else max(months, 0)


async def rule(session: AsyncSession) -> LitigationRule:
    value, _ = await settings.get(session, RULE)
    return LitigationRule(months=int(value["months"]), amount=Decimal(str(value["amount"])))


def reasons(c: CollectionCase, on: date, r: LitigationRule) -> list[str]:
    """Which of the rule's conditions hold for the case on ``on``."""
    found = []
    if c.bank_recommends:
        found.append("bank_recommends")
    if add_months(c.overdue_since, r.months) < on:
        found.append(f"overdue_more_than_{r.months}_months")
    if c.overdue_amount > r.amount:
        found.append(f"amount_over_{r.amount.normalize():f}")
    return found


# ----------------------------------------------------------------------------- reading


async def collection_out(session: AsyncSession, c: CollectionCase) -> CollectionOut:
    on = await today(session)
    reminders = (await session.scalars(select(Reminder).where(Reminder.case_id == c.id)
                                       .order_by(Reminder.at, Reminder.id))).all()
    promises = [r.promised_on for r in reminders if r.promised_on is not None and r.promised_on >= on]
    return CollectionOut(
        id=c.id, number=c.number, node_id=c.node_id, unit_id=c.unit_id, customer_id=c.customer_id, bank=c.bank,
        loan_account="****" + c.loan_account_last4, overdue_since=c.overdue_since, overdue_amount=c.overdue_amount,
        overdue_months=months_between(c.overdue_since, on), bank_recommends=c.bank_recommends, fed_on=c.fed_on,
        status=c.stage.value, referred_at=c.referred_at, referral_reasons=list(c.referral_reasons), outcome=c.outcome,
        outcome_on=c.outcome_on, outcome_note=c.outcome_note,
        reminders=[ReminderOut(channel=r.channel, outcome=r.outcome, at=r.at, by=r.by, promised_on=r.promised_on,
                               note=r.note) for r in reminders],
        next_promise=min(promises) if promises else None, version=c.version)


async def get_case(session: AsyncSession, authz: Authorizer, case_id: uuid.UUID, *,
                   lock: bool = False) -> tuple[CollectionCase, str]:
    return await get_at_node(session, authz, CollectionCase, case_id, COLLECTION_READ, "collection case", lock=lock)


async def list_cases(session: AsyncSession, authz: Authorizer, params: PageParams, *,
                     status: CollectionStage | None, unit_id: uuid.UUID | None,
                     node_id: uuid.UUID | None) -> Page[CollectionOut]:
    stmt: Select[Any] = select(CollectionCase).where(authz.visible(COLLECTION_READ, CollectionCase.node_id))
    if status is not None:
        stmt = stmt.where(CollectionCase.stage == status)
    if unit_id is not None:
        stmt = stmt.where(CollectionCase.unit_id == unit_id)
    if node_id is not None:
        stmt = stmt.where(await subtree_filter(session, CollectionCase.node_id, node_id))
    page = await paginate(session, stmt, params, sortable=SORT, default_sort=["overdueSince"],
                          tiebreak=CollectionCase.id, to_schema=lambda c: c)
    return Page(items=[await collection_out(session, c) for c in page.items], total=page.total, limit=page.limit,
                offset=page.offset)


# ------------------------------------------------------------------------------ the feed


def _flag(value: str) -> bool:
    lowered = value.strip().lower()
    if lowered in YES:
        return True
    if lowered in NO:
        return False
    raise ValueError("yes or no (是/否)")


def parse_csv(content: bytes) -> list[tuple[int, dict[str, Any]]]:
    """A CSV file (UTF-8 or GBK/GB18030) as the feed's rows."""
    text, _ = decode(content)
    return parse_table(list(enumerate(csv.reader(io.StringIO(text)), 1)))


def parse_file(content: bytes) -> list[tuple[int, dict[str, Any]]]:
    """The feed file, an XLSX workbook (its first sheet) or a CSV file, told by its first bytes."""
    return parse_table(read_xlsx(content)) if is_xlsx(content) else parse_csv(content)


def parse_table(table: list[tuple[int, list[str]]]) -> list[tuple[int, dict[str, Any]]]:
    """The table's rows as (line, fields), the header first; 422 naming the header's wrong
    columns, 409 naming the lines and columns that are wrong (nothing imported)."""
    header = [h.strip().lower() for h in (table[0][1] if table else [])]
    missing = [c for c in REQUIRED if c not in header]
    unknown = [h for h in header if h not in COLUMNS]
    if missing or unknown:
        raise ProblemError("validation", "The header is not the feed's: " + ", ".join(
            [*(f"missing {c}" for c in missing), *(f"unknown {c}" for c in unknown)]) + ".",
                           errors=[field_error("header", f"columns: {', '.join(COLUMNS)}", "body")])
    rows, errors = [], []
    for line, cells in table[1:]:
        if not any(cell.strip() for cell in cells):
            continue
        values = dict(zip(header, (cell.strip() for cell in cells), strict=False))
        raw: dict[str, Any] = {
               "buildingCode": values.get("building_code", ""), "unitNumber": values.get("unit_number", ""),
               "bank": values.get("bank", ""), "loanAccount": values.get("loan_account", ""),
               "overdueSince": values.get("overdue_since", ""), "overdueAmount": values.get("overdue_amount", "")}
        try:
            raw["bankRecommendsLitigation"] = _flag(values.get("bank_recommends_litigation", ""))
        except ValueError as exc:
            errors.append(field_error(f"lines.{line}.bank_recommends_litigation", str(exc), "body"))
            continue
        rows.append((line, raw))
    if errors:
        raise ProblemError("conflict", f"{len(errors)} row(s) of the feed are wrong; nothing was imported.",
                           errors=errors)
    if not rows:
        raise ProblemError("validation", "The feed has no rows.", errors=[field_error("file", "no rows", "body")])
    return rows


def _convert(rows: list[tuple[int, dict[str, Any]]]) -> list[tuple[int, FeedRowIn]]:
    """Each row as a checked body, every wrong cell reported by its line."""
    out, errors = [], []
    for line, raw in rows:
        try:
            out.append((line, msgspec.convert(raw, FeedRowIn, strict=False)))
        except msgspec.ValidationError as exc:
            where = str(exc).rpartition("at `$.")[2].rstrip("`") or "row"
            errors.append(field_error(f"lines.{line}.{where}", str(exc).split(" - at ")[0], "body"))
    if errors:
        raise ProblemError("conflict", f"{len(errors)} row(s) of the feed are wrong; nothing was imported.",
                           errors=errors)
    return out


async def import_file(session: AsyncSession, authz: Authorizer, content: bytes, as_of: date | None) -> FeedResult:
    """The feed as a file, CSV or XLSX: its lines are the file's (the header is line 1)."""
    return await import_rows(session, authz, _convert(parse_file(content)), as_of, prefix="lines")


async def import_json(session: AsyncSession, authz: Authorizer, data: FeedIn) -> FeedResult:
    return await import_rows(session, authz, list(enumerate(data.rows)), data.as_of, prefix="rows")


async def _units(session: AsyncSession, authz: Authorizer,
                 rows: list[tuple[int, FeedRowIn]]) -> dict[tuple[str, str], tuple[Unit, OrgNode, uuid.UUID | None]]:
    """The units the rows name, with their project and primary owner, in one query; units the
    caller may not collect for are left out (reported like unknown ones)."""
    building = OrgNode.__table__.alias("building")
    codes = {r.building_code for _, r in rows}
    stmt = (select(Unit, OrgNode, building.c.code, CustomerUnit.customer_id)
            .join(OrgNode, OrgNode.id == Unit.project_id).join(building, building.c.id == Unit.building_id)
            .outerjoin(CustomerUnit, and_(CustomerUnit.unit_id == Unit.id, CustomerUnit.role == OwnerRole.primary))
            .where(building.c.code.in_(codes), authz.visible(COLLECTION_WRITE, Unit.project_id)))
    return {(code, unit.number): (unit, project, owner)
            for unit, project, code, owner in (await session.execute(stmt)).tuples().all()}


async def import_rows(session: AsyncSession, authz: Authorizer, rows: list[tuple[int, FeedRowIn]],
                      as_of: date | None, *, prefix: str) -> FeedResult:
    on = as_of or await today(session)
    units = await _units(session, authz, rows)
    keys = await tenant_keys(session)
    errors: list[FieldError] = []
    seen: dict[str, int] = {}
    resolved = []
    for line, row in rows:
        found = units.get((row.building_code, row.unit_number))
        account = row.loan_account.replace("-", "").upper()
        if found is None:
            errors.append(field_error(f"{prefix}.{line}.unitNumber", f"no unit {row.unit_number} in building "
                                                                     f"{row.building_code}", "body"))
        elif found[2] is None:
            errors.append(field_error(f"{prefix}.{line}.unitNumber", f"unit {row.unit_number} has no owner", "body"))
        elif account in seen:
            errors.append(field_error(f"{prefix}.{line}.loanAccount", f"the same loan as line {seen[account]}",
                                      "body"))
        else:
            seen[account] = line
            resolved.append((row, found, account, keys.blind_index(LOAN_FIELD, account)))
    if errors:
        raise ProblemError("conflict", f"{len(errors)} row(s) of the feed are wrong; nothing was imported.",
                           errors=errors)
    existing = {c.loan_account_index: c for c in (await session.scalars(
        select(CollectionCase).where(CollectionCase.loan_account_index.in_([r[3] for r in resolved]))
        .with_for_update())).all()}
    counts = {"created": 0, "updated": 0, "unchanged": 0, "closed": 0}
    ids = []
    for row, (unit, project, owner), account, index in resolved:
        assert owner is not None  # rows without one were refused above
        amount = Decimal(row.overdue_amount).quantize(CENT)
        c = existing.get(index)
        if c is None:
            c = CollectionCase(
                number=await next_number(session, "CJ", await local_year(session, clock.utcnow())),
                node_id=project.id, unit_id=unit.id, customer_id=owner, bank=row.bank,
                loan_account_sealed=keys.seal(LOAN_FIELD, account), loan_account_index=index,
                loan_account_last4=account[-4:], overdue_since=row.overdue_since, overdue_amount=amount,
                bank_recommends=row.bank_recommends_litigation, fed_on=on,
                stage=CollectionStage.closed if amount == 0 else CollectionStage.open, referral_reasons=[])
            session.add(c)
            await saved(session, c, "collections.case.create", CASE, snapshot=_snap)
            counts["created"] += 1
        elif (c.bank, c.overdue_since, c.overdue_amount, c.bank_recommends, c.unit_id) == (
                row.bank, row.overdue_since, amount, row.bank_recommends_litigation, unit.id):
            counts["unchanged"] += 1
        else:
            before = _snap(c)
            c.bank, c.overdue_since, c.overdue_amount = row.bank, row.overdue_since, amount
            c.bank_recommends, c.unit_id, c.node_id, c.customer_id, c.fed_on = (
                row.bank_recommends_litigation, unit.id, project.id, owner, on)
            if amount == 0 and FLOW.can("close", c.stage):
                c.stage = FLOW.to("close", c.stage, CollectionStage.closed, c.number)
                counts["closed"] += 1
            elif amount > 0 and c.stage is CollectionStage.closed:
                c.stage = FLOW.to("reopen", c.stage, CollectionStage.open, c.number)
            await saved(session, c, "collections.case.feed", CASE, before=before, snapshot=_snap)
            counts["updated"] += 1
        ids.append(c.id)
    return FeedResult(as_of=on, rows=len(resolved), case_ids=ids, **counts)


# ------------------------------------------------------------------------- the workflow


async def remind(session: AsyncSession, authz: Authorizer, c: CollectionCase, path: str,
                 data: ReminderIn) -> CollectionCase:
    authz.require(COLLECTION_WRITE, path)
    FLOW.require("remind", c.stage, f"Collection case {c.number}")
    on = await today(session)
    if data.promised_on is not None and data.promised_on < on:
        raise ProblemError("conflict", "A promise to pay is for a day to come.",
                           errors=[field_error("promisedOn", "before today")])
    if data.promised_on is not None and data.outcome != "promised":
        raise ProblemError("conflict", "A promise date goes with the outcome `promised`.",
                           errors=[field_error("promisedOn", "only with outcome promised")])
    at = data.at or clock.utcnow()
    if at > clock.utcnow():
        raise ProblemError("conflict", "A reminder is logged once made.", errors=[field_error("at", "in the future")])
    session.add(Reminder(case_id=c.id, channel=data.channel, at=at, by=authz.principal.subject,
                         outcome=data.outcome, promised_on=data.promised_on, note=data.note))
    before = _snap(c)
    c.updated_at = clock.utcnow()
    return await saved(session, c, "collections.case.remind", CASE, before=before, snapshot=_snap)


async def record_outcome(session: AsyncSession, authz: Authorizer, c: CollectionCase, path: str,
                         data: LitigationOutcome) -> CollectionCase:
    authz.require(COLLECTION_WRITE, path)
    before = _snap(c)
    c.stage = FLOW.to("outcome", c.stage, CollectionStage.litigated, f"Collection case {c.number}")
    c.outcome, c.outcome_on, c.outcome_note = data.outcome, data.decided_on, data.note
    return await saved(session, c, "collections.case.outcome", CASE, before=before, snapshot=_snap)


def qualifying(on: date, r: LitigationRule) -> ColumnElement[bool]:
    """Open cases the rule refers on ``on`` (the SQL twin of :func:`reasons`)."""
    return and_(CollectionCase.stage == CollectionStage.open,
                or_(CollectionCase.bank_recommends.is_(True), CollectionCase.overdue_amount > r.amount,
                    CollectionCase.overdue_since < add_months(on, -r.months)))


async def scan(session: AsyncSession) -> dict[str, int]:
    """One batch of the daily litigation rule: qualifying open cases are referred to the
    general management department with their reasons."""
    on, r = await today(session), await rule(session)
    found = (await session.scalars(select(CollectionCase).where(qualifying(on, r))
                                   .order_by(CollectionCase.overdue_since, CollectionCase.id)
                                   .limit(SCAN_BATCH).with_for_update(skip_locked=True))).all()
    entries = []
    moving = frozenset({"updated_at", "version", "loan_account_sealed", "loan_account_index"})
    for c in found:
        why = reasons(c, on, r)
        if not why:  # the SQL and the rule disagree only on a month's last days: the rule decides
            continue
        before = snapshot(c, exclude=moving)
        c.stage = FLOW.to("refer", c.stage, CollectionStage.referred, c.number)
        c.referred_at, c.referral_reasons = clock.utcnow(), why
        entries.append((c.id, before, snapshot(c, exclude=moving), why))
    await session.flush()  # one flush and one audit statement per batch (set by it: version, updated_at)
    await audit.record_many(session, [
        {"action": "collections.case.refer", "entity_type": CASE, "entity_id": case_id, "before": before,
         "after": after, "reason": "litigation rule: " + ", ".join(why)} for case_id, before, after, why in entries])
    referred = len(entries)
    return {"checked": len(found), "referred": referred}
