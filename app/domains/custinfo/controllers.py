"""HTTP for customer information: requests become service calls."""

from __future__ import annotations

import uuid
from typing import Any

from litestar import Controller, Request, Response, get, patch, post
from litestar.di import Provide
from litestar.params import Parameter
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.scopes import requires
from app.core.deps import provide_tenant_session
from app.core.pagination import PageParams, page_params
from app.core.schemas import Page
from app.core.writes import created, updated, with_etag
from app.domains.access.authz import Authorizer, provide_authz
from app.domains.custinfo.models import InfoItemStatus, InfoTopic, ReviewDue, ReviewOutcome, ReviewStatus
from app.domains.custinfo.schemas import (
    DevelopmentClose,
    DevelopmentCreate,
    DevelopmentOut,
    DevelopmentReportIn,
    DevelopmentStatus,
    ItemClassify,
    ItemCreate,
    ItemOut,
    ItemReview,
    ItemSummary,
    NeedCreate,
    NeedOut,
    NeedUpdate,
    ProvisionCreate,
    ProvisionOut,
    ReviewClose,
    ReviewCreate,
    ReviewItemOut,
    ReviewItemWork,
    ReviewOut,
    ScreeningCreate,
    ScreeningOut,
)
from app.domains.custinfo.services import developments, information, reviews

BASE = "/api/v1/customer-information"
DEPENDENCIES = {"session": Provide(provide_tenant_session), "authz": Provide(provide_authz)}
READ, WRITE = "custinfo:read", "custinfo:write"


