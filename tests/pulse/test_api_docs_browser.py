"""The API docs page renders in a real Chromium with the network cut off beyond Pulse itself."""

from __future__ import annotations

import pytest
from playwright.sync_api import sync_playwright

from scraping.browser import CHROMIUM_ARGS, find_chromium


@pytest.mark.slow
def test_the_docs_page_shows_every_operation_without_reaching_the_internet(live_server):
    outside: list[str] = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=find_chromium(playwright), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page()

            def only_pulse(route):
                if route.request.url.startswith(live_server.url):
                    route.continue_()
                else:
                    outside.append(route.request.url)
                    route.abort()

            page.route("**/*", only_pulse)
            page.goto(f"{live_server.url}/api/v1/docs")
            page.wait_for_selector(".opblock", timeout=20_000)
            operations = page.locator(".opblock").count()
            title = page.locator(".info .title").inner_text()
        finally:
            browser.close()
    assert outside == []
    assert operations == 15
    assert "Pulse API" in title
