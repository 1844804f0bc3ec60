"""Beat with the database scheduler dispatches due PeriodicTask rows to a real worker."""

from __future__ import annotations

import json
import uuid

from django_celery_beat.models import IntervalSchedule, PeriodicTask

from tests.support.processes import ManagedProcess, celery_command


def test_beat_dispatches_a_due_periodic_task_to_a_real_worker(worker, env_for_processes, redis_client):
    key = f"beat-{uuid.uuid4().hex}"
    every_second, _ = IntervalSchedule.objects.get_or_create(every=1, period=IntervalSchedule.SECONDS)
    PeriodicTask.objects.create(
        name=f"record {key}", task="tests.record", interval=every_second, args=json.dumps([key, "beat"]),
        queue="http",
    )
    beat = ManagedProcess(
        "beat", celery_command("beat", "-l", "INFO", "--pidfile=", "--max-interval", "1"), env=env_for_processes
    ).start()
    try:
        beat.wait_for(
            lambda: redis_client.llen(f"tests:{key}") >= 2, timeout=40, what="two runs recorded by the worker"
        )
        assert "PulseScheduler" in beat.log()
        assert set(redis_client.lrange(f"tests:{key}", 0, -1)) == {"beat"}
    finally:
        beat.stop()
    assert PeriodicTask.objects.get(name=f"record {key}").total_run_count >= 1
