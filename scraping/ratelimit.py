"""A per-platform rate limit shared by every worker: a token bucket in Redis.

Celery's own ``rate_limit`` counts per worker process, so four workers would hit a platform four
times as often as configured. The bucket lives in Redis and is updated by one Lua script, so
the check-and-take is atomic across workers; Redis' own clock is used so worker clocks may drift.
"""

from __future__ import annotations

from functools import lru_cache

import redis
from django.conf import settings

PERIODS = {"s": 1, "m": 60, "h": 3600}

_TAKE = """
local capacity = tonumber(ARGV[1])
local per_second = tonumber(ARGV[2])
local clock = redis.call('TIME')
local now = tonumber(clock[1]) + tonumber(clock[2]) / 1000000
local state = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local tokens = tonumber(state[1]) or capacity
local at = tonumber(state[2]) or now
tokens = math.min(capacity, tokens + math.max(0, now - at) * per_second)
local wait = 0
if tokens >= 1 then
  tokens = tokens - 1
else
  wait = (1 - tokens) / per_second
end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'at', tostring(now))
redis.call('EXPIRE', KEYS[1], math.ceil(capacity / per_second) + 60)
return tostring(wait)
"""


def parse_rate(rate: str) -> tuple[int, float]:
    """``"30/m"`` → (capacity 30, 0.5 tokens per second): up to N at once, then evenly spread."""
    count, period = rate.split("/")
    return int(count), int(count) / PERIODS[period]


def platform_rate(platform: str) -> str:
    return settings.PULSE_PLATFORM_RATE_LIMITS.get(platform, settings.PULSE_RATE_LIMIT_DEFAULT)


@lru_cache(maxsize=1)
def _script():
    client = redis.Redis.from_url(settings.REDIS_URL)
    return client.register_script(_TAKE)


def take(platform: str) -> float:
    """Take a token for ``platform``: 0 when allowed, else the seconds to wait before asking again."""
    capacity, per_second = parse_rate(platform_rate(platform))
    return float(_script()(keys=[f"pulse:ratelimit:{platform}"], args=[capacity, per_second]))
