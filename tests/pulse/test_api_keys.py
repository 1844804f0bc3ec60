"""API keys: created once in clear, stored hashed, refused when revoked or expired."""

from __future__ import annotations

import hashlib
from datetime import timedelta
from io import StringIO

import pytest
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import Client
from django.utils import timezone

from pulse.models import ApiKey
from pulse.services import api_key_authenticate, api_key_create, api_key_revoke
from tests.support.api import bearer, user_with

pytestmark = pytest.mark.django_db


def test_a_new_key_is_stored_only_as_its_hash_and_prefix():
    user = user_with()
    api_key, plain_key = api_key_create(user=user, name="reports")

    row = ApiKey.objects.get(pk=api_key.pk)
    assert row.prefix == plain_key[:8]
    assert row.key_hash == hashlib.sha256(plain_key.encode()).hexdigest()
    stored_text = " ".join(str(getattr(row, field.attname)) for field in ApiKey._meta.concrete_fields)
    assert plain_key not in stored_text
    assert len(plain_key) >= 40


def test_two_keys_never_share_a_prefix():
    user = user_with()
    keys = [api_key_create(user=user, name=f"key {n}")[1] for n in range(20)]
    assert len({key[:8] for key in keys}) == 20


def test_the_key_authenticates_as_its_user():
    user = user_with()
    _api_key, plain_key = api_key_create(user=user, name="reports")
    assert api_key_authenticate(key=plain_key).user == user


def test_a_key_with_the_right_prefix_but_wrong_secret_is_refused():
    _api_key, plain_key = api_key_create(user=user_with(), name="reports")
    forged = plain_key[:8] + ("A" if plain_key[8] != "A" else "B") + plain_key[9:]
    assert api_key_authenticate(key=forged) is None


@pytest.mark.parametrize("value", ["", "short", "x" * 500])
def test_malformed_keys_are_refused_without_error(value):
    assert api_key_authenticate(key=value) is None


def test_a_revoked_key_is_refused_and_revoking_again_keeps_the_first_time():
    api_key, plain_key = api_key_create(user=user_with(), name="reports")
    api_key_revoke(api_key=api_key)
    first = api_key.revoked_at
    assert first is not None
    assert api_key_authenticate(key=plain_key) is None
    api_key_revoke(api_key=api_key)
    assert api_key.revoked_at == first


def test_an_expired_key_is_refused():
    api_key, plain_key = api_key_create(
        user=user_with(), name="reports", expires_at=timezone.now() + timedelta(hours=1)
    )
    assert api_key_authenticate(key=plain_key) is not None
    ApiKey.objects.filter(pk=api_key.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    assert api_key_authenticate(key=plain_key) is None


def test_a_key_of_an_inactive_user_is_refused():
    user = user_with()
    _api_key, plain_key = api_key_create(user=user, name="reports")
    get_user_model().objects.filter(pk=user.pk).update(is_active=False)
    assert api_key_authenticate(key=plain_key) is None


def test_creating_a_key_without_a_name_or_with_a_past_expiry_says_what_to_fix():
    user = user_with()
    with pytest.raises(ValidationError) as no_name:
        api_key_create(user=user, name="  ")
    assert "name" in no_name.value.message_dict
    with pytest.raises(ValidationError) as past:
        api_key_create(user=user, name="x", expires_at=timezone.now() - timedelta(minutes=1))
    assert "expires_at" in past.value.message_dict
    assert ApiKey.objects.count() == 0


def test_last_used_is_written_at_most_once_a_minute():
    api_key, plain_key = api_key_create(user=user_with(), name="reports")
    assert api_key.last_used_at is None

    api_key_authenticate(key=plain_key)
    first_use = ApiKey.objects.get(pk=api_key.pk).last_used_at
    assert first_use is not None

    api_key_authenticate(key=plain_key)
    assert ApiKey.objects.get(pk=api_key.pk).last_used_at == first_use

    ApiKey.objects.filter(pk=api_key.pk).update(last_used_at=timezone.now() - timedelta(seconds=61))
    api_key_authenticate(key=plain_key)
    assert ApiKey.objects.get(pk=api_key.pk).last_used_at > first_use


def test_the_create_api_key_command_prints_a_working_key():
    user = user_with(username="reporter")
    out = StringIO()
    call_command("create_api_key", "--user", "reporter", "--name", "cron job", stdout=out)
    assert api_key_authenticate(key=out.getvalue().strip()).user == user


def test_the_create_api_key_command_names_an_unknown_user():
    with pytest.raises(CommandError, match="No user named 'ghost'"):
        call_command("create_api_key", "--user", "ghost", "--name", "x")


# --- Admin -------------------------------------------------------------------------------------


@pytest.fixture
def admin_client_logged_in(client):
    admin = get_user_model().objects.create_superuser(username="boss", password="pw")
    client.force_login(admin)
    return client


def test_creating_a_key_in_the_admin_shows_the_plain_key_once(admin_client_logged_in):
    owner = user_with("scraping.view_search", username="service")
    response = admin_client_logged_in.post(
        "/admin/pulse/apikey/add/",
        {"name": "reporting", "user": owner.pk, "expires_at_0": "", "expires_at_1": ""},
        follow=True,
    )
    assert response.status_code == 200
    messages = [str(message) for message in response.context["messages"]]
    shown = [message for message in messages if "The new API key is:" in message]
    assert len(shown) == 1
    plain_key = shown[0].split("The new API key is: ")[1].split(" ")[0]

    api_key = ApiKey.objects.get()
    assert (api_key.name, api_key.user, api_key.prefix) == ("reporting", owner, plain_key[:8])
    assert Client().get("/api/v1/searches", headers=bearer(plain_key)).status_code == 200

    # The change page and the list never show the key again.
    change_page = admin_client_logged_in.get(f"/admin/pulse/apikey/{api_key.pk}/change/").content.decode()
    list_page = admin_client_logged_in.get("/admin/pulse/apikey/").content.decode()
    assert plain_key not in change_page and plain_key not in list_page
    assert api_key.prefix in list_page


def test_the_admin_refuses_a_key_that_would_already_be_expired(admin_client_logged_in):
    owner = user_with()
    response = admin_client_logged_in.post(
        "/admin/pulse/apikey/add/",
        {"name": "late", "user": owner.pk, "expires_at_0": "2001-01-01", "expires_at_1": "00:00:00"},
    )
    assert response.status_code == 200
    assert "The expiry is in the past" in response.content.decode()
    assert ApiKey.objects.count() == 0


def test_the_admin_revoke_action_stops_the_key(admin_client_logged_in):
    owner = user_with("scraping.view_search")
    api_key, plain_key = api_key_create(user=owner, name="old")
    response = admin_client_logged_in.post(
        "/admin/pulse/apikey/", {"action": "revoke", "_selected_action": [api_key.pk]}, follow=True
    )
    assert "Revoked 1 API key(s)" in response.content.decode()
    assert ApiKey.objects.get(pk=api_key.pk).revoked_at is not None
    assert Client().get("/api/v1/searches", headers=bearer(plain_key)).status_code == 401
