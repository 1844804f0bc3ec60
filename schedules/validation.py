"""Validation of a scheduled search's fields, shared by services, the admin form and import.

Each ``clean_*`` returns the normalised value or raises ``ValidationError({field: [message]})``.
"""

from __future__ import annotations

from datetime import timedelta
from functools import cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from django.core.exceptions import ValidationError

MAX_KEYWORDS = 20
MAX_KEYWORD_LENGTH = 200
MAX_LOOKBACK = timedelta(days=366)
MAX_NAME_LENGTH = 200


def known_platform_names() -> list[str]:
    """Platform names a schedule may use: the platform registry's, in its order."""
    from scraping.platforms.registry import platform_names

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


def max_results_limit() -> int:
    """The pipeline's bound on results per platform (setting PULSE_MAX_RESULTS_LIMIT)."""
    from django.conf import settings

    return getattr(settings, "PULSE_MAX_RESULTS_LIMIT", 500)


def clean_max_results(value) -> int:
    limit = max_results_limit()
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= limit:
        raise ValidationError(
            {"max_results": [f"max_results must be a whole number from 1 to {limit}, got {value!r}."]}
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


@cache
def timezone_names() -> frozenset[str]:
    """Every IANA zone name; reading them scans the tz database, so once per process is enough."""
    return frozenset(available_timezones())


def clean_timezone(value) -> ZoneInfo:
    if isinstance(value, ZoneInfo):
        return value
    if not isinstance(value, str) or value not in timezone_names():
        raise ValidationError(
            {"timezone": [f"Unknown timezone {value!r}. Use an IANA name such as Asia/Kuala_Lumpur or Europe/London."]}
        )
    try:
        return ZoneInfo(value)
    except ZoneInfoNotFoundError:  # pragma: no cover  (available_timezones() listed it)
        raise ValidationError({"timezone": [f"Unknown timezone {value!r}."]}) from None


def validate_pulse_periodic_task(*, task: str, args, kwargs, periodic_task_id: int | None, name: str = "") -> None:
    """Check a PeriodicTask row for one of Pulse's tasks, as edited in django-celery-beat's own admin.

    ``pulse.scheduled_search`` must carry exactly ``{"scheduled_search_id": <id of an existing
    scheduled search>}`` and belong to that search; ``pulse.search`` kwargs must pass the search
    validation. Other tasks are not Pulse's to judge.
    """
    from schedules.models import SCHEDULED_SEARCH_TASK, ScheduledSearch

    linked = ScheduledSearch.objects.filter(periodic_task_id=periodic_task_id).first() if periodic_task_id else None
    if linked is not None and task != SCHEDULED_SEARCH_TASK:
        raise ValidationError(
            {"task": [f"This periodic task runs the scheduled search {linked.name!r}; its task must stay "
                      f"{SCHEDULED_SEARCH_TASK}. Delete the scheduled search instead if it is no longer wanted."]}
        )
    if linked is not None and name and name != linked.name:
        raise ValidationError(
            {"name": [f"This periodic task belongs to the scheduled search {linked.name!r}; rename it under "
                      "Scheduled searches so both names stay the same."]}
        )
    if task == SCHEDULED_SEARCH_TASK:
        if args:
            raise ValidationError({"args": ["pulse.scheduled_search takes no positional arguments; empty them ([])."]})
        if not isinstance(kwargs, dict) or set(kwargs) != {"scheduled_search_id"}:
            raise ValidationError(
                {"kwargs": ['pulse.scheduled_search needs exactly {"scheduled_search_id": <id>}. '
                            "Better: create and edit scheduled searches under Scheduled searches."]}
            )
        identifier = kwargs["scheduled_search_id"]
        if isinstance(identifier, bool) or not isinstance(identifier, int):
            raise ValidationError({"kwargs": [f"scheduled_search_id must be a whole number, got {identifier!r}."]})
        scheduled_search = ScheduledSearch.objects.filter(pk=identifier).first()
        if scheduled_search is None:
            raise ValidationError({"kwargs": [f"There is no scheduled search with id {identifier}."]})
        if scheduled_search.periodic_task_id and scheduled_search.periodic_task_id != periodic_task_id:
            raise ValidationError(
                {"kwargs": [f"Scheduled search {scheduled_search.name!r} already has its own periodic task; "
                            "a second one would run it twice. Edit its timing under Scheduled searches."]}
            )
    elif task == "pulse.search":
        if args:
            raise ValidationError({"args": ["pulse.search takes keyword arguments only; empty args ([])."]})
        if not isinstance(kwargs, dict):
            raise ValidationError({"kwargs": ["pulse.search needs an object of keyword arguments."]})
        from scraping.validation import validate_search_input

        try:
            validate_search_input(kwargs)
        except ValidationError as error:
            messages = [f"{field}: {message}" for field, items in error.message_dict.items() for message in items]
            raise ValidationError({"kwargs": messages}) from None

