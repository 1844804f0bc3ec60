"""Leader lock, slot claims and heartbeat on the real Redis."""

from __future__ import annotations

import json
import time

import pytest
import redis
from django.conf import settings

from schedules.beat_lock import (
    HEARTBEAT_KEY,
    LEADER_KEY,
    BeatCoordinator,
    heartbeat_age,
    leader_info,
    slot_key,
)


@pytest.fixture
def client():
    connection = redis.Redis.from_url(settings.REDIS_URL)
    connection.delete(LEADER_KEY, HEARTBEAT_KEY)
    yield connection
    for key in connection.scan_iter("pulse:beat:*"):
        connection.delete(key)
    connection.close()


def coordinator(client, ttl: float = 1.0) -> BeatCoordinator:
    return BeatCoordinator(client, leader_ttl=ttl, slot_ttl=60)


def test_only_one_of_two_beats_holds_the_leader_lock(client):
    first, second = coordinator(client), coordinator(client)
    assert first.acquire_or_renew() is True
    assert second.acquire_or_renew() is False
    assert first.acquire_or_renew() is True  # renewing keeps it
    assert second.acquire_or_renew() is False


def test_renewing_extends_the_lock_so_a_live_leader_keeps_it(client):
    leader, standby = coordinator(client, ttl=1.0), coordinator(client, ttl=1.0)
    leader.acquire_or_renew()
    for _ in range(4):
        time.sleep(0.4)
        assert leader.acquire_or_renew() is True
        assert standby.acquire_or_renew() is False


def test_a_standby_takes_over_once_a_dead_leaders_lock_expires(client):
    leader, standby = coordinator(client, ttl=1.0), coordinator(client, ttl=1.0)
    leader.acquire_or_renew()
    deadline = time.monotonic() + 3
    while not standby.acquire_or_renew():
        assert time.monotonic() < deadline, "the standby never took over"
        time.sleep(0.1)
    assert leader.acquire_or_renew() is False, "a leader that stalled past the TTL must not take it back"


def test_releasing_frees_the_lock_at_once_but_never_someone_elses(client):
    leader, standby = coordinator(client, ttl=30), coordinator(client, ttl=30)
    leader.acquire_or_renew()
    standby.release()  # not the holder: nothing happens
    assert standby.acquire_or_renew() is False
    leader.release()
    assert standby.acquire_or_renew() is True


def test_the_leader_key_names_the_host_and_pid_without_the_secret_token(client):
    leader = coordinator(client)
    leader.acquire_or_renew()
    info = leader_info(client)
    assert info["pid"] == leader.identity["pid"] and info["host"] == leader.identity["host"]
    assert "token" not in info and "since" in info
    assert json.loads(client.get(LEADER_KEY))["token"] == leader.token


def test_each_slot_can_be_claimed_once(client):
    first, second = coordinator(client), coordinator(client)
    slots = [(7, 1000.0), (7, 1060.0), (8, 1000.0)]
    assert first.claim_slots(slots[:2]) == [True, True]
    assert second.claim_slots(slots) == [False, False, True]
    assert 0 < client.ttl(slot_key(7, 1000.0)) <= 60


def test_an_unclaimed_slot_can_be_claimed_again(client):
    first, second = coordinator(client), coordinator(client)
    first.claim_slots([(7, 1000.0)])
    first.unclaim_slots([(7, 1000.0)])
    assert second.claim_slots([(7, 1000.0)]) == [True]


def test_the_slot_key_names_the_task_and_the_due_time():
    assert slot_key(42, 0.5) == "pulse:beat:slot:42:1970-01-01T00:00:00.500000+00:00"


def test_the_heartbeat_is_a_unix_time_that_expires_after_two_minutes(client):
    leader = coordinator(client)
    leader.beat_heartbeat(time.time())
    assert float(client.get(HEARTBEAT_KEY)) == pytest.approx(time.time(), abs=2)
    assert 110 < client.ttl(HEARTBEAT_KEY) <= 120
    assert heartbeat_age(client) < 2
