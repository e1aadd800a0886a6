"""JSON bodies nested deeper than MAX_JSON_DEPTH are refused with a 400 problem on every
route: about 1,500 levels made the decoder raise RecursionError (a 500, also on the
unauthenticated password reset), and a few hundred under a free-form field reached the JSONB
encoder, which recurses too."""

from __future__ import annotations

import uuid
from typing import Any

import msgspec
import pytest

from app.core.http_policy import MAX_JSON_DEPTH, too_deep
from tests.conftest import bearer
from tests.routes import CLIENT, FACTORIES, Ctx

PROBLEM = "urn:cornerstone:problem:"


def nested(depth: int, leaf: Any = "x") -> Any:
    """``depth`` levels of arrays and objects, alternating, around ``leaf``."""
    value = leaf
    for level in range(depth):
        value = [value] if level % 2 else {"k": value}
    return value


def test_depth_is_counted_exactly() -> None:
    assert msgspec.json.decode(nested_text(5)) == nested(5)
    assert not too_deep(nested(MAX_JSON_DEPTH)) and too_deep(nested(MAX_JSON_DEPTH + 1))
    assert not too_deep({"a": [1, 2, {"b": None}], "c": "d"}) and not too_deep("scalar")
    assert too_deep([[]] * 3 + [nested(MAX_JSON_DEPTH)])  # the deepest branch counts, not the first


def nested_text(depth: int) -> str:
    """``nested(depth)`` as JSON text (encoders recurse too, and give up long before 100,000)."""
    opening = "".join("[" if level % 2 else '{"k":' for level in reversed(range(depth)))
    closing = "".join("]" if level % 2 else "}" for level in range(depth))
    return opening + '"x"' + closing


def _assert_malformed(answer: Any) -> None:
    assert answer.status_code == 400, answer.text
    assert answer.headers["content-type"].startswith("application/problem+json")
    body = answer.json()
    assert body["type"] == PROBLEM + "malformed-body" and "nested" in body["detail"], body


@pytest.mark.parametrize("depth", [1500, 5000, 100_000])
async def test_deep_nesting_on_the_unauthenticated_password_reset(client: Any, depth: int) -> None:
    for raw in ('{"username": ' + nested_text(depth) + "}", '{"username": ' + "[" * depth + "]" * depth + "}"):
        _assert_malformed(await client.post("/oauth/password-reset", content=raw,
                                            headers={"content-type": "application/json"}))


async def test_deep_nesting_under_a_free_form_field(client: Any, db: Any, new_tenant: Any, mint: Any) -> None:
    """An approval request's payload takes any object; its depth is bounded all the same."""
    slug = await new_tenant("deep")
    auth = bearer(mint(tenant=slug, subject=CLIENT))
    ctx = Ctx(client=client, db=db, tenant=slug, subject=CLIENT, auth=auth, mark=uuid.uuid4().hex[:8])
    body = (await FACTORIES["/api/v1/approvals/requests"](ctx)).bodies["POST"]
    for depth in (MAX_JSON_DEPTH, 200, 900, 1500):
        # The body is one level, the payload the next: payload nested depth-1 deep makes depth in all.
        raw = msgspec.json.encode({**body, "payload": "@"}).replace(b'"@"', nested_text(depth - 1).encode())
        answer = await client.post("/api/v1/approvals/requests", content=raw,
                                   headers={**auth, "content-type": "application/json"})
        if depth <= MAX_JSON_DEPTH:
            assert answer.status_code == 201, answer.text
        else:
            _assert_malformed(answer)
