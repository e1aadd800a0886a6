"""Searching, exporting and purging the tenant's audit trail.

Auditing is tenant-wide: every call needs the permission ``audit.read`` at the group node
(a grant lower in the tree, on one branch, is not enough: the log spans the whole group).

Exports are background jobs whose CSV is kept on the job's result (``csv``), capped at
``MAX_EXPORT_ROWS`` rows. Why there and not in a table of its own: a result commits with
the job's success and is read back under the job's requester-only rule, needs no tenant
migration, and the cap keeps it to tens of megabytes, which PostgreSQL stores compressed
(TOAST). A larger export is refused with a message to narrow the filters; exports beyond
that belong in the object store once it exists.

CSV (RFC 4180, CRLF line ends, UTF-8 with a byte-order mark so that Excel reads Chinese
text correctly), oldest record first, one header row then one row per record:

=============  ==============================================================
occurredAt     when, RFC 3339 in UTC
id             the record's id
actorKind      user | client | operator | system
actorId        the account id, client id or ``system``
clientId       the OAuth client the actor used, if any
action         e.g. ``org.branch.update``
entityType     e.g. ``org_node``
entityId       the changed entity's id
reason         the reason given with the change (``Change-Reason``), if any
before         the entity before the change, compact JSON with sorted keys
after          the entity after the change, compact JSON with sorted keys
requestId      the request's ``X-Request-Id``, if any
ip             the caller's address, if known
=============  ==============================================================

A cell that would start with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return gets a
leading ``'``, so that a spreadsheet shows it as text instead of running it as a formula
(a reason or an id is caller-supplied text).
"""

from __future__ import annotations

import csv
import io
import uuid
from datetime import UTC, timedelta
from typing import Any

import msgspec
from sqlalchemy import ColumnElement, delete, func, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.principal import Principal
from app.core import audit
from app.core.audit import PURGE_SETTING, RETENTION_FLOOR_DAYS, SYSTEM, tenant_audit
from app.core.db import Database, rowcount
from app.core.jobs import ENTITY as JOB_ENTITY
from app.core.jobs import Job, JobError, JobStatus, Progress, create_job, get_job, run_job
from app.core.pagination import PageParams, paginate
from app.core.problems import ProblemError, field_error
from app.core.schemas import Page
from app.core.spreadsheets import BOM, text_cell
from app.domains.access.authz import load_authorizer
from app.domains.audit.models import AuditRecord
from app.domains.audit.schemas import AuditFilter, AuditRecordOut
from app.domains.org.services import get_root
from app.tenants.models import schema_name

PERMISSION = "audit.read"
EXPORT_KIND = "audit.export"
MAX_EXPORT_ROWS = 50_000
EXPORT_BATCH = 1000
PURGE_BATCH = 1000
COLUMNS = ["occurredAt", "id", "actorKind", "actorId", "clientId", "action", "entityType", "entityId",
           "reason", "before", "after", "requestId", "ip"]


async def require_auditor(session: AsyncSession, principal: Principal) -> None:
    """403 unless the caller holds ``audit.read`` at the group node."""
    authz = await load_authorizer(session, principal)
    paths = authz.paths(PERMISSION)
    if paths is None:
        return
    if paths and (await get_root(session)).path in paths:
        return
    raise ProblemError("forbidden", f"The audit trail spans the whole group: it needs the permission "
                                    f"{PERMISSION} at the group node.")


def filter_from_query(values: dict[str, str | None]) -> AuditFilter:
    """The filter of a search's query parameters (by wire name), validated like a body."""
    try:
        f = msgspec.convert({k: v for k, v in values.items() if v is not None}, AuditFilter)
    except msgspec.ValidationError as exc:
        message, _, path = str(exc).partition(" - at `$.")
        field = path.rstrip("`") or "$"
        raise ProblemError("validation", f"{field}: {message}",
                           errors=[field_error(field, message, "query")]) from None
    check_filter(f, "query")
    return f


def check_filter(f: AuditFilter, source: str) -> None:
    if f.from_ is not None and f.to is not None and f.from_ >= f.to:
        raise ProblemError("validation", "`from` must be before `to`.",
                           errors=[field_error("from", "must be before `to`", source)])


def conditions(f: AuditFilter) -> list[ColumnElement[bool]]:
    where: list[ColumnElement[bool]] = []
    if f.entity_type is not None:
        where.append(AuditRecord.entity_type == f.entity_type)
    if f.entity_id is not None:
        where.append(AuditRecord.entity_id == f.entity_id)
    if f.actor_id is not None:
        where.append(AuditRecord.actor_id == f.actor_id)
    if f.action is not None:
        if f.action.endswith("*"):
            # autoescape: a '%' or '_' in the prefix matches itself, not any character.
            where.append(AuditRecord.action.startswith(f.action[:-1], autoescape=True))
        else:
            where.append(AuditRecord.action == f.action)
    if f.from_ is not None:
        where.append(AuditRecord.occurred_at >= f.from_)
    if f.to is not None:
        where.append(AuditRecord.occurred_at < f.to)
    return where


