"""Background jobs a tenant can watch: one row per job in the tenant's schema.

An endpoint that starts long work creates the job and enqueues its task in the request's
transaction, and answers with :func:`accepted`. The task runs its work through
:func:`run_job`: state changes and progress are written in short transactions of their own,
so ``GET /api/v1/jobs/{id}`` shows them while the task runs, while the result is written in
the task's transaction, so it commits together with the work's effects or not at all.
"""

from __future__ import annotations

import enum
import logging
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Annotated, Any

from litestar import Response
from sqlalchemy import CheckConstraint, DateTime, Enum, Integer, String, Text, func, select, update
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from app.core import audit
from app.core.clock import utcnow
from app.core.etag import etag
from app.core.ids import new_id
from app.core.models import IdMixin, TenantBase, VersionMixin
from app.core.problems import ProblemError
from app.core.schemas import Schema, free_object

log = logging.getLogger(__name__)

ENTITY = "job"
ERROR_MAX = 4000


class JobStatus(str, enum.Enum):
    queued = "queued"
    running = "running"
    succeeded = "succeeded"
    failed = "failed"


class Job(IdMixin, VersionMixin, TenantBase):
    __tablename__ = "jobs"

    kind: Mapped[str] = mapped_column(String(60), nullable=False)
    status: Mapped[JobStatus] = mapped_column(Enum(JobStatus, native_enum=False, length=20), nullable=False)
    progress: Mapped[int] = mapped_column(Integer, nullable=False, default=0)  # percent
    total: Mapped[int | None] = mapped_column(Integer)  # items to process, once the work knows
    done: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    result: Mapped[Any] = mapped_column(JSONB, nullable=True)
    error: Mapped[str | None] = mapped_column(Text)
    requested_by: Mapped[str] = mapped_column(String(200), nullable=False)  # the actor's id
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now(), nullable=False)
    started_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    __table_args__ = (CheckConstraint("progress BETWEEN 0 AND 100", name="progress_range"),)


# Free-form on purpose: each endpoint that starts a job documents its result.
JobResult = Annotated[dict[str, Any] | None,
                      free_object("Once the job succeeded: an object whose shape depends on the job's kind.")]


class JobOut(Schema):
    id: uuid.UUID
    kind: str
    status: JobStatus
    progress: int
    total: int | None
    done: int
    result: JobResult
    error: str | None
    requested_by: str
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    version: int

    @classmethod
    def of(cls, job: Job) -> JobOut:
        return cls(
            id=job.id, kind=job.kind, status=job.status, progress=job.progress, total=job.total, done=job.done,
            result=job.result, error=job.error, requested_by=job.requested_by, created_at=job.created_at,
            started_at=job.started_at, finished_at=job.finished_at, version=job.version,
        )


class JobError(Exception):
    """Raise from a job's work to fail it with a message meant for the caller.

    Any other exception fails the job with a generic message: its text may hold SQL or
    internals, so it goes to the worker's log only.
    """


async def create_job(session: AsyncSession, kind: str) -> Job:
    """A queued job in the session's transaction, requested by the session's actor."""
    job = Job(id=new_id(), kind=kind, status=JobStatus.queued, requested_by=audit.actor_of(session).id)
    session.add(job)
    await session.flush()
    await session.refresh(job)
    await audit.record(session, action="job.create", entity_type=ENTITY, entity_id=job.id,
                       after=audit.snapshot(job))
    return job


async def get_job(session: AsyncSession, job_id: uuid.UUID, requested_by: str) -> Job:
    # A job's result holds data read under its requester's permissions: only they see it.
    job = await session.scalar(select(Job).where(Job.id == job_id, Job.requested_by == requested_by))
    if job is None:
        raise ProblemError("not-found", f"No job with id {job_id}.")
    return job


def job_response(job: Job, status: int = 200) -> Response[JobOut]:
    return Response(JobOut.of(job), status_code=status, headers={"ETag": etag(job.version)})


def accepted(job: Job) -> Response[JobOut]:
    """The 202 answer of an endpoint that started ``job``: follow Location for its progress."""
    response = job_response(job, 202)
    response.headers["Location"] = f"/api/v1/jobs/{job.id}"
    return response


