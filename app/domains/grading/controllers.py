"""HTTP for the grading domain: translate requests to service calls, nothing more."""

from __future__ import annotations

import uuid
from typing import Any

from litestar import Controller, Request, Response, get, post, put
from litestar.di import Provide
from litestar.params import Parameter
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.scopes import requires
from app.core.deps import provide_tenant_session
from app.core.etag import check_if_match, etag
from app.core.idempotency import idempotent
from app.core.jobs import JobOut, accepted, create_job
from app.core.pagination import PageParams, page_params
from app.core.schemas import Page
from app.core.writes import created, updated
from app.domains.access.authz import Authorizer, provide_authz
from app.domains.access.records import node_for
from app.domains.approvals.models import RequestStatus
from app.domains.grading import services, tasks
from app.domains.grading.models import Grade, Tier
from app.domains.grading.schemas import (
    AccountManagerIn,
    Conclusion,
    CreditChangeIn,
    CreditChangeOut,
    CreditReviewIn,
    CreditReviewOut,
    CustomerGrading,
    GradeChangeOut,
    GradeRow,
    GradeSummaryIn,
    GradeSummaryOut,
    InvestigationIn,
    InvestigationOut,
    InvestigationReport,
    Recompute,
    ReviewStatus,
    Rules,
    RulesOut,
    Standing,
)
from app.domains.grading.services import investigations, summaries
from app.domains.org.services import get_root
from app.worker import enqueue_after_commit

BASE = "/api/v1/grading"
DEPENDENCIES = {"session": Provide(provide_tenant_session), "authz": Provide(provide_authz)}
NODE_FILTER = "Records at this org node or below it."


class RulesController(Controller):
    path = f"{BASE}/rules"
    tags = ["Grading and credit"]
    dependencies = DEPENDENCIES

    @get("/", operation_id="getGradingRules", summary="The group's grading rules (method, weights, grade bands)",
         description="ETag `\"0\"` while the product's default rules apply.", **requires("grading:read"))
    async def get_rules(self, session: AsyncSession, authz: Authorizer) -> Response[RulesOut]:
        rules = await services.get_rules(session, authz)
        return Response(rules, headers={"ETag": etag(rules.version)})

    @put("/", operation_id="putGradingRules", summary="Set the group's grading rules",
         description="Needs `grading.configure` at the group node; If-Match `\"0\"` while the defaults apply. "
                     "Cut points are kept ascending; the bands must fall from A to E (422). Grades follow at the "
                     "next computation (the daily one, or "
                     "`POST /api/v1/grading/recomputations`).",
         **requires("grading:write", errors=[412, 428]))
    async def put_rules(self, request: Request[Any, Any, Any], session: AsyncSession, authz: Authorizer,
                        data: Rules) -> Response[RulesOut]:
        current = await services.get_rules(session, authz, lock=True)
        check_if_match(request, current.version)
        rules = await services.put_rules(session, authz, data)
        return Response(rules, headers={"ETag": etag(rules.version)})


class RecomputationController(Controller):
    path = f"{BASE}/recomputations"
    tags = ["Grading and credit"]
    dependencies = DEPENDENCIES

    @post("/", operation_id="recomputeGrades", status_code=202,
          summary="Recompute grades now (a background job with progress)",
          description="The customers at `nodeId` or below, the whole group when absent; needs `grading.recompute` "
                      "there. Follow `Location` to the job; its result holds the customers graded, how many "
                      "changed grade, and the count per grade.",
          **requires("grading:write", errors=[404]))
    async def recompute(self, request: Request[Any, Any, Any], session: AsyncSession, authz: Authorizer,
                        data: Recompute) -> Response[JobOut]:
        async def produce() -> Response[JobOut]:
            if data.node_id is not None:
                await node_for(session, authz, data.node_id, services.RECOMPUTE)
            else:
                authz.require(services.RECOMPUTE, (await get_root(session)).path)
            job = await create_job(session, services.KIND)
            enqueue_after_commit(session, tasks.recompute_grades, tenant=request.user.tenant, job_id=str(job.id),
                                 node_id=str(data.node_id) if data.node_id else None)
            return accepted(job)

        return await idempotent(request, session, produce)


