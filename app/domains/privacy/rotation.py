"""Rotating a tenant's data key (PIPL art. 51; seed 001 §2 (三) 1 (2)): a new data key seals
from the moment the rotation starts, a background job seals every value again with it, and
the old key is retired only when none is left under it. Reads work throughout: until then
both keys open (the tag of AES-GCM tells which one sealed a value), and every process picks
up the new key as soon as the start commits (app/core/keystore.py).

The job walks every sealed column every domain declares (``PersonalData.sealed``) by id, in
short transactions of its own so that no row stays locked long, then the sealed values kept
inside JSON (``PersonalData.reseal``). A value written during the walk is sealed with the new
key already; one written by a transaction that began before the rotation (and so may hold
the old key) is caught by a second walk, made once every such transaction has ended. The
blind-index key stays: indexes compare equal across a rotation, and nothing needs reindexing.

Started by the operator (``cornerstone tenants rotate-data-key SLUG``); its progress is a job.
"""

from __future__ import annotations

import asyncio
import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.core import audit
from app.core.jobs import Job, JobError, JobStatus, Progress, create_job, run_job
from app.core.keystore import DataKey, add_data_key, tenant_keys
from app.core.personal import SealedColumn
from app.core.problems import ProblemError
from app.domains.privacy import registry

KIND = "privacy.key_rotation"
ENTITY = "data_key"
BATCH = 200
QUIET_WAIT = 60.0  # seconds the job waits for transactions older than the rotation to end


async def start(session: AsyncSession) -> Job:
    """A new data key, sealing from now on, and the job that seals every value again (the
    caller enqueues its task after commit). 409 while a rotation is under way."""
    schema = str(session.info["tenant_schema"])
    await session.execute(select(func.pg_advisory_xact_lock(func.hashtext(f"{schema}:key_rotation"))))
    running = await session.scalar(select(Job.id).where(Job.kind == KIND,
                                                        Job.status.in_([JobStatus.queued, JobStatus.running])))
    if running is not None:
        raise ProblemError("conflict", f"A key rotation is under way already (job {running}).")
    key = await add_data_key(session)
    job = await create_job(session, KIND)
    await audit.record(session, action="privacy.key.rotate", entity_type=ENTITY, entity_id=key.id,
                       after={"jobId": str(job.id)})
    return job


async def _column(progress: Progress, column: SealedColumn) -> int:
    """Seal again every value of one column an earlier key sealed; how many."""
    table, name, done = column.table, column.column, 0
    last: Any = None
    keep = {"updated_at": table.c.updated_at} if "updated_at" in table.c else {}  # not a change of the record
    while True:
        async with progress.own_transaction() as session:
            keys = await tenant_keys(session)
            stmt = select(table.c.id, table.c[name]).where(table.c[name].is_not(None)).order_by(table.c.id) \
                .limit(BATCH).with_for_update()
            rows = (await session.execute(stmt if last is None else stmt.where(table.c.id > last))).all()
            for row_id, value in rows:
                if not keys.is_current(column.field, value):
                    again = keys.seal(column.field, keys.open_older(column.field, value))
                    await session.execute(update(table).where(table.c.id == row_id).values({name: again, **keep})
                                          .execution_options(synchronize_session=False))
                    done += 1
        if len(rows) < BATCH:
            return done
        last = rows[-1][0]


async def _reseal_json(progress: Progress) -> int:
    done = 0
    for reseal in [r for d in registry.declarations() for r in d.reseal]:
        while True:
            async with progress.own_transaction() as session:
                count = await reseal(session, BATCH)
            done += count
            if count == 0:
                break
    return done


async def _wait_for_older_transactions(progress: Progress, since: datetime) -> None:
    """Until no transaction that began before the rotation is still open (it may hold the old key)."""
    deadline = asyncio.get_running_loop().time() + QUIET_WAIT
    while True:
        async with progress.own_transaction() as session:
            older = await session.scalar(text(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                "AND pid <> pg_backend_pid() AND xact_start < :since"), {"since": since})
        if not older:
            return
        if asyncio.get_running_loop().time() > deadline:
            raise JobError("transactions older than the rotation are still open: start the rotation again later "
                           "(every value is readable meanwhile)")
        await asyncio.sleep(0.2)


async def rotate(session: AsyncSession, job_id: uuid.UUID) -> bool:
    async def work(progress: Progress) -> dict[str, Any]:
        columns = [c for d in registry.declarations() for c in d.sealed]
        async with progress.own_transaction() as own:
            newest = await own.scalar(select(DataKey).where(DataKey.retired_at.is_(None))
                                      .order_by(DataKey.created_at.desc(), DataKey.id.desc()).limit(1))
        if newest is None:
            raise JobError("the tenant has no data key")
        resealed: dict[str, int] = {}
        for step, column in enumerate(columns, start=1):
            resealed[column.name] = await _column(progress, column)
            await progress.report(step, len(columns) + 1)
        in_json = await _reseal_json(progress)
        await _wait_for_older_transactions(progress, newest.created_at)
        late = sum([await _column(progress, c) for c in columns]) + await _reseal_json(progress)
        async with progress.own_transaction() as own:
            retired = (await own.scalars(
                update(DataKey).where(DataKey.retired_at.is_(None), DataKey.id != newest.id)
                .values(retired_at=func.now()).returning(DataKey.id).execution_options(synchronize_session=False)
            )).all()
            for key_id in retired:
                await audit.record(own, action="privacy.key.retire", entity_type=ENTITY, entity_id=key_id,
                                   after={"by": str(newest.id)})
        await progress.report(len(columns) + 1)
        return {"keyId": str(newest.id), "resealed": resealed, "inJson": in_json, "late": late,
                "retired": [str(k) for k in retired]}

    return await run_job(session, job_id, KIND, work)
