"""System checks for the platform and pipeline settings (run by web, worker and beat via the "pulse" tag)."""

from __future__ import annotations

from django.conf import settings
from django.core import checks


@checks.register("pulse")
def check_enabled_platforms(app_configs=None, **kwargs):
    from scraping.platforms.registry import platform_names

    unknown = [name for name in settings.PULSE_ENABLED_PLATFORMS if name not in platform_names()]
    if unknown:
        return [
            checks.Error(
                f"PULSE_ENABLED_PLATFORMS names unknown platforms: {', '.join(unknown)}.",
                hint=f"Use a comma-separated subset of: {', '.join(platform_names())} (or leave it empty for all).",
                id="pulse.E100",
            )
        ]
    return []


@checks.register("pulse")
def check_browser_timeouts(app_configs=None, **kwargs):
    navigation = settings.PULSE_BROWSER_NAVIGATION_TIMEOUT
    soft = settings.PULSE_TASK_SOFT_TIME_LIMIT
    hard = settings.PULSE_TASK_TIME_LIMIT
    if not navigation < soft < hard:
        return [
            checks.Error(
                f"Browser timeouts are not layered: navigation {navigation}s, soft time limit {soft}s, "
                f"hard time limit {hard}s. A page load must give up before the soft limit so the task can "
                "close its browser context, and the soft limit must come before the hard kill.",
                hint="Set PULSE_BROWSER_NAVIGATION_TIMEOUT < PULSE_TASK_SOFT_TIME_LIMIT < PULSE_TASK_TIME_LIMIT.",
                id="pulse.E101",
            )
        ]
    return []


@checks.register("pulse")
def check_storage_state_files(app_configs=None, **kwargs):
    from pathlib import Path

    problems = []
    for name in ("PULSE_FACEBOOK_STORAGE_STATE", "PULSE_INSTAGRAM_STORAGE_STATE"):
        path = getattr(settings, name)
        if path and not Path(path).is_file():
            problems.append(
                checks.Warning(
                    f"{name}={path!r} does not exist; the platform will run without a logged-in session.",
                    hint="Save one with Playwright's context.storage_state(path=...) (see docs/PLATFORMS.md).",
                    id="pulse.W102",
                )
            )
    return problems


@checks.register("pulse")
def check_rate_limit_platforms(app_configs=None, **kwargs):
    """A rate limit for a misspelt platform would be ignored silently; say so at start."""
    from scraping.platforms import registry

    known = registry.platform_names()
    variables = ", ".join("PULSE_RATE_LIMIT_" + name.upper().replace("-", "_") for name in known)
    warnings = []
    for name in sorted(settings.PULSE_PLATFORM_RATE_LIMITS):
        if known and name not in known:
            variable = "PULSE_RATE_LIMIT_" + name.upper().replace("-", "_")
            warnings.append(
                checks.Warning(
                    f"{variable} sets a rate limit for {name!r}, which is not a platform; it has no effect.",
                    hint=f"Use one of: {variables}.",
                    id="scraping.W001",
                )
            )
    return warnings
