"""What every controller of the certificates domain shares."""

from __future__ import annotations

from litestar.di import Provide

from app.core.deps import provide_tenant_session
from app.domains.access.authz import provide_authz

DEPENDENCIES = {"session": Provide(provide_tenant_session), "authz": Provide(provide_authz)}
NODE_FILTER = "Records at this org node or below it."
MOVES = [404, 409, 412, 428]
