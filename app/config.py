"""Settings read from the environment once, validated, and frozen.

Every variable has an embedded default so that a fresh clone runs with nothing set. A bad
value stops start-up with one line that names the variable (``SettingsError``).
"""

from __future__ import annotations

import base64
import binascii
import ipaddress
import os
import re
from collections.abc import Callable, Mapping
from functools import lru_cache
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import msgspec

PROJECT_ROOT = Path(__file__).resolve().parent.parent
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


class SettingsError(ValueError):
    """A configuration value is unusable; the message names the variable."""


class Settings(msgspec.Struct, frozen=True, kw_only=True):
    # Where the embedded PostgreSQL and the local object store keep their files.
    data_dir: Path
    # postgresql://… of an external server; None starts the embedded one under data_dir.
    database_url: str | None
    # redis://… for the Celery broker; None uses the database as broker (kombu SQLAlchemy).
    redis_url: str | None
    host: str
    port: int
    web_workers: int
    # Issuer and audience of access tokens; the issuer is also the public base URL.
    issuer: str
    audience: str
    access_token_ttl: int
    max_body_bytes: int
    db_pool_size: int
    migration_concurrency: int
    # Tenant schemas kept built in advance, so that creating a tenant renames one instead of
    # running the DDL (app/tenants/spares.py); 0: none, every tenant is built from the DDL.
    spare_schemas: int
    # A periodic scan's task for one tenant is retried this many times when it fails, the
    # first retry after fanout_retry_delay seconds, each next one twice as late (app/fanout.py).
    fanout_retries: int
    fanout_retry_delay: float
    # Seconds a tenant's status may be served from the in-process cache.
    tenant_cache_ttl: float
    log_level: str
    demo_tenant: str
    # smtp[s]://[user:password@]host[:port][?from=address&starttls=1] of the mail relay the
    # outbox sends through; None logs messages instead (development and tests).
    smtp_url: str | None
    # http[s]://… of the SMS and the app-push gateways the outbox posts those messages to
    # (app/core/channels.py); None logs them instead, without recipient or text.
    sms_gateway_url: str | None
    push_gateway_url: str | None
    # https://APPID:SECRET@api.weixin.qq.com?birthday=TEMPLATE_ID&holiday=…&anniversary=… : the
    # official account the outbox sends WeChat template messages through, and the template of
    # each message kind (app/core/channels.py); None logs them instead, like the gateways above.
    wechat_url: str | None
    # Requests a minute per client IP to each of GET and POST /oauth/authorize, /oauth/token and
    # the password-reset endpoints: a brake on password guessing and mail flooding.
    auth_rate_limit: int
    # Proxies whose X-Forwarded-For is believed (IP addresses or networks); empty: none, the
    # TCP peer is the client (app/core/request_context.py).
    trusted_proxies: tuple[IPNetwork, ...]
    # Browser origins (scheme://host[:port]) allowed to call the API across origins (CORS),
    # for every tenant, besides those the active OAuth clients register (app/auth/origins.py);
    # empty: only those. A comma-separated list, or * for any origin (tokens are sent in
    # Authorization, never in cookies, so no credentials mode is involved).
    cors_origins: tuple[str, ...]
    # Object storage: an S3-compatible server when s3_endpoint is set, else local disk
    # under data_dir/objects (see app/storage and docs/storage.md).
    s3_endpoint: str | None  # http(s)://host[:port], no path
    s3_access_key: str | None
    s3_secret_key: str | None
    s3_region: str
    s3_secure: bool  # TLS to the S3 server: the endpoint's scheme, or CORNERSTONE_S3_SECURE
    s3_bucket_prefix: str
    # HMAC key of the local store's signed URLs; None: <data_dir>/storage.key, made on first use.
    storage_secret: bytes | None
    # The master key (32 bytes, base64) that wraps each tenant's data and index keys; None:
    # <data_dir>/master.key, made on first use (app/core/crypto.py load_master_key).
    master_key: str | None


def _int(lo: int, hi: int) -> Callable[[str], int]:
    def parse(raw: str) -> int:
        value = int(raw)
        if not lo <= value <= hi:
            raise ValueError(f"must be between {lo} and {hi}")
        return value

    return parse


def _float(lo: float, hi: float) -> Callable[[str], float]:
    def parse(raw: str) -> float:
        value = float(raw)
        if not lo <= value <= hi:
            raise ValueError(f"must be between {lo} and {hi}")
        return value

    return parse


def _url(*schemes: str) -> Callable[[str], str]:
    def parse(raw: str) -> str:
        parts = urlsplit(raw)
        if parts.scheme not in schemes:
            raise ValueError(f"scheme must be one of {', '.join(schemes)}")
        return raw

    return parse


def _wechat(raw: str) -> str:
    parts = urlsplit(_url("http", "https")(raw))
    if not parts.username or not parts.password or not parts.hostname:
        raise ValueError("name the official account's app id and secret: https://APPID:SECRET@api.weixin.qq.com"
                         "?birthday=TEMPLATE_ID&holiday=…")
    return raw


