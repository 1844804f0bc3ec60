"""Small built-in tasks that exercise the whole path: broker, worker, result backend."""

from __future__ import annotations

import socket

from celery import shared_task
from django.utils import timezone


@shared_task(name="pulse.ping", pulse_queue="http")
def ping() -> dict:
    """Answer with the worker's host name and clock; used by health checks and smoke tests."""
    return {"pong": socket.gethostname(), "at": timezone.now().isoformat()}


@shared_task(name="pulse.cleanup_history", pulse_queue="http")
def cleanup_history() -> dict:
    """Delete run history older than PULSE_HISTORY_RETENTION_DAYS (mentions are kept)."""
    from pulse.maintenance import history_cleanup

    return {"deleted_searches": history_cleanup()}


@shared_task(name="pulse.check_alerts", pulse_queue="http", ignore_result=True)
def check_alerts() -> int:
    """Run every alert rule once; returns how many alerts were sent."""
    from pulse.alert_rules import check_alerts_run

    return len(check_alerts_run())
