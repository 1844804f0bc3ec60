"""Celery tasks for scheduled searches. Thin: each loads by id and calls one service."""

from __future__ import annotations

import logging

from celery import shared_task

from schedules import services

logger = logging.getLogger(__name__)


@shared_task(name="pulse.scheduled_search", pulse_queue="http")
def scheduled_search(scheduled_search_id: int) -> dict | None:
    """Beat's entry point: kwargs are exactly ``{"scheduled_search_id": <int>}``."""
    if isinstance(scheduled_search_id, bool) or not isinstance(scheduled_search_id, int):
        raise TypeError(
            f"pulse.scheduled_search takes kwargs {{\"scheduled_search_id\": <int>}}; got {scheduled_search_id!r}"
        )
    search = services.scheduled_search_execute(scheduled_search_id=scheduled_search_id)
    if search is None:
        return None
    return {"scheduled_search_id": scheduled_search_id, "search_id": str(search.pk)}


@shared_task(name=services.FOLLOW_UP_TASK, pulse_queue="http")
def scheduled_search_follow_up(summary=None, *, scheduled_search_id: int, search_id: str) -> str | None:
    """Chained after a scheduled run's canvas; ``summary`` is its result, the Search row is what counts."""
    if not services.follow_up_claim(search_id=search_id):
        logger.info("Follow-up of search %s already handled", search_id)
        return None
    follow_up = services.follow_up_after(scheduled_search_id=scheduled_search_id, search_id=search_id)
    return str(follow_up.pk) if follow_up else None


@shared_task(name=services.FOLLOW_UP_FAILED_TASK, pulse_queue="http")
def scheduled_search_follow_up_failed(failed_task_id: str, *, scheduled_search_id: int, search_id: str) -> str | None:
    """Error callback of a scheduled run's canvas: a task in it raised instead of returning a summary."""
    if not services.follow_up_claim(search_id=search_id):
        logger.info("Follow-up of search %s already handled", search_id)
        return None
    from celery.result import AsyncResult

    failure = AsyncResult(failed_task_id)
    follow_up = services.follow_up_after(
        scheduled_search_id=scheduled_search_id, search_id=search_id,
        crashed=f"task {failed_task_id} raised {failure.result!r}",
    )
    return str(follow_up.pk) if follow_up else None
