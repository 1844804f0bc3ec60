import pytest

from scraping.platforms.base import PermanentScraperError, Query
from scraping.platforms.config import SIMULATOR_WEB_PAGES
from scraping.platforms.web import WebScraper, selector_for


def search(*keywords, max_results=20):
    return WebScraper().search(Query(keywords=keywords, max_results=max_results))


def test_it_matches_keywords_in_the_rendered_text_of_each_configured_page(browser_settings):
    items = search("harbour", "semiconductor")
    assert {item.title: item.matched_keyword for item in items} == {
        "Harbour plan approved": "harbour",
        "Chip makers expand": "semiconductor",
    }


def test_text_added_by_javascript_is_seen(browser_settings):
    # Every simulated page adds this sentence from JavaScript after load.
    items = search("late into the night")
    assert len(items) == len(SIMULATOR_WEB_PAGES)


def test_a_css_selector_keeps_navigation_words_out_of_the_match(browser_settings):
    # "durian" appears only in each page's navigation; city-times pages have a selector, tech-weekly not.
    items = search("durian")
    assert [item.raw["configured_url"].split("/web/")[1] for item in items] == ["tech-weekly/chips"]
    assert all("Subscribe" not in item.text for item in search("harbour"))


def test_selectors_match_by_longest_url_prefix_or_by_host():
    selectors = {"https://a.example/news/": "article", "https://a.example/": "main", "b.example": ".body"}
    assert selector_for("https://a.example/news/1", selectors) == "article"
    assert selector_for("https://a.example/about", selectors) == "main"
    assert selector_for("https://b.example/x", selectors) == ".body"
    assert selector_for("https://c.example/x", selectors) is None


def test_a_failing_page_is_a_warning_while_the_others_still_count(browser_settings):
    base = browser_settings.PULSE_SIMULATOR_URL
    browser_settings.PULSE_WEB_URLS = [f"{base}/web/city-times/harbour-plan", f"{base}/web/nowhere/gone"]
    items = search("harbour")
    assert len(items) == 1
    assert len(items.warnings) == 1 and "404" in items.warnings[0]


def test_no_configured_pages_is_a_permanent_error_naming_the_setting(settings):
    settings.PULSE_SIMULATOR_URL = ""
    settings.PULSE_WEB_URLS = []
    with pytest.raises(PermanentScraperError, match="PULSE_WEB_URLS"):
        search("x")


@pytest.mark.parametrize("target", ["http://169.254.169.254/latest/meta-data/", "http://127.0.0.2:8000/admin/"])
@pytest.mark.parametrize("hops", [1, 3])
def test_a_redirect_from_an_allowed_page_to_an_internal_address_is_refused(browser_settings, target, hops):
    from urllib.parse import quote

    base = browser_settings.PULSE_SIMULATOR_URL
    url = target
    for _ in range(hops):  # a chain through the allowed simulator, ending inside the network
        url = f"{base}/redirect?to={quote(url, safe='')}"
    browser_settings.PULSE_WEB_URLS = [url]
    with pytest.raises(PermanentScraperError, match="Refusing"):
        search("anything")


def test_a_configured_internal_url_is_refused_before_the_browser_starts(browser_settings):
    browser_settings.PULSE_WEB_URLS = ["http://10.1.2.3/intranet"]
    with pytest.raises(PermanentScraperError, match="private address"):
        search("anything")


@pytest.fixture
def internal_service():
    """A service on loopback that the SSRF guard must keep pages away from; counts its hits."""
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    hits = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            hits.append(self.path)
            self.send_response(200)
            self.send_header("Access-Control-Allow-Origin", "*")
            self.end_headers()
            self.wfile.write(b"secret")

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    server.hits = hits
    yield server
    server.shutdown()


def test_a_script_fetch_redirected_to_an_internal_address_never_reaches_it(browser_settings, internal_service):
    from scraping.browser import run_in_browser

    base = browser_settings.PULSE_SIMULATOR_URL
    secret = f"http://127.0.0.1:{internal_service.server_address[1]}/secret"

    def fetch_through_redirect(page):
        page.goto(f"{base}/bench/page/1")
        return page.evaluate(
            "async (url) => { try { return await (await fetch(url)).text(); } catch (e) { return 'refused'; } }",
            f"{base}/redirect?to={secret}",
        )

    assert run_in_browser(fetch_through_redirect) == "refused"
    assert internal_service.hits == []
    # Once allowed, the same script reaches it: the refusal above was the guard's doing.
    browser_settings.PULSE_SSRF_ALLOW = [f"127.0.0.1:{internal_service.server_address[1]}"]
    assert run_in_browser(fetch_through_redirect) == "secret"
    assert internal_service.hits == ["/secret"]


def test_a_redirected_page_is_reported_at_its_final_url(browser_settings):
    from urllib.parse import quote

    base = browser_settings.PULSE_SIMULATOR_URL
    final = f"{base}/web/city-times/harbour-plan"
    browser_settings.PULSE_WEB_URLS = [f"{base}/redirect?to={quote(f'{base}/redirect?to={final}', safe='')}"]
    [item] = search("harbour")
    assert item.url == final
    assert item.raw["configured_url"] == browser_settings.PULSE_WEB_URLS[0]
