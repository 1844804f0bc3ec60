"""The one seam between schedules and the search pipeline (``scraping.services``).

Everything schedules needs from the pipeline goes through these functions, so a change in the
pipeline's API touches only this module.
"""

from __future__ import annotations

from datetime import datetime

from celery import Signature
from django.db import transaction

from scraping import services as search_services
from scraping.models import Search


def search_create_for_schedule(
    *,
    keywords: list[str],
    platforms: list[str],
    since: datetime | None,
    max_results: int,
    trigger: str,
    scheduled_search,
    parent: Search | None,
) -> Search:
    """Create (not start) the Search for one run of a scheduled search, validated by the pipeline."""
    search, _created = search_services.search_create(
        keywords=keywords, platforms=platforms, since=since, max_results=max_results,
        trigger=trigger, scheduled_search=scheduled_search, parent=parent,
    )
    return search


def search_canvas(*, search: Search) -> Signature:
    """The Celery canvas that runs ``search``; its result is the search's summary dict."""
    return search_services.search_signature(search=search)


def enqueue_on_commit(canvas: Signature) -> None:
    """Send after the transaction commits, so the worker finds the rows it is given."""
    transaction.on_commit(canvas.apply_async)
