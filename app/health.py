"""Liveness and readiness for orchestrators and operators."""

from __future__ import annotations

import asyncio
from typing import Any

from litestar import Controller, Request, Response, get
from litestar.openapi.datastructures import ResponseSpec

from app.auth.scopes import public
from app.core.schemas import Schema


class Check(Schema):
    name: str
    ok: bool
    detail: str | None = None


class Health(Schema):
    status: str
    checks: list[Check]


async def _check(name: str, probe: Any) -> Check:
    try:
        await asyncio.wait_for(probe(), 2.0)
        return Check(name=name, ok=True)
    except Exception as exc:  # noqa: BLE001 - a failing dependency is the answer, not an error
        return Check(name=name, ok=False, detail=f"{type(exc).__name__}: {exc}"[:300])


class HealthController(Controller):
    path = "/health"
    tags = ["Health"]

    @get("/live", operation_id="live", summary="The process is up",
         description="Liveness: answers 200 with status ok while the process serves requests, without touching "
                     "the database or the broker. Public: no token needed (for load balancers and process "
                     "supervisors).",
         **public())
    async def live(self) -> Health:
        return Health(status="ok", checks=[])

    # 503 carries the same body as 200 (which check failed), not a problem document.
    @get("/ready", operation_id="ready", summary="The database and the job broker answer",
         description="Readiness: checks that the database and the job broker answer. 200 when both do; 503 with "
                     "the same body naming the failing check otherwise. Public: no token needed.",
         **{**public(), "responses": {503: ResponseSpec(Health, description="A dependency does not answer")}})
    async def ready(self, request: Request[Any, Any, Any]) -> Response[Health]:
        state = request.app.state
        checks = await asyncio.gather(
            _check("database", state.db.ping),
            _check("broker", state.broker_ping),
        )
        ok = all(c.ok for c in checks)
        return Response(Health(status="ok" if ok else "unavailable", checks=list(checks)),
                        status_code=200 if ok else 503)
