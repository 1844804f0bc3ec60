"""Who is calling the HTTP API, and may they do this?

Three ways in, tried in order: ``Authorization: Bearer <key>``, ``X-API-Key: <key>`` and the
Django session of a logged-in staff user (the admin's cookie, for the docs page and scripts in a
browser). Every way yields a Django user; the operation's one required permission is then checked
against that user, so an API key can do exactly what its user can do in the admin.

The permission is checked here, inside authentication, rather than in the view: ninja validates
the body after authentication and before the view, and a caller without the right to an action
should hear 403, not a list of mistakes in a body it may not send anyway.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from ninja.errors import AuthorizationError, HttpError
from ninja.security import APIKeyCookie, APIKeyHeader, HttpBearer
from ninja.utils import check_csrf

from pulse.services import api_key_authenticate

INVALID_KEY_MESSAGE = (
    "The API key is not valid: it is unknown, revoked or expired, or its user is inactive. "
    "Create a new key in the admin under Pulse › API keys."
)


def _note_invalid_key(request: HttpRequest) -> None:
    # Read by the 401 handler in pulse.api to say why the request was refused.
    request.pulse_auth_error = INVALID_KEY_MESSAGE


def _require(request: HttpRequest, user, permission: str | None):
    if permission is not None and not user.has_perm(permission):
        raise AuthorizationError(
            message=(
                f"You are signed in as {user.get_username()!r}, who lacks the permission {permission!r} "
                "this needs. Ask an administrator to grant it (admin › Users or Groups)."
            )
        )
    request.user = user
    return user


class _PermissionMixin:
    def __init__(self, permission: str | None, *args: Any, **kwargs: Any) -> None:
        self.permission = permission
        super().__init__(*args, **kwargs)


class BearerKeyAuth(_PermissionMixin, HttpBearer):
    """``Authorization: Bearer <key>``."""

    def authenticate(self, request: HttpRequest, token: str):
        api_key = api_key_authenticate(key=token.strip())
        if api_key is None:
            _note_invalid_key(request)
            return None
        request.api_key = api_key
        return _require(request, api_key.user, self.permission)


class HeaderKeyAuth(_PermissionMixin, APIKeyHeader):
    """``X-API-Key: <key>``."""

    param_name = "X-API-Key"

    def authenticate(self, request: HttpRequest, key: str | None):
        if not key:
            return None
        api_key = api_key_authenticate(key=key.strip())
        if api_key is None:
            _note_invalid_key(request)
            return None
        request.api_key = api_key
        return _require(request, api_key.user, self.permission)


class StaffSessionAuth(_PermissionMixin, APIKeyCookie):
    """The admin's session cookie, for staff only, with Django's CSRF check on writes.

    ninja's own SessionAuth checks CSRF before it knows whether anyone is logged in, which turns
    an anonymous POST into 403; here CSRF is checked only once a staff session is found, so an
    anonymous caller always hears 401.
    """

    param_name = "sessionid"

    def __init__(self, permission: str | None) -> None:
        from django.conf import settings

        # Set before the base class copies it into the OpenAPI security scheme.
        self.param_name = settings.SESSION_COOKIE_NAME
        # csrf=True tells the docs page to hand Swagger UI the token; the check itself is below.
        super().__init__(permission, csrf=True)

    def _get_key(self, request: HttpRequest) -> str | None:
        return request.COOKIES.get(self.param_name)

    def authenticate(self, request: HttpRequest, key: str | None):
        if getattr(request, "pulse_auth_error", None):
            # A key was sent and refused: answer 401 rather than quietly acting as the browser's user.
            return None
        user = getattr(request, "user", None)
        if user is None or not user.is_authenticated or not user.is_staff:
            return None
        if check_csrf(request) is not None:
            raise HttpError(
                403,
                "CSRF check failed. A request made with the admin session cookie must send the "
                "X-CSRFToken header with the csrftoken cookie's value; other services should use an API key.",
            )
        return _require(request, user, self.permission)


def permission_required(permission: str | None) -> list:
    """The ``auth=`` value for an operation that needs ``permission`` (e.g. 'scraping.add_search')."""
    return [BearerKeyAuth(permission), HeaderKeyAuth(permission), StaffSessionAuth(permission)]
