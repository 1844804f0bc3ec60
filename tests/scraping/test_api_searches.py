"""/api/v1/searches: start (idempotent), status with per-platform progress, list, cancel."""

from __future__ import annotations

import time
import uuid

import pytest

import tests.support.scrapers
from scraping.models import PlatformRun, Search
from scraping.services import search_create
from tests.support.api import bearer, superuser_api_caller, superuser_key


@pytest.fixture
def api(client):
    return superuser_api_caller(client)


@pytest.mark.django_db
def test_starting_a_search_creates_it_with_one_run_per_platform_and_enqueues_it_on_commit(
    api, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        status, body = api("post", "/searches", {"keywords": ["SSM"], "platforms": ["test-ok", "test-flaky"]})
    assert status == 201, body
    search = Search.objects.get(pk=body["search_id"])
    assert (search.trigger, search.status, search.keywords) == ("api", "queued", ["SSM"])
    assert set(PlatformRun.objects.filter(search=search).values_list("platform", flat=True)) == {
        "test-ok", "test-flaky",
    }
    assert len(callbacks) == 1  # the pulse.search message, sent only once the rows are committed
    assert set(body["platforms"]) == {"test-ok", "test-flaky"}
    assert body["platforms"]["test-ok"]["status"] == "pending"
    assert body["progress"] == {
        "platforms_done": 0, "platforms_total": 2, "mentions_found": 0, "mentions_new": 0,
    }  # fmt: skip
    assert body["url"].endswith(f"/api/v1/searches/{search.pk}")


@pytest.mark.django_db
def test_the_same_search_id_twice_returns_the_first_search_with_200(api):
    search_id = str(uuid.uuid4())
    request = {"keywords": ["SSM"], "platforms": ["test-ok"], "search_id": search_id}
    first_status, first = api("post", "/searches", request)
    second_status, second = api("post", "/searches", request)
    assert (first_status, second_status) == (201, 200)
    assert first["search_id"] == second["search_id"] == search_id
    assert Search.objects.filter(pk=search_id).count() == 1


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("request_body", "field"),
    [
        ({"keywords": ["SSM"], "platforms": ["test-ok"], "max_results": 10**9}, "max_results"),
        ({"keywords": ["SSM"], "platforms": ["myspace"]}, "platforms"),
        ({"keywords": []}, "keywords"),
        ({"keywords": ["  "]}, "keywords"),
        ({"keywords": [f"k{n}" for n in range(21)], "platforms": ["test-ok"]}, "keywords"),
        (
            {"keywords": ["SSM"], "since": "2026-11-02T00:00:00Z", "until": "2026-11-01T00:00:00Z"},
            "until",
        ),
        ({"keywords": ["SSM"], "search_id": "not-a-uuid"}, "search_id"),
        ({"platforms": ["test-ok"]}, "keywords"),
    ],
    ids=["huge max_results", "unknown platform", "no keywords", "blank keyword", "21 keywords",
         "until before since", "bad search_id", "keywords missing"],
)
def test_bad_search_input_gets_422_naming_the_field_and_creates_nothing(api, request_body, field):
    status, body = api("post", "/searches", request_body)
    assert status == 422, body
    assert field in body["errors"], body
    assert not Search.objects.exists()


@pytest.mark.django_db
def test_the_list_filters_by_status_and_pages_newest_first(api):
    searches = [search_create(keywords=[f"k{n}"], platforms=["test-ok"], trigger="cli")[0] for n in range(5)]
    Search.objects.filter(pk__in=[searches[1].pk, searches[3].pk]).update(status="succeeded")

    status, page = api("get", "/searches?status=succeeded")
    assert status == 200
    assert page["total"] == 2
    assert [item["search_id"] for item in page["items"]] == [str(searches[3].pk), str(searches[1].pk)]

    status, page = api("get", "/searches?limit=2&offset=2")
    assert (page["total"], page["limit"], page["offset"]) == (5, 2, 2)
    assert [item["keywords"] for item in page["items"]] == [["k2"], ["k1"]]


@pytest.mark.django_db
def test_an_unknown_search_gets_404(api):
    assert api("get", f"/searches/{uuid.uuid4()}")[0] == 404
    assert api("post", f"/searches/{uuid.uuid4()}/cancel")[0] == 404


@pytest.mark.django_db
def test_cancelling_a_queued_search_marks_it_and_its_runs_cancelled(api):
    search, _created = search_create(keywords=["SSM"], platforms=["test-ok", "test-flaky"], trigger="cli")
    status, body = api("post", f"/searches/{search.pk}/cancel")
    assert status == 200, body
    assert body["status"] == "cancelled"
    assert {run["status"] for run in body["platforms"].values()} == {"cancelled"}
    assert Search.objects.get(pk=search.pk).status == "cancelled"


@pytest.mark.slow
def test_a_search_started_over_http_runs_on_a_real_worker_and_reports_per_platform_progress(
    worker, client, keyword
):
    headers = bearer(superuser_key())
    response = client.post(
        "/api/v1/searches",
        {"keywords": [keyword], "platforms": ["test-ok", "test-browser-ok"], "max_results": 10},
        content_type="application/json",
        headers=headers,
    )
    assert response.status_code == 201, response.content
    url = response.json()["url"]

    deadline = time.monotonic() + 60
    while True:
        body = client.get(url, headers=headers).json()
        if body["status"] not in ("queued", "running") or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert body["status"] == "succeeded", body
    assert body["progress"]["platforms_done"] == body["progress"]["platforms_total"] == 2
    for platform in ("test-ok", "test-browser-ok"):
        assert body["platforms"][platform]["status"] == "succeeded"
        assert body["platforms"][platform]["new"] == tests.support.scrapers.ITEMS_PER_KEYWORD

    mentions = client.get(f"/api/v1/mentions?search={body['search_id']}", headers=headers).json()
    assert mentions["total"] == 2 * tests.support.scrapers.ITEMS_PER_KEYWORD
    assert all(keyword in (item["title"] + item["text"]) for item in mentions["items"])
