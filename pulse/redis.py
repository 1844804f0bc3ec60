"""One Redis client per process for Pulse's own keys (heartbeats, cool-downs, metrics)."""

from __future__ import annotations

from functools import lru_cache

import redis
from django.conf import settings

# Keys shared with the beat scheduler. It writes them; operations code only reads them.
BEAT_HEARTBEAT_KEY = "pulse:beat:heartbeat"  # unix time (float) of beat's last tick, TTL 120 s
BEAT_DISPATCH_LAG_KEY = "pulse:beat:last_dispatch_lag_seconds"  # float: sent_at - due_at of the last dispatch
BEAT_DISPATCHES_KEY = "pulse:beat:dispatches"  # integer, INCR on every task beat sends


@lru_cache(maxsize=4)
def _client(url: str) -> redis.Redis:
    return redis.Redis.from_url(url, decode_responses=True, socket_connect_timeout=2, socket_timeout=2)


def redis_client() -> redis.Redis:
    return _client(settings.REDIS_URL)


def read_float(key: str) -> float | None:
    """A float stored under ``key``; None when absent or not a number."""
    value = redis_client().get(key)
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None


def beat_dispatch_record(*, lag_seconds: float, client: redis.Redis | None = None) -> None:
    """Record one beat dispatch for ``/metrics``: the scheduler calls this each time it sends a task.

    ``lag_seconds`` is how late the task was sent after its due time (0 or more). The two writes go
    in one round trip; a failure here must not stop beat from dispatching, so errors are swallowed.
    """
    try:
        pipeline = (client or redis_client()).pipeline(transaction=False)
        pipeline.set(BEAT_DISPATCH_LAG_KEY, repr(max(0.0, float(lag_seconds))))
        pipeline.incr(BEAT_DISPATCHES_KEY)
        pipeline.execute()
    except (redis.RedisError, TypeError, ValueError):
        pass
