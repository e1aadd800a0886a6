"""Identity tables (platform schema): accounts, OAuth clients, codes, refresh tokens,
password resets and the outbox of messages to deliver.

They sit in the shared schema because sign-in and the token endpoint must find an
account or client before any tenant is known; every row names its tenant (``tenant_id``),
and NULL means a platform operator's row.
"""

from __future__ import annotations

import enum
import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Boolean, DateTime, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlalchemy.orm import Mapped, mapped_column

from app.core.clock import utcnow
from app.core.models import IdMixin, PlatformBase, TimestampMixin, VersionMixin, str_enum
from app.core.personal import kept_plain


class AccountKind(str, enum.Enum):
    operator = "operator"  # platform staff; tenant_id is NULL
    staff = "staff"  # a group's employee
    owner = "owner"  # a home owner or buyer using the mobile app


class AccountStatus(str, enum.Enum):
    active = "active"
    disabled = "disabled"


class ClientKind(str, enum.Enum):
    public = "public"  # mobile and browser apps: no secret, PKCE mandatory
    confidential = "confidential"  # partner back ends: a secret


class ClientStatus(str, enum.Enum):
    active = "active"
    disabled = "disabled"



class Account(IdMixin, TimestampMixin, VersionMixin, PlatformBase):
    __tablename__ = "accounts"

    tenant_id: Mapped[uuid.UUID | None] = mapped_column(
        UUID(as_uuid=True), ForeignKey("tenants.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[AccountKind] = mapped_column(str_enum(AccountKind), nullable=False)
    username: Mapped[str] = mapped_column(String(100), nullable=False)  # stored lower-case
    email: Mapped[str | None] = mapped_column(String(254), info=kept_plain(
        "an account's own address for its sign-in mail: kept in the platform schema, which has no tenant data key, "
        "and searched by operators"))
    display_name: Mapped[str] = mapped_column(String(200), nullable=False)
    status: Mapped[AccountStatus] = mapped_column(str_enum(AccountStatus), nullable=False,
                                                  default=AccountStatus.active)
    password_hash: Mapped[str | None] = mapped_column(String(200))
    password_changed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # The most this account may ever hold; the roles of the org issue narrow it further.
    scopes: Mapped[list[str]] = mapped_column(JSONB, nullable=False, default=list)
    totp_secret: Mapped[str | None] = mapped_column(String(64))
    totp_confirmed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # The time step (unix time // 30) of the last TOTP code accepted: a code is good once.
    totp_last_step: Mapped[int | None] = mapped_column(BigInteger)
    recovery_code_hashes: Mapped[list[str]] = mapped_column(JSONB, nullable=False, default=list)
    failed_sign_ins: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    locked_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_sign_in_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    __table_args__ = (
        UniqueConstraint("tenant_id", "username", postgresql_nulls_not_distinct=True),
    )


class OAuthClient(IdMixin, TimestampMixin, VersionMixin, PlatformBase):
    __tablename__ = "oauth_clients"

    client_id: Mapped[str] = mapped_column(String(100), nullable=False, unique=True)
    tenant_id: Mapped[uuid.UUID | None] = mapped_column(
        UUID(as_uuid=True), ForeignKey("tenants.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(200), nullable=False)
    kind: Mapped[ClientKind] = mapped_column(str_enum(ClientKind), nullable=False)
    # HMAC-SHA256 of a 256-bit random secret: a slow password hash adds nothing to a secret
    # with that much entropy, and would cap the token endpoint at a few requests a second.
    secret_hash: Mapped[str | None] = mapped_column(String(128))
    secret_rotated_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    redirect_uris: Mapped[list[str]] = mapped_column(JSONB, nullable=False, default=list)
    # Browser origins (scheme://host[:port], normalised) allowed to call the API besides
    # those of the web redirect URIs (app/auth/origins.py).
    allowed_origins: Mapped[list[str]] = mapped_column(JSONB, nullable=False, default=list)
    allowed_scopes: Mapped[list[str]] = mapped_column(JSONB, nullable=False, default=list)
    grant_types: Mapped[list[str]] = mapped_column(JSONB, nullable=False, default=list)
    # A first-party app (our own mobile app) skips the consent screen.
    first_party: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    status: Mapped[ClientStatus] = mapped_column(str_enum(ClientStatus), nullable=False, default=ClientStatus.active)


class AuthorizationCode(PlatformBase):
    __tablename__ = "authorization_codes"

    code_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    client_id: Mapped[str] = mapped_column(String(100), nullable=False)
    account_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("accounts.id", ondelete="CASCADE"), nullable=False, index=True
    )
    redirect_uri: Mapped[str] = mapped_column(Text, nullable=False)
    scope: Mapped[str] = mapped_column(Text, nullable=False)
    code_challenge: Mapped[str] = mapped_column(String(128), nullable=False)
    code_challenge_method: Mapped[str] = mapped_column(String(10), nullable=False)
    auth_time: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False, index=True)
    used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # The refresh-token family the code was exchanged for: revoked if the code is replayed.
    family_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))

    # The accessors authlib's grant calls.
    def get_redirect_uri(self) -> str:
        return self.redirect_uri

    def get_scope(self) -> str:
        return self.scope


class RefreshToken(IdMixin, PlatformBase):
    __tablename__ = "refresh_tokens"

    token_hash: Mapped[str] = mapped_column(String(64), nullable=False, unique=True)
    family_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), nullable=False, index=True)
    parent_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    client_id: Mapped[str] = mapped_column(String(100), nullable=False)
    account_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("accounts.id", ondelete="CASCADE"), nullable=False, index=True
    )
    tenant_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    scope: Mapped[str] = mapped_column(Text, nullable=False)
    issued_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    spent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    revoked_reason: Mapped[str | None] = mapped_column(String(100))

    # The accessors authlib's grant and endpoints call.
    def check_client(self, client: Any) -> bool:
        return bool(self.client_id == client.get_client_id())

    def get_scope(self) -> str:
        return self.scope

    def is_expired(self) -> bool:
        return self.expires_at <= utcnow()

    def is_revoked(self) -> bool:
        return self.revoked_at is not None or self.spent_at is not None


class PasswordReset(PlatformBase):
    __tablename__ = "password_resets"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    account_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("accounts.id", ondelete="CASCADE"), nullable=False, index=True
    )
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class OutboxStatus(str, enum.Enum):
    pending = "pending"
    sent = "sent"
    failed = "failed"


class OutboxMessage(IdMixin, TimestampMixin, PlatformBase):
    """A message to deliver (mail today); a background task sends it after commit."""

    __tablename__ = "outbox"

    tenant_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True), index=True)
    channel: Mapped[str] = mapped_column(String(20), nullable=False, default="email")
    recipient: Mapped[str] = mapped_column(String(254), nullable=False)
    subject: Mapped[str] = mapped_column(String(300), nullable=False)
    body: Mapped[str] = mapped_column(Text, nullable=False)
    # Structured payload for tests and templates (never secrets in clear text beyond the body).
    data: Mapped[dict[str, Any]] = mapped_column(JSONB, nullable=False, default=dict)
    status: Mapped[OutboxStatus] = mapped_column(str_enum(OutboxStatus), nullable=False, default=OutboxStatus.pending)
    attempts: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    sent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_error: Mapped[str | None] = mapped_column(Text)

    __table_args__ = (Index("ix_outbox_status_created_at", "status", "created_at"),)