class GradeController(Controller):
    path = BASE
    tags = ["Grading and credit"]
    dependencies = DEPENDENCIES

    @get("/grades", operation_id="listGrades",
         summary="The grade summary table: customer, account manager, score, coefficient, monthly sales, credit "
                 "fulfilment rate, grade, credit limit, value tier",
         description="The customers the caller may read that were graded. `suggestedLimit` is the monthly sales "
                     "times the grade's coefficient; `creditLimit` the approved one.",
         dependencies={"page": page_params(*services.GRADE_SORT)}, **requires("grading:read"))
    async def list_grades(
        self, session: AsyncSession, authz: Authorizer, page: PageParams,
        grade: Grade | None = Parameter(query="grade", default=None),
        standing: Standing | None = Parameter(
            query="standing", default=None,
            description="unrated: customers whose score is below grade E's lowest (outside the scale)."),
        tier: Tier | None = Parameter(query="tier", default=None),
        node_id: uuid.UUID | None = Parameter(query="nodeId", default=None, description=NODE_FILTER),
        account_manager_id: uuid.UUID | None = Parameter(query="accountManagerId", default=None),
        has_account_manager: bool | None = Parameter(
            query="hasAccountManager", default=None,
            description="false: customers nobody looks after (with `tier=high`: those still owed a dedicated "
                        "account manager)."),
    ) -> Page[GradeRow]:
        return await services.list_grades(session, authz, page, grade=grade, standing=standing, tier=tier,
                                          node_id=node_id,
                                          account_manager_id=str(account_manager_id) if account_manager_id else None,
                                          has_account_manager=has_account_manager)

    @get("/customers/{customer_id:uuid}", operation_id="getCustomerGrading",
         summary="A customer's grade and tier, account manager, credit limit and pending credit-limit application",
         description="The ETag is the grade's version (`\"0\"` before the first grading).",
         **requires("grading:read", errors=[404]))
    async def get_customer(self, session: AsyncSession, authz: Authorizer,
                           customer_id: uuid.UUID) -> Response[CustomerGrading]:
        customer, _ = await services.get_customer(session, authz, customer_id)
        grading, version = await services.customer_grading(session, customer)
        return Response(grading, headers={"ETag": etag(version)})

    @put("/customers/{customer_id:uuid}/account-manager", operation_id="setAccountManager",
         summary="Assign the staff account that looks after a graded customer (null: nobody)",
         description="Needs `grading.assign` at the customer; If-Match is the grade's ETag. 404 naming `accountId` "
                     "for no active staff account; 409 for a customer not graded yet or merged away.",
         **requires("grading:write", errors=[404, 409, 412, 428]))
    async def set_account_manager(self, request: Request[Any, Any, Any], session: AsyncSession, authz: Authorizer,
                                  customer_id: uuid.UUID, data: AccountManagerIn) -> Response[CustomerGrading]:
        customer, path = await services.get_customer(session, authz, customer_id)
        grade = await services.graded(session, customer, lock=True)
        check_if_match(request, grade.version)
        await services.set_account_manager(session, authz, customer, path, grade, data)
        grading, version = await services.customer_grading(session, customer)
        return Response(grading, headers={"ETag": etag(version)})

    @get("/customers/{customer_id:uuid}/history", operation_id="listGradeHistory",
         summary="A customer's grade history: every change, newest first",
         dependencies={"page": page_params(*services.HISTORY_SORT)},
         description="Every grade the customer was given, newest first: the grade and score with the previous ones, "
                     "the rules version computed under, and what produced it (a computation job, or the credit review "
                     "whose approved grade change it is). Needs `grading.read` at the customer's node (404 "
                     "otherwise).",
         **requires("grading:read", errors=[404]))
    async def history(self, session: AsyncSession, authz: Authorizer, page: PageParams,
                      customer_id: uuid.UUID) -> Page[GradeChangeOut]:
        customer, _ = await services.get_customer(session, authz, customer_id)
        return await services.grade_history(session, customer, page)

    @post("/customers/{customer_id:uuid}/credit-changes", operation_id="applyForCreditChange",
          summary="Apply for a new credit limit (applied once the approval chain approves)",
          description="Needs `grading.credit` at the customer. Goes to the `credit_limit_change` chain at once; 409 "
                      "while another application of the customer is under review, for the current limit, or when a "
                      "step of the chain has nobody to decide it.",
          **requires("grading:write", errors=[404, 409]))
    async def apply(self, request: Request[Any, Any, Any], session: AsyncSession, authz: Authorizer,
                    customer_id: uuid.UUID, data: CreditChangeIn) -> Response[CreditChangeOut]:
        return await created(request, session, lambda: services.apply_for_credit(session, authz, customer_id, data),
                             lambda change: services.credit_change_out(session, change),
                             lambda change: f"{BASE}/credit-changes/{change.id}")

    @get("/credit-changes", operation_id="listCreditChanges", summary="List credit-limit change applications",
         dependencies={"page": page_params(*services.CREDIT_SORT)},
         description="Credit-limit change applications at or under the nodes where the caller's roles hold "
                     "`grading.read`, a page at a time and newest first: filter by status (that of their approval "
                     "request), customer, or a node's subtree. Needs grading:read.",
         **requires("grading:read"))
    async def list_credit_changes(
        self, session: AsyncSession, authz: Authorizer, page: PageParams,
        status: RequestStatus | None = Parameter(query="status", default=None),
        customer_id: uuid.UUID | None = Parameter(query="customerId", default=None),
        node_id: uuid.UUID | None = Parameter(query="nodeId", default=None, description=NODE_FILTER),
    ) -> Page[CreditChangeOut]:
        return await services.list_credit_changes(session, authz, page, status=status, customer_id=customer_id,
                                                  node_id=node_id)

    @get("/credit-changes/{change_id:uuid}", operation_id="getCreditChange",
         summary="A credit-limit change application",
         description="One credit-limit change application: the limit and payment period asked for against the "
                     "previous ones, the reason, its approval request and status, and once approved when it was "
                     "applied and how the customer was told. The approvers decide it under `/api/v1/approvals`. Needs "
                     "`grading.read` at the customer's node (404 otherwise).",
         **requires("grading:read", errors=[404]))
    async def get_credit_change(self, session: AsyncSession, authz: Authorizer,
                                change_id: uuid.UUID) -> Response[CreditChangeOut]:
        change, _ = await services.get_credit_change(session, authz, change_id)
        return Response(await services.credit_change_out(session, change), headers={"ETag": etag(change.version)})


