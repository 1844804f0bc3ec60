"""The admin refuses a state-changing POST without a CSRF token."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group, User
from django.test import Client


@pytest.fixture
def admin_client_with_csrf(db) -> Client:
    client = Client(enforce_csrf_checks=True)
    admin = User.objects.create_superuser("csrf-admin", "csrf-admin@example.com", "a-long-password-1")
    client.force_login(admin)
    return client


def csrf_token(client: Client, url: str) -> str:
    response = client.get(url)
    assert response.status_code == 200
    return client.cookies["csrftoken"].value


def test_an_admin_post_without_a_csrf_token_is_forbidden_and_changes_nothing(admin_client_with_csrf):
    response = admin_client_with_csrf.post("/admin/auth/group/add/", {"name": "analysts"})
    assert response.status_code == 403
    assert not Group.objects.filter(name="analysts").exists()


def test_the_same_admin_post_with_its_csrf_token_is_accepted(admin_client_with_csrf):
    url = "/admin/auth/group/add/"
    token = csrf_token(admin_client_with_csrf, url)
    response = admin_client_with_csrf.post(url, {"name": "analysts", "csrfmiddlewaretoken": token})
    assert response.status_code == 302
    assert Group.objects.filter(name="analysts").exists()


def test_the_admin_login_form_needs_a_csrf_token_too(db):
    User.objects.create_superuser("csrf-login", "csrf-login@example.com", "a-long-password-1")
    client = Client(enforce_csrf_checks=True)
    response = client.post("/admin/login/", {"username": "csrf-login", "password": "a-long-password-1"})
    assert response.status_code == 403
    assert "_auth_user_id" not in client.session
