"""create_app(): the only place the application is assembled."""

from __future__ import annotations

import gc
import logging
import os
from contextlib import asynccontextmanager
from typing import AsyncIterator

from litestar import Litestar, Response, Router, get
from litestar.config.cors import CORSConfig
from litestar.datastructures import State
from litestar.di import Provide
from litestar.middleware import DefineMiddleware
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import SwaggerRenderPlugin
from litestar.openapi.spec import Tag
from litestar.status_codes import HTTP_307_TEMPORARY_REDIRECT

from app.auth.controllers import OAuthController
from app.auth.identity_controllers import CONTROLLERS as IDENTITY_CONTROLLERS
from app.auth.middleware import BearerAuthentication, TenantDirectory
from app.auth.scopes import SCOPES, public
from app.auth.server import OAuthServer
from app.auth.tokens import KeyRing
from app.config import Settings, get_settings
from app.core.broker import broker_probe
from app.core.db import Database, resolve_database_url
from app.core.deps import provide_reader
from app.core.jobs_controller import JobController
from app.core.allow import complete_allow_header
from app.core.counters import SharedCounters
from app.core.http_policy import HttpPolicy
from app.core.request_context import LOG_FORMAT
from app.core.openapi import ClosedStructSchemaPlugin, security_components
from app.core.problems import EXCEPTION_HANDLERS
from app.domains.approvals.controllers import ApprovalController
from app.domains.audit.controllers import AuditController
from app.domains.customers.controllers import CONTROLLERS as CUSTOMER_CONTROLLERS
from app.domains.inquiries.controllers import CONTROLLERS as INQUIRY_CONTROLLERS
from app.domains.interactions.controllers import CONTROLLERS as INTERACTION_CONTROLLERS
from app.domains.surveys.controllers import CONTROLLERS as SURVEY_CONTROLLERS
from app.domains.grading.controllers import CONTROLLERS as GRADING_CONTROLLERS
from app.domains.calendars.controllers import CONTROLLERS as CALENDAR_CONTROLLERS
from app.domains.complaints.controllers import CONTROLLERS as COMPLAINT_CONTROLLERS
from app.domains.archives.controllers import CONTROLLERS as ARCHIVE_CONTROLLERS
from app.domains.access.controllers import CONTROLLERS as ACCESS_CONTROLLERS
from app.domains.org.controllers import CONTROLLERS as ORG_CONTROLLERS
from app.health import HealthController
from app.storage import store_for
from app.storage.problems import STORAGE_EXCEPTION_HANDLERS
from app.tenants.controllers import TenantController

DESCRIPTION = """\
Customer relations for real-estate development groups: one tenant per group, with the
group → branch → project matrix scoping who sees what.

* Authenticate with an OAuth 2.1 access token: `Authorization: Bearer <token>`.
* Errors are RFC 9457 `application/problem+json` with a stable `type`.
* Lists take `limit`, `offset` and `sort`; updates need `If-Match` with the ETag;
  creating POSTs accept `Idempotency-Key`.
"""

ROUTES = [HealthController, OAuthController, TenantController, *ORG_CONTROLLERS, *ACCESS_CONTROLLERS, JobController, AuditController,
          ApprovalController, *IDENTITY_CONTROLLERS, *CUSTOMER_CONTROLLERS,
          *INQUIRY_CONTROLLERS, *INTERACTION_CONTROLLERS, *SURVEY_CONTROLLERS, *GRADING_CONTROLLERS,
          *CALENDAR_CONTROLLERS, *COMPLAINT_CONTROLLERS, *ARCHIVE_CONTROLLERS]


@get("/docs", include_in_schema=False, **public())
async def docs_redirect() -> Response[None]:
    return Response(None, status_code=HTTP_307_TEMPORARY_REDIRECT, headers={"Location": "/schema/swagger"})


