"""Who is calling: built once per request from the verified access token."""

from __future__ import annotations

import msgspec


class Principal(msgspec.Struct, frozen=True, kw_only=True):
    subject: str  # the token's sub: a user id, or a client id for client credentials
    client_id: str
    scopes: frozenset[str]
    tenant: str | None  # tenant slug; None for platform operators
    token_id: str
    expires_at: int

    @property
    def schema(self) -> str:
        if self.tenant is None:
            raise ValueError("platform principal has no tenant schema")
        return "t_" + self.tenant

    @property
    def kind(self) -> str:
        if self.tenant is None:
            return "operator"
        return "client" if self.subject == self.client_id else "user"
