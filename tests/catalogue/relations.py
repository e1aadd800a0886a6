"""Route-catalogue entries of the relations routes: interactions, return visits, grading and
credit (see tests/catalogue/__init__.py); and the subtree matrix's part for them."""

from __future__ import annotations

import functools
import uuid
from collections.abc import Callable
from typing import Any

from sqlalchemy import Select, select

from tests.catalogue import Kind, SubtreeSpec, WorldSeed
from tests.routes import (
    Ctx,
    Factory,
    Made,
    _create,
    _new_customer,
    _new_project,
    _staff_account,
    _token_of,
    shared,
)

INTERACTIONS = "/api/v1/interactions"
SURVEYS = "/api/v1/surveys"
GRADING = "/api/v1/grading"
APPROVER_SCOPES = ["approvals:read", "approvals:write"]
WHEN = "2026-06-18T18:30:00+08:00"
RECEPTION_CHAIN = ("cs_manager", "general_manager", "finance")
GIFT_CHAIN = ("department_supervisor", "gift_administrator", "office_director", "deputy_manager")
VISIT_CHAIN = ("cr_supervisor", "cs_manager")


def _unique() -> str:
    return uuid.uuid4().hex[:12]


async def _ok(response: Any, status: int = 200) -> Any:
    assert response.status_code == status, f"{response.request.method} {response.request.url}: " \
                                           f"{response.status_code} {response.text}"
    return response.json()


# ---------------------------------------------------------------------- building blocks


async def deciders(ctx: Ctx, roles: list[tuple[str, str]]) -> list[dict[str, str]]:
    """Staff accounts holding each (role code, node id), as token headers, in that order."""
    from app.core.audit import Actor
    from app.domains.access.services import grant_by_code
    from app.domains.org.models import OrgNode

    async def holder(role: str, node_id: str) -> str:
        account = await _staff_account(ctx)
        async with ctx.db.tenant_transaction(f"t_{ctx.tenant}") as session:
            session.info["actor"] = Actor(kind="operator", id="operator@test")
            node = await session.scalar(select(OrgNode).where(OrgNode.id == uuid.UUID(node_id)))
            await grant_by_code(session, account_id=uuid.UUID(account), role_code=role, node=node)
        return account

    people = []
    for i, (role, node_id) in enumerate(roles):
        # A role named twice in one list is two people (a chain may not let one person decide twice).
        nth = roles[:i].count((role, node_id))
        account = await shared(ctx, ("holder", role, node_id, nth), functools.partial(holder, role, node_id))
        people.append(await _token_of(ctx, account, APPROVER_SCOPES))  # minted anew: a deep run outlasts a token
    return people


async def approve(ctx: Ctx, request_id: str, people: list[dict[str, str]]) -> None:
    for who in people:
        await _ok(await ctx.client.post(f"/api/v1/approvals/requests/{request_id}/approve", headers=who, json={}))


async def _root(ctx: Ctx) -> str:
    return str((await _ok(await ctx.client.get("/api/v1/org/group", headers=ctx.auth)))["id"])


async def _branch_of(ctx: Ctx, project_id: str) -> str:
    return str((await _ok(await ctx.client.get(f"/api/v1/org/projects/{project_id}", headers=ctx.auth)))["parentId"])


async def _etag(ctx: Ctx, url: str) -> str:
    return str((await ctx.client.get(url, headers=ctx.auth)).headers["etag"])


def _items(lines: int = 1) -> list[dict[str, Any]]:
    return [{"item": f"礼品{i}", "quantity": 2, "unitValue": "188.00"} for i in range(lines)]


# ------------------------------------------------------------------------------- visits


async def _visit_deciders(ctx: Ctx, customer: dict[str, Any]) -> list[dict[str, str]]:
    """The visit application's chain at the customer's branch (seed 000 §22): the customer
    relations supervisor, and the customer service manager it may refer to."""
    branch = await _branch_of(ctx, customer["nodeId"])
    return await deciders(ctx, [(role, branch) for role in VISIT_CHAIN])


async def _visit_in(ctx: Ctx, customer: dict[str, Any], *, state: str = "planned") -> tuple[dict[str, Any], str]:
    """A visit: ``planned``, ``approved`` (its application), ``visited`` or ``reported``."""
    people = await _visit_deciders(ctx, customer)
    v, location = await _create(ctx, f"{INTERACTIONS}/visits", {
        "customerId": customer["id"], "purpose": f"A-only visit {ctx.mark}", "plannedAt": WHEN,
        "location": f"A's place {ctx.mark}"})
    steps = ("approved", "visited", "reported")
    if state in steps:
        v = await _ok(await ctx.client.post(f"{location}/apply", json={},
                                            headers={**ctx.auth, "If-Match": await _etag(ctx, location)}))
        await approve(ctx, v["approvalRequestId"], people[:1])
    if state in steps[1:]:
        v = await _ok(await ctx.client.post(f"{location}/record", headers={**ctx.auth, "If-Match": await _etag(
            ctx, location)}, json={"needs": [f"A-only need {ctx.mark}"], "visitedAt": WHEN}))
    if state in steps[2:]:
        v = await _ok(await ctx.client.post(f"{location}/report", headers={**ctx.auth, "If-Match": await _etag(
            ctx, location)}, json={"report": f"A-only report {ctx.mark}", "expenses": {"meals": "120.00"}}))
    return v, location


