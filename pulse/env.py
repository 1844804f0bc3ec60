"""Strict readers for settings that come from the environment.

django-environ parses URLs well but is lenient elsewhere: ``Env.bool("X")`` turns
"ture" into False without a word. A typo in production should stop the process with
a message that names the variable and says what it expects, so every reader here
raises ``ImproperlyConfigured`` on a value it does not understand.
"""

from __future__ import annotations

import os
from urllib.parse import urlparse

import environ
from django.core.exceptions import ImproperlyConfigured

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}
_UNSET = object()


def _raw(name: str) -> str | None:
    value = os.environ.get(name)
    return None if value is None else value.strip()


def env_str(name: str, default: str | object = _UNSET) -> str:
    value = _raw(name)
    if value is None or value == "":
        if default is _UNSET:
            raise ImproperlyConfigured(f"{name} is required but not set. Set it in the environment or in .env.")
        return default  # type: ignore[return-value]
    return value


def env_bool(name: str, default: bool) -> bool:
    value = _raw(name)
    if value is None:
        return default
    lowered = value.lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise ImproperlyConfigured(
        f"{name}={value!r} is not a boolean. Use one of: 1/0, true/false, yes/no, on/off."
    )


def env_int(name: str, default: int, *, minimum: int | None = None, maximum: int | None = None) -> int:
    value = _raw(name)
    if value is None or value == "":
        return default
    try:
        number = int(value)
    except ValueError:
        raise ImproperlyConfigured(f"{name}={value!r} is not a whole number. Example: {name}={default}.") from None
    if minimum is not None and number < minimum:
        raise ImproperlyConfigured(f"{name}={number} is too small; it must be at least {minimum}.")
    if maximum is not None and number > maximum:
        raise ImproperlyConfigured(f"{name}={number} is too large; it must be at most {maximum}.")
    return number


def env_float(name: str, default: float, *, minimum: float | None = None) -> float:
    value = _raw(name)
    if value is None or value == "":
        return default
    try:
        number = float(value)
    except ValueError:
        raise ImproperlyConfigured(f"{name}={value!r} is not a number. Example: {name}={default}.") from None
    if minimum is not None and number < minimum:
        raise ImproperlyConfigured(f"{name}={number} is too small; it must be at least {minimum}.")
    return number


def env_list(name: str, default: list[str]) -> list[str]:
    value = _raw(name)
    if value is None:
        return list(default)
    return [item.strip() for item in value.split(",") if item.strip()]


_DATABASE_SCHEMES = {"postgres", "postgresql", "pgsql", "psql", "sqlite"}


def env_database(name: str, default: str) -> dict:
    """Parse a database URL, accepting only the engines Pulse supports."""
    value = _raw(name) or default
    scheme = urlparse(value).scheme
    if scheme not in _DATABASE_SCHEMES:
        raise ImproperlyConfigured(
            f"{name}={value!r} is not a supported database URL. Use postgres://USER:PASSWORD@HOST:5432/NAME "
            f"(or sqlite:////absolute/path.sqlite3 for a local demo)."
        )
    config = environ.Env.db_url_config(value)
    if scheme != "sqlite" and not config.get("NAME"):
        raise ImproperlyConfigured(f"{name}={value!r} names no database. Add it after the host: .../pulse")
    return config


def env_redis_url(name: str, default: str) -> str:
    value = _raw(name) or default
    parsed = urlparse(value)
    if parsed.scheme not in {"redis", "rediss"} or not parsed.hostname:
        raise ImproperlyConfigured(
            f"{name}={value!r} is not a Redis URL. Use redis://HOST:6379/0 (or rediss:// for TLS)."
        )
    return value


def env_timezone(name: str, default: str) -> str:
    import zoneinfo

    value = _raw(name) or default
    try:
        zoneinfo.ZoneInfo(value)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise ImproperlyConfigured(
            f"{name}={value!r} is not an IANA time zone. Example: Asia/Kuala_Lumpur, Europe/London, UTC."
        ) from None
    return value
