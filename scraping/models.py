"""Searches, their per-platform runs, and the mentions they found."""

from __future__ import annotations

import uuid

from django.db import models
from django.utils import timezone


class Search(models.Model):
    """One request to look for keywords on some platforms; fans out into one PlatformRun each."""

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        SUCCEEDED = "succeeded", "Succeeded"
        PARTIAL = "partial", "Partial (some platforms failed)"
        FAILED = "failed", "Failed"
        CANCELLED = "cancelled", "Cancelled"

    FINISHED_STATUSES = (Status.SUCCEEDED, Status.PARTIAL, Status.FAILED, Status.CANCELLED)

    class Trigger(models.TextChoices):
        API = "api", "HTTP API"
        ADMIN = "admin", "Admin"
        SCHEDULE = "schedule", "Schedule"
        CLI = "cli", "Command line"
        APPLY_ASYNC = "apply_async", "Celery task call"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    keywords = models.JSONField(help_text="The keywords looked for (1–20).")
    platforms = models.JSONField(help_text="Platform names searched, from the platform registry.")
    since = models.DateTimeField(null=True, blank=True, help_text="Only content published at or after this.")
    until = models.DateTimeField(null=True, blank=True, help_text="Only content published before this.")
    max_results = models.PositiveIntegerField(default=50, help_text="Most items taken from each platform.")
    trigger = models.CharField(max_length=16, choices=Trigger.choices, default=Trigger.APPLY_ASYNC)
    scheduled_search = models.ForeignKey(
        "schedules.ScheduledSearch",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="searches",
        help_text="The scheduled search that started this one, if any.",
    )
    parent = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="follow_ups",
        help_text="The search this one was chained after.",
    )
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.QUEUED, db_index=True)
    platforms_total = models.PositiveSmallIntegerField(default=0)
    platforms_done = models.PositiveSmallIntegerField(default=0)
    mentions_found = models.PositiveIntegerField(default=0, help_text="Items found so far, all platforms.")
    mentions_new = models.PositiveIntegerField(default=0, help_text="Mentions stored for the first time.")
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    celery_task_id = models.CharField(max_length=255, blank=True, db_index=True)
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name_plural = "searches"
        indexes = [models.Index(fields=["status", "created_at"], name="search_status_created")]

    def __str__(self) -> str:
        return f"{', '.join(self.keywords or [])} on {', '.join(self.platforms or [])} ({self.status})"

    @property
    def is_finished(self) -> bool:
        return self.status in self.FINISHED_STATUSES

    @property
    def duration(self):
        if self.started_at and self.finished_at:
            return self.finished_at - self.started_at
        return None


class PlatformRun(models.Model):
    """The work of one search on one platform: its outcome, counts and error."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        RUNNING = "running", "Running"
        RETRYING = "retrying", "Waiting to retry"
        SUCCEEDED = "succeeded", "Succeeded"
        FAILED = "failed", "Failed"
        CANCELLED = "cancelled", "Cancelled"

    FINISHED_STATUSES = (Status.SUCCEEDED, Status.FAILED, Status.CANCELLED)

    class ErrorKind(models.TextChoices):
        NONE = "", "—"
        PERMANENT = "permanent", "Permanent (not retried)"
        TRANSIENT = "transient", "Transient (retried)"

    # No index of its own: the unique (search, platform) constraint's index serves lookups by search.
    search = models.ForeignKey(Search, on_delete=models.CASCADE, related_name="platform_runs", db_index=False)
    platform = models.CharField(max_length=32)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING, db_index=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    found = models.PositiveIntegerField(default=0)
    new = models.PositiveIntegerField(default=0)
    duplicate = models.PositiveIntegerField(default=0)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    duration_seconds = models.FloatField(null=True, blank=True)
    error_kind = models.CharField(max_length=16, choices=ErrorKind.choices, default=ErrorKind.NONE, blank=True)
    error_message = models.TextField(blank=True)
    celery_task_id = models.CharField(max_length=255, blank=True)

    class Meta:
        ordering = ["search", "platform"]
        constraints = [models.UniqueConstraint(fields=["search", "platform"], name="one_run_per_platform")]
        indexes = [models.Index(fields=["platform", "status", "finished_at"], name="platformrun_platform_status")]

    def __str__(self) -> str:
        return f"{self.platform}: {self.status}"


class Mention(models.Model):
    """One post, article or video that matched a keyword; stored once per platform and external id."""

    # Lookups by platform use the unique (platform, external_id) and (platform, first_seen) indexes;
    # a third index on platform alone would only slow every insert.
    platform = models.CharField(max_length=32)
    external_id = models.CharField(max_length=512, help_text="The platform's own id for the item.")
    url = models.URLField(max_length=2048, help_text="Canonical URL, without tracking parameters.")
    title = models.TextField(blank=True)
    text = models.TextField(blank=True)
    author = models.CharField(max_length=255, blank=True)
    published_at = models.DateTimeField(null=True, blank=True, db_index=True)
    likes = models.PositiveBigIntegerField(null=True, blank=True)
    comments = models.PositiveBigIntegerField(null=True, blank=True)
    shares = models.PositiveBigIntegerField(null=True, blank=True)
    views = models.PositiveBigIntegerField(null=True, blank=True)
    raw = models.JSONField(default=dict, blank=True, help_text="What the platform returned, for debugging.")
    first_seen = models.DateTimeField(default=timezone.now, db_index=True)
    last_seen = models.DateTimeField(default=timezone.now)
    searches = models.ManyToManyField(Search, through="MentionMatch", related_name="mentions")

    class Meta:
        ordering = ["-first_seen"]
        constraints = [
            models.UniqueConstraint(fields=["platform", "external_id"], name="one_mention_per_platform_item")
        ]
        indexes = [models.Index(fields=["platform", "first_seen"], name="mention_platform_first_seen")]

    def __str__(self) -> str:
        return f"[{self.platform}] {self.title or self.text[:60]}"


class MentionMatch(models.Model):
    """A search saw a mention; records the keyword that matched."""

    # The unique (mention, search) constraint's index serves lookups by mention.
    mention = models.ForeignKey(Mention, on_delete=models.CASCADE, related_name="matches", db_index=False)
    search = models.ForeignKey(Search, on_delete=models.CASCADE, related_name="matches")
    keyword = models.CharField(max_length=200)
    matched_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["mention", "search"], name="one_match_per_search")]
        verbose_name_plural = "mention matches"
