"""Reads for scheduled searches: the export format, the timing in words, the next run times."""

from __future__ import annotations

from datetime import datetime, timedelta

from cron_descriptor import ExpressionDescriptor, Options
from django.db.models import Count, OuterRef, QuerySet, Subquery
from django.db.models.functions import Coalesce
from django.utils import timezone as django_timezone

from schedules.beat_timing import CrontabSpec, first_slot_after_baseline, from_epoch
from schedules.models import ScheduledSearch
from schedules.timing import Timing, timing_of
from scraping.models import Mention, Search

SOLAR_WORDS = {
    "dawn_astronomical": "astronomical dawn", "dawn_nautical": "nautical dawn", "dawn_civil": "civil dawn",
    "sunrise": "sunrise", "solar_noon": "solar noon", "sunset": "sunset", "dusk_civil": "civil dusk",
    "dusk_nautical": "nautical dusk", "dusk_astronomical": "astronomical dusk",
}


def schedule_timing(*, scheduled_search: ScheduledSearch) -> Timing | None:
    if scheduled_search.periodic_task is None:
        return None
    return timing_of(scheduled_search.periodic_task, zone=scheduled_search.timezone)


def _lookback_hours(lookback: timedelta | None) -> float | None:
    if lookback is None:
        return None
    hours = lookback.total_seconds() / 3600
    return int(hours) if hours == int(hours) else hours


def schedule_as_dict(*, scheduled_search: ScheduledSearch) -> dict:
    """The import/export format (a contract; see docs/SCHEDULES.md). Keys in a fixed order."""
    timing = schedule_timing(scheduled_search=scheduled_search)
    return {
        "name": scheduled_search.name,
        "keywords": list(scheduled_search.keywords),
        "platforms": list(scheduled_search.platforms),
        "max_results": scheduled_search.max_results,
        "schedule": timing.as_dict() if timing else None,
        "timezone": scheduled_search.timezone.key,
        "enabled": scheduled_search.enabled,
        "lookback_hours": _lookback_hours(scheduled_search.lookback),
        "misfire_policy": scheduled_search.misfire_policy,
        "misfire_grace_seconds": scheduled_search.misfire_grace_seconds,
        "on_success": scheduled_search.on_success.name if scheduled_search.on_success else None,
        "on_failure": _on_failure(scheduled_search),
    }


def _on_failure(scheduled_search: ScheduledSearch):
    if scheduled_search.on_failure_action == ScheduledSearch.FailureAction.ALERT:
        return "alert"
    if scheduled_search.on_failure_action == ScheduledSearch.FailureAction.RUN and scheduled_search.on_failure_run:
        return {"run": scheduled_search.on_failure_run.name}
    return None


def cron_in_words(expression: str) -> str:
    options = Options()
    options.use_24hour_time_format = True
    options.verbose = False
    try:
        return ExpressionDescriptor(expression, options).get_description()
    except Exception:  # noqa: BLE001
        # cron-descriptor fails on steps wider than their field ("*/7" days of the week, "*/13"
        # months), which croniter and beat accept; a page that lists schedules must still render.
        return f"Cron {expression!r}"


def timing_in_words(timing: Timing | None, *, zone_name: str) -> str:
    if timing is None:
        return "No timing set"
    if timing.kind == "cron":
        return f"{cron_in_words(timing.cron)} ({zone_name})"
    if timing.kind == "every":
        unit = timing.period[:-1] if timing.every == 1 else timing.period
        return f"Every {timing.every} {unit}" if timing.every != 1 else f"Every {unit}"
    if timing.kind == "once":
        return f"Once at {timing.once:%Y-%m-%d %H:%M} ({zone_name})"
    return f"At {SOLAR_WORDS.get(timing.solar, timing.solar)} at {timing.latitude}, {timing.longitude}"


def schedule_in_words(*, scheduled_search: ScheduledSearch) -> str:
    """E.g. "At 09:00, Monday through Friday (Asia/Kuala_Lumpur)", "Every 2 hours", "Once at ..."."""
    return timing_in_words(
        schedule_timing(scheduled_search=scheduled_search), zone_name=scheduled_search.timezone.key
    )


def cron_next_runs(expression: str, *, zone, after: datetime, count: int) -> list[datetime]:
    """The next ``count`` cron runs after ``after``, exactly as beat dispatches them, aware in ``zone``.

    Beat's own ``CrontabSpec.next_after`` computes each run from the previous one, so the preview
    and the dispatcher share one set of daylight-saving rules (see docs/SCHEDULER.md, "When is a
    run due?").
    """
    spec = CrontabSpec.from_expression(expression, timezone=zone)
    runs: list[datetime] = []
    moment = after.timestamp()
    while len(runs) < count:
        moment = first_slot_after_baseline(spec, baseline=moment, start_time=None)
        runs.append(from_epoch(moment).astimezone(zone))
    return runs


