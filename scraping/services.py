"""Writes for searches: create, start, run one platform, finalize, cancel.

Tasks in ``scraping.tasks`` are thin wrappers around these functions; the CLI's ``--eager`` mode
calls them directly. Scraping happens outside any transaction (it can take minutes); everything
that changes rows for one step commits together.
"""

from __future__ import annotations

import logging
import random
import uuid

import redis
from celery import Signature, signature
from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.db.models import F
from django.db.models.functions import Coalesce
from django.utils import timezone

from scraping import pipeline, ratelimit
from scraping.models import PlatformRun, Search
from scraping.platforms import registry
from scraping.platforms.base import Query, ScraperError, transient_error_from
from scraping.selectors import platform_run_result, search_progress, search_summary
from scraping.validation import SearchInput, validate_search_id, validate_search_input

logger = logging.getLogger(__name__)

SEARCH_TASK = "pulse.search"


class RateLimited(Exception):
    """The platform's rate limit is used up; ask again after ``wait`` seconds (not an attempt)."""

    def __init__(self, platform: str, wait: float):
        super().__init__(f"{platform}: rate limit reached, next slot in {wait:.1f}s")
        self.wait = wait


# --- create and start -----------------------------------------------------------------------------


def search_create(
    *,
    keywords,
    platforms=None,
    since=None,
    until=None,
    max_results=50,
    trigger: str,
    scheduled_search=None,
    parent: Search | None = None,
    search_id=None,
) -> tuple[Search, bool]:
    """Validate, then create a Search and one PlatformRun per platform; enqueue nothing.

    Idempotent on ``search_id``: if that search exists it is returned unchanged with ``False``.
    """
    if trigger not in Search.Trigger.values:
        raise ValidationError(
            {"trigger": [f"trigger: {trigger!r} is not one of {', '.join(Search.Trigger.values)}"]}
        )
    cleaned = validate_search_input(
        {
            "keywords": keywords,
            "platforms": platforms,
            "since": since,
            "until": until,
            "max_results": max_results,
            "search_id": search_id,
        }
    )
    return _search_create_from(cleaned, trigger=trigger, scheduled_search=scheduled_search, parent=parent)


def _search_create_from(
    cleaned: SearchInput, *, trigger: str, scheduled_search=None, parent=None, running_task_id: str | None = None
) -> tuple[Search, bool]:
    """Create the search unless its id exists. ``running_task_id``: the task that will run it creates
    it running at once (one INSERT instead of an INSERT and the claim's UPDATE)."""
    claimed = {}
    if running_task_id is not None:
        claimed = {"status": Search.Status.RUNNING, "started_at": timezone.now(), "celery_task_id": running_task_id}
    if cleaned.search_id is not None:
        existing = Search.objects.filter(pk=cleaned.search_id).first()
        if existing is not None:
            return existing, False
    try:
        with transaction.atomic():
            search = Search.objects.create(
                id=cleaned.search_id or uuid.uuid4(),
                keywords=list(cleaned.keywords),
                platforms=list(cleaned.platforms),
                since=cleaned.since,
                until=cleaned.until,
                max_results=cleaned.max_results,
                trigger=trigger,
                scheduled_search=scheduled_search,
                parent=parent,
                platforms_total=len(cleaned.platforms),
                **claimed,
            )
            PlatformRun.objects.bulk_create(
                [PlatformRun(search=search, platform=platform) for platform in cleaned.platforms]
            )
    except IntegrityError:
        # Two callers raced with the same search_id; the other one created it.
        existing = Search.objects.filter(pk=cleaned.search_id).first() if cleaned.search_id else None
        if existing is None:
            raise
        return existing, False
    return search, True


def search_start(**fields) -> Search:
    """Create a search (as ``search_create``) and, once committed, enqueue ``pulse.search`` for it.

    The Celery task id is chosen here and stored on the row, so ``AsyncResult(search.celery_task_id)``
    works at once and returns the summary when the search ends.
    """
    from pulse.celery import app

    with transaction.atomic():
        search, created = search_create(**fields)
        if not created:
            return search
        task_id = str(uuid.uuid4())
        Search.objects.filter(pk=search.pk).update(celery_task_id=task_id)
        search.celery_task_id = task_id
        transaction.on_commit(
            lambda: app.send_task(SEARCH_TASK, kwargs={"search_id": str(search.pk)}, task_id=task_id)
        )
    return search


