"""Pulse's HTTP API: one NinjaAPI under /api/v1/, with the routers of the apps.

Every error is JSON with a ``detail`` sentence; bad input also carries ``errors``, a map from
field name to messages, whether the mistake was caught by the request schema (pydantic) or by a
service (Django ``ValidationError``), so a client handles one shape.
"""

from __future__ import annotations

import functools
import logging

from django.core.exceptions import PermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.urls import URLPattern
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError
from ninja.errors import ValidationError as NinjaValidationError
from ninja.parser import Parser

from pulse.api_security import permission_required

logger = logging.getLogger(__name__)

WWW_AUTHENTICATE = 'Bearer realm="Pulse API"'
UNAUTHENTICATED_MESSAGE = (
    "Authentication required: send 'Authorization: Bearer <key>' or 'X-API-Key: <key>' "
    "(create a key in the admin under Pulse › API keys), or sign in to the admin as staff."
)
# Locations ninja puts first in an error's "loc"; the field name follows them.
_PARAM_SOURCES = {"body", "query", "path", "header", "cookie", "form", "file"}


NUL_MESSAGE = "Contains a NUL character (\\u0000), which Pulse cannot store; remove it."


def _holds_nul(value) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_holds_nul(key) or _holds_nul(item) for key, item in value.items())
    if isinstance(value, list):
        return any(_holds_nul(item) for item in value)
    return False


def _refuse_nul(data):
    """PostgreSQL text and JSON cannot hold NUL; refuse it at the door instead of failing to store it."""
    if isinstance(data, dict):
        fields = [
            str(key).replace("\x00", "") or "body"
            for key, value in data.items()
            if _holds_nul(key) or _holds_nul(value)
        ]
        if fields:
            raise DjangoValidationError({field: [NUL_MESSAGE] for field in fields})
    elif _holds_nul(data):
        raise DjangoValidationError({"body": [NUL_MESSAGE]})
    return data


class PulseParser(Parser):
    def parse_body(self, request: HttpRequest):
        return _refuse_nul(super().parse_body(request))

    def parse_querydict(self, data, list_fields, request: HttpRequest):
        return _refuse_nul(super().parse_querydict(data, list_fields, request))


api = NinjaAPI(
    title="Pulse API",
    version="1",
    urls_namespace="api",
    description=(
        "Start and follow keyword searches, read and export mentions, and manage scheduled searches. "
        "Authenticate with `Authorization: Bearer <key>` or `X-API-Key: <key>`; keys are created in the "
        "admin. Errors are JSON: `{\"detail\": \"...\", \"errors\": {field: [messages]}}`."
    ),
    parser=PulseParser(),
    # Every operation names its own permission; this default only makes a forgotten one
    # fail closed (authenticated callers only) and tells the docs page to send the CSRF token.
    auth=permission_required(None),
)


def error_response(status: int, detail: str, errors: dict | None = None, headers: dict | None = None):
    body: dict = {"detail": detail}
    if errors is not None:
        body["errors"] = errors
    response = JsonResponse(body, status=status)
    for name, value in (headers or {}).items():
        response[name] = value
    return response


def _field_and_message(error: dict) -> tuple[str, str]:
    """A pydantic error -> (field the client sent, message).

    ninja's location starts with the source ('body', 'query', 'path'); a body location then
    carries the view's parameter name ('payload'), which means nothing to the client. What follows
    the field (a list position, a nested key) goes into the message: ('body', 'payload',
    'keywords', 1) -> ('keywords', 'Item 1: Input should be a valid string').
    """
    parts = [str(part) for part in error.get("loc", ())]
    if parts and parts[0] in _PARAM_SOURCES:
        source, parts = parts[0], parts[1:]
        if source == "body" and len(parts) > 1:
            parts = parts[1:]
    field = parts[0] if parts else "body"
    # pydantic prefixes the text of a ValueError raised by a validator; the text alone reads better.
    message = (error.get("msg") or "Invalid value.").removeprefix("Value error, ")
    if error.get("type") == "missing":
        message = "This field is required."
    elif error.get("type") == "extra_forbidden":
        message = "Unknown field; check its spelling against the API documentation (/api/v1/docs)."
    message = message[0].upper() + message[1:]
    inner = [f"item {part}" if part.isdigit() else part for part in parts[1:]]
    if inner:
        message = f"{' › '.join(inner).capitalize()}: {message}"
    return field, message


