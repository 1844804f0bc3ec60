"""Tasks that exist only for tests; a test worker loads them with ``--include tests.support.tasks``."""

from __future__ import annotations

import os
import time

import redis
from celery import shared_task
from django.conf import settings


def _redis():
    return redis.Redis.from_url(settings.REDIS_URL)


@shared_task(name="tests.record")
def record(key: str, value: str = "") -> int:
    """Append ``value`` to the Redis list ``key`` so a test can see the task ran, and how often."""
    return _redis().rpush(f"tests:{key}", value or str(time.time()))


@shared_task(name="tests.add")
def add(left: int, right: int) -> int:
    return left + right


@shared_task(name="tests.log_message")
def log_message(message: str, search_id: str | None = None, run_id: int | None = None) -> str:
    """Log ``message`` from inside a task, so a test can read the task context on the log line."""
    import logging

    logging.getLogger("tests.tasks").warning(message)
    return message


@shared_task(name="tests.sleep_then_record", bind=True)
def sleep_then_record(self, key: str, seconds: float) -> int:
    """Record the start and the end, sleeping between them; a kill in between leaves only the start."""
    connection = _redis()
    connection.rpush(f"tests:{key}", f"start:{os.getpid()}")
    time.sleep(seconds)
    return connection.rpush(f"tests:{key}", f"end:{os.getpid()}")


@shared_task(name="tests.record_slot", bind=True)
def record_slot(self, key: str) -> int:
    """Append the slot beat stamped on the message (header ``pulse_scheduled_for``) to ``tests:<key>``.

    A test can then tell the slots apart and see whether any was sent twice.
    """
    scheduled_for = getattr(self.request, "pulse_scheduled_for", None) or "unknown"
    return _redis().rpush(f"tests:{key}", scheduled_for)


# Test platforms register themselves on import, so the worker can run searches over them.
import tests.support.scrapers  # noqa: E402,F401


@shared_task(name="tests.database_session")
def database_session() -> list[int]:
    """The pool process's pid and its PostgreSQL backend's pid: which connection this task used."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        return [os.getpid(), cursor.fetchone()[0]]
