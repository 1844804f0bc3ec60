"""Turning the failures of some sources (feeds, pages) into one outcome for the platform."""

from __future__ import annotations

from scraping.platforms.base import PermanentScraperError, ScraperError, TransientScraperError


def raise_if_everything_failed(failures: list[ScraperError], *, sources: int, what: str) -> None:
    """When every source failed, fail the platform: transient if any failure may pass, else permanent.

    When only some failed, the caller keeps the other sources' items and reports these as warnings.
    """
    if not failures or len(failures) < sources:
        return
    message = f"Every {what} failed: " + " | ".join(error.message for error in failures)
    if any(not error.permanent for error in failures):
        retry_after = max((error.retry_after or 0 for error in failures), default=0) or None
        raise TransientScraperError(message, retry_after=retry_after)
    raise PermanentScraperError(message)
