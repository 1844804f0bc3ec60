"""Small built-in tasks that exercise the whole path: broker, worker, result backend."""

from __future__ import annotations

import socket

from celery import shared_task
from django.utils import timezone


@shared_task(name="pulse.ping", pulse_queue="http")
def ping() -> dict:
    """Answer with the worker's host name and clock; used by health checks and smoke tests."""
    return {"pong": socket.gethostname(), "at": timezone.now().isoformat()}
