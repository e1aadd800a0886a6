"""The demo tenant `make run` seeds runs every workflow from its accounts: each role the group
has is held by a demo staff account, every role an approval chain names at every node of the
chain's level; and its partner client may ask for the scopes a partner front end needs."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select


async def test_every_role_is_held_where_workflows_look_for_it(db: Any, demo: Any) -> None:
    from app.auth.models import OAuthClient
    from app.demo import PARTNER_CLIENT, SUPERVISOR
    from app.domains.access.models import Role, RoleAssignment
    from app.domains.approvals.models import ApprovalChain
    from app.domains.org.models import OrgNode
    from app.tenants.models import Tenant

    slug = demo.slug
    async with db.tenant_session(f"t_{slug}") as session:
        roles = set((await session.scalars(select(Role.code))).all())
        held = set((await session.execute(
            select(Role.code, OrgNode.code, OrgNode.kind)
            .join(RoleAssignment, RoleAssignment.role_id == Role.id)
            .join(OrgNode, OrgNode.id == RoleAssignment.node_id))).all())
        nodes = (await session.execute(select(OrgNode.code, OrgNode.kind))).all()
        chains = (await session.scalars(select(ApprovalChain.steps))).all()
    assert roles - {r for r, _, _ in held} == set(), "roles nobody in the demo holds"
    missing = [(step["role"], code) for steps in chains for step in steps if step.get("role")
               for code, kind in nodes if kind.value == step["at"]
               and (step["role"], code, kind) not in held]
    assert not missing, f"chain roles not held at a node of their level: {missing}"

    async with db.platform_session() as session:
        tenant_id = await session.scalar(select(Tenant.id).where(Tenant.slug == slug))
        partner = await session.scalar(select(OAuthClient).where(OAuthClient.client_id == PARTNER_CLIENT,
                                                                 OAuthClient.tenant_id == tenant_id))
    assert partner is not None
    assert {"customers:write", "complaints:write", "archives:write", "approvals:write"} <= set(partner.allowed_scopes)
    assert not {"owner:self", "identity:write", "access:write"} & set(partner.allowed_scopes)
    assert SUPERVISOR[0] != "manager"


async def test_the_grade_summary_table_waits_for_its_check(db: Any, demo: Any) -> None:
    from app.domains.approvals.models import ApprovalRequest, RequestStatus
    from app.domains.grading.models import GradeSummary

    async with db.tenant_session(f"t_{demo.slug}") as session:
        rows = (await session.execute(select(GradeSummary, ApprovalRequest.status).join(
            ApprovalRequest, ApprovalRequest.id == GradeSummary.approval_request_id))).all()
    assert [(sum(s.counts.values()), status) for s, status in rows] == [(len(rows[0][0].lines), RequestStatus.pending)]
    assert rows[0][0].lines
    assert all(line["grade"] is None or line["grade"] in "ABCDE" for line in rows[0][0].lines)