def _visit(body: Callable[[Ctx], dict[str, Any]], *, state: str = "planned") -> Factory:
    async def make(ctx: Ctx) -> Made:
        c, _, _ = await _new_customer(ctx)  # with a behaviour consent
        v, location = await _visit_in(ctx, c, state=state)
        return Made(params={"visit_id": v["id"]}, values=[v["id"], v["number"], v["purpose"]], url=location,
                    bodies={"PATCH": {"location": f"Moved {ctx.mark}"}, "POST": body(ctx)})

    return make


async def _visits(ctx: Ctx) -> Made:
    c, _, _ = await _new_customer(ctx)
    return Made(params={}, values=[], url=None, bodies={"POST": {
        "customerId": c["id"], "purpose": f"New visit {ctx.mark}", "plannedAt": WHEN}})


# --------------------------------------------------------------------------- receptions


def _reception_body(ctx: Ctx, node_id: str, **extra: Any) -> dict[str, Any]:
    return {"kind": "hospitality", "nodeId": node_id, "title": f"A-only dinner {ctx.mark}",
            "purpose": f"A's purpose {ctx.mark}", "venue": f"A's venue {ctx.mark}", "scheduledAt": WHEN,
            "budget": {"meals": "8000.00", "gifts": "1200.00"}, **extra}


async def _reception_deciders(ctx: Ctx, project_id: str) -> list[dict[str, str]]:
    branch = await _branch_of(ctx, project_id)
    return await deciders(ctx, [(role, branch) for role in RECEPTION_CHAIN])


def _reception(state: str, post: dict[str, Any]) -> Factory:
    """A reception: a draft, ``approved`` through its whole chain, or ``reviewed``: reported
    too, and its report approved by its chain."""
    async def make(ctx: Ctx) -> Made:
        project, _ = await _new_project(ctx)
        people = await _reception_deciders(ctx, project["id"])
        r, location = await _create(ctx, f"{INTERACTIONS}/receptions",
                                    _reception_body(ctx, project["id"], submit=False))
        if state in ("approved", "reviewed"):
            r = await _ok(await ctx.client.post(f"{location}/submit", json={},
                                                headers={**ctx.auth, "If-Match": await _etag(ctx, location)}))
            await approve(ctx, r["approvalRequestId"], people)
        if state == "reviewed":
            r = await _ok(await ctx.client.post(f"{location}/report", json={
                "heldAt": WHEN, "attendeeCount": 8, "summary": f"A-only summary {ctx.mark}",
                "actual": {"meeting": "500.00", "meals": "6600.00"}},
                headers={**ctx.auth, "If-Match": await _etag(ctx, location)}))
            await approve(ctx, r["reportRequestId"], people)
        return Made(params={"reception_id": r["id"]}, values=[r["id"], r["number"], r["title"], r["venue"]],
                    url=location, bodies={"PATCH": {"venue": f"Moved {ctx.mark}"}, "POST": post})

    return make


async def _receptions(ctx: Ctx) -> Made:
    project, _ = await _new_project(ctx)
    await _reception_deciders(ctx, project["id"])
    return Made(params={}, values=[], url=None, bodies={"POST": _reception_body(ctx, project["id"])})


# -------------------------------------------------------------------------------- gifts


async def _gift_plans(ctx: Ctx) -> Made:
    project, _ = await _new_project(ctx)
    return Made(params={}, values=[], url=None, bodies={"POST": {
        "nodeId": await _branch_of(ctx, project["id"]), "title": f"New plan {ctx.mark}", "occasion": "中秋",
        "items": _items(2)}})


async def _gift_plan(ctx: Ctx) -> Made:
    project, _ = await _new_project(ctx)
    p, location = await _create(ctx, f"{INTERACTIONS}/gift-plans", {
        "nodeId": await _branch_of(ctx, project["id"]), "title": f"A-only plan {ctx.mark}",
        "occasion": f"A's occasion {ctx.mark}", "items": _items(3)})
    return Made(params={"plan_id": p["id"]}, values=[p["id"], p["title"], p["occasion"]], url=location,
                bodies={"PATCH": {"title": f"Renamed {ctx.mark}"}})


async def _application_body(ctx: Ctx) -> tuple[dict[str, Any], list[dict[str, str]]]:
    project, _ = await _new_project(ctx)
    branch = await _branch_of(ctx, project["id"])
    people = await deciders(ctx, [(role, branch) for role in GIFT_CHAIN])
    return {"nodeId": project["id"], "recipient": f"A-only recipient {ctx.mark}", "purpose": f"A's gift {ctx.mark}",
            "items": _items()}, people


async def _gift_applications(ctx: Ctx) -> Made:
    body, _ = await _application_body(ctx)
    return Made(params={}, values=[], url=None, bodies={"POST": body})


