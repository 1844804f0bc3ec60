"""Structured logs: every record logged while a task runs carries the task's search id and platform.

Celery's ``task_prerun`` signal fires in the process that runs the task, just before it starts, so a
context variable set there is visible to every logger the task (and the code it calls) uses. The
``TaskContextFilter`` copies that context onto each record; the JSON formatter emits the fields and
the readable formatter shows them as ``[search=… platform=…]``.

Pulse's tasks take ids, not objects (``search_id``, ``run_id``, ``scheduled_search_id``); a
``run_id`` names a PlatformRun, whose row gives the platform and search.
"""

from __future__ import annotations

import contextvars
import logging
from typing import Any

from celery import signals
from pythonjsonlogger.json import JsonFormatter as _JsonFormatter

CONTEXT_FIELDS = ("task_id", "task_name", "search_id", "platform", "scheduled_search_id")

task_context: contextvars.ContextVar[dict[str, str] | None] = contextvars.ContextVar(
    "pulse_task_context", default=None
)

logger = logging.getLogger(__name__)


class TaskContextFilter(logging.Filter):
    """Adds the running task's fields to every record (empty strings outside a task)."""

    def filter(self, record: logging.LogRecord) -> bool:
        context = task_context.get() or {}
        for field in CONTEXT_FIELDS:
            if not hasattr(record, field):
                setattr(record, field, context.get(field, ""))
        shown = [f"{name}={context[name]}" for name in ("search_id", "platform") if context.get(name)]
        record.task_context = f" [{' '.join(shown)}]" if shown else ""
        return True


class JsonFormatter(_JsonFormatter):
    """One JSON object per line; the task fields appear only when set, so non-task lines stay short."""

    def add_fields(self, log_record: dict[str, Any], record: logging.LogRecord, message_dict: dict) -> None:
        super().add_fields(log_record, record, message_dict)
        log_record.pop("task_context", None)
        for field in CONTEXT_FIELDS:
            if not log_record.get(field):
                log_record.pop(field, None)


def context_from_task_call(
    *, task_name: str, task_id: str, args: tuple | list, kwargs: dict
) -> dict[str, str]:
    """The log context for one task call, read from its arguments.

    1. ``search_id`` and ``scheduled_search_id`` are taken as given (keyword arguments).
    2. ``run_id`` (a PlatformRun) adds its platform and search id from the database, unless the call
       names both already (a search's chord does, so its platform tasks need no query for this).
    3. Positional arguments carry no names, so they count only for the tasks listed in
       ``POSITIONAL_RUN_ID_TASKS`` and ``POSITIONAL_SEARCH_ID_TASKS``, whose first argument is known.
    """
    kwargs = kwargs or {}
    context = {"task_id": task_id or "", "task_name": task_name or ""}
    if kwargs.get("search_id"):
        context["search_id"] = str(kwargs["search_id"])
    if kwargs.get("scheduled_search_id"):
        context["scheduled_search_id"] = str(kwargs["scheduled_search_id"])
    if kwargs.get("platform"):
        context["platform"] = str(kwargs["platform"])
    if args and task_name in POSITIONAL_SEARCH_ID_TASKS and "search_id" not in context:
        context["search_id"] = str(args[0])
    run_id = kwargs.get("run_id")
    if run_id is None and args and task_name in POSITIONAL_RUN_ID_TASKS:
        run_id = args[0]
    if run_id is not None and not ("platform" in context and "search_id" in context):
        context.update(_platform_run_context(run_id))
    return context


# Tasks whose first positional argument is a PlatformRun id, or a search id (the chord's members
# are called positionally: scrape_platform.si(run_id), finalize_search.si(search_id)).
POSITIONAL_RUN_ID_TASKS = frozenset({"pulse.scrape_platform"})
POSITIONAL_SEARCH_ID_TASKS = frozenset({"pulse.finalize_search"})


def _platform_run_context(run_id: Any) -> dict[str, str]:
    from scraping.models import PlatformRun

    try:
        run = PlatformRun.objects.only("platform", "search_id").get(pk=run_id)
    except (PlatformRun.DoesNotExist, ValueError, TypeError):
        return {}
    except Exception:  # A log helper must never break the task it describes.
        logger.debug("could not read PlatformRun %r for the log context", run_id, exc_info=True)
        return {}
    return {"platform": run.platform, "search_id": str(run.search_id)}


@signals.task_prerun.connect
def _set_task_context(task_id=None, task=None, args=None, kwargs=None, **extra) -> None:
    task_context.set(
        context_from_task_call(
            task_name=getattr(task, "name", ""), task_id=task_id or "", args=args or (), kwargs=kwargs or {}
        )
    )


@signals.task_postrun.connect
def _clear_task_context(**extra) -> None:
    # Celery logs "Task ... succeeded" before task_postrun, so that line still has the context.
    task_context.set(None)
