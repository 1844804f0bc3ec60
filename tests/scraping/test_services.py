"""Services called directly (no worker): creation, one platform run, finalize, cancel, rate limits."""

from __future__ import annotations

import errno
import socket
import uuid

import httpx
import pytest
import redis
from django.core.exceptions import ValidationError

from scraping import ratelimit, services
from scraping.models import Mention, PlatformRun, Search
from scraping.platforms.base import Scraper, TransientScraperError
from tests.support.scrapers import register
from tests.support.scrapers import FLAKY_FAILURES, ITEMS_PER_KEYWORD, items_for

pytestmark = pytest.mark.django_db


def create(keyword, platforms=("test-ok",), **fields) -> Search:
    search, created = services.search_create(
        keywords=[keyword], platforms=list(platforms), trigger="cli", **fields
    )
    assert created
    return search


def run_of(search, platform="test-ok") -> PlatformRun:
    return PlatformRun.objects.get(search=search, platform=platform)


def test_search_create_makes_one_run_per_platform_in_the_order_given(keyword):
    search = create(keyword, platforms=["test-permanent", "test-ok"], max_results=5)
    assert search.platforms == ["test-permanent", "test-ok"]
    assert search.platforms_total == 2 and search.max_results == 5 and search.status == Search.Status.QUEUED
    assert sorted(search.platform_runs.values_list("platform", flat=True)) == ["test-ok", "test-permanent"]


def test_search_create_is_idempotent_on_search_id(keyword):
    search_id = uuid.uuid4()
    first, created = services.search_create(
        keywords=[keyword], platforms=["test-ok"], trigger="api", search_id=search_id
    )
    again, created_again = services.search_create(
        keywords=["other"], platforms=["test-ok"], trigger="api", search_id=str(search_id)
    )
    assert (created, created_again) == (True, False)
    assert again.pk == first.pk == search_id and again.keywords == [keyword]
    assert Search.objects.count() == 1


def test_search_create_refuses_bad_input_with_a_message_per_field_and_creates_nothing():
    with pytest.raises(ValidationError) as raised:
        services.search_create(keywords=[], platforms=["nope"], max_results=0, trigger="carrier-pigeon")
    assert set(raised.value.message_dict) == {"trigger"}
    with pytest.raises(ValidationError) as raised:
        services.search_create(keywords=[], platforms=["nope"], max_results=0, trigger="api")
    assert set(raised.value.message_dict) == {"keywords", "platforms", "max_results"}
    assert Search.objects.count() == 0 and PlatformRun.objects.count() == 0


def test_executing_a_run_stores_items_and_adds_to_the_search_counters(keyword):
    search = create(keyword, platforms=["test-ok", "test-browser-ok"])
    result = services.platform_run_execute(run_id=run_of(search).pk, task_id="task-1")

    assert result == {
        "status": "succeeded",
        "found": ITEMS_PER_KEYWORD,
        "new": ITEMS_PER_KEYWORD,
        "duplicate": 0,
        "error": None,
    }
    run = run_of(search)
    assert (run.attempts, run.celery_task_id) == (1, "task-1")
    assert run.duration_seconds is not None and run.finished_at >= run.started_at
    search.refresh_from_db()
    assert (search.platforms_done, search.mentions_found, search.mentions_new) == (
        1,
        ITEMS_PER_KEYWORD,
        ITEMS_PER_KEYWORD,
    )


def test_a_redelivered_run_after_it_finished_changes_nothing(keyword):
    search = create(keyword)
    first = services.platform_run_execute(run_id=run_of(search).pk)
    again = services.platform_run_execute(run_id=run_of(search).pk)

    assert again == first
    assert run_of(search).attempts == 1
    search.refresh_from_db()
    assert search.platforms_done == 1 and search.mentions_found == ITEMS_PER_KEYWORD
    assert (
        Mention.objects.filter(platform="test-ok", external_id__startswith=keyword).count()
        == ITEMS_PER_KEYWORD
    )


