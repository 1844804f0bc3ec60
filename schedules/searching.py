"""The one seam between schedules and the search pipeline (``scraping.services``).

Everything schedules needs from the pipeline goes through these two functions, so the rest of
the app does not care whether the pipeline's services are installed yet.
"""

from __future__ import annotations

import logging
from datetime import datetime

from celery import Signature, signature
from django.db import transaction

from scraping.models import Search

logger = logging.getLogger(__name__)


def _pipeline():
    try:
        from scraping import services
    except ImportError:
        return None
    if not hasattr(services, "search_create") or not hasattr(services, "search_signature"):
        return None
    return services


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
    """Create (not start) the Search for one run of a scheduled search."""
    pipeline = _pipeline()
    if pipeline is not None:
        search, _created = pipeline.search_create(
            keywords=keywords, platforms=platforms, since=since, max_results=max_results,
            trigger=trigger, scheduled_search=scheduled_search, parent=parent,
        )
        return search
    # Without the pipeline's services the row is created here with the same fields; the
    # ``pulse.search`` task named by the contract picks it up by id.
    logger.warning("scraping.services is not installed; creating the Search row directly")
    return Search.objects.create(
        keywords=keywords, platforms=platforms, since=since, max_results=max_results, trigger=trigger,
        scheduled_search=scheduled_search, parent=parent, platforms_total=len(platforms),
    )


def search_canvas(*, search: Search) -> Signature:
    """The Celery canvas that runs ``search`` and whose result is its summary dict."""
    pipeline = _pipeline()
    if pipeline is not None:
        return pipeline.search_signature(search=search)
    return signature("pulse.search", kwargs={"search_id": str(search.id)})


def enqueue_on_commit(canvas: Signature) -> None:
    """Send after the transaction commits, so the worker finds the rows it is given."""
    transaction.on_commit(canvas.apply_async)
