"""Platform name → scraper class, by dotted path, imported on first use.

Adding a platform is one module in ``scraping.platforms`` and one ``register`` line below. Names
are public (they appear in search input, schedules and stored mentions), so a duplicate name is
a configuration error and an unknown one fails loudly with the list of known names.
"""

from __future__ import annotations

import re
from functools import cache

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.utils.module_loading import import_string

from scraping.platforms.base import Scraper

QUEUES = ("http", "browser")
# Names are stored in PlatformRun.platform and Mention.platform (max 32 characters). No "_":
# PULSE_RATE_LIMIT_<NAME> turns "_" into "-", so names with hyphens stay reachable from the env.
NAME_PATTERN = re.compile(r"[a-z][a-z0-9-]{0,31}")

_PLATFORMS: dict[str, str] = {}
# Platforms a search without an explicit list does not use (extra platforms that must be asked for).
_NOT_DEFAULT: set[str] = set()


def register(name: str, dotted_path: str, *, default: bool = True) -> None:
    """Add a platform. Registering a name twice is refused, whatever the path.

    ``default=False`` keeps the platform out of "all enabled platforms": it runs only when named.
    """
    if not NAME_PATTERN.fullmatch(name or ""):
        raise ImproperlyConfigured(
            f"Platform name {name!r} is not valid: use a short lower-case name of 1–32 letters, digits "
            "and hyphens, starting with a letter, such as 'news'."
        )
    if name in _PLATFORMS:
        raise ImproperlyConfigured(
            f"Platform {name!r} is already registered (as {_PLATFORMS[name]}); "
            f"cannot register it again as {dotted_path}. Pick another name."
        )
    _PLATFORMS[name] = dotted_path
    if not default:
        _NOT_DEFAULT.add(name)


def unregister(name: str) -> None:
    """Remove a platform (tests register throw-away platforms and clean up with this)."""
    _PLATFORMS.pop(name, None)
    _NOT_DEFAULT.discard(name)
    scraper_class.cache_clear()


register("news", "scraping.platforms.news.NewsScraper")
register("youtube", "scraping.platforms.youtube.YouTubeScraper")
register("facebook", "scraping.platforms.facebook.FacebookScraper")
register("instagram", "scraping.platforms.instagram.InstagramScraper")
register("web", "scraping.platforms.web.WebScraper")


def platform_names() -> list[str]:
    """Every registered platform, in registration order."""
    return list(_PLATFORMS)


def _unknown(name: str) -> KeyError:
    return KeyError(f"Unknown platform {name!r}. Known platforms: {', '.join(platform_names())}.")


@cache
def scraper_class(name: str) -> type[Scraper]:
    try:
        dotted_path = _PLATFORMS[name]
    except KeyError:
        raise _unknown(name) from None
    cls = import_string(dotted_path)
    if not (isinstance(cls, type) and issubclass(cls, Scraper)) or cls.name != name:
        raise ImproperlyConfigured(
            f"{dotted_path} is registered as platform {name!r} but is not a Scraper subclass with "
            f"name = {name!r}."
        )
    return cls


def get_scraper(name: str) -> Scraper:
    """A fresh scraper for ``name``; unknown names raise ``KeyError`` listing the known ones."""
    return scraper_class(name)()


def enabled_platform_names() -> list[str]:
    """Platforms a search uses when it names none: ``PULSE_ENABLED_PLATFORMS``, or all of them."""
    configured = list(getattr(settings, "PULSE_ENABLED_PLATFORMS", []) or [])
    if not configured:
        return [name for name in platform_names() if name not in _NOT_DEFAULT]
    unknown = [name for name in configured if name not in _PLATFORMS]
    if unknown:
        raise ImproperlyConfigured(
            f"PULSE_ENABLED_PLATFORMS names unknown platforms {unknown}; known: {', '.join(platform_names())}."
        )
    return [name for name in platform_names() if name in configured]


def platform_queue(name: str) -> str:
    """The Celery queue that runs this platform: "http" for plain HTTP work, "browser" for Playwright.

    A scraper may decide per configuration (YouTube needs the browser only without an API key).
    """
    cls = scraper_class(name)
    resolve = getattr(cls, "resolve_queue", None)
    queue = resolve() if callable(resolve) else cls.queue
    if queue not in QUEUES:
        raise ImproperlyConfigured(f"Platform {name!r} asks for queue {queue!r}; use one of {QUEUES}.")
    return queue
