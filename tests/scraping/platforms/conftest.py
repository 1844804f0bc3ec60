"""Fixtures for the platform tests: the simulator (session) and quick browser timeouts."""

import pytest


@pytest.fixture
def browser_settings(settings, simulator):
    """Short timeouts so failure-mode tests finish in a second or two."""
    settings.PULSE_BROWSER_NAVIGATION_TIMEOUT = 5
    settings.PULSE_BROWSER_SCROLL_PAUSE = 0.1
    return settings