class ReviewController(Controller):
    path = BASE
    tags = ["Customer information"]
    dependencies = DEPENDENCIES

    @get("/reviews", operation_id="listCustomerReviews", summary="Quarterly reviews of the customer base",
         description="The quarterly reviews at the nodes in the caller's subtree, newest quarter first, each with "
                     "its progress (records listed, pending and worked by outcome).",
         dependencies={"page": page_params(*reviews.REVIEW_SORT)}, **requires(READ))
    async def list_reviews(self, session: AsyncSession, authz: Authorizer, page: PageParams,
                           status: ReviewStatus | None = Parameter(query="status", default=None)) -> Page[ReviewOut]:
        return await reviews.list_reviews(session, authz, page, status=status)

    @post("/reviews", operation_id="openCustomerReview", summary="Open a quarter's review of the customer base",
          description="Needs `custinfo.review` at the node (the group, a branch or a project). Lists every live "
                      "customer there and below whose `validUntil` has passed (`expired`) or falls within the "
                      "quarter (`due`). One review per node and quarter (409); the daily scan opens the group's "
                      "on the quarter's first day.",
          **requires(WRITE, errors=[404, 409]))
    async def open_review(self, request: Request[Any, Any, Any], session: AsyncSession, authz: Authorizer,
                          data: ReviewCreate) -> Response[ReviewOut]:
        return await created(request, session, lambda: reviews.open_review(session, authz, data),
                             lambda r: reviews.review_out(session, r), lambda r: f"{BASE}/reviews/{r.id}")

    @get("/reviews/{review_id:uuid}", operation_id="getCustomerReview", summary="A quarterly review and its progress",
         description="The review with its quarter, status and progress; `ETag` for closing it.",
         **requires(READ, errors=[404]))
    async def get_review(self, session: AsyncSession, authz: Authorizer, review_id: uuid.UUID) -> Response[ReviewOut]:
        review, _ = await reviews.get_review(session, authz, review_id)
        return with_etag(await reviews.review_out(session, review), review.version)

    @get("/review-items", operation_id="listCustomerReviewItems", summary="The customer records reviews listed",
         description="The records listed by quarterly reviews that lie in the caller's subtree (a project's "
                     "specialist works their part of the group's review), by `validUntil`; filter by review, by "
                     "outcome (`pending` for what is left to work) or by `due`.",
         dependencies={"page": page_params(*reviews.ITEM_SORT)}, **requires(READ))
    async def list_items(self, session: AsyncSession, authz: Authorizer, page: PageParams,
                         review_id: uuid.UUID | None = Parameter(query="reviewId", default=None),
                         outcome: ReviewOutcome | None = Parameter(query="outcome", default=None),
                         due: ReviewDue | None = Parameter(query="due", default=None)) -> Page[ReviewItemOut]:
        return await reviews.list_items(session, authz, page, review_id=review_id, outcome=outcome, due=due)

    @post("/reviews/{review_id:uuid}/close", operation_id="closeCustomerReview", status_code=200,
          summary="Close a worked review",
          description="Needs `custinfo.review` at the review's node and If-Match; 409 while a listed record is "
                      "pending or when closed already.",
          **requires(WRITE, errors=[404, 409, 412, 428]))
    async def close_review(self, request: Request[Any, Any, Any], session: AsyncSession, authz: Authorizer,
                           review_id: uuid.UUID, data: ReviewClose) -> Response[ReviewOut]:
        return await updated(request, reviews.get_review(session, authz, review_id, lock=True),
                             lambda r, path: reviews.close_review(session, authz, r, path, data),
                             lambda r: reviews.review_out(session, r))

    @get("/review-items/{item_id:uuid}", operation_id="getCustomerReviewItem", summary="A listed customer record",
         description="One record a review listed, with how it was worked; `ETag` for working it.",
         **requires(READ, errors=[404]))
    async def get_item(self, session: AsyncSession, authz: Authorizer, item_id: uuid.UUID) -> Response[ReviewItemOut]:
        item, _ = await reviews.get_item(session, authz, item_id)
        return with_etag(await reviews.item_out(session, item), item.version)

    @post("/review-items/{item_id:uuid}/work", operation_id="workCustomerReviewItem", status_code=200,
          summary="Work a listed customer record: renew it or retire it",
          description="Needs `custinfo.review` at the customer's node and If-Match. `confirmed` or `updated` (the "
                      "record corrected first through `PATCH /customers/{id}`) sets the customer's `validUntil` to "
                      "the given day, after the quarter's end; `retired` makes the customer inactive. 409 once "
                      "worked or when the review is closed.",
          **requires(WRITE, errors=[404, 409, 412, 428]))
    async def work_item(self, request: Request[Any, Any, Any], session: AsyncSession, authz: Authorizer,
                        item_id: uuid.UUID, data: ReviewItemWork) -> Response[ReviewItemOut]:
        return await updated(request, reviews.get_item(session, authz, item_id, lock=True),
                             lambda i, path: reviews.work_item(session, authz, i, path, data),
                             lambda i: reviews.item_out(session, i))


