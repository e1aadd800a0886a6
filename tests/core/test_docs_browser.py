"""/docs in a real headless Chromium with every request off the server refused: the viewer
renders the operations from the document it loads by URL, and its Authorize dialog offers
the authorization code flow (with PKCE) and client credentials.

Debian's Chromium (/usr/bin/chromium, `make browser`), driven by Playwright's Python API.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from urllib.parse import urlsplit

import pytest
from playwright.async_api import Browser, Route, async_playwright

from tests.auth.test_browser import ARGS, CHROMIUM, WAIT_MS


@pytest.fixture(scope="module")
async def browser() -> AsyncIterator[Browser]:
    async with async_playwright() as playwright:
        chromium = await playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True,
                                                    timeout=30_000)
        try:
            yield chromium
        finally:
            await chromium.close()


async def test_docs_render_with_no_internet(browser: Browser, live_server: str) -> None:
    server = urlsplit(live_server).netloc
    loaded: list[str] = []
    refused: list[str] = []

    async def offline(route: Route) -> None:
        url = route.request.url
        if urlsplit(url).netloc == server:
            loaded.append(urlsplit(url).path)
            await route.continue_()
        else:
            refused.append(url)
            await route.abort("internetdisconnected")

    context = await browser.new_context()
    page = await context.new_page()
    page.set_default_timeout(WAIT_MS)
    console: list[str] = []
    page.on("console", lambda m: console.append(m.text))
    page.on("pageerror", lambda e: console.append(str(e)))
    await page.route("**/*", offline)
    try:
        response = await page.goto(f"{live_server}/docs")
        assert response is not None and response.status == 200
        await page.locator(".opblock-tag").first.wait_for(timeout=60_000)
        assert await page.locator(".opblock-tag").count() > 10, console
        await page.locator(".opblock-tag", has_text="Complaints").first.click()
        await page.locator(".opblock").first.wait_for()
        assert not refused, f"the viewer reached off the server: {refused}"
        assert "/schema/openapi.json" in loaded  # by URL, not inlined in the page
        page_html = await (await context.request.get(f"{live_server}/schema/swagger")).text()
        assert len(page_html) < 5000 and '"paths"' not in page_html

        await page.locator("button.authorize").first.click()
        dialog = page.locator(".dialog-ux")
        await dialog.wait_for()
        text = await dialog.inner_text()
        assert "authorizationCode with PKCE" in text or "Authorization Code" in text.title(), text
        assert "clientCredentials" in text or "Client Credentials" in text.title(), text
    finally:
        await context.close()
