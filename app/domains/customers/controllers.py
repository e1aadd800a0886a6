"""HTTP for customers: translate requests to service calls, nothing more.

Every route reads the caller's grants (``authz``); the services decide what the caller may
see and change (app/domains/customers/services/).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any, Literal

from litestar import Controller, Request, Response, get, patch, post, put
from litestar.di import Provide
from litestar.openapi.spec import OpenAPIMediaType, OpenAPIType, Operation, RequestBody, Schema
from litestar.params import Parameter
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.scopes import requires
from app.core import tenant_settings
from app.core.deps import provide_tenant_session
from app.core.etag import check_if_match, etag
from app.core.idempotency import idempotent
from app.core.jobs import JobOut, accepted
from app.core.pagination import PageParams, page_params
from app.core.schemas import Page
from app.core.writes import created, updated, with_etag
from app.domains.access.authz import Authorizer, provide_authz
from app.domains.approvals.schemas import RequestOut
from app.domains.customers import imports, services, tasks
from app.domains.customers.models import CustomerConsent, CustomerKind, CustomerStatus
from app.domains.customers.schemas import (
    BehaviourIn,
    ChangeRequestIn,
    ConsentIn,
    ConsentOut,
    ConsentWithdrawal,
    CustomerCreate,
    CustomerOut,
    CustomerSettings,
    CustomerSettingsIn,
    CustomerSummary,
    CustomerUpdate,
    MergeIn,
    OwnContactResult,
    OwnContactUpdate,
    OwnCustomerOut,
    OwnershipIn,
    OwnershipOut,
    Revealed,
    RevealIn,
    SearchIn,
)
from app.domains.customers.timeline import TimelineEntry, customer_timeline
from app.domains.org.services import get_root
from app.worker import enqueue_after_commit

BASE = "/api/v1/customers"
SORTS = tuple(services.SORT)


def _approval(request: Any) -> Response[RequestOut]:
    return Response(RequestOut.of(request), status_code=201,
                    headers={"Location": f"/api/v1/approvals/requests/{request.id}"})


@dataclass
class CsvUploadOperation(Operation):
    """The import reads the raw body (Litestar's ``body``), which the document would otherwise
    not show: it is a CSV file."""

    def __post_init__(self) -> None:
        self.request_body = RequestBody(required=True, description="The CSV file, UTF-8 or GBK/GB18030.",
                                        content={"text/csv": OpenAPIMediaType(schema=Schema(
                                            type=OpenAPIType.STRING, pattern=imports.FILE_PATTERN))})


class CustomerController(Controller):
    path = BASE
    tags = ["Customers"]
    dependencies = {"session": Provide(provide_tenant_session), "authz": Provide(provide_authz)}

    # --------------------------------------------------------------------- collection

    @get("/", operation_id="listCustomers", summary="List customers (personal data masked)",
         dependencies={"page": page_params(*SORTS)},
         description="The customers the caller may see (those at or under the nodes where their roles let them "
                     "read customers), a page at a time, with personal data masked (revealCustomer shows it, "
                     "audited): filter by name prefix, status, kind or node; merged customers only when asked "
                     "for. Needs customers:read.",
         **requires("customers:read"))
    async def list_customers(
        self, session: AsyncSession, authz: Authorizer, page: PageParams,
        q: str | None = Parameter(query="q", default=None, max_length=200, description="Name starts with."),
        status: CustomerStatus | None = Parameter(query="status", default=None),
        kind: CustomerKind | None = Parameter(query="kind", default=None),
        node_id: uuid.UUID | None = Parameter(query="nodeId", default=None,
                                              description="Customers placed at exactly this org node."),
        include_merged: bool = Parameter(query="includeMerged", default=False,
                                         description="Also list merged-away records (tombstones)."),
    ) -> Page[CustomerSummary]:
        return await services.list_customers(session, authz, page, q=q, status=status, kind=kind, node_id=node_id,
                                             include_merged=include_merged)

    @post("/search", operation_id="searchCustomers", status_code=200,
          summary="Find customers by exact phone or ID number (blind index), name prefix or number",
          dependencies={"page": page_params(*SORTS)},
          description="Finds customers by an exact phone or ID number (matched through a blind index: the numbers"
                      " are never stored in plain), a name prefix or a customer number; the search terms travel "
                      "in the body, not the URL. Masked like the list. Needs customers:read.",
          **requires("customers:read"))
    async def search(self, session: AsyncSession, authz: Authorizer, page: PageParams,
                     data: SearchIn) -> Page[CustomerSummary]:
        return await services.search(session, authz, page, data)

    @post("/", operation_id="createCustomer", summary="Create a person or enterprise customer",
          description="409 `duplicate` when a customer with the same phone or ID number exists (the errors name "
                      "those you may see); 409 `conflict` when a unit already has a primary owner; 404 naming the "
                      "field when a unit, org node or owner account it names is not there for the caller.",
          **requires("customers:write", errors=[404, 409]))
    async def create_customer(self, request: Request[Any, Any, Any], session: AsyncSession, authz: Authorizer,
                              data: CustomerCreate) -> Response[CustomerOut]:
        return await created(request, session, lambda: services.create_customer(session, authz, data),
                             lambda c: services.customer_out(session, c), lambda c: f"{BASE}/{c.id}")

    @post("/imports", operation_id="importCustomers", status_code=202,
          summary="Import customers and unit ownership from a CSV file (a background job)",
          description=f"The body is the CSV file (`text/csv`, UTF-8 or GBK/GB18030, at most "
                      f"{imports.MAX_BYTES // (1024 * 1024)} MiB). Required columns: "
                      f"{', '.join(imports.REQUIRED)}; optional: {', '.join(imports.OPTIONAL)}. A wrong header "
                      "or encoding is refused (422) before any job starts. The job's result holds the counts and "
                      "each rejected row (line, field, message).",
          request_max_body_size=imports.MAX_BYTES, operation_class=CsvUploadOperation,
          **requires("customers:write", errors=[404, 409, 413]))
    async def import_customers(
        self, request: Request[Any, Any, Any], session: AsyncSession, authz: Authorizer,
        body: bytes,
        mode: Literal["all_or_nothing", "valid_rows"] = Parameter(
            query="mode", default="all_or_nothing",
            description="`all_or_nothing` (the default): import nothing unless every row is valid; `valid_rows`: "
                        "import the valid rows, reject the others."),
        node_id: uuid.UUID | None = Parameter(query="nodeId", default=None,
                                              description="Where rows without a unit (prospects) go; the group "
                                                          "when absent."),
    ) -> Response[JobOut]:
        async def produce() -> Response[JobOut]:
            job = await imports.start_import(session, authz, body, mode, node_id)
            enqueue_after_commit(session, tasks.import_customers, tenant=request.user.tenant, job_id=str(job.id))
            return accepted(job)

        return await idempotent(request, session, produce)

    # ------------------------------------------------------------------- the tenant's policy

    @get("/settings", operation_id="getCustomerSettings", summary="The group's customer policies",
         description="The group's customer policies; the ETag is what If-Match needs to change them. Needs "
                     "customers:read.",
         **requires("customers:read"))
    async def get_settings(self, session: AsyncSession, authz: Authorizer) -> Response[CustomerSettings]:
        authz.require(services.READ, (await get_root(session)).path)
        value, version = await tenant_settings.get(session, services.OWNER_APPROVAL)
        return Response(CustomerSettings(owner_contact_changes_need_approval=bool(value)),
                        headers={"ETag": etag(version)})

    @put("/settings", operation_id="putCustomerSettings", summary="Change the group's customer policies",
         description="Needs `customers.write` at the group node. If-Match `\"0\"` while the defaults apply.",
         **requires("customers:write", errors=[412, 428]))
    async def put_settings(self, request: Request[Any, Any, Any], session: AsyncSession, authz: Authorizer,
                           data: CustomerSettingsIn) -> Response[CustomerSettings]:
        authz.require(services.WRITE, (await get_root(session)).path)
        _, version = await tenant_settings.get(session, services.OWNER_APPROVAL, lock=True)
        check_if_match(request, version)
        version = await tenant_settings.put(session, services.OWNER_APPROVAL,
                                            data.owner_contact_changes_need_approval)
        return Response(CustomerSettings(owner_contact_changes_need_approval=data.owner_contact_changes_need_approval),
                        headers={"ETag": etag(version)})

    # ----------------------------------------------------------------------- one customer

    @get("/{customer_id:uuid}", operation_id="getCustomer", summary="Get a customer (personal data masked)",
         description="One customer, personal data masked (revealCustomer shows it, audited). Its ETag is what If-"
                     "Match needs to change it. Needs customers:read; 404 for a customer the caller cannot see.",
         **requires("customers:read", errors=[404]))
    async def get_customer(self, session: AsyncSession, authz: Authorizer,
                           customer_id: uuid.UUID) -> Response[CustomerOut]:
        customer, _ = await services.get_customer(session, authz, customer_id)
        return with_etag(await services.customer_out(session, customer), customer.version)

    @patch("/{customer_id:uuid}", operation_id="updateCustomer",
           summary="Change a customer's unprotected data (status, email, profile, contact persons)",
           description="Name, phone, ID number, address and ownership are protected: ask with "
                       "`POST /api/v1/customers/{customerId}/change-requests`.",
           **requires("customers:write", errors=[404, 409, 412, 428]))
    async def update_customer(self, request: Request[Any, Any, Any], session: AsyncSession, authz: Authorizer,
                              customer_id: uuid.UUID, data: CustomerUpdate) -> Response[CustomerOut]:
        return await updated(request, services.get_customer(session, authz, customer_id, lock=True),
                             lambda c, path: services.update_customer(session, authz, c, path, data),
                             lambda c: services.customer_out(session, c))

    @post("/{customer_id:uuid}/reveal", operation_id="revealCustomer", status_code=200,
          summary="Show a customer's sealed fields in plaintext, with a reason (audited)",
          description="Phone, ID number, address, e-mail, bank account, tax number, contact persons' phones and "
                      "e-mail addresses. Needs the permission `customers.reveal` and a reason; every reveal is "
                      "recorded in the audit trail with who, which customer, which fields and why.",
          **requires("customers:read", errors=[404]))
    async def reveal(self, session: AsyncSession, authz: Authorizer, customer_id: uuid.UUID,
                     data: RevealIn) -> Revealed:
        customer, path = await services.get_customer(session, authz, customer_id)
        return await services.reveal(session, authz, customer, path, list(data.fields), data.reason)

    @post("/{customer_id:uuid}/change-requests", operation_id="requestCustomerChange",
          summary="Ask for a change of protected data, or a deletion (applied on approval)",
          description="Asks for a change of protected data (name, ID number, ownership) or the customer's "
                      "deletion; nothing changes until the change-control approval chain approves it. Needs "
                      "customers:write; 409 when the change cannot apply (an ID number for an enterprise, a unit "
                      "that already has a primary owner, a merged customer).",
          **requires("customers:write", errors=[404, 409]))
    async def request_change(self, request: Request[Any, Any, Any], session: AsyncSession, authz: Authorizer,
                             customer_id: uuid.UUID, data: ChangeRequestIn) -> Response[RequestOut]:
        async def produce() -> Response[RequestOut]:
            customer, path = await services.get_customer(session, authz, customer_id)
            return _approval(await services.request_changes(session, authz, customer, path, data))

        return await idempotent(request, session, produce)

    @post("/{customer_id:uuid}/merge", operation_id="requestCustomerMerge",
          summary="Ask for another customer to be merged into this one (applied on approval)",
          description="Needs `customers.merge` on both customers. On approval every record of the merged "
                      "customer moves to this one, and the merged record stays as a tombstone pointing here.",
          **requires("customers:write", errors=[404, 409]))
    async def request_merge(self, request: Request[Any, Any, Any], session: AsyncSession, authz: Authorizer,
                            customer_id: uuid.UUID, data: MergeIn) -> Response[RequestOut]:
        async def produce() -> Response[RequestOut]:
            customer, path = await services.get_customer(session, authz, customer_id)
            return _approval(await services.request_merge(session, authz, customer, path, data))

        return await idempotent(request, session, produce)

    @put("/{customer_id:uuid}/behaviour", operation_id="putCustomerBehaviour",
         summary="Store a customer's behaviour data (needs their active behaviour consent)",
         description="409 `consent-required` without an active consent of kind `behaviour`. Withdrawing the "
                     "last such consent erases the data.",
         **requires("customers:write", errors=[404, 409, 412, 428]))
    async def put_behaviour(self, request: Request[Any, Any, Any], session: AsyncSession, authz: Authorizer,
                            customer_id: uuid.UUID, data: BehaviourIn) -> Response[CustomerOut]:
        return await updated(request, services.get_customer(session, authz, customer_id, lock=True),
                             lambda c, path: services.set_behaviour(session, authz, c, path, data),
                             lambda c: services.customer_out(session, c))

    # --------------------------------------------------------------------------- consents

    @get("/{customer_id:uuid}/consents", operation_id="listCustomerConsents", summary="A customer's consents",
         dependencies={"page": page_params("grantedAt", "kind")},
         description="A customer's consents, in force and withdrawn, a page at a time: what was agreed, for what "
                     "purpose, when and through which channel. Needs customers:read; 404 for a customer the "
                     "caller cannot see.",
         **requires("customers:read", errors=[404]))
    async def list_consents(self, session: AsyncSession, authz: Authorizer, page: PageParams,
                            customer_id: uuid.UUID) -> Page[ConsentOut]:
        customer, _ = await services.get_customer(session, authz, customer_id)
        return await services.list_consents(session, customer, page)

    @post("/{customer_id:uuid}/consents", operation_id="recordCustomerConsent",
          summary="Record a consent (what, when, through which channel)",
          description="Records a consent the customer gave: its kind, purpose, channel and when it took effect. "
                      "Needs customers:write; 404 for a customer the caller cannot see.",
          **requires("customers:write", errors=[404, 409]))
    async def add_consent(self, request: Request[Any, Any, Any], session: AsyncSession, authz: Authorizer,
                          customer_id: uuid.UUID, data: ConsentIn) -> Response[ConsentOut]:
        async def record() -> CustomerConsent:
            customer, path = await services.get_customer(session, authz, customer_id)
            return await services.add_consent(session, authz, customer, path, data)

        async def show(row: CustomerConsent) -> ConsentOut:
            return services.consent_out(row)

        return await created(request, session, record, show, lambda row: f"{BASE}/consents/{row.id}")

    @get("/consents/{consent_id:uuid}", operation_id="getCustomerConsent", summary="Get a consent",
         description="One consent with when it took effect and, once withdrawn, when. Needs customers:read; 404 "
                     "for a consent of a customer the caller cannot see.",
         **requires("customers:read", errors=[404]))
    async def get_consent(self, session: AsyncSession, authz: Authorizer,
                          consent_id: uuid.UUID) -> Response[ConsentOut]:
        consent, _, _ = await services.get_consent(session, authz, consent_id)
        return Response(services.consent_out(consent), headers={"ETag": etag(consent.version)})

    @post("/consents/{consent_id:uuid}/withdraw", operation_id="withdrawCustomerConsent", status_code=200,
          summary="Record the withdrawal of a consent",
          description="Records that the customer withdrew a consent, from a given time on. Needs customers:write;"
                      " 409 when it was withdrawn already, or for a time before the consent took effect.",
          **requires("customers:write", errors=[404, 409]))
    async def withdraw_consent(self, session: AsyncSession, authz: Authorizer, consent_id: uuid.UUID,
                               data: ConsentWithdrawal) -> Response[ConsentOut]:
        consent, customer, path = await services.get_consent(session, authz, consent_id, lock=True)
        done = await services.withdraw_consent(session, authz, customer, path, consent, data)
        return Response(services.consent_out(done), headers={"ETag": etag(done.version)})

    # -------------------------------------------------------------------------- ownership

    @get("/{customer_id:uuid}/units", operation_id="listCustomerUnits",
         summary="A customer's units, with the deal and who is responsible today",
         description="The primary ownerships first, then co-ownerships, each oldest first.",
         dependencies={"page": page_params()}, **requires("customers:read", errors=[404]))
    async def list_units(self, session: AsyncSession, authz: Authorizer, page: PageParams,
                         customer_id: uuid.UUID) -> Page[OwnershipOut]:
        customer, _ = await services.get_customer(session, authz, customer_id)
        held = await services.list_ownerships(session, customer)
        # A customer holds a handful of units: paged here, in the order the detail shows them.
        return Page(items=held[page.offset:page.offset + page.limit], total=len(held), limit=page.limit,
                    offset=page.offset)

    @get("/{customer_id:uuid}/timeline", operation_id="getCustomerTimeline",
         summary="A customer's whole history: inquiries, visits, calls, complaints, return visits, grading…",
         description="Newest first, across every domain that records something about the customer; an entry "
                     "shows only to a caller who may read it where it sits (and whose token has that domain's "
                     "read scope). `kind` narrows to some kinds (repeat it): inquiry, visit, call, complaint, "
                     "return_visit, grade, and those of domains added later; a kind nobody declares matches "
                     "nothing.",
         dependencies={"page": page_params()}, **requires("customers:read", errors=[404]))
    async def timeline(self, session: AsyncSession, authz: Authorizer, page: PageParams, customer_id: uuid.UUID,
                       kind: list[str] | None = Parameter(query="kind", required=False, default=None,
                                                          max_items=20)) -> Page[TimelineEntry]:
        await services.get_customer(session, authz, customer_id)
        return await customer_timeline(session, authz, customer_id, page, kinds=kind)

    @post("/{customer_id:uuid}/units", operation_id="addCustomerUnit",
          summary="Record a unit the customer subscribed to or bought",
          description="409 `conflict` when the unit already has another primary owner (add a co-owner instead). "
                      "Changing or ending an ownership is protected: a change request.",
          **requires("customers:write", errors=[404, 409]))
    async def add_unit(self, request: Request[Any, Any, Any], session: AsyncSession, authz: Authorizer,
                       customer_id: uuid.UUID, data: OwnershipIn) -> Response[OwnershipOut]:
        async def produce() -> Response[OwnershipOut]:
            customer, path = await services.get_customer(session, authz, customer_id, lock=True)
            row = await services.add_ownership(session, authz, customer, path, data)
            out = next(o for o in await services.list_ownerships(session, customer) if o.id == row.id)
            return Response(out, status_code=201, headers={"Location": f"{BASE}/{customer.id}/units"})

        return await idempotent(request, session, produce)


class MyCustomerController(Controller):
    """Home owners (``owner:self``): their own customer records, and their contact details."""

    path = f"{BASE}/mine"
    tags = ["Customers"]
    dependencies = {"session": Provide(provide_tenant_session), "authz": Provide(provide_authz)}

    @get("/", operation_id="listMyCustomerRecords", summary="The caller's own customer records (home owners)",
         dependencies={"page": page_params(*SORTS)},
         description="A home owner's own customer records (those linked to their account). Needs owner:self.",
         **requires("owner:self"))
    async def list_mine(self, session: AsyncSession, authz: Authorizer, page: PageParams) -> Page[OwnCustomerOut]:
        return await services.list_mine(session, authz, page)

    @get("/{customer_id:uuid}", operation_id="getMyCustomerRecord", summary="One's own customer record (home owners)",
         description="One of the owner's own customer records. Its ETag is what If-Match needs to change their "
                     "contact details. Needs owner:self; 404 for a record that is not theirs.",
         **requires("owner:self", errors=[404]))
    async def get_mine(self, session: AsyncSession, authz: Authorizer,
                       customer_id: uuid.UUID) -> Response[OwnCustomerOut]:
        customer = await services.get_mine(session, authz, customer_id)
        return Response(await services.own_out(session, customer), headers={"ETag": etag(customer.version)})

    @patch("/{customer_id:uuid}", operation_id="updateMyContactDetails",
           summary="Change one's own email, phone or address (home owners)",
           description="Email changes at once. Phone and address change at once, or, where the group's policy "
                       "says so, once approved (`approvalRequestId`).",
           **requires("owner:self", errors=[404, 409, 412, 428]))
    async def update_mine(self, request: Request[Any, Any, Any], session: AsyncSession, authz: Authorizer,
                          customer_id: uuid.UUID, data: OwnContactUpdate) -> Response[OwnContactResult]:
        customer = await services.get_mine(session, authz, customer_id, lock=True)
        check_if_match(request, customer.version)
        result = await services.update_mine(session, authz, customer, data)
        return Response(result, headers={"ETag": etag(result.customer.version)})


CONTROLLERS = [MyCustomerController, CustomerController]