def _gift_application(*, approved: bool, post: dict[str, Any]) -> Factory:
    async def make(ctx: Ctx) -> Made:
        body, people = await _application_body(ctx)
        a, location = await _create(ctx, f"{INTERACTIONS}/gift-applications", body)
        if approved:
            await approve(ctx, a["approvalRequestId"], people)
        return Made(params={"application_id": a["id"]}, values=[a["id"], a["number"], a["recipient"]],
                    url=location, bodies={"POST": post})

    return make


# -------------------------------------------------------------------------------- calls


def _call_body(ctx: Ctx, node_id: str) -> dict[str, Any]:
    return {"direction": "inbound", "startedAt": WHEN, "durationSeconds": 95, "subject": f"A-only call {ctx.mark}",
            "outcome": {"kind": "resolved"}, "nodeId": node_id, "contactNote": f"A's caller {ctx.mark}"}


async def _calls(ctx: Ctx) -> Made:
    project, _ = await _new_project(ctx)
    return Made(params={}, values=[], url=None, bodies={"POST": _call_body(ctx, project["id"])})


async def _call(ctx: Ctx) -> Made:
    project, _ = await _new_project(ctx)
    c, location = await _create(ctx, f"{INTERACTIONS}/calls", _call_body(ctx, project["id"]))
    return Made(params={"call_id": c["id"]}, values=[c["id"], c["subject"], c["contactNote"]], url=location)


# ------------------------------------------------------------------------------ surveys


def _questionnaire_body(ctx: Ctx) -> dict[str, Any]:
    return {"title": f"A-only questionnaire {ctx.mark}", "questions": [
        {"kind": "scale", "text": f"A's question {ctx.mark}", "dimension": "overall"}]}


async def _questionnaires(ctx: Ctx) -> Made:
    return Made(params={}, values=[], url=None, bodies={"POST": _questionnaire_body(ctx)})


async def _questionnaire(ctx: Ctx) -> Made:
    q, location = await _create(ctx, f"{SURVEYS}/questionnaires", _questionnaire_body(ctx))
    return Made(params={"questionnaire_id": q["id"]}, values=[q["id"], q["title"]], url=location,
                bodies={"PATCH": {"title": f"Renamed {ctx.mark}"}})


async def _plan_of(ctx: Ctx) -> tuple[dict[str, Any], str, dict[str, Any]]:
    """A plan at the project of a new customer (its one target)."""
    c, _, _ = await _new_customer(ctx, own_project=True)
    p, location = await _create(ctx, f"{SURVEYS}/plans", {
        "nodeId": c["nodeId"], "title": f"A-only plan {ctx.mark}", "method": "phone", "dueOn": "2030-06-30"})
    return p, location, c


async def _plans(ctx: Ctx) -> Made:
    project, _ = await _new_project(ctx)
    return Made(params={}, values=[], url=None, bodies={"POST": {
        "nodeId": project["id"], "title": f"New plan {ctx.mark}", "method": "visit", "dueOn": "2030-06-30"}})


async def _plan(ctx: Ctx) -> Made:
    p, location, _ = await _plan_of(ctx)
    return Made(params={"plan_id": p["id"]}, values=[p["id"], p["number"], p["title"]], url=location,
                bodies={"PATCH": {"title": f"Renamed {ctx.mark}"}, "POST": {"reason": "catalogue"}})


async def _target(ctx: Ctx) -> Made:
    p, _, c = await _plan_of(ctx)
    [t] = (await _ok(await ctx.client.get(f"{SURVEYS}/targets", params={"planId": p["id"]},
                                          headers=ctx.auth)))["items"]
    return Made(params={"target_id": t["id"]}, values=[t["id"], c["id"], c["name"]],
                url=f"{SURVEYS}/targets/{t['id']}", bodies={"PATCH": {"note": f"A-only note {ctx.mark}"}})


async def standard_answers(ctx: Ctx) -> tuple[str, list[dict[str, Any]]]:
    """The seeded standard questionnaire's id, and a full set of answers to it."""
    listed = await _ok(await ctx.client.get(f"{SURVEYS}/questionnaires", params={"limit": 200}, headers=ctx.auth))
    seeded = next(q for q in listed["items"] if q["title"].startswith("客户满意度调查"))
    q = await _ok(await ctx.client.get(f"{SURVEYS}/questionnaires/{seeded['id']}", headers=ctx.auth))
    return q["id"], [{"questionId": x["id"], "score": 4} if x["kind"] == "scale" else
                     {"questionId": x["id"], "text": f"A's remark {ctx.mark}"} for x in q["questions"]]


async def _result_body(ctx: Ctx, customer_id: str) -> dict[str, Any]:
    questionnaire, answers = await standard_answers(ctx)
    return {"customerId": customer_id, "questionnaireId": questionnaire, "method": "phone", "answers": answers,
            "comment": f"A-only comment {ctx.mark}"}


async def _results(ctx: Ctx) -> Made:
    c, _, _ = await _new_customer(ctx)
    return Made(params={}, values=[], url=None, bodies={"POST": await _result_body(ctx, c["id"])})