class DevelopmentController(Controller):
    path = BASE
    tags = ["Customer information"]
    dependencies = DEPENDENCIES

    @get("/screenings", operation_id="listProspectScreenings", summary="Prospect screenings",
         description="The screenings of prospects in the caller's subtree, newest first, each with its shortlist.",
         dependencies={"page": page_params(*developments.SCREENING_SORT)}, **requires(READ))
    async def list_screenings(self, session: AsyncSession, authz: Authorizer,
                              page: PageParams) -> Page[ScreeningOut]:
        return await developments.list_screenings(session, authz, page)

    @post("/screenings", operation_id="screenProspects", summary="Screen prospects against the new-customer scope",
          description="Needs `custinfo.develop` at the project or branch. Each prospect (a customer without units) "
                      "is qualified or not, with the reason; a qualified one may then be applied for.",
          **requires(WRITE, errors=[404, 409]))
    async def screen(self, request: Request[Any, Any, Any], session: AsyncSession, authz: Authorizer,
                     data: ScreeningCreate) -> Response[ScreeningOut]:
        return await created(request, session, lambda: developments.create_screening(session, authz, data),
                             lambda s: developments.screening_out(session, s), lambda s: f"{BASE}/screenings/{s.id}")

    @get("/screenings/{screening_id:uuid}", operation_id="getProspectScreening", summary="A prospect screening",
         description="The screening with its shortlist: each prospect, qualified or not, and why.",
         **requires(READ, errors=[404]))
    async def get_screening(self, session: AsyncSession, authz: Authorizer,
                            screening_id: uuid.UUID) -> Response[ScreeningOut]:
        screening, _ = await developments.get_screening(session, authz, screening_id)
        return with_etag(await developments.screening_out(session, screening), screening.version)

    @get("/developments", operation_id="listCustomerDevelopments", summary="Customer development applications",
         description="Development applications in the caller's subtree with the status of their approval "
                     "(`pending`, `approved`, `rejected`, `withdrawn`) or `closed`; filter by status or customer.",
         dependencies={"page": page_params(*developments.DEVELOPMENT_SORT)}, **requires(READ))
    async def list_developments(self, session: AsyncSession, authz: Authorizer, page: PageParams,
                                status: DevelopmentStatus | None = Parameter(query="status", default=None),
                                customer_id: uuid.UUID | None = Parameter(query="customerId", default=None),
                                ) -> Page[DevelopmentOut]:
        return await developments.list_developments(session, authz, page, status=status, customer_id=customer_id)

    @post("/developments", operation_id="applyForCustomerDevelopment",
          summary="Apply for the development of a qualified prospect",
          description="Needs `custinfo.develop` at the screening's node; the prospect must be qualified in it (409) "
                      "and not under development already. The application goes to the `customer_development` "
                      "approval chain at once (409 when a step has nobody to decide it).",
          **requires(WRITE, errors=[404, 409]))
    async def apply(self, request: Request[Any, Any, Any], session: AsyncSession, authz: Authorizer,
                    data: DevelopmentCreate) -> Response[DevelopmentOut]:
        return await created(request, session, lambda: developments.create_development(session, authz, data),
                             lambda d: developments.development_out(session, d),
                             lambda d: f"{BASE}/developments/{d.id}")

    @get("/developments/{development_id:uuid}", operation_id="getCustomerDevelopment",
         summary="A development application with its reports",
         description="The application, its approval status, its periodic reports and whether the next is overdue.",
         **requires(READ, errors=[404]))
    async def get_development(self, session: AsyncSession, authz: Authorizer,
                              development_id: uuid.UUID) -> Response[DevelopmentOut]:
        d, _ = await developments.get_development(session, authz, development_id)
        return with_etag(await developments.development_out(session, d), d.version)

    @post("/developments/{development_id:uuid}/reports", operation_id="reportCustomerDevelopment", status_code=200,
          summary="Report on an approved development (定期汇报)",
          description="Needs `custinfo.develop` and If-Match; only while approved and open (409). The next report "
                      "is due `reportEveryDays` later.",
          **requires(WRITE, errors=[404, 409, 412, 428]))
    async def report(self, request: Request[Any, Any, Any], session: AsyncSession, authz: Authorizer,
                     development_id: uuid.UUID, data: DevelopmentReportIn) -> Response[DevelopmentOut]:
        return await updated(request, developments.get_development(session, authz, development_id, lock=True),
                             lambda d, path: developments.report_development(session, authz, d, path, data),
                             lambda d: developments.development_out(session, d))

    @post("/developments/{development_id:uuid}/close", operation_id="closeCustomerDevelopment", status_code=200,
          summary="Close a development, won or dropped",
          description="Needs `custinfo.develop` and If-Match; a decided application only (409 while pending).",
          **requires(WRITE, errors=[404, 409, 412, 428]))
    async def close(self, request: Request[Any, Any, Any], session: AsyncSession, authz: Authorizer,
                    development_id: uuid.UUID, data: DevelopmentClose) -> Response[DevelopmentOut]:
        return await updated(request, developments.get_development(session, authz, development_id, lock=True),
                             lambda d, path: developments.close_development(session, authz, d, path, data),
                             lambda d: developments.development_out(session, d))


