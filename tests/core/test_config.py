"""Settings: sane embedded defaults with nothing set, and one clear line naming the
variable for every bad value (start-up must never fail with a bare traceback)."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.config import ENVIRONMENT_VARIABLES, PROJECT_ROOT, SettingsError, load_settings


def test_defaults_with_an_empty_environment() -> None:
    s = load_settings({})
    assert s.data_dir == PROJECT_ROOT / ".data" and isinstance(s.data_dir, Path)
    # No servers configured: the embedded PostgreSQL and the database-backed broker.
    assert s.database_url is None and s.redis_url is None
    assert (s.host, s.port, s.web_workers) == ("127.0.0.1", 8000, 1)
    assert s.issuer == "http://127.0.0.1:8000"
    assert s.audience == "cornerstone-api"
    assert 30 <= s.access_token_ttl <= 900
    assert s.max_body_bytes == 1024 * 1024
    assert s.db_pool_size >= 1 and s.migration_concurrency >= 1
    assert s.tenant_cache_ttl == 2.0
    assert s.log_level == "INFO"
    assert s.demo_tenant == "demo"
    assert s.spare_schemas == 3


def test_empty_values_fall_back_to_defaults() -> None:
    # `FOO=` in an env file means "not set", not "set to nothing".
    assert load_settings({var: "" for var, _ in ENVIRONMENT_VARIABLES}) == load_settings({})


def test_issuer_is_derived_from_host_and_port() -> None:
    assert load_settings({"CORNERSTONE_HOST": "api.example.cn", "CORNERSTONE_PORT": "9000"}).issuer == \
        "http://api.example.cn:9000"
    # An IPv6 literal needs brackets to make a URL at all.
    assert load_settings({"CORNERSTONE_HOST": "::1", "CORNERSTONE_PORT": "8443"}).issuer == "http://[::1]:8443"
    # An explicit issuer wins, without its trailing slash (it prefixes every endpoint URL).
    explicit = load_settings({"CORNERSTONE_ISSUER": "https://id.example.cn/", "CORNERSTONE_PORT": "9000"})
    assert explicit.issuer == "https://id.example.cn"


def test_valid_values_are_parsed() -> None:
    s = load_settings({
        "DATABASE_URL": "postgresql://u:p@db:5432/cs", "REDIS_URL": "rediss://cache:6380/0",
        "CORNERSTONE_PORT": "65535", "CORNERSTONE_LOG_LEVEL": "debug", "CORNERSTONE_TENANT_CACHE_TTL": "0.5",
        "CORNERSTONE_HOST": "  0.0.0.0 ", "CORNERSTONE_SPARE_SCHEMAS": "0",
    })
    assert s.database_url == "postgresql://u:p@db:5432/cs" and s.redis_url == "rediss://cache:6380/0"
    assert s.spare_schemas == 0  # 0 turns the pool off
    assert s.port == 65535 and s.log_level == "DEBUG" and s.tenant_cache_ttl == 0.5 and s.host == "0.0.0.0"  # noqa: S104 - parsed, not bound


@pytest.mark.parametrize(("var", "value"), [
    ("CORNERSTONE_PORT", "0"),
    ("CORNERSTONE_PORT", "65536"),
    ("CORNERSTONE_PORT", "-1"),
    ("CORNERSTONE_PORT", "http"),
    ("CORNERSTONE_PORT", "80.5"),
    ("CORNERSTONE_WEB_WORKERS", "0"),
    ("CORNERSTONE_WEB_WORKERS", "many"),
    ("CORNERSTONE_ACCESS_TOKEN_TTL", "86400"),  # access tokens stay short-lived
    ("CORNERSTONE_ACCESS_TOKEN_TTL", "5"),
    ("CORNERSTONE_MAX_BODY_BYTES", "1MB"),
    ("CORNERSTONE_DB_POOL_SIZE", "0"),
    ("CORNERSTONE_MIGRATION_CONCURRENCY", "1000"),
    ("CORNERSTONE_SPARE_SCHEMAS", "-1"),
    ("CORNERSTONE_SPARE_SCHEMAS", "101"),
    ("CORNERSTONE_SPARE_SCHEMAS", "three"),
    ("CORNERSTONE_TENANT_CACHE_TTL", "soon"),
    ("CORNERSTONE_TENANT_CACHE_TTL", "-1"),
    ("CORNERSTONE_TENANT_CACHE_TTL", "nan"),
    ("CORNERSTONE_TENANT_CACHE_TTL", "inf"),
    ("DATABASE_URL", "mysql://root@localhost/cs"),
    ("DATABASE_URL", "localhost:5432/cs"),
    ("DATABASE_URL", "sqlite:///cs.db"),
    ("REDIS_URL", "http://127.0.0.1:6379"),
    ("REDIS_URL", "127.0.0.1:6379"),
    ("CORNERSTONE_ISSUER", "ftp://id.example.cn"),
    ("CORNERSTONE_ISSUER", "id.example.cn"),
    ("CORNERSTONE_LOG_LEVEL", "LOUD"),
    ("CORNERSTONE_LOG_LEVEL", "TRACE"),
    ("CORNERSTONE_HOST", "   "),
    ("CORNERSTONE_AUDIENCE", " "),
])
def test_bad_value_names_the_variable(var: str, value: str) -> None:
    with pytest.raises(SettingsError) as caught:
        load_settings({var: value})
    message = str(caught.value)
    assert message.startswith(f"{var}="), message
    assert repr(value) in message and "\n" not in message


def test_every_variable_is_documented_with_its_default() -> None:
    names = [var for var, _ in ENVIRONMENT_VARIABLES]
    assert len(names) == len(set(names))
    assert all(var.isupper() for var in names)


def test_every_variable_is_in_the_readme_with_its_default() -> None:
    readme = (PROJECT_ROOT / "README.md").read_text()
    rows = {line.split("|")[1]: line for line in readme.splitlines() if line.startswith("| `")}
    for var, default in ENVIRONMENT_VARIABLES:
        [row] = [line for first, line in rows.items() if f"`{var}`" in first]
        # The data directory's default is the absolute path of the checkout, shown as ./.data.
        if default is not None and var != "CORNERSTONE_DATA_DIR":
            assert f"`{default}`" in row, (var, default)
