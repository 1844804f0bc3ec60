"""Restart PostgreSQL under a running worker and beat (a private cluster; see conftest)."""

from __future__ import annotations

import uuid

from django.conf import settings

from tests.faults.conftest import broker_client


def test_worker_and_beat_survive_a_postgres_restart_and_use_the_database_again_at_once(
    postgres_up, private_redis, fault_processes, records
):
    env = {
        "DATABASE_URL": postgres_up.url,
        "REDIS_URL": private_redis.url(),
        "PULSE_TEST_RECORD_REDIS_URL": settings.REDIS_URL,
    }
    beat_key, count_key = f"pg-beat-{uuid.uuid4().hex}", f"pg-count-{uuid.uuid4().hex}"
    postgres_up.run_django(
        "import json\n"
        "from django_celery_beat.models import IntervalSchedule, PeriodicTask\n"
        "every, _ = IntervalSchedule.objects.get_or_create(every=1, period='seconds')\n"
        f"PeriodicTask.objects.create(name='record {beat_key}', task='faults.record', interval=every,"
        f" args=json.dumps(['{beat_key}', 'beat']), queue='http')\n"
    )
    worker = fault_processes.worker(env=env, queues="celery,http", name="pg-restart")
    beat = fault_processes.beat(env=env)
    worker_pid = worker.pid
    client = broker_client(private_redis.url())
    beat.wait_for(lambda: len(records(beat_key)) >= 2, timeout=40, what="beat's task to run twice")
    # Beat adds its own housekeeping task at start, so count after it started.
    tasks_in_database = postgres_up.query("select count(*) from django_celery_beat_periodictask")[0][0]
    # The worker now holds a persistent connection (CONN_MAX_AGE) that the restart will break.
    assert client.send_task("faults.count_periodic_tasks", args=[count_key], queue="http").get(timeout=20) == (
        tasks_in_database
    )

    postgres_up.restart(down_for=3.0)
    runs_after_restart = len(records(beat_key))

    # The first task after the restart must not trip over the dead connection.
    assert client.send_task("faults.count_periodic_tasks", args=[count_key], queue="http").get(timeout=20) == (
        tasks_in_database
    )
    beat.wait_for(
        lambda: len(records(beat_key)) >= runs_after_restart + 3,
        timeout=40,
        what="beat to keep dispatching after the restart",
    )
    assert worker.is_running() and worker.pid == worker_pid, "the worker restarted"
    assert beat.is_running(), f"beat died:\n{beat.log_tail()}"
    assert postgres_up.query(
        "select count(*) from django_celery_beat_periodictask where name = %s and enabled", (f"record {beat_key}",)
    ) == [(1,)]
