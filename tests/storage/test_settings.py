"""The storage settings: S3 only when an endpoint is set, TLS from its scheme, one line
naming the variable for every bad value, and secrets never echoed."""

from __future__ import annotations

import base64

import pytest

from app.config import SettingsError, load_settings
from app.storage import LocalStore, S3Store, make_store

S3 = {"CORNERSTONE_S3_ENDPOINT": "http://127.0.0.1:9000", "CORNERSTONE_S3_ACCESS_KEY": "ak",
      "CORNERSTONE_S3_SECRET_KEY": "sk-value"}


def test_defaults_are_the_local_store() -> None:
    s = load_settings({})
    assert (s.s3_endpoint, s.s3_access_key, s.s3_secret_key, s.storage_secret) == (None, None, None, None)
    assert (s.s3_region, s.s3_secure, s.s3_bucket_prefix) == ("us-east-1", False, "cs-")
    store = make_store(s)
    assert isinstance(store, LocalStore) and store.root == s.data_dir / "objects"
    assert store.base_url == s.issuer


def test_an_endpoint_selects_s3_with_tls_from_its_scheme() -> None:
    s = load_settings(S3)
    assert s.s3_secure is False and isinstance(make_store(s), S3Store)
    s = load_settings({**S3, "CORNERSTONE_S3_ENDPOINT": "https://s3.eu-central-1.amazonaws.com/",
                       "CORNERSTONE_S3_REGION": "eu-central-1"})
    assert s.s3_secure is True and s.s3_endpoint == "https://s3.eu-central-1.amazonaws.com"
    store = make_store(s)
    assert isinstance(store, S3Store) and store.secure and store.region == "eu-central-1"
    # A bare host:port takes CORNERSTONE_S3_SECURE (false by default).
    assert load_settings({**S3, "CORNERSTONE_S3_ENDPOINT": "minio:9000"}).s3_secure is False
    assert load_settings({**S3, "CORNERSTONE_S3_ENDPOINT": "minio:9000", "CORNERSTONE_S3_SECURE": "true"}).s3_secure


def test_a_storage_secret_is_base64() -> None:
    key = bytes(range(32))
    assert load_settings({"CORNERSTONE_STORAGE_SECRET": base64.b64encode(key).decode()}).storage_secret == key


@pytest.mark.parametrize(("var", "value"), [
    ("CORNERSTONE_S3_ENDPOINT", "ftp://minio:9000"),
    ("CORNERSTONE_S3_ENDPOINT", "http://minio:9000/bucket"),
    ("CORNERSTONE_S3_ENDPOINT", "http://user:pw@minio:9000"),
    ("CORNERSTONE_S3_ENDPOINT", "http://minio:99999"),
    ("CORNERSTONE_S3_SECURE", "maybe"),
    ("CORNERSTONE_S3_BUCKET_PREFIX", "CS-"),
    ("CORNERSTONE_S3_BUCKET_PREFIX", "cs"),
    ("CORNERSTONE_S3_BUCKET_PREFIX", "cs_"),
    ("CORNERSTONE_S3_BUCKET_PREFIX", "cs--"),
    ("CORNERSTONE_S3_BUCKET_PREFIX", "a-very-long-prefix-for-buckets-"),
    ("CORNERSTONE_S3_BUCKET_PREFIX", "sthree-"),
    ("CORNERSTONE_S3_BUCKET_PREFIX", "amzn-"),
    ("CORNERSTONE_S3_REGION", " "),
])
def test_bad_values_name_the_variable(var: str, value: str) -> None:
    with pytest.raises(SettingsError) as caught:
        load_settings({**S3, var: value})
    message = str(caught.value)
    assert message.startswith(f"{var}=") and repr(value) in message and "\n" not in message


@pytest.mark.parametrize("value", ["not base64!", base64.b64encode(b"short").decode()])
def test_a_bad_secret_is_named_but_not_shown(value: str) -> None:
    with pytest.raises(SettingsError) as caught:
        load_settings({"CORNERSTONE_STORAGE_SECRET": value})
    message = str(caught.value)
    assert message.startswith("CORNERSTONE_STORAGE_SECRET=") and value not in message


@pytest.mark.parametrize("missing", ["CORNERSTONE_S3_ACCESS_KEY", "CORNERSTONE_S3_SECRET_KEY"])
def test_an_endpoint_needs_both_keys(missing: str) -> None:
    with pytest.raises(SettingsError) as caught:
        load_settings({k: v for k, v in S3.items() if k != missing})
    assert str(caught.value).startswith(missing)


def test_secure_must_agree_with_the_scheme() -> None:
    with pytest.raises(SettingsError) as caught:
        load_settings({**S3, "CORNERSTONE_S3_SECURE": "true"})
    assert str(caught.value).startswith("CORNERSTONE_S3_SECURE=")


def test_every_storage_variable_is_in_the_readme() -> None:
    from app.config import ENVIRONMENT_VARIABLES, PROJECT_ROOT

    readme = (PROJECT_ROOT / "README.md").read_text()
    for var, _ in ENVIRONMENT_VARIABLES:
        if "_S3_" in var or var == "CORNERSTONE_STORAGE_SECRET":
            assert f"`{var}`" in readme, var
