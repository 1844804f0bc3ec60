"""Production settings pass Django's deployment checklist (``manage.py check --deploy``)."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys

from tests.support.processes import PROJECT_ROOT


def production_env(**overrides: str) -> dict:
    """The environment of a production web process: pulse.settings itself, not the test settings."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("DJANGO_", "PULSE_", "SECRET_KEY", "ALLOWED_HOSTS", "CSRF_"))
    }
    env.update(
        DJANGO_SETTINGS_MODULE="pulse.settings",
        DJANGO_DEBUG="0",
        SECRET_KEY=secrets.token_urlsafe(50),
        ALLOWED_HOSTS="pulse.example.com",
        CSRF_TRUSTED_ORIGINS="https://pulse.example.com",
        FLOWER_BASIC_AUTH="operator:" + secrets.token_urlsafe(16),
    )
    env.update(overrides)
    return env


def check_deploy(env: dict) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_check_deploy_reports_no_issues_with_production_settings():
    result = check_deploy(production_env())
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout


def test_check_deploy_would_notice_a_production_setting_left_out():
    # Proves the command above really checks something: turn HSTS off and it must complain.
    result = check_deploy(production_env(DJANGO_SECURE_HSTS_SECONDS="0"))
    assert result.returncode != 0
    assert "security.W004" in result.stdout + result.stderr


def test_production_refuses_a_weak_secret_key():
    result = check_deploy(production_env(SECRET_KEY="insecure-short"))
    assert result.returncode != 0
    assert "SECRET_KEY is too weak" in result.stderr
