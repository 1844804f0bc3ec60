"""The pipeline's settings refuse bad values with a message naming the variable."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from tests.pulse.test_settings import load_settings
from tests.support.processes import PROJECT_ROOT


@pytest.mark.parametrize(
    ("variables", "message"),
    [
        ({"PULSE_RATE_LIMIT_DEFAULT": "fast"}, "rate limit for default is 'fast'; write it as scrapes per"),
        ({"PULSE_RATE_LIMIT_NEWS": "10/d"}, "rate limit for news is '10/d'"),
        (
            {"PULSE_BROWSER_TASK_SOFT_TIME_LIMIT": "600", "PULSE_BROWSER_TASK_TIME_LIMIT": "600"},
            "PULSE_BROWSER_TASK_SOFT_TIME_LIMIT must be smaller than PULSE_BROWSER_TASK_TIME_LIMIT",
        ),
        ({"PULSE_MAX_RESULTS_LIMIT": "0"}, "PULSE_MAX_RESULTS_LIMIT=0 is too small"),
        ({"PULSE_SCRAPE_BACKOFF_BASE": "soon"}, "PULSE_SCRAPE_BACKOFF_BASE='soon' is not a number"),
    ],
)
def test_a_bad_pipeline_setting_stops_start_up_with_a_message_naming_it(variables, message):
    result = load_settings(DJANGO_DEBUG="1", **variables)
    assert result.returncode != 0
    assert message in result.stderr


def test_per_platform_rate_limits_are_read_from_their_own_variables():
    keep = {key: value for key, value in os.environ.items() if key in {"PATH", "HOME", "LANG"}}
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            "import pulse.settings as s; print(sorted(s.PULSE_PLATFORM_RATE_LIMITS.items()))",
        ],
        cwd=PROJECT_ROOT,
        env={
            **keep,
            "DJANGO_DEBUG": "1",
            "PULSE_RATE_LIMIT_NEWS": "10/m",
            "PULSE_RATE_LIMIT_YOUTUBE": " 2/s ",
        },
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[('news', '10/m'), ('youtube', '2/s')]"