async def _result(ctx: Ctx) -> Made:
    c, _, _ = await _new_customer(ctx)
    r, location = await _create(ctx, f"{SURVEYS}/results", await _result_body(ctx, c["id"]))
    return Made(params={"result_id": r["id"]}, values=[r["id"], r["comment"]], url=location)


# ------------------------------------------------------------------------------ grading


async def _rules(ctx: Ctx) -> Made:
    current = await _ok(await ctx.client.get(f"{GRADING}/rules", headers=ctx.auth))
    return Made(params={}, values=[], url=f"{GRADING}/rules",
                bodies={"PUT": {**current["rules"], "windowMonths": 18}})


async def _recomputations(ctx: Ctx) -> Made:
    return Made(params={}, values=[], url=None, bodies={"POST": {}})


async def _credit_deciders(ctx: Ctx, project_id: str) -> list[dict[str, str]]:
    root = await _root(ctx)
    return await deciders(ctx, [("sales_admin_manager", await _branch_of(ctx, project_id)), ("sales_vp", root),
                                ("sales_gm", root), ("group_gm", root)])


def _credit_body(ctx: Ctx) -> dict[str, Any]:
    return {"requestedLimit": "300000.00", "reason": f"A-only credit reason {ctx.mark}"}


async def _grading_customer(ctx: Ctx) -> Made:
    c, _, _ = await _new_customer(ctx)
    await _credit_deciders(ctx, c["nodeId"])
    return Made(params={"customer_id": c["id"]}, values=[c["id"], c["number"], c["name"]],
                url=f"{GRADING}/customers/{c['id']}", bodies={"POST": _credit_body(ctx)})


async def _graded_customer(ctx: Ctx) -> Made:
    """A customer graded (in-process: no worker takes a task sent here) and a staff account to
    look after them."""
    from app.core.audit import SYSTEM
    from app.domains.grading.services import recompute

    c, _, _ = await _new_customer(ctx)
    async with ctx.db.tenant_transaction(f"t_{ctx.tenant}") as session:
        session.info["actor"] = SYSTEM
        await recompute(session, customer_id=uuid.UUID(c["id"]))
    return Made(params={"customer_id": c["id"]}, values=[c["id"], c["number"], c["name"]],
                url=f"{GRADING}/customers/{c['id']}", bodies={"PUT": {"accountId": await _staff_account(ctx),
                                                                     "reason": "catalogue"}})


def _review_body(ctx: Ctx, customer_id: str) -> dict[str, Any]:
    return {"customerId": customer_id, "abnormality": f"A-only abnormality {ctx.mark}"}


async def _credit_reviews(ctx: Ctx) -> Made:
    c, _, _ = await _new_customer(ctx)
    return Made(params={}, values=[], url=None, bodies={"POST": _review_body(ctx, c["id"])})


def _investigation_body(ctx: Ctx, customer_id: str) -> dict[str, Any]:
    return {"customerId": customer_id, "agency": f"A-only agency {ctx.mark}", "method": "企业征信报告",
            "content": f"A-only investigation content {ctx.mark}"}


async def _credit_investigations(ctx: Ctx) -> Made:
    c, _, _ = await _new_customer(ctx)
    return Made(params={}, values=[], url=None, bodies={"POST": _investigation_body(ctx, c["id"])})


async def _credit_investigation(ctx: Ctx) -> Made:
    c, _, _ = await _new_customer(ctx)
    i, location = await _create(ctx, f"{GRADING}/credit-investigations", _investigation_body(ctx, c["id"]))
    return Made(params={"investigation_id": i["id"]}, values=[i["id"], i["number"], i["agency"], i["content"]],
                url=location, bodies={"POST": {"report": f"A-only report {ctx.mark}",
                                               "countermeasures": f"A-only countermeasures {ctx.mark}"}})


async def _grade_deciders(ctx: Ctx, project_id: str) -> list[dict[str, str]]:
    branch = await _branch_of(ctx, project_id)
    return await deciders(ctx, [("customer_info_supervisor", branch), ("cs_manager", branch)])


async def _credit_review(ctx: Ctx) -> Made:
    c, _, _ = await _new_customer(ctx)
    await _grade_deciders(ctx, c["nodeId"])
    r, location = await _create(ctx, f"{GRADING}/credit-reviews", _review_body(ctx, c["id"]))
    return Made(params={"review_id": r["id"]}, values=[r["id"], r["number"], r["abnormality"]], url=location,
                bodies={"POST": {"conclusion": {"kind": "serious", "findings": f"A-only findings {ctx.mark}",
                                                "grade": "E", "holdsMonths": 6}}})


async def _credit_change(ctx: Ctx) -> Made:
    c, _, _ = await _new_customer(ctx)
    await _credit_deciders(ctx, c["nodeId"])
    change, location = await _create(ctx, f"{GRADING}/customers/{c['id']}/credit-changes", _credit_body(ctx))
    return Made(params={"change_id": change["id"]}, values=[change["id"], change["number"], change["reason"]],
                url=location)


