"""Schema pieces shared by the API's routers."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from django.utils import timezone
from ninja import Field, Schema
from pydantic import AfterValidator

# PostgreSQL's OFFSET is a bigint; far below that, a larger offset is a mistake, not a page.
MAX_OFFSET = 1_000_000_000


class ErrorOut(Schema):
    detail: str
    errors: dict[str, list[str]] | None = None


ERRORS = {401: ErrorOut, 403: ErrorOut, 404: ErrorOut, 422: ErrorOut}
BODY_ERRORS = {**ERRORS, 400: ErrorOut}


class PageParams(Schema):
    limit: int = Field(50, ge=1, le=500, description="Items per page (1–500).")
    offset: int = Field(0, ge=0, le=MAX_OFFSET, description="Items to skip.")


def _in_utc(value: datetime) -> datetime:
    """A time without an offset is in Pulse's TIME_ZONE (as in the admin); every time becomes UTC.

    pydantic accepts offsets up to ±24 h and years from 1, which PostgreSQL refuses or which
    overflow once converted; such values are input errors, not server errors.
    """
    try:
        if timezone.is_naive(value):
            value = timezone.make_aware(value, timezone.get_default_timezone())
        return value.astimezone(UTC)
    except (OverflowError, ValueError):
        raise ValueError(
            "date-time out of range; use a year from 1 to 9999 and an offset within ±15:59"
        ) from None


Moment = Annotated[datetime, AfterValidator(_in_utc)]
