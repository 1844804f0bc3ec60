"""Tasks for the fault suite; fault workers load them with ``--include tests.faults.tasks``.

They record what happened in a Redis that the fault does not touch: when a test restarts the
worker's own broker, ``PULSE_TEST_RECORD_REDIS_URL`` points the records at the shared test Redis so
the evidence survives the restart.
"""

from __future__ import annotations

import os
import time

import redis
from celery import shared_task
from django.conf import settings


def recorder() -> redis.Redis:
    return redis.Redis.from_url(os.environ.get("PULSE_TEST_RECORD_REDIS_URL") or settings.REDIS_URL)


@shared_task(name="faults.record")
def record(key: str, value: str = "") -> int:
    return recorder().rpush(f"tests:{key}", value or str(time.time()))


@shared_task(name="faults.sleep_then_record")
def sleep_then_record(key: str, seconds: float) -> int:
    """Record the start and the end; a kill in between leaves a start without an end."""
    connection = recorder()
    connection.rpush(f"tests:{key}", f"start:{os.getpid()}")
    time.sleep(seconds)
    return connection.rpush(f"tests:{key}", f"end:{os.getpid()}")


@shared_task(name="faults.count_periodic_tasks")
def count_periodic_tasks(key: str) -> int:
    """Read the database and record the answer, so a test sees the worker reached PostgreSQL."""
    from django_celery_beat.models import PeriodicTask

    count = PeriodicTask.objects.count()
    recorder().rpush(f"tests:{key}", str(count))
    return count
