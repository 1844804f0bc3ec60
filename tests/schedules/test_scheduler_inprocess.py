"""PulseScheduler driven pass by pass in this process, against the real database and Redis broker.

Messages go to a queue no worker consumes, so each test reads exactly what beat sent from Redis.
"""

from __future__ import annotations

import base64
import json
import time
import uuid
from datetime import timedelta

import pytest
import redis
from django.conf import settings
from django.utils import timezone
from django_celery_beat.models import ClockedSchedule, IntervalSchedule, PeriodicTask, PeriodicTasks

from schedules.beat_lock import slot_key
from schedules.scheduler import SCHEDULED_FOR_HEADER, PulseScheduler


@pytest.fixture
def broker():
    client = redis.Redis.from_url(settings.REDIS_URL)
    for key in client.scan_iter("pulse:beat:*"):
        client.delete(key)
    yield client
    for key in client.scan_iter("pulse:beat:*"):
        client.delete(key)
    client.close()


@pytest.fixture
def queue(broker):
    name = f"inprocess-{uuid.uuid4().hex[:8]}"
    yield name
    broker.delete(name)


def sent_messages(broker, queue: str) -> list[dict]:
    """The messages beat put on ``queue``, oldest first: headers plus decoded (args, kwargs)."""
    messages = []
    for raw in reversed(broker.lrange(queue, 0, -1)):
        payload = json.loads(raw)
        body = json.loads(base64.b64decode(payload["body"]))
        messages.append({"headers": payload["headers"], "args": body[0], "kwargs": body[1]})
    return messages


def make_scheduler(celery_app) -> PulseScheduler:
    return PulseScheduler(app=celery_app)


def every(seconds: int) -> IntervalSchedule:
    return IntervalSchedule.objects.get_or_create(every=seconds, period=IntervalSchedule.SECONDS)[0]


def periodic(name: str, queue: str, **fields) -> PeriodicTask:
    fields.setdefault("interval", every(60))
    return PeriodicTask.objects.create(name=name, task="tests.record", args=json.dumps([name]), queue=queue, **fields)


def backdate(task: PeriodicTask, **fields) -> None:
    """Set fields without save(), which would stamp date_changed and clear last_run_at."""
    PeriodicTask.objects.filter(pk=task.pk).update(**fields)


def test_due_schedules_are_recorded_and_sent_with_their_slot_in_a_header(transactional_db, celery_app, broker, queue):
    task = periodic("due", queue)
    slot_before = timezone.now() - timedelta(seconds=65)
    backdate(task, last_run_at=slot_before)
    scheduler = make_scheduler(celery_app)
    scheduler.tick()
    (message,) = sent_messages(broker, queue)
    expected_slot = slot_before + timedelta(seconds=60)
    assert message["headers"]["task"] == "tests.record"
    assert message["headers"][SCHEDULED_FOR_HEADER] == expected_slot.isoformat()
    assert message["headers"]["periodic_task_name"] == "due"
    assert message["args"] == ["due"]
    task.refresh_from_db()
    assert task.last_run_at == expected_slot and task.total_run_count == 1
    assert broker.exists(slot_key(task.id, expected_slot.timestamp()))
    scheduler.tick()
    assert len(sent_messages(broker, queue)) == 1, "the next slot is a minute away"


def test_an_edit_is_picked_up_by_reading_only_the_changed_row(
    transactional_db, celery_app, broker, queue, django_assert_max_num_queries
):
    tasks = [periodic(f"quiet {index}", queue, interval=every(3600)) for index in range(30)]
    scheduler = make_scheduler(celery_app)
    assert scheduler.pick_up_changes() == 0
    edited = tasks[7]
    edited.interval = every(1)
    edited.save()
    # last_update, the changed rows, the new interval row, the enabled count, the small
    # schedule tables (4): no query grows with the number of schedules.
    with django_assert_max_num_queries(8):
        assert scheduler.pick_up_changes() == 1
    assert scheduler.heap.get(edited.id).due <= time.time() + 1.5
    # Nothing else changed, so the next look costs one query and changes nothing.
    with django_assert_max_num_queries(1):
        assert scheduler.pick_up_changes() == 0


def test_deleted_and_disabled_schedules_leave_the_heap(transactional_db, celery_app, broker, queue):
    first, second, third = (periodic(f"row {index}", queue) for index in range(3))
    scheduler = make_scheduler(celery_app)
    assert {first.id, second.id, third.id} <= scheduler.heap.ids()
    first.delete()
    second.enabled = False
    second.save()
    PeriodicTask.objects.filter(pk=third.pk).delete()  # a bulk delete sends no signal...
    PeriodicTasks.update_changed()  # ...so callers must say so (the known django-celery-beat trap)
    scheduler.pick_up_changes()
    assert not {first.id, second.id, third.id} & scheduler.heap.ids()