@api.exception_handler(NinjaValidationError)
def on_request_invalid(request, exc: NinjaValidationError):
    errors: dict[str, list[str]] = {}
    for error in exc.errors:
        field, message = _field_and_message(error)
        errors.setdefault(field, []).append(message)
    fields = ", ".join(errors)
    return error_response(422, f"The request is not valid: check {fields}.", errors)


@api.exception_handler(DjangoValidationError)
def on_service_invalid(request, exc: DjangoValidationError):
    errors = exc.message_dict if hasattr(exc, "error_dict") else {"__all__": exc.messages}
    fields = ", ".join(errors)
    return error_response(422, f"The request is not valid: check {fields}.", errors)


@api.exception_handler(AuthenticationError)
def on_unauthenticated(request, exc: AuthenticationError):
    detail = getattr(request, "pulse_auth_error", None) or UNAUTHENTICATED_MESSAGE
    return error_response(401, detail, headers={"WWW-Authenticate": WWW_AUTHENTICATE})


@api.exception_handler(PermissionDenied)
def on_permission_denied(request, exc: PermissionDenied):
    return error_response(403, str(exc) or "You do not have permission to do this.")


@api.exception_handler(Http404)
def on_not_found(request, exc: Http404):
    return error_response(404, str(exc) or "Not found.")


@api.exception_handler(HttpError)
def on_http_error(request, exc: HttpError):
    if isinstance(exc.__cause__, DjangoValidationError):
        # ninja wraps whatever the body parser raises; a refused value is still a 422.
        return on_service_invalid(request, exc.__cause__)
    if exc.status_code == 400 and isinstance(exc.__cause__, ValueError):
        # ninja's "Cannot parse request body", raised from the JSON decoder's error.
        return error_response(
            400,
            "The request body is not valid JSON. Send a JSON object with Content-Type: application/json.",
            {"body": [str(exc.__cause__)]},
        )
    return error_response(exc.status_code, str(exc))


@api.exception_handler(Exception)
def on_unexpected_error(request, exc: Exception):
    # Bad input never lands here (it is 4xx above); this is a fault in Pulse, logged with its traceback.
    logger.exception("Unexpected error in %s %s", request.method, request.path)
    return error_response(
        500, "Pulse failed to handle this request; the error has been logged. Try again, or tell an operator."
    )


def _json_method_not_allowed(view):
    """ninja answers a wrong method with a plain-text 405; give it the API's JSON shape."""

    @functools.wraps(view)
    def wrapped(request, *args, **kwargs):
        response = view(request, *args, **kwargs)
        is_json = response.get("Content-Type", "").startswith("application/json")
        if response.status_code == 405 and not is_json:
            allowed = response.get("Allow", "")
            return error_response(
                405, f"{request.method} is not allowed here; use {allowed}.", headers={"Allow": allowed}
            )
        return response

    return wrapped


def api_urls():
    """``api.urls`` with JSON 405 answers; include as ``path("api/v1/", api_urls())``."""
    patterns, app_name, namespace = api.urls
    for pattern in patterns:
        if isinstance(pattern, URLPattern):
            pattern.callback = _json_method_not_allowed(pattern.callback)
    return patterns, app_name, namespace


def not_found_view(request: HttpRequest, unmatched: str = "") -> HttpResponse:
    """JSON 404 for any /api/v1/ path no operation matches (Django's own 404 page is HTML)."""
    return error_response(
        404, f"No API endpoint at {request.path}. The list of endpoints is at /api/v1/docs."
    )


def _register_routers() -> None:
    from schedules.api import router as schedules_router
    from scraping.api import mentions_router, searches_router

    api.add_router("/schedules", schedules_router, tags=["schedules"])
    api.add_router("/searches", searches_router, tags=["searches"])
    api.add_router("/mentions", mentions_router, tags=["mentions"])


_register_routers()