class InformationController(Controller):
    path = BASE
    tags = ["Customer information"]
    dependencies = DEPENDENCIES

    @get("/needs", operation_id="listInformationNeeds", summary="Departments' needs for customer information",
         description="The needs stated at the nodes in the caller's subtree, each with how often information was "
                     "provided for it; filter by topic or whether it is still active.",
         dependencies={"page": page_params(*information.NEED_SORT)}, **requires(READ))
    async def list_needs(self, session: AsyncSession, authz: Authorizer, page: PageParams,
                         topic: InfoTopic | None = Parameter(query="topic", default=None),
                         active: bool | None = Parameter(query="active", default=None)) -> Page[NeedOut]:
        return await information.list_needs(session, authz, page, topic=topic, active=active)

    @post("/needs", operation_id="stateInformationNeed", summary="State a department's need for customer information",
          description="Needs `custinfo.need` at the department's node (the group, a branch or a project).",
          **requires(WRITE, errors=[404]))
    async def state_need(self, request: Request[Any, Any, Any], session: AsyncSession, authz: Authorizer,
                         data: NeedCreate) -> Response[NeedOut]:
        return await created(request, session, lambda: information.create_need(session, authz, data),
                             lambda n: information.need_out(session, n), lambda n: f"{BASE}/needs/{n.id}")

    @get("/needs/{need_id:uuid}", operation_id="getInformationNeed", summary="A department's information need",
         description="The need with its topic, department and the count of provisions made for it.",
         **requires(READ, errors=[404]))
    async def get_need(self, session: AsyncSession, authz: Authorizer, need_id: uuid.UUID) -> Response[NeedOut]:
        need, _ = await information.get_need(session, authz, need_id)
        return with_etag(await information.need_out(session, need), need.version)

    @patch("/needs/{need_id:uuid}", operation_id="updateInformationNeed", summary="Change or withdraw a need",
           description="Needs `custinfo.need` at its node and If-Match; `active: false` withdraws it.",
           **requires(WRITE, errors=[404, 412, 428]))
    async def update_need(self, request: Request[Any, Any, Any], session: AsyncSession, authz: Authorizer,
                          need_id: uuid.UUID, data: NeedUpdate) -> Response[NeedOut]:
        return await updated(request, information.get_need(session, authz, need_id, lock=True),
                             lambda n, path: information.update_need(session, authz, n, path, data),
                             lambda n: information.need_out(session, n))

    @get("/needs/{need_id:uuid}/provisions", operation_id="listInformationProvisions",
         summary="What customer affairs provided for a need",
         description="Every provision made for the need, newest first, with the items provided: what the "
                     "department that asked reads.",
         dependencies={"page": page_params(*information.PROVISION_SORT)}, **requires(READ, errors=[404]))
    async def list_provisions(self, session: AsyncSession, authz: Authorizer, page: PageParams,
                              need_id: uuid.UUID) -> Page[ProvisionOut]:
        need, _ = await information.get_need(session, authz, need_id)
        return await information.list_provisions(session, authz, need, page)

    @post("/needs/{need_id:uuid}/provisions", operation_id="provideInformation",
          summary="Provide classified information to the department that asked",
          description="Needs `custinfo.affairs` at the need's node. Only classified items of the need's topic "
                      "(409 naming each other item); 409 for a withdrawn need.",
          **requires(WRITE, errors=[404, 409]))
    async def provide(self, request: Request[Any, Any, Any], session: AsyncSession, authz: Authorizer,
                      need_id: uuid.UUID, data: ProvisionCreate) -> Response[ProvisionOut]:
        async def make() -> Any:
            need, path = await information.get_need(session, authz, need_id, lock=True)
            return await information.provide(session, authz, need, path, data)

        return await created(request, session, make, lambda p: information.provision_out(session, p),
                             lambda p: f"{BASE}/provisions/{p.id}")

    @get("/provisions/{provision_id:uuid}", operation_id="getInformationProvision",
         summary="Information provided to a department",
         description="One provision with the items provided, read by whoever reads the need it answered.",
         **requires(READ, errors=[404]))
    async def get_provision(self, session: AsyncSession, authz: Authorizer,
                            provision_id: uuid.UUID) -> Response[ProvisionOut]:
        provision, _ = await information.get_provision(session, authz, provision_id)
        return with_etag(await information.provision_out(session, provision), provision.version)

    @get("/items", operation_id="listInformationItems", summary="Customer information collected",
         description="The items collected at the nodes in the caller's subtree, newest first; filter by status "
                     "(`collected` is customer affairs' review queue), topic or customer.",
         dependencies={"page": page_params(*information.ITEM_SORT)}, **requires(READ))
    async def list_items(self, session: AsyncSession, authz: Authorizer, page: PageParams,
                         status: InfoItemStatus | None = Parameter(query="status", default=None),
                         topic: InfoTopic | None = Parameter(query="topic", default=None),
                         customer_id: uuid.UUID | None = Parameter(query="customerId", default=None),
                         ) -> Page[ItemOut]:
        return await information.list_items(session, authz, page, status=status, topic=topic,
                                             customer_id=customer_id)

    @post("/items", operation_id="collectInformation",
          summary="Send collected customer information to customer affairs",
          description="Needs `custinfo.collect` at the node; a customer named must be in reach. The item waits for "
                      "customer affairs' review.",
          **requires(WRITE, errors=[404, 409]))
    async def collect(self, request: Request[Any, Any, Any], session: AsyncSession, authz: Authorizer,
                      data: ItemCreate) -> Response[ItemOut]:
        async def show(i: Any) -> ItemOut:
            return information.item_out(i)

        return await created(request, session, lambda: information.collect_item(session, authz, data), show,
                             lambda i: f"{BASE}/items/{i.id}")

    @get("/items/summary", operation_id="summariseInformationItems",
         summary="Collected information by topic and status",
         description="The aggregate customer affairs reviews: per topic, the items collected, accepted, rejected "
                     "and classified in the caller's subtree.",
         **requires(READ))
    async def summary(self, session: AsyncSession, authz: Authorizer) -> ItemSummary:
        return await information.summary(session, authz)

    @get("/items/{item_id:uuid}", operation_id="getInformationItem", summary="A collected item",
         description="One item with its review and classification; `ETag` for reviewing or classifying it.",
         **requires(READ, errors=[404]))
    async def get_item(self, session: AsyncSession, authz: Authorizer, item_id: uuid.UUID) -> Response[ItemOut]:
        item, _ = await information.get_item(session, authz, item_id)
        return with_etag(information.item_out(item), item.version)

    @post("/items/{item_id:uuid}/review", operation_id="reviewInformationItem", status_code=200,
          summary="Review a collected item at customer affairs",
          description="Needs `custinfo.affairs` and If-Match: accepted (it meets the requirements) or rejected, "
                      "with a note; 409 once reviewed.",
          **requires(WRITE, errors=[404, 409, 412, 428]))
    async def review(self, request: Request[Any, Any, Any], session: AsyncSession, authz: Authorizer,
                     item_id: uuid.UUID, data: ItemReview) -> Response[ItemOut]:
        async def show(i: Any) -> ItemOut:
            return information.item_out(i)

        return await updated(request, information.get_item(session, authz, item_id, lock=True),
                             lambda i, path: information.review_item(session, authz, i, path, data), show)

    @post("/items/{item_id:uuid}/classify", operation_id="classifyInformationItem", status_code=200,
          summary="Classify an accepted item into the information base",
          description="Needs `custinfo.affairs` and If-Match: its topic and tags; an accepted or classified item "
                      "only (409).",
          **requires(WRITE, errors=[404, 409, 412, 428]))
    async def classify(self, request: Request[Any, Any, Any], session: AsyncSession, authz: Authorizer,
                       item_id: uuid.UUID, data: ItemClassify) -> Response[ItemOut]:
        async def show(i: Any) -> ItemOut:
            return information.item_out(i)

        return await updated(request, information.get_item(session, authz, item_id, lock=True),
                             lambda i, path: information.classify_item(session, authz, i, path, data), show)


CONTROLLERS: list[type[Controller]] = [ReviewController, DevelopmentController, InformationController]
