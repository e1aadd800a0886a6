"""Adding a domain touches its own package and one line of the domain list.

A throw-away domain (tests/kit_sample: a table, a seeder, a route with its own scope and tag,
a task with a beat entry, an approval request type, a route catalogue) is added to the list
in a fresh process — the one line — and everything that reads the list must then know it:
the app serves its route, the document shows its tag and scope, provisioning creates its
table and runs its seeder, the worker includes its task and schedules its beat entry, the
approval engine knows its request type and the quality gates load its route catalogue.

A process of its own, on a database of its own: a table mapped in the test process would
stay on the shared metadata (and in every tenant provisioned after it).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid

import psycopg

from app.config import PROJECT_ROOT
from app.core.db import libpq_url, with_database

SCRIPT = r"""
import asyncio, json, os, sys

import app.domains
from tests.kit_sample import DOMAIN

app.domains.DOMAINS = (*app.domains.DOMAINS, DOMAIN)  # the one line

import httpx
from sqlalchemy import text

from app.asgi import create_app
from app.auth.scopes import SCOPES
from app.auth.tokens import KeyRing, ensure_signing_key
from app.config import get_settings
from app.core.audit import Actor
from app.core.db import Database
from app.domains.approvals.registry import request_types
from app.tenants.migrations import upgrade_shared
from app.tenants.schemas import TenantCreate
from app.tenants.seeding import registered
from app.tenants.services import create_tenant
from app.worker import celery_app
from tests.routes import FACTORIES


async def main() -> dict:
    settings = get_settings()
    db = Database(os.environ["DATABASE_URL"], pool_size=2)
    await upgrade_shared(db)
    async with db.platform_transaction() as session:
        await ensure_signing_key(session, token_ttl=settings.access_token_ttl)
        session.info["actor"] = Actor(kind="operator", id="kit@test")
        await create_tenant(session, TenantCreate(slug="kit_one", display_name="Kit One"))
    ring = KeyRing(issuer=settings.issuer, audience=settings.audience, token_ttl=settings.access_token_ttl)
    async with db.platform_session() as session:
        await ring.refresh(session, force=True)
    token = ring.mint(subject="kit-client", client_id="kit-client", scopes=["kitnotes:read"], tenant="kit_one")
    app = create_app(settings, database=db)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://kit") as client:
        listed = await client.get("/api/v1/kit-notes", headers={"Authorization": f"Bearer {token}"})
        refused = await client.get("/api/v1/kit-notes", headers={"Authorization": "Bearer " + ring.mint(
            subject="kit-client", client_id="kit-client", scopes=["org:read"], tenant="kit_one")})
    async with db.tenant_session("t_kit_one") as session:
        stored = (await session.execute(text("SELECT text FROM t_kit_one.kit_notes"))).scalars().all()
    await db.dispose()
    document = app.openapi_schema.to_schema()
    operation = document["paths"]["/api/v1/kit-notes"]["get"]
    return {
        "status": listed.status_code, "body": listed.json(), "refused": refused.status_code, "stored": stored,
        "tags": [t["name"] for t in document["tags"]], "operationTags": operation["tags"],
        "security": operation["security"], "scope": SCOPES.get("kitnotes:read"),
        "beat": celery_app.conf.beat_schedule.get("kitnotes-tidy"),
        "include": "tests.kit_sample.tasks" in celery_app.conf.include,
        "task": "kitnotes.tidy" in celery_app.tasks,
        "requestType": "kitnotes_review" in request_types(),
        "seeders": [s.name for s in registered()],
        "catalogued": "/api/v1/kit-notes" in FACTORIES,
    }


print("RESULT " + json.dumps(asyncio.run(main())))
"""


def test_a_domain_is_its_package_and_one_line_of_the_list() -> None:
    server = os.environ["DATABASE_URL"]
    name = f"cs_kit_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(libpq_url(server), autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
        conn.execute(f'ALTER DATABASE "{name}" SET synchronous_commit = off')  # as the run's own (conftest)
    try:
        env = {**os.environ, "DATABASE_URL": with_database(server, name), "CORNERSTONE_SPARE_SCHEMAS": "0"}
        done = subprocess.run([sys.executable, "-c", SCRIPT], cwd=PROJECT_ROOT, env=env, capture_output=True,
                              text=True, timeout=300)
        lines = [line for line in done.stdout.splitlines() if line.startswith("RESULT ")]
        assert done.returncode == 0 and lines, done.stdout[-3000:] + done.stderr[-5000:]
        found = json.loads(lines[-1].removeprefix("RESULT "))
    finally:
        with psycopg.connect(libpq_url(server), autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    assert found["status"] == 200 and found["body"] == ["Welcome, Kit One"]  # served, its seeder ran
    assert found["stored"] == ["Welcome, Kit One"]  # its table, in the tenant's own schema
    assert found["refused"] == 403  # its scope guards its route
    assert "Kit notes" in found["tags"] and found["operationTags"] == ["Kit notes"]
    assert found["security"] == [{"oauth2": ["kitnotes:read"]}] and found["scope"] == "Read the kit notes."
    assert found["beat"] == {"task": "kitnotes.tidy", "schedule": 600.0}
    assert found["include"] and found["task"]
    assert found["requestType"]
    assert "kitnotes.welcome" in found["seeders"] and found["seeders"][-1] == "storage.bucket"
    assert found["catalogued"]  # the gates (cross-tenant, scopes, audit, fuzz) find its route factory
