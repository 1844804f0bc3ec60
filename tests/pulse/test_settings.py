"""Settings load from the environment and refuse bad values with a message naming the variable."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from django.core.exceptions import ImproperlyConfigured

from pulse import env
from tests.support.processes import PROJECT_ROOT


def load_settings(**overrides: str) -> subprocess.CompletedProcess:
    """Import pulse.settings in a fresh interpreter with exactly these variables set."""
    keep = {key: value for key, value in os.environ.items() if key in {"PATH", "HOME", "LANG"}}
    return subprocess.run(
        [
            sys.executable,
            "-c",
            "import django, os; os.environ['DJANGO_SETTINGS_MODULE']='pulse.settings'; django.setup();"
            "from django.conf import settings as s;"
            "print(s.DEBUG, s.TIME_ZONE, s.USE_TZ, s.REDIS_URL, s.DATABASES['default']['ENGINE'])",
        ],
        cwd=PROJECT_ROOT,
        env={**keep, **overrides},
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_the_defaults_need_nothing_but_debug():
    result = load_settings(DJANGO_DEBUG="1")
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == [
        "True",
        "Asia/Kuala_Lumpur",
        "True",
        "redis://127.0.0.1:6379/0",
        "django.db.backends.sqlite3",
    ]


def test_production_refuses_to_start_without_a_secret_key():
    result = load_settings(DJANGO_DEBUG="0")
    assert result.returncode != 0
    assert "SECRET_KEY is required" in result.stderr


def test_a_misspelt_debug_flag_names_the_variable_and_the_accepted_values():
    result = load_settings(DJANGO_DEBUG="ture")
    assert result.returncode != 0
    assert "DJANGO_DEBUG='ture' is not a boolean" in result.stderr
    assert "true/false" in result.stderr


def test_a_database_url_with_an_unknown_scheme_says_what_to_use():
    result = load_settings(DJANGO_DEBUG="1", DATABASE_URL="mysql2://db/pulse")
    assert result.returncode != 0
    assert "DATABASE_URL='mysql2://db/pulse' is not a supported database URL" in result.stderr
    assert "postgres://" in result.stderr


def test_a_postgres_url_is_used_as_given():
    result = load_settings(DJANGO_DEBUG="1", DATABASE_URL="postgres://u:p@db.internal:5433/pulse")
    assert result.returncode == 0, result.stderr
    assert result.stdout.split()[-1] == "django.db.backends.postgresql"


def test_a_bad_time_zone_is_refused():
    result = load_settings(DJANGO_DEBUG="1", TIME_ZONE="Asia/Kuala_Lumpor")
    assert result.returncode != 0
    assert "TIME_ZONE='Asia/Kuala_Lumpor' is not an IANA time zone" in result.stderr


def test_a_redis_url_must_be_a_redis_url():
    result = load_settings(DJANGO_DEBUG="1", REDIS_URL="127.0.0.1:6379")
    assert result.returncode != 0
    assert "REDIS_URL='127.0.0.1:6379' is not a Redis URL" in result.stderr


def test_soft_limit_must_leave_room_before_the_hard_limit():
    result = load_settings(DJANGO_DEBUG="1", PULSE_TASK_SOFT_TIME_LIMIT="400", PULSE_TASK_TIME_LIMIT="300")
    assert result.returncode != 0
    assert "PULSE_TASK_SOFT_TIME_LIMIT must be smaller than PULSE_TASK_TIME_LIMIT" in result.stderr


@pytest.mark.parametrize(
    ("raw", "expected"), [("1", True), ("yes", True), ("ON", True), ("0", False), ("off", False), ("", False)]
)
def test_booleans_accept_the_usual_spellings(monkeypatch, raw, expected):
    monkeypatch.setenv("PULSE_TEST_FLAG", raw)
    assert env.env_bool("PULSE_TEST_FLAG", default=not expected) is expected


def test_whole_numbers_are_bounded(monkeypatch):
    monkeypatch.setenv("PULSE_TEST_NUMBER", "0")
    with pytest.raises(ImproperlyConfigured, match="PULSE_TEST_NUMBER=0 is too small; it must be at least 1"):
        env.env_int("PULSE_TEST_NUMBER", default=5, minimum=1)
    monkeypatch.setenv("PULSE_TEST_NUMBER", "five")
    with pytest.raises(ImproperlyConfigured, match="is not a whole number"):
        env.env_int("PULSE_TEST_NUMBER", default=5)