def search_signature(*, search: Search) -> Signature:
    """A signature that runs ``search`` when called: put it in ``chain(a, b)`` to run b after a.

    It is the public entry task for the existing row; that task replaces itself with the search's
    chord, and Celery hands the rest of a chain on to the chord, so ``b`` starts after ``a``'s summary.
    """
    return signature(SEARCH_TASK, kwargs={"search_id": str(search.pk)}, immutable=True)


def search_claim(
    *, data: dict, task_id: str, trigger: str = Search.Trigger.APPLY_ASYNC
) -> tuple[Search, bool]:
    """Find or create the search a ``pulse.search`` call asks for; say whether this call must run it.

    1. ``{"search_id": id}`` alone names an existing search (``search_start`` enqueues exactly that);
       anything more is validated and creates the search unless that id exists already.
    2. The call runs the search only if it moves it from queued to running, or if it is a redelivery
       of the call that did (same task id). Any other call gets the search back to report on, so one
       search id never runs twice.
    """
    if isinstance(data, dict) and set(data) == {"search_id"}:
        cleaned_id = validate_search_id(data["search_id"])
        search = Search.objects.filter(pk=cleaned_id).first()
        if search is None:
            raise ValidationError(
                {"search_id": [f"search_id: no search {cleaned_id} exists; pass keywords too to create it"]}
            )
    else:
        search, created = _search_create_from(validate_search_input(data), trigger=trigger, running_task_id=task_id)
        if created:
            return search, True
    now = timezone.now()
    claimed = Search.objects.filter(pk=search.pk, status=Search.Status.QUEUED).update(
        status=Search.Status.RUNNING, started_at=now, celery_task_id=task_id
    )
    redelivered = (
        not claimed
        and search.status == Search.Status.RUNNING
        and bool(task_id)
        and search.celery_task_id == task_id
    )
    if claimed:
        search.status, search.started_at, search.celery_task_id = Search.Status.RUNNING, now, task_id
    else:
        search.refresh_from_db()
    return search, bool(claimed or redelivered)


# --- one platform ---------------------------------------------------------------------------------


def retry_delay(*, attempt: int, retry_after: float | None = None) -> float:
    """Seconds before attempt ``attempt + 1``: the platform's Retry-After if it gave one, else
    exponential backoff with full jitter (so workers that failed together do not retry together)."""
    if retry_after is not None and retry_after > 0:
        return min(retry_after, settings.PULSE_SCRAPE_BACKOFF_MAX) * random.uniform(1.0, 1.1)
    ceiling = min(
        settings.PULSE_SCRAPE_BACKOFF_MAX, settings.PULSE_SCRAPE_BACKOFF_BASE * 2 ** max(0, attempt - 1)
    )
    return random.uniform(ceiling / 2, ceiling)