class CreditReviewController(Controller):
    path = f"{BASE}/credit-reviews"
    tags = ["Grading and credit"]
    dependencies = DEPENDENCIES

    async def _out(self, session: AsyncSession, review: Any) -> Response[CreditReviewOut]:
        return Response(await services.review_out(session, review), headers={"ETag": etag(review.version)})

    @get("/", operation_id="listCreditReviews", summary="List credit reviews (abnormalities and grade changes)",
         dependencies={"page": page_params(*services.REVIEW_SORT)},
         description="Credit reviews at or under the nodes where the caller's roles hold `grading.read`, a page at a "
                     "time and newest first: filter by status (investigating, dismissed, or while a lower grade is "
                     "submitted its approval request's pending, approved, rejected or withdrawn), customer, or a "
                     "node's subtree. Needs grading:read.",
         **requires("grading:read"))
    async def list_reviews(
        self, session: AsyncSession, authz: Authorizer, page: PageParams,
        status: ReviewStatus | None = Parameter(query="status", default=None),
        customer_id: uuid.UUID | None = Parameter(query="customerId", default=None),
        node_id: uuid.UUID | None = Parameter(query="nodeId", default=None, description=NODE_FILTER),
    ) -> Page[CreditReviewOut]:
        return await services.list_reviews(session, authz, page, status=status, customer_id=customer_id,
                                           node_id=node_id)

    @post("/", operation_id="openCreditReview", summary="Record an abnormality in a customer's credit, to investigate",
          description="Needs `grading.review` at the customer. 404 naming `customerId` when the customer is not "
                      "there for the caller; 409 for a merged-away customer.",
          **requires("grading:write", errors=[404, 409]))
    async def open_review(self, request: Request[Any, Any, Any], session: AsyncSession, authz: Authorizer,
                          data: CreditReviewIn) -> Response[CreditReviewOut]:
        return await created(request, session, lambda: services.open_review(session, authz, data),
                             lambda review: services.review_out(session, review),
                             lambda review: f"{BASE}/credit-reviews/{review.id}")

    @get("/{review_id:uuid}", operation_id="getCreditReview", summary="A credit review",
         description="One credit review: the abnormality found, the findings and whether they were serious, the lower "
                     "grade proposed and how long it holds, its approval request, and once applied how the customer "
                     "was told. The ETag is what If-Match needs to conclude it. Needs `grading.read` at the "
                     "customer's node (404 otherwise).",
         **requires("grading:read", errors=[404]))
    async def get_review(self, session: AsyncSession, authz: Authorizer,
                         review_id: uuid.UUID) -> Response[CreditReviewOut]:
        review, _ = await services.get_review(session, authz, review_id)
        return await self._out(session, review)

    @post("/{review_id:uuid}/conclude", operation_id="concludeCreditReview", status_code=200,
          summary="Conclude the investigation: not serious (closed), or serious with a lower grade to approve",
          description="A serious conclusion goes to the `credit_grade_change` chain; on approval the grade applies "
                      "at once, holds for `holdsMonths`, is in the grade history, and the customer is told. 409 for a "
                      "grade not below the customer's, a review concluded already (one rejected or withdrawn may "
                      "be concluded again), or a chain step nobody can decide.",
          **requires("grading:write", errors=[404, 409, 412, 428]))
    async def conclude(self, request: Request[Any, Any, Any], session: AsyncSession, authz: Authorizer,
                       review_id: uuid.UUID, data: Conclusion) -> Response[CreditReviewOut]:
        return await updated(request, services.get_review(session, authz, review_id, lock=True),
                             lambda review, path: services.conclude_review(session, authz, review, path, data),
                             lambda review: services.review_out(session, review))


