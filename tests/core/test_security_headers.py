"""Every answer carries the security headers (ASVS 4.0 V14.4): the authorization server's
error page and the API viewer under /schema used to send no X-Frame-Options or CSP, JSON
answers no X-Content-Type-Options, HTML pages no Referrer-Policy."""

from __future__ import annotations

from typing import Any

EXPECTED = {
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "content-security-policy": "frame-ancestors 'none'",
    "referrer-policy": "no-referrer",
}


def _security_headers(answer: Any) -> dict[str, str | None]:
    return {name: answer.headers.get(name) for name in EXPECTED}


async def test_html_pages_json_answers_and_errors_carry_the_headers(client: Any) -> None:
    answers = {
        "authorize error page": await client.get("/oauth/authorize", params={"response_type": "code",
                                                                             "client_id": "nobody"}),
        "swagger": await client.get("/schema/swagger"),
        "openapi document": await client.get("/schema/openapi.json"),
        "json": await client.get("/health/live"),
        "metadata": await client.get("/.well-known/oauth-authorization-server"),
        "problem": await client.get("/api/v1/org/group"),
        "no route": await client.get("/nothing/here"),
        "oauth error": await client.post("/oauth/token", data={"grant_type": "password"}),
    }
    assert answers["authorize error page"].headers["content-type"].startswith("text/html")
    assert answers["swagger"].headers["content-type"].startswith("text/html")
    wrong = {name: _security_headers(a) for name, a in answers.items() if _security_headers(a) != EXPECTED}
    assert not wrong, wrong


async def test_a_route_s_own_policy_is_kept(client: Any) -> None:
    # The JWKS sets its own caching; the policy adds to the answer and takes nothing from it.
    jwks = await client.get("/.well-known/jwks.json")
    assert jwks.headers["cache-control"] == "public, max-age=300"
    assert _security_headers(jwks) == EXPECTED
