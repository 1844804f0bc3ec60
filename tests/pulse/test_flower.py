"""Flower, started by deploy/start-flower: credentials required, workers and finished tasks visible."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import uuid
from pathlib import Path

import httpx
import pytest

from pulse.celery import app
from tests.support.processes import PROJECT_ROOT, ManagedProcess

START_FLOWER = str(PROJECT_ROOT / "deploy" / "start-flower")
CREDENTIALS = ("operator", f"secret-{uuid.uuid4().hex[:8]}")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def flower_env(**overrides) -> dict:
    env = {key: value for key, value in os.environ.items() if not key.startswith("FLOWER_")}
    # The start scripts run `celery` from PATH, as in the image; here that is this virtualenv's.
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    return {**env, **overrides}


def start_flower(*, port: int, **env) -> ManagedProcess:
    process = ManagedProcess("flower", [START_FLOWER], env=flower_env(FLOWER_PORT=str(port), **env))
    # ManagedProcess merges os.environ back in; drop a FLOWER_BASIC_AUTH the caller did not ask for.
    if "FLOWER_BASIC_AUTH" not in env:
        process.env.pop("FLOWER_BASIC_AUTH", None)
    return process.start()


@pytest.fixture(scope="module")
def flower(celery_worker_process):
    port = free_port()
    process = start_flower(
        port=port,
        FLOWER_BASIC_AUTH=":".join(CREDENTIALS),
        FLOWER_ADDRESS="127.0.0.1",
        FLOWER_WAIT_FOR_WORKERS_TIMEOUT="60",
    )
    base = f"http://127.0.0.1:{port}"

    def lists_the_worker():
        try:
            response = httpx.get(f"{base}/api/workers?refresh=1", auth=CREDENTIALS, timeout=5)
        except httpx.HTTPError:
            return False
        return response.status_code == 200 and celery_worker_process.node_name in response.json()

    process.wait_for(lists_the_worker, timeout=90, what="Flower to list the test worker")
    process.base_url = base
    yield process
    process.stop()


def test_start_flower_refuses_to_start_without_credentials():
    env = flower_env(FLOWER_PORT=str(free_port()))
    env.pop("FLOWER_BASIC_AUTH", None)
    finished = subprocess.run([START_FLOWER], env=env, capture_output=True, text=True, timeout=30)
    assert finished.returncode == 2
    assert "FLOWER_BASIC_AUTH is not set" in finished.stderr
    assert "FLOWER_UNAUTHENTICATED_LOCAL=1" in finished.stderr


def test_start_flower_rejects_malformed_credentials():
    env = flower_env(FLOWER_PORT=str(free_port()), FLOWER_BASIC_AUTH="no-password-here")
    finished = subprocess.run([START_FLOWER], env=env, capture_output=True, text=True, timeout=30)
    assert finished.returncode == 2
    assert "user:password" in finished.stderr


def test_start_flower_gives_up_when_no_worker_answers(tmp_path):
    # A Redis database nobody consumes: no worker can answer there.
    empty_broker = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/15").rsplit("/", 1)[0] + "/14"
    env = flower_env(
        FLOWER_PORT=str(free_port()),
        FLOWER_BASIC_AUTH="a:b",
        FLOWER_WAIT_FOR_WORKERS_TIMEOUT="1",
        REDIS_URL=empty_broker,
    )
    finished = subprocess.run([START_FLOWER], env=env, capture_output=True, text=True, timeout=60)
    assert finished.returncode == 1
    assert "no Celery worker answered ping within 1s" in finished.stderr


@pytest.mark.slow
def test_unauthenticated_local_flower_listens_on_loopback_only():
    port = free_port()
    process = start_flower(
        port=port,
        FLOWER_UNAUTHENTICATED_LOCAL="1",
        FLOWER_ADDRESS="0.0.0.0",
        FLOWER_WAIT_FOR_WORKERS_TIMEOUT="0",
    )
    try:
        process.wait_for_log("Visit me at", timeout=60)
        assert f"Visit me at http://127.0.0.1:{port}" in process.log()
        assert "listening on 127.0.0.1 only" in process.log()
        assert httpx.get(f"http://127.0.0.1:{port}/api/workers", timeout=5).status_code == 200
    finally:
        process.stop()


@pytest.mark.slow
def test_flower_answers_401_without_credentials(flower):
    assert httpx.get(f"{flower.base_url}/api/workers", timeout=5).status_code == 401
    assert httpx.get(f"{flower.base_url}/api/tasks", timeout=5).status_code == 401
    wrong = httpx.get(f"{flower.base_url}/api/tasks", auth=("operator", "wrong"), timeout=5)
    assert wrong.status_code == 401


def flower_tasks(flower) -> dict:
    response = httpx.get(f"{flower.base_url}/api/tasks", params={"limit": 500}, auth=CREDENTIALS, timeout=5)
    return response.json() if response.status_code == 200 else {}


@pytest.mark.slow
def test_flower_shows_a_finished_search_its_platform_run_and_the_search_id(flower, worker):
    from scraping.models import PlatformRun

    search_id = str(uuid.uuid4())
    kwargs = {"keywords": [f"kw{uuid.uuid4().hex[:10]}"], "platforms": ["test-ok"], "search_id": search_id}
    result = app.send_task("pulse.search", kwargs=kwargs)
    assert result.get(timeout=60)["status"] == "succeeded"
    run_id = PlatformRun.objects.get(search_id=search_id).pk

    def finished(task_id, name):
        task = flower_tasks(flower).get(task_id)
        return task if task and task["name"] == name and task["state"] == "SUCCESS" else None

    # pulse.search replaces itself with its chord, whose last step reuses the caller's task id (so
    # AsyncResult(id).get() returns the summary); under that id Flower ends with the finalize step.
    entry = flower.wait_for(
        lambda: finished(result.id, "pulse.finalize_search"),
        timeout=30,
        what="the search's task id in Flower",
    )
    assert search_id in entry["args"] and search_id in entry["result"]
    assert entry["worker"] == worker.node_name
    runs = [task for task in flower_tasks(flower).values() if task["name"] == "pulse.scrape_platform"]
    assert any(task["args"] == f"({run_id},)" and task["state"] == "SUCCESS" for task in runs)

    # A caller repeating the call with the same search_id gets the summary from pulse.search itself.
    again = app.send_task("pulse.search", kwargs=kwargs)
    assert again.get(timeout=30)["search_id"] == search_id
    repeated = flower.wait_for(
        lambda: finished(again.id, "pulse.search"), timeout=30, what="pulse.search in Flower"
    )
    assert search_id in repeated["kwargs"] and "test-ok" in repeated["kwargs"]

    # An operator's query by search id finds both.
    found = httpx.get(
        f"{flower.base_url}/api/tasks", params={"search": search_id}, auth=CREDENTIALS, timeout=5
    )
    assert {result.id, again.id} <= set(found.json())


@pytest.mark.slow
def test_flower_exports_task_level_prometheus_metrics(flower, worker):
    app.send_task("tests.add", args=[1, 2], queue="http").get(timeout=20)

    def counted():
        response = httpx.get(f"{flower.base_url}/metrics", auth=CREDENTIALS, timeout=5)
        return response.status_code == 200 and 'task="tests.add"' in response.text and response.text

    text = flower.wait_for(counted, timeout=30, what="Flower's metrics to count tests.add")
    assert "flower_events_total" in text and "flower_task_runtime_seconds" in text
    # Flower serves /metrics (and /healthcheck) without basic auth; docs/OPERATIONS.md warns about it.
    assert httpx.get(f"{flower.base_url}/metrics", timeout=5).status_code == 200