class CreditInvestigationController(Controller):
    """Credit investigations by an agency (seed 000 §16)."""

    path = f"{BASE}/credit-investigations"
    tags = ["Grading and credit"]
    dependencies = DEPENDENCIES

    @get("/", operation_id="listCreditInvestigations", summary="List credit investigations by agencies",
         dependencies={"page": page_params(*investigations.INVESTIGATION_SORT)},
         description="Credit investigations asked of agencies about customers at or under the nodes where the "
                     "caller's roles hold `grading.read`, a page at a time and newest first; filter by customer. "
                     "Needs grading:read.",
         **requires("grading:read"))
    async def list_investigations(
        self, session: AsyncSession, authz: Authorizer, page: PageParams,
        customer_id: uuid.UUID | None = Parameter(query="customerId", default=None),
    ) -> Page[InvestigationOut]:
        return await investigations.list_investigations(session, authz, page, customer_id=customer_id)

    @post("/", operation_id="requestCreditInvestigation",
          summary="Ask an agency to investigate a customer's credit: the method and the content",
          description="Needs `grading.review` at the customer. 404 naming `customerId` when the customer is not "
                      "there for the caller.", **requires("grading:write", errors=[404]))
    async def request_investigation(self, request: Request[Any, Any, Any], session: AsyncSession,
                                    authz: Authorizer, data: InvestigationIn) -> Response[InvestigationOut]:
        async def show(row: Any) -> InvestigationOut:
            return investigations.investigation_out(row)

        return await created(request, session, lambda: investigations.request_investigation(session, authz, data),
                             show, lambda row: f"{BASE}/credit-investigations/{row.id}")

    @get("/{investigation_id:uuid}", operation_id="getCreditInvestigation", summary="A credit investigation",
         description="One credit investigation: the agency, the method and content asked for, and once reported the "
                     "agency's report and the countermeasures decided on it. The ETag is what If-Match needs to "
                     "record the report. Needs `grading.read` at the customer's node (404 otherwise).",
         **requires("grading:read", errors=[404]))
    async def get_investigation(self, session: AsyncSession, authz: Authorizer,
                                investigation_id: uuid.UUID) -> Response[InvestigationOut]:
        row, _ = await investigations.get_investigation(session, authz, investigation_id)
        return Response(investigations.investigation_out(row), headers={"ETag": etag(row.version)})

    @post("/{investigation_id:uuid}/report", operation_id="reportCreditInvestigation", status_code=200,
          summary="Record the agency's report and the countermeasures decided on it",
          description="Once: 409 when reported already.", **requires("grading:write", errors=[404, 409, 412, 428]))
    async def report(self, request: Request[Any, Any, Any], session: AsyncSession, authz: Authorizer,
                     investigation_id: uuid.UUID, data: InvestigationReport) -> Response[InvestigationOut]:
        async def show(row: Any) -> InvestigationOut:
            return investigations.investigation_out(row)

        return await updated(request, investigations.get_investigation(session, authz, investigation_id, lock=True),
                             lambda row, path: investigations.record_report(session, authz, row, path, data), show)


