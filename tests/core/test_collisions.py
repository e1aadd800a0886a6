"""A request that collides with a concurrent one in the database (a deadlock the server breaks,
a lock taken with NOWAIT that another transaction holds) answers 409 concurrent-request with
Retry-After: it was rolled back whole and may be sent again. Never a 500."""

from __future__ import annotations

import asyncio
import os
from typing import Any

import httpx
import psycopg
from litestar import Litestar, get
from sqlalchemy import text

from app.core.db import libpq_url
from app.core.problems import EXCEPTION_HANDLERS


async def test_a_lock_held_elsewhere_and_a_deadlock_answer_409_concurrent_request(db: Any) -> None:
    async with db.engine.begin() as conn:
        await conn.execute(text("CREATE TABLE IF NOT EXISTS public.collision_probe (id int PRIMARY KEY)"))
        await conn.execute(text("INSERT INTO public.collision_probe VALUES (1), (2) ON CONFLICT DO NOTHING"))

    @get("/nowait", opt={"public": True})
    async def nowait() -> str:
        async with db.engine.begin() as conn:
            await conn.execute(text("SELECT id FROM public.collision_probe WHERE id = 1 FOR UPDATE NOWAIT"))
        return "locked"

    @get("/deadlock", opt={"public": True})
    async def deadlock() -> str:
        # Takes row 2 then row 1, while the other side holds row 1 and waits for row 2.
        async with db.engine.begin() as conn:
            await conn.execute(text("SELECT id FROM public.collision_probe WHERE id = 2 FOR UPDATE"))
            await asyncio.sleep(0.2)
            await conn.execute(text("SELECT id FROM public.collision_probe WHERE id = 1 FOR UPDATE"))
        return "locked"

    app = Litestar(route_handlers=[nowait, deadlock], exception_handlers=EXCEPTION_HANDLERS)  # type: ignore[arg-type]
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as client:
        holder = await psycopg.AsyncConnection.connect(libpq_url(os.environ["DATABASE_URL"]))
        try:
            await holder.execute("SELECT id FROM public.collision_probe WHERE id = 1 FOR UPDATE")
            held = await client.get("/nowait")

            async def other_side() -> None:
                await asyncio.sleep(0.1)
                await holder.execute("SELECT id FROM public.collision_probe WHERE id = 2 FOR UPDATE")

            # One of the two is chosen as the deadlock's victim: either the request answers 409,
            # or the holder's statement fails and the request goes through.
            side = asyncio.create_task(other_side())
            crossed = await client.get("/deadlock")
            try:
                await side
                holder_lost = False
            except psycopg.errors.DeadlockDetected:
                holder_lost = True
        finally:
            await holder.rollback()
            await holder.close()

    for answer in [held] + ([] if holder_lost else [crossed]):
        assert answer.status_code == 409, answer.text
        assert answer.headers["content-type"] == "application/problem+json"
        assert answer.json()["type"] == "urn:cornerstone:problem:concurrent-request"
        assert answer.headers["retry-after"] == "1"
    if holder_lost:
        assert crossed.status_code == 200, crossed.text
