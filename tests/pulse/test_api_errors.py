"""Every error is JSON with a detail sentence; bad input names each wrong field."""

from __future__ import annotations

import pytest

from schedules.models import ScheduledSearch
from tests.support.api import bearer, superuser_key

pytestmark = pytest.mark.django_db


@pytest.fixture
def key():
    return superuser_key()


def test_wrong_types_in_a_body_get_422_with_a_message_per_field(client, key):
    response = client.post(
        "/api/v1/searches",
        {"keywords": "SSM", "max_results": "lots", "since": "yesterday"},
        content_type="application/json",
        headers=bearer(key),
    )
    assert response.status_code == 422
    body = response.json()
    assert set(body["errors"]) == {"keywords", "max_results", "since"}
    assert all(isinstance(messages, list) and messages for messages in body["errors"].values())
    assert "keywords" in body["detail"]


def test_a_missing_field_is_reported_as_required(client, key):
    response = client.post("/api/v1/schedules", {}, content_type="application/json", headers=bearer(key))
    assert response.status_code == 422
    errors = response.json()["errors"]
    assert errors["name"] == ["This field is required."]
    assert {"keywords", "platforms", "schedule"} <= set(errors)


def test_a_wrong_item_in_a_list_is_reported_under_the_field_with_its_position(client, key):
    response = client.post(
        "/api/v1/searches", {"keywords": ["ok", 7]}, content_type="application/json", headers=bearer(key)
    )
    assert response.status_code == 422
    assert response.json()["errors"]["keywords"] == ["Item 1: Input should be a valid string"]


def test_a_body_that_is_not_json_gets_400_saying_so(client, key):
    response = client.post(
        "/api/v1/searches", "{not json", content_type="application/json", headers=bearer(key)
    )
    assert response.status_code == 400
    body = response.json()
    assert "not valid JSON" in body["detail"]
    assert "body" in body["errors"]


def test_a_body_that_is_json_but_not_an_object_gets_422(client, key):
    response = client.post("/api/v1/searches", "[1, 2]", content_type="application/json", headers=bearer(key))
    assert response.status_code == 422
    assert response.json()["errors"]


def test_bad_query_parameters_get_422_per_parameter(client, key):
    response = client.get("/api/v1/mentions?limit=0&offset=-1&since=soon", headers=bearer(key))
    assert response.status_code == 422
    assert set(response.json()["errors"]) == {"limit", "offset", "since"}


def test_a_malformed_id_in_the_path_gets_422(client, key):
    response = client.get("/api/v1/searches/not-a-uuid", headers=bearer(key))
    assert response.status_code == 422
    assert "search_id" in response.json()["errors"]


def test_an_unknown_id_gets_a_json_404_naming_it(client, key):
    response = client.get("/api/v1/schedules/424242", headers=bearer(key))
    assert response.status_code == 404
    assert "424242" in response.json()["detail"]


def test_an_unknown_path_under_the_api_gets_a_json_404(client):
    response = client.get("/api/v1/nothing/here")
    assert response.status_code == 404
    assert response["Content-Type"].startswith("application/json")
    assert "/api/v1/docs" in response.json()["detail"]


def test_a_follow_up_naming_no_schedule_is_a_field_error_and_creates_nothing(client, key):
    response = client.post(
        "/api/v1/schedules",
        {
            "name": "with follow-up",
            "keywords": ["SSM"],
            "platforms": ["news"],
            "schedule": {"cron": "0 9 * * *"},
            "on_success": "no such schedule",
        },
        content_type="application/json",
        headers=bearer(key),
    )
    assert response.status_code == 422
    assert "no such schedule" in response.json()["errors"]["on_success"][0]
    assert not ScheduledSearch.objects.exists()


def test_an_unknown_field_in_a_body_is_refused_not_ignored(client, key):
    response = client.post(
        "/api/v1/searches", {"keywords": ["SSM"], "max_result": 5}, content_type="application/json",
        headers=bearer(key),
    )
    assert response.status_code == 422
    assert "Unknown field" in response.json()["errors"]["max_result"][0]


def test_a_wrong_method_gets_a_json_405_listing_the_allowed_ones(client, key):
    response = client.delete("/api/v1/searches", headers=bearer(key))
    assert response.status_code == 405
    assert set(response["Allow"].split(", ")) == {"GET", "POST"}
    assert "DELETE is not allowed" in response.json()["detail"]


@pytest.mark.parametrize(
    "query",
    ["offset=99999999999999999999", "until=0001-01-01T00:00:00%2B05:00"],
    ids=["offset beyond bigint", "before year 1 in UTC"],
)
def test_values_the_database_cannot_hold_are_input_errors_not_server_errors(client, key, query):
    response = client.get(f"/api/v1/mentions?{query}", headers=bearer(key))
    assert response.status_code == 422, response.content
    field = query.split("=")[0]
    assert set(response.json()["errors"]) == {field}
    assert not response.json()["errors"][field][0].startswith("Value error")


def test_an_offset_postgresql_would_refuse_is_read_as_the_same_instant_in_utc(client, key):
    # PostgreSQL refuses UTC offsets beyond ±15:59; pydantic accepts up to ±23:59.
    response = client.get("/api/v1/mentions?since=0174-12-26T12:35:40%2B21:43", headers=bearer(key))
    assert response.status_code == 200, response.content


@pytest.mark.parametrize(
    ("method", "path", "body", "field"),
    [
        ("get", "/api/v1/mentions?q=a%00b", None, "q"),
        ("get", "/api/v1/mentions/export?platform=news%00", None, "platform"),
        ("post", "/api/v1/searches", {"keywords": ["a\x00b"], "platforms": ["news"]}, "keywords"),
        (
            "post",
            "/api/v1/schedules",
            {"name": "x", "keywords": ["x"], "platforms": ["news"], "schedule": {"cron": "0 9 * * *\x00"}},
            "schedule",
        ),
        ("patch", "/api/v1/schedules/1", {"name": "a\x00"}, "name"),
    ],
    ids=["query text", "export filter", "search keyword", "nested in a schedule", "patch"],
)
def test_a_nul_character_anywhere_in_the_input_is_a_field_error(client, key, method, path, body, field):
    # PostgreSQL cannot store NUL in text or JSON; the API refuses it before anything is written.
    kwargs = {"headers": bearer(key)}
    if body is not None:
        kwargs.update(data=body, content_type="application/json")
    response = getattr(client, method)(path, **kwargs)
    assert response.status_code == 422, response.content
    assert "NUL character" in response.json()["errors"][field][0]
