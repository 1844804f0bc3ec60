"""/api/v1/mentions: filtered, paginated lists and streamed CSV / JSON exports."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime, timedelta

import pytest

from scraping.api import formula_safe
from scraping.models import Mention, MentionMatch, Search
from tests.support.api import bearer, key_for, superuser_key, user_with

pytestmark = pytest.mark.django_db

DAY = datetime(2026, 11, 20, tzinfo=UTC)


@pytest.fixture
def headers():
    return bearer(superuser_key())


@pytest.fixture
def mentions():
    """Seven mentions on two platforms over seven days; the news ones were seen by one search."""
    search = Search.objects.create(keywords=["SSM"], platforms=["news"], trigger="cli")
    rows = []
    for number in range(7):
        platform = "news" if number % 2 == 0 else "web"
        mention = Mention.objects.create(
            platform=platform,
            external_id=f"item-{number}",
            url=f"https://example.com/{number}",
            title=f"Story {number} about SSM" if number != 3 else "Unrelated",
            text="=HYPERLINK(\"http://evil\")" if number == 6 else f"Body {number}",
            author="@someone" if number == 4 else "Reporter",
            published_at=DAY + timedelta(days=number),
            first_seen=DAY + timedelta(days=number, hours=1),
            likes=number,
        )
        if platform == "news":
            MentionMatch.objects.create(mention=mention, search=search, keyword="SSM")
        rows.append(mention)
    return {"search": search, "rows": rows}


def get(client, path, headers):
    response = client.get(path, headers=headers)
    assert response.status_code == 200, response.content
    return response


def test_the_list_pages_newest_first_with_a_total(client, headers, mentions):
    page = get(client, "/api/v1/mentions?limit=3&offset=2", headers).json()
    assert (page["total"], page["limit"], page["offset"]) == (7, 3, 2)
    assert [item["external_id"] for item in page["items"]] == ["item-4", "item-3", "item-2"]
    beyond = get(client, "/api/v1/mentions?limit=3&offset=7", headers).json()
    assert (beyond["total"], beyond["items"]) == (7, [])


def test_pages_neither_repeat_nor_skip_mentions(client, headers, mentions):
    seen = []
    for offset in range(0, 7, 2):
        page = get(client, f"/api/v1/mentions?limit=2&offset={offset}", headers).json()
        seen += [item["id"] for item in page["items"]]
    assert sorted(seen) == sorted(mention.pk for mention in mentions["rows"])


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("platform=web", ["item-5", "item-3", "item-1"]),
        ("since=2026-11-24T00:00:00Z", ["item-6", "item-5", "item-4"]),
        ("until=2026-11-22T00:00:00Z", ["item-1", "item-0"]),
        ("since=2026-11-21T00:00:00Z&until=2026-11-23T00:00:00Z&platform=news", ["item-2"]),
        ("q=unrelated", ["item-3"]),
    ],
)
def test_the_list_filters(client, headers, mentions, query, expected):
    page = get(client, f"/api/v1/mentions?{query}", headers).json()
    assert [item["external_id"] for item in page["items"]] == expected
    assert page["total"] == len(expected)


def test_the_list_filters_by_search(client, headers, mentions):
    page = get(client, f"/api/v1/mentions?search={mentions['search'].pk}", headers).json()
    assert [item["external_id"] for item in page["items"]] == ["item-6", "item-4", "item-2", "item-0"]


def test_the_csv_export_streams_a_header_and_every_filtered_mention(client, headers, mentions):
    response = get(client, "/api/v1/mentions/export?format=csv&platform=news", headers)
    assert response.streaming
    assert response["Content-Type"].startswith("text/csv")
    assert 'attachment; filename="mentions-' in response["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert [row["external_id"] for row in rows] == ["item-6", "item-4", "item-2", "item-0"]
    assert rows[0]["published_at"] == "2026-11-26T00:00:00+00:00"
    assert rows[1]["likes"] == "4"


def test_csv_cells_that_a_spreadsheet_would_run_as_formulas_are_defused(client, headers, mentions):
    response = get(client, "/api/v1/mentions/export?format=csv", headers)
    text = b"".join(response.streaming_content).decode()
    rows = {row["external_id"]: row for row in csv.DictReader(io.StringIO(text))}
    assert rows["item-6"]["text"] == "'=HYPERLINK(\"http://evil\")"
    assert rows["item-4"]["author"] == "'@someone"
    assert rows["item-5"]["author"] == "Reporter"


@pytest.mark.parametrize(
    ("value", "expected"),
    [("=1+1", "'=1+1"), ("+1", "'+1"), ("-1", "'-1"), ("@SUM(A1)", "'@SUM(A1)"), ("\t=1", "'\t=1"),
     ("plain", "plain"), ("", ""), (5, 5), (None, None)],
)
def test_formula_safe_prefixes_only_dangerous_text(value, expected):
    assert formula_safe(value) == expected


def test_the_json_export_is_an_array_of_every_filtered_mention(client, headers, mentions):
    response = get(client, f"/api/v1/mentions/export?format=json&search={mentions['search'].pk}", headers)
    assert response.streaming
    assert response["Content-Type"] == "application/json"
    items = json.loads(b"".join(response.streaming_content))
    assert [item["external_id"] for item in items] == ["item-6", "item-4", "item-2", "item-0"]
    assert items[0]["text"] == "=HYPERLINK(\"http://evil\")"  # JSON is data, not a spreadsheet: unchanged


def test_an_export_with_nothing_to_export_is_a_header_or_an_empty_array(client, headers):
    csv_text = b"".join(get(client, "/api/v1/mentions/export?format=csv", headers).streaming_content).decode()
    assert csv_text.strip().split(",")[:3] == ["id", "platform", "external_id"]
    json_response = get(client, "/api/v1/mentions/export?format=json", headers)
    assert json.loads(b"".join(json_response.streaming_content)) == []


def test_an_unknown_export_format_gets_422(client, headers):
    response = client.get("/api/v1/mentions/export?format=xlsx", headers=headers)
    assert response.status_code == 422
    assert "format" in response.json()["errors"]


def test_reading_mentions_needs_the_view_mention_permission(client, mentions):
    allowed = bearer(key_for(user_with("scraping.view_mention")))
    refused = bearer(key_for(user_with("scraping.view_search")))
    assert client.get("/api/v1/mentions", headers=allowed).status_code == 200
    assert client.get("/api/v1/mentions", headers=refused).status_code == 403
    assert client.get("/api/v1/mentions/export", headers=refused).status_code == 403
