"""System checks guard the configuration in web, worker and beat processes."""

from __future__ import annotations

import os
import subprocess
import sys

from django.core import checks
from django.core.management import call_command

from pulse.checks import check_serializers, check_visibility_timeout
from tests.support.processes import PROJECT_ROOT, celery_command


def test_manage_py_check_is_clean():
    call_command("check", fail_level="WARNING")


def test_the_visibility_timeout_check_fires_when_a_task_can_outlive_it(settings):
    settings.CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 300}
    settings.CELERY_TASK_TIME_LIMIT = 360
    settings.PULSE_BROWSER_TASK_TIME_LIMIT = 200
    errors = check_visibility_timeout()
    assert [error.id for error in errors] == ["pulse.E001"]
    assert "300s" in errors[0].msg and "360s" in errors[0].msg


def test_a_per_task_time_limit_setting_counts_too(settings):
    settings.CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 1000}
    settings.CELERY_TASK_TIME_LIMIT = 360
    settings.PULSE_BROWSER_TASK_TIME_LIMIT = 1200
    assert [error.id for error in check_visibility_timeout()] == ["pulse.E001"]
    settings.PULSE_BROWSER_TASK_TIME_LIMIT = 900
    assert check_visibility_timeout() == []


def test_accepting_pickle_is_an_error(settings):
    settings.CELERY_ACCEPT_CONTENT = ["json", "pickle"]
    assert [error.id for error in check_serializers()] == ["pulse.E002"]


def test_the_checks_are_registered_under_the_pulse_tag():
    registered = {check.__name__ for check in checks.registry.registry.get_checks() if "pulse" in check.tags}
    assert {"check_visibility_timeout", "check_serializers"} <= registered


def test_a_worker_refuses_to_start_when_the_visibility_timeout_is_too_short():
    result = subprocess.run(
        celery_command("worker", "-Q", "http", "-c", "1"),
        cwd=PROJECT_ROOT,
        env={**os.environ, "PULSE_REDIS_VISIBILITY_TIMEOUT": "60"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0
    assert "Pulse refuses to start" in result.stdout + result.stderr
    assert "pulse.E001" in result.stdout + result.stderr


def test_manage_py_check_fails_with_the_same_message():
    result = subprocess.run(
        [sys.executable, "manage.py", "check"],
        cwd=PROJECT_ROOT,
        env={**os.environ, "PULSE_REDIS_VISIBILITY_TIMEOUT": "60"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0
    assert "pulse.E001" in result.stderr