class GradeSummaryController(Controller):
    """The grade summary table signed off (seed 002: prepared, checked, reviewed, approved)."""

    path = f"{BASE}/summaries"
    tags = ["Grading and credit"]
    dependencies = DEPENDENCIES

    @get("/", operation_id="listGradeSummaries", summary="List grade summary tables prepared for sign-off",
         dependencies={"page": page_params(*summaries.SUMMARY_SORT)},
         description="Grade summary tables prepared for sign-off at or under the nodes where the caller's roles hold "
                     "`grading.read`, a page at a time and newest first: filter by status (that of their "
                     "`grade_summary` approval request) or a node's subtree. Needs grading:read.",
         **requires("grading:read"))
    async def list_summaries(
        self, session: AsyncSession, authz: Authorizer, page: PageParams,
        status: RequestStatus | None = Parameter(query="status", default=None),
        node_id: uuid.UUID | None = Parameter(query="nodeId", default=None, description=NODE_FILTER),
    ) -> Page[GradeSummaryOut]:
        return await summaries.list_summaries(session, authz, page, status=status, node_id=node_id)

    @post("/", operation_id="prepareGradeSummary",
          summary="Prepare (编制) the grade summary table for sign-off: checked, reviewed, approved by its chain",
          description="Needs `grading.summary` at `nodeId` (the group when absent). The table's lines are the graded "
                      "customers there as they stand; they go to the `grade_summary` chain at once. 409 when no "
                      "customer there is graded, or a step of the chain has nobody to decide it.",
          **requires("grading:write", errors=[404, 409]))
    async def prepare(self, request: Request[Any, Any, Any], session: AsyncSession, authz: Authorizer,
                      data: GradeSummaryIn) -> Response[GradeSummaryOut]:
        return await created(request, session, lambda: summaries.prepare_summary(session, authz, data),
                             lambda row: summaries.summary_out(session, row),
                             lambda row: f"{BASE}/summaries/{row.id}")

    @get("/{summary_id:uuid}", operation_id="getGradeSummary", summary="A grade summary table and its sign-off",
         description="One grade summary table as prepared: its lines (customer number, account manager, score, "
                     "coefficient, monthly sales, fulfilment rate, grade, credit limit), the customers per grade, and "
                     "its sign-off (the approval request's status and when the last step signed). Needs "
                     "`grading.read` at the table's node (404 otherwise).",
         **requires("grading:read", errors=[404]))
    async def get_summary(self, session: AsyncSession, authz: Authorizer,
                          summary_id: uuid.UUID) -> Response[GradeSummaryOut]:
        row, _ = await summaries.get_summary(session, authz, summary_id)
        return Response(await summaries.summary_out(session, row), headers={"ETag": etag(row.version)})


CONTROLLERS: list[type[Controller]] = [RulesController, RecomputationController, GradeController,
                                       CreditReviewController, CreditInvestigationController, GradeSummaryController]
