"""Readiness checks shared by ``/readyz``, ``manage.py pulse_status`` and the alert rules.

Each check returns a dict with ``ok`` plus what an operator needs to act on a failure; a check never
raises, because a broken dependency is the answer, not an error.
"""

from __future__ import annotations

import time
from typing import Any

from django.conf import settings
from django.db import connection

from pulse.redis import BEAT_HEARTBEAT_KEY, read_float, redis_client

CHECK_NAMES = ("database", "redis", "workers", "beat")


def _timed(check) -> dict[str, Any]:
    started = time.monotonic()
    try:
        result = check()
    except Exception as error:  # noqa: BLE001  (any failure of a dependency is a failed check)
        result = {"ok": False, "error": f"{type(error).__name__}: {error}"}
    result["duration_ms"] = round((time.monotonic() - started) * 1000, 1)
    return result


def check_database() -> dict[str, Any]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()
    return {"ok": True, "vendor": connection.vendor}


def check_redis() -> dict[str, Any]:
    redis_client().ping()
    return {"ok": True}


def check_workers(*, timeout: float | None = None) -> dict[str, Any]:
    """At least one worker answers ``ping`` within ``timeout`` seconds.

    ``limit=1`` lets the broadcast return at the first answer instead of always waiting the full
    timeout, so a healthy probe is fast; only a failing one waits.
    """
    from pulse.celery import app

    timeout = settings.PULSE_WORKER_PING_TIMEOUT_SECONDS if timeout is None else timeout
    replies = app.control.ping(timeout=timeout, limit=1) or []
    workers = sorted(name for reply in replies for name in reply)
    if not workers:
        return {"ok": False, "workers": [], "error": f"no worker answered ping within {timeout:g}s"}
    return {"ok": True, "workers": workers}


def beat_heartbeat_age() -> float | None:
    """Seconds since beat's last heartbeat; None when there is none (beat down over 120 s, or never up)."""
    heartbeat = read_float(BEAT_HEARTBEAT_KEY)
    return None if heartbeat is None else max(0.0, time.time() - heartbeat)


def check_beat() -> dict[str, Any]:
    limit = settings.PULSE_ALERT_BEAT_STALL_SECONDS
    age = beat_heartbeat_age()
    if age is None:
        return {"ok": False, "error": f"no beat heartbeat in Redis ({BEAT_HEARTBEAT_KEY}); is beat running?"}
    if age > limit:
        return {
            "ok": False,
            "age_seconds": round(age, 1),
            "error": f"beat heartbeat is {age:.0f}s old (limit {limit}s)",
        }
    return {"ok": True, "age_seconds": round(age, 1)}


CHECKS = {"database": check_database, "redis": check_redis, "workers": check_workers, "beat": check_beat}


def readiness() -> dict[str, Any]:
    """``{"status": "ok"|"fail", "checks": {name: {...}}}``; ``ok`` only when every check passes."""
    checks: dict[str, dict[str, Any]] = {}
    for name in CHECK_NAMES:
        if name in {"workers", "beat"} and not checks["redis"]["ok"]:
            # Both are read through Redis; without it the ping would wait on broker reconnects.
            checks[name] = {"ok": False, "error": "not checked: Redis does not answer", "duration_ms": 0.0}
        else:
            checks[name] = _timed(CHECKS[name])
    return {"status": "ok" if all(check["ok"] for check in checks.values()) else "fail", "checks": checks}