def _choice(*options: str) -> Callable[[str], str]:
    def parse(raw: str) -> str:
        value = raw.upper()
        if value not in options:
            raise ValueError(f"must be one of {', '.join(options)}")
        return value

    return parse


def _bool(raw: str) -> bool:
    value = raw.strip().lower()
    if value in ("1", "true", "yes", "on"):
        return True
    if value in ("0", "false", "no", "off"):
        return False
    raise ValueError("must be true or false")


def _s3_endpoint(raw: str) -> str:
    # The minio SDK takes host[:port] and a secure flag; a bare host:port is read as http.
    url = raw.strip() if "://" in raw else "http://" + raw.strip()
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https"):
        raise ValueError("scheme must be http or https")
    if not parts.hostname or parts.path not in ("", "/") or parts.query or parts.username:
        raise ValueError("must be http(s)://host[:port] with no path, query or credentials")
    parts.port  # noqa: B018  (raises ValueError for a port that is not a number in range)
    return raw.strip().rstrip("/")


def _bucket_prefix(raw: str) -> str:
    # Bucket names are <prefix><slug with - for _>: the prefix keeps them valid S3 names for
    # every slug (see app/storage/base.py bucket_name). At most 20 characters: 63 in all.
    if not re.fullmatch(r"[a-z][a-z0-9]*(?:-[a-z0-9]+)*-", raw) or len(raw) > 20:
        raise ValueError("lowercase letters, digits and single hyphens, starting with a letter, "
                         "ending with '-', at most 20 characters")
    if any(raw.startswith(r) or r.startswith(raw) for r in ("sthree-", "amzn-s3-demo-")):
        raise ValueError("S3 reserves names starting with sthree- and amzn-s3-demo-")
    return raw


def _secret_key(raw: str) -> bytes:
    try:
        key = base64.b64decode(raw.strip(), validate=True)
    except binascii.Error:
        raise ValueError("must be base64") from None
    if len(key) < 32:
        raise ValueError("must decode to at least 32 bytes")
    return key


def _master_key(raw: str) -> str:
    try:
        key = base64.b64decode(raw.strip(), validate=True)
    except binascii.Error:
        raise ValueError("must be base64") from None
    if len(key) != 32:
        raise ValueError("must decode to exactly 32 bytes")
    return raw.strip()


def _networks(raw: str) -> tuple[IPNetwork, ...]:
    networks = []
    for item in (part.strip() for part in raw.split(",")):
        if not item:
            continue
        try:
            networks.append(ipaddress.ip_network(item, strict=False))
        except ValueError:
            raise ValueError(f"{item!r} is not an IP address or network (a comma-separated list)") from None
    return tuple(networks)


def _origins(raw: str) -> tuple[str, ...]:
    from app.core.cors import normalise_origin  # the OAuth clients' origins are checked the same way

    origins = []
    for item in (part.strip() for part in raw.split(",")):
        if not item:
            continue
        if item == "*":
            origins.append(item)
            continue
        try:
            origins.append(normalise_origin(item))
        except ValueError as exc:
            raise ValueError(f"{item!r} is not an origin (scheme://host[:port], comma-separated, or *): {exc}") \
                from None
    return tuple(origins)


def _text(raw: str) -> str:
    if not raw.strip():
        raise ValueError("must not be empty")
    return raw.strip()


