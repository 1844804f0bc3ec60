"""``pulse.search`` end to end: a real worker, Redis, PostgreSQL and the test platforms."""

from __future__ import annotations

import uuid

import pytest
import redis
from celery import Celery
from django.conf import settings

from pulse.celery import app
from scraping.models import Mention, MentionMatch, PlatformRun, Search
from tests.support.scrapers import FLAKY_FAILURES, ITEMS_PER_KEYWORD, query_key

TIMEOUT = 60


def run_search(**kwargs) -> dict:
    return app.send_task("pulse.search", kwargs=kwargs).get(timeout=TIMEOUT)


def counter(name: str, keywords: list[str]) -> int:
    from scraping.platforms.base import Query

    client = redis.Redis.from_url(settings.REDIS_URL)
    return int(client.get(f"pulse:test:{name}:{query_key(Query(keywords=tuple(keywords)))}") or 0)


def test_a_search_over_several_platforms_stores_mentions_from_each(worker, keyword):
    platforms = ["test-ok", "test-browser-ok", "test-flaky"]
    summary = run_search(keywords=[keyword], platforms=platforms, max_results=10)

    assert summary["status"] == "succeeded"
    assert list(summary["platforms"]) == platforms
    for platform in platforms:
        assert summary["platforms"][platform] == {
            "status": "succeeded",
            "found": ITEMS_PER_KEYWORD,
            "new": ITEMS_PER_KEYWORD,
            "duplicate": 0,
            "error": None,
        }
        assert (
            Mention.objects.filter(platform=platform, external_id__startswith=keyword).count()
            == ITEMS_PER_KEYWORD
        )
    search = Search.objects.get(pk=summary["search_id"])
    assert search.status == Search.Status.SUCCEEDED
    assert (search.platforms_done, search.platforms_total) == (3, 3)
    assert (search.mentions_found, search.mentions_new) == (9, 9)
    assert search.trigger == Search.Trigger.APPLY_ASYNC
    assert search.started_at <= search.finished_at
    mention = Mention.objects.get(platform="test-ok", external_id=f"{keyword}-1")
    assert mention.url == f"https://example.com/test-ok/{keyword}-1?id=1"
    assert mention.title == f"{keyword} post 1"
    assert MentionMatch.objects.get(mention=mention, search=search).keyword == keyword
    assert all(run.celery_task_id for run in search.platform_runs.all())


def test_the_same_search_again_stores_no_new_mention_and_counts_duplicates(worker, keyword):
    first = run_search(keywords=[keyword], platforms=["test-ok", "test-browser-ok"])
    stored = Mention.objects.count()
    second = run_search(keywords=[keyword], platforms=["test-ok", "test-browser-ok"])

    assert first["status"] == second["status"] == "succeeded"
    assert second["search_id"] != first["search_id"]
    for platform in ("test-ok", "test-browser-ok"):
        assert second["platforms"][platform]["new"] == 0
        assert second["platforms"][platform]["duplicate"] == ITEMS_PER_KEYWORD
    assert Mention.objects.count() == stored
    assert Search.objects.get(pk=second["search_id"]).mentions_new == 0
    # Both searches are linked to the mentions they saw.
    assert MentionMatch.objects.filter(search_id=second["search_id"]).count() == 2 * ITEMS_PER_KEYWORD


def test_a_flaky_platform_is_retried_and_then_succeeds(worker, keyword):
    summary = run_search(keywords=[keyword], platforms=["test-flaky"])

    assert summary["platforms"]["test-flaky"]["status"] == "succeeded"
    assert summary["platforms"]["test-flaky"]["new"] == ITEMS_PER_KEYWORD
    run = PlatformRun.objects.get(search_id=summary["search_id"])
    assert run.attempts == FLAKY_FAILURES + 1
    assert counter("flaky", [keyword]) == FLAKY_FAILURES + 1
    assert run.error_message == ""


def test_a_redis_connection_error_escaping_a_scraper_is_retried_and_then_succeeds(worker, keyword):
    summary = run_search(keywords=[keyword], platforms=["test-redis-blip", "test-ok"])

    assert summary["status"] == "succeeded"
    assert summary["platforms"]["test-redis-blip"]["new"] == ITEMS_PER_KEYWORD
    run = PlatformRun.objects.get(search_id=summary["search_id"], platform="test-redis-blip")
    assert (run.status, run.attempts, run.error_message) == ("succeeded", 2, "")
    assert counter("redis-blip", [keyword]) == 2


def test_a_permanent_failure_is_recorded_not_retried_and_the_search_ends_partial(worker, keyword):
    summary = run_search(keywords=[keyword], platforms=["test-ok", "test-permanent"])

    assert summary["status"] == "partial"
    assert summary["platforms"]["test-ok"]["status"] == "succeeded"
    failed = summary["platforms"]["test-permanent"]
    assert failed["status"] == "failed"
    assert "login wall" in failed["error"]
    run = PlatformRun.objects.get(search_id=summary["search_id"], platform="test-permanent")
    assert (run.error_kind, run.attempts) == ("permanent", 1)
    assert counter("permanent", [keyword]) == 1
    assert "test-permanent: login wall" in Search.objects.get(pk=summary["search_id"]).error