def test_a_run_interrupted_before_it_finished_reports_the_same_counts_when_run_again(keyword):
    search = create(keyword)
    first = services.platform_run_execute(run_id=run_of(search).pk)
    # As if the worker died after storing but before the run was marked finished.
    PlatformRun.objects.filter(pk=run_of(search).pk).update(status="running", found=0, new=0, duplicate=0)
    Search.objects.filter(pk=search.pk).update(platforms_done=0, mentions_found=0, mentions_new=0)
    again = services.platform_run_execute(run_id=run_of(search).pk)

    assert (again["new"], again["duplicate"]) == (first["new"], first["duplicate"]) == (ITEMS_PER_KEYWORD, 0)


def test_a_transient_error_with_attempts_left_is_raised_for_the_task_to_retry(keyword):
    search = create(keyword, platforms=["test-flaky"])
    with pytest.raises(TransientScraperError) as raised:
        services.platform_run_execute(run_id=run_of(search, "test-flaky").pk)
    assert raised.value.retry_after == 0.1 and raised.value.attempt == 1
    run = run_of(search, "test-flaky")
    assert run.status == "retrying" and run.error_message == "attempt 1: HTTP 429 on call 1"
    for _ in range(FLAKY_FAILURES - 1):
        with pytest.raises(TransientScraperError):
            services.platform_run_execute(run_id=run.pk)
    assert services.platform_run_execute(run_id=run.pk)["status"] == "succeeded"
    assert run_of(search, "test-flaky").error_message == ""


def test_the_last_transient_error_is_recorded_instead_of_raised(keyword, settings):
    settings.PULSE_SCRAPE_MAX_RETRIES = 0
    search = create(keyword, platforms=["test-down"])
    result = services.platform_run_execute(run_id=run_of(search, "test-down").pk)
    assert result["status"] == "failed"
    assert result["error"] == "gave up after 1 attempt(s): HTTP 503 Service Unavailable"
    assert run_of(search, "test-down").error_kind == "transient"


def test_a_run_whose_platform_left_the_registry_fails_permanently_with_the_known_names(keyword):
    search = create(keyword)
    PlatformRun.objects.filter(search=search).update(platform="myspace")
    result = services.platform_run_execute(run_id=run_of(search, "myspace").pk)
    assert result["status"] == "failed"
    assert "Unknown platform 'myspace'. Known platforms: " in result["error"] and "test-ok" in result["error"]


def test_a_rate_limited_platform_asks_to_wait_without_counting_an_attempt(keyword, settings, redis_client):
    settings.PULSE_PLATFORM_RATE_LIMITS = {"test-ok": "1/h"}
    redis_client.delete("pulse:ratelimit:test-ok")
    ratelimit.take("test-ok")  # use up the only token (a fresh bucket starts full)
    search = create(keyword)
    with pytest.raises(services.RateLimited) as raised:
        services.platform_run_execute(run_id=run_of(search).pk)
    assert 3000 < raised.value.wait <= 3600
    assert run_of(search).attempts == 0 and run_of(search).status == "pending"
    redis_client.delete("pulse:ratelimit:test-ok")  # other tests use test-ok at the test rate