# variable, field, default, parser
_SPEC: list[tuple[str, str, str | None, Callable[[str], Any]]] = [
    ("CORNERSTONE_DATA_DIR", "data_dir", str(PROJECT_ROOT / ".data"), Path),
    ("DATABASE_URL", "database_url", None, _url("postgresql", "postgres", "postgresql+asyncpg")),
    ("REDIS_URL", "redis_url", None, _url("redis", "rediss")),
    ("CORNERSTONE_HOST", "host", "127.0.0.1", _text),
    ("CORNERSTONE_PORT", "port", "8000", _int(1, 65535)),
    ("CORNERSTONE_WEB_WORKERS", "web_workers", "1", _int(1, 64)),
    ("CORNERSTONE_ISSUER", "issuer", None, _url("http", "https")),
    ("CORNERSTONE_AUDIENCE", "audience", "cornerstone-api", _text),
    ("CORNERSTONE_ACCESS_TOKEN_TTL", "access_token_ttl", "900", _int(30, 900)),
    ("CORNERSTONE_MAX_BODY_BYTES", "max_body_bytes", str(1024 * 1024), _int(1024, 1024**3)),
    ("CORNERSTONE_DB_POOL_SIZE", "db_pool_size", "20", _int(1, 200)),
    ("CORNERSTONE_MIGRATION_CONCURRENCY", "migration_concurrency", "4", _int(1, 64)),
    ("CORNERSTONE_SPARE_SCHEMAS", "spare_schemas", "3", _int(0, 100)),
    ("CORNERSTONE_FANOUT_RETRIES", "fanout_retries", "3", _int(0, 10)),
    ("CORNERSTONE_FANOUT_RETRY_DELAY", "fanout_retry_delay", "30", _float(0.1, 600)),
    ("CORNERSTONE_TENANT_CACHE_TTL", "tenant_cache_ttl", "2", _float(0, 300)),
    ("CORNERSTONE_LOG_LEVEL", "log_level", "INFO", _choice("DEBUG", "INFO", "WARNING", "ERROR")),
    ("CORNERSTONE_DEMO_TENANT", "demo_tenant", "demo", _text),
    ("CORNERSTONE_SMTP_URL", "smtp_url", None, _url("smtp", "smtps")),
    ("CORNERSTONE_SMS_GATEWAY_URL", "sms_gateway_url", None, _url("http", "https")),
    ("CORNERSTONE_PUSH_GATEWAY_URL", "push_gateway_url", None, _url("http", "https")),
    ("CORNERSTONE_WECHAT_URL", "wechat_url", None, _wechat),
    ("CORNERSTONE_AUTH_RATE_LIMIT", "auth_rate_limit", "30", _int(1, 1_000_000)),
    ("CORNERSTONE_TRUSTED_PROXIES", "trusted_proxies", None, _networks),
    ("CORNERSTONE_CORS_ORIGINS", "cors_origins", None, _origins),
    ("CORNERSTONE_S3_ENDPOINT", "s3_endpoint", None, _s3_endpoint),
    ("CORNERSTONE_S3_ACCESS_KEY", "s3_access_key", None, _text),
    ("CORNERSTONE_S3_SECRET_KEY", "s3_secret_key", None, _text),
    ("CORNERSTONE_S3_REGION", "s3_region", "us-east-1", _text),
    ("CORNERSTONE_S3_SECURE", "s3_secure", None, _bool),
    ("CORNERSTONE_S3_BUCKET_PREFIX", "s3_bucket_prefix", "cs-", _bucket_prefix),
    ("CORNERSTONE_STORAGE_SECRET", "storage_secret", None, _secret_key),
    ("CORNERSTONE_MASTER_KEY", "master_key", None, _master_key),
]

# Their values never appear in an error message.
_SECRET_VARIABLES = frozenset({"CORNERSTONE_S3_SECRET_KEY", "CORNERSTONE_STORAGE_SECRET", "CORNERSTONE_SMTP_URL",
                               "CORNERSTONE_MASTER_KEY", "CORNERSTONE_SMS_GATEWAY_URL",
                               "CORNERSTONE_PUSH_GATEWAY_URL", "CORNERSTONE_WECHAT_URL"})

ENVIRONMENT_VARIABLES = [(var, default) for var, _, default, _ in _SPEC]


def load_settings(environ: dict[str, str] | None = None) -> Settings:
    env = os.environ if environ is None else environ
    values: dict[str, Any] = {}
    for var, field, default, parse in _SPEC:
        raw = env.get(var) or default
        if raw is None:
            values[field] = None
            continue
        try:
            values[field] = parse(raw)
        except (ValueError, TypeError) as exc:
            shown = "<hidden>" if var in _SECRET_VARIABLES else repr(raw)
            raise SettingsError(f"{var}={shown} is invalid: {exc}") from None
    if values["issuer"] is None:
        host = values["host"]
        if ":" in host and not host.startswith("["):
            host = f"[{host}]"  # an IPv6 literal needs brackets in a URL
        values["issuer"] = f"http://{host}:{values['port']}"
    values["issuer"] = values["issuer"].rstrip("/")
    values["trusted_proxies"] = values["trusted_proxies"] or ()
    values["cors_origins"] = values["cors_origins"] or ()
    _check_s3(env, values)
    return Settings(**values)


def _check_s3(env: Mapping[str, str], values: dict[str, Any]) -> None:
    endpoint = values["s3_endpoint"]
    secure = values["s3_secure"]
    if endpoint is None:
        values["s3_secure"] = bool(secure)
        return
    for var, field in (("CORNERSTONE_S3_ACCESS_KEY", "s3_access_key"), ("CORNERSTONE_S3_SECRET_KEY", "s3_secret_key")):
        if values[field] is None:
            raise SettingsError(f"{var} is required when CORNERSTONE_S3_ENDPOINT is set")
    if "://" in endpoint:
        by_scheme = endpoint.startswith("https://")
        if secure is not None and secure != by_scheme:
            raise SettingsError(f"CORNERSTONE_S3_SECURE={env.get('CORNERSTONE_S3_SECURE')!r} is invalid: "
                                f"contradicts the scheme of CORNERSTONE_S3_ENDPOINT")
        values["s3_secure"] = by_scheme
    else:
        values["s3_secure"] = bool(secure)


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return load_settings()
