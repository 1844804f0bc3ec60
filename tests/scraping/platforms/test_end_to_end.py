"""The five real scrapers through ``pulse.search`` on a real worker, against the simulator."""

import pytest

from pulse.celery import app
from scraping.models import Mention, PlatformRun
from scraping.platforms.registry import platform_names

pytestmark = pytest.mark.slow
TIMEOUT = 240


def run_search(**kwargs) -> dict:
    return app.send_task("pulse.search", kwargs=kwargs).get(timeout=TIMEOUT)


def test_a_search_over_all_five_platforms_stores_mentions_from_each_and_again_only_duplicates(simulator, worker):
    platforms = ["news", "youtube", "facebook", "instagram", "web"]
    assert platform_names()[:5] == platforms
    first = run_search(keywords=["harbour"], platforms=platforms, max_results=10)

    assert first["status"] == "succeeded", first
    for platform in platforms:
        outcome = first["platforms"][platform]
        assert outcome["status"] == "succeeded" and outcome["found"] > 0 and outcome["new"] > 0, (platform, outcome)
        assert Mention.objects.filter(platform=platform).count() == outcome["new"]
    assert Mention.objects.get(platform="web").title == "Harbour plan approved"
    # Tracking parameters from the simulated feed links are gone from the stored URLs.
    assert not Mention.objects.filter(url__contains="utm_source").exists()

    again = run_search(keywords=["harbour"], platforms=platforms, max_results=10)
    for platform in platforms:
        outcome = again["platforms"][platform]
        assert outcome["new"] == 0 and outcome["duplicate"] == outcome["found"] > 0, (platform, outcome)


def test_a_login_wall_fails_that_platform_for_good_and_the_search_ends_partial(simulator, worker):
    summary = run_search(keywords=["harbour __loginwall__"], platforms=["news", "facebook"], max_results=5)

    assert summary["status"] == "partial"
    assert summary["platforms"]["news"]["status"] == "succeeded"
    facebook = summary["platforms"]["facebook"]
    assert facebook["status"] == "failed" and "PULSE_FACEBOOK_STORAGE_STATE" in facebook["error"]
    run = PlatformRun.objects.get(search_id=summary["search_id"], platform="facebook")
    assert (run.error_kind, run.attempts) == ("permanent", 1)


def test_a_flaky_platform_is_retried_and_succeeds(simulator, worker, unique_keyword):
    summary = run_search(keywords=[f"{unique_keyword} __flaky__"], platforms=["youtube"], max_results=5)

    assert summary["status"] == "succeeded", summary
    run = PlatformRun.objects.get(search_id=summary["search_id"], platform="youtube")
    assert run.attempts == 3  # two 500s from the simulator, then the answer
    assert summary["platforms"]["youtube"]["found"] == 5
