"""System checks that guard Pulse's configuration at start-up (web, worker and beat)."""

from __future__ import annotations

from django.conf import settings
from django.core import checks


def longest_task_time_limit() -> int:
    """The longest hard time limit any Pulse task can run under, in seconds.

    Besides the global limit, any setting named ``PULSE_*_TIME_LIMIT`` (but not a soft one) is a
    per-task limit and counts too.
    """
    limits = [settings.CELERY_TASK_TIME_LIMIT or 0]
    for name in dir(settings):
        if name.startswith("PULSE_") and name.endswith("_TIME_LIMIT") and "SOFT" not in name:
            value = getattr(settings, name)
            if isinstance(value, (int, float)):
                limits.append(value)
    return int(max(limits))


@checks.register("pulse")
def check_visibility_timeout(app_configs=None, **kwargs):
    options = getattr(settings, "CELERY_BROKER_TRANSPORT_OPTIONS", {}) or {}
    visibility_timeout = options.get("visibility_timeout", 3600)
    longest = longest_task_time_limit()
    if not settings.CELERY_BROKER_URL.startswith(("redis://", "rediss://")):
        return []
    if visibility_timeout <= longest:
        return [
            checks.Error(
                f"Redis visibility_timeout ({visibility_timeout}s) is not longer than the longest task "
                f"time limit ({longest}s); Redis would hand a still-running task to another worker and "
                "it would run twice.",
                hint="Raise PULSE_REDIS_VISIBILITY_TIMEOUT above every PULSE_*_TIME_LIMIT, "
                "or lower the time limits.",
                id="pulse.E001",
            )
        ]
    return []


@checks.register("pulse")
def check_serializers(app_configs=None, **kwargs):
    accepted = set(settings.CELERY_ACCEPT_CONTENT)
    if accepted - {"json", "application/json"}:
        return [
            checks.Error(
                f"CELERY_ACCEPT_CONTENT allows {sorted(accepted)}; Pulse accepts JSON only because a "
                "pickle message from anyone who can reach the broker runs code on the workers.",
                hint='Set CELERY_ACCEPT_CONTENT = ["json"].',
                id="pulse.E002",
            )
        ]
    return []
