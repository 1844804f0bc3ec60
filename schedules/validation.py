"""Validation of a scheduled search's fields, shared by services, the admin form and import.

Each ``clean_*`` returns the normalised value or raises ``ValidationError({field: [message]})``.
"""

from __future__ import annotations

from datetime import timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from django.core.exceptions import ValidationError

MAX_KEYWORDS = 20
MAX_KEYWORD_LENGTH = 200
MAX_RESULTS_LIMIT = 500
MAX_LOOKBACK = timedelta(days=366)
MAX_NAME_LENGTH = 200
FALLBACK_PLATFORM_NAMES = ("news", "youtube", "facebook", "instagram", "web")


def known_platform_names() -> list[str]:
    """Platform names a schedule may use: the platform registry's, when it is installed."""
    try:
        from scraping.platforms.registry import platform_names
    except ImportError:
        return list(FALLBACK_PLATFORM_NAMES)
    return list(platform_names())


def clean_name(value) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValidationError({"name": ["Give the scheduled search a name, e.g. \"SSM news every hour\"."]})
    name = " ".join(value.split())
    if len(name) > MAX_NAME_LENGTH:
        raise ValidationError({"name": [f"The name is {len(name)} characters long; keep it to {MAX_NAME_LENGTH}."]})
    return name


def clean_keywords(value) -> list[str]:
    if isinstance(value, str) or not isinstance(value, (list, tuple)):
        raise ValidationError({"keywords": ['Keywords must be a list of words or phrases, e.g. ["SSM"].']})
    keywords: list[str] = []
    for position, keyword in enumerate(value, start=1):
        if not isinstance(keyword, str):
            raise ValidationError({"keywords": [f"Keyword {position} must be text, got {keyword!r}."]})
        keyword = " ".join(keyword.split())
        if not keyword:
            raise ValidationError({"keywords": [f"Keyword {position} is empty; remove it or type a word."]})
        if len(keyword) > MAX_KEYWORD_LENGTH:
            raise ValidationError(
                {"keywords": [f"Keyword {position} is {len(keyword)} characters; keep each to {MAX_KEYWORD_LENGTH}."]}
            )
        if keyword not in keywords:
            keywords.append(keyword)
    if not keywords:
        raise ValidationError({"keywords": ["Add at least one keyword to look for."]})
    if len(keywords) > MAX_KEYWORDS:
        raise ValidationError(
            {"keywords": [f"{len(keywords)} keywords given; a search takes at most {MAX_KEYWORDS}. "
                          "Split them over several scheduled searches."]}
        )
    return keywords


def clean_platforms(value) -> list[str]:
    known = known_platform_names()
    if isinstance(value, str) or not isinstance(value, (list, tuple)):
        raise ValidationError({"platforms": [f"Platforms must be a list of names from: {', '.join(known)}."]})
    unknown = [name for name in value if name not in known]
    if unknown:
        raise ValidationError(
            {"platforms": [f"Unknown platform(s): {', '.join(map(str, unknown))}. Choose from: {', '.join(known)}."]}
        )
    if not value:
        raise ValidationError({"platforms": [f"Choose at least one platform from: {', '.join(known)}."]})
    # Keep the registry's order so equal sets always look (and export) the same.
    return [name for name in known if name in value]


def clean_max_results(value) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_RESULTS_LIMIT:
        raise ValidationError(
            {"max_results": [f"max_results must be a whole number from 1 to {MAX_RESULTS_LIMIT}, got {value!r}."]}
        )
    return value


def clean_lookback(value) -> timedelta | None:
    if value is None:
        return None
    if not isinstance(value, timedelta) or value <= timedelta(0) or value > MAX_LOOKBACK:
        raise ValidationError(
            {"lookback": ["The look-back window must be more than zero and at most 366 days "
                          "(leave it empty to search without a time limit)."]}
        )
    return value


def clean_timezone(value) -> ZoneInfo:
    if isinstance(value, ZoneInfo):
        return value
    if not isinstance(value, str) or value not in available_timezones():
        raise ValidationError(
            {"timezone": [f"Unknown timezone {value!r}. Use an IANA name such as Asia/Kuala_Lumpur or Europe/London."]}
        )
    try:
        return ZoneInfo(value)
    except ZoneInfoNotFoundError:  # pragma: no cover  (available_timezones() listed it)
        raise ValidationError({"timezone": [f"Unknown timezone {value!r}."]}) from None