def test_a_one_off_is_disabled_when_it_is_sent_and_never_sent_again_after_a_restart(
    transactional_db, celery_app, broker, queue
):
    clocked = ClockedSchedule.objects.create(clocked_time=timezone.now() - timedelta(seconds=1))
    task = periodic("once", queue, clocked=clocked, interval=None, one_off=True)
    make_scheduler(celery_app).tick()
    task.refresh_from_db()
    assert task.enabled is False and task.last_run_at is not None
    assert len(sent_messages(broker, queue)) == 1
    # A restart, and even a re-enable through a bulk update, must not send the one-off again.
    PeriodicTask.objects.filter(pk=task.pk).update(enabled=True)
    restarted = make_scheduler(celery_app)
    restarted.tick()
    assert len(sent_messages(broker, queue)) == 1


def test_a_slot_claimed_by_another_beat_is_not_sent_here(transactional_db, celery_app, broker, queue):
    task = periodic("contested", queue)
    backdate(task, last_run_at=timezone.now() - timedelta(seconds=61))
    first, second = make_scheduler(celery_app), make_scheduler(celery_app)
    # Both believe they lead (a leader that stalled past its TTL): only the slot claim and the
    # compare-and-set on last_run_at stand between them and a double send.
    assert first.dispatch_due(time.time()) is False
    assert second.dispatch_due(time.time()) is False
    assert len(sent_messages(broker, queue)) == 1
    second.dispatch_due(time.time() + 3)  # the recheck re-reads the row the first beat recorded
    assert len(sent_messages(broker, queue)) == 1
    task.refresh_from_db()
    assert task.total_run_count == 1
    assert second.heap.get(task.id).last_run_us is not None


def test_a_stale_beat_cannot_record_over_a_run_it_did_not_see(transactional_db, celery_app, broker, queue):
    task = periodic("stale", queue)
    backdate(task, last_run_at=timezone.now() - timedelta(seconds=61))
    stale = make_scheduler(celery_app)
    fresh = make_scheduler(celery_app)
    fresh.dispatch_due(time.time())
    # Another slot key (the stale beat's claim succeeds) but last_run_at moved: the
    # compare-and-set fails, nothing is sent, and the stale beat re-reads the row.
    for key in broker.scan_iter("pulse:beat:slot:*"):
        broker.delete(key)
    stale.dispatch_due(time.time())
    assert len(sent_messages(broker, queue)) == 1
    task.refresh_from_db()
    assert stale.heap.get(task.id).last_run_us is not None
    assert stale.heap.get(task.id).due > time.time()


def test_resuming_through_save_counts_from_the_resume_time(transactional_db, celery_app, broker, queue):
    task = periodic("paused", queue, interval=every(30))
    scheduler = make_scheduler(celery_app)
    task.enabled = False
    task.save()  # clears last_run_at
    scheduler.pick_up_changes()
    backdate(task, date_changed=timezone.now() - timedelta(hours=2))
    task.refresh_from_db()
    task.enabled = True
    task.save()
    scheduler.pick_up_changes()
    assert scheduler.heap.get(task.id).due >= time.time() + 25


def test_resuming_through_a_bulk_update_does_not_release_a_catch_up_run(transactional_db, celery_app, broker, queue):
    task = periodic("bulk paused", queue, interval=every(30))
    backdate(task, last_run_at=timezone.now() - timedelta(hours=1), enabled=False)
    PeriodicTasks.update_changed()
    scheduler = make_scheduler(celery_app)
    assert task.id not in scheduler.heap
    PeriodicTask.objects.filter(pk=task.pk).update(enabled=True)
    PeriodicTasks.update_changed()
    scheduler.pick_up_changes()
    scheduler.tick()
    assert sent_messages(broker, queue) == []
    assert scheduler.heap.get(task.id).due >= time.time() + 25


def test_a_schedule_row_edited_in_place_re_times_the_tasks_that_use_it(transactional_db, celery_app, broker, queue):
    shared = IntervalSchedule.objects.create(every=3600, period=IntervalSchedule.SECONDS)
    users = [periodic(f"shared {index}", queue, interval=shared) for index in range(3)]
    scheduler = make_scheduler(celery_app)
    shared.every = 2
    shared.save()  # post_save moves PeriodicTasks.last_update; no PeriodicTask row changes
    assert scheduler.pick_up_changes() == 3
    for task in users:
        assert scheduler.heap.get(task.id).due <= time.time() + 2.5


def test_schedules_without_a_scheduled_search_use_the_default_grace_and_coalesce(
    transactional_db, celery_app, broker, queue
):
    task = periodic("plain", queue)
    backdate(task, last_run_at=timezone.now() - timedelta(seconds=60 * 10 + 30))
    scheduler = make_scheduler(celery_app)
    entry = scheduler.heap.get(task.id)
    assert entry.policy == "coalesce" and entry.grace == settings.PULSE_BEAT_MISFIRE_GRACE_SECONDS
    scheduler.tick()
    (message,) = sent_messages(broker, queue)
    task.refresh_from_db()
    assert message["headers"][SCHEDULED_FOR_HEADER] == task.last_run_at.isoformat()
    assert task.last_run_at > timezone.now() - timedelta(seconds=60)
