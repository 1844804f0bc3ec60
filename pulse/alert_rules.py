"""The alert rules: each looks at the database or Redis and calls ``alert_raise`` when it must.

Event hooks (``alerts_on_search_finished``) run the search rules the moment a search finishes; the
periodic task ``pulse.check_alerts`` runs ``check_alerts_run`` every minute for the rules that no
event announces (beat stalled, no worker) and as a backstop for the rest. Both paths may notice the
same problem: the cool-down in ``alert_raise`` makes that one alert.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from celery import signals
from django.conf import settings
from django.urls import NoReverseMatch, reverse
from django.utils import timezone

from pulse import health
from pulse.alert_models import AlertEvent
from pulse.alerts import (
    RULE_BEAT_STALLED,
    RULE_EMPTY_RUNS,
    RULE_NO_WORKERS,
    RULE_PLATFORM_FAILURES,
    RULE_SEARCH_FAILED,
    alert_raise,
)

logger = logging.getLogger(__name__)

# How far back the periodic backstop looks for failed searches that no hook reported.
SEARCH_FAILED_BACKSTOP = timedelta(minutes=30)


def _admin_path(model, pk) -> str:
    try:
        return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_change", args=[pk])
    except NoReverseMatch:
        return ""


def search_alert_key(search) -> str:
    # A scheduled search that fails every 15 minutes is one problem, not one per run.
    if search.scheduled_search_id:
        return f"scheduled:{search.scheduled_search_id}"
    return f"search:{search.pk}"


def rule_search_failed(*, search) -> AlertEvent | None:
    """Alert when ``search`` ended ``failed`` (every platform failed, or the search itself broke)."""
    from scraping.models import Search

    if search.status != Search.Status.FAILED:
        return None
    lines = [
        f"Keywords: {', '.join(search.keywords or [])}",
        f"Platforms: {', '.join(search.platforms or [])}",
    ]
    if search.scheduled_search_id:
        lines.append(f"Scheduled search: {search.scheduled_search} (id {search.scheduled_search_id})")
    if search.error:
        lines.append(f"Error: {search.error}")
    for run in search.platform_runs.exclude(error_message=""):
        lines.append(f"  {run.platform}: {run.error_kind or 'error'}: {run.error_message}")
    lines.append(f"Search id: {search.pk}  {_admin_path(Search, search.pk)}")
    name = search.scheduled_search.name if search.scheduled_search_id else ", ".join(search.keywords or [])
    return alert_raise(
        rule=RULE_SEARCH_FAILED,
        key=search_alert_key(search),
        subject=f"Search failed: {name}",
        message="\n".join(lines),
    )


def rule_platform_failures(*, platform: str, threshold: int | None = None) -> AlertEvent | None:
    """Alert when the last ``threshold`` finished runs on ``platform`` all failed."""
    from scraping.models import PlatformRun

    threshold = threshold or settings.PULSE_ALERT_PLATFORM_FAILURES
    runs = list(
        PlatformRun.objects.filter(
            platform=platform,
            status__in=[PlatformRun.Status.SUCCEEDED, PlatformRun.Status.FAILED],
            finished_at__isnull=False,
        ).order_by("-finished_at")[:threshold]
    )
    if len(runs) < threshold or any(run.status != PlatformRun.Status.FAILED for run in runs):
        return None
    errors = "\n".join(
        f"  {run.finished_at:%Y-%m-%d %H:%M:%S} {run.error_kind or 'error'}: {run.error_message}"
        for run in runs
    )
    return alert_raise(
        rule=RULE_PLATFORM_FAILURES,
        key=platform,
        subject=f"Platform {platform} failed {threshold} times in a row",
        message=f"The last {threshold} runs on {platform} failed:\n{errors}",
    )


def rule_empty_runs(*, scheduled_search, threshold: int | None = None) -> AlertEvent | None:
    """Alert when the last ``threshold`` finished searches of a scheduled search found nothing.

    A failed search breaks the streak: it is reported by the failure rules, and it says nothing
    about whether the keywords still match anything.
    """
    from scraping.models import Search

    threshold = threshold or settings.PULSE_ALERT_EMPTY_RUNS
    searches = list(
        Search.objects.filter(scheduled_search=scheduled_search, finished_at__isnull=False)
        .exclude(status=Search.Status.CANCELLED)
        .order_by("-finished_at")[:threshold]
    )
    if len(searches) < threshold:
        return None
    if any(
        s.status not in (Search.Status.SUCCEEDED, Search.Status.PARTIAL) or s.mentions_found for s in searches
    ):
        return None
    return alert_raise(
        rule=RULE_EMPTY_RUNS,
        key=f"scheduled:{scheduled_search.pk}",
        subject=f"Scheduled search {scheduled_search.name} found nothing {threshold} runs in a row",
        message=(
            f"Keywords: {', '.join(scheduled_search.keywords or [])}\n"
            f"Platforms: {', '.join(scheduled_search.platforms or [])}\n"
            f"The last {threshold} runs finished without a single item. Check the keywords, or whether a "
            "platform changed its pages."
        ),
    )


def rule_beat_stalled() -> AlertEvent | None:
    """Alert when beat's heartbeat is missing or older than ``PULSE_ALERT_BEAT_STALL_SECONDS``."""
    check = health.check_beat()
    if check["ok"]:
        return None
    return alert_raise(
        rule=RULE_BEAT_STALLED,
        key="beat",
        subject="Beat has stalled: scheduled searches are not being dispatched",
        message=f"{check['error']}.\nRestart the beat service and read its log.",
    )


