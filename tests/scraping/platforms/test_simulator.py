import json
import xml.etree.ElementTree as ElementTree

import feedparser
import httpx
import pytest


@pytest.fixture
def client(simulator):
    with httpx.Client(base_url=simulator, timeout=10) as http:
        yield http


def test_the_same_keyword_gives_the_same_items_every_time(client):
    first = client.get("/youtube/v3/search", params={"q": "durian", "key": "simulator-key", "maxResults": 50}).json()
    second = client.get("/youtube/v3/search", params={"q": "durian", "key": "simulator-key", "maxResults": 50}).json()
    assert first["items"] == second["items"]
    other = client.get("/youtube/v3/search", params={"q": "rambutan", "key": "simulator-key", "maxResults": 50}).json()
    assert {i["id"]["videoId"] for i in other["items"]}.isdisjoint({i["id"]["videoId"] for i in first["items"]})


def test_the_news_search_feed_is_rss_about_the_keyword(client):
    response = client.get("/news/rss/search", params={"q": "durian"})
    ElementTree.fromstring(response.content)  # well-formed XML
    feed = feedparser.parse(response.content)
    assert not feed.bozo
    assert feed.entries and all("durian" in entry.title.lower() for entry in feed.entries)


def test_an_unchanged_feed_answers_304_to_its_etag(client):
    first = client.get("/news/feeds/daily-planet.xml")
    again = client.get("/news/feeds/daily-planet.xml", headers={"If-None-Match": first.headers["ETag"]})
    assert (first.status_code, again.status_code) == (200, 304)
    since = client.get("/news/feeds/daily-planet.xml", headers={"If-Modified-Since": first.headers["Last-Modified"]})
    assert since.status_code == 304


def test_the_atom_outlet_feed_parses_as_atom(client):
    feed = feedparser.parse(client.get("/news/feeds/the-herald.xml").content)
    assert feed.version == "atom10" and len(feed.entries) == 25


def test_a_malformed_feed_is_not_parseable(client):
    feed = feedparser.parse(client.get("/news/rss/search", params={"q": "x __malformed__"}).content)
    assert feed.bozo and not feed.entries


def test_youtube_api_paginates_with_next_page_tokens_until_the_end(client):
    seen, token = [], None
    while True:
        params = {"q": "durian", "key": "simulator-key", "maxResults": 25, **({"pageToken": token} if token else {})}
        body = client.get("/youtube/v3/search", params=params).json()
        seen += [item["id"]["videoId"] for item in body["items"]]
        token = body.get("nextPageToken")
        if not token:
            break
    assert len(seen) == len(set(seen)) == body["pageInfo"]["totalResults"]


def test_youtube_api_refuses_a_missing_or_wrong_key_and_reports_quota(client):
    missing = client.get("/youtube/v3/search", params={"q": "x"})
    wrong = client.get("/youtube/v3/search", params={"q": "x", "key": "nope"})
    quota = client.get("/youtube/v3/search", params={"q": "x __quota__", "key": "simulator-key"})
    assert missing.status_code == 403
    assert (wrong.status_code, wrong.json()["error"]["errors"][0]["reason"]) == (400, "keyInvalid")
    assert (quota.status_code, quota.json()["error"]["errors"][0]["reason"]) == (403, "quotaExceeded")


def test_429_mode_sends_retry_after(client):
    response = client.get("/facebook/search/posts/", params={"q": "x", "mode": "429", "retry_after": "7"})
    assert response.status_code == 429 and response.headers["Retry-After"] == "7"


def test_flaky_mode_fails_the_first_requests_per_key_then_succeeds(client, unique_keyword):
    params = {"q": f"{unique_keyword} __flaky__", "fail": "2"}
    statuses = [client.get("/news/rss/search", params=params).status_code for _ in range(3)]
    assert statuses == [500, 500, 200]
    other = client.get("/news/rss/search", params={"q": f"{unique_keyword}-other __flaky__", "fail": "1"})
    assert other.status_code == 500  # counted per key, not globally


def test_slow_mode_delays_the_answer(client):
    with pytest.raises(httpx.ReadTimeout):
        client.get("/web/city-times/harbour-plan", params={"mode": "slow", "delay": "2"}, timeout=0.5)


def test_instagram_login_wall_redirects_to_login_unless_a_session_cookie_is_sent(client):
    wall = client.get("/instagram/explore/tags/x__loginwall__/")
    assert wall.status_code == 302 and "/instagram/accounts/login/" in wall.headers["Location"]
    client.cookies.set("pulse_sim_session", "valid")
    with_session = client.get("/instagram/explore/tags/x__loginwall__/")
    assert with_session.status_code == 200


def test_social_feeds_page_through_to_the_end(client):
    cursor, total = 0, 0
    while cursor is not None:
        body = client.get("/facebook/api/feed", params={"q": "durian", "cursor": cursor}).json()
        total += len(body["items"])
        cursor = body["next_cursor"]
    assert 40 <= total <= 80


def test_the_index_lists_routes_and_unknown_paths_are_404(client):
    assert "youtube api" in json.loads(client.get("/").content)
    assert client.get("/nope").status_code == 404


def test_the_command_refuses_a_port_in_use_with_a_clear_message(simulator):
    import subprocess
    import sys
    from urllib.parse import urlsplit

    port = urlsplit(simulator).port
    result = subprocess.run(
        [sys.executable, "manage.py", "simulate_platforms", "--port", str(port)],
        capture_output=True, text=True, timeout=60,
    )
    assert result.returncode != 0
    assert "Pick another --port" in result.stderr
