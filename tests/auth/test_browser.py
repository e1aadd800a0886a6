"""The sign-in pages in a real headless Chromium at phone size: password, TOTP, and the
redirect to the app's loopback redirect URI; languages; the pages refuse to be framed.

Debian's Chromium (/usr/bin/chromium), driven by Playwright's Python API; never the
browsers Playwright downloads.
"""

from __future__ import annotations

import struct
from collections.abc import AsyncIterator
from pathlib import Path
from urllib.parse import urlencode

import httpx
import pytest
from playwright.async_api import Browser, Page, async_playwright

from tests.auth.conftest import HTTP_TIMEOUT, CallbackServer, LiveServer, Realm, auth_params, pkce_pair, query_of

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]
PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True, "device_scale_factor": 2}
WAIT_MS = 15_000  # per navigation or element; argon2 and a cold server stay far below
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
async def browser() -> AsyncIterator[Browser]:
    async with async_playwright() as playwright:
        chromium = await playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True,
                                                    timeout=30_000)
        try:
            yield chromium
        finally:
            await chromium.close()


async def phone_page(browser: Browser, locale: str = "zh-CN") -> Page:
    context = await browser.new_context(**PHONE, locale=locale)
    page = await context.new_page()
    page.set_default_timeout(WAIT_MS)
    page.set_default_navigation_timeout(WAIT_MS)
    return page


def png_size(path: Path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data[:8] == PNG_SIGNATURE, f"{path} is not a PNG"
    assert data[12:16] == b"IHDR"
    width, height = struct.unpack(">II", data[16:24])
    return width, height


async def screenshot(page: Page, path: Path) -> None:
    path.unlink(missing_ok=True)  # noqa: ASYNC240 - the assertion must see this run's file
    await page.screenshot(path=str(path), full_page=True)
    assert path.is_file() and path.stat().st_size > 0  # noqa: ASYNC240 - a local file's size
    width, _ = png_size(path)
    # Rendered at phone width (CSS pixels times the device pixel ratio).
    assert width == 390 * PHONE["device_scale_factor"]


async def labels(page: Page) -> tuple[str, str, str]:
    return (await page.locator("label[for=username]").inner_text(),
            await page.locator("label[for=password]").inner_text(),
            await page.locator("#submit").inner_text())


async def test_phone_sign_in_with_totp(browser: Browser, live_server: LiveServer, realm: Realm,
                                       callback_server: CallbackServer, output_dir: Path) -> None:
    verifier, challenge = pkce_pair()
    params = auth_params(realm, challenge, state="phone-1")
    page = await phone_page(browser)
    try:
        response = await page.goto(f"{live_server.authorize}?{urlencode(params)}")
        assert response is not None and response.status == 200
        assert await page.locator("html").get_attribute("lang") == "zh-CN"
        assert await labels(page) == ("用户名", "密码", "登录")
        # Fits the phone: nothing sticks out sideways.
        assert await page.evaluate("document.documentElement.scrollWidth") <= 390
        await screenshot(page, output_dir / "oauth-sign-in-phone.png")

        await page.locator("#username").fill(realm.staff.username)
        await page.locator("#password").fill(realm.staff.password)
        await page.locator("#submit").click()
        await page.locator("#code").wait_for()
        assert await page.locator("h1").inner_text() == "两步验证"
        assert await page.locator("#code").get_attribute("autocomplete") == "one-time-code"
        await screenshot(page, output_dir / "oauth-totp-phone.png")

        hits = len(callback_server.hits)
        await page.locator("#code").fill(realm.staff.totp())
        await page.locator("#submit").click()
        await page.wait_for_url(f"{realm.redirect_uri}?**")
        await page.locator("#done").wait_for()
    finally:
        await page.context.close()

    # The app's loopback listener received the authorization response.
    assert len(callback_server.hits) == hits + 1
    answer = callback_server.hits[-1]
    assert answer["state"] == "phone-1" and answer["iss"] == live_server.issuer
    assert query_of(page.url) == answer
    async with httpx.AsyncClient(timeout=HTTP_TIMEOUT) as http:
        token = await http.post(live_server.token, data={
            "grant_type": "authorization_code", "code": answer["code"], "redirect_uri": realm.redirect_uri,
            "client_id": realm.public_client, "code_verifier": verifier})
    assert token.status_code == 200, token.text
    assert token.json()["scope"] == "jobs:read org:read"


async def test_sign_in_page_languages(browser: Browser, live_server: LiveServer, realm: Realm) -> None:
    params = auth_params(realm, pkce_pair()[1])
    page = await phone_page(browser, locale="zh-CN")
    try:
        # Chinese by default (a Chinese phone).
        await page.goto(f"{live_server.authorize}?{urlencode(params)}")
        assert await labels(page) == ("用户名", "密码", "登录")
        # ui_locales=en wins over the browser's Accept-Language.
        await page.goto(f"{live_server.authorize}?{urlencode({**params, 'ui_locales': 'en'})}")
        assert await page.locator("html").get_attribute("lang") == "en"
        assert await labels(page) == ("Username", "Password", "Sign in")
        assert await page.locator("h1").inner_text() == "Sign in"
        # The language link goes back to Chinese, keeping the authorization request.
        await page.locator("a.lang").click()
        await page.wait_for_url("**ui_locales=zh**")
        assert await labels(page) == ("用户名", "密码", "登录")
        assert query_of(page.url)["client_id"] == realm.public_client
    finally:
        await page.context.close()

    english = await phone_page(browser, locale="en-US")
    try:
        await english.goto(f"{live_server.authorize}?{urlencode(params)}")
        assert await labels(english) == ("Username", "Password", "Sign in")  # from Accept-Language
    finally:
        await english.context.close()

    # No language hint at all: Chinese.
    async with httpx.AsyncClient(timeout=HTTP_TIMEOUT) as http:
        bare = await http.get(live_server.authorize, params=params)
    assert "accept-language" not in bare.request.headers
    assert '<label for="username">用户名</label>' in bare.text


async def test_sign_in_page_cannot_be_framed(browser: Browser, live_server: LiveServer, realm: Realm,
                                             callback_server: CallbackServer) -> None:
    sign_in_url = f"{live_server.authorize}?{urlencode(auth_params(realm, pkce_pair()[1]))}"
    # A page on another origin frames the sign-in page, and (as a control) a page that allows it.
    callback_server.pages["/framing"] = (
        "<!doctype html><title>framing</title>"
        f'<iframe id="victim" src="{sign_in_url}" width="380" height="600"></iframe>'
        f'<iframe id="control" src="{callback_server.redirect_uri}?probe=1" width="380" height="100"></iframe>'
    )
    page = await phone_page(browser)
    try:
        await page.goto(callback_server.url("/framing"), wait_until="load")  # load waits for both frames
        control = await (await page.wait_for_selector("#control", state="attached")).content_frame()
        victim = await (await page.wait_for_selector("#victim", state="attached")).content_frame()
        assert control is not None and victim is not None
        assert await control.locator("#done").count() == 1  # framing works in this browser ...
        # ... but Chromium refuses the sign-in page (X-Frame-Options / frame-ancestors): its error page.
        assert victim.url == "chrome-error://chromewebdata/"
        assert await victim.locator("#username").count() == 0
    finally:
        await page.context.close()
