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
    if deleted:
        logger.info("deleted %d searches finished before %s", deleted, older_than.isoformat())
    return deleted


def operations_periodic_tasks_ensure(
    *, periodic_task_model=None, interval_model=None, crontab_model=None
) -> None:
    """Create the operations PeriodicTask rows when missing; never change or delete existing ones.

    ``get_or_create`` on the name keeps whatever an admin changed (timing, enabled) across deploys.
    The model arguments let a data migration pass its historical models.
    """
    from django_celery_beat import models as beat_models

    periodic_task_model = periodic_task_model or beat_models.PeriodicTask
    interval_model = interval_model or beat_models.IntervalSchedule
    crontab_model = crontab_model or beat_models.CrontabSchedule

    every_minute, _ = interval_model.objects.get_or_create(every=60, period="seconds")
    nightly, _ = crontab_model.objects.get_or_create(
        minute="17",
        hour="3",
        day_of_week="*",
        day_of_month="*",
        month_of_year="*",
        timezone=settings.TIME_ZONE,
    )
    periodic_task_model.objects.get_or_create(
        name="Operations: check alert rules",
        defaults={
            "task": CHECK_ALERTS_TASK_NAME,
            "interval": every_minute,
            "kwargs": json.dumps({}),
            "description": "Runs every alert rule (beat, workers, platforms, empty scheduled searches).",
        },
    )
    periodic_task_model.objects.get_or_create(
        name="Operations: delete old run history",
        defaults={
            "task": CLEANUP_TASK_NAME,
            "crontab": nightly,
            "kwargs": json.dumps({}),
            "description": "Deletes finished searches older than PULSE_HISTORY_RETENTION_DAYS.",
        },
    )