def platform_run_execute(*, run_id: int, task_id: str = "") -> dict:
    """Search one platform for one search and store what it found; return the run's result.

    1. A run that already finished (redelivered task) or whose search was cancelled is not run again.
    2. Take a rate-limit token; without one raise ``RateLimited`` (the task waits; not an attempt).
    3. Count the attempt, then call the scraper outside any transaction.
    4. A transient error with attempts left marks the run retrying and is raised for the task to retry;
       any other error is recorded as the run's failure and returned, never raised. Redis and network
       errors escaping the scraper (a refused connection, a timeout) count as transient errors.
    5. Store the items, finish the run and add to the search's counters in one transaction.
    """
    run = PlatformRun.objects.select_related("search").filter(pk=run_id).first()
    if run is None:
        # Its search was deleted while the task waited; nothing to do and nowhere to record it.
        return {"status": "deleted", "found": 0, "new": 0, "duplicate": 0, "error": "the search was deleted"}
    search = run.search
    if run.status in PlatformRun.FINISHED_STATUSES:
        return platform_run_result(run=run)
    if search.status == Search.Status.CANCELLED:
        return _platform_run_finish(run, status=PlatformRun.Status.CANCELLED)

    try:
        wait = ratelimit.take(run.platform)
    except redis.RedisError as error:
        # The shared bucket lives in Redis, which is restarting or unreachable. Nothing is wrong
        # with the platform, so this is not an attempt: wait and ask for a token again.
        wait = retry_delay(attempt=1)
        logger.warning(
            "%s: the rate limiter is unavailable (%s: %s); asking again in %.1fs",
            run.platform, type(error).__name__, error, wait,
        )  # fmt: skip
    if wait > 0:
        raise RateLimited(run.platform, wait)

    # Conditional, so a cancel that landed since the check above is never overwritten with "running".
    if not _platform_run_start(run, task_id=task_id):
        run.refresh_from_db()
        return platform_run_result(run=run)
    query = Query(
        keywords=tuple(search.keywords),
        max_results=search.max_results,
        since=search.since,
        until=search.until,
    )
    try:
        scraper = registry.get_scraper(run.platform)
    except KeyError as error:
        # The platform was removed from the registry after the search was created.
        return _platform_run_finish(
            run, status=PlatformRun.Status.FAILED, error_kind="permanent", message=str(error.args[0])
        )
    try:
        result = scraper.search(query)
        items = list(result)
    except ScraperError as error:
        return _platform_run_retry_or_fail(run, error)
    except SoftTimeLimitExceeded:
        return _platform_run_finish(
            run,
            status=PlatformRun.Status.FAILED,
            error_kind="transient",
            message="stopped at the soft time limit; the platform was too slow or max_results too high",
        )
    except Exception as error:  # a scraper bug must not take the search down with it
        transient = transient_error_from(error)
        if transient is not None:
            # Redis or the network was unavailable; nothing is wrong with the scraper.
            logger.warning("scraper %s on run %s: %s", run.platform, run.pk, transient.message)
            transient.__cause__ = error
            return _platform_run_retry_or_fail(run, transient)
        logger.exception("scraper %s crashed on run %s", run.platform, run.pk)
        return _platform_run_finish(
            run,
            status=PlatformRun.Status.FAILED,
            error_kind="permanent",
            message=f"scraper crashed: {type(error).__name__}: {error}",
        )
    # Parts of a platform that failed while others worked (one malformed feed of five) do not fail
    # the run; they are logged with the run's search id and platform so an operator can find them.
    for warning in getattr(result, "warnings", ()):
        logger.warning("%s: %s (search %s, run %s)", run.platform, warning, run.search_id, run.pk)
    return _platform_run_finish(run, status=PlatformRun.Status.SUCCEEDED, items=items)


def _platform_run_retry_or_fail(run: PlatformRun, error: ScraperError) -> dict:
    """A transient error with attempts left marks the run retrying and is raised; else the run fails."""
    if not error.permanent and run.attempts <= settings.PULSE_SCRAPE_MAX_RETRIES:
        waiting = _unfinished(run).update(
            status=PlatformRun.Status.RETRYING,
            error_kind=PlatformRun.ErrorKind.TRANSIENT,
            error_message=f"attempt {run.attempts}: {error.message}",
        )
        if not waiting:  # cancelled meanwhile: nothing to retry
            run.refresh_from_db()
            return platform_run_result(run=run)
        error.attempt = run.attempts  # the task's backoff grows with it
        raise error
    return _platform_run_finish(
        run,
        status=PlatformRun.Status.FAILED,
        error_kind=error.kind,
        message=_attempts_message(run, error),
    )


def _platform_run_start(run: PlatformRun, *, task_id: str) -> bool:
    """Mark an unfinished run running and count the attempt; update ``run`` from the row in the same
    statement (``RETURNING``), so the attempt number is the database's even under a redelivery."""
    if connection.vendor != "postgresql":  # SQLite (demo only): the same update, then a read
        started = _unfinished(run).update(
            status=PlatformRun.Status.RUNNING,
            attempts=F("attempts") + 1,
            started_at=Coalesce(F("started_at"), timezone.now()),
            celery_task_id=task_id or F("celery_task_id"),
        )
        run.refresh_from_db()
        return bool(started)
    table = PlatformRun._meta.db_table
    finished = [str(status) for status in PlatformRun.FINISHED_STATUSES]
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} SET status = %s, attempts = attempts + 1,"
            " started_at = COALESCE(started_at, %s), celery_task_id = COALESCE(NULLIF(%s, ''), celery_task_id)"
            " WHERE id = %s AND NOT (status = ANY(%s))"
            " RETURNING status, attempts, started_at, celery_task_id",
            [str(PlatformRun.Status.RUNNING), timezone.now(), task_id, run.pk, finished],
        )
        row = cursor.fetchone()
    if row is None:
        return False
    run.status, run.attempts, run.started_at, run.celery_task_id = row
    return True


def _unfinished(run: PlatformRun):
    return PlatformRun.objects.filter(pk=run.pk).exclude(status__in=PlatformRun.FINISHED_STATUSES)


