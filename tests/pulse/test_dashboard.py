"""The admin dashboard: mentions per day per platform (server-side SVG) and the latest failures."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.utils import timezone

from pulse.dashboard import mentions_per_day
from scraping.models import Search
from tests.support.factories import make_mention, make_search

pytestmark = pytest.mark.django_db


def test_mentions_are_counted_per_day_per_platform_for_thirty_days():
    now = timezone.localtime()
    for _ in range(3):
        make_mention(platform="news", first_seen=now)
    make_mention(platform="news", first_seen=now - timedelta(days=2))
    make_mention(platform="youtube", first_seen=now - timedelta(days=29))
    make_mention(platform="youtube", first_seen=now - timedelta(days=31))  # outside the window

    series = mentions_per_day(days=30)

    assert len(series.days) == 30 and series.days[-1] == timezone.localdate()
    assert series.counts["news"][-1] == 3 and series.counts["news"][-3] == 1
    assert series.counts["youtube"][0] == 1
    assert series.total == 5


def test_the_dashboard_needs_an_admin_login(client):
    response = client.get("/admin/pulse/dashboard/")
    assert response.status_code == 302 and "/admin/login/" in response["Location"]


def test_the_admin_index_links_to_the_dashboard(admin_client):
    assert 'href="/admin/pulse/dashboard/"' in admin_client.get("/admin/").content.decode()


def test_the_dashboard_draws_one_line_per_platform_with_its_counts(admin_client):
    today = timezone.localdate()
    make_mention(platform="news")
    make_mention(platform="news")
    make_mention(platform="web")
    page = admin_client.get("/admin/pulse/dashboard/").content.decode()

    assert re.findall(r'<g class="series" data-platform="([^"]+)">', page) == ["news", "web"]
    assert f"<title>news, {today:%Y-%m-%d}: 2</title>" in page
    assert f"<title>web, {today:%Y-%m-%d}: 1</title>" in page
    assert "news (2)" in page and "web (1)" in page


def test_the_dashboard_loads_nothing_from_outside(admin_client):
    make_mention(platform="news")
    page = admin_client.get("/admin/pulse/dashboard/").content.decode()
    external = [url for url in re.findall(r'(?:src|href)="([^"]+)"', page) if url.startswith(("http", "//"))]
    assert external == []
    assert "<script" not in page.split('<div id="content-main">', 1)[1]


def test_the_dashboard_lists_the_latest_failures_with_their_errors(admin_client):
    make_search(
        status=Search.Status.FAILED,
        platforms=("instagram",),
        keywords=("durian",),
        error="every platform failed",
        run_error="login wall at instagram.com/accounts/login",
    )
    make_search(status=Search.Status.SUCCEEDED, keywords=("fine",))
    page = admin_client.get("/admin/pulse/dashboard/").content.decode()

    runs = page.split('id="failed-platform-runs"', 1)[1].split("</table>", 1)[0]
    assert "instagram" in runs and "login wall at instagram.com/accounts/login" in runs
    searches = page.split('id="failed-searches"', 1)[1].split("</table>", 1)[0]
    assert "durian" in searches and "every platform failed" in searches
    assert "fine" not in searches
    failed = Search.objects.get(keywords=["durian"])
    assert f'href="/admin/scraping/search/{failed.pk}/change/"' in runs
    assert f'href="/admin/scraping/search/{failed.pk}/change/"' in searches


def test_an_empty_period_says_so(admin_client):
    page = admin_client.get("/admin/pulse/dashboard/").content.decode()
    assert "No mentions stored in this period." in page
    assert "No failed platform runs in the kept history." in page


def test_platform_names_are_escaped_in_the_chart(admin_client):
    make_mention(platform="<b>x</b>")
    page = admin_client.get("/admin/pulse/dashboard/").content.decode()
    assert "<b>x</b>" not in page and "&lt;b&gt;x&lt;/b&gt;" in page
