"""Web: a configured list of pages, rendered with Playwright, their text matched against keywords.

``PULSE_WEB_URLS`` lists the pages; ``PULSE_WEB_SELECTORS`` may name, per host or URL prefix, the
CSS selector holding the content (so navigation and footers do not match). Text is extracted with
selectolax from the rendered HTML after the browser is done. A page that fails is a warning; the
platform fails only when every page does.
"""

from __future__ import annotations

import hashlib
from functools import partial
from urllib.parse import urlsplit

from selectolax.lexbor import LexborHTMLParser

from scraping.browser import run_in_browser
from scraping.platforms import config
from scraping.platforms.base import PermanentScraperError, Query, ScrapedItem, Scraper, ScraperError, ScrapeResult
from scraping.platforms.browsing import open_page
from scraping.platforms.errors import raise_if_everything_failed
from scraping.platforms.matching import in_window, matched_keyword, parse_datetime
from scraping.platforms.ssrf import check_url

TEXT_LIMIT = 20_000


def selector_for(url: str, selectors: dict[str, str]) -> str | None:
    """The selector whose key is the longest prefix of ``url``, or whose key is the URL's host."""
    best = None
    for key, selector in selectors.items():
        if ("/" in key and url.startswith(key)) or (key == urlsplit(url).hostname):
            if best is None or len(key) > len(best[0]):
                best = (key, selector)
    return best[1] if best else None


def extract(html: str, selector: str | None) -> tuple[str, str, str | None]:
    """Title, visible text (within ``selector`` when given) and published time of a rendered page."""
    tree = LexborHTMLParser(html)
    title_node = tree.css_first("title")
    title = title_node.text(strip=True) if title_node else ""
    published = None
    meta = tree.css_first("meta[property='article:published_time']")
    if meta is not None:
        published = meta.attributes.get("content")
    for node in tree.css("script, style, noscript, template"):
        node.decompose()
    if selector:
        nodes = tree.css(selector)
        text = " ".join(node.text(separator=" ") for node in nodes)
    else:
        body = tree.body
        text = body.text(separator=" ") if body is not None else ""
    return title, " ".join(text.split())[:TEXT_LIMIT], published


class WebScraper(Scraper):
    name = "web"
    queue = "browser"
    label = "Web pages"

    def search(self, query: Query) -> ScrapeResult:
        urls = config.web_urls()
        if not urls:
            raise PermanentScraperError(
                "No web pages are configured. Set PULSE_WEB_URLS to a comma-separated list of URLs."
            )
        failures: list[ScraperError] = []
        allowed = []
        for url in urls:
            try:
                check_url(url)  # refuse before any browser work; redirects are checked in the browser
                allowed.append(url)
            except ScraperError as error:
                failures.append(error)
        pages = run_in_browser(partial(self.render, urls=allowed)) if allowed else []
        selectors = config.web_selectors()
        items = []
        for page in pages:
            if "error" in page:
                failures.append(page["error"])
                continue
            title, text, published = extract(page["html"], selector_for(page["url"], selectors))
            keyword = matched_keyword(query.keywords, title, text)
            published_at = parse_datetime(published)
            if keyword and in_window(query, published_at):
                items.append(
                    ScrapedItem(
                        platform=self.name,
                        external_id=hashlib.sha256(page["url"].encode()).hexdigest(),
                        url=page["final_url"],
                        title=title,
                        text=text,
                        published_at=published_at,
                        matched_keyword=keyword,
                        raw={"configured_url": page["url"], "status": page["status"]},
                    )
                )
        raise_if_everything_failed(failures, sources=len(urls), what="web page")
        return ScrapeResult(items[: query.max_results], warnings=[error.message for error in failures])

    @staticmethod
    def render(first_page, *, urls: list[str]) -> list[dict]:
        """Runs on the browser thread: each URL in its own page of the same context."""
        from playwright.sync_api import Error as PlaywrightError

        results = []
        context = first_page.context
        for index, url in enumerate(urls):
            page = first_page if index == 0 else context.new_page()
            try:
                response = open_page(page, url, what=f"Web page {url}", wait_until="load")
                # Redirects are walked by the SSRF guard, which records where a chain ended.
                final_url = getattr(context, "pulse_redirects", {}).get(page.url, page.url)
                results.append(
                    {"url": url, "final_url": final_url, "status": response.status if response else None, "html": page.content()}
                )
            except ScraperError as error:
                results.append({"url": url, "error": error})
            except PlaywrightError as error:
                from scraping.browser import first_line
                from scraping.platforms.base import TransientScraperError

                results.append({"url": url, "error": TransientScraperError(f"Web page {url} failed: {first_line(error)}")})
            finally:
                if index:
                    page.close()
        return results