@pytest.fixture
def unreachable_rate_limiter(settings):
    """Point the rate limiter at a port where nothing listens, as during a Redis restart."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    settings.REDIS_URL = f"redis://127.0.0.1:{port}/0"
    ratelimit._script.cache_clear()
    yield
    ratelimit._script.cache_clear()


def test_an_unreachable_rate_limiter_makes_the_run_wait_not_fail(keyword, settings, unreachable_rate_limiter):
    settings.PULSE_SCRAPE_BACKOFF_BASE, settings.PULSE_SCRAPE_BACKOFF_MAX = 2, 60
    search = create(keyword)
    with pytest.raises(services.RateLimited) as raised:
        services.platform_run_execute(run_id=run_of(search).pk)
    assert 1 <= raised.value.wait <= 2
    run = run_of(search)
    assert (run.status, run.attempts, run.error_message) == ("pending", 0, "")


def test_the_token_bucket_allows_a_burst_then_spaces_requests_evenly(settings):
    platform = f"bucket-{uuid.uuid4().hex[:8]}"
    settings.PULSE_PLATFORM_RATE_LIMITS = {platform: "3/s"}
    waits = [ratelimit.take(platform) for _ in range(4)]
    assert waits[:3] == [0, 0, 0]
    assert 0 < waits[3] <= 1 / 3 + 0.01


def test_finalize_sets_the_status_from_the_runs_and_fails_runs_that_never_reported(keyword):
    search = create(keyword, platforms=["test-ok", "test-slow"])
    services.platform_run_execute(run_id=run_of(search).pk)
    summary = services.search_finalize(search_id=search.pk)

    assert summary["status"] == "partial"
    assert summary["platforms"]["test-slow"]["status"] == "failed"
    assert "never reported back" in summary["platforms"]["test-slow"]["error"]
    search.refresh_from_db()
    assert search.platforms_done == 2 and search.mentions_new == ITEMS_PER_KEYWORD
    # Finalizing again (a redelivered finalize) returns the same summary.
    assert services.search_finalize(search_id=search.pk) == summary


@pytest.mark.parametrize(
    ("platforms", "status"),
    [(["test-ok"], "succeeded"), (["test-permanent"], "failed"), (["test-ok", "test-permanent"], "partial")],
)
def test_finalize_status(keyword, platforms, status):
    search = create(keyword, platforms=platforms)
    for run in search.platform_runs.all():
        services.platform_run_execute(run_id=run.pk)
    assert services.search_finalize(search_id=search.pk)["status"] == status


def test_a_cancelled_search_runs_no_platform(keyword):
    search = create(keyword, platforms=["test-ok"])
    services.search_cancel(search=search)
    result = services.platform_run_execute(run_id=run_of(search).pk)
    assert result["status"] == "cancelled"
    assert run_of(search).attempts == 0
    assert services.search_finalize(search_id=search.pk)["status"] == "cancelled"


@pytest.mark.parametrize(("attempt", "ceiling"), [(1, 0.1), (2, 0.2), (3, 0.4), (10, 2.0)])
def test_retry_delay_grows_exponentially_with_jitter_up_to_the_maximum(attempt, ceiling):
    delays = [services.retry_delay(attempt=attempt) for _ in range(50)]
    assert all(ceiling / 2 <= delay <= ceiling for delay in delays)
    assert len(set(delays)) > 1


def test_retry_delay_honours_retry_after_from_the_platform():
    assert 1.5 <= services.retry_delay(attempt=1, retry_after=1.5) <= 1.65
    assert services.retry_delay(attempt=1, retry_after=9999) <= 2.0 * 1.1  # still capped


@register
class CancelledWhileScrapingScraper(Scraper):
    """While this platform is being scraped, someone cancels the search; then the platform says 429."""

    name = "test-cancelled-while-scraping"

    def search(self, query):
        services.search_cancel(search=Search.objects.get(keywords=list(query.keywords)))
        raise TransientScraperError("HTTP 429", retry_after=1)


def test_a_search_cancelled_while_a_platform_was_scraping_is_not_retried_or_counted_twice(keyword):
    search = create(keyword, platforms=["test-cancelled-while-scraping"])
    result = services.platform_run_execute(run_id=run_of(search, "test-cancelled-while-scraping").pk)

    assert result["status"] == "cancelled"
    search.refresh_from_db()
    assert search.status == "cancelled" and search.platforms_done == 1


class RaisingScraper(Scraper):
    """Raises whatever the test put in ``error``: an exception escaping a scraper's own handling."""

    name = "test-raising"
    error: BaseException = ZeroDivisionError("division by zero")

    def search(self, query):
        raise type(self).error


register(RaisingScraper)

NETWORK_ERRORS = [
    redis.exceptions.ConnectionError("Error 111 connecting to 127.0.0.1:6379. Connection refused."),
    redis.exceptions.TimeoutError("Timeout reading from socket"),
    httpx.ConnectError("[Errno 111] Connection refused"),
    httpx.ReadTimeout("timed out"),
    httpx.RemoteProtocolError("Server disconnected without sending a response."),
    ConnectionRefusedError(errno.ECONNREFUSED, "Connection refused"),
    ConnectionResetError(errno.ECONNRESET, "Connection reset by peer"),
    TimeoutError("timed out"),
    socket.gaierror(socket.EAI_AGAIN, "Temporary failure in name resolution"),
    OSError(errno.ENETUNREACH, "Network is unreachable"),
]
BUGS = [
    ZeroDivisionError("division by zero"),
    TypeError("'NoneType' object is not subscriptable"),
    KeyError("title"),
    FileNotFoundError(errno.ENOENT, "No such file or directory"),
    redis.exceptions.ResponseError("WRONGTYPE Operation against a key holding the wrong kind of value"),
    httpx.UnsupportedProtocol("Request URL is missing an 'http://' or 'https://' protocol."),
]


