"""Fixtures of the tenancy tests: the pool of spares empty, scratch tenants removed afterwards, a
tenant script directory with one more revision on top, and one cut at an older revision."""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from alembic.script import ScriptDirectory
from sqlalchemy import delete, text

from app.core.db import PLATFORM_SCHEMA
from app.tenants.migrations import TENANT_SCRIPTS, tenant_head
from app.tenants.models import Tenant, schema_name
from app.tenants.provisioning import drop_schema

NEXT_REVISION = "0900_test_nickname"

# Two steps, so that a tenant failing at the second proves the first was rolled back too.
_NEXT_SCRIPT = f'''
import sqlalchemy as sa
from alembic import op

revision = "{NEXT_REVISION}"
down_revision = "{tenant_head()}"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("idempotency_keys", sa.Column("note", sa.Text(), nullable=True), schema="tenant")
    op.add_column("org_nodes", sa.Column("nickname", sa.String(50), nullable=True), schema="tenant")
'''


@pytest.fixture
def next_scripts(tmp_path: Path) -> Path:
    """A copy of the tenant script directory with one more revision on top."""
    scripts = tmp_path / "tenant"
    shutil.copytree(TENANT_SCRIPTS, scripts, ignore=shutil.ignore_patterns("__pycache__"))
    (scripts / "versions" / f"{NEXT_REVISION}.py").write_text(_NEXT_SCRIPT)
    return scripts


def scripts_until(root: Path, revision: str) -> Path:
    """A copy of the tenant script directory whose head is ``revision``: what the runner of
    the release that ended there migrated tenants to."""
    keep = {Path(r.path).name for r in ScriptDirectory(str(TENANT_SCRIPTS)).iterate_revisions(revision, "base")}
    scripts = root / f"until_{revision}"
    shutil.copytree(TENANT_SCRIPTS, scripts, ignore=shutil.ignore_patterns("__pycache__"))
    for script in (scripts / "versions").glob("*.py"):
        if script.name not in keep:
            script.unlink()
    return scripts


@pytest.fixture(autouse=True)
def spare_pool(spares: Any) -> None:
    """The tenancy tests are about the DDL path and the pool of spares itself: each starts with
    the pool empty and nothing refilling it, so its tenants are built from the DDL unless it
    fills the pool itself (tests/conftest.py keeps the pool full for every other test)."""
    spares.ddl_only()


@pytest.fixture
async def scratch(db: Any) -> AsyncIterator[list[str]]:
    """Slugs whose tenants are removed after the test: a schema left at a revision the real
    scripts do not know would make every later run over all tenants report it as failed."""
    slugs: list[str] = []
    yield slugs
    # One transaction per schema: a drop locks each of its relations until it commits (about
    # 2,000 lock-table entries); six in one transaction overflow the server's default table.
    for slug in slugs:
        async with db.engine.begin() as conn:
            await drop_schema(conn, schema_name(slug))
            await conn.execute(delete(Tenant).where(Tenant.slug == slug))


@pytest.fixture
def tenant(new_tenant: Callable[..., Awaitable[str]], scratch: list[str]) -> Callable[[], Awaitable[str]]:
    async def _new() -> str:
        slug = await new_tenant("mig")
        scratch.append(slug)
        return slug

    return _new


@asynccontextmanager
async def creation_refused_at_the_end(db: Any, slug: str) -> AsyncIterator[None]:
    """Inside, the database refuses the very last statement of creating tenant ``slug`` (its
    platform audit record), after the schema, its tables and its seed rows were written: the
    creation raises "refused for the test"."""
    function = f"public.refuse_{slug}"
    async with db.engine.begin() as conn:
        await conn.execute(text(
            f"CREATE FUNCTION {function}() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
            f"IF NEW.action = 'tenant.create' AND NEW.entity_id = '{slug}' THEN "
            f"RAISE EXCEPTION 'refused for the test'; END IF; RETURN NEW; END $$"
        ))
        await conn.execute(text(
            f'CREATE TRIGGER "refuse_{slug}" BEFORE INSERT ON {PLATFORM_SCHEMA}.audit_log '
            f"FOR EACH ROW EXECUTE FUNCTION {function}()"
        ))
    try:
        yield
    finally:
        async with db.engine.begin() as conn:
            await conn.execute(text(f'DROP TRIGGER "refuse_{slug}" ON {PLATFORM_SCHEMA}.audit_log'))
            await conn.execute(text(f"DROP FUNCTION {function}()"))
