"""Reads: search summaries and progress, mention lists."""

from __future__ import annotations

from datetime import datetime

from django.db.models import Q, QuerySet

from scraping.models import Mention, PlatformRun, Search


def platform_run_result(*, run: PlatformRun) -> dict:
    return {
        "status": run.status,
        "found": run.found,
        "new": run.new,
        "duplicate": run.duplicate,
        "error": run.error_message or None,
    }


def search_summary(*, search: Search, runs: list[PlatformRun] | None = None) -> dict:
    """What ``AsyncResult(id).get()`` returns for a search; JSON-serialisable.

    ``runs``: the search's platform runs when the caller has just read them (saves a query).
    """
    if runs is None:
        runs = PlatformRun.objects.filter(search_id=search.pk)
    runs = {run.platform: run for run in runs}
    order = list(search.platforms or []) + sorted(set(runs) - set(search.platforms or []))
    return {
        "search_id": str(search.pk),
        "status": search.status,
        "platforms": {name: platform_run_result(run=runs[name]) for name in order if name in runs},
    }


def search_progress(*, search: Search) -> dict:
    return {
        "platforms_done": search.platforms_done,
        "platforms_total": search.platforms_total,
        "mentions_found": search.mentions_found,
        "mentions_new": search.mentions_new,
    }


def mention_list(
    *,
    platform: str | None = None,
    search_id=None,
    since: datetime | None = None,
    until: datetime | None = None,
    text: str | None = None,
) -> QuerySet[Mention]:
    """Mentions, newest first; ``since``/``until`` bound the publication date; ``text`` searches words."""
    mentions = Mention.objects.all()
    if platform:
        mentions = mentions.filter(platform=platform)
    if search_id:
        mentions = mentions.filter(matches__search_id=search_id)
    if since:
        mentions = mentions.filter(published_at__gte=since)
    if until:
        mentions = mentions.filter(published_at__lt=until)
    if text:
        mentions = mentions.filter(
            Q(title__icontains=text) | Q(text__icontains=text) | Q(author__icontains=text)
        )
    return mentions.order_by("-first_seen", "-id")
