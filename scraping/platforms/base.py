"""What every platform scraper is: a class with a name that turns a query into items.

Scrapers never touch the ORM. They return ``ScrapedItem`` dataclasses; the pipeline validates,
normalises, dedupes and stores them after the network or browser work is done.
"""

from __future__ import annotations

import errno
import socket
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import ClassVar

import httpx
import redis


@dataclass(frozen=True)
class Query:
    """What to look for on one platform."""

    keywords: tuple[str, ...]
    max_results: int = 50
    since: datetime | None = None
    until: datetime | None = None


@dataclass
class ScrapedItem:
    """One thing a platform returned, before validation and storage."""

    platform: str
    external_id: str
    url: str
    title: str = ""
    text: str = ""
    author: str = ""
    published_at: datetime | None = None
    matched_keyword: str = ""
    likes: int | None = None
    comments: int | None = None
    shares: int | None = None
    views: int | None = None
    raw: dict = field(default_factory=dict)


class ScraperError(Exception):
    """A platform could not be searched.

    ``permanent`` errors (login wall, 404, quota exhausted, bad configuration) are not retried;
    transient ones (429, 5xx, timeouts) are, after ``retry_after`` seconds when the platform said so.
    """

    permanent: bool = False

    def __init__(self, message: str, *, permanent: bool | None = None, retry_after: float | None = None):
        super().__init__(message)
        self.message = message
        if permanent is not None:
            self.permanent = permanent
        self.retry_after = retry_after

    @property
    def kind(self) -> str:
        return "permanent" if self.permanent else "transient"


class PermanentScraperError(ScraperError):
    permanent = True


class TransientScraperError(ScraperError):
    permanent = False


# Socket errors that say "the network or the other side is unavailable right now".
NETWORK_ERRNOS = frozenset({
    errno.ECONNREFUSED, errno.ECONNRESET, errno.ECONNABORTED, errno.EPIPE, errno.ETIMEDOUT,
    errno.ENETUNREACH, errno.ENETDOWN, errno.ENETRESET, errno.EHOSTUNREACH, errno.EHOSTDOWN,
})


def transient_error_from(error: BaseException) -> TransientScraperError | None:
    """The transient error an unexpected exception from a scraper stands for, or None for a bug.

    Redis and the network fail on their own and recover on their own: a refused or dropped
    connection, a timeout, a failed DNS lookup. Such an exception escaping a scraper is retried
    like a 503. ``httpx.UnsupportedProtocol`` and ``httpx.LocalProtocolError`` mean the request
    itself is wrong, and file errors (``FileNotFoundError``, ``PermissionError``) are
    configuration; like any other exception they stay permanent.
    """
    if isinstance(error, (httpx.UnsupportedProtocol, httpx.LocalProtocolError)):
        return None
    transient = (
        isinstance(error, (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError))
        or isinstance(error, httpx.TransportError)
        or isinstance(error, (ConnectionError, TimeoutError, socket.gaierror))
        or (isinstance(error, OSError) and error.errno in NETWORK_ERRNOS)
    )
    if not transient:
        return None
    return TransientScraperError(f"network error: {type(error).__name__}: {error}")


class Scraper:
    """Base class for platform scrapers.

    Subclasses set ``name`` (the registry key), ``queue`` ("http" or "browser") and implement
    ``search``. A scraper instance is cheap; the browser (when needed) comes from the pool.
    """

    name: ClassVar[str] = ""
    queue: ClassVar[str] = "http"
    label: ClassVar[str] = ""

    def search(self, query: Query) -> Sequence[ScrapedItem]:
        raise NotImplementedError(f"{type(self).__name__} must implement search(query)")


class ScrapeResult(list):
    """The items of one search, plus warnings about parts that failed while others worked.

    A plain list of ``ScrapedItem`` to every caller; ``warnings`` says, for example, that one of
    five news feeds was malformed, so the run can record it without failing.
    """

    def __init__(self, items=(), warnings=()):
        super().__init__(items)
        self.warnings: list[str] = list(warnings)
