"""The scraping admin through Django's test client: lists, filters, escaping, actions, exports."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime

import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse

from scraping import services
from scraping.models import Mention, MentionMatch, PlatformRun

pytestmark = pytest.mark.django_db
SCRIPT = "<script>alert('x')</script>"


@pytest.fixture
def analyst(client):
    user = get_user_model().objects.create_superuser("analyst", "analyst@example.com", "password")
    client.force_login(user)
    return client


@pytest.fixture
def finished_search(keyword):
    search, _ = services.search_create(
        keywords=[keyword, SCRIPT], platforms=["test-ok", "test-permanent"], trigger="admin"
    )
    for run in search.platform_runs.all():
        services.platform_run_execute(run_id=run.pk)
    services.search_finalize(search_id=search.pk)
    search.refresh_from_db()
    return search


def mention(external_id: str, **fields) -> Mention:
    fields.setdefault("url", f"https://example.com/{external_id}")
    return Mention.objects.create(
        platform=fields.pop("platform", "test-ok"), external_id=external_id, **fields
    )


def test_the_search_list_shows_status_progress_counts_and_escapes_keywords(analyst, finished_search):
    response = analyst.get(reverse("admin:scraping_search_changelist"))
    page = response.content.decode()
    assert response.status_code == 200
    assert "2/2" in page and "Partial (some platforms failed)" in page
    assert SCRIPT not in page and "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;" in page


@pytest.mark.parametrize(
    ("query", "shown"),
    [
        ("status__exact=partial", True),
        ("status__exact=succeeded", False),
        ("trigger__exact=admin", True),
        ("trigger__exact=api", False),
        ("platform=test-permanent", True),
        ("platform=test-flaky", False),
    ],
)
def test_the_search_list_filters_by_status_trigger_and_platform(analyst, finished_search, query, shown):
    page = analyst.get(reverse("admin:scraping_search_changelist") + "?" + query).content.decode()
    assert (str(finished_search.pk)[:8] in page) is shown


def test_a_search_page_shows_its_platform_runs_read_only(analyst, finished_search):
    page = analyst.get(reverse("admin:scraping_search_change", args=[finished_search.pk])).content.decode()
    assert "login wall: this page needs a logged-in session" in page
    assert 'name="platform_runs-0-status"' not in page  # no editable inline fields
    assert SCRIPT not in page


def test_the_cancel_action_cancels_running_searches_and_leaves_finished_ones(
    analyst, finished_search, keyword
):
    running, _ = services.search_create(keywords=[keyword], platforms=["test-ok"], trigger="api")
    response = analyst.post(
        reverse("admin:scraping_search_changelist"),
        {"action": "cancel_searches", "_selected_action": [running.pk, finished_search.pk]},
        follow=True,
    )
    assert "Cancelled 1 search(es). 1 had already finished." in response.content.decode()
    running.refresh_from_db()
    assert running.status == "cancelled"
    assert PlatformRun.objects.get(search=running).status == "cancelled"


def test_the_platform_run_list_and_page_load(analyst, finished_search):
    assert (
        analyst.get(reverse("admin:scraping_platformrun_changelist") + "?status__exact=failed").status_code
        == 200
    )
    run = PlatformRun.objects.get(search=finished_search, platform="test-permanent")
    assert analyst.get(reverse("admin:scraping_platformrun_change", args=[run.pk])).status_code == 200


def test_the_mention_list_links_out_escapes_text_and_never_links_a_script_url(analyst):
    mention("safe", title=SCRIPT, author=SCRIPT)
    mention("evil", title="click me", url="javascript:alert(1)")
    page = analyst.get(reverse("admin:scraping_mention_changelist")).content.decode()
    assert SCRIPT not in page
    assert (
        '<a href="https://example.com/safe" target="_blank" rel="noopener noreferrer">'
        "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;</a>"
    ) in page
    assert "javascript:alert" not in page


def test_the_mention_list_filters_by_platform_and_searches_title_text_and_author(analyst):
    mention("one", title="Acme launches rocket", platform="test-ok")
    mention("two", text="nothing about it", author="Acme Watcher", platform="test-flaky")
    mention("three", title="Unrelated", platform="test-flaky")
    url = reverse("admin:scraping_mention_changelist")

    def shown(query):
        page = analyst.get(f"{url}?{query}").content.decode()
        return {title for title in ("Acme launches rocket", "nothing about it", "Unrelated") if title in page}

    assert shown("platform=test-flaky") == {"nothing about it", "Unrelated"}
    assert shown("q=acme") == {"Acme launches rocket", "nothing about it"}
    assert shown("platform=test-ok&q=acme") == {"Acme launches rocket"}


def test_selected_mentions_export_as_csv_with_formulas_neutralised(analyst):
    first = mention(
        "a",
        title='=HYPERLINK("http://evil")',
        author="Ann",
        likes=5,
        published_at=datetime(2026, 11, 1, 12, tzinfo=UTC),
    )
    mention("b", title="not selected")
    response = analyst.post(
        reverse("admin:scraping_mention_changelist"), {"action": "export_csv", "_selected_action": [first.pk]}
    )
    assert response.status_code == 200
    assert response["Content-Disposition"].startswith('attachment; filename="mentions-')
    text = b"".join(response.streaming_content).decode("utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(text)))
    assert len(rows) == 1
    assert rows[0]["external_id"] == "a" and rows[0]["likes"] == "5" and rows[0]["author"] == "Ann"
    assert rows[0]["title"] == '\'=HYPERLINK("http://evil")'
    assert rows[0]["published_at"] == "2026-11-01T12:00:00+00:00"


def test_selected_mentions_export_as_json(analyst):
    first, second = mention("a", title=SCRIPT), mention("b", views=10)
    response = analyst.post(
        reverse("admin:scraping_mention_changelist"),
        {"action": "export_json", "_selected_action": [first.pk, second.pk]},
    )
    rows = json.loads(response.content)
    assert [row["external_id"] for row in rows] == ["a", "b"]
    assert rows[0]["title"] == SCRIPT  # data, not HTML: kept exactly
    assert rows[1]["views"] == 10 and rows[1]["url"] == "https://example.com/b"


def test_a_mention_page_shows_which_searches_saw_it(analyst, finished_search, keyword):
    found = Mention.objects.get(platform="test-ok", external_id=f"{keyword}-0")
    page = analyst.get(reverse("admin:scraping_mention_change", args=[found.pk])).content.decode()
    assert MentionMatch.objects.filter(mention=found).count() == 1
    assert keyword in page


def test_pipeline_rows_cannot_be_added_or_edited_in_the_admin(analyst):
    assert analyst.get(reverse("admin:scraping_mention_add")).status_code == 403
    assert analyst.get(reverse("admin:scraping_search_add")).status_code == 403
