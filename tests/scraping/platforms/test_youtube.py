import httpx
import pytest

from scraping.platforms.base import PermanentScraperError, Query, TransientScraperError
from scraping.platforms.registry import platform_queue
from scraping.platforms.youtube import YouTubeScraper


def search(*keywords, max_results=20):
    return YouTubeScraper().search(Query(keywords=keywords, max_results=max_results))


def api_requests(simulator) -> int:
    stats = httpx.get(f"{simulator}/_stats").json()["responses"]
    return sum(count for key, count in stats.items() if key.startswith("/youtube/v3/search "))


def test_the_api_is_paged_with_next_page_tokens_up_to_max_results(simulator):
    before = api_requests(simulator)
    items = search("durian __many__", max_results=120)  # pages of 50, 50 and 20
    assert len(items) == len({item.external_id for item in items}) == 120
    assert api_requests(simulator) - before == 3
    first = items[0]
    assert first.url == f"https://www.youtube.com/watch?v={first.external_id}"
    assert first.title and first.author and first.published_at


def test_it_stops_when_the_api_has_no_more_pages(simulator):
    assert len(search("durian __few__", max_results=50)) == 3


def test_an_exhausted_quota_is_permanent(simulator):
    with pytest.raises(PermanentScraperError, match="quotaExceeded"):
        search("durian __quota__")


def test_an_invalid_key_is_permanent_and_names_the_setting(simulator, settings):
    settings.PULSE_YOUTUBE_API_KEY = "not-a-key"
    with pytest.raises(PermanentScraperError, match="PULSE_YOUTUBE_API_KEY"):
        search("durian")


def test_429_and_server_errors_are_transient(simulator, unique_keyword):
    with pytest.raises(TransientScraperError) as caught:
        search("durian __429__")
    assert caught.value.retry_after == 2
    with pytest.raises(TransientScraperError, match="500"):
        search(f"{unique_keyword} __flaky__")


def test_malformed_json_is_transient(simulator):
    with pytest.raises(TransientScraperError, match="malformed JSON"):
        search("durian __malformed__")


def test_the_key_is_sent_in_a_header_not_in_the_logged_url(simulator, caplog):
    search("durian", max_results=1)
    assert "simulator-key" not in caplog.text


def test_without_a_key_it_scrolls_the_results_page_in_the_browser(browser_settings):
    browser_settings.PULSE_YOUTUBE_API_KEY = ""
    api_ids = [item.external_id for item in search("durian", max_results=45)]
    browser_settings.PULSE_SIMULATOR_URL, simulator = "", browser_settings.PULSE_SIMULATOR_URL
    browser_settings.PULSE_YOUTUBE_RESULTS_URL = f"{simulator}/youtube/results"
    browser_settings.PULSE_SSRF_ALLOW = [simulator.removeprefix("http://")]
    assert platform_queue("youtube") == "browser"
    page_items = search("durian", max_results=45)  # 20 videos per scroll
    assert [item.external_id for item in page_items] == api_ids
    assert all(item.views for item in page_items)
