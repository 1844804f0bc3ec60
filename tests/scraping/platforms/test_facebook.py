import json

import pytest

from scraping.platforms.base import PermanentScraperError, Query, TransientScraperError
from scraping.platforms.facebook import FacebookScraper


def search(*keywords, max_results=20):
    return FacebookScraper().search(Query(keywords=keywords, max_results=max_results))


def test_it_scrolls_until_max_results_with_posts_rendered_by_javascript(browser_settings):
    items = search("durian", max_results=30)  # the page renders 8 posts per scroll
    assert len(items) == 30
    assert len({item.external_id for item in items}) == 30
    first = items[0]
    assert first.platform == "facebook" and "durian" in first.text.lower()
    assert first.url.startswith(browser_settings.PULSE_SIMULATOR_URL + "/facebook/posts/")
    assert first.author and first.published_at and first.likes is not None and first.shares is not None


def test_it_stops_at_the_end_of_results(browser_settings):
    assert len(search("durian __few__", max_results=50)) == 3


def test_the_same_keyword_gives_the_same_posts(browser_settings):
    assert [i.external_id for i in search("rambutan")] == [i.external_id for i in search("rambutan")]


def test_a_login_wall_is_permanent_and_says_which_setting_supplies_a_session(browser_settings):
    with pytest.raises(PermanentScraperError) as caught:
        search("durian __loginwall__")
    assert "login wall" in caught.value.message
    assert "PULSE_FACEBOOK_STORAGE_STATE" in caught.value.message


def test_a_saved_session_gets_past_the_login_wall(browser_settings, tmp_path):
    state = tmp_path / "facebook-state.json"
    state.write_text(json.dumps({"cookies": [{
        "name": "pulse_sim_session", "value": "valid", "domain": "127.0.0.1", "path": "/",
        "expires": -1, "httpOnly": True, "secure": False, "sameSite": "Lax",
    }], "origins": []}))
    browser_settings.PULSE_FACEBOOK_STORAGE_STATE = str(state)
    assert len(search("durian __loginwall__", max_results=5)) == 5


def test_a_missing_session_file_is_a_clear_permanent_error(browser_settings, tmp_path):
    browser_settings.PULSE_FACEBOOK_STORAGE_STATE = str(tmp_path / "nope.json")
    with pytest.raises(PermanentScraperError, match="PULSE_FACEBOOK_STORAGE_STATE=.*does not exist"):
        search("durian")


def test_429_is_transient_with_retry_after(browser_settings):
    with pytest.raises(TransientScraperError) as caught:
        search("durian __429__")
    assert caught.value.retry_after == 2


def test_a_flaky_page_fails_transiently_then_works(browser_settings, unique_keyword):
    for _ in range(2):
        with pytest.raises(TransientScraperError, match="500"):
            search(f"{unique_keyword} __flaky__")
    assert search(f"{unique_keyword} __flaky__", max_results=3)


def test_a_page_slower_than_the_navigation_timeout_is_transient(browser_settings):
    browser_settings.PULSE_BROWSER_NAVIGATION_TIMEOUT = 1
    with pytest.raises(TransientScraperError, match="did not load in time"):
        search("durian __slow__")
