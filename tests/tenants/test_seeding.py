"""Defaults on migrate: a tenant that existed before a domain did gets that domain's defaults
in the transaction that migrates it (app/tenants/seeding.py), ending with what a new tenant
gets; what the group edited stays the group's; defaults a later revision adds reach old
tenants; a seeder that fails rolls the tenant's whole migration back.

Old tenants are built the slow way: an empty schema replayed from base by the runner over a
copy of the scripts cut at the old revision (seeding what that migration brings), then
migrated to head by the real runner.
"""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

import pytest
from alembic.script import ScriptDirectory
from sqlalchemy import delete, select, text, update

from app.core.audit import Actor, tenant_audit
from app.domains.access import seeds as access_seeds
from app.domains.access.authz import trusted
from app.domains.access.models import Role
from app.domains.access.schemas import RoleCreate, RoleUpdate
from app.domains.access.services import create_role, update_role
from app.domains.approvals.models import ApprovalChain
from app.domains.calendars.models import CalendarHoliday, CalendarWorkday, WorkingCalendar
from app.domains.complaints.models import ComplaintCategory
from app.domains.complaints.seeds import APPROVER_PERMISSIONS, APPROVER_ROLE
from app.domains.org.models import OrgNode
from app.domains.surveys.models import Question, Questionnaire
from app.storage import get_store
from app.tenants.migrations import TENANT_SCRIPTS, tenant_head, upgrade_tenants
from app.tenants.models import Tenant, TenantStatus, schema_name
from app.tenants.seeding import SEEDERS, registered, seeder
from tests.tenants.conftest import scripts_until

NAME = "Old Group"
GROUP_ADMIN = Actor(kind="user", id="group-admin-of-the-test")

# base, then every revision from the first whose tables today's models fit (0003 added a
# column to org_nodes, which the root node seeder writes), up to the one before head.
_HISTORY = [r.revision for r in reversed(list(ScriptDirectory(str(TENANT_SCRIPTS)).iterate_revisions(
    tenant_head(), "base")))]
OLD_REVISIONS: list[str | None] = [None, *_HISTORY[_HISTORY.index("0003_org_access"):-1]]


async def _old_tenant(db: Any, scratch: list[str], tmp_path: Path, revision: str | None) -> str:
    """A tenant left at ``revision`` by the runner of its time (None: never migrated)."""
    slug = f"old_{uuid.uuid4().hex[:10]}"
    scratch.append(slug)
    async with db.platform_transaction() as session:
        session.add(Tenant(slug=slug, display_name=NAME, time_zone="Asia/Shanghai", locale="zh-CN",
                           status=TenantStatus.active, schema_revision=None))
        await session.execute(text(f'CREATE SCHEMA "{schema_name(slug)}"'))
    if revision is not None:
        report = await upgrade_tenants(db, scripts=scripts_until(tmp_path, revision), only=[slug])
        assert [(r.slug, r.to_revision) for r in report.migrated] == [(slug, revision)], report.failed
    return slug


