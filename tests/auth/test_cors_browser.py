"""A browser front end on another origin, in a real headless Chromium: the group administrator
registers a public client for it; its page runs the authorization code flow with PKCE, trades
the code for a token with fetch(), and calls the API with it (a preflighted request) and
reads the answer and its exposed headers. A page on an origin no client registered is
blocked by the browser, token or not.

Debian's Chromium (/usr/bin/chromium), driven by Playwright's Python API.
"""

from __future__ import annotations

import json
import threading
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from playwright.async_api import Browser, Page, async_playwright

from tests.auth.conftest import HTTP_TIMEOUT, STOP_TIMEOUT, LiveServer, Realm
from tests.auth.test_browser import ARGS, CHROMIUM, WAIT_MS
from tests.conftest import TEST_CLIENT, bearer

# The front end: starts the flow, and on its redirect URI trades the code and calls the API.
SPA = """<!doctype html><meta charset=utf-8><title>partner portal</title><pre id=result></pre><script>
const API = %(api)s, CLIENT = %(client)s, REDIRECT = location.origin + "/spa";
const show = (value) => { document.getElementById("result").textContent = JSON.stringify(value); };
const b64url = (bytes) => btoa(String.fromCharCode(...new Uint8Array(bytes)))
  .replace(/\\+/g, "-").replace(/\\//g, "_").replace(/=+$/, "");
(async () => {
  const query = new URLSearchParams(location.search);
  if (!query.has("code")) {
    const verifier = b64url(crypto.getRandomValues(new Uint8Array(32)));
    const state = b64url(crypto.getRandomValues(new Uint8Array(12)));
    sessionStorage.setItem("pkce", JSON.stringify({verifier, state}));
    const challenge = b64url(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(verifier)));
    location.assign(API + "/oauth/authorize?" + new URLSearchParams({
      response_type: "code", client_id: CLIENT, redirect_uri: REDIRECT, scope: "org:read", state,
      code_challenge: challenge, code_challenge_method: "S256", ui_locales: "en"}));
    return;
  }
  const saved = JSON.parse(sessionStorage.getItem("pkce"));
  if (query.get("state") !== saved.state) { show({error: "state"}); return; }
  try {
    const tokenAnswer = await fetch(API + "/oauth/token", {method: "POST", body: new URLSearchParams({
      grant_type: "authorization_code", code: query.get("code"), redirect_uri: REDIRECT, client_id: CLIENT,
      code_verifier: saved.verifier})});
    const token = await tokenAnswer.json();
    const api = await fetch(API + "/api/v1/org/branches", {headers: {
      Authorization: "Bearer " + token.access_token, "X-Request-Id": "spa-call-1", "Accept-Language": "en"}});
    show({tokenStatus: tokenAnswer.status, scope: token.scope, accessToken: token.access_token,
          status: api.status, requestId: api.headers.get("X-Request-Id"), body: await api.json()});
  } catch (error) {
    show({error: String(error)});
  }
})();
</script>"""

# A page on an origin no client registered, trying the same calls with a stolen token.
STRANGER = """<!doctype html><meta charset=utf-8><title>elsewhere</title><pre id=result></pre><script>
async function attempt(url, init) {
  try { const answer = await fetch(url, init); return "read " + answer.status; }
  catch (error) { return "blocked"; }
}
async function run(api, token) {
  return {
    preflighted: await attempt(api + "/api/v1/org/branches", {headers: {Authorization: "Bearer " + token}}),
    simple: await attempt(api + "/health/live", {}),
  };
}
</script>"""


@dataclass
class PageServer:
    """A loopback web server serving a few pages: one origin per instance (its port)."""

    pages: dict[str, str] = field(default_factory=dict)
    port: int = 0

    @property
    def origin(self) -> str:
        return f"http://127.0.0.1:{self.port}"


