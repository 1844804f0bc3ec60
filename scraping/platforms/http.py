"""The httpx client every HTTP scraper uses: SSRF-checked on each hop, with Pulse's timeouts."""

from __future__ import annotations

import ssl
from functools import lru_cache

import certifi
import httpx
from django.conf import settings

from scraping.platforms.base import PermanentScraperError, TransientScraperError
from scraping.platforms.ssrf import httpx_request_hook


@lru_cache(maxsize=1)
def tls_context() -> ssl.SSLContext:
    """One TLS context per process, as httpx would build it (certifi's CA bundle).

    Building it parses the whole CA bundle, about 50 ms of CPU; a new ``httpx.Client`` does that
    every time unless it is handed a context, and each platform run opens a client.
    """
    return ssl.create_default_context(cafile=certifi.where())


def http_client(*, headers: dict | None = None, **kwargs) -> httpx.Client:
    kwargs.setdefault("verify", tls_context())
    return httpx.Client(
        timeout=settings.PULSE_HTTP_TIMEOUT,
        follow_redirects=True,
        max_redirects=5,
        headers={"User-Agent": settings.PULSE_HTTP_USER_AGENT, **(headers or {})},
        event_hooks={"request": [httpx_request_hook]},
        **kwargs,
    )


def retry_after_seconds(response: httpx.Response) -> float | None:
    value = response.headers.get("Retry-After")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        from email.utils import parsedate_to_datetime
        from datetime import UTC, datetime

        try:
            return max(0.0, (parsedate_to_datetime(value) - datetime.now(UTC)).total_seconds())
        except (TypeError, ValueError):
            return None


def error_for_status(response: httpx.Response, *, what: str) -> None:
    """Raise the typed error a non-success status means: 429 and 5xx are retried, the rest not."""
    status = response.status_code
    if status < 400:
        return
    if status == 429:
        wait = retry_after_seconds(response)
        raise TransientScraperError(
            f"{what} answered 429 Too Many Requests" + (f"; retry after {wait:g}s." if wait is not None else "."),
            retry_after=wait,
        )
    if status >= 500 or status in (408, 425):
        raise TransientScraperError(f"{what} answered {status}; will retry.", retry_after=retry_after_seconds(response))
    raise PermanentScraperError(f"{what} answered {status} {response.reason_phrase}; check the URL and settings.")


def transport_error(error: httpx.HTTPError, *, what: str) -> TransientScraperError:
    if isinstance(error, httpx.TimeoutException):
        return TransientScraperError(f"{what} timed out ({type(error).__name__}).")
    return TransientScraperError(f"{what} could not be reached: {error}.")
