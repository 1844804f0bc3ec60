"""Page steps shared by the browser scrapers. Everything here runs on the browser thread."""

from __future__ import annotations

import time

from django.conf import settings

from scraping.platforms.base import PermanentScraperError, TransientScraperError

LOGIN_WALL_SELECTOR = "form#login_form, form#loginForm, input[name='pass'], input[type='password']"


def open_page(page, url: str, *, what: str, wait_until: str = "domcontentloaded"):
    """Navigate and turn an HTTP error status into the typed error it means."""
    from playwright.sync_api import Error as PlaywrightError

    blocked = getattr(page.context, "pulse_blocked", None)
    if blocked is not None:
        blocked.clear()  # refusals of an earlier page in this context are not this page's
    try:
        response = page.goto(url, wait_until=wait_until)
    except PlaywrightError:
        if blocked:
            raise blocked[-1] from None
        raise
    if response is None:
        return None
    status = response.status
    if status == 429:
        value = response.headers.get("retry-after")
        retry_after = float(value) if value and value.replace(".", "", 1).isdigit() else None
        hint = f"; retry after {retry_after:g}s" if retry_after is not None else ""
        raise TransientScraperError(f"{what} answered 429 Too Many Requests{hint}.", retry_after=retry_after)
    if status >= 500:
        raise TransientScraperError(f"{what} answered {status}; will retry.")
    if status >= 400:
        raise PermanentScraperError(f"{what} answered {status} for {url}; check the URL and settings.")
    return response


def shows_login_wall(page) -> bool:
    return "/login" in page.url or page.locator(LOGIN_WALL_SELECTOR).count() > 0


def scroll_and_collect(page, *, item_selector: str, end_selector: str, limit: int, extract_script: str) -> list[dict]:
    """1. Wait for the first items (or the end marker). 2. Scroll to the bottom, wait for more.
    3. Stop at ``limit`` items, at the end marker, or when scrolling brings nothing new three times.
    4. Extract every item with one script call and return plain dicts."""
    both = f"{item_selector}, {end_selector}"
    page.wait_for_selector(both, state="attached")
    stalls = 0
    for _ in range(settings.PULSE_BROWSER_MAX_SCROLLS):
        count = page.locator(item_selector).count()
        if count >= limit or page.locator(end_selector).count():
            break
        page.evaluate("window.scrollTo(0, document.body.scrollHeight)")
        try:
            page.wait_for_function(
                "([selector, count, end]) => document.querySelectorAll(selector).length > count"
                " || document.querySelector(end) !== null",
                arg=[item_selector, count, end_selector],
                timeout=max(1000, settings.PULSE_BROWSER_SCROLL_PAUSE * 10_000),
            )
            stalls = 0
        except Exception:  # noqa: BLE001 - a Playwright timeout: nothing new arrived this time
            stalls += 1
            if stalls >= 3:
                break
            time.sleep(settings.PULSE_BROWSER_SCROLL_PAUSE)
    return page.locator(item_selector).evaluate_all(extract_script)[:limit]
