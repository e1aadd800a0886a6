"""Signing keys and RFC 9068 access tokens: minted with the active key, verified in-process.

Keys are ES256 (P-256) with a ``kid``; they live in ``platform.signing_keys`` so every
process and host signs and verifies with the same set. Rotation adds a new active key and
retires the old one, which keeps verifying until every token it signed has expired.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import secrets
import time
from collections import OrderedDict
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import ECKey, KeySet
from sqlalchemy import DateTime, String, select
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from app.auth.principal import Principal
from app.core.clock import utcnow
from app.core.ids import new_id
from app.core.models import PlatformBase, TimestampMixin

ALGORITHM = "ES256"
TOKEN_TYPE = "at+jwt"  # noqa: S105 - the JWT `typ` header, not a secret
CLOCK_SKEW = 30  # seconds of leeway on exp/iat between hosts
TICKET_TYPE = "signin+jwt"
TICKET_AUDIENCE = "/oauth/authorize"


class SigningKey(TimestampMixin, PlatformBase):
    __tablename__ = "signing_keys"

    kid: Mapped[str] = mapped_column(String(100), primary_key=True)
    algorithm: Mapped[str] = mapped_column(String(16), nullable=False)
    private_jwk: Mapped[dict[str, Any]] = mapped_column(JSONB, nullable=False)
    public_jwk: Mapped[dict[str, Any]] = mapped_column(JSONB, nullable=False)
    # Set on rotation: the key stops signing then, and stops verifying at verify_until.
    retired_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    verify_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class InvalidToken(Exception):
    """The token is not acceptable; the message says why (safe to show the caller)."""


async def rotate_keys(session: AsyncSession, *, token_ttl: int) -> SigningKey:
    """Add a new active key and retire the current ones (they keep verifying a while)."""
    now = utcnow()
    current = (await session.scalars(select(SigningKey).where(SigningKey.retired_at.is_(None)))).all()
    for key in current:
        key.retired_at = now
        # Other processes may sign with it until their next reload (RELOAD_EVERY), and
        # those tokens must live out their lifetime.
        key.verify_until = now + timedelta(seconds=token_ttl + CLOCK_SKEW + KeyRing.RELOAD_EVERY)
    jwk = ECKey.generate_key("P-256", auto_kid=True)
    key = SigningKey(
        kid=jwk.kid,
        algorithm=ALGORITHM,
        private_jwk=jwk.as_dict(private=True),
        public_jwk={**jwk.as_dict(private=False), "use": "sig", "alg": ALGORITHM},
    )
    session.add(key)
    await session.flush()
    return key


async def ensure_signing_key(session: AsyncSession, *, token_ttl: int) -> None:
    """Create the first key when none is active (a fresh installation)."""
    active = await session.scalar(select(SigningKey.kid).where(SigningKey.retired_at.is_(None)).limit(1))
    if active is None:
        await rotate_keys(session, token_ttl=token_ttl)


class KeyRing:
    """The process's view of the signing keys, reloaded when an unknown kid shows up."""

    RELOAD_EVERY = 60.0
    MIN_RELOAD_GAP = 2.0
    CACHE_SIZE = 10_000

    def __init__(self, *, issuer: str, audience: str, token_ttl: int) -> None:
        self.issuer = issuer
        self.audience = audience
        self.token_ttl = token_ttl
        self._signing: ECKey | None = None
        self._verifying: dict[str, ECKey] = {}
        self._public_jwks: list[dict[str, Any]] = []
        self._loaded_at = 0.0
        self._lock = asyncio.Lock()
        # sha256(token) -> Principal: a token seen before skips the signature check.
        self._verified: OrderedDict[bytes, Principal] = OrderedDict()

    def load(self, keys: Iterable[SigningKey]) -> None:
        now = utcnow()
        signing: ECKey | None = None
        verifying: dict[str, ECKey] = {}
        public: list[dict[str, Any]] = []
        newest: datetime | None = None
        for key in keys:
            if key.verify_until is not None and key.verify_until < now:
                continue
            verifying[key.kid] = ECKey.import_key(key.public_jwk)
            public.append(key.public_jwk)
            if key.retired_at is None and (newest is None or key.created_at > newest):
                newest = key.created_at
                signing = ECKey.import_key(key.private_jwk)
        self._signing = signing
        self._verifying = verifying
        self._public_jwks = public
        self._loaded_at = time.monotonic()
        self._verified.clear()

    async def refresh(self, session: AsyncSession, *, force: bool = False) -> None:
        seen = self._loaded_at
        async with self._lock:
            if not force and self._loaded_at != seen:
                return  # another caller reloaded while this one waited for the lock
            age = time.monotonic() - self._loaded_at
            if not force and age < self.MIN_RELOAD_GAP:
                # An unknown kid may be a key another process has just rotated in: wait out
                # the gap instead of refusing a valid token. Reloads stay rate-limited, and
                # callers queued on the lock share this one reload.
                await asyncio.sleep(self.MIN_RELOAD_GAP - age)
            self.load((await session.scalars(select(SigningKey))).all())

    def stale(self) -> bool:
        return time.monotonic() - self._loaded_at > self.RELOAD_EVERY

    def knows(self, kid: str) -> bool:
        return kid in self._verifying

    @property
    def jwks(self) -> dict[str, Any]:
        return {"keys": list(self._public_jwks)}

    def mint(
        self,
        *,
        subject: str,
        client_id: str,
        scopes: Iterable[str],
        tenant: str | None,
        ttl: int | None = None,
        extra: dict[str, Any] | None = None,
    ) -> str:
        if self._signing is None:
            raise RuntimeError("no active signing key; run `cornerstone keys rotate`")
        now = int(time.time())
        claims: dict[str, Any] = {
            "iss": self.issuer,
            "sub": subject,
            "aud": self.audience,
            "iat": now,
            "exp": now + (ttl or self.token_ttl),
            "jti": str(new_id()),
            "client_id": client_id,
            "scope": " ".join(sorted(set(scopes))),
        }
        if tenant is not None:
            claims["tenant"] = tenant
        if extra:
            claims.update(extra)
        header = {"alg": ALGORITHM, "kid": self._signing.kid, "typ": TOKEN_TYPE}
        return jwt.encode(header, claims, self._signing)

    def sign_ticket(self, claims: dict[str, Any], ttl: int) -> str:
        """A short-lived signed note for the sign-in pages (never an access token: other
        typ and audience, which :meth:`verify` refuses)."""
        if self._signing is None:
            raise RuntimeError("no active signing key; run `cornerstone keys rotate`")
        now = int(time.time())
        body = {**claims, "iss": self.issuer, "aud": self.issuer + TICKET_AUDIENCE, "iat": now, "exp": now + ttl,
                "jti": secrets.token_urlsafe(16)}
        return jwt.encode({"alg": ALGORITHM, "kid": self._signing.kid, "typ": TICKET_TYPE}, body, self._signing)

    def read_ticket(self, ticket: str) -> dict[str, Any]:
        try:
            decoded = jwt.decode(ticket, KeySet(list(self._verifying.values())), algorithms=[ALGORITHM])
            if decoded.header.get("typ") != TICKET_TYPE:
                raise InvalidToken("not a sign-in ticket")
            jwt.JWTClaimsRegistry(
                iss={"essential": True, "value": self.issuer},
                aud={"essential": True, "value": self.issuer + TICKET_AUDIENCE},
                exp={"essential": True},
            ).validate(decoded.claims)
        except (JoseError, ValueError, TypeError) as exc:
            raise InvalidToken("the sign-in ticket is not valid") from exc
        return dict(decoded.claims)

    @staticmethod
    def kid_of(token: str) -> str | None:
        head = token.split(".", 1)[0]
        try:
            header = json.loads(base64.urlsafe_b64decode(head + "=" * (-len(head) % 4)))
        except ValueError:
            return None
        kid = header.get("kid") if isinstance(header, dict) else None
        return kid if isinstance(kid, str) else None

    def verify(self, token: str) -> Principal:
        digest = hashlib.sha256(token.encode()).digest()
        now = int(time.time())
        cached = self._verified.get(digest)
        if cached is not None:
            if cached.expires_at + CLOCK_SKEW < now:
                raise InvalidToken("the token has expired")
            return cached
        try:
            decoded = jwt.decode(token, KeySet(list(self._verifying.values())), algorithms=[ALGORITHM])
        except (JoseError, ValueError, TypeError) as exc:
            raise InvalidToken("the token signature or format is not valid") from exc
        if decoded.header.get("typ", "").lower() not in {TOKEN_TYPE, "application/at+jwt"}:
            raise InvalidToken("not an access token")
        claims = decoded.claims
        registry = jwt.JWTClaimsRegistry(
            leeway=CLOCK_SKEW,
            iss={"essential": True, "value": self.issuer},
            aud={"essential": True, "value": self.audience},
            exp={"essential": True},
            sub={"essential": True},
            client_id={"essential": True},
        )
        try:
            registry.validate(claims)
        except JoseError as exc:
            raise InvalidToken(f"claim check failed: {exc.description or exc.error}") from exc
        tenant = claims.get("tenant")
        if tenant is not None and not isinstance(tenant, str):
            raise InvalidToken("the tenant claim is not valid")
        principal = Principal(
            subject=str(claims["sub"]),
            client_id=str(claims["client_id"]),
            scopes=frozenset(str(claims.get("scope", "")).split()),
            tenant=tenant,
            token_id=str(claims.get("jti", "")),
            expires_at=int(claims["exp"]),
        )
        self._verified[digest] = principal
        if len(self._verified) > self.CACHE_SIZE:
            self._verified.popitem(last=False)
        return principal
