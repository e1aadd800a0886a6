"""/platform/v1/fanout-runs: how the periodic scans over the tenants went, for operators."""

from __future__ import annotations

import uuid
from datetime import datetime

from litestar import Controller, get
from litestar.di import Provide
from litestar.params import Parameter
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.scopes import requires
from app.core.deps import provide_platform_session
from app.core.pagination import PageParams, page_params, paginate
from app.core.problems import ProblemError
from app.core.schemas import Page, Schema
from app.fanout.models import FanoutRun, FanoutTenant, TenantState


class FanoutTenantOut(Schema):
    tenant: str
    state: TenantState
    attempts: int
    last_error: str | None
    updated_at: datetime


class FanoutRunOut(Schema):
    id: uuid.UUID
    task: str
    started_at: datetime
    finished_at: datetime | None  # once every tenant is done, skipped or failed for good
    tenants: int
    done: int
    skipped: int  # no longer active when their turn came
    failed: int
    pending: int
    totals: dict[str, int]

    @classmethod
    def of(cls, run: FanoutRun) -> FanoutRunOut:
        return cls(id=run.id, task=run.task, started_at=run.started_at, finished_at=run.finished_at,
                   tenants=run.tenants, done=run.done, skipped=run.skipped, failed=run.failed, pending=run.pending,
                   totals=run.totals)


class FanoutRunDetail(FanoutRunOut):
    # The tenants not done: failed for good (with their last error), or still to finish.
    remaining: list[FanoutTenantOut]


class FanoutRunController(Controller):
    path = "/platform/v1/fanout-runs"
    tags = ["Platform: background runs"]
    dependencies = {"session": Provide(provide_platform_session), "page": page_params("startedAt", "task")}

    @get("/", operation_id="listFanoutRuns", summary="List runs of the periodic tasks over the tenants",
         description="Each run of a periodic task (the SLA scan, grading, purges, clean-ups) sends one task per "
                     "active tenant; its row counts the tenants done, skipped and failed, and adds up their "
                     "counts. Newest first unless `sort` says otherwise. Runs are kept 14 days.",
         **requires("platform:admin"))
    async def list_runs(
        self,
        session: AsyncSession,
        page: PageParams,
        task: str | None = Parameter(query="task", default=None, min_length=1, max_length=100,
                                     description="Only runs of this task, e.g. `complaints.sla_scan`."),
        failed: bool | None = Parameter(query="failed", default=None,
                                        description="`true`: only runs with a failed tenant; `false`: only "
                                                    "runs without one."),
    ) -> Page[FanoutRunOut]:
        stmt = select(FanoutRun)
        if task is not None:
            stmt = stmt.where(FanoutRun.task == task)
        if failed is not None:
            stmt = stmt.where(FanoutRun.failed > 0 if failed else FanoutRun.failed == 0)
        return await paginate(session, stmt, page, sortable={"startedAt": FanoutRun.started_at.expression,
                                                             "task": FanoutRun.task.expression},
                              default_sort=["-startedAt"], tiebreak=FanoutRun.id.expression, to_schema=FanoutRunOut.of)

    @get("/{run_id:uuid}", operation_id="getFanoutRun", summary="Get a run, with its failed and unfinished tenants",
         description="The run's counts, and every tenant of it that is not done: failed for good after its "
                     "retries (with the attempts made and the last error), or still queued, running or waiting "
                     "for a retry.",
         **requires("platform:admin", errors=[404]))
    async def get_run(self, session: AsyncSession, run_id: uuid.UUID) -> FanoutRunDetail:
        run = await session.get(FanoutRun, run_id)
        if run is None:
            raise ProblemError("not-found", f"No fan-out run with id {run_id}.")
        rows = (await session.scalars(select(FanoutTenant).where(FanoutTenant.run_id == run_id)
                                      .order_by(FanoutTenant.state, FanoutTenant.tenant))).all()
        out = FanoutRunOut.of(run)
        return FanoutRunDetail(**{f: getattr(out, f) for f in out.__struct_fields__}, remaining=[
            FanoutTenantOut(tenant=r.tenant, state=r.state, attempts=r.attempts, last_error=r.last_error,
                            updated_at=r.updated_at) for r in rows])
