"""HTTP for background jobs: status, progress and result of a job the caller started."""

from __future__ import annotations

import uuid
from typing import Any

from litestar import Controller, Request, Response, get
from litestar.di import Provide
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.scopes import requires
from app.core import jobs
from app.core.deps import provide_tenant_session


class JobController(Controller):
    path = "/api/v1/jobs"
    tags = ["Jobs"]
    dependencies = {"session": Provide(provide_tenant_session)}

    @get("/{job_id:uuid}", operation_id="getJob", summary="Get a job's status, progress and result",
         description="A background job started by the caller (an export, an import, a package): its status, "
                     "progress and, once done, its result. Poll it after a 202 answer; "
                     "a job started by someone else answers 404. Needs jobs:read.",
         **requires("jobs:read", errors=[404]))
    async def get_job(self, request: Request[Any, Any, Any], session: AsyncSession,
                      job_id: uuid.UUID) -> Response[jobs.JobOut]:
        return jobs.job_response(await jobs.get_job(session, job_id, request.user.subject))
