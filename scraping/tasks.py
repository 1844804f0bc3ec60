"""Celery tasks for searches. Thin: each finds its rows by id and calls one service.

``pulse.search`` is public API: other services call it by name with JSON kwargs (see
docs/PIPELINE.md). It replaces itself with ``chord(group(scrape_platform per platform),
finalize_search)``, so the caller's ``AsyncResult(id).get()`` returns the search summary.
"""

from __future__ import annotations

import logging
import random

from celery import chord, group, shared_task
from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import InterfaceError, OperationalError

from scraping import services
from scraping.models import PlatformRun, Search
from scraping.platforms import registry
from scraping.platforms.base import ScraperError
from scraping.selectors import search_progress, search_summary
from scraping.validation import validation_message

logger = logging.getLogger(__name__)


class InvalidSearchInput(ValueError):
    """Bad kwargs for ``pulse.search``; never retried. The message names every bad field."""


# The database went away (restart, failover, network). The work itself is fine, so the task waits
# and runs again instead of recording a failure that is not the platform's, or leaving a search
# "running" because finalize could not write. Every step is idempotent, so running again is safe.
DATABASE_ERRORS = (OperationalError, InterfaceError)


def database_retry_delay(retries: int) -> float:
    """Seconds before the next try: 1, 2, 4 … s with jitter, capped at PULSE_DATABASE_RETRY_BACKOFF_MAX."""
    ceiling = min(settings.PULSE_DATABASE_RETRY_BACKOFF_MAX, 2.0**retries)
    return random.uniform(ceiling / 2, ceiling)


def retry_after_database_error(task, error: Exception):
    delay = database_retry_delay(task.request.retries)
    logger.warning(
        "%s: the database is unavailable (%s: %s); try %d in %.1fs",
        task.name, type(error).__name__, str(error).strip().splitlines()[0] if str(error).strip() else "",
        task.request.retries + 2, delay,
    )  # fmt: skip
    return task.retry(exc=error, countdown=delay, max_retries=settings.PULSE_DATABASE_RETRY_MAX)


def platform_task_options(platform: str) -> dict:
    """Queue and time limits for one platform's task: browser work gets the longer browser limits."""
    try:
        queue = registry.platform_queue(platform)
    except KeyError:
        queue = "http"  # the run fails at once with "unknown platform"; any worker can record that
    options = {"queue": queue}
    if queue == "browser":
        options["soft_time_limit"] = settings.PULSE_BROWSER_TASK_SOFT_TIME_LIMIT
        options["time_limit"] = settings.PULSE_BROWSER_TASK_TIME_LIMIT
    return options


def search_canvas(search: Search):
    runs = PlatformRun.objects.filter(search=search).order_by("platform")
    header = [
        # platform and search_id label the task's log lines without a query (pulse.logging).
        scrape_platform.si(run.pk, platform=run.platform, search_id=str(search.pk)).set(
            **platform_task_options(run.platform)
        )
        for run in runs
    ]
    finalize = finalize_search.si(str(search.pk))
    # A platform task killed at its hard time limit fails the chord and the body never runs; the
    # errback still finalizes the row (that run counts as failed), so no search stays "running".
    finalize.link_error(finalize_search.si(str(search.pk)))
    return chord(group(header), finalize)


@shared_task(name="pulse.search", bind=True, throws=(InvalidSearchInput,))
def search(self, *args, **kwargs):
    """Start a search (public API). See docs/PIPELINE.md for the kwargs and the summary it returns."""
    if args:
        raise InvalidSearchInput(
            'pulse.search takes keyword arguments only, e.g. kwargs={"keywords": ["acme"]}; '
            f"got {len(args)} positional argument(s)"
        )
    try:
        found, run_now = services.search_claim(data=kwargs, task_id=self.request.id or "")
        if not run_now:
            return search_summary(search=found)
        progress = search_progress(search=found)
        canvas = search_canvas(found)
    except ValidationError as error:
        raise InvalidSearchInput(validation_message(error)) from None
    except DATABASE_ERRORS as error:
        # The retry keeps this task id, which search_claim treats as the redelivery that may run it.
        raise retry_after_database_error(self, error) from None
    self.update_state(state="PROGRESS", meta={"search_id": str(found.pk), **progress})
    return self.replace(canvas)


@shared_task(name="pulse.scrape_platform", bind=True, max_retries=None)
def scrape_platform(self, run_id: int, platform: str = "", search_id: str = "") -> dict:
    """Search one platform for one search. Never raises, except to retry: the chord always completes.

    ``platform`` and ``search_id`` only label log lines; the run's own row is what counts.
    """
    try:
        return services.platform_run_execute(run_id=run_id, task_id=self.request.id or "")
    except services.RateLimited as limited:
        raise self.retry(countdown=limited.wait + random.uniform(0, 0.25), max_retries=None) from None
    except ScraperError as error:
        # Only transient errors with attempts left reach here; the service recorded the rest.
        delay = services.retry_delay(attempt=getattr(error, "attempt", 1), retry_after=error.retry_after)
        logger.info("run %s: %s; retrying in %.1fs", run_id, error.message, delay)
        raise self.retry(exc=error, countdown=delay, max_retries=None) from None
    except SoftTimeLimitExceeded:
        return services.platform_run_fail(
            run_id=run_id,
            error_kind="transient",
            message="stopped at the soft time limit while storing results",
        )
    except DATABASE_ERRORS as error:
        # Before the catch-all: recording a failure needs the database too, and it is not the platform's.
        raise retry_after_database_error(self, error) from None
    except Exception as error:  # noqa: BLE001  an error here must be a recorded result, not a broken chord
        logger.exception("run %s failed unexpectedly", run_id)
        return services.platform_run_fail(
            run_id=run_id, error_kind="permanent", message=f"{type(error).__name__}: {error}"
        )


@shared_task(name="pulse.finalize_search", bind=True, pulse_queue="http")
def finalize_search(self, search_id: str) -> dict:
    try:
        return services.search_finalize(search_id=search_id)
    except DATABASE_ERRORS as error:
        raise retry_after_database_error(self, error) from None
