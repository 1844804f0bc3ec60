"""manage.py scrape, in-process (--eager) and through a real worker."""

from __future__ import annotations

import io
import json

import pytest
from django.core.management import CommandError, call_command

from scraping.models import Mention, PlatformRun, Search
from tests.support.scrapers import FLAKY_FAILURES, ITEMS_PER_KEYWORD


def scrape(*args: str) -> str:
    out = io.StringIO()
    call_command("scrape", *args, stdout=out)
    return out.getvalue()


@pytest.mark.django_db
def test_eager_runs_every_platform_in_process_retrying_the_flaky_one(keyword):
    output = scrape(
        "--keywords", keyword, "--platforms", "test-ok", "test-flaky", "--max-results", "2", "--eager"
    )

    search = Search.objects.get()
    assert search.trigger == "cli" and search.status == "succeeded" and search.max_results == 2
    assert PlatformRun.objects.get(platform="test-flaky").attempts == FLAKY_FAILURES + 1
    assert Mention.objects.filter(external_id__startswith=keyword).count() == 4
    assert f"Search {search.pk}: succeeded" in output
    assert "test-flaky         [####################] succeeded  2 found, 2 new" in output
    assert "retrying (attempt 1: HTTP 429 on call 1)" in output
    assert "2/2 platforms, 4 new mentions" in output


@pytest.mark.django_db
def test_eager_json_prints_only_the_summary(keyword):
    summary = json.loads(scrape("--keywords", keyword, "--platforms", "test-ok", "--eager", "--json"))
    assert summary["status"] == "succeeded"
    assert summary["platforms"]["test-ok"]["new"] == ITEMS_PER_KEYWORD


@pytest.mark.django_db
def test_a_search_that_fails_everywhere_exits_with_an_error(keyword):
    with pytest.raises(CommandError, match="failed on every platform: test-permanent: login wall"):
        scrape("--keywords", keyword, "--platforms", "test-permanent", "--eager")


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["--keywords", "a", "--platforms", "myspace"],
            "platforms: unknown platform 'myspace', use one of: ",
        ),
        (
            ["--keywords", "a", "--platforms", "test-ok", "--max-results", "1000000000"],
            "max_results: must be between 1 and 500, got 1000000000",
        ),
        (
            ["--keywords", "a", "--platforms", "test-ok", "--since", "soon"],
            "since: 'soon' is not an ISO 8601",
        ),
        (["--keywords", " ", "--platforms", "test-ok"], "keywords: item 0 is empty"),
    ],
)
def test_bad_arguments_are_refused_with_the_validation_message_and_nothing_is_created(args, message):
    for mode in ([], ["--eager"]):
        with pytest.raises(CommandError) as raised:
            scrape(*args, *mode)
        assert message in str(raised.value)
    assert Search.objects.count() == 0


@pytest.mark.django_db
def test_a_plain_date_means_midnight_in_pulses_time_zone(keyword):
    scrape(
        "--keywords",
        keyword,
        "--platforms",
        "test-ok",
        "--since",
        "2026-11-01",
        "--until",
        "2026-11-02",
        "--eager",
    )
    search = Search.objects.get()
    assert search.since.isoformat() == "2026-10-31T16:00:00+00:00"
    # The test platform publishes at 12:00 UTC + n hours on 2026-11-01, all inside the window.
    assert search.mentions_found == ITEMS_PER_KEYWORD


def test_without_eager_it_enqueues_and_shows_progress_until_the_worker_is_done(worker, keyword):
    output = scrape("--keywords", keyword, "--platforms", "test-ok", "test-browser-ok", "--timeout", "60")

    search = Search.objects.get()
    assert search.status == "succeeded" and search.celery_task_id
    assert "test-browser-ok    [####################] succeeded  3 found, 3 new" in output
    assert "all                [####################] 2/2 platforms, 6 new mentions" in output
    assert output.rstrip().splitlines()[-3] == f"Search {search.pk}: succeeded"
