"""Who may call what: 401 without valid credentials, 403 without the permission, else through.

Requests that get past authentication are aimed at ids that do not exist or at bodies that are
incomplete, so they end in 404 or 422 — proof that authentication and the permission check
let them through, without depending on what the endpoint then does.
"""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.utils import timezone

from pulse.models import ApiKey
from pulse.services import api_key_create, api_key_revoke
from tests.support.api import api_key_header, bearer, key_for, user_with

pytestmark = pytest.mark.django_db

UNKNOWN_UUID = str(uuid.uuid4())

# (method, path, body, permission needed, status once permitted)
ENDPOINTS = [
    ("get", "/api/v1/schedules?limit=0", None, "schedules.view_scheduledsearch", 422),
    ("post", "/api/v1/schedules", {}, "schedules.add_scheduledsearch", 422),
    ("get", "/api/v1/schedules/999999", None, "schedules.view_scheduledsearch", 404),
    ("put", "/api/v1/schedules/999999", {}, "schedules.change_scheduledsearch", 422),
    ("patch", "/api/v1/schedules/999999", {}, "schedules.change_scheduledsearch", 404),
    ("delete", "/api/v1/schedules/999999", None, "schedules.delete_scheduledsearch", 404),
    ("post", "/api/v1/schedules/999999/pause", None, "schedules.pause_scheduledsearch", 404),
    ("post", "/api/v1/schedules/999999/resume", None, "schedules.pause_scheduledsearch", 404),
    ("post", "/api/v1/schedules/999999/run", None, "schedules.run_scheduledsearch", 404),
    ("post", "/api/v1/searches", {}, "scraping.add_search", 422),
    ("get", "/api/v1/searches?status=bogus", None, "scraping.view_search", 422),
    ("get", f"/api/v1/searches/{UNKNOWN_UUID}", None, "scraping.view_search", 404),
    ("post", f"/api/v1/searches/{UNKNOWN_UUID}/cancel", None, "scraping.change_search", 404),
    ("get", "/api/v1/mentions?limit=0", None, "scraping.view_mention", 422),
    ("get", "/api/v1/mentions/export?format=xml", None, "scraping.view_mention", 422),
]
ENDPOINT_IDS = [f"{method} {path.split('?')[0]}" for method, path, *_ in ENDPOINTS]


def call(client: Client, method: str, path: str, body, headers=None):
    kwargs = {"headers": headers or {}}
    if body is not None:
        kwargs.update(data=body, content_type="application/json")
    return getattr(client, method)(path, **kwargs)


@pytest.mark.parametrize(("method", "path", "body", "permission", "permitted"), ENDPOINTS, ids=ENDPOINT_IDS)
def test_every_endpoint_answers_401_without_credentials(client, method, path, body, permission, permitted):
    response = call(client, method, path, body)
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == 'Bearer realm="Pulse API"'
    assert "Authorization: Bearer" in response.json()["detail"]


@pytest.mark.parametrize(("method", "path", "body", "permission", "permitted"), ENDPOINTS, ids=ENDPOINT_IDS)
def test_every_endpoint_answers_403_to_a_key_whose_user_lacks_the_permission(
    client, method, path, body, permission, permitted
):
    # Every other permission of the API, but not this one.
    others = sorted({needed for *_, needed, _status in ENDPOINTS} - {permission})
    key = key_for(user_with(*others))
    response = call(client, method, path, body, bearer(key))
    assert response.status_code == 403
    assert permission in response.json()["detail"]


@pytest.mark.parametrize(("method", "path", "body", "permission", "permitted"), ENDPOINTS, ids=ENDPOINT_IDS)
def test_every_endpoint_lets_through_a_key_whose_user_has_the_permission(
    client, method, path, body, permission, permitted
):
    key = key_for(user_with(permission))
    response = call(client, method, path, body, bearer(key))
    assert response.status_code == permitted, response.content


def test_the_x_api_key_header_works_like_bearer(client):
    key = key_for(user_with("scraping.view_search"))
    assert client.get("/api/v1/searches", headers=api_key_header(key)).status_code == 200