async def _summary_node(ctx: Ctx) -> str:
    """A project with a graded customer, and the grade_summary chain's deciders at the group."""
    from app.core.audit import SYSTEM
    from app.domains.grading.services import recompute

    c, _, _ = await _new_customer(ctx)
    async with ctx.db.tenant_transaction(f"t_{ctx.tenant}") as session:
        session.info["actor"] = SYSTEM
        await recompute(session, customer_id=uuid.UUID(c["id"]))
    root = await _root(ctx)
    await deciders(ctx, [("sales_admin_manager", root), ("sales_gm", root), ("group_gm", root)])
    return str(c["nodeId"])


def _summary_body(ctx: Ctx, node_id: str) -> dict[str, Any]:
    return {"title": f"A-only grade summary {ctx.mark}", "nodeId": node_id}


async def _summaries(ctx: Ctx) -> Made:
    return Made(params={}, values=[], url=None, bodies={"POST": _summary_body(ctx, await _summary_node(ctx))})


async def _summary(ctx: Ctx) -> Made:
    s, location = await _create(ctx, f"{GRADING}/summaries", _summary_body(ctx, await _summary_node(ctx)))
    return Made(params={"summary_id": s["id"]}, values=[s["id"], s["number"], s["title"]], url=location)


FACTORIES: dict[str, Factory] = {
    f"{INTERACTIONS}/visits": _visits,
    f"{INTERACTIONS}/visits/{{visit_id:uuid}}": _visit(lambda ctx: {}),
    f"{INTERACTIONS}/visits/{{visit_id:uuid}}/record": _visit(lambda ctx: {
        "visitedAt": WHEN, "needs": [f"A-only need {ctx.mark}"], "gifts": _items(),
        "nextAppointmentAt": "2026-07-01T10:00:00+08:00"}, state="approved"),
    f"{INTERACTIONS}/visits/{{visit_id:uuid}}/report": _visit(lambda ctx: {
        "report": f"A-only report {ctx.mark}", "expenses": {"transport": "36.50"}}, state="visited"),
    f"{INTERACTIONS}/visits/{{visit_id:uuid}}/apply": _visit(lambda ctx: {"note": "catalogue"}),
    f"{INTERACTIONS}/visits/{{visit_id:uuid}}/reimburse": _visit(lambda ctx: {"note": "catalogue"},
                                                                 state="reported"),
    f"{INTERACTIONS}/visits/{{visit_id:uuid}}/cancel": _visit(lambda ctx: {"reason": "catalogue"}),
    f"{INTERACTIONS}/receptions": _receptions,
    f"{INTERACTIONS}/receptions/{{reception_id:uuid}}": _reception("draft", {}),
    f"{INTERACTIONS}/receptions/{{reception_id:uuid}}/submit": _reception("draft", {"note": "catalogue"}),
    f"{INTERACTIONS}/receptions/{{reception_id:uuid}}/report": _reception("approved", {
        "heldAt": WHEN, "attendeeCount": 12, "summary": "catalogue", "actual": {"meals": "7600.00"}}),
    f"{INTERACTIONS}/receptions/{{reception_id:uuid}}/cancel": _reception("draft", {"reason": "catalogue"}),
    f"{INTERACTIONS}/receptions/{{reception_id:uuid}}/reimburse": _reception("reviewed", {"note": "catalogue"}),
    f"{INTERACTIONS}/gift-plans": _gift_plans,
    f"{INTERACTIONS}/gift-plans/{{plan_id:uuid}}": _gift_plan,
    f"{INTERACTIONS}/gift-applications": _gift_applications,
    f"{INTERACTIONS}/gift-applications/{{application_id:uuid}}": _gift_application(approved=False, post={}),
    f"{INTERACTIONS}/gift-applications/{{application_id:uuid}}/issue": _gift_application(approved=True, post={}),
    f"{INTERACTIONS}/gift-applications/{{application_id:uuid}}/cancel": _gift_application(
        approved=True, post={"reason": "catalogue"}),
    f"{INTERACTIONS}/calls": _calls,
    f"{INTERACTIONS}/calls/{{call_id:uuid}}": _call,
    f"{SURVEYS}/questionnaires": _questionnaires,
    f"{SURVEYS}/questionnaires/{{questionnaire_id:uuid}}": _questionnaire,
    f"{SURVEYS}/plans": _plans,
    f"{SURVEYS}/plans/{{plan_id:uuid}}": _plan,
    f"{SURVEYS}/plans/{{plan_id:uuid}}/close": _plan,
    f"{SURVEYS}/targets/{{target_id:uuid}}": _target,
    f"{SURVEYS}/results": _results,
    f"{SURVEYS}/results/{{result_id:uuid}}": _result,
    f"{GRADING}/rules": _rules,
    f"{GRADING}/recomputations": _recomputations,
    f"{GRADING}/customers/{{customer_id:uuid}}": _grading_customer,
    f"{GRADING}/customers/{{customer_id:uuid}}/history": _grading_customer,
    f"{GRADING}/customers/{{customer_id:uuid}}/credit-changes": _grading_customer,
    f"{GRADING}/customers/{{customer_id:uuid}}/account-manager": _graded_customer,
    f"{GRADING}/credit-changes/{{change_id:uuid}}": _credit_change,
    f"{GRADING}/credit-reviews": _credit_reviews,
    f"{GRADING}/credit-reviews/{{review_id:uuid}}": _credit_review,
    f"{GRADING}/credit-reviews/{{review_id:uuid}}/conclude": _credit_review,
    f"{GRADING}/credit-investigations": _credit_investigations,
    f"{GRADING}/credit-investigations/{{investigation_id:uuid}}": _credit_investigation,
    f"{GRADING}/credit-investigations/{{investigation_id:uuid}}/report": _credit_investigation,
    f"{GRADING}/summaries": _summaries,
    f"{GRADING}/summaries/{{summary_id:uuid}}": _summary,
}