@pytest.mark.parametrize("error", NETWORK_ERRORS, ids=lambda error: type(error).__name__)
def test_a_redis_or_network_error_escaping_a_scraper_is_retried_like_a_transient_error(keyword, monkeypatch, error):
    monkeypatch.setattr(RaisingScraper, "error", error)
    search = create(keyword, platforms=["test-raising"])
    with pytest.raises(TransientScraperError) as raised:
        services.platform_run_execute(run_id=run_of(search, "test-raising").pk)
    assert raised.value.attempt == 1 and raised.value.__cause__ is error
    run = run_of(search, "test-raising")
    assert (run.status, run.error_kind) == ("retrying", "transient")
    assert run.error_message == f"attempt 1: network error: {type(error).__name__}: {error}"


@pytest.mark.parametrize("error", BUGS, ids=lambda error: type(error).__name__)
def test_a_bug_in_a_scraper_is_still_a_permanent_failure_and_not_retried(keyword, monkeypatch, error):
    monkeypatch.setattr(RaisingScraper, "error", error)
    search = create(keyword, platforms=["test-raising"])
    result = services.platform_run_execute(run_id=run_of(search, "test-raising").pk)
    assert result["status"] == "failed"
    assert result["error"] == f"scraper crashed: {type(error).__name__}: {error}"
    assert run_of(search, "test-raising").error_kind == "permanent"


def test_a_redis_blip_is_retried_and_the_next_attempt_stores_the_items(keyword):
    search = create(keyword, platforms=["test-redis-blip"])
    with pytest.raises(TransientScraperError):
        services.platform_run_execute(run_id=run_of(search, "test-redis-blip").pk)
    result = services.platform_run_execute(run_id=run_of(search, "test-redis-blip").pk)
    assert (result["status"], result["new"]) == ("succeeded", ITEMS_PER_KEYWORD)
    run = run_of(search, "test-redis-blip")
    assert (run.attempts, run.error_message) == (2, "")


def test_a_network_that_stays_down_gives_up_as_a_transient_failure_after_the_retries(keyword, settings):
    settings.PULSE_SCRAPE_MAX_RETRIES = 1
    search = create(keyword, platforms=["test-network-down"])
    with pytest.raises(TransientScraperError):
        services.platform_run_execute(run_id=run_of(search, "test-network-down").pk)
    result = services.platform_run_execute(run_id=run_of(search, "test-network-down").pk)
    assert result["status"] == "failed"
    assert result["error"] == "gave up after 2 attempt(s): network error: ConnectError: [Errno 111] Connection refused"
    assert run_of(search, "test-network-down").error_kind == "transient"


@register
class CancelledWhileFindingItemsScraper(Scraper):
    """While this platform is being scraped, someone cancels the search; then the platform finds items."""

    name = "test-cancelled-while-finding"

    def search(self, query):
        services.search_cancel(search=Search.objects.get(keywords=list(query.keywords)))
        return items_for(self.name, query)


def test_items_found_for_a_search_cancelled_meanwhile_are_discarded_and_the_run_counted_once(keyword):
    search = create(keyword, platforms=["test-cancelled-while-finding", "test-ok"])
    result = services.platform_run_execute(run_id=run_of(search, "test-cancelled-while-finding").pk)

    assert result == {"status": "cancelled", "found": 0, "new": 0, "duplicate": 0, "error": None}
    assert not Mention.objects.filter(platform="test-cancelled-while-finding").exists()
    search.refresh_from_db()
    assert search.status == "cancelled" and search.platforms_done == 2 and search.mentions_found == 0


def test_a_run_finished_twice_is_counted_once(keyword):
    search = create(keyword, platforms=["test-ok"])
    run = run_of(search)
    first = services.platform_run_execute(run_id=run.pk)
    again = services._platform_run_finish(run, status=PlatformRun.Status.SUCCEEDED, items=[])

    assert again == first and first["found"] == ITEMS_PER_KEYWORD
    search.refresh_from_db()
    assert search.platforms_done == 1 and search.mentions_found == ITEMS_PER_KEYWORD