def create_app(settings: Settings | None = None, database: Database | None = None) -> Litestar:
    settings = settings or get_settings()
    # TLS ends at the proxy in front of the API; authlib must not insist on https itself.
    os.environ.setdefault("AUTHLIB_INSECURE_TRANSPORT", "1")
    logging.basicConfig(level=settings.log_level, format=LOG_FORMAT)

    # Object storage (app/storage): S3 when CORNERSTONE_S3_ENDPOINT is set, else local disk.
    store = store_for(settings)
    # A fixed pool: no request path holds two connections at once (sessions take theirs at
    # their first statement, readers for one statement), so waiting for one cannot deadlock.
    db = database or Database(resolve_database_url(settings), pool_size=settings.db_pool_size, max_overflow=0)
    # Loaded lazily by the authentication middleware on the first token (and on unknown kids).
    key_ring = KeyRing(issuer=settings.issuer, audience=settings.audience, token_ttl=settings.access_token_ttl)
    state = State({
        "settings": settings,
        "db": db,
        "key_ring": key_ring,
        "tenant_directory": TenantDirectory(db, settings.tenant_cache_ttl),
        "broker_ping": broker_probe(settings, db),
        "oauth": OAuthServer(db, key_ring, settings.access_token_ttl),
        "store": store,
    })

    @asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        # What start-up built (models, routes, the OpenAPI document) lives as long as the
        # process: out of the collector's way, so that a full collection under load does not
        # walk it again each time (a pause of tens of milliseconds for the requests in flight).
        gc.freeze()
        if database is None:
            await db.open_pool(settings.db_pool_size)
        try:
            yield
        finally:
            if database is None:  # a database handed in belongs to the caller
                await db.dispose()

    openapi = OpenAPIConfig(
        title="Cornerstone API",
        version="1.0.0",
        description=DESCRIPTION,
        # The document and its viewers are public; the router's opt says so to the authentication.
        # They are not API operations, so the document leaves them out.
        openapi_router=Router(path="/schema", route_handlers=[], opt={"public": True}, include_in_schema=False),
        render_plugins=[SwaggerRenderPlugin(path="/swagger", init_oauth={"usePkceWithAuthorizationCodeGrant": True})],
        components=security_components(
            token_url=f"{settings.issuer}/oauth/token",
            authorization_url=f"{settings.issuer}/oauth/authorize",
            scopes=SCOPES,
        ),
        tags=[
            Tag(name="Platform: tenants", description="Tenant provisioning and lifecycle (operators)."),
            Tag(name="Organisation", description="The org tree: group → branches → projects → buildings → units; "
                                                 "who is responsible for a unit's customers."),
            Tag(name="Access", description="Roles (sets of permissions) and their assignment to accounts at org "
                                           "nodes: a role holds on the node's whole subtree."),
            Tag(name="Approvals", description="One approval engine for every request type: chains per type, "
                                              "requests and their rounds, decisions, the approver's inbox."),
            Tag(name="Identity", description="The group's accounts (staff and owners) and OAuth clients "
                                             "(group administrators)."),
            Tag(name="My account", description="One's own account: password, two-step verification, recovery "
                                               "codes; password reset without a token."),
            Tag(name="Customers", description="Person and enterprise customers: profiles with personal data "
                                              "encrypted and masked, consents, unit ownership, protected changes "
                                              "and merges through approval, CSV imports."),
            Tag(name="Inquiries", description="Inquiries under first-responder responsibility: the first "
                                              "responder owns one until answered or transferred with a stated "
                                              "need; overdue ones surface to their owner."),
            Tag(name="Interactions", description="Visits, receptions and hospitality (with their application "
                                                 "through approval), gifts, inbound and outbound calls."),
            Tag(name="Return visits", description="Return-visit plans, questionnaires and their results, "
                                                  "satisfaction statistics."),
            Tag(name="Grading and credit", description="Grading rules, customer grades and their history, "
                                                       "credit limits and their change applications."),
            Tag(name="Calendars", description="The group's working calendars: working hours, public holidays "
                                              "and make-up working days, that business-time clocks count in."),
            Tag(name="Complaints", description="The complaint register and its resolution loop: investigate, "
                                               "propose, approve, negotiate, handle, feedback, corrective action."),
            Tag(name="Disputes", description="The dispute register: the same loop, its own numbering."),
            Tag(name="Archives", description="Customer archive volumes: cover, contents list, scanned pages in "
                                             "object storage, remarks sheet, filing under retention."),
            Tag(name="Jobs", description="Background jobs: status, progress and result."),
            Tag(name="Audit", description="The append-only audit trail: search, CSV export for auditors."),
            Tag(name="Health", description="Liveness and readiness."),
        ],
        use_handler_docstrings=False,
    )
    return Litestar(
        route_handlers=[*ROUTES, docs_redirect, *store.route_handlers()],
        lifespan=[lifespan],
        state=state,
        middleware=[DefineMiddleware(BearerAuthentication, exclude_from_auth_key="public")],
        # Synchronous and cheap: no worker thread.
        dependencies={"reader": Provide(provide_reader, sync_to_thread=False)},
        exception_handlers={**EXCEPTION_HANDLERS, **STORAGE_EXCEPTION_HANDLERS},  # type: ignore[arg-type]
        openapi_config=openapi,
        plugins=[ClosedStructSchemaPlugin(), HttpPolicy(), SharedCounters()],
        before_send=[complete_allow_header],
        request_max_body_size=settings.max_body_bytes,
        cors_config=CORSConfig(allow_origins=[], allow_headers=["Authorization", "Content-Type", "If-Match",
                                                                "Idempotency-Key", "Change-Reason"]),
        debug=False,
    )


def app_factory() -> Litestar:
    """Entry point for ASGI servers: ``uvicorn --factory app.asgi:app_factory``."""
    return create_app()

