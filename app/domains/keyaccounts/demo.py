"""The key-account records of the demo tenant (``make run``): an improvement action from the
first owner's return-visit answers, in progress; the demo owner as a big customer (the demo
manager their account manager) with a strategy in force and an archived on-site visit report;
a routine after-sales service plan on trial at SZ01."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core import audit, clock
from app.domains.access.authz import trusted
from app.domains.customers.models import Customer
from app.domains.grading.models import CustomerGrade
from app.domains.keyaccounts.models import ActionStage, PlanKind, PlanStage, StrategyStage, VisitStage
from app.domains.keyaccounts.schemas import ActionCreate, PlanCreate, StrategyCreate, VisitNotice, VisitReport
from app.domains.keyaccounts.services import improvements, service_plans, strategies, visits
from app.domains.org.models import OrgNode
from app.domains.surveys.models import SurveyResult
from app.tenants.bound import today


async def _decided(session: AsyncSession, record: Any, entity: str, action: str, entity_id: Any = None,
                   **fields: Any) -> None:
    """The demo's records count as approved (their chains' deciders are not among the demo's people)."""
    before = audit.snapshot(record)
    for name, value in fields.items():
        setattr(record, name, value)
    await session.flush()
    await session.refresh(record)
    await audit.record(session, action=action, entity_type=entity, entity_id=entity_id or record.id, before=before,
                       after=audit.snapshot(record), reason="demo data")


async def seed_demo(session: AsyncSession, people: Any) -> None:
    system, now, on = trusted(), clock.utcnow(), await today(session)
    result = await session.scalar(select(SurveyResult).order_by(SurveyResult.responded_at).limit(1))
    if result is not None:
        a = await improvements.create_action(session, system, ActionCreate(
            source="result", source_id=result.id, owner_id=people.staff_id, due_on=on + timedelta(days=30),
            finding="业主反映交付后维修响应慢 Repairs after handover are slow to be answered",
            action="维修工单24小时内响应并回访 Answer repair orders within 24 hours and call back"))
        await _decided(session, a, improvements.ACTION, "keyaccounts.improvement.start",
                       stage=ActionStage.in_progress, started_at=now)
    owner = (await session.scalars(select(Customer).where(Customer.account_id == people.owner_id))).first()
    grade = None if owner is None else await session.get(CustomerGrade, owner.id)
    if owner is not None and grade is not None:
        if grade.account_manager_id is None:
            await _decided(session, grade, "customer", "grading.account_manager.set", entity_id=owner.id,
                           account_manager_id=str(people.staff_id))
        s = await strategies.create_strategy(session, system, StrategyCreate(
            customer_id=owner.id, title="李业主年度维护 Owner Li's year", goals="满意度4.5以上，转介绍2户",
            strategy="专属客户经理；季度上门回访；优先报修", starts_on=on, ends_on=on + timedelta(days=365)))
        await _decided(session, s, strategies.STRATEGY, "keyaccounts.strategy.in_force",
                       stage=StrategyStage.in_force, approved_at=now)
        v = await visits.notify_visit(session, system, VisitNotice(
            customer_id=owner.id, purpose="交付后季度上门回访 Quarterly visit after handover",
            scheduled_on=on - timedelta(days=7), visitor_id=people.staff_id))
        report = VisitReport(visited_on=on - timedelta(days=7), findings="房屋使用正常，阳台渗水已修复",
                             customer_feedback="对物业服务满意，希望增加社区活动")
        await _decided(session, v, visits.VISIT, "keyaccounts.visit.archive", stage=VisitStage.archived,
                       visited_on=report.visited_on, findings=report.findings,
                       customer_feedback=report.customer_feedback, reported_at=now, archived_at=now)
    project = await session.scalar(select(OrgNode).where(OrgNode.code == "SZ01"))
    if project is not None:
        p = await service_plans.create_plan(session, system, PlanCreate(
            node_id=project.id, kind=PlanKind.routine, title="交付首年报修服务 First-year repairs",
            issue="交付首年报修集中在门窗和防水 Most first-year repairs are windows and waterproofing",
            content="报修24小时上门；防水问题一次修复并三日回访", trial_ends_on=on + timedelta(days=60)))
        await _decided(session, p, service_plans.PLAN, "keyaccounts.service_plan.trial", stage=PlanStage.trial,
                       trial_started_at=now)
