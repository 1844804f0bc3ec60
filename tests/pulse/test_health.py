"""/readyz and manage.py pulse_status against the real database, Redis, worker and beat heartbeat."""

from __future__ import annotations

import subprocess
import sys
import time

import pytest
from django.test import override_settings

from pulse import health
from pulse.celery import app
from pulse.redis import BEAT_HEARTBEAT_KEY
from tests.support.processes import PROJECT_ROOT

pytestmark = pytest.mark.django_db


def test_liveness_answers_without_touching_anything(client):
    assert client.get("/healthz").json() == {"status": "ok"}


def test_readiness_is_ok_with_a_worker_and_a_fresh_heartbeat(client, worker, redis_client):
    redis_client.set(BEAT_HEARTBEAT_KEY, time.time(), ex=120)
    response = client.get("/readyz")
    body = response.json()
    assert response.status_code == 200, body
    assert body["status"] == "ok"
    assert set(body["checks"]) == {"database", "redis", "workers", "beat"}
    assert worker.node_name in body["checks"]["workers"]["workers"]
    assert body["checks"]["beat"]["age_seconds"] < 5
    # limit=1 returns at the first answer instead of waiting the whole 2 s.
    assert body["checks"]["workers"]["duration_ms"] < 1800


@override_settings(PULSE_ALERT_BEAT_STALL_SECONDS=60)
def test_readiness_fails_with_503_when_the_beat_heartbeat_is_stale(client, worker, redis_client):
    redis_client.set(BEAT_HEARTBEAT_KEY, time.time() - 300, ex=120)
    response = client.get("/readyz")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "fail"
    assert body["checks"]["beat"]["ok"] is False
    assert "300s old" in body["checks"]["beat"]["error"] or "s old" in body["checks"]["beat"]["error"]
    assert body["checks"]["workers"]["ok"] is True and body["checks"]["database"]["ok"] is True


@override_settings(PULSE_WORKER_PING_TIMEOUT_SECONDS=0.5)
def test_readiness_fails_when_no_worker_answers(client, redis_client):
    if app.control.ping(timeout=0.5):
        pytest.skip("a worker from another test is still running")
    redis_client.set(BEAT_HEARTBEAT_KEY, time.time(), ex=120)
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["checks"]["workers"] == {
        "ok": False,
        "workers": [],
        "error": "no worker answered ping within 0.5s",
        "duration_ms": response.json()["checks"]["workers"]["duration_ms"],
    }


def test_readiness_reports_redis_down_without_waiting_on_the_broker(settings):
    from pulse import redis as pulse_redis

    settings.REDIS_URL = "redis://127.0.0.1:1/0"  # nothing listens on port 1
    pulse_redis._client.cache_clear()
    started = time.monotonic()
    try:
        report = health.readiness()
    finally:
        pulse_redis._client.cache_clear()
    assert report["status"] == "fail"
    assert report["checks"]["database"]["ok"] is True
    assert (
        report["checks"]["redis"]["ok"] is False and "ConnectionError" in report["checks"]["redis"]["error"]
    )
    assert report["checks"]["workers"]["error"] == "not checked: Redis does not answer"
    assert time.monotonic() - started < 5


def run_pulse_status(env: dict, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "manage.py", "pulse_status", *args],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_pulse_status_prints_a_table_and_exits_0_when_ready(worker, env_for_processes, redis_client):
    import os

    redis_client.set(BEAT_HEARTBEAT_KEY, time.time(), ex=120)
    finished = run_pulse_status({**os.environ, **env_for_processes})
    assert finished.returncode == 0, finished.stdout + finished.stderr
    lines = finished.stdout.splitlines()
    assert lines[0].split() == ["CHECK", "STATUS", "TIME", "DETAIL"]
    assert [line.split()[:2] for line in lines[1:5]] == [
        ["database", "ok"],
        ["redis", "ok"],
        ["workers", "ok"],
        ["beat", "ok"],
    ]
    assert worker.node_name in finished.stdout
    assert "Pulse is ready." in finished.stdout


def test_pulse_status_exits_1_and_names_the_failing_check(worker, env_for_processes, redis_client):
    import json
    import os

    redis_client.delete(BEAT_HEARTBEAT_KEY)
    finished = run_pulse_status({**os.environ, **env_for_processes}, "--json")
    assert finished.returncode == 1
    report = json.loads(finished.stdout)
    assert report["status"] == "fail"
    assert report["checks"]["beat"]["error"].startswith("no beat heartbeat")


@pytest.mark.slow
def test_readiness_turns_ok_once_a_real_beat_writes_its_heartbeat(
    client, worker, env_for_processes, redis_client
):
    from tests.support.processes import ManagedProcess, celery_command

    redis_client.delete(BEAT_HEARTBEAT_KEY, "pulse:beat:leader")
    assert client.get("/readyz").json()["checks"]["beat"]["ok"] is False
    beat = ManagedProcess(
        "beat",
        celery_command("beat", "-l", "INFO", "--pidfile=", "--max-interval", "1"),
        env=env_for_processes,
    ).start()
    try:
        response = beat.wait_for(
            lambda: (answer := client.get("/readyz")).status_code == 200 and answer,
            timeout=60,
            what="/readyz to see beat's heartbeat",
        )
    finally:
        beat.stop()
    assert response.json()["checks"]["beat"]["age_seconds"] < 5
