"""A configuration where a task could outlive Redis' visibility timeout is refused at start.

tests/pulse/test_checks.py covers the check itself, ``manage.py check`` and the worker; this file
adds beat, which sends the tasks and must not run beside workers that would run them twice.
"""

from __future__ import annotations

import os
import subprocess

from tests.support.processes import PROJECT_ROOT, celery_command


def start_beat(env_overrides: dict) -> subprocess.CompletedProcess:
    # Runs against the test database, so a refusal cannot be confused with a missing database.
    return subprocess.run(
        celery_command("beat", "--pidfile=", "-l", "INFO"),
        cwd=PROJECT_ROOT,
        env={**os.environ, **env_overrides},
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_beat_refuses_to_start_when_a_task_could_outlive_the_visibility_timeout(env_for_processes):
    result = start_beat({**env_for_processes, "PULSE_REDIS_VISIBILITY_TIMEOUT": "60"})
    output = result.stdout + result.stderr
    assert result.returncode != 0
    assert "Pulse refuses to start" in output and "pulse.E001" in output
    # beat_init fires before the first tick, so nothing was sent.
    assert "Sending due task" not in output


def test_beat_refuses_a_time_limit_beyond_the_visibility_timeout_too(env_for_processes):
    result = start_beat(
        {
            **env_for_processes,
            "PULSE_REDIS_VISIBILITY_TIMEOUT": "400",
            "PULSE_TASK_TIME_LIMIT": "500",
            "PULSE_TASK_SOFT_TIME_LIMIT": "450",
        }
    )
    assert result.returncode != 0
    assert "pulse.E001" in result.stdout + result.stderr