async def _defaults(db: Any, slug: str) -> dict[str, Any]:
    """What a group starts with, in comparable form (no ids, no times)."""
    async with db.tenant_session(schema_name(slug)) as session:
        roles = sorted((r.code, r.name, r.description, tuple(sorted(r.permissions)), r.system)
                       for r in (await session.scalars(select(Role))).all())
        chains = sorted((c.request_type, json.dumps(c.steps, sort_keys=True))
                        for c in (await session.scalars(select(ApprovalChain))).all())
        categories = (await session.scalars(select(ComplaintCategory))).all()
        code_of = {c.id: c.code for c in categories}
        tree = sorted((c.code, c.name, code_of.get(c.parent_id) if c.parent_id else None, c.quality,
                       c.response_minutes, c.resolution_minutes, c.active) for c in categories)
        calendars = []
        for cal in (await session.scalars(select(WorkingCalendar))).all():
            holidays = sorted((h.name, h.start_date, h.end_date) for h in (await session.scalars(
                select(CalendarHoliday).where(CalendarHoliday.calendar_id == cal.id))).all())
            workdays = sorted((w.day, w.name) for w in (await session.scalars(
                select(CalendarWorkday).where(CalendarWorkday.calendar_id == cal.id))).all())
            calendars.append((cal.code, cal.name, cal.time_zone, cal.is_default, cal.work_start, cal.lunch_start,
                              cal.lunch_minutes, cal.work_end, tuple(cal.rest_weekdays), tuple(holidays),
                              tuple(workdays)))
        questionnaires = []
        for q in (await session.scalars(select(Questionnaire))).all():
            questions = tuple((x.position, x.text, x.kind, x.dimension, x.required) for x in (await session.scalars(
                select(Question).where(Question.questionnaire_id == q.id).order_by(Question.position))).all())
            questionnaires.append((q.title, q.description, q.status, questions))
        roots = [(n.kind, n.code, n.name, n.depth) for n in (await session.scalars(
            select(OrgNode).where(OrgNode.parent_id.is_(None)))).all()]
    bucket = await get_store().describe_bucket(slug)
    return {"roles": roles, "chains": chains, "categories": tree, "calendars": sorted(calendars),
            "questionnaires": sorted(questionnaires), "roots": roots,
            "bucket": (bucket.name == get_store().bucket_name(slug), bucket.object_lock, bucket.versioning)}


async def _audit(db: Any, slug: str, action: str) -> list[Any]:
    async with db.tenant_session(schema_name(slug)) as session:
        return list((await session.execute(select(tenant_audit).where(tenant_audit.c.action == action)
                                           .order_by(tenant_audit.c.occurred_at, tenant_audit.c.id))).all())


def test_every_seeder_names_a_revision_of_the_history() -> None:
    # A typo would never match a migration: the defaults would silently never reach old tenants.
    seeders = registered()
    assert {s.since for s in seeders} - {None} <= set(_HISTORY)
    # Provisioning-only seeders are the exception, each with its reason (keys made on first use).
    assert [s.name for s in seeders if s.since is None] == ["core.data_keys"]
    assert len({s.name for s in seeders}) == len(seeders)


def test_seeders_run_in_the_domain_list_order_whoever_imported_them_first() -> None:
    # This module imported the access and complaints seeds before anything read the domain
    # list: the order holds (the keys first, each domain's in the list's order, the bucket last).
    names = [s.name for s in registered()]
    assert names[:2] == ["core.data_keys", "org.root"] and names[-1] == "storage.bucket"
    assert names.index("access.roles") < names.index("approvals.chains") < names.index("complaints.defaults")
    assert names.index("calendars.default") < names.index("complaints.defaults")

    @seeder("test.unordered", since=None)
    async def unordered(session: Any, tenant: Any) -> None:
        raise AssertionError("never run")

    try:  # a seeder whose module no domain declares would run at an arbitrary point
        with pytest.raises(RuntimeError, match=__name__):
            registered()
    finally:
        SEEDERS[:] = [s for s in SEEDERS if s.name != "test.unordered"]


@pytest.mark.parametrize("revision", OLD_REVISIONS, ids=lambda r: r or "base")
async def test_an_old_tenant_migrated_to_head_has_a_new_tenant_s_defaults(
        db: Any, new_tenant: Any, scratch: list[str], tmp_path: Path, revision: str | None) -> None:
    old = await _old_tenant(db, scratch, tmp_path, revision)

    report = await upgrade_tenants(db, only=[old])

    assert report.failed == [] and [(r.from_revision, r.to_revision) for r in report.migrated] == [
        (revision, tenant_head())]
    new = await new_tenant("seeded", name=NAME)
    expected, actual = await _defaults(db, new), await _defaults(db, old)
    # Guard against comparing two empty sets: a new group has every kind of default.
    assert all(expected[kind] for kind in expected) and expected["bucket"] == (True, True, True)
    for kind in expected:
        assert actual[kind] == expected[kind], f"{kind} differ from a new tenant's after migrating from {revision}"
    # The migration is in the tenant's own log (after the one that built it), with what it seeded.
    migrated = (await _audit(db, old, "tenant.migrate"))[-1]
    assert (migrated.actor_kind, migrated.actor_id) == ("system", "migrations")
    assert migrated.after == {"fromRevision": revision, "toRevision": tenant_head(),
                              "seeded": report.migrated[0].seeded}