def rule_no_workers(*, timeout: float | None = None) -> AlertEvent | None:
    """Alert when no worker answers ``ping`` within ``PULSE_WORKER_PING_TIMEOUT_SECONDS``."""
    check = health.check_workers(timeout=timeout)
    if check["ok"]:
        return None
    return alert_raise(
        rule=RULE_NO_WORKERS,
        key="workers",
        subject="No Celery worker is answering",
        message=f"{check['error']}.\nSearches queue up but nothing runs them. Start or restart the workers.",
    )


def alerts_on_search_finished(search) -> None:
    """Run every search rule for a search that just finished. Never raises."""
    try:
        rule_search_failed(search=search)
        for platform in set(search.platform_runs.filter(status="failed").values_list("platform", flat=True)):
            rule_platform_failures(platform=platform)
        if search.scheduled_search_id:
            rule_empty_runs(scheduled_search=search.scheduled_search)
    except Exception:
        logger.exception("alert rules failed for search %s", search.pk)


def check_alerts_run(*, include_workers: bool = True) -> list[AlertEvent]:
    """Run every rule once (the body of ``pulse.check_alerts`` and ``manage.py check_alerts``).

    1. Beat heartbeat; 2. worker ping (skipped inside a worker, which proves one is alive);
    3. every platform seen in the last week; 4. every enabled scheduled search;
    5. failed searches of the last half hour that no alert mentions yet.
    """
    from schedules.models import ScheduledSearch
    from scraping.models import PlatformRun, Search

    events: list[AlertEvent | None] = [rule_beat_stalled()]
    if include_workers:
        events.append(rule_no_workers())
    week_ago = timezone.now() - timedelta(days=7)
    platforms = (
        PlatformRun.objects.filter(finished_at__gte=week_ago).values_list("platform", flat=True).distinct()
    )
    events.extend(rule_platform_failures(platform=platform) for platform in sorted(set(platforms)))
    for scheduled_search in ScheduledSearch.objects.filter(enabled=True):
        events.append(rule_empty_runs(scheduled_search=scheduled_search))
    recent_failures = Search.objects.filter(
        status=Search.Status.FAILED, finished_at__gte=timezone.now() - SEARCH_FAILED_BACKSTOP
    ).select_related("scheduled_search")
    for search in recent_failures:
        already = AlertEvent.objects.filter(
            rule=RULE_SEARCH_FAILED, key=search_alert_key(search), sent_at__gte=search.finished_at
        ).exists()
        if not already:
            events.append(rule_search_failed(search=search))
    return [event for event in events if event is not None]


@signals.task_postrun.connect
def _alerts_after_finalize(sender=None, task=None, args=None, kwargs=None, retval=None, **extra) -> None:
    """Run the search rules when ``pulse.finalize_search`` ends, whatever its outcome.

    The finalize task's summary (``search_summary``) and its arguments both carry the search id.
    """
    if getattr(task, "name", "") != "pulse.finalize_search":
        return
    search_id = (retval or {}).get("search_id") if isinstance(retval, dict) else None
    search_id = search_id or (kwargs or {}).get("search_id") or (args[0] if args else None)
    if not search_id:
        return
    from scraping.models import Search

    search = Search.objects.select_related("scheduled_search").filter(pk=search_id).first()
    if search is not None and search.is_finished:
        alerts_on_search_finished(search)
