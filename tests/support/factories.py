"""Rows for operations tests, made directly so these tests do not depend on pipeline services."""

from __future__ import annotations

from datetime import timedelta
from itertools import count

from django.utils import timezone

from schedules.models import ScheduledSearch
from scraping.models import Mention, PlatformRun, Search

_numbers = count(1)


def make_search(
    *,
    status=Search.Status.SUCCEEDED,
    finished_ago=timedelta(minutes=1),
    platforms=("news",),
    scheduled_search=None,
    mentions_found=0,
    error="",
    run_status=None,
    run_error="",
    keywords=("pulse",),
) -> Search:
    finished_at = timezone.now() - finished_ago if finished_ago is not None else None
    search = Search.objects.create(
        keywords=list(keywords),
        platforms=list(platforms),
        status=status,
        scheduled_search=scheduled_search,
        platforms_total=len(platforms),
        platforms_done=len(platforms),
        mentions_found=mentions_found,
        created_at=(finished_at or timezone.now()) - timedelta(seconds=30),
        started_at=(finished_at or timezone.now()) - timedelta(seconds=20),
        finished_at=finished_at,
        error=error,
        trigger=Search.Trigger.SCHEDULE if scheduled_search else Search.Trigger.API,
    )
    for platform in platforms:
        make_run(
            search=search,
            platform=platform,
            status=run_status or _run_status_for(status),
            finished_at=finished_at,
            error=run_error,
        )
    return search


def _run_status_for(search_status) -> str:
    return (
        PlatformRun.Status.FAILED if search_status == Search.Status.FAILED else PlatformRun.Status.SUCCEEDED
    )


def make_run(*, search, platform, status, finished_at, error="") -> PlatformRun:
    failed = status == PlatformRun.Status.FAILED
    return PlatformRun.objects.create(
        search=search,
        platform=platform,
        status=status,
        attempts=1,
        finished_at=finished_at,
        started_at=finished_at - timedelta(seconds=5) if finished_at else None,
        error_kind=PlatformRun.ErrorKind.TRANSIENT if failed else "",
        error_message=(error or "HTTP 500 from the platform") if failed else "",
    )


def make_scheduled_search(**fields) -> ScheduledSearch:
    number = next(_numbers)
    return ScheduledSearch.objects.create(
        name=fields.pop("name", f"scheduled {number}"),
        keywords=fields.pop("keywords", ["pulse"]),
        platforms=fields.pop("platforms", ["news"]),
        **fields,
    )


def make_mention(*, platform="news", first_seen=None, search=None) -> Mention:
    number = next(_numbers)
    mention = Mention.objects.create(
        platform=platform,
        external_id=f"item-{number}",
        url=f"https://example.com/{number}",
        title=f"Item {number}",
        first_seen=first_seen or timezone.now(),
    )
    if search is not None:
        mention.matches.create(search=search, keyword="pulse")
    return mention