async def test_what_the_group_edited_stays_its_own(db: Any, scratch: list[str], tmp_path: Path) -> None:
    slug = await _old_tenant(db, scratch, tmp_path, "0007_relations")
    async with db.tenant_session(schema_name(slug)) as session:
        session.info["actor"] = GROUP_ADMIN
        async with session.begin():
            roles = {r.code: r for r in (await session.scalars(select(Role))).all()}
            await update_role(session, trusted(), roles["project_manager"],
                              RoleUpdate(name="Our PM", permissions=["org.read"]))
            # The complaint approver's role exists already (the chain of that type is stored).
            await update_role(session, trusted(), roles[APPROVER_ROLE], RoleUpdate(name="Our affairs manager"))
            # A role of the group's own under a code a later default uses.
            await create_role(session, trusted(), RoleCreate(code="archivist", name="Our archivist",
                                                        permissions=["org.read"]))
            [questionnaire] = (await session.scalars(select(Questionnaire))).all()
            questionnaire.title = "Our questionnaire"
            chain = (await session.scalars(select(ApprovalChain).where(
                ApprovalChain.request_type == "reception_application"))).one()
            edited_steps = chain.steps = chain.steps[-1:]

    report = await upgrade_tenants(db, only=[slug])

    assert report.failed == [] and report.migrated[0].seeded == [
        "access.roles", "approvals.chains", "approvals.chains.corrected", "approvals.chains.corrected.gifts",
        "calendars.default", "complaints.roles",
        "complaints.defaults", "complaints.approver", "archives.roles", "confidentiality.roles", "property.roles",
        "property.defaults", "certificates.roles", "service.roles", "privacy.roles", "custinfo.roles", "storage.bucket"]
    async with db.tenant_session(schema_name(slug)) as session:
        roles = {r.code: r for r in (await session.scalars(select(Role))).all()}
        assert (roles["project_manager"].name, roles["project_manager"].permissions) == ("Our PM", ["org.read"])
        approver = roles[APPROVER_ROLE]
        assert approver.name == "Our affairs manager" and APPROVER_PERMISSIONS <= set(approver.permissions)
        assert (roles["archivist"].name, roles["archivist"].permissions, roles["archivist"].system) == (
            "Our archivist", ["org.read"], False)
        assert roles["archives_manager"].system and roles["complaint_handler"].system  # the missing ones came
        assert [q.title for q in (await session.scalars(select(Questionnaire))).all()] == ["Our questionnaire"]
        chain = (await session.scalars(select(ApprovalChain).where(
            ApprovalChain.request_type == "reception_application"))).one()
        assert chain.steps == edited_steps
        assert len((await session.scalars(select(ComplaintCategory))).all()) == 10
    # Each default the migration wrote is audited as the migration, with why.
    [quality] = [r for r in await _audit(db, slug, "complaints.category.create") if r.after["code"] == "QUALITY"]
    assert (quality.actor_id, quality.reason) == ("migrations", f"tenant migration 0007_relations -> {tenant_head()}")