def test_a_platform_that_stays_down_gives_up_after_the_configured_retries(worker, keyword):
    summary = run_search(keywords=[keyword], platforms=["test-down"])

    assert summary["status"] == "failed"
    run = PlatformRun.objects.get(search_id=summary["search_id"])
    assert run.status == "failed" and run.error_kind == "transient"
    assert run.attempts == settings.PULSE_SCRAPE_MAX_RETRIES + 1
    assert counter("down", [keyword]) == settings.PULSE_SCRAPE_MAX_RETRIES + 1
    assert f"gave up after {run.attempts} attempt(s): HTTP 503" in run.error_message


def test_a_crashing_scraper_is_a_recorded_failure_and_the_chord_still_completes(worker, keyword):
    summary = run_search(keywords=[keyword], platforms=["test-crash", "test-ok"])

    assert summary["status"] == "partial"
    assert (
        summary["platforms"]["test-crash"]["error"]
        == "scraper crashed: ZeroDivisionError: division by zero in a parser"
    )


def test_a_client_that_imports_nothing_from_pulse_gets_the_summary(worker, keyword):
    outsider = Celery("outsider", broker=settings.REDIS_URL, backend=settings.REDIS_URL, set_as_current=False)
    result = outsider.send_task("pulse.search", kwargs={"keywords": [keyword], "platforms": ["test-ok"]})
    summary = result.get(timeout=TIMEOUT)

    assert summary["status"] == "succeeded"
    assert summary["platforms"]["test-ok"]["new"] == ITEMS_PER_KEYWORD
    assert Search.objects.get(pk=summary["search_id"]).celery_task_id == result.id


@pytest.mark.parametrize(
    ("kwargs", "field", "expected"),
    [
        ({}, "keywords", "keywords: required"),
        ({"keywords": []}, "keywords", "at least one keyword"),
        ({"keywords": "acme"}, "keywords", "must be a list"),
        ({"keywords": ["acme"], "platforms": ["myspace"]}, "platforms", "use one of: "),
        (
            {"keywords": ["acme"], "platforms": ["test-ok"], "max_results": 10**9},
            "max_results",
            "between 1 and 500",
        ),
        ({"keywords": ["acme"], "platforms": ["test-ok"], "max_results": "5"}, "max_results", "got str"),
        ({"keywords": ["acme"], "platforms": ["test-ok"], "search_id": 7}, "search_id", "UUID"),
        ({"keywords": ["acme"], "platforms": ["test-ok"], "since": "yesterday"}, "since", "ISO 8601"),
        ({"keywords": ["acme"], "platforms": ["test-ok"], "colour": "red"}, "colour", "unknown field"),
    ],
)
def test_bad_kwargs_fail_at_once_with_a_message_naming_the_field_and_create_nothing(
    worker, kwargs, field, expected
):
    outsider = Celery("outsider", broker=settings.REDIS_URL, backend=settings.REDIS_URL, set_as_current=False)
    result = outsider.send_task("pulse.search", kwargs=kwargs)
    with pytest.raises(Exception) as raised:
        result.get(timeout=TIMEOUT)

    assert type(raised.value).__name__ == "InvalidSearchInput"
    assert f"{field}: " in str(raised.value) and expected in str(raised.value)
    assert result.state == "FAILURE"
    assert Search.objects.count() == 0 and PlatformRun.objects.count() == 0


def test_positional_arguments_are_refused_with_a_hint(worker):
    result = app.send_task("pulse.search", args=[["acme"]])
    with pytest.raises(Exception, match="keyword arguments only"):
        result.get(timeout=TIMEOUT)
    assert Search.objects.count() == 0


def test_the_same_search_id_never_makes_a_second_search(worker, keyword):
    search_id = str(uuid.uuid4())
    kwargs = {"keywords": [keyword], "platforms": ["test-permanent", "test-ok"], "search_id": search_id}
    first = run_search(**kwargs)
    again = run_search(**kwargs)

    assert first == again
    assert first["search_id"] == search_id
    assert Search.objects.filter(pk=search_id).count() == 1
    assert counter("permanent", [keyword]) == 1  # the finished search was not run again


def test_two_simultaneous_calls_with_one_search_id_scrape_once(worker, keyword):
    search_id = str(uuid.uuid4())
    kwargs = {"keywords": [keyword], "platforms": ["test-permanent"], "search_id": search_id}
    results = [app.send_task("pulse.search", kwargs=kwargs) for _ in range(2)]
    summaries = [result.get(timeout=TIMEOUT) for result in results]

    assert {summary["search_id"] for summary in summaries} == {search_id}
    assert Search.objects.filter(pk=search_id).count() == 1
    assert PlatformRun.objects.filter(search_id=search_id).count() == 1
    assert counter("permanent", [keyword]) == 1