# ------------------------------------------------------------------------ subtree matrix


def _at_node(model: Any, value: Any) -> Callable[[], Select[Any]]:
    def truth() -> Select[Any]:
        from app.domains.org.models import OrgNode

        return select(model.id, OrgNode.path, value, model.version).join(OrgNode, OrgNode.id == model.node_id)

    return truth


def _kinds() -> dict[str, Kind]:
    from app.domains.customers.models import Customer
    from app.domains.grading.models import CreditChange, CreditInvestigation, CreditReview, GradeSummary
    from app.domains.interactions.models import Call, GiftApplication, GiftPlan, Reception, Visit
    from app.domains.org.models import OrgNode
    from app.domains.surveys.models import ReturnVisitPlan, ReturnVisitTarget, SurveyResult

    def targets() -> Select[Any]:
        # A target shows its customer's name: that must not leak.
        return (select(ReturnVisitTarget.id, OrgNode.path, Customer.name, ReturnVisitTarget.version)
                .join(OrgNode, OrgNode.id == ReturnVisitTarget.node_id)
                .join(Customer, Customer.id == ReturnVisitTarget.customer_id))

    return {
        "visit": Kind("interactions.read", _at_node(Visit, Visit.purpose)),
        "reception": Kind("interactions.read", _at_node(Reception, Reception.title)),
        "gift_plan": Kind("interactions.read", _at_node(GiftPlan, GiftPlan.title)),
        "gift_application": Kind("interactions.read", _at_node(GiftApplication, GiftApplication.recipient)),
        "call": Kind("interactions.read", _at_node(Call, Call.subject)),
        "return_visit_plan": Kind("surveys.read", _at_node(ReturnVisitPlan, ReturnVisitPlan.title)),
        "return_visit_target": Kind("surveys.read", targets),
        "survey_result": Kind("surveys.read", _at_node(SurveyResult, SurveyResult.comment)),
        # A customer as the grading routes show them (their grade, credit limit, history).
        "graded_customer": Kind("grading.read", _at_node(Customer, Customer.name)),
        "credit_change": Kind("grading.read", _at_node(CreditChange, CreditChange.reason)),
        "credit_review": Kind("grading.read", _at_node(CreditReview, CreditReview.abnormality)),
        "credit_investigation": Kind("grading.read", _at_node(CreditInvestigation, CreditInvestigation.content)),
        "grade_summary": Kind("grading.read", _at_node(GradeSummary, GradeSummary.title)),
    }


def _details() -> dict[str, str]:
    visit = f"{INTERACTIONS}/visits/{{visit_id:uuid}}"
    reception = f"{INTERACTIONS}/receptions/{{reception_id:uuid}}"
    application = f"{INTERACTIONS}/gift-applications/{{application_id:uuid}}"
    plan = f"{SURVEYS}/plans/{{plan_id:uuid}}"
    customer = f"{GRADING}/customers/{{customer_id:uuid}}"
    return {
        **{f"{visit}{tail}": "visit" for tail in ("", "/record", "/report", "/cancel", "/apply", "/reimburse")},
        **{f"{reception}{tail}": "reception" for tail in ("", "/submit", "/report", "/cancel", "/reimburse")},
        f"{INTERACTIONS}/gift-plans/{{plan_id:uuid}}": "gift_plan",
        **{f"{application}{tail}": "gift_application" for tail in ("", "/issue", "/cancel")},
        f"{INTERACTIONS}/calls/{{call_id:uuid}}": "call",
        **{f"{plan}{tail}": "return_visit_plan" for tail in ("", "/close")},
        f"{SURVEYS}/targets/{{target_id:uuid}}": "return_visit_target",
        f"{SURVEYS}/results/{{result_id:uuid}}": "survey_result",
        **{f"{customer}{tail}": "graded_customer" for tail in ("", "/history", "/credit-changes",
                                                                 "/account-manager")},
        f"{GRADING}/credit-changes/{{change_id:uuid}}": "credit_change",
        **{f"{GRADING}/credit-reviews/{{review_id:uuid}}{tail}": "credit_review" for tail in ("", "/conclude")},
        **{f"{GRADING}/credit-investigations/{{investigation_id:uuid}}{tail}": "credit_investigation"
           for tail in ("", "/report")},
        f"{GRADING}/summaries/{{summary_id:uuid}}": "grade_summary",
    }


