"""Test platforms: small scrapers with known behaviour, registered like real ones.

They stand in for a *platform* (the outside world), not for any part of Pulse: the registry,
worker, broker, database and pipeline they run through are the real ones. Their state (how
often a flaky platform has failed, whether a slow one may finish) lives in Redis so the test
process and the worker's children share it. Keys are derived from the search keywords, so each
test picks its own by using unique keywords.
"""

from __future__ import annotations

import hashlib
import time
from datetime import UTC, datetime, timedelta

import httpx
import redis
from django.conf import settings

from scraping.platforms.base import PermanentScraperError, Query, ScrapedItem, Scraper, TransientScraperError
from scraping.platforms import registry

FLAKY_FAILURES = 2
ITEMS_PER_KEYWORD = 3
PUBLISHED = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)


def _redis() -> redis.Redis:
    return redis.Redis.from_url(settings.REDIS_URL, decode_responses=True)


def query_key(query: Query) -> str:
    return hashlib.sha1("|".join(query.keywords).encode()).hexdigest()[:16]


def items_for(platform: str, query: Query) -> list[ScrapedItem]:
    """The same query always yields the same items: ITEMS_PER_KEYWORD per keyword, up to max_results."""
    items = []
    for keyword in query.keywords:
        for number in range(ITEMS_PER_KEYWORD):
            slug = f"{keyword.replace(' ', '-')}-{number}"
            items.append(
                ScrapedItem(
                    platform=platform,
                    external_id=slug,
                    # Tracking parameters and a fragment the pipeline must strip.
                    url=f"HTTPS://Example.COM/{platform}/{slug}?utm_source=feed&id={number}#comments",
                    title=f"  {keyword}   post {number} ",
                    text=f"All about\n\n{keyword}.",
                    author=f"author {number}",
                    published_at=PUBLISHED + timedelta(hours=number),
                    matched_keyword=keyword,
                    likes=number * 10,
                )
            )
    return items[: query.max_results]


class TestScraper(Scraper):
    pass


def register(scraper_class: type[Scraper]) -> type[Scraper]:
    """Register a test platform; it runs only when a search names it, never as a default."""
    dotted_path = f"{scraper_class.__module__}.{scraper_class.__qualname__}"
    if registry._PLATFORMS.get(scraper_class.name) != dotted_path:
        registry.register(scraper_class.name, dotted_path, default=False)
    return scraper_class


@register
class OkScraper(TestScraper):
    name = "test-ok"
    queue = "http"

    def search(self, query: Query):
        return items_for(self.name, query)


@register
class BrowserOkScraper(TestScraper):
    """Succeeds on the browser queue, so searches cross both queues and their time limits."""

    name = "test-browser-ok"
    queue = "browser"

    def search(self, query: Query):
        return items_for(self.name, query)


@register
class FlakyScraper(TestScraper):
    """Fails transiently FLAKY_FAILURES times per query (a 429 with Retry-After), then succeeds."""

    name = "test-flaky"
    queue = "http"

    def search(self, query: Query):
        calls = _redis().incr(f"pulse:test:flaky:{query_key(query)}")
        if calls <= FLAKY_FAILURES:
            raise TransientScraperError(f"HTTP 429 on call {calls}", retry_after=0.1)
        return items_for(self.name, query)


@register
class DownScraper(TestScraper):
    """Always fails transiently (a 503), so it runs out of retries."""

    name = "test-down"
    queue = "http"

    def search(self, query: Query):
        _redis().incr(f"pulse:test:down:{query_key(query)}")
        raise TransientScraperError("HTTP 503 Service Unavailable", retry_after=0.05)


@register
class PermanentScraper(TestScraper):
    name = "test-permanent"
    queue = "http"

    def search(self, query: Query):
        _redis().incr(f"pulse:test:permanent:{query_key(query)}")
        raise PermanentScraperError(
            "login wall: this page needs a logged-in session; set a storage-state file in settings"
        )


@register
class RedisBlipScraper(TestScraper):
    """Its Redis connection is refused the first time per query (not a ScraperError), then it works."""

    name = "test-redis-blip"
    queue = "http"

    def search(self, query: Query):
        calls = _redis().incr(f"pulse:test:redis-blip:{query_key(query)}")
        if calls == 1:
            raise redis.exceptions.ConnectionError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")
        return items_for(self.name, query)


@register
class NetworkDownScraper(TestScraper):
    """The platform's host never answers: every call ends in an httpx connect error."""

    name = "test-network-down"
    queue = "http"

    def search(self, query: Query):
        _redis().incr(f"pulse:test:network-down:{query_key(query)}")
        raise httpx.ConnectError("[Errno 111] Connection refused")


@register
class SlowScraper(TestScraper):
    """Marks that it started, then waits (up to 30 s) until the test releases it."""

    name = "test-slow"
    queue = "browser"

    def search(self, query: Query):
        connection = _redis()
        key = query_key(query)
        connection.set(f"pulse:test:slow-started:{key}", "1", ex=120)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and not connection.get(f"pulse:test:slow-release:{key}"):
            time.sleep(0.05)
        return items_for(self.name, query)


@register
class CrashingScraper(TestScraper):
    """A scraper bug (not a ScraperError): must be recorded, not break the chord."""

    name = "test-crash"
    queue = "http"

    def search(self, query: Query):
        raise ZeroDivisionError("division by zero in a parser")


@register
class StubbornScraper(TestScraper):
    """Ignores the soft time limit and keeps working, so only the hard limit stops it."""

    name = "test-stubborn"
    queue = "browser"

    def search(self, query: Query):
        from celery.exceptions import SoftTimeLimitExceeded

        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                time.sleep(0.05)
            except SoftTimeLimitExceeded:
                continue
        return []
