"""What the complaint controllers share: their paths, dependencies, and the object store."""

from __future__ import annotations

from typing import Any

from litestar import Request
from litestar.di import Provide

from app.core.deps import provide_tenant_session
from app.domains.access.authz import provide_authz
from app.storage import ObjectStore

BASE = "/api/v1/complaints"
DISPUTES = "/api/v1/disputes"
LETTERS = f"{BASE}/capa-letters"
ATTACHMENTS = f"{BASE}/attachments"
MINE = f"{BASE}/mine"
DEPENDENCIES = {"session": Provide(provide_tenant_session), "authz": Provide(provide_authz)}
MOVES = [404, 409, 412, 428]  # what a move on a record may answer beyond the common errors


def store_of(request: Request[Any, Any, Any]) -> ObjectStore:
    store: ObjectStore = request.app.state.store  # set at start-up (app/asgi.py)
    return store