def _attempts_message(run: PlatformRun, error: ScraperError) -> str:
    if error.permanent:
        return error.message
    return f"gave up after {run.attempts} attempt(s): {error.message}"


def platform_run_fail(*, run_id: int, error_kind: str, message: str) -> dict:
    """Record a run as failed from outside the normal path (an error the task caught); idempotent."""
    run = PlatformRun.objects.select_related("search").filter(pk=run_id).first()
    if run is None:
        return {"status": "deleted", "found": 0, "new": 0, "duplicate": 0, "error": "the search was deleted"}
    if run.status in PlatformRun.FINISHED_STATUSES:
        return platform_run_result(run=run)
    return _platform_run_finish(run, status=PlatformRun.Status.FAILED, error_kind=error_kind, message=message)


class _RollBack(Exception):
    """Undo the finishing transaction: the search was cancelled meanwhile, or the run already finished."""


def _platform_run_finish(
    run: PlatformRun, *, status: str, items=None, error_kind: str = "", message: str = ""
) -> dict:
    """Store items (if any) and move the run to a finished status exactly once.

    1. Store the items; the search row is not locked yet, so the runs of one search store side by side
       (``store_items`` serialises stores per platform, which keeps new versus duplicate exact).
    2. Add the run to the search's counters with one UPDATE; it locks the search row until commit, so a
       cancel and a finishing run cannot interleave, and it returns the numbers progress needs.
    3. Finish the run only if it is unfinished. A search found cancelled at step 2 (when the run
       succeeded) or a run that had already finished undoes the whole transaction: items found for a
       cancelled search are discarded and the run counts as cancelled; a finished run counts once.
    """
    try:
        return _platform_run_record(run, status=status, items=items, error_kind=error_kind, message=message)
    except _RollBack:
        pass
    if status == PlatformRun.Status.SUCCEEDED:
        try:
            return _platform_run_record(run, status=PlatformRun.Status.CANCELLED)
        except _RollBack:
            pass
    current = PlatformRun.objects.filter(pk=run.pk).first()
    if current is None:
        return {"status": "deleted", "found": 0, "new": 0, "duplicate": 0, "error": "the search was deleted"}
    return platform_run_result(run=current)


def _platform_run_record(
    run: PlatformRun, *, status: str, items=None, error_kind: str = "", message: str = ""
) -> dict:
    search = run.search
    now = timezone.now()
    started = run.started_at or now
    failed = status == PlatformRun.Status.FAILED
    with transaction.atomic():
        stored = pipeline.StoreResult()
        if items:
            prepared, dropped = pipeline.prepare_items(
                items,
                platform=run.platform,
                since=search.since,
                until=search.until,
                max_results=search.max_results,
            )
            stored = pipeline.store_items(search=search, platform=run.platform, items=prepared)
            if dropped:
                logger.info(
                    "%s: dropped %d of %d items for search %s", run.platform, dropped, len(items), search.pk
                )
        counted = _search_count_run(search_id=run.search_id, stored=stored)
        if counted is None:
            raise _RollBack
        if counted.status == Search.Status.CANCELLED and status == PlatformRun.Status.SUCCEEDED:
            raise _RollBack
        claimed = _unfinished(run).update(
            status=status,
            found=stored.found,
            new=stored.new,
            duplicate=stored.duplicate,
            finished_at=now,
            started_at=started,
            duration_seconds=(now - started).total_seconds(),
            error_kind=error_kind if failed else "",
            error_message=message if failed else "",
        )
        if not claimed:
            raise _RollBack
    run.status, run.found, run.new, run.duplicate = status, stored.found, stored.new, stored.duplicate
    run.finished_at, run.started_at = now, started
    run.error_kind, run.error_message = (error_kind, message) if failed else ("", "")
    _publish_progress(counted)
    return platform_run_result(run=run)


