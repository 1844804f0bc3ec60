"""System checks for the search pipeline's settings."""

from __future__ import annotations

from django.conf import settings
from django.core import checks


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
