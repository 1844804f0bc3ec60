"""Validation of search input: the one place that decides what a search may ask for.

Every entry point (the public ``pulse.search`` task, services, the CLI, the HTTP API) passes
its input through ``validate_search_input``. Input arrives as JSON from other services, so the
checks are strict about types (``"5"`` is not a number, ``true`` is not 1) and every message
names the field, says what was wrong and what would be accepted.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from scraping.platforms import registry

MAX_KEYWORDS = 20
MAX_KEYWORD_LENGTH = 200
FIELDS = ("keywords", "platforms", "since", "until", "max_results", "search_id")


@dataclass(frozen=True)
class SearchInput:
    keywords: tuple[str, ...]
    platforms: tuple[str, ...]
    since: datetime | None
    until: datetime | None
    max_results: int
    search_id: uuid.UUID | None


def _type_name(value: Any) -> str:
    return "null" if value is None else type(value).__name__


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def _keywords(value: Any) -> tuple[str, ...]:
    if not isinstance(value, (list, tuple)):
        raise ValueError(
            f"must be a list of 1 to {MAX_KEYWORDS} strings, e.g. "
            f'["acme", "acme corp"]; got {_type_name(value)}'
        )
    if not value:
        raise ValueError('must contain at least one keyword, e.g. ["acme"]')
    keywords: list[str] = []
    for position, keyword in enumerate(value):
        if not isinstance(keyword, str):
            raise ValueError(f"item {position} must be a string, got {_type_name(keyword)} {_short(keyword)}")
        # Keywords are matched as phrases, so inner whitespace runs are collapsed, not removed.
        cleaned = " ".join(keyword.split())
        if not cleaned:
            raise ValueError(f"item {position} is empty; every keyword needs at least one visible character")
        if len(cleaned) > MAX_KEYWORD_LENGTH:
            raise ValueError(
                f"item {position} is {len(cleaned)} characters long; the limit is {MAX_KEYWORD_LENGTH}"
            )
        if cleaned not in keywords:
            keywords.append(cleaned)
    if len(keywords) > MAX_KEYWORDS:
        raise ValueError(f"at most {MAX_KEYWORDS} keywords per search, got {len(keywords)}; split the search")
    return tuple(keywords)


def _platforms(value: Any) -> tuple[str, ...]:
    known = registry.platform_names()
    if value is None:
        enabled = registry.enabled_platform_names()
        if not enabled:
            raise ValueError("no platform is enabled, so a search without platforms has nothing to do")
        return tuple(enabled)
    if not isinstance(value, (list, tuple)):
        raise ValueError(
            f"must be a list of platform names (known: {', '.join(known)}); got {_type_name(value)}"
        )
    if not value:
        raise ValueError(
            f"must name at least one platform, or be left out for all enabled ({', '.join(known)})"
        )
    platforms: list[str] = []
    for position, name in enumerate(value):
        if not isinstance(name, str):
            raise ValueError(f"item {position} must be a string, got {_type_name(name)} {_short(name)}")
        if name not in known:
            raise ValueError(f"unknown platform {_short(name)}, use one of: {', '.join(known)}")
        if name not in platforms:
            platforms.append(name)
    return tuple(platforms)


def _moment(value: Any) -> datetime | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, str):
        try:
            moment = parse_datetime(value.strip())
        except ValueError:
            moment = None
        if moment is None:
            raise ValueError(
                f"{_short(value)} is not an ISO 8601 date-time; use e.g. 2026-11-01T09:00:00+08:00"
            )
    else:
        raise ValueError(f"must be an ISO 8601 date-time string, got {_type_name(value)} {_short(value)}")
    if timezone.is_naive(moment):
        # A time without an offset means Pulse's own time zone, as it does everywhere in the admin.
        moment = timezone.make_aware(moment, timezone.get_default_timezone())
    return moment


def _max_results(value: Any) -> int:
    limit = settings.PULSE_MAX_RESULTS_LIMIT
    if value is None:
        return min(settings.PULSE_DEFAULT_MAX_RESULTS, limit)
    # bool is an int subclass; JSON `true` is never a count.
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(
            f"must be a whole number between 1 and {limit}, got {_type_name(value)} {_short(value)}"
        )
    if not 1 <= value <= limit:
        raise ValueError(f"must be between 1 and {limit}, got {value}")
    return value


def _search_id(value: Any) -> uuid.UUID | None:
    if value is None:
        return None
    if isinstance(value, uuid.UUID):
        return value
    if not isinstance(value, str):
        raise ValueError(f"must be a UUID string, got {_type_name(value)} {_short(value)}")
    try:
        return uuid.UUID(value.strip())
    except ValueError:
        raise ValueError(
            f"{_short(value)} is not a UUID; use e.g. {uuid.UUID(int=0x1234)} or leave it out"
        ) from None


_READERS = {
    "keywords": _keywords,
    "platforms": _platforms,
    "since": _moment,
    "until": _moment,
    "max_results": _max_results,
    "search_id": _search_id,
}


def validate_search_input(data: Any) -> SearchInput:
    """Check and clean search input; raise ``ValidationError({field: [message]})`` listing every problem.

    1. Refuse anything but a mapping, and unknown field names (a typo must not be ignored).
    2. Read each field; collect one message per bad field instead of stopping at the first.
    3. Check fields against each other (``since`` before ``until``).
    """
    if not isinstance(data, dict):
        raise ValidationError(
            {
                "__all__": [
                    f"search input must be an object with fields {', '.join(FIELDS)}; got {_type_name(data)}"
                ]
            }
        )
    errors: dict[str, list[str]] = {}
    for name in data:
        if name not in _READERS:
            errors.setdefault(str(name), []).append(
                f"{name}: unknown field; accepted fields are {', '.join(FIELDS)}"
            )
    if "keywords" not in data:
        errors["keywords"] = ['keywords: required; give 1 to 20 keywords, e.g. ["acme"]']
    cleaned: dict[str, Any] = {}
    for name, reader in _READERS.items():
        if name in errors:
            continue
        try:
            cleaned[name] = reader(data.get(name))
        except ValueError as error:
            errors[name] = [f"{name}: {error}"]
    since, until = cleaned.get("since"), cleaned.get("until")
    if since and until and since >= until:
        errors["until"] = [f"until: must be later than since ({since.isoformat()}), got {until.isoformat()}"]
    if errors:
        raise ValidationError(errors)
    return SearchInput(**cleaned)


def validate_search_id(value: Any) -> uuid.UUID:
    """Check a search id on its own (``pulse.search`` called for an existing search)."""
    try:
        search_id = _search_id(value)
    except ValueError as error:
        raise ValidationError({"search_id": [f"search_id: {error}"]}) from None
    if search_id is None:
        raise ValidationError({"search_id": ["search_id: required; give the UUID of an existing search"]})
    return search_id


def validation_message(error: ValidationError) -> str:
    """One line per problem, for task failures, the CLI and logs."""
    if hasattr(error, "error_dict"):
        return "; ".join(message for messages in error.message_dict.values() for message in messages)
    return "; ".join(error.messages)
