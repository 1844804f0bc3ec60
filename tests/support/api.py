"""Helpers for HTTP API tests: users with exact permissions, their keys, and request headers."""

from __future__ import annotations

import itertools

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission

from pulse.services import api_key_create

_numbers = itertools.count(1)


def user_with(*permissions: str, is_staff: bool = False, username: str | None = None):
    """A user holding exactly ``permissions`` ('app_label.codename')."""
    user = get_user_model().objects.create_user(
        username=username or f"user{next(_numbers)}", password="pw", is_staff=is_staff
    )
    for permission in permissions:
        app_label, codename = permission.split(".")
        permission_row = Permission.objects.get(content_type__app_label=app_label, codename=codename)
        user.user_permissions.add(permission_row)
    return get_user_model().objects.get(pk=user.pk)  # fresh: no cached permissions


def key_for(user, name: str = "test key") -> str:
    return api_key_create(user=user, name=name)[1]


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def api_key_header(key: str) -> dict[str, str]:
    return {"X-API-Key": key}


def superuser_key() -> str:
    user = get_user_model().objects.create_superuser(username=f"admin{next(_numbers)}", password="pw")
    return key_for(user)


def superuser_api_caller(client):
    """Call the API as a superuser (by API key); each call returns (status, json or None)."""
    headers = bearer(superuser_key())

    def call(method: str, path: str, body=None):
        kwargs = {"headers": headers}
        if body is not None:
            kwargs.update(data=body, content_type="application/json")
        response = getattr(client, method)(f"/api/v1{path}", **kwargs)
        return response.status_code, (response.json() if response.content else None)

    return call
