"""The group administrator's OAuth clients: register, read, change, rotate the secret, disable;
a secret is shown once and never again, and another tenant's client is not found."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import select

from app.auth.models import OAuthClient
from app.auth.server import digest
from app.core.idempotency import tenant_keys
from tests.conftest import bearer
from tests.identity.conftest import (
    add_refresh_tokens,
    assert_no_secrets,
    assert_problem,
    audit_rows,
    live_refresh_tokens,
)

CLIENTS = "/api/v1/identity/clients"


async def _token(client: Any, client_id: str, secret: str) -> Any:
    return await client.post("/oauth/token", data={"grant_type": "client_credentials", "scope": "org:read"},
                             auth=(client_id, secret))


async def test_confidential_client_secret_is_shown_once(client: Any, db: Any, new_tenant: Any, mint: Any) -> None:
    slug = await new_tenant("idcli")
    auth = bearer(mint(tenant=slug))
    created = await client.post(CLIENTS, json={"kind": "confidential", "name": "Sales office system",
                                               "allowedScopes": ["org:read", "jobs:read"]}, headers=auth)
    assert created.status_code == 201, created.text
    assert created.headers["cache-control"] == "no-store"
    body = created.json()
    secret = body["clientSecret"]
    c = body["client"]
    assert len(secret) >= 43 and c["kind"] == "confidential" and c["grantTypes"] == ["client_credentials"]
    assert c["redirectUris"] == [] and c["firstParty"] is False and c["status"] == "active"
    url = created.headers["location"]
    assert url == f"{CLIENTS}/{c['id']}"

    # Never again: not in a read, a list, the database or the audit log.
    fetched = await client.get(url, headers=auth)
    assert fetched.status_code == 200 and secret not in fetched.text and "clientSecret" not in fetched.json()
    listed = await client.get(CLIENTS, headers=auth)
    assert secret not in listed.text and listed.json()["total"] == 1
    assert_no_secrets(fetched.json())
    assert_no_secrets(listed.json())
    async with db.platform_session() as session:
        row = await session.scalar(select(OAuthClient).where(OAuthClient.id == uuid.UUID(c["id"])))
    assert row is not None and row.secret_hash == digest(secret)
    assert all(secret not in str(r) for r in await audit_rows(db, slug, c["clientId"]))

    # The secret works at the token endpoint; after rotation only the new one does.
    issued = await _token(client, c["clientId"], secret)
    assert issued.status_code == 200, issued.text
    rotated = await client.post(url + "/secret", json={"reason": "leaked in a log"},
                                headers={**auth, "If-Match": fetched.headers["etag"]})
    assert rotated.status_code == 200, rotated.text
    new_secret = rotated.json()["clientSecret"]
    assert new_secret != secret and rotated.json()["client"]["secretRotatedAt"] is not None
    assert rotated.headers["etag"] != fetched.headers["etag"]
    assert (await _token(client, c["clientId"], secret)).status_code == 401
    assert (await _token(client, c["clientId"], new_secret)).status_code == 200
    assert new_secret not in (await client.get(url, headers=auth)).text

    # Disabled: no more tokens.
    disabled = await client.post(url + "/disable", json={"reason": "contract ended"},
                                 headers={**auth, "If-Match": rotated.headers["etag"]})
    assert disabled.status_code == 200 and disabled.json()["status"] == "disabled"
    assert (await _token(client, c["clientId"], new_secret)).status_code in (400, 401)
    assert_problem(await client.post(url + "/disable", json={"reason": "again"},
                                     headers={**auth, "If-Match": disabled.headers["etag"]}), 409, "conflict")

    rows = await audit_rows(db, slug, c["clientId"])
    writes = [r.action for r in rows if not r.action.startswith("oauth.token")]
    assert writes == ["oauth_client.create", "oauth_client.rotate_secret", "oauth_client.disable"], writes
    assert {r.action: r.reason for r in rows}["oauth_client.disable"] == "contract ended"


async def test_public_client_and_updates(client: Any, db: Any, new_tenant: Any, person: Any, mint: Any) -> None:
    slug = await new_tenant("idpub")
    auth = bearer(mint(tenant=slug))
    created = await client.post(CLIENTS, json={
        "kind": "public", "name": "Sunshine Life", "redirectUris": ["com.sunshine.app:/oauth/callback"],
        "allowedScopes": ["org:read", "account:self"]}, headers=auth)
    assert created.status_code == 201, created.text
    assert created.json()["clientSecret"] is None
    c = created.json()["client"]
    assert c["grantTypes"] == ["authorization_code", "refresh_token"]
    url = created.headers["location"]
    etag = created.headers["etag"]

    change = {"name": "Sunshine Life 2", "redirectUris": ["http://127.0.0.1:8765/callback",
                                                          "https://app.example.com/cb"]}
    assert_problem(await client.patch(url, json=change, headers={**auth, "If-Match": '"0"'}), 412,
                   "precondition-failed")
    patched = await client.patch(url, json=change, headers={**auth, "If-Match": etag})
    assert patched.status_code == 200, patched.text
    assert patched.json()["name"] == "Sunshine Life 2" and patched.json()["redirectUris"] == change["redirectUris"]
    etag = patched.headers["etag"]

    # Redirect URIs: https, loopback http or an app scheme; never a look-alike host or a fragment.
    for bad in ["http://app.example.com/cb", "http://localhost.evil.example/cb", "https://app.example.com/cb#x",
                "javascript:alert(1)", "https://"]:
        answer = await client.patch(url, json={"redirectUris": [bad]}, headers={**auth, "If-Match": etag})
        body = assert_problem(answer, 422, "validation")
        assert body["errors"][0]["field"].startswith("redirectUris"), (bad, body)
        registered = await client.post(CLIENTS, json={"kind": "public", "name": "x", "redirectUris": [bad]},
                                       headers=auth)
        assert_problem(registered, 422, "validation")
    assert_problem(await client.patch(url, json={"redirectUris": []}, headers={**auth, "If-Match": etag}), 422,
                   "validation")
    assert_problem(await client.patch(url, json={"allowedScopes": ["org:admin"]}, headers={**auth, "If-Match": etag}),
                   422, "validation")
    # A public client has no secret to rotate.
    assert_problem(await client.post(url + "/secret", json={"reason": "x"}, headers={**auth, "If-Match": etag}),
                   409, "conflict")

    # Disabling revokes the client's refresh tokens.
    signed_in = await person(slug)
    await add_refresh_tokens(db, signed_in.id, client_id=c["clientId"])
    disabled = await client.post(url + "/disable", json={"reason": "replaced"}, headers={**auth, "If-Match": etag})
    assert disabled.status_code == 200, disabled.text
    assert await live_refresh_tokens(db, client_id=c["clientId"]) == 0

    rows = [r.action for r in await audit_rows(db, slug, c["clientId"])]
    assert rows == ["oauth_client.create", "oauth_client.update", "oauth_client.disable"], rows

    listed = await client.get(CLIENTS, params={"kind": "public", "status": "disabled", "q": "sunshine"}, headers=auth)
    assert [x["id"] for x in listed.json()["items"]] == [c["id"]]


async def test_confidential_clients_take_no_redirect_uris(client: Any, new_tenant: Any, mint: Any) -> None:
    slug = await new_tenant("idcnf")
    auth = bearer(mint(tenant=slug))
    extra = await client.post(CLIENTS, json={"kind": "confidential", "name": "x",
                                             "redirectUris": ["https://a.example/cb"]}, headers=auth)
    assert_problem(extra, 422, "validation")
    created = await client.post(CLIENTS, json={"kind": "confidential", "name": "Partner"}, headers=auth)
    assert created.status_code == 201, created.text
    patched = await client.patch(created.headers["location"], json={"redirectUris": ["https://a.example/cb"]},
                                 headers={**auth, "If-Match": created.headers["etag"]})
    assert assert_problem(patched, 422, "validation")["errors"][0]["field"] == "redirectUris"
    no_kind = await client.post(CLIENTS, json={"name": "x"}, headers=auth)
    assert_problem(no_kind, 422, "validation")


async def test_a_replayed_registration_does_not_show_the_secret(client: Any, db: Any, new_tenant: Any,
                                                                mint: Any) -> None:
    slug = await new_tenant("idrep")
    auth = bearer(mint(tenant=slug), **{"Idempotency-Key": "register-1"})
    body = {"kind": "confidential", "name": "Back end"}
    first = await client.post(CLIENTS, json=body, headers=auth)
    again = await client.post(CLIENTS, json=body, headers=auth)
    assert first.status_code == again.status_code == 201
    secret = first.json()["clientSecret"]
    assert secret and again.json()["clientSecret"] is None  # never stored in clear, so never replayed
    assert again.json()["client"] == first.json()["client"] and again.headers["idempotent-replayed"] == "true"
    async with db.tenant_session(f"t_{slug}") as session:
        stored = (await session.scalars(select(tenant_keys.c.body))).all()
    assert stored and all(secret.encode() not in b for b in stored)


async def test_another_tenants_clients_are_not_found(client: Any, new_tenant: Any, mint: Any) -> None:
    a = await new_tenant("idcis_a")
    b = await new_tenant("idcis_b")
    auth_a, auth_b = bearer(mint(tenant=a)), bearer(mint(tenant=b))
    created = await client.post(CLIENTS, json={"kind": "confidential", "name": "A's partner"}, headers=auth_a)
    url = created.headers["location"]
    original = await client.get(url, headers=auth_a)
    headers = {**auth_b, "If-Match": original.headers["etag"]}
    for method, path, body in [("GET", url, None), ("PATCH", url, {"name": "B"}),
                               ("POST", url + "/secret", {"reason": "B"}), ("POST", url + "/disable", {"reason": "B"})]:
        answer = await client.request(method, path, json=body, headers=headers)
        assert_problem(answer, 404, "not-found")
        assert "A's partner" not in answer.text
    assert (await client.get(CLIENTS, headers=auth_b)).json()["total"] == 0
    after = await client.get(url, headers=auth_a)
    assert after.json() == original.json()
