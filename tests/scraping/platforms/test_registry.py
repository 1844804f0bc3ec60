import pytest
from django.core.exceptions import ImproperlyConfigured

from scraping.platforms import registry
from scraping.platforms.base import Scraper


BUILT_IN = ["news", "youtube", "facebook", "instagram", "web"]


def test_it_lists_the_five_platforms_first_in_order():
    # Test platforms (tests/support/scrapers.py) may be registered after them in this process.
    assert registry.platform_names()[:5] == BUILT_IN


def test_a_platform_registered_as_not_default_runs_only_when_named(settings):
    settings.PULSE_ENABLED_PLATFORMS = []
    registry.register("extra", "scraping.platforms.web.WebScraper", default=False)
    try:
        assert "extra" in registry.platform_names()
        assert "extra" not in registry.enabled_platform_names()
    finally:
        registry.unregister("extra")


def test_every_registered_platform_imports_to_a_scraper_with_its_own_name():
    for name in registry.platform_names():
        scraper = registry.get_scraper(name)
        assert isinstance(scraper, Scraper)
        assert scraper.name == name


def test_an_unknown_platform_raises_key_error_listing_the_known_ones():
    with pytest.raises(KeyError) as caught:
        registry.get_scraper("myspace")
    assert "myspace" in str(caught.value)
    for name in registry.platform_names():
        assert name in str(caught.value)


def test_registering_a_name_twice_is_refused_with_both_paths_in_the_message():
    with pytest.raises(ImproperlyConfigured) as caught:
        registry.register("news", "somewhere.else.NewsScraper")
    assert "scraping.platforms.news.NewsScraper" in str(caught.value)
    assert "somewhere.else.NewsScraper" in str(caught.value)
    assert registry.platform_names().count("news") == 1


def test_a_badly_formed_platform_name_is_refused():
    for bad in ("Bad Name", "", "9lives", "x" * 33, "under_score"):
        with pytest.raises(ImproperlyConfigured, match="lower-case name"):
            registry.register(bad, "x.Y")
    registry.register("name-with-2-hyphens", "x.Y")
    registry.unregister("name-with-2-hyphens")


def test_a_registered_path_that_is_not_a_scraper_fails_loudly_on_first_use():
    registry.register("broken", "scraping.platforms.config.web_urls")
    try:
        with pytest.raises(ImproperlyConfigured, match="not a Scraper subclass"):
            registry.get_scraper("broken")
    finally:
        registry.unregister("broken")


def test_enabled_platforms_default_to_all(settings):
    settings.PULSE_ENABLED_PLATFORMS = []
    assert registry.enabled_platform_names() == BUILT_IN


def test_enabled_platforms_follow_the_setting_in_registry_order(settings):
    settings.PULSE_ENABLED_PLATFORMS = ["web", "news"]
    assert registry.enabled_platform_names() == ["news", "web"]


def test_an_unknown_enabled_platform_is_a_configuration_error(settings):
    from scraping.checks import check_enabled_platforms

    settings.PULSE_ENABLED_PLATFORMS = ["news", "friendster"]
    with pytest.raises(ImproperlyConfigured, match="friendster"):
        registry.enabled_platform_names()
    errors = check_enabled_platforms()
    assert [error.id for error in errors] == ["pulse.E100"]
    assert "friendster" in errors[0].msg


def test_platform_queues_put_http_work_and_browser_work_apart(settings):
    settings.PULSE_YOUTUBE_API_KEY = "some-key"
    assert registry.platform_queue("news") == "http"
    assert registry.platform_queue("youtube") == "http"
    assert registry.platform_queue("facebook") == "browser"
    assert registry.platform_queue("instagram") == "browser"
    assert registry.platform_queue("web") == "browser"


def test_youtube_needs_the_browser_queue_when_no_api_key_is_set(settings):
    settings.PULSE_YOUTUBE_API_KEY = ""
    settings.PULSE_SIMULATOR_URL = ""
    assert registry.platform_queue("youtube") == "browser"
