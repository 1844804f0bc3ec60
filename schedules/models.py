"""Scheduled searches: what to look for (here) and when (a django-celery-beat PeriodicTask)."""

from __future__ import annotations

from datetime import timedelta

from django.db import models
from django.utils import timezone as django_timezone
from django_celery_beat.models import PeriodicTask
from timezone_field import TimeZoneField

SCHEDULED_SEARCH_TASK = "pulse.scheduled_search"


class ScheduledSearch(models.Model):
    """A search that runs on a schedule.

    Its timing lives in the linked ``PeriodicTask`` (cron, interval, clocked or solar), whose
    task is ``pulse.scheduled_search`` and whose kwargs hold only ``{"scheduled_search_id": id}``.
    Keyword edits therefore never touch beat; timing edits change the PeriodicTask.
    """

    class MisfirePolicy(models.TextChoices):
        SKIP = "skip", "Skip missed runs"
        COALESCE = "coalesce", "Run once for all missed runs"
        RUN_ALL = "run_all", "Run every missed slot"

    class FailureAction(models.TextChoices):
        NOTHING = "", "Do nothing"
        RUN = "run", "Run another scheduled search"
        ALERT = "alert", "Send an alert"

    name = models.CharField(max_length=200, unique=True)
    keywords = models.JSONField(help_text="Keywords to look for (1–20).")
    platforms = models.JSONField(help_text="Platform names to search.")
    max_results = models.PositiveIntegerField(default=50)
    lookback = models.DurationField(
        null=True,
        blank=True,
        default=timedelta(hours=24),
        help_text="Only content published within this window before each run (empty: no limit).",
    )
    enabled = models.BooleanField(default=True)
    timezone = TimeZoneField(default="Asia/Kuala_Lumpur", use_pytz=False)
    periodic_task = models.OneToOneField(
        PeriodicTask,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="scheduled_search",
    )
    misfire_policy = models.CharField(
        max_length=16, choices=MisfirePolicy.choices, default=MisfirePolicy.COALESCE
    )
    misfire_grace_seconds = models.PositiveIntegerField(
        default=300, help_text="A run later than this after its due time counts as missed."
    )
    on_success = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="Scheduled search to run after this one succeeds.",
    )
    on_failure_action = models.CharField(
        max_length=8, choices=FailureAction.choices, default=FailureAction.NOTHING, blank=True
    )
    on_failure_run = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="Scheduled search to run after this one fails (when the failure action is 'run').",
    )
    created_at = models.DateTimeField(default=django_timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        verbose_name_plural = "scheduled searches"
        permissions = [
            ("run_scheduledsearch", "Can run a scheduled search now"),
            ("pause_scheduledsearch", "Can pause and resume a scheduled search"),
        ]

    def __str__(self) -> str:
        return self.name
