"""Times in request bodies: an offset is required (a time without one names no instant), and
times on 0001-01-01 or 9999-12-31 are refused (in some offsets they fall outside the calendar in
UTC, where they are stored). Both are 422 naming the field, in every domain, nested or not."""

from __future__ import annotations

from typing import Any

import msgspec
import pytest

from app.core.schemas import Input, Instant
from tests.conftest import bearer

PROBLEM = "urn:cornerstone:problem:"


class _Inner(Input):
    at: Instant


class _Outer(Input):
    when: Instant
    inner: _Inner | None = None


@pytest.mark.parametrize("body, field", [
    (b'{"when": "0001-01-01T00:30:00+01:00"}', None),
    (b'{"when": "9999-12-31T23:00:00-05:00"}', None),
    (b'{"when": "2026-05-06T10:00:00+08:00", "inner": {"at": "0001-01-01T00:00:00Z"}}', "inner"),
])
def test_edge_days_are_refused_at_their_field(body: bytes, field: str | None) -> None:
    with pytest.raises(msgspec.ValidationError) as refused:
        msgspec.json.decode(body, type=_Outer)
    assert "cannot be stored" in str(refused.value)
    assert str(refused.value).endswith("`$.at` - at `$.inner`" if field else "`$.when`")


def test_ordinary_times_pass() -> None:
    decoded = msgspec.json.decode(b'{"when": "0001-01-02T00:00:00Z", "inner": {"at": "2026-05-06T10:00:00+08:00"}}',
                                  type=_Outer)
    assert decoded.inner is not None and decoded.inner.at.utcoffset() is not None


async def test_inquiries_and_consents_refuse_naive_and_unstorable_times(
        client: Any, new_tenant: Any, mint: Any) -> None:
    slug = await new_tenant("instants")
    auth = bearer(mint(tenant=slug))
    branch = (await client.post("/api/v1/org/branches", headers=auth, json={"code": "B1", "name": "分公司"})).json()
    project = (await client.post("/api/v1/org/projects", headers=auth, json={
        "branchId": branch["id"], "code": "P1", "name": "项目"})).json()
    inquiry = {"channel": "hotline", "projectId": project["id"], "subject": "交付时间", "description": "何时交付",
               "contactNote": "王先生"}
    for value in ("2026-05-06T10:00:00", "0001-01-01T00:30:00+01:00", "9999-12-31T23:59:59-01:00"):
        refused = await client.post("/api/v1/inquiries", headers=auth, json={**inquiry, "promisedReplyAt": value})
        assert refused.status_code == 422, (value, refused.text)
        assert refused.json()["type"] == PROBLEM + "validation"
        assert [e["field"] for e in refused.json()["errors"]] == ["promisedReplyAt"], refused.text
    accepted = await client.post("/api/v1/inquiries", headers=auth,
                                 json={**inquiry, "promisedReplyAt": "2026-05-06T10:00:00+08:00"})
    assert accepted.status_code == 201, accepted.text

    customer = (await client.post("/api/v1/customers", headers=auth, json={
        "kind": "person", "name": "王先生", "source": "hotline", "purpose": "咨询", "nodeId": project["id"],
        "consents": [{"kind": "marketing", "purpose": "节日问候", "channel": "phone",
                      "grantedAt": "2026-05-06T10:00:00+08:00"}]})).json()
    consent = (await client.get(f"/api/v1/customers/{customer['id']}/consents", headers=auth)).json()["items"][0]
    naive = await client.post(f"/api/v1/customers/consents/{consent['id']}/withdraw", headers=auth,
                              json={"channel": "phone", "withdrawnAt": "2026-06-01T09:00:00"})
    assert naive.status_code == 422 and naive.json()["errors"][0]["field"] == "withdrawnAt", naive.text