async def search(session: AsyncSession, f: AuditFilter, params: PageParams) -> Page[AuditRecordOut]:
    # Records of one transaction share occurred_at (now()); the id (UUIDv7, time-ordered)
    # orders them in the same direction as the requested sort.
    newest_first = (params.sort or "-occurredAt").split(",")[0].strip().startswith("-")
    return await paginate(
        session, select(AuditRecord).where(*conditions(f)), params,
        sortable={"occurredAt": AuditRecord.occurred_at}, default_sort=["-occurredAt"],
        tiebreak=AuditRecord.id.desc() if newest_first else AuditRecord.id.asc(),
        to_schema=AuditRecordOut.of,
    )


def filter_json(f: AuditFilter) -> dict[str, Any]:
    """The filter as task arguments and audit data (wire names, RFC 3339 strings)."""
    builtins: dict[str, Any] = msgspec.to_builtins(f)  # a Struct becomes a dict
    return builtins


async def start_export(session: AsyncSession, f: AuditFilter) -> Job:
    job = await create_job(session, EXPORT_KIND)
    # Reading the audit trail in bulk is itself worth a record: who exported what.
    await audit.record(session, action="audit.export.request", entity_type=JOB_ENTITY, entity_id=job.id,
                       after={"filters": filter_json(f)})
    return job


def _json(value: Any) -> str:
    return "" if value is None else msgspec.json.encode(value, order="sorted").decode()


def _row(r: AuditRecord) -> list[str]:
    cells = [r.occurred_at.astimezone(UTC).isoformat(), str(r.id), r.actor_kind, r.actor_id,
             r.client_id or "", r.action, r.entity_type, r.entity_id, r.reason or "",
             _json(r.before), _json(r.after), r.request_id or "", r.ip or ""]
    return [text_cell(c) for c in cells]


async def run_export(session: AsyncSession, job_id: uuid.UUID, f: AuditFilter) -> bool:
    """Run export job ``job_id`` in the task's session; False when there was nothing to run."""
    where = conditions(f)

    async def work(progress: Progress) -> dict[str, Any]:
        capped = select(AuditRecord.id).where(*where).limit(MAX_EXPORT_ROWS + 1).subquery()
        if (await session.scalar(select(func.count()).select_from(capped)) or 0) > MAX_EXPORT_ROWS:
            raise JobError(f"More than {MAX_EXPORT_ROWS} records match; narrow the filters "
                           "(a shorter time range, an entity type or an action).")
        out = io.StringIO()
        out.write(BOM)
        writer = csv.writer(out, lineterminator="\r\n")
        writer.writerow(COLUMNS)
        # The count rides along in the same statement, so rows and total come from one snapshot
        # even while new records are appended.
        stream = await session.stream(
            select(AuditRecord, func.count().over()).where(*where)
            .order_by(AuditRecord.occurred_at, AuditRecord.id)
            .execution_options(yield_per=EXPORT_BATCH)
        )
        done = 0
        async for batch in stream.partitions():
            total = batch[0][1]  # the count over the whole result, on every row
            for record, _ in batch:
                writer.writerow(_row(record))
            done += len(batch)
            await progress.report(done, total)
        return {"rowCount": done, "columns": COLUMNS, "filters": filter_json(f), "csv": out.getvalue()}

    return await run_job(session, job_id, EXPORT_KIND, work)


async def export_csv(session: AsyncSession, job_id: uuid.UUID, requester: str) -> tuple[bytes, str]:
    """The finished export's CSV bytes and a file name; only its requester may fetch it."""
    job = await get_job(session, job_id, requester)
    if job.kind != EXPORT_KIND:
        raise ProblemError("not-found", f"No audit export with id {job_id}.")
    if job.status is not JobStatus.succeeded:
        raise ProblemError("conflict", f"The export is {job.status.value}; its CSV exists once it succeeded.")
    return job.result["csv"].encode("utf-8"), f"audit-export-{job.id}.csv"


# ------------------------------------------------------------------------- retention

async def purge_tenant(db: Database, slug: str, days: int, *, batch: int = PURGE_BATCH) -> int:
    """Delete the tenant's records older than ``days`` in batches, each in its own short
    transaction; then one audit record states how many went. Returns that number."""
    keep = timedelta(days=max(days, RETENTION_FLOOR_DAYS))
    # The database's now(), the clock the trigger judges by: an app clock running ahead
    # would pick rows the trigger still protects and fail the whole batch.
    expired = AuditRecord.occurred_at < func.now() - keep
    deleted, complete = 0, False
    try:
        while not complete:
            async with db.tenant_transaction(schema_name(slug)) as session:
                # The trigger lets a DELETE through only under this transaction-local setting.
                await session.execute(text(f"SET LOCAL {PURGE_SETTING} = 'on'"))
                oldest = select(AuditRecord.id).where(expired).order_by(AuditRecord.occurred_at).limit(batch)
                result = await session.execute(delete(tenant_audit).where(tenant_audit.c.id.in_(oldest)))
                count = rowcount(result)
                deleted += count
                complete = count < batch
                if complete:  # the record commits with the last batch
                    await _record_purge(session, deleted, days, complete=True)
    except Exception:
        if deleted:  # earlier batches committed: say so even though the run broke off
            async with db.tenant_transaction(schema_name(slug)) as session:
                await _record_purge(session, deleted, days, complete=False)
        raise
    return deleted


async def _record_purge(session: AsyncSession, deleted: int, days: int, *, complete: bool) -> None:
    session.info["actor"] = SYSTEM
    await audit.record(session, action="audit.retention.purge", entity_type="audit_log",
                       entity_id="retention",
                       after={"deleted": deleted, "retentionDays": days, "complete": complete})
