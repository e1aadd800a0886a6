"""create_app(): the only place the application is assembled."""

from __future__ import annotations

import gc
import logging
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from litestar import Litestar, Response, Router, get
from litestar.datastructures import State
from litestar.di import Provide
from litestar.middleware import DefineMiddleware
from litestar.openapi import OpenAPIConfig
from litestar.openapi.spec import Contact, Tag
from litestar.status_codes import HTTP_307_TEMPORARY_REDIRECT

from app import domains
from app.auth.controllers import OAuthController
from app.auth.identity_controllers import CONTROLLERS as IDENTITY_CONTROLLERS
from app.auth.middleware import BearerAuthentication, TenantDirectory
from app.auth.origins import BrowserOrigins
from app.auth.scopes import SCOPES, public
from app.auth.server import OAuthServer
from app.auth.tokens import KeyRing
from app.config import Settings, get_settings
from app.core.allow import complete_allow_header
from app.core.broker import broker_probe
from app.core.cors import BrowserCors
from app.core.counters import SharedCounters
from app.core.db import Database, resolve_database_url
from app.core.deps import provide_reader
from app.core.docs_viewer import OfflineSwaggerUI
from app.core.http_policy import HttpPolicy
from app.core.jobs_controller import JobController
from app.core.openapi import ClosedStructSchemaPlugin, DocumentedHeaders, security_components
from app.core.problems import EXCEPTION_HANDLERS
from app.core.request_context import LOG_FORMAT
from app.fanout.controllers import FanoutRunController
from app.health import HealthController
from app.storage import store_for
from app.storage.controllers import routes_for
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

# The platform's own routes; each domain brings its own (app/domains/__init__.py).
PLATFORM_ROUTES = [HealthController, OAuthController, TenantController, FanoutRunController, *IDENTITY_CONTROLLERS,
                   JobController]

# The platform's own tags, around the domains' (the document lists them in this order).
PLATFORM_TAGS_FIRST = {
    "Platform: tenants": "Tenant provisioning and lifecycle (operators).",
    "Platform: background runs": "How the periodic tasks over every tenant went: tenants done, skipped and failed, "
                                 "with each failure's last error (operators).",
    "Identity": "The group's accounts (staff and owners) and OAuth clients (group administrators).",
    "My account": "One's own account: password, two-step verification, recovery codes; password reset without a "
                  "token.",
}
PLATFORM_TAGS_LAST = {
    "Jobs": "Background jobs: status, progress and result.",
    "Health": "Liveness and readiness.",
}


def _tags() -> list[Tag]:
    described = domains.declared("tags", lambda d: d.tags, first=PLATFORM_TAGS_FIRST, last=PLATFORM_TAGS_LAST)
    return [Tag(name=name, description=description) for name, description in described.items()]


@get("/docs", include_in_schema=False, **public())
async def docs_redirect() -> Response[None]:
    return Response(None, status_code=HTTP_307_TEMPORARY_REDIRECT, headers={"Location": "/schema/swagger"})


def create_app(settings: Settings | None = None, database: Database | None = None) -> Litestar:
    settings = settings or get_settings()
    domains.load()  # every domain's parts, so that what they register at import is complete
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
    # Browser origins allowed to call across origins: the deployment's and the OAuth clients'.
    origins = BrowserOrigins(db, settings.cors_origins)
    state = State({
        "settings": settings,
        "db": db,
        "key_ring": key_ring,
        "tenant_directory": TenantDirectory(db, settings.tenant_cache_ttl),
        "broker_ping": broker_probe(settings, db),
        "oauth": OAuthServer(db, key_ring, settings.access_token_ttl),
        "store": store,
        "browser_origins": origins,
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
        # Who answers a partner's questions about this API is the group that registered the
        # partner's client (docs/partners.md): the document is served by every deployment alike.
        contact=Contact(name="The administrator of the group whose tenant you work in (who registered your "
                             "OAuth client)"),
        # The document and its viewers are public; the router's opt says so to the authentication.
        # They are not API operations, so the document leaves them out.
        openapi_router=Router(path="/schema", route_handlers=[], opt={"public": True}, include_in_schema=False),
        render_plugins=[OfflineSwaggerUI(path="/swagger", init_oauth={"usePkceWithAuthorizationCodeGrant": True})],
        components=security_components(
            token_url=f"{settings.issuer}/oauth/token",
            authorization_url=f"{settings.issuer}/oauth/authorize",
            scopes=SCOPES,
        ),
        tags=_tags(),
        use_handler_docstrings=False,
    )
    app = Litestar(
        route_handlers=[*PLATFORM_ROUTES, *domains.route_handlers(), docs_redirect, *routes_for(store)],
        lifespan=[lifespan],
        state=state,
        middleware=[DefineMiddleware(BearerAuthentication, exclude_from_auth_key="public")],
        # Synchronous and cheap: no worker thread.
        dependencies={"reader": Provide(provide_reader, sync_to_thread=False)},
        exception_handlers={**EXCEPTION_HANDLERS, **STORAGE_EXCEPTION_HANDLERS},
        openapi_config=openapi,
        plugins=[ClosedStructSchemaPlugin(), HttpPolicy(), SharedCounters(), DocumentedHeaders()],
        before_send=[complete_allow_header],
        request_max_body_size=settings.max_body_bytes,
        debug=False,
    )
    # Outermost, where Litestar puts its own CORS middleware (whose origins are fixed at start):
    # preflights are answered before routing, and error answers get the headers too.
    app.asgi_handler = BrowserCors(app.asgi_handler, origins.allows)
    return app


def app_factory() -> Litestar:
    """Entry point for ASGI servers: ``uvicorn --factory app.asgi:app_factory``."""
    return create_app()

