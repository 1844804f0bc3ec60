"""The platform registry: one name, one scraper class.

Scraper modules register their class with ``@register``; a duplicate name fails at import time so
two platforms can never silently shadow each other. Everything else in Pulse looks scrapers up
through ``get_scraper`` only, which is also the one seam tests use to add test platforms.
"""

from __future__ import annotations

from scraping.platforms.base import Scraper

_SCRAPERS: dict[str, type[Scraper]] = {}

QUEUES = ("http", "browser")


def register(scraper_class: type[Scraper]) -> type[Scraper]:
    """Class decorator: add a scraper under its ``name``; refuses empty and duplicate names."""
    name = getattr(scraper_class, "name", "")
    if not name:
        raise ValueError(f"{scraper_class.__qualname__} has no name; set the class attribute `name`.")
    if scraper_class.queue not in QUEUES:
        raise ValueError(
            f"{scraper_class.__qualname__}.queue is {scraper_class.queue!r}; use one of {QUEUES}."
        )
    existing = _SCRAPERS.get(name)
    if existing is not None and existing is not scraper_class:
        raise ValueError(
            f"platform name {name!r} is already registered by {existing.__module__}.{existing.__qualname__}; "
            "every platform needs its own name."
        )
    _SCRAPERS[name] = scraper_class
    return scraper_class


def platform_names() -> list[str]:
    return sorted(_SCRAPERS)


def enabled_platform_names() -> list[str]:
    """Platforms searched when a search names none (scrapers may opt out with ``enabled = False``)."""
    return [name for name in platform_names() if getattr(_SCRAPERS[name], "enabled", True)]


def get_scraper(name: str) -> Scraper:
    try:
        scraper_class = _SCRAPERS[name]
    except KeyError:
        known = ", ".join(platform_names()) or "none registered"
        raise KeyError(f"unknown platform {name!r}; known platforms: {known}") from None
    return scraper_class()


def platform_queue(name: str) -> str:
    try:
        return _SCRAPERS[name].queue
    except KeyError:
        known = ", ".join(platform_names()) or "none registered"
        raise KeyError(f"unknown platform {name!r}; known platforms: {known}") from None