def _write_bodies() -> dict[tuple[str, str], Callable[[Any, Any], Any]]:
    visit = f"{INTERACTIONS}/visits/{{visit_id:uuid}}"
    reception = f"{INTERACTIONS}/receptions/{{reception_id:uuid}}"
    application = f"{INTERACTIONS}/gift-applications/{{application_id:uuid}}"
    return {
        (visit, "PATCH"): lambda w, u: {"location": "changed"},
        (f"{visit}/record", "POST"): lambda w, u: {},
        (f"{visit}/report", "POST"): lambda w, u: {"report": "changed"},
        (f"{visit}/cancel", "POST"): lambda w, u: {"reason": "changed"},
        (f"{visit}/apply", "POST"): lambda w, u: {},
        (f"{visit}/reimburse", "POST"): lambda w, u: {},
        (reception, "PATCH"): lambda w, u: {"venue": "changed"},
        (f"{reception}/submit", "POST"): lambda w, u: {},
        (f"{reception}/report", "POST"): lambda w, u: {"heldAt": WHEN, "attendeeCount": 1, "summary": "x",
                                                        "actual": {}},
        (f"{reception}/cancel", "POST"): lambda w, u: {"reason": "changed"},
        (f"{reception}/reimburse", "POST"): lambda w, u: {},
        (f"{INTERACTIONS}/gift-plans/{{plan_id:uuid}}", "PATCH"): lambda w, u: {"title": "changed"},
        (f"{application}/issue", "POST"): lambda w, u: {},
        (f"{application}/cancel", "POST"): lambda w, u: {"reason": "changed"},
        (f"{SURVEYS}/plans/{{plan_id:uuid}}", "PATCH"): lambda w, u: {"title": "changed"},
        (f"{SURVEYS}/plans/{{plan_id:uuid}}/close", "POST"): lambda w, u: {},
        (f"{SURVEYS}/targets/{{target_id:uuid}}", "PATCH"): lambda w, u: {"note": "changed"},
        (f"{GRADING}/customers/{{customer_id:uuid}}/credit-changes", "POST"):
            lambda w, u: {"requestedLimit": "1000.00", "reason": "changed"},
        (f"{GRADING}/customers/{{customer_id:uuid}}/account-manager", "PUT"): lambda w, u: {"accountId": None},
        (f"{GRADING}/credit-reviews/{{review_id:uuid}}/conclude", "POST"):
            lambda w, u: {"conclusion": {"kind": "not_serious", "findings": "changed"}},
        (f"{GRADING}/credit-investigations/{{investigation_id:uuid}}/report", "POST"):
            lambda w, u: {"report": "changed", "countermeasures": "changed"},
    }


def _creates() -> dict[str, tuple[str, Callable[[uuid.UUID], dict[str, Any]], str]]:
    """Creating at a node outside one's subtree is refused (customers named in a body are
    looked up like customers, not nodes: tests/domains/test_interactions.py)."""
    write, plan = "interactions.write", "surveys.write"
    return {
        f"{INTERACTIONS}/receptions": ("project", lambda n: {
            "kind": "reception", "nodeId": str(n), "title": "x", "purpose": "x", "venue": "x", "scheduledAt": WHEN,
            "budget": {}}, write),
        f"{INTERACTIONS}/gift-plans": ("branch", lambda n: {
            "nodeId": str(n), "title": "x", "occasion": "x", "items": _items()}, write),
        f"{INTERACTIONS}/gift-applications": ("project", lambda n: {
            "nodeId": str(n), "recipient": "x", "purpose": "x", "items": _items()}, write),
        f"{INTERACTIONS}/calls": ("project", lambda n: {
            "direction": "outbound", "startedAt": WHEN, "durationSeconds": 1, "subject": "x",
            "outcome": {"kind": "failed", "reason": "busy"}, "nodeId": str(n)}, write),
        f"{SURVEYS}/plans": ("project", lambda n: {
            "nodeId": str(n), "title": "x", "method": "phone", "dueOn": "2030-01-01"}, plan),
        f"{GRADING}/summaries": ("project", lambda n: {"nodeId": str(n), "title": "x"}, "grading.summary"),
    }


