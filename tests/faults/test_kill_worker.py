"""kill -9 a worker in the middle of a task: the work still completes, and only once.

Pulse runs with ``task_acks_late`` and ``task_reject_on_worker_lost``: a message is acknowledged
only after its task returns, and a pool process that dies mid-task hands its message back to the
queue at once. A whole worker node that dies (the main process too) cannot hand anything back;
Redis redelivers its unacknowledged message after the visibility timeout.
"""

from __future__ import annotations

import os
import signal
import time
import uuid

import pytest

from pulse.celery import app
from tests.faults.conftest import wait_until


def started_pids(entries: list[str]) -> list[int]:
    return [int(entry.split(":")[1]) for entry in entries if entry.startswith("start:")]


def ended_pids(entries: list[str]) -> list[int]:
    return [int(entry.split(":")[1]) for entry in entries if entry.startswith("end:")]


def test_a_task_whose_pool_process_is_killed_runs_again_and_completes_once(
    fault_processes, test_database_env, records
):
    queue = f"faults-{uuid.uuid4().hex[:8]}"
    first = fault_processes.worker(env=test_database_env, queues=queue, name="first", wait=False)
    second = fault_processes.worker(env=test_database_env, queues=queue, name="second", wait=False)
    for worker in (first, second):
        worker.wait_for(
            lambda worker=worker: app.control.ping(destination=[worker.node_name], timeout=0.5),
            timeout=60,
            what="the worker to answer ping",
        )
    key = f"kill-child-{uuid.uuid4().hex}"

    result = app.send_task("faults.sleep_then_record", args=[key, 3], queue=queue)
    wait_until(lambda: started_pids(records(key)), timeout=20, what="the task to start")
    (victim,) = started_pids(records(key))
    os.kill(victim, signal.SIGKILL)

    assert result.get(timeout=40) >= 2
    entries = records(key)
    assert len(started_pids(entries)) == 2, entries
    assert len(ended_pids(entries)) == 1, entries
    assert victim not in ended_pids(entries)
    assert first.is_running() and second.is_running()
    assert "WorkerLostError" in first.log() + second.log()


@pytest.mark.faults
def test_a_task_whose_whole_worker_is_killed_is_redelivered_to_another_after_the_visibility_timeout(
    fault_processes, test_database_env, records
):
    visibility_timeout = 8
    env = {
        **test_database_env,
        "PULSE_REDIS_VISIBILITY_TIMEOUT": str(visibility_timeout),
        # Every limit must stay under the visibility timeout or the worker refuses to start (pulse.E001).
        "PULSE_TASK_TIME_LIMIT": "7",
        "PULSE_TASK_SOFT_TIME_LIMIT": "6",
        "PULSE_BROWSER_TASK_TIME_LIMIT": "7",
        "PULSE_BROWSER_TASK_SOFT_TIME_LIMIT": "6",
        "PULSE_BROWSER_NAVIGATION_TIMEOUT": "5",
    }
    queue = f"faults-{uuid.uuid4().hex[:8]}"
    doomed = fault_processes.worker(env=env, queues=queue, name="doomed")
    key = f"kill-node-{uuid.uuid4().hex}"

    result = app.send_task("faults.sleep_then_record", args=[key, 3], queue=queue)
    wait_until(lambda: started_pids(records(key)), timeout=20, what="the task to start")
    killed_at = time.monotonic()
    doomed.signal_group(signal.SIGKILL)  # main process and pool together, as a lost node
    doomed.process.wait(timeout=10)
    assert records(key) and not ended_pids(records(key))

    # A replacement node sweeps for expired unacknowledged messages when it starts consuming.
    time.sleep(max(0.0, visibility_timeout + 1 - (time.monotonic() - killed_at)))
    replacement = fault_processes.worker(env=env, queues=queue, name="replacement")

    assert result.get(timeout=40) >= 2
    entries = records(key)
    assert len(started_pids(entries)) == 2, entries
    assert len(ended_pids(entries)) == 1, entries
    assert "faults.sleep_then_record" in replacement.log()