async def test_defaults_corrected_to_their_source_reach_groups_that_never_edited_them(
        db: Any, scratch: list[str], tmp_path: Path) -> None:
    """0015_relations: a group still on the chains seeded before the correction (as seeded,
    version 1) gets the corrected ones; a chain the group edited, even back to the old default,
    stays the group's."""
    from app.domains.approvals.registry import request_types

    slug = await _old_tenant(db, scratch, tmp_path, "0010_uploads")
    types = request_types()
    old = {code: [dict(s) for s in types[code].replaces[0]]
           for code in ("complaint_resolution", "credit_grade_change", "change_control")}
    for code, steps in old.items():
        assert [dict(s) for s in types[code].default_chain] != steps
    async with db.tenant_session(schema_name(slug)) as session:
        async with session.begin():
            # What the release before the correction stored, as seeded (no edit, version 1).
            for code, steps in old.items():
                # A Core update: the version stays as given (1: as seeded; 2: the group edited it).
                await session.execute(update(ApprovalChain).where(ApprovalChain.request_type == code).values(
                    steps=[{"role": None, "at": None, "user": None, "minAmount": None, **s} for s in steps],
                    version=2 if code == "change_control" else 1))
            await session.execute(delete(Role).where(Role.code.in_(["company_supervising_manager",
                                                                    "customer_info_supervisor"])))

    report = await upgrade_tenants(db, only=[slug])

    assert report.failed == [] and "approvals.chains.corrected" in report.migrated[0].seeded
    async with db.tenant_session(schema_name(slug)) as session:
        chains = {c.request_type: c for c in (await session.scalars(select(ApprovalChain))).all()}
        roles = {r.code: r for r in (await session.scalars(select(Role))).all()}
    assert [s["role"] for s in chains["complaint_resolution"].steps] == ["company_supervising_manager"]
    assert [s["role"] for s in chains["credit_grade_change"].steps] == ["customer_info_supervisor", "cs_manager"]
    # Edited by the group (version 2), even though its steps are the old default: left alone.
    assert [s.get("when") for s in chains["change_control"].steps] == [None, None]
    assert APPROVER_PERMISSIONS <= set(roles[APPROVER_ROLE].permissions)
    assert "customer_info_supervisor" in roles
    corrected = await _audit(db, slug, "approvals.chain.update")
    assert sorted(r.entity_id for r in corrected) == ["complaint_resolution", "credit_grade_change"]


async def test_the_gift_chain_correction_reaches_groups_past_the_first_correction(
        db: Any, scratch: list[str], tmp_path: Path) -> None:
    """0018_grading_letter: a group migrated past 0015_relations, still on the one-step gift
    chain as seeded, gets the four sign-offs of seed 000 §20, and the roles they name."""
    from app.domains.approvals.registry import request_types

    slug = await _old_tenant(db, scratch, tmp_path, "0015_relations")
    old = [dict(s) for s in request_types()["gift_application"].replaces[0]]
    async with db.tenant_session(schema_name(slug)) as session:
        async with session.begin():
            await session.execute(update(ApprovalChain).where(ApprovalChain.request_type == "gift_application").values(
                steps=[{"role": None, "at": None, "user": None, "minAmount": None, **s} for s in old], version=1))
            await session.execute(delete(Role).where(Role.code.in_(["gift_administrator", "office_director",
                                                                    "deputy_manager"])))

    report = await upgrade_tenants(db, only=[slug])

    assert report.failed == [] and "approvals.chains.corrected.gifts" in report.migrated[0].seeded
    async with db.tenant_session(schema_name(slug)) as session:
        chain = (await session.scalars(select(ApprovalChain).where(
            ApprovalChain.request_type == "gift_application"))).one()
        roles = set((await session.scalars(select(Role.code))).all())
    assert [s["role"] for s in chain.steps] == ["department_supervisor", "gift_administrator", "office_director",
                                                "deputy_manager"]
    assert {"gift_administrator", "office_director", "deputy_manager"} <= roles
    assert [r.entity_id for r in await _audit(db, slug, "approvals.chain.update")] == ["gift_application"]