def test_a_superuser_key_may_do_everything(client):
    admin = get_user_model().objects.create_superuser(username="root", password="pw")
    key = key_for(admin)
    for method, path, body, _permission, permitted in ENDPOINTS:
        assert call(client, method, path, body, bearer(key)).status_code == permitted


@pytest.mark.parametrize(
    "headers",
    [
        {"Authorization": "Bearer not-a-real-key-at-all-0000000000000000"},
        {"X-API-Key": "not-a-real-key-at-all-0000000000000000"},
        {"Authorization": "Basic dXNlcjpwdw=="},
        {"Authorization": "Bearer"},
    ],
    ids=["unknown bearer", "unknown x-api-key", "basic auth", "empty bearer"],
)
def test_unknown_or_malformed_credentials_get_401(client, headers):
    response = client.get("/api/v1/searches", headers=headers)
    assert response.status_code == 401
    assert response["WWW-Authenticate"]


def test_a_revoked_key_gets_401_saying_why(client):
    api_key, plain_key = api_key_create(user=user_with("scraping.view_search"), name="x")
    api_key_revoke(api_key=api_key)
    response = client.get("/api/v1/searches", headers=bearer(plain_key))
    assert response.status_code == 401
    assert "revoked or expired" in response.json()["detail"]


def test_an_expired_key_gets_401(client):
    api_key, plain_key = api_key_create(user=user_with("scraping.view_search"), name="x")
    ApiKey.objects.filter(pk=api_key.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    assert client.get("/api/v1/searches", headers=bearer(plain_key)).status_code == 401


def test_a_request_with_a_key_records_when_the_key_was_last_used(client):
    api_key, plain_key = api_key_create(user=user_with("scraping.view_search"), name="x")
    client.get("/api/v1/searches", headers=bearer(plain_key))
    assert ApiKey.objects.get(pk=api_key.pk).last_used_at is not None


# --- Session -----------------------------------------------------------------------------------


def test_a_logged_in_staff_user_can_read_with_the_session(client):
    client.force_login(user_with("scraping.view_search", is_staff=True))
    assert client.get("/api/v1/searches").status_code == 200


def test_a_logged_in_user_who_is_not_staff_gets_401(client):
    client.force_login(user_with("scraping.view_search", is_staff=False))
    assert client.get("/api/v1/searches").status_code == 401


def test_a_staff_session_without_the_permission_gets_403(client):
    client.force_login(user_with(is_staff=True))
    assert client.get("/api/v1/searches").status_code == 403


def test_a_session_write_without_the_csrf_token_is_refused():
    client = Client(enforce_csrf_checks=True)
    client.force_login(user_with("scraping.add_search", is_staff=True))
    response = client.post("/api/v1/searches", {}, content_type="application/json")
    assert response.status_code == 403
    assert "CSRF" in response.json()["detail"]


def test_a_session_write_with_the_csrf_token_is_accepted():
    client = Client(enforce_csrf_checks=True)
    client.force_login(user_with("scraping.add_search", is_staff=True))
    client.get("/admin/")  # sets the csrftoken cookie, as a browser visiting the admin would
    token = client.cookies["csrftoken"].value
    response = client.post(
        "/api/v1/searches", {}, content_type="application/json", headers={"X-CSRFToken": token}
    )
    assert response.status_code == 422  # past authentication and CSRF; the empty body is the problem


def test_an_anonymous_write_gets_401_not_a_csrf_error():
    client = Client(enforce_csrf_checks=True)
    assert client.post("/api/v1/searches", {}, content_type="application/json").status_code == 401


def test_a_refused_key_is_not_rescued_by_a_browser_session(client):
    client.force_login(user_with("scraping.view_search", is_staff=True))
    response = client.get("/api/v1/searches", headers=bearer("wrong-key-0000000000000000000000000000"))
    assert response.status_code == 401


def test_key_writes_need_no_csrf_token():
    client = Client(enforce_csrf_checks=True)
    key = key_for(user_with("scraping.add_search"))
    response = client.post("/api/v1/searches", {}, content_type="application/json", headers=bearer(key))
    assert response.status_code == 422
