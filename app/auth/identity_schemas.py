"""Request and response bodies of the identity API: accounts, OAuth clients, one's own
account, password reset. No response carries a password hash, TOTP secret or client secret
digest; a client secret and recovery codes appear once, in the answer that made them."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Literal

import msgspec

from app.auth.accounts import MAX_PASSWORD_LENGTH, MIN_PASSWORD_LENGTH
from app.auth.models import Account, AccountKind, AccountStatus, ClientKind, ClientStatus, OAuthClient
from app.auth.origins import browser_origins
from app.auth.scopes import TENANT_SCOPES
from app.auth.services import OWNER_SCOPES, REDIRECT_URI_PATTERN
from app.core.cors import ORIGIN_PATTERN
from app.core.schemas import Email, Input, Schema

# Literal types built from the scope catalogue: the document lists the valid scopes, and an
# unknown one is refused (422, naming the item) before a handler runs. A type checker cannot
# read a catalogue built at import: to it they are strings.
if TYPE_CHECKING:
    TenantScope = str
    OwnerScope = str
else:
    TenantScope = Literal[tuple(sorted(TENANT_SCOPES))]
    OwnerScope = Literal[tuple(sorted(OWNER_SCOPES))]

Username = Annotated[str, msgspec.Meta(
    min_length=3, max_length=100, pattern=r"^[A-Za-z0-9][A-Za-z0-9._@-]*$",
    description="Sign-in name, unique in the group (stored lower-case).", examples=["wang.li"])]
DisplayName = Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
Reason = Annotated[str, msgspec.Meta(min_length=1, max_length=2000, description="Why; kept in the audit log.")]
ClientName = Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
RedirectUri = Annotated[str, msgspec.Meta(
    max_length=2000, pattern=REDIRECT_URI_PATTERN,
    description="Matched exactly at authorization: https, loopback http (any port), or a reverse-domain "
                "app scheme such as `com.example.app:/callback`; no fragment.",
    examples=["com.example.app:/oauth/callback"])]
# Litestar drops the constraints of a list's items from the document: the list states them.
REDIRECT_URI_ITEMS = {"type": "string", "maxLength": 2000, "pattern": REDIRECT_URI_PATTERN}
RedirectUris = Annotated[list[RedirectUri], msgspec.Meta(
    min_length=1, max_length=20, extra_json_schema={"extra": {"items": REDIRECT_URI_ITEMS}})]
# Normalised by the service (app/auth/origins.py), which checks it again for the CLI and seeding.
ORIGIN_ITEMS = {"type": "string", "maxLength": 300, "pattern": ORIGIN_PATTERN}
Origin = Annotated[str, msgspec.Meta(
    max_length=300, pattern=ORIGIN_PATTERN,
    description="A browser origin, scheme://host[:port] (http or https, no path, no wildcard); stored in lower "
                "case without a default port.",
    examples=["https://portal.example.com"])]
AllowedOrigins = Annotated[list[Origin], msgspec.Meta(
    max_length=20, description="Browser origins allowed to call the API (CORS) besides those of the web redirect "
                               "URIs.", extra_json_schema={"extra": {"items": ORIGIN_ITEMS}})]
Password = Annotated[str, msgspec.Meta(
    min_length=MIN_PASSWORD_LENGTH, max_length=MAX_PASSWORD_LENGTH,
    description=f"{MIN_PASSWORD_LENGTH} to {MAX_PASSWORD_LENGTH} characters mixing three of: lower case, "
                "upper case, digits, symbols; not containing the username.")]
AnyPassword = Annotated[str, msgspec.Meta(min_length=1, max_length=MAX_PASSWORD_LENGTH)]
TotpCode = Annotated[str, msgspec.Meta(pattern=r"^[0-9]{6}$", description="The authenticator's current code.",
                                       examples=["492039"])]
Token = Annotated[str, msgspec.Meta(min_length=1, max_length=200, description="The one-time code from the mail.")]
TenantSlug = Annotated[str, msgspec.Meta(min_length=1, max_length=40, description="The group's tenant slug; "
                                         "omitted for platform operators.", examples=["demo"])]
ResetUsername = Annotated[str, msgspec.Meta(min_length=1, max_length=100)]


# ------------------------------------------------------------------------------ accounts


class AccountOut(Schema):
    id: uuid.UUID
    kind: AccountKind
    username: str
    display_name: str
    email: str | None
    status: AccountStatus
    scopes: list[str]
    password_set: bool
    mfa_enabled: bool
    recovery_codes_left: int
    locked_until: datetime | None
    last_sign_in_at: datetime | None
    version: int
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, a: Account) -> AccountOut:
        return cls(
            id=a.id, kind=a.kind, username=a.username, display_name=a.display_name, email=a.email,
            status=a.status, scopes=list(a.scopes), password_set=a.password_hash is not None,
            mfa_enabled=a.totp_confirmed_at is not None, recovery_codes_left=len(a.recovery_code_hashes),
            locked_until=a.locked_until, last_sign_in_at=a.last_sign_in_at, version=a.version,
            created_at=a.created_at, updated_at=a.updated_at,
        )


class StaffInvite(Input):
    """A staff account without a password; its holder is mailed a code to set one."""

    username: Username
    display_name: DisplayName
    email: Email
    scopes: Annotated[list[TenantScope], msgspec.Meta(max_length=64)] = []


class OwnerCreate(Input):
    """A home owner's account (mobile app); the owner is mailed a code to set a password."""

    username: Username
    display_name: DisplayName
    email: Email
    scopes: Annotated[list[OwnerScope], msgspec.Meta(max_length=8)] = msgspec.field(
        default_factory=lambda: sorted(OWNER_SCOPES))


