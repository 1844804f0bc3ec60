"""Keyword matching and content windows shared by the scrapers."""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import UTC, datetime
from functools import lru_cache

from scraping.platforms.base import Query


@lru_cache(maxsize=256)
def _pattern(keyword: str) -> re.Pattern:
    # Whole words, case-insensitive, any run of whitespace between the words of a phrase.
    words = [re.escape(word) for word in keyword.split()]
    return re.compile(r"(?<!\w)" + r"\s+".join(words) + r"(?!\w)", re.IGNORECASE)


def matched_keyword(keywords: Iterable[str], *texts: str) -> str | None:
    """The first keyword found in any of ``texts``, or None."""
    haystack = "\n".join(text for text in texts if text)
    for keyword in keywords:
        if keyword.strip() and _pattern(keyword.strip()).search(haystack):
            return keyword
    return None


def in_window(query: Query, published_at: datetime | None) -> bool:
    """Whether an item belongs to the query's content window; undated items are kept."""
    if published_at is None:
        return True
    if published_at.tzinfo is None:
        published_at = published_at.replace(tzinfo=UTC)
    if query.since and published_at < query.since:
        return False
    if query.until and published_at >= query.until:
        return False
    return True


def parse_datetime(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
