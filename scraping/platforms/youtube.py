"""YouTube: the Data API v3 ``search.list`` when an API key is set, otherwise the results page.

API errors are typed by their ``reason``: an exhausted quota or a bad key will not improve by
retrying within the hour (permanent); rate limits, 429 and 5xx will (transient). The key travels
in the ``X-Goog-Api-Key`` header rather than the query string so it never appears in request logs.
"""

from __future__ import annotations

from urllib.parse import quote

import httpx

from scraping.platforms import config
from scraping.platforms.base import (
    PermanentScraperError,
    Query,
    ScrapedItem,
    Scraper,
    ScrapeResult,
    TransientScraperError,
)
from scraping.platforms.http import error_for_status, http_client, retry_after_seconds, transport_error
from scraping.platforms.matching import in_window, parse_datetime
from scraping.platforms.social import ScrollingScraper

PERMANENT_REASONS = {
    "quotaExceeded": "the YouTube API quota for this key is used up for today; it resets at midnight Pacific time",
    "dailyLimitExceeded": "the daily YouTube API limit is reached",
    "keyInvalid": "PULSE_YOUTUBE_API_KEY is not a valid API key; create one in the Google Cloud console",
    "keyExpired": "PULSE_YOUTUBE_API_KEY has expired; create a new one",
    "forbidden": "the API key may not call the YouTube Data API; enable the API for its project",
    "accessNotConfigured": "the YouTube Data API is not enabled for the key's project",
    "ipRefererBlocked": "the API key's restrictions refuse this server",
}
TRANSIENT_REASONS = {"rateLimitExceeded", "userRateLimitExceeded", "backendError", "internalError"}
API_PAGE_LIMIT = 50  # search.list returns at most 50 results per page


def rfc3339(value) -> str:
    return value.isoformat().replace("+00:00", "Z")


class YouTubePageScraper(ScrollingScraper):
    """The results page, for when there is no API key."""

    name = "youtube"
    label = "YouTube"
    item_selector = "ytd-video-renderer[data-video-id]"
    extract_script = """elements => elements.map(el => ({
        id: el.dataset.videoId,
        href: el.querySelector('a#video-title')?.getAttribute('href'),
        title: el.querySelector('a#video-title')?.getAttribute('title'),
        author: el.querySelector('.yt-channel')?.textContent,
        text: el.querySelector('.yt-description')?.innerText,
        published: el.querySelector('time')?.getAttribute('datetime'),
        views: el.querySelector('.yt-views')?.dataset.count,
    }))"""

    def search_url(self, keyword: str) -> str:
        return f"{config.youtube_results_url()}?search_query={quote(keyword)}"


class YouTubeScraper(Scraper):
    name = "youtube"
    queue = "http"
    label = "YouTube"

    @classmethod
    def resolve_queue(cls) -> str:
        return "http" if config.youtube_api_key() else "browser"

    def search(self, query: Query) -> ScrapeResult:
        key = config.youtube_api_key()
        if not key:
            return YouTubePageScraper().search(query)
        items: dict[str, ScrapedItem] = {}
        with http_client(headers={"X-Goog-Api-Key": key}) as client:
            for keyword in query.keywords:
                self.search_keyword(client, query, keyword, items)
                if len(items) >= query.max_results:
                    break
        return ScrapeResult(list(items.values())[: query.max_results])

    def search_keyword(self, client: httpx.Client, query: Query, keyword: str, items: dict) -> None:
        """Follow ``nextPageToken`` until ``max_results`` items or the last page."""
        page_token = None
        while len(items) < query.max_results:
            params = {
                "part": "snippet",
                "type": "video",
                "order": "date",
                "q": keyword,
                "maxResults": min(API_PAGE_LIMIT, query.max_results - len(items)),
            }
            if query.since:
                params["publishedAfter"] = rfc3339(query.since)
            if query.until:
                params["publishedBefore"] = rfc3339(query.until)
            if page_token:
                params["pageToken"] = page_token
            body = self.call(client, params)
            for result in body.get("items", []):
                item = self.item(result, keyword=keyword)
                if item and in_window(query, item.published_at):
                    items.setdefault(item.external_id, item)
            page_token = body.get("nextPageToken")
            if not page_token or not body.get("items"):
                return

    def call(self, client: httpx.Client, params: dict) -> dict:
        url = f"{config.youtube_api_url()}/search"
        try:
            response = client.get(url, params=params)
        except httpx.HTTPError as error:
            raise transport_error(error, what="The YouTube API") from None
        if response.status_code >= 400:
            self.raise_api_error(response)
        try:
            body = response.json()
        except ValueError:
            raise TransientScraperError("The YouTube API answered with malformed JSON; will retry.") from None
        if not isinstance(body, dict):
            raise TransientScraperError("The YouTube API answered with an unexpected document; will retry.")
        return body

    @staticmethod
    def raise_api_error(response: httpx.Response) -> None:
        try:
            error = response.json().get("error", {})
            reason = (error.get("errors") or [{}])[0].get("reason", "")
            message = error.get("message", "")
        except (ValueError, AttributeError):
            reason, message = "", ""
        if reason in PERMANENT_REASONS:
            raise PermanentScraperError(
                f"The YouTube API refused the search ({reason}): {PERMANENT_REASONS[reason]}. {message}".strip()
            )
        if reason in TRANSIENT_REASONS:
            raise TransientScraperError(
                f"The YouTube API is rate limiting ({reason}); will retry.", retry_after=retry_after_seconds(response)
            )
        error_for_status(response, what="The YouTube API")

    def item(self, result: dict, *, keyword: str) -> ScrapedItem | None:
        video_id = (result.get("id") or {}).get("videoId")
        snippet = result.get("snippet") or {}
        if not video_id:
            return None  # channels and playlists are not mentions
        return ScrapedItem(
            platform=self.name,
            external_id=video_id,
            url=f"https://www.youtube.com/watch?v={video_id}",
            title=snippet.get("title", ""),
            text=snippet.get("description", ""),
            author=snippet.get("channelTitle", "")[:255],
            published_at=parse_datetime(snippet.get("publishedAt")),
            matched_keyword=keyword,
            raw=result,
        )
