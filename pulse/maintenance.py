"""Operations services: run-history retention and the periodic tasks operations code relies on."""

from __future__ import annotations

import json
import logging
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

logger = logging.getLogger(__name__)

CLEANUP_TASK_NAME = "pulse.cleanup_history"
CHECK_ALERTS_TASK_NAME = "pulse.check_alerts"


def history_cleanup(*, older_than: datetime | None = None, batch_size: int | None = None) -> int:
    """Delete finished searches that ended before ``older_than``; returns how many were deleted.

    1. Default cut-off: now minus ``PULSE_HISTORY_RETENTION_DAYS``.
    2. Pick up to ``batch_size`` ids, delete them (PlatformRun and MentionMatch rows cascade), commit,
       repeat: short transactions keep locks brief while workers write new runs.
    3. Mentions are kept; they only lose the link to the deleted search.
    4. Alert events older than the cut-off go too.
    A finished search with no ``finished_at`` (interrupted before the pipeline recorded it) is aged
    by ``created_at``.
    """
    from scraping.models import Search

    older_than = older_than or timezone.now() - timedelta(days=settings.PULSE_HISTORY_RETENTION_DAYS)
    batch_size = batch_size or settings.PULSE_HISTORY_CLEANUP_BATCH
    expired = Search.objects.filter(status__in=Search.FINISHED_STATUSES).filter(
        Q(finished_at__lt=older_than) | Q(finished_at__isnull=True, created_at__lt=older_than)
    )
    deleted = 0
    while True:
        with transaction.atomic():
            ids = list(expired.order_by("created_at").values_list("pk", flat=True)[:batch_size])
            if not ids:
                break
            Search.objects.filter(pk__in=ids).delete()
        deleted += len(ids)
    from pulse.alert_models import AlertEvent

    # Alert history follows the same retention; it is small, one statement is enough.
    alerts_deleted, _ = AlertEvent.objects.filter(sent_at__lt=older_than).delete()
    if deleted or alerts_deleted:
        logger.info(
            "deleted %d searches and %d alert events from before %s",
            deleted,
            alerts_deleted,
            older_than.isoformat(),
        )
    return deleted


def operations_periodic_tasks_ensure() -> list[tuple[str, bool]]:
    """Create the operations PeriodicTask rows when missing; never change or delete existing ones.

    ``get_or_create`` on the name keeps whatever an admin changed (timing, enabled) across deploys,
    and a row an admin deleted comes back only when this runs again (on the next deploy). Returns
    ``(name, created)`` for each task.
    """
    from django_celery_beat.models import CrontabSchedule, IntervalSchedule, PeriodicTask

    every_minute, _ = IntervalSchedule.objects.get_or_create(every=60, period=IntervalSchedule.SECONDS)
    nightly, _ = CrontabSchedule.objects.get_or_create(
        minute="17",
        hour="3",
        day_of_week="*",
        day_of_month="*",
        month_of_year="*",
        timezone=settings.TIME_ZONE,
    )
    wanted = [
        (
            "Operations: check alert rules",
            {
                "task": CHECK_ALERTS_TASK_NAME,
                "interval": every_minute,
                "description": "Runs every alert rule (beat, workers, platforms, empty scheduled searches).",
            },
        ),
        (
            "Operations: delete old run history",
            {
                "task": CLEANUP_TASK_NAME,
                "crontab": nightly,
                "description": "Deletes searches and alert events older than PULSE_HISTORY_RETENTION_DAYS.",
            },
        ),
    ]
    results = []
    with transaction.atomic():
        for name, defaults in wanted:
            _, created = PeriodicTask.objects.get_or_create(
                name=name, defaults={"kwargs": json.dumps({}), **defaults}
            )
            results.append((name, created))
    return results
