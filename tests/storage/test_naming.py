"""Bucket names: valid S3 names for every tenant slug, and one bucket per slug (the
mapping has an inverse, so two slugs never share a bucket)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import settings as hsettings
from hypothesis import strategies as st
from minio.helpers import check_bucket_name

from app.storage.base import InvalidKey, bucket_name, is_valid_bucket_name, tenant_of_bucket
from app.tenants.models import SLUG_MAX, slug_problem

# Tenant slugs as app/tenants/models.py defines them: words of [a-z0-9] joined by single
# underscores, starting with a letter, 3 to 40 characters.
slugs = st.builds(
    lambda first, rest, words: "_".join([first + rest, *words]),
    st.sampled_from("abcdefghijklmnopqrstuvwxyz"),
    st.text("abcdefghijklmnopqrstuvwxyz0123456789", max_size=8),
    st.lists(st.text("abcdefghijklmnopqrstuvwxyz0123456789s3alias", min_size=1, max_size=8), max_size=5),
).filter(lambda s: 3 <= len(s) <= SLUG_MAX)
prefixes = st.sampled_from(["cs-", "c-", "acme-prod-cs-", "x1-y2-", "a" * 19 + "-"])


def _valid_s3(name: str) -> None:
    check_bucket_name(name, strict=True, s3_check=True)  # the SDK's own rules, as a second opinion
    assert is_valid_bucket_name(name)


@hsettings(max_examples=500)
@given(prefixes, slugs)
def test_every_slug_maps_to_a_valid_bucket_and_back(prefix: str, slug: str) -> None:
    name = bucket_name(prefix, slug)
    _valid_s3(name)
    assert len(name) <= 63 and "_" not in name
    assert tenant_of_bucket(prefix, name) == slug


@hsettings(max_examples=300)
@given(prefixes, slugs, slugs)
def test_different_slugs_never_share_a_bucket(prefix: str, one: str, two: str) -> None:
    if one != two:
        assert bucket_name(prefix, one) != bucket_name(prefix, two)


@pytest.mark.parametrize(("slug", "name"), [
    ("acme", "cs-acme"),
    ("acme_group", "cs-acme-group"),
    ("acme_group_2", "cs-acme-group-2"),
    ("x" * 40, "cs-" + "x" * 40),
    # AWS reserves names ending in -s3alias: escaped with "--0", which no plain name contains.
    ("files_s3alias", "cs-files-s3alias--0"),
])
def test_examples(slug: str, name: str) -> None:
    assert slug_problem(slug) is None
    assert bucket_name("cs-", slug) == name
    _valid_s3(name)
    assert tenant_of_bucket("cs-", name) == slug


def test_names_that_are_not_ours_have_no_tenant() -> None:
    for name in ["other-acme", "cs-acme--0", "cs-Acme", "cs-", "cs-acme_x", "cs-acme-"]:
        assert tenant_of_bucket("cs-", name) is None


@pytest.mark.parametrize("slug", ["ab", "Acme", "acme-group", "acme__group", "acme_", "1acme", "x" * 41, "a.b"])
def test_non_slugs_have_no_bucket(slug: str) -> None:
    with pytest.raises(InvalidKey):
        bucket_name("cs-", slug)
