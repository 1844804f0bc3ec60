from datetime import UTC, datetime, timedelta

import pytest

from scraping.platforms.base import PermanentScraperError, Query, TransientScraperError
from scraping.platforms.news import NewsScraper


@pytest.fixture
def news(simulator, redis_client):
    for key in redis_client.scan_iter("pulse:news:feed:*"):
        redis_client.delete(key)
    return NewsScraper()


def test_it_finds_items_for_each_keyword_from_search_and_outlet_feeds(news):
    items = news.search(Query(keywords=("durian", "Climate"), max_results=500))
    keywords = {item.matched_keyword for item in items}
    assert keywords == {"durian", "Climate"}
    feeds = {item.raw["feed"].rsplit("/", 1)[-1].split("?")[0] for item in items}
    assert {"search", "daily-planet.xml", "the-herald.xml"} <= feeds
    for item in items:
        assert item.matched_keyword.lower() in (item.title + " " + item.text).lower()
        assert item.platform == "news" and item.url.startswith("http")


def test_matching_is_case_insensitive_on_title_and_summary(news, settings):
    settings.PULSE_GOOGLE_NEWS_URL = "off"  # outlet feeds only: they are not searched by keyword
    lower = news.search(Query(keywords=("harbour",), max_results=500))
    upper = NewsScraper().search(Query(keywords=("HARBOUR",), max_results=500))
    assert [item.external_id for item in lower] == [item.external_id for item in upper]


def test_results_are_deterministic_and_capped_at_max_results(news):
    first = news.search(Query(keywords=("durian",), max_results=7))
    second = NewsScraper().search(Query(keywords=("durian",), max_results=7))
    assert len(first) == 7
    assert [item.external_id for item in first] == [item.external_id for item in second]


def test_a_second_fetch_uses_conditional_get_and_the_cached_body(news):
    first = news.search(Query(keywords=("durian",), max_results=500))
    assert set(news.responses.values()) == {200}
    again = NewsScraper()
    second = again.search(Query(keywords=("durian",), max_results=500))
    assert set(again.responses.values()) == {304}
    assert [item.external_id for item in first] == [item.external_id for item in second]


def test_a_malformed_feed_is_a_warning_while_the_other_feeds_still_count(news, settings, simulator):
    settings.PULSE_NEWS_FEED_URLS = [f"{simulator}/news/feeds/broken.xml", f"{simulator}/news/feeds/daily-planet.xml"]
    items = news.search(Query(keywords=("climate", "harbour"), max_results=500))
    assert items
    assert len(items.warnings) == 1 and "broken.xml is" in items.warnings[0] and "malformed" in items.warnings[0]
    assert {item.raw["feed"] for item in items} >= {f"{simulator}/news/feeds/daily-planet.xml"}


def test_when_every_feed_is_malformed_the_platform_fails_permanently(news, settings, simulator):
    settings.PULSE_NEWS_FEED_URLS = [f"{simulator}/news/feeds/daily-planet.xml?mode=malformed"]
    with pytest.raises(PermanentScraperError, match="Every news feed failed.*malformed"):
        news.search(Query(keywords=("x __malformed__",)))


def test_429_everywhere_is_transient_with_the_retry_after_hint(news, settings):
    settings.PULSE_NEWS_FEED_URLS = ["off"]
    with pytest.raises(TransientScraperError) as caught:
        news.search(Query(keywords=("x __429__",)))
    assert caught.value.retry_after == 2


def test_a_flaky_feed_fails_transiently_then_succeeds(news, settings, unique_keyword):
    settings.PULSE_NEWS_FEED_URLS = ["off"]
    query = Query(keywords=(f"{unique_keyword} __flaky__",))
    for _ in range(2):
        with pytest.raises(TransientScraperError, match="500"):
            NewsScraper().search(query)
    assert NewsScraper().search(query)


def test_an_unreachable_feed_is_transient(news, settings):
    settings.PULSE_GOOGLE_NEWS_URL = "http://127.0.0.1:9/rss"
    settings.PULSE_SSRF_ALLOW = ["127.0.0.1:9"]
    settings.PULSE_NEWS_FEED_URLS = ["off"]
    with pytest.raises(TransientScraperError, match="could not be reached"):
        news.search(Query(keywords=("x",)))


def test_the_content_window_drops_older_items(news):
    now = datetime.now(UTC)
    everything = news.search(Query(keywords=("durian",), max_results=500))
    recent = NewsScraper().search(Query(keywords=("durian",), max_results=500, since=now - timedelta(hours=3)))
    assert 0 < len(recent) < len(everything)
    assert all(item.published_at >= now - timedelta(hours=3) for item in recent)


def test_a_feed_on_an_internal_address_is_refused(news, settings):
    settings.PULSE_NEWS_FEED_URLS = ["http://169.254.169.254/latest/meta-data/"]
    settings.PULSE_GOOGLE_NEWS_URL = "http://10.0.0.5/rss"
    with pytest.raises(PermanentScraperError, match="metadata"):
        news.search(Query(keywords=("x",)))


def test_without_redis_the_feeds_are_fetched_in_full(news, settings):
    settings.REDIS_URL = "redis://127.0.0.1:1/0"  # nothing listens there
    scraper = NewsScraper()
    assert scraper.search(Query(keywords=("durian",), max_results=5))
    assert set(scraper.responses.values()) == {200}
