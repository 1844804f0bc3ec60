"""News: a Google-News-like search feed per keyword plus configured outlet feeds (RSS or Atom).

Feeds are fetched with conditional GET: the ETag / Last-Modified validators and the last body of
each feed URL are kept in Redis, so an unchanged feed costs a 304 and is parsed from the cache.
One broken or unreachable feed becomes a warning while the other feeds still count; only when
every feed fails does the platform fail (permanently if no failure was transient).
"""

from __future__ import annotations

import calendar
import hashlib
import logging
from datetime import UTC, datetime
from urllib.parse import urlencode

import feedparser
import httpx
import redis
from django.conf import settings
from selectolax.lexbor import LexborHTMLParser as HTMLParser

from scraping.platforms import config
from scraping.platforms.base import (
    PermanentScraperError,
    Query,
    ScrapedItem,
    ScraperError,
    ScrapeResult,
    Scraper,
)
from scraping.platforms.errors import raise_if_everything_failed
from scraping.platforms.http import error_for_status, http_client, transport_error
from scraping.platforms.matching import in_window, matched_keyword

logger = logging.getLogger(__name__)


class FeedCache:
    """Validators and last body per feed URL, in Redis under ``pulse:news:feed:<sha256(url)>``."""

    def __init__(self):
        self.ttl = settings.PULSE_NEWS_CACHE_SECONDS
        # from_url does not connect; each use below tolerates Redis being down.
        self.redis = redis.Redis.from_url(settings.REDIS_URL, socket_timeout=3, socket_connect_timeout=3)

    @staticmethod
    def key(url: str) -> str:
        return "pulse:news:feed:" + hashlib.sha256(url.encode()).hexdigest()

    def get(self, url: str) -> dict[str, bytes]:
        try:
            return {key.decode(): value for key, value in self.redis.hgetall(self.key(url)).items()}
        except redis.RedisError as error:
            # The cache only saves bandwidth; without it every fetch is a full one.
            logger.warning("news feed cache unavailable (%s); fetching %s in full", error, url)
            return {}

    def put(self, url: str, *, body: bytes, etag: str | None, last_modified: str | None) -> None:
        if not (etag or last_modified):
            return
        mapping = {"body": body, "etag": etag or "", "last_modified": last_modified or ""}
        try:
            pipe = self.redis.pipeline()
            pipe.delete(self.key(url))
            pipe.hset(self.key(url), mapping=mapping)
            pipe.expire(self.key(url), self.ttl)
            pipe.execute()
        except redis.RedisError as error:
            logger.warning("could not cache news feed %s: %s", url, error)

    def touch(self, url: str) -> None:
        try:
            self.redis.expire(self.key(url), self.ttl)
        except redis.RedisError:
            pass


def _plain_text(markup: str) -> str:
    if not markup or "<" not in markup:
        return (markup or "").strip()
    return " ".join(HTMLParser(markup).text(separator=" ").split())


def _published(entry) -> datetime | None:
    parsed = entry.get("published_parsed") or entry.get("updated_parsed")
    if not parsed:
        return None
    return datetime.fromtimestamp(calendar.timegm(parsed), tz=UTC)


class NewsScraper(Scraper):
    name = "news"
    queue = "http"
    label = "News (RSS/Atom)"

    def __init__(self):
        self.cache = FeedCache()
        self.responses: dict[str, int] = {}  # feed URL -> HTTP status of the last fetch (200/304), for tests and logs

    def search(self, query: Query) -> ScrapeResult:
        """1. Query the search feed once per keyword. 2. Read every outlet feed once. 3. Keep entries
        whose title or summary contains a keyword, inside the content window, newest first."""
        sources: list[tuple[str, tuple[str, ...]]] = []
        search_url = config.google_news_url()
        if search_url:
            for keyword in query.keywords:
                params = urlencode({"q": keyword, "hl": "en-MY", "gl": "MY", "ceid": "MY:en"})
                sources.append((f"{search_url}?{params}", (keyword,)))
        for feed_url in config.news_feed_urls():
            sources.append((feed_url, tuple(query.keywords)))

        items: dict[str, ScrapedItem] = {}
        failures: list[tuple[str, ScraperError]] = []
        warnings: list[str] = []
        with http_client() as client:
            for url, keywords in sources:
                try:
                    feed = self.fetch(client, url)
                except ScraperError as error:
                    failures.append((url, error))
                    logger.warning("news feed failed: %s", error.message)
                    continue
                if feed.get("bozo"):
                    # feedparser salvaged entries from a broken document: use them, but say so.
                    warnings.append(f"News feed {url} is partly malformed ({feed.get('bozo_exception')}).")
                for entry in feed.entries:
                    item = self.item(entry, url=url, keywords=keywords)
                    if item and in_window(query, item.published_at):
                        items.setdefault(item.external_id, item)

        raise_if_everything_failed([error for _, error in failures], sources=len(sources), what="news feed")
        newest_first = sorted(
            items.values(), key=lambda item: item.published_at or datetime.min.replace(tzinfo=UTC), reverse=True
        )
        return ScrapeResult(newest_first[: query.max_results], warnings=[error.message for _, error in failures] + warnings)

    def fetch(self, client: httpx.Client, url: str):
        """Fetch and parse one feed, conditionally when validators are cached."""
        cached = self.cache.get(url)
        headers = {}
        if cached.get("body"):
            if cached.get("etag"):
                headers["If-None-Match"] = cached["etag"].decode()
            if cached.get("last_modified"):
                headers["If-Modified-Since"] = cached["last_modified"].decode()
        try:
            response = client.get(url, headers=headers)
        except httpx.HTTPError as error:
            raise transport_error(error, what=f"News feed {url}") from None
        self.responses[url] = response.status_code
        if response.status_code == 304 and cached.get("body"):
            self.cache.touch(url)
            body = cached["body"]
        else:
            error_for_status(response, what=f"News feed {url}")
            body = response.content
        feed = feedparser.parse(body)
        if feed.get("bozo") and not feed.entries:
            reason = feed.get("bozo_exception") or "not RSS or Atom"
            raise PermanentScraperError(f"News feed {url} is malformed ({reason}); it was skipped.")
        if response.status_code != 304:
            self.cache.put(
                url, body=body, etag=response.headers.get("ETag"), last_modified=response.headers.get("Last-Modified")
            )
        return feed

    def item(self, entry, *, url: str, keywords: tuple[str, ...]) -> ScrapedItem | None:
        title = _plain_text(entry.get("title", ""))
        summary = _plain_text(entry.get("summary", ""))
        keyword = matched_keyword(keywords, title, summary)
        link = entry.get("link") or ""
        external_id = (entry.get("id") or link)[:512]
        if not keyword or not external_id or not link:
            return None
        source = entry.get("source") or {}
        return ScrapedItem(
            platform=self.name,
            external_id=external_id,
            url=link,
            title=title,
            text=summary,
            author=entry.get("author", "")[:255],
            published_at=_published(entry),
            matched_keyword=keyword,
            raw={"feed": url, "source": source.get("title", "") if hasattr(source, "get") else ""},
        )