def timing_next_runs(timing: Timing | None, *, zone, count: int = 5, after: datetime | None = None,
                     last_run_at: datetime | None = None) -> list[datetime]:
    """The next ``count`` run times, aware in ``zone``.

    Cron runs come from beat's own timing code (``cron_next_runs``); an interval counts from the
    last run (or now); a one-off has at most one run; solar events come from Celery's own solar
    schedule, the same one beat uses.
    """
    if timing is None:
        return []
    after = (after or django_timezone.now()).astimezone(zone)
    if timing.kind == "cron":
        return cron_next_runs(timing.cron, zone=zone, after=after, count=count)
    if timing.kind == "every":
        step = timedelta(**{timing.period: timing.every})
        start = last_run_at + step if last_run_at else after
        while start < after:
            start += step
        return [(start + step * index).astimezone(zone) for index in range(count)]
    if timing.kind == "once":
        return [timing.once.astimezone(zone)] if timing.once > after else []
    from celery.schedules import solar

    # remaining_estimate(last_run_at) answers "how long from now until the event after last_run_at";
    # pinning "now" to ``after`` turns it into the event time itself.
    schedule = solar(timing.solar, float(timing.latitude), float(timing.longitude), nowfun=lambda: after)
    runs: list[datetime] = []
    moment = after
    for _ in range(count):
        event = after + schedule.remaining_estimate(moment)
        runs.append(event.astimezone(zone))
        moment = event + timedelta(minutes=1)
    return runs


def schedule_next_runs(*, scheduled_search: ScheduledSearch, count: int = 5) -> list[datetime]:
    """The next run times in the schedule's timezone (empty when paused or a finished one-off)."""
    if not scheduled_search.enabled or scheduled_search.periodic_task is None:
        return []
    if not scheduled_search.periodic_task.enabled:
        return []
    return timing_next_runs(
        schedule_timing(scheduled_search=scheduled_search), zone=scheduled_search.timezone, count=count,
        # Beat counts an interval from the last run, or from the last change when it never ran.
        last_run_at=scheduled_search.periodic_task.last_run_at or scheduled_search.periodic_task.date_changed,
    )


def schedule_searches(*, scheduled_search: ScheduledSearch) -> QuerySet[Search]:
    return Search.objects.filter(scheduled_search=scheduled_search).order_by("-created_at")


def schedule_last_search(*, scheduled_search: ScheduledSearch) -> Search | None:
    return schedule_searches(scheduled_search=scheduled_search).first()


def schedule_mentions_since(*, scheduled_search: ScheduledSearch, hours: int = 24) -> int:
    """Distinct mentions found by this schedule's searches in the last ``hours``."""
    since = django_timezone.now() - timedelta(hours=hours)
    return (
        Mention.objects.filter(matches__search__scheduled_search=scheduled_search, matches__matched_at__gte=since)
        .distinct()
        .count()
    )


def schedules_with_activity(*, queryset: QuerySet[ScheduledSearch], hours: int = 24) -> QuerySet[ScheduledSearch]:
    """Add ``last_search_status``, ``last_search_at`` and ``mentions_last_24h`` to each row, in one query."""
    since = django_timezone.now() - timedelta(hours=hours)
    last = Search.objects.filter(scheduled_search=OuterRef("pk")).order_by("-created_at")
    mentions = (
        Mention.objects.filter(matches__search__scheduled_search=OuterRef("pk"), matches__matched_at__gte=since)
        .order_by()
        .values("matches__search__scheduled_search")
        .annotate(count=Count("pk", distinct=True))
        .values("count")
    )
    return queryset.select_related(
        "periodic_task__crontab", "periodic_task__interval", "periodic_task__clocked", "periodic_task__solar",
    ).annotate(
        last_search_status=Subquery(last.values("status")[:1]),
        last_search_at=Subquery(last.values("created_at")[:1]),
        mentions_last_24h=Coalesce(Subquery(mentions), 0),
    )


def schedules_export_queryset() -> QuerySet[ScheduledSearch]:
    return ScheduledSearch.objects.select_related(
        "periodic_task__crontab", "periodic_task__interval", "periodic_task__clocked", "periodic_task__solar",
        "on_success", "on_failure_run",
    ).order_by("name")


def schedules_export() -> list[dict]:
    """Every scheduled search in the export format, by name."""
    return [schedule_as_dict(scheduled_search=row) for row in schedules_export_queryset()]