async def _populate(seed: WorldSeed) -> None:
    """Per branch a gift plan; per project a visit, a draft reception, a gift application
    under review, a call, a return-visit plan with its target and a result, a credit-limit
    change under review and a credit review, all about the project's owner; then every customer
    graded, and each project's grade summary table prepared for sign-off."""
    from app.core.audit import SYSTEM
    from app.domains.grading.services import recompute

    ctx = Ctx(client=seed.client, db=seed.db, tenant=seed.slug, subject="subtree-admin", auth=seed.admin,
              mark="subtree")
    customers = (await _ok(await ctx.client.get("/api/v1/customers", params={"limit": 200},
                                                headers=ctx.auth)))["items"]
    root = str(seed.nodes["GROUP"]["id"])
    for code in ("SZ", "GZ"):
        branch = str(seed.nodes[code]["id"])
        await deciders(ctx, [("cs_manager", branch), ("cr_supervisor", branch), ("sales_admin_manager", branch),
                             ("customer_info_supervisor", branch), *((role, branch) for role in GIFT_CHAIN)])
        await _create(ctx, f"{INTERACTIONS}/gift-plans", {"nodeId": branch, "title": f"{code}中秋礼品",
                                                          "occasion": "中秋", "items": _items()})
    await deciders(ctx, [("sales_vp", root), ("sales_gm", root), ("group_gm", root), ("sales_admin_manager", root)])
    questionnaire, answers = await standard_answers(ctx)
    for project in seed.projects:
        owner = next(c for c in customers if c["nodeId"] == project["id"])
        name = project["name"]
        await _visit_in(ctx, owner)
        await _create(ctx, f"{INTERACTIONS}/receptions", _reception_body(ctx, project["id"], submit=False,
                                                                         title=f"{name}业主答谢会"))
        await _create(ctx, f"{INTERACTIONS}/gift-applications", {
            "nodeId": project["id"], "customerId": owner["id"], "recipient": f"{name}业主",
            "purpose": "交付礼", "items": _items()})
        await _create(ctx, f"{INTERACTIONS}/calls", {**_call_body(ctx, project["id"]), "subject": f"{name}来电",
                                                     "nodeId": None, "customerId": owner["id"]})
        await _create(ctx, f"{SURVEYS}/plans", {"nodeId": project["id"], "title": f"{name}交付回访",
                                                "method": "phone", "dueOn": "2030-06-30"})
        await _create(ctx, f"{SURVEYS}/results", {"customerId": owner["id"], "questionnaireId": questionnaire,
                                                  "method": "visit", "answers": answers, "comment": f"{name}的意见"})
        await _create(ctx, f"{GRADING}/customers/{owner['id']}/credit-changes", {
            "requestedLimit": "800000.00", "reason": f"{name}业主授信"})
        await _create(ctx, f"{GRADING}/credit-reviews", {"customerId": owner["id"],
                                                         "abnormality": f"{name}业主认购逾期未签约"})
        await _create(ctx, f"{GRADING}/credit-investigations", {"customerId": owner["id"], "agency": "征信机构",
                                                                "method": "征信报告", "content": f"{name}业主资信"})
    async with seed.db.tenant_transaction(f"t_{seed.slug}") as session:
        session.info["actor"] = SYSTEM
        await recompute(session)
    for project in seed.projects:  # the grade summary table of each project, signed off by the group
        await _create(ctx, f"{GRADING}/summaries", {"nodeId": project["id"], "title": f"{project['name']}等级汇总表"})


SUBTREE = SubtreeSpec(
    kinds=_kinds(),
    lists={
        f"{INTERACTIONS}/visits": "visit",
        f"{INTERACTIONS}/receptions": "reception",
        f"{INTERACTIONS}/gift-plans": "gift_plan",
        f"{INTERACTIONS}/gift-applications": "gift_application",
        f"{INTERACTIONS}/calls": "call",
        f"{SURVEYS}/plans": "return_visit_plan",
        f"{SURVEYS}/targets": "return_visit_target",
        f"{SURVEYS}/results": "survey_result",
        f"{GRADING}/credit-changes": "credit_change",
        f"{GRADING}/credit-reviews": "credit_review",
        f"{GRADING}/credit-investigations": "credit_investigation",
        f"{GRADING}/summaries": "grade_summary",
    },
    # Graded customers only: the grade summary table.
    subset_lists={f"{GRADING}/grades": "graded_customer"},
    details=_details(),
    read_urls={
        "visit": f"{INTERACTIONS}/visits/{{}}", "reception": f"{INTERACTIONS}/receptions/{{}}",
        "gift_plan": f"{INTERACTIONS}/gift-plans/{{}}", "gift_application": f"{INTERACTIONS}/gift-applications/{{}}",
        "call": f"{INTERACTIONS}/calls/{{}}", "return_visit_plan": f"{SURVEYS}/plans/{{}}",
        "return_visit_target": f"{SURVEYS}/targets/{{}}", "survey_result": f"{SURVEYS}/results/{{}}",
        "graded_customer": f"{GRADING}/customers/{{}}", "credit_change": f"{GRADING}/credit-changes/{{}}",
        "credit_review": f"{GRADING}/credit-reviews/{{}}",
        "credit_investigation": f"{GRADING}/credit-investigations/{{}}",
        "grade_summary": f"{GRADING}/summaries/{{}}",
    },
    no_node={
        f"{SURVEYS}/questionnaires": "questionnaires are the group's: surveys.read anywhere reads them, "
                                     "surveys.configure at the group node defines them (tests/domains/test_surveys.py)",
        f"{SURVEYS}/questionnaires/{{questionnaire_id:uuid}}":
            "questionnaires are the group's: surveys.read anywhere reads them, surveys.configure at the group node "
            "changes them (tests/domains/test_surveys.py)",
        f"{SURVEYS}/statistics": "aggregates, not records: computed over the results the caller may read "
                                 "(tests/domains/test_surveys.py)",
        f"{GRADING}/rules": "the group's grading rules: grading.read anywhere reads them, grading.configure at the "
                            "group node changes them (tests/domains/test_grading.py)",
        f"{GRADING}/recomputations": "starts a job over a node the caller names, which needs grading.recompute "
                                     "there (tests/domains/test_grading.py)",
    },
    write_bodies=_write_bodies(),
    creates=_creates(),
    populate=_populate,
)