class Progress:
    """Handed to a job's work to publish how far it got, each report in its own transaction."""

    def __init__(self, session: AsyncSession, job_id: uuid.UUID) -> None:
        # The task's bind carries its tenant's schema mapping; the info carries tenant and actor.
        self._bind = session.bind
        self._info = dict(session.info)
        self.job_id = job_id
        self.total: int | None = None
        self.done = 0
        self._published: tuple[int | None, int] | None = None

    @asynccontextmanager
    async def own_transaction(self) -> AsyncIterator[AsyncSession]:
        async with AsyncSession(bind=self._bind, expire_on_commit=False) as session:
            session.info.update(self._info)
            async with session.begin():
                yield session

    def percent(self) -> int:
        if not self.total:
            return 0
        return max(0, min(100, self.done * 100 // self.total))

    async def report(self, done: int, total: int | None = None) -> None:
        """``done`` items of ``total`` (the last total given when omitted)."""
        self.done = done
        if total is not None:
            self.total = total
        # Written only when the percentage or total moves: at most ~100 writes per job,
        # whatever its size. Progress is not audited; the state changes around it are.
        if self._published == (self.total, self.percent()):
            return
        self._published = (self.total, self.percent())
        async with self.own_transaction() as session:
            await session.execute(
                update(Job)
                .where(Job.id == self.job_id, Job.status == JobStatus.running)
                .values(done=self.done, total=self.total, progress=self.percent(), version=Job.version + 1)
                .execution_options(synchronize_session=False)
            )


async def _change(session: AsyncSession, job_id: uuid.UUID, allowed: set[JobStatus], action: str,
                  *, of_kind: str | None = None, **values: Any) -> Job | None:
    """Apply ``values`` to the job when its status is one of ``allowed``; audited."""
    job = await session.scalar(
        select(Job).where(Job.id == job_id).with_for_update().execution_options(populate_existing=True)
    )
    if job is None or job.status not in allowed or (of_kind is not None and job.kind != of_kind):
        return None
    bulky = frozenset({"result"})
    before = audit.snapshot(job, exclude=bulky)
    for name, value in values.items():
        setattr(job, name, value)
    await session.flush()
    await audit.record(session, action=action, entity_type=ENTITY, entity_id=job.id, before=before,
                       after=audit.snapshot(job, exclude=bulky))
    return job


async def run_job(session: AsyncSession, job_id: uuid.UUID, kind: str,
                  work: Callable[[Progress], Awaitable[Any]]) -> bool:
    """Run ``work`` as job ``job_id`` of ``kind``; False when there was nothing to run.

    A job that is finished, of another kind, or unknown in this tenant is left alone, so a
    redelivered task does nothing. A job still ``running`` (its worker was lost) starts over.
    ``work`` must reach the job only through its :class:`Progress`: the task's own session
    touching the job row while a progress transaction waits on it would deadlock.
    """
    progress = Progress(session, job_id)
    async with progress.own_transaction() as own:
        started = await _change(own, job_id, {JobStatus.queued, JobStatus.running}, "job.start", of_kind=kind,
                                status=JobStatus.running, started_at=utcnow(), progress=0, done=0, total=None)
    if started is None:
        log.info("%s job %s is finished or unknown here; nothing to do", kind, job_id)
        return False
    try:
        result = await work(progress)
    except Exception as exc:
        message = str(exc) if isinstance(exc, JobError) else "The job failed unexpectedly; the error was logged."
        async with progress.own_transaction() as own:
            await _change(own, job_id, {JobStatus.running}, "job.fail", status=JobStatus.failed,
                          error=message[:ERROR_MAX], finished_at=utcnow())
        raise  # rolls the task's transaction back: a failed job leaves no partial effects
    finished = await _change(session, job_id, {JobStatus.running}, "job.succeed", status=JobStatus.succeeded,
                             progress=100, done=progress.done, total=progress.total, result=result,
                             finished_at=utcnow())
    if finished is None:
        # Another delivery finished the job first (we waited on its row lock): undo our effects.
        raise JobError(f"job {job_id} was finished by another delivery")
    return True