def _search_count_run(*, search_id, stored: pipeline.StoreResult) -> Search | None:
    """Add one finished run to the search's counters; return the search's new numbers (None if deleted).

    The UPDATE locks the search row until the caller's transaction ends, as a cancel or finalize does.
    """
    if connection.vendor != "postgresql":  # SQLite (demo only): the same update, then a read
        Search.objects.filter(pk=search_id).update(
            platforms_done=F("platforms_done") + 1,
            mentions_found=F("mentions_found") + stored.found,
            mentions_new=F("mentions_new") + stored.new,
        )
        return Search.objects.filter(pk=search_id).first()
    table = Search._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} SET platforms_done = platforms_done + 1,"
            " mentions_found = mentions_found + %s, mentions_new = mentions_new + %s"
            " WHERE id = %s"
            " RETURNING status, celery_task_id, platforms_done, platforms_total, mentions_found, mentions_new",
            [stored.found, stored.new, search_id],
        )
        row = cursor.fetchone()
    if row is None:
        return None
    status, celery_task_id, done, total, found, new = row
    return Search(
        pk=search_id,
        status=status,
        celery_task_id=celery_task_id,
        platforms_done=done,
        platforms_total=total,
        mentions_found=found,
        mentions_new=new,
    )


def _publish_progress(search: Search) -> None:
    """Show progress on the search's task id, so a caller polling ``AsyncResult(id).info`` sees it.

    Safe against overwriting the final result: the finalize task (which owns that id) runs only
    after every platform task has returned, and this runs before they return.
    """
    if not search.celery_task_id or search.is_finished:
        return
    from pulse.celery import app

    try:
        app.backend.store_result(
            search.celery_task_id, {"search_id": str(search.pk), **search_progress(search=search)}, "PROGRESS"
        )
    except Exception:  # progress is a courtesy; the rows are the truth
        logger.warning("could not publish progress of search %s", search.pk, exc_info=True)


# --- finish and cancel ----------------------------------------------------------------------------


def search_finalize(*, search_id) -> dict:
    """Set the search's final status from its runs and return its summary; idempotent.

    succeeded: every platform succeeded; partial: some did; failed: none did; a cancelled search
    stays cancelled. A run that never reported back (its worker was killed) counts as failed.
    """
    now = timezone.now()
    with transaction.atomic():
        search = Search.objects.select_for_update().filter(pk=search_id).first()
        if search is None:
            return {"search_id": str(search_id), "status": "deleted", "platforms": {}}
        runs = list(search.platform_runs.all())
        if not search.is_finished:
            if any(run.status not in PlatformRun.FINISHED_STATUSES for run in runs):
                search.platform_runs.exclude(status__in=PlatformRun.FINISHED_STATUSES).update(
                    status=PlatformRun.Status.FAILED,
                    finished_at=now,
                    error_kind=PlatformRun.ErrorKind.TRANSIENT,
                    error_message="never reported back: its worker was killed or lost the task",
                )
                runs = list(search.platform_runs.all())
            succeeded = [run for run in runs if run.status == PlatformRun.Status.SUCCEEDED]
            failed = [run for run in runs if run.status != PlatformRun.Status.SUCCEEDED]
            if not failed:
                search.status = Search.Status.SUCCEEDED
            elif succeeded:
                search.status = Search.Status.PARTIAL
            else:
                search.status = Search.Status.FAILED
            search.error = "; ".join(
                f"{run.platform}: {run.error_message}" for run in failed if run.error_message
            )
            search.mentions_found = sum(run.found for run in runs)
            search.mentions_new = sum(run.new for run in runs)
            search.platforms_done = len(runs)
            search.started_at = search.started_at or now
            search.finished_at = now
            search.save(
                update_fields=[
                    "status",
                    "error",
                    "mentions_found",
                    "mentions_new",
                    "platforms_done",
                    "started_at",
                    "finished_at",
                ]
            )
    return search_summary(search=search, runs=runs)


def search_cancel(*, search: Search) -> Search:
    """Cancel a search that has not finished; a finished search is returned unchanged.

    Runs not yet finished are marked cancelled at once. Their tasks are left in the queue rather than
    revoked: a revoked chord member would stop the chord, and the caller would get an error instead of
    the summary. Each task sees the cancelled search and returns without scraping; one that is
    scraping right now finishes its page work and its items are discarded.
    """
    now = timezone.now()
    with transaction.atomic():
        locked = Search.objects.select_for_update().get(pk=search.pk)
        if locked.is_finished:
            return locked
        cancelled = locked.platform_runs.exclude(status__in=PlatformRun.FINISHED_STATUSES).update(
            status=PlatformRun.Status.CANCELLED, finished_at=now
        )
        locked.status = Search.Status.CANCELLED
        locked.finished_at = now
        locked.platforms_done = min(locked.platforms_total, locked.platforms_done + cancelled)
        locked.error = "cancelled"
        locked.save(update_fields=["status", "finished_at", "platforms_done", "error"])
    return locked

