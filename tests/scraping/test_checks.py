"""System checks for the pipeline's settings."""

from __future__ import annotations

from scraping.checks import check_rate_limit_platforms


def test_a_rate_limit_for_a_platform_that_does_not_exist_is_warned_about(settings):
    settings.PULSE_PLATFORM_RATE_LIMITS = {"test-ok": "5/m", "test-okk": "5/m"}
    warnings = check_rate_limit_platforms()
    assert [warning.id for warning in warnings] == ["scraping.W001"]
    assert "PULSE_RATE_LIMIT_TEST_OKK sets a rate limit for 'test-okk'" in warnings[0].msg
    assert "PULSE_RATE_LIMIT_TEST_OK" in warnings[0].hint


def test_rate_limits_for_known_platforms_pass(settings):
    settings.PULSE_PLATFORM_RATE_LIMITS = {"test-ok": "5/m"}
    assert check_rate_limit_platforms() == []
