"""The Celery wiring, end to end through Redis and a real prefork worker."""

from __future__ import annotations

import json
import pickle
import uuid

import pytest
from kombu import Connection, Exchange, Producer

from pulse.celery import app


def test_a_real_worker_runs_a_task_and_the_result_comes_back(worker):
    result = app.send_task("tests.add", args=[2, 40], queue="http")
    assert result.get(timeout=20) == 42


def test_a_pool_process_keeps_one_database_connection_across_tasks(worker):
    # Celery's Django fix-up would close it around every task; a new PostgreSQL connection per
    # task costs a server process each time.
    backends: dict[int, set[int]] = {}
    tasks_per_process: dict[int, int] = {}
    for _ in range(8):
        pool_pid, backend_pid = app.send_task("tests.database_session", queue="http").get(timeout=20)
        backends.setdefault(pool_pid, set()).add(backend_pid)
        tasks_per_process[pool_pid] = tasks_per_process.get(pool_pid, 0) + 1
    assert max(tasks_per_process.values()) >= 2  # more tasks than pool processes
    for pool_pid, pids in backends.items():
        assert len(pids) == 1, f"pool process {pool_pid} used {len(pids)} connections: {sorted(pids)}"


def test_the_ping_task_answers_with_the_workers_clock(worker):
    result = app.send_task("pulse.ping", queue="http")
    answer = result.get(timeout=20)
    assert set(answer) == {"pong", "at"}
    assert answer["at"][:4].isdigit()


def test_a_caller_that_knows_only_the_broker_reaches_the_default_queue(worker):
    # A separate Celery app with nothing but the broker URL, as another service would have.
    from django.conf import settings
    from celery import Celery

    outsider = Celery("outsider", broker=settings.REDIS_URL, backend=settings.REDIS_URL, set_as_current=False)
    result = outsider.send_task("tests.add", args=[1, 1])
    assert result.get(timeout=20) == 2


def test_a_pickle_message_is_refused_and_never_runs(worker, redis_client):
    from django.conf import settings

    key = f"pickle-{uuid.uuid4().hex}"
    task_id = str(uuid.uuid4())
    body = pickle.dumps(((key, "ran"), {}, {"callbacks": None, "errbacks": None, "chain": None, "chord": None}))
    with Connection(settings.REDIS_URL) as connection:
        producer = Producer(connection.channel())
        producer.publish(
            body,
            routing_key="http",
            exchange=Exchange("http", type="direct"),
            serializer=None,
            content_type="application/x-python-serialize",
            content_encoding="binary",
            headers={"lang": "py", "task": "tests.record", "id": task_id, "argsrepr": "", "kwargsrepr": ""},
            declare=[],
        )
    # A JSON task sent after the pickle one proves the worker consumed past it.
    assert app.send_task("tests.add", args=[3, 4], queue="http").get(timeout=20) == 7
    worker.wait_for_log("Refusing to deserialize", timeout=10)
    assert redis_client.lrange(f"tests:{key}", 0, -1) == []


def test_an_unknown_task_is_rejected_without_killing_the_worker(worker):
    app.send_task("pulse.no_such_task", queue="http")
    worker.wait_for_log("Received unregistered task of type 'pulse.no_such_task'", timeout=10)
    assert app.send_task("tests.add", args=[5, 5], queue="http").get(timeout=20) == 10


def test_task_results_are_stored_as_json(worker, redis_client):
    result = app.send_task("tests.add", args=[1, 2], queue="http")
    result.get(timeout=20)
    stored = json.loads(redis_client.get(f"celery-task-meta-{result.id}"))
    assert stored["result"] == 3
    assert stored["name"] == "tests.add"  # result_extended keeps the name for Flower and callers
