"""Real ``celery beat`` processes running PulseScheduler, dispatching to the real test worker.

The worker runs ``tests.record_slot``, which appends the slot beat stamped on each message
(``pulse_scheduled_for``) to a Redis list, so a test sees every slot sent and any sent twice.
"""

from __future__ import annotations

import json
import re
import signal
import time
import uuid
from datetime import datetime, timedelta

import pytest
from django.utils import timezone
from django_celery_beat.models import (
    ClockedSchedule,
    CrontabSchedule,
    IntervalSchedule,
    PeriodicTask,
    PeriodicTasks,
)

from schedules.beat_lock import HEARTBEAT_KEY, LEADER_KEY
from schedules.models import ScheduledSearch
from tests.support.processes import ManagedProcess, celery_command

pytestmark = pytest.mark.slow

BEAT_COMMAND = ("beat", "-S", "schedules.scheduler:PulseScheduler", "--pidfile=", "-l", "INFO")


class Beats:
    def __init__(self, env: dict):
        self.env = env
        self.started: list[ManagedProcess] = []

    def start(self, **extra_env) -> ManagedProcess:
        beat = ManagedProcess(
            f"beat{len(self.started) + 1}", celery_command(*BEAT_COMMAND), env={**self.env, **extra_env}
        ).start()
        self.started.append(beat)
        beat.wait_for_log("PulseScheduler: loaded", timeout=60)
        return beat

    def stop_all(self) -> None:
        for beat in self.started:
            beat.stop()


@pytest.fixture
def beats(worker, env_for_processes, redis_client):
    for key in redis_client.scan_iter("pulse:beat:*"):
        redis_client.delete(key)
    # A short lock keeps the tests quick; the kill -9 test uses the production default.
    running = Beats({**env_for_processes, "PULSE_BEAT_LEADER_TTL_SECONDS": "3"})
    yield running
    running.stop_all()
    for key in redis_client.scan_iter("pulse:beat:*"):
        redis_client.delete(key)


def every(seconds: int) -> IntervalSchedule:
    return IntervalSchedule.objects.get_or_create(every=seconds, period=IntervalSchedule.SECONDS)[0]


def recording_task(key: str, **fields) -> PeriodicTask:
    fields.setdefault("interval", every(1))
    return PeriodicTask.objects.create(
        name=f"record {key}", task="tests.record_slot", args=json.dumps([key]), queue="celery", **fields
    )


def recorded_slots(redis_client, key: str) -> list[datetime]:
    return [datetime.fromisoformat(value) for value in redis_client.lrange(f"tests:{key}", 0, -1)]


def wait_until(predicate, *, timeout: float, what: str, interval: float = 0.1):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = predicate()
        if result:
            return result
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


def wait_for_worker_to_catch_up(redis_client, key: str, task: PeriodicTask) -> list[datetime]:
    """Wait until every run beat recorded in the database has reached the worker."""
    task.refresh_from_db()
    wait_until(
        lambda: redis_client.llen(f"tests:{key}") >= task.total_run_count,
        timeout=20,
        what=f"{task.total_run_count} runs to reach the worker",
    )
    return recorded_slots(redis_client, key)


def test_two_beats_dispatch_each_slot_exactly_once(beats, redis_client):
    key = uuid.uuid4().hex
    task = recording_task(key)
    first = beats.start()
    second = beats.start()
    wait_until(lambda: redis_client.llen(f"tests:{key}") >= 6, timeout=30, what="six slots")
    first.stop()  # the standby carries on; still no slot twice
    wait_until(lambda: redis_client.llen(f"tests:{key}") >= 10, timeout=30, what="ten slots")
    second.stop()
    slots = wait_for_worker_to_catch_up(redis_client, key, task)
    assert len(slots) == len(set(slots)), f"a slot was sent twice: {slots}"
    assert len(slots) == task.total_run_count
    leaders = [beat for beat in (first, second) if "is now the leader" in beat.log()]
    assert leaders, "neither beat took the lead"
    assert "is now the leader" in second.log(), "the standby did not take over after the leader stopped"
    ordered = sorted(slots)
    gaps = {(later - earlier).total_seconds() for earlier, later in zip(ordered, ordered[1:], strict=False)}
    assert max(gaps) <= 4, f"slots were lost during the hand-over: {slots}"


def test_a_standby_takes_over_within_fifteen_seconds_after_the_leader_is_killed(beats, redis_client):
    key = uuid.uuid4().hex
    task = recording_task(key)
    ttl = {"PULSE_BEAT_LEADER_TTL_SECONDS": "10"}
    leader = beats.start(**ttl)
    leader.wait_for_log("is now the leader", timeout=20)
    standby = beats.start(**ttl)
    wait_until(lambda: redis_client.llen(f"tests:{key}") >= 2, timeout=20, what="the leader's first runs")
    assert "is now the leader" not in standby.log()
    leader.signal_group(signal.SIGKILL)
    killed_at = time.time()
    wait_until(
        lambda: any(slot.timestamp() > killed_at for slot in recorded_slots(redis_client, key)),
        timeout=20,
        what="the standby's first run after the kill",
    )
    took_over_after = time.time() - killed_at
    assert took_over_after <= 15, f"the standby needed {took_over_after:.1f}s"
    assert "is now the leader" in standby.log()
    standby.stop()
    slots = wait_for_worker_to_catch_up(redis_client, key, task)
    assert len(slots) == len(set(slots)), f"a slot was sent twice: {slots}"