async def test_defaults_a_later_revision_adds_reach_old_tenants_once(
        db: Any, tenant: Any, next_scripts: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    slug = await tenant()  # provisioned at today's head
    async with db.tenant_session(schema_name(slug)) as session:
        session.info["actor"] = GROUP_ADMIN
        async with session.begin():
            branch_manager = (await session.scalars(select(Role).where(Role.code == "branch_manager"))).one()
            await update_role(session, trusted(), branch_manager, RoleUpdate(permissions=["org.read"]))
            other = (await session.scalars(select(ComplaintCategory).where(ComplaintCategory.code == "OTHER"))).one()
            other.active = False
    # The release of the next revision adds a default role.
    added = RoleCreate(code="handover_officer", name="Handover officer", permissions=["org.read", "audit.read"])
    monkeypatch.setattr(access_seeds, "DEFAULT_ROLES", [*access_seeds.DEFAULT_ROLES, added])
    before = await _defaults(db, slug)

    report = await upgrade_tenants(db, scripts=next_scripts, only=[slug])

    # Only the seeders whose defaults grow run again; the others' defaults were made once.
    assert report.failed == [] and report.migrated[0].seeded == [
        "access.roles", "approvals.chains", "complaints.roles", "archives.roles", "confidentiality.roles",
        "property.roles", "certificates.roles", "service.roles", "privacy.roles", "custinfo.roles"]
    after = await _defaults(db, slug)
    assert set(after["roles"]) - set(before["roles"]) == {
        ("handover_officer", "Handover officer", None, ("audit.read", "org.read"), True)}
    assert set(before["roles"]) <= set(after["roles"])  # branch_manager as the group left it
    assert ("branch_manager", "分公司经理 Branch manager", access_seeds.DEFAULT_ROLES[1].description,
            ("org.read",), True) in after["roles"]
    assert {k: v for k, v in after.items() if k != "roles"} == {k: v for k, v in before.items() if k != "roles"}


async def test_a_failing_seeder_rolls_the_tenant_s_migration_back(db: Any, scratch: list[str],
                                                                  tmp_path: Path) -> None:
    slug = await _old_tenant(db, scratch, tmp_path, "0007_relations")
    schema = schema_name(slug)
    # The database refuses one role the complaints domain brings, after its tables were made.
    async with db.engine.begin() as conn:
        await conn.execute(text(
            f'CREATE FUNCTION "{schema}".refuse() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN '
            f"RAISE EXCEPTION 'refused for the test'; END $$"))
        await conn.execute(text(
            f'CREATE TRIGGER refuse BEFORE INSERT ON "{schema}".roles FOR EACH ROW '
            f"WHEN (NEW.code = 'complaint_handler') EXECUTE FUNCTION \"{schema}\".refuse()"))

    report = await upgrade_tenants(db, only=[slug])

    assert [r.slug for r in report.failed] == [slug] and "refused for the test" in (report.failed[0].error or "")
    async with db.engine.connect() as conn:
        tables = set((await conn.execute(text(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = :s"), {"s": schema})).scalars())
        revision = await conn.scalar(select(Tenant.schema_revision).where(Tenant.slug == slug))
    # Nothing of the migration is left: neither its tables nor the defaults seeded before the failure.
    assert revision == "0007_relations" and "questionnaires" in tables
    assert not tables & {"complaint_categories", "working_calendars", "archive_volumes"}
    async with db.tenant_session(schema) as session:
        assert (await session.scalars(select(tenant_audit.c.action).where(
            tenant_audit.c.reason == f"tenant migration 0007_relations -> {tenant_head()}"))).all() == []

    async with db.engine.begin() as conn:
        await conn.execute(text(f'DROP TRIGGER refuse ON "{schema}".roles'))
    again = await upgrade_tenants(db, only=[slug])
    assert again.failed == [] and [r.slug for r in again.migrated] == [slug]
    assert "complaints.defaults" in again.migrated[0].seeded
