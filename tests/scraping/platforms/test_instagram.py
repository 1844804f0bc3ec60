import json

import pytest

from scraping.platforms.base import PermanentScraperError, Query, TransientScraperError
from scraping.platforms.instagram import InstagramScraper, hashtag


def search(*keywords, max_results=20):
    return InstagramScraper().search(Query(keywords=keywords, max_results=max_results))


def test_a_keyword_becomes_a_hashtag():
    assert hashtag("Kuala Lumpur!") == "kualalumpur"


def test_it_scrolls_the_hashtag_page_until_max_results(browser_settings):
    items = search("Durian", max_results=30)  # 12 posts per scroll
    assert len(items) == len({item.external_id for item in items}) == 30
    assert all("#durian" in item.text for item in items)
    assert items[0].url.startswith(browser_settings.PULSE_SIMULATOR_URL + "/instagram/p/")


def test_the_redirect_to_the_login_page_is_a_permanent_error_naming_the_setting(browser_settings):
    with pytest.raises(PermanentScraperError, match="PULSE_INSTAGRAM_STORAGE_STATE"):
        search("durian __loginwall__")


def test_an_expired_session_is_told_apart_from_no_session(browser_settings, tmp_path):
    state = tmp_path / "instagram-state.json"
    state.write_text(json.dumps({"cookies": [], "origins": []}))
    browser_settings.PULSE_INSTAGRAM_STORAGE_STATE = str(state)
    with pytest.raises(PermanentScraperError, match="probably expired"):
        search("durian __loginwall__")


def test_a_keyword_without_letters_is_refused_before_any_browsing(browser_settings):
    with pytest.raises(PermanentScraperError, match="no letters or digits"):
        search("!!!")


def test_too_many_requests_is_transient(browser_settings):
    with pytest.raises(TransientScraperError, match="429"):
        search("durian __429__")