def scheduled_search(name: str, key: str, *, policy: str, last_run_at: datetime) -> PeriodicTask:
    task = recording_task(key, interval=every(100))
    PeriodicTask.objects.filter(pk=task.pk).update(last_run_at=last_run_at)
    ScheduledSearch.objects.create(
        name=name,
        keywords=["pulse"],
        platforms=["news"],
        periodic_task=task,
        misfire_policy=policy,
        misfire_grace_seconds=30,
    )
    PeriodicTasks.update_changed()
    return task


def test_each_misfire_policy_is_honoured_after_beat_downtime(beats, redis_client):
    # Every 100 s, last run 450 s ago: slots 350, 250, 150 and 50 s ago, all beyond the 30 s grace.
    last_run_at = timezone.now() - timedelta(seconds=450)
    keys = {policy: uuid.uuid4().hex for policy in ("skip", "coalesce", "run_all")}
    tasks = {
        policy: scheduled_search(f"search {policy}", key, policy=policy, last_run_at=last_run_at)
        for policy, key in keys.items()
    }
    missed = [last_run_at + timedelta(seconds=100 * step) for step in range(1, 5)]
    beats.start()

    def all_handled():
        return all(
            PeriodicTask.objects.get(pk=task.pk).last_run_at == missed[-1] for task in tasks.values()
        )

    wait_until(all_handled, timeout=30, what="beat to handle the missed slots of every policy")
    run_all = wait_for_worker_to_catch_up(redis_client, keys["run_all"], tasks["run_all"])
    coalesce = wait_for_worker_to_catch_up(redis_client, keys["coalesce"], tasks["coalesce"])
    skip = wait_for_worker_to_catch_up(redis_client, keys["skip"], tasks["skip"])
    assert sorted(run_all) == missed  # the worker runs two at a time, so arrival order varies
    assert coalesce == [missed[-1]]
    assert skip == []
    assert PeriodicTask.objects.get(pk=tasks["skip"].pk).total_run_count == 0


def test_resuming_a_paused_schedule_fires_no_surprise_catch_up_run(beats, redis_client):
    key = uuid.uuid4().hex
    task = recording_task(key, interval=every(3))
    beats.start()
    wait_until(lambda: redis_client.llen(f"tests:{key}") >= 1, timeout=20, what="the first run")
    # Pause the usual way (save clears last_run_at) and stay paused over several slots.
    task.refresh_from_db()
    task.enabled = False
    task.save()
    time.sleep(4)
    before = redis_client.llen(f"tests:{key}")
    resumed_at = time.time()
    task.enabled = True
    task.save()
    wait_until(lambda: redis_client.llen(f"tests:{key}") > before, timeout=20, what="the first run after resuming")
    first_after = recorded_slots(redis_client, key)[before].timestamp()
    assert first_after >= resumed_at + 2.5, "resuming released a catch-up run instead of waiting a full interval"

    # Pause and resume with bulk updates, which keep the old last_run_at.
    PeriodicTask.objects.filter(pk=task.pk).update(enabled=False)
    PeriodicTasks.update_changed()
    time.sleep(4)
    before = redis_client.llen(f"tests:{key}")
    resumed_at = time.time()
    PeriodicTask.objects.filter(pk=task.pk).update(enabled=True)
    PeriodicTasks.update_changed()
    wait_until(lambda: redis_client.llen(f"tests:{key}") > before, timeout=20, what="the first run after resuming")
    first_after = recorded_slots(redis_client, key)[before].timestamp()
    assert first_after >= resumed_at + 2.5, "a bulk resume released a catch-up run"


def test_a_clocked_one_off_runs_once_across_a_kill_and_restart(beats, redis_client):
    key = uuid.uuid4().hex
    clocked = ClockedSchedule.objects.create(clocked_time=timezone.now() + timedelta(seconds=2))
    task = recording_task(key, interval=None, clocked=clocked, one_off=True)
    first = beats.start()
    wait_until(lambda: redis_client.llen(f"tests:{key}") >= 1, timeout=20, what="the one-off run")
    first.signal_group(signal.SIGKILL)
    first.process.wait(timeout=10)
    redis_client.delete(LEADER_KEY)  # let the restarted beat lead at once
    restarted = beats.start()
    restarted.wait_for_log("is now the leader", timeout=20)
    heartbeat = float(redis_client.get(HEARTBEAT_KEY))
    wait_until(lambda: float(redis_client.get(HEARTBEAT_KEY)) > heartbeat + 2, timeout=20, what="two seconds of ticks")
    assert redis_client.llen(f"tests:{key}") == 1
    task.refresh_from_db()
    assert task.enabled is False and task.total_run_count == 1


def test_ten_thousand_schedules_load_in_a_few_seconds(beats, redis_client):
    daily = CrontabSchedule.objects.create(minute="0", hour="4", timezone="Europe/London")
    hourly = IntervalSchedule.objects.create(every=1, period=IntervalSchedule.HOURS)
    PeriodicTask.objects.bulk_create(
        [
            PeriodicTask(
                name=f"bulk {index}",
                task="tests.record",
                kwargs=json.dumps({"key": "never"}),
                crontab=daily if index % 2 else None,
                interval=None if index % 2 else hourly,
            )
            for index in range(10_000)
        ],
        batch_size=2000,
    )
    key = uuid.uuid4().hex
    recording_task(key, interval=every(2))
    beat = beats.start()
    line = next(line for line in beat.log().splitlines() if "PulseScheduler: loaded" in line)
    # The line may be plain text or a JSON log record, depending on LOG_FORMAT.
    loaded = re.search(r"loaded (\d+) enabled schedules in ([\d.]+)s", line)
    assert loaded, line
    assert int(loaded.group(1)) >= 10_001
    assert float(loaded.group(2)) < 5, line
    wait_until(lambda: redis_client.llen(f"tests:{key}") >= 1, timeout=20, what="a run among 10k schedules")
