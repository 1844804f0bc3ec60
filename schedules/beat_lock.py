"""Redis coordination between beat processes: one leader, one dispatch per slot, a heartbeat.

Keys (all prefixed ``pulse:beat:``):
- ``leader``: the leader's identity (JSON: token, host, pid, since), with a short TTL that only
  the holder can extend (compare-and-renew in Lua, so a process that lost the lock while paused
  cannot extend someone else's).
- ``slot:<periodic task id>:<due time ISO>``: set NX by whoever dispatches that slot; a second
  process that believes it leads (after a pause longer than the TTL) finds it taken and sends
  nothing.
- ``heartbeat``: unix time of the leader's last tick (TTL 120 s), read by ``/readyz`` and the
  beat-stall alert.
"""

from __future__ import annotations

import json
import os
import socket
import time
import uuid
from collections.abc import Iterable
from datetime import UTC, datetime

import redis

LEADER_KEY = "pulse:beat:leader"
HEARTBEAT_KEY = "pulse:beat:heartbeat"
HEARTBEAT_TTL_SECONDS = 120
SLOT_KEY_PREFIX = "pulse:beat:slot:"

# KEYS[1] = lock key; ARGV[1] = our token; ARGV[2] = identity JSON; ARGV[3] = TTL in ms.
# Take the lock if free, extend it if we hold it, and report whether we hold it afterwards.
_ACQUIRE_OR_RENEW = """
local current = redis.call('GET', KEYS[1])
if not current then
  redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
  return 1
end
local ok, holder = pcall(cjson.decode, current)
if ok and type(holder) == 'table' and holder['token'] == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[3])
  return 1
end
return 0
"""

# Delete the lock only if we still hold it, so a standby can take over at once on shutdown.
_RELEASE = """
local current = redis.call('GET', KEYS[1])
if not current then return 0 end
local ok, holder = pcall(cjson.decode, current)
if ok and type(holder) == 'table' and holder['token'] == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
"""


def slot_key(periodic_task_id: int, due: float) -> str:
    due_iso = datetime.fromtimestamp(due, tz=UTC).isoformat(timespec="microseconds")
    return f"{SLOT_KEY_PREFIX}{periodic_task_id}:{due_iso}"


class BeatCoordinator:
    """Leader election, slot claims and heartbeat for one beat process."""

    def __init__(self, client: redis.Redis, *, leader_ttl: float, slot_ttl: int):
        self.client = client
        self.leader_ttl = leader_ttl
        self.slot_ttl = slot_ttl
        self.token = uuid.uuid4().hex
        self.identity = {
            "token": self.token,
            "host": socket.gethostname(),
            "pid": os.getpid(),
        }
        self.is_leader = False
        self.leader_since: float | None = None
        self._acquire_or_renew = client.register_script(_ACQUIRE_OR_RENEW)
        self._release = client.register_script(_RELEASE)

    def acquire_or_renew(self) -> bool:
        """Take or extend the leader lock; returns whether this process leads now."""
        identity = dict(self.identity, since=self.leader_since or time.time())
        held = bool(
            self._acquire_or_renew(
                keys=[LEADER_KEY],
                args=[self.token, json.dumps(identity), int(self.leader_ttl * 1000)],
            )
        )
        if held and not self.is_leader:
            self.leader_since = identity["since"]
        if not held:
            self.leader_since = None
        self.is_leader = held
        return held

    def release(self) -> None:
        try:
            self._release(keys=[LEADER_KEY], args=[self.token])
        except redis.RedisError:
            pass  # The TTL frees it anyway.
        self.is_leader = False
        self.leader_since = None

    def claim_slots(self, slots: Iterable[tuple[int, float]]) -> list[bool]:
        """Claim each (periodic task id, due time) slot; True where this process got it."""
        slots = list(slots)
        if not slots:
            return []
        pipeline = self.client.pipeline(transaction=False)
        for periodic_task_id, due in slots:
            pipeline.set(slot_key(periodic_task_id, due), self.token, nx=True, ex=self.slot_ttl)
        return [bool(answer) for answer in pipeline.execute()]

    def unclaim_slots(self, slots: Iterable[tuple[int, float]]) -> None:
        """Give slots back after a send failed, so the next tick can try again."""
        keys = [slot_key(periodic_task_id, due) for periodic_task_id, due in slots]
        if keys:
            self.client.delete(*keys)

    def beat_heartbeat(self, now: float) -> None:
        self.client.set(HEARTBEAT_KEY, repr(now), ex=HEARTBEAT_TTL_SECONDS)


def leader_info(client: redis.Redis) -> dict | None:
    """Who leads now (host, pid, since), for health checks and operators; None if nobody."""
    raw = client.get(LEADER_KEY)
    if not raw:
        return None
    try:
        info = json.loads(raw)
    except ValueError:
        return None
    info.pop("token", None)
    return info


def heartbeat_age(client: redis.Redis, *, now: float | None = None) -> float | None:
    """Seconds since the leading beat last ticked, or None when no beat has ticked for 120 s."""
    raw = client.get(HEARTBEAT_KEY)
    if raw is None:
        return None
    return (now or time.time()) - float(raw)