@pytest.fixture
def page_servers() -> Iterator[tuple[PageServer, PageServer]]:
    servers: list[tuple[PageServer, ThreadingHTTPServer, threading.Thread]] = []
    for _ in range(2):
        state = PageServer()

        class Handler(BaseHTTPRequestHandler):
            served = state

            def do_GET(self) -> None:  # noqa: N802 - http.server's naming
                body = self.served.pages.get(urlsplit(self.path).path)
                if body is None:
                    self.send_error(404)
                    return
                data = body.encode()
                self.send_response(200)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: Any) -> None:
                pass

        httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        state.port = httpd.server_address[1]
        thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True)
        thread.start()
        servers.append((state, httpd, thread))
    try:
        yield servers[0][0], servers[1][0]
    finally:
        for _, httpd, thread in servers:
            httpd.shutdown()
            httpd.server_close()
            thread.join(timeout=STOP_TIMEOUT)


@pytest.fixture(scope="module")
async def browser() -> AsyncIterator[Browser]:
    async with async_playwright() as playwright:
        chromium = await playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True,
                                                    timeout=30_000)
        try:
            yield chromium
        finally:
            await chromium.close()


async def register_front_end(live_server: LiveServer, realm: Realm, settings: Any, db: Any,
                             redirect_uri: str) -> str:
    """The group administrator registers the portal as a public client, over the API."""
    from app.auth.tokens import KeyRing

    ring = KeyRing(issuer=live_server.issuer, audience=settings.audience, token_ttl=settings.access_token_ttl)
    async with db.platform_session() as session:
        await ring.refresh(session, force=True)
    admin = ring.mint(subject=TEST_CLIENT, client_id=TEST_CLIENT, tenant=realm.slug,
                      scopes=["identity:read", "identity:write", "org:read"])
    async with httpx.AsyncClient(timeout=HTTP_TIMEOUT) as http:
        answer = await http.post(live_server.url("/api/v1/identity/clients"), headers=bearer(admin), json={
            "kind": "public", "name": "Partner portal", "redirectUris": [redirect_uri], "allowedScopes": ["org:read"]})
    assert answer.status_code == 201, answer.text
    client = answer.json()["client"]
    assert client["browserOrigins"] == [redirect_uri.removesuffix("/spa")]
    return str(client["clientId"])


async def result_of(page: Page) -> dict[str, Any]:
    await page.wait_for_function("document.getElementById('result').textContent.length > 0")
    return dict(json.loads(await page.locator("#result").inner_text()))


async def test_a_front_end_on_another_origin_signs_in_and_calls_the_api(
        browser: Browser, live_server: LiveServer, realm: Realm, settings: Any, db: Any,
        page_servers: tuple[PageServer, PageServer]) -> None:
    portal, elsewhere = page_servers
    client_id = await register_front_end(live_server, realm, settings, db, f"{portal.origin}/spa")
    portal.pages["/spa"] = SPA % {"api": json.dumps(live_server.base_url), "client": json.dumps(client_id)}
    elsewhere.pages["/page"] = STRANGER

    context = await browser.new_context(locale="en-US")
    page = await context.new_page()
    page.set_default_timeout(WAIT_MS)
    console: list[str] = []
    page.on("console", lambda m: console.append(m.text))
    try:
        await page.goto(f"{portal.origin}/spa")
        await page.wait_for_url(f"{live_server.authorize}?**")  # the page started the flow itself
        await page.locator("#username").fill(realm.staff.username)
        await page.locator("#password").fill(realm.staff.password)
        await page.locator("#submit").click()
        await page.locator("#code").fill(realm.staff.totp())
        await page.locator("#submit").click()
        await page.locator("#allow").click()  # a partner's app: the person consents
        await page.wait_for_url(f"{portal.origin}/spa?**")
        result = await result_of(page)
        assert "error" not in result, (result, console)
        assert result["tokenStatus"] == 200 and result["scope"] == "org:read", result
        # The API's answer, and a header it exposes, were readable by the other origin's script.
        assert result["status"] == 200 and "items" in result["body"], result
        assert result["requestId"] == "spa-call-1"

        # Another origin, even holding the token, can read nothing: the browser blocks both the
        # preflighted call (the preflight is refused) and a simple one (no grant in the answer).
        await page.goto(f"{elsewhere.origin}/page")
        blocked = await page.evaluate("([api, token]) => run(api, token)",
                                      [live_server.base_url, result["accessToken"]])
        assert blocked == {"preflighted": "blocked", "simple": "blocked"}, (blocked, console)
        assert any("CORS policy" in line for line in console), console
    finally:
        await context.close()
