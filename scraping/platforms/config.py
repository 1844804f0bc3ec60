"""Where each platform lives, resolved when a scraper runs.

A platform setting left empty means "the default": the simulator when ``PULSE_SIMULATOR_URL`` is
set, otherwise the real site. Resolving at call time (not at settings import) lets a test start
the simulator on a free port and point the already-running process at it.
"""

from __future__ import annotations

from django.conf import settings

SIMULATOR_YOUTUBE_API_KEY = "simulator-key"
SIMULATOR_OUTLETS = ("daily-planet", "the-herald")
SIMULATOR_WEB_PAGES = (
    "/web/city-times/harbour-plan",
    "/web/city-times/transit-report",
    "/web/city-times/registry-notice",
    "/web/tech-weekly/chips",
)


def simulator_url() -> str:
    return (getattr(settings, "PULSE_SIMULATOR_URL", "") or "").rstrip("/")


def _pick(explicit: str, simulated: str, real: str) -> str:
    if explicit:
        return explicit
    base = simulator_url()
    return f"{base}{simulated}" if base else real


def google_news_url() -> str:
    """The per-keyword search feed; "off" disables it (only outlet feeds are read)."""
    if settings.PULSE_GOOGLE_NEWS_URL.lower() == "off":
        return ""
    return _pick(settings.PULSE_GOOGLE_NEWS_URL, "/news/rss/search", "https://news.google.com/rss/search")


def news_feed_urls() -> list[str]:
    """Outlet feeds read for every search; "off" reads none (only the search feed)."""
    if [url.lower() for url in settings.PULSE_NEWS_FEED_URLS] == ["off"]:
        return []
    if settings.PULSE_NEWS_FEED_URLS:
        return list(settings.PULSE_NEWS_FEED_URLS)
    base = simulator_url()
    return [f"{base}/news/feeds/{outlet}.xml" for outlet in SIMULATOR_OUTLETS] if base else []


def youtube_api_url() -> str:
    return _pick(settings.PULSE_YOUTUBE_API_URL, "/youtube/v3", "https://www.googleapis.com/youtube/v3")


def youtube_api_key() -> str:
    if settings.PULSE_YOUTUBE_API_KEY:
        return settings.PULSE_YOUTUBE_API_KEY
    # The simulator accepts this key, so the demo exercises the API path without a real key.
    return SIMULATOR_YOUTUBE_API_KEY if simulator_url() else ""


def youtube_results_url() -> str:
    return _pick(settings.PULSE_YOUTUBE_RESULTS_URL, "/youtube/results", "https://www.youtube.com/results")


def facebook_url() -> str:
    return _pick(settings.PULSE_FACEBOOK_URL, "/facebook", "https://www.facebook.com")


def instagram_url() -> str:
    return _pick(settings.PULSE_INSTAGRAM_URL, "/instagram", "https://www.instagram.com")


def web_urls() -> list[str]:
    if settings.PULSE_WEB_URLS:
        return list(settings.PULSE_WEB_URLS)
    base = simulator_url()
    return [f"{base}{path}" for path in SIMULATOR_WEB_PAGES] if base else []


def web_selectors() -> dict[str, str]:
    selectors = dict(settings.PULSE_WEB_SELECTORS)
    base = simulator_url()
    if base and not settings.PULSE_WEB_SELECTORS:
        selectors[f"{base}/web/city-times/"] = "article.story"
    return selectors