class AccountUpdate(Input):
    """Only the fields present change; ``email: null`` clears it. Owners hold owner scopes only."""

    display_name: DisplayName | msgspec.UnsetType = msgspec.UNSET
    email: Email | None | msgspec.UnsetType = msgspec.UNSET
    scopes: Annotated[list[TenantScope], msgspec.Meta(max_length=64)] | msgspec.UnsetType = msgspec.UNSET


class ReasonInput(Input):
    reason: Reason


# ------------------------------------------------------------------------------- clients


class ClientOut(Schema):
    id: uuid.UUID
    client_id: str
    name: str
    kind: ClientKind
    status: ClientStatus
    redirect_uris: list[str]
    allowed_origins: Annotated[list[str], msgspec.Meta(
        description="Browser origins the administrator added (allowedOrigins).")]
    browser_origins: Annotated[list[str], msgspec.Meta(
        description="Every origin this client lets call the API from a browser (CORS): its web redirect URIs' "
                    "origins, then allowedOrigins.")]
    allowed_scopes: list[str]
    grant_types: list[str]
    first_party: bool
    secret_rotated_at: datetime | None
    version: int
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, c: OAuthClient) -> ClientOut:
        return cls(
            id=c.id, client_id=c.client_id, name=c.name, kind=c.kind, status=c.status,
            redirect_uris=list(c.redirect_uris), allowed_origins=list(c.allowed_origins),
            browser_origins=browser_origins(c.redirect_uris, c.allowed_origins), allowed_scopes=list(c.allowed_scopes),
            grant_types=list(c.grant_types), first_party=c.first_party, secret_rotated_at=c.secret_rotated_at,
            version=c.version, created_at=c.created_at, updated_at=c.updated_at,
        )


class PublicClientCreate(Input, tag="public", tag_field="kind"):
    """A mobile or browser app: authorization code + PKCE and refresh tokens, no secret."""

    name: ClientName
    redirect_uris: RedirectUris
    allowed_scopes: Annotated[list[TenantScope], msgspec.Meta(max_length=64)] = []
    allowed_origins: AllowedOrigins = []


class ConfidentialClientCreate(Input, tag="confidential", tag_field="kind"):
    """A partner back end: client credentials with a secret (shown once)."""

    name: ClientName
    allowed_scopes: Annotated[list[TenantScope], msgspec.Meta(max_length=64)] = []


ClientCreate = PublicClientCreate | ConfidentialClientCreate


class ClientUpdate(Input):
    """Only the fields present change. Redirect URIs and origins are for public (authorization code)
    clients."""

    name: ClientName | msgspec.UnsetType = msgspec.UNSET
    redirect_uris: RedirectUris | msgspec.UnsetType = msgspec.UNSET
    allowed_origins: AllowedOrigins | msgspec.UnsetType = msgspec.UNSET
    allowed_scopes: Annotated[list[TenantScope], msgspec.Meta(max_length=64)] | msgspec.UnsetType = msgspec.UNSET


class ClientWithSecret(Schema):
    """The client and its secret: the only time the secret is shown (only a digest is kept)."""

    client: ClientOut
    client_secret: str | None


# ---------------------------------------------------------------------------- oneself


class PasswordChange(Input):
    current_password: AnyPassword
    new_password: Password


class TotpEnrolment(Schema):
    """Add this to an authenticator app, then confirm with a code from it."""

    secret: str
    otpauth_uri: str


class TotpCodeInput(Input):
    code: TotpCode


class RecoveryCodes(Schema):
    """Each works once in place of an authenticator code. Shown this once: keep them safe."""

    recovery_codes: list[str]


# ----------------------------------------------------------------------- password reset


class PasswordResetRequest(Input):
    username: ResetUsername
    tenant: TenantSlug | None = None


class ResetRequested(Schema):
    detail: str = "If the account exists and has an email address, a code is on its way."


class PasswordResetConfirm(Input):
    token: Token
    new_password: Password
