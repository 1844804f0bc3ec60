"""HTTP API for scheduled searches: CRUD, pause / resume, run now.

Bodies use the fields of the import/export format (``manage.py export_schedules``), so a file
entry can be POSTed as it is. Views only translate HTTP to the services in schedules.services and
the selectors in schedules.selectors, which hold every rule.
"""

from __future__ import annotations

from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import Any, Literal

from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest
from django.urls import reverse
from ninja import Field, Query, Router, Schema, Status
from pydantic import ConfigDict

from pulse.api_schemas import BODY_ERRORS, ERRORS, PageParams
from pulse.api_security import permission_required
from schedules import selectors, services
from schedules.models import ScheduledSearch
from scraping.models import Search

router = Router()

SCHEDULE_DESCRIPTION = (
    "When it runs, one of: {\"cron\": \"*/15 * * * *\"} (5 fields), {\"every\": 2, \"period\": "
    "\"minutes\"|\"hours\"|\"days\"}, {\"once\": \"2026-12-01T09:00:00\"} (in the schedule's timezone), "
    "{\"solar\": \"sunrise\", \"latitude\": 3.139, \"longitude\": 101.6869}."
)
ON_FAILURE_DESCRIPTION = (
    'After a failed run: null (nothing), "alert", or {"run": "<name of a scheduled search>"}.'
)
MisfirePolicy = Literal["skip", "coalesce", "run_all"]


class ScheduleIn(Schema):
    """One entry of the import/export file (``manage.py export_schedules``)."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(..., description="Unique name.", examples=["SSM news"])
    keywords: list[str] = Field(..., description="1–20 keywords.", examples=[["SSM"]])
    platforms: list[str] = Field(..., description="Platform names: news, youtube, facebook, instagram, web.")
    schedule: dict[str, Any] = Field(
        ..., description=SCHEDULE_DESCRIPTION, examples=[{"cron": "*/15 * * * *"}]
    )
    max_results: int = Field(50, description="Most items taken from each platform per run (1–500).")
    timezone: str = Field("Asia/Kuala_Lumpur", description="IANA zone the schedule is read in.")
    enabled: bool = True
    lookback_hours: float | None = Field(
        24,
        allow_inf_nan=False,
        description="Only content published this many hours before each run (up to 8784, 366 days); "
        "null for no limit.",
    )
    misfire_policy: MisfirePolicy = "coalesce"
    misfire_grace_seconds: int = Field(300, ge=0, description="A run later than this counts as missed.")
    on_success: str | None = Field(None, description="Name of the scheduled search to run after success.")
    on_failure: Any = Field(
        None, description=ON_FAILURE_DESCRIPTION, examples=[None, "alert", {"run": "backup"}]
    )


class SchedulePatch(Schema):
    """Any subset of the fields of ScheduleIn; only those sent are changed."""

    model_config = ConfigDict(extra="forbid")

    name: str | None = None
    keywords: list[str] | None = None
    platforms: list[str] | None = None
    schedule: dict[str, Any] | None = Field(None, description=SCHEDULE_DESCRIPTION)
    max_results: int | None = None
    timezone: str | None = None
    enabled: bool | None = None
    lookback_hours: float | None = Field(None, allow_inf_nan=False)
    misfire_policy: MisfirePolicy | None = None
    misfire_grace_seconds: int | None = Field(None, ge=0)
    on_success: str | None = None
    on_failure: Any = Field(None, description=ON_FAILURE_DESCRIPTION)


class ScheduleOut(Schema):
    """The export format's fields, plus what a reader wants to see."""

    id: int
    name: str
    keywords: list[str]
    platforms: list[str]
    max_results: int
    schedule: dict[str, Any] | None
    timezone: str
    enabled: bool
    lookback_hours: float | None
    misfire_policy: str
    misfire_grace_seconds: int
    on_success: str | None
    on_failure: Any = Field(description=ON_FAILURE_DESCRIPTION)
    schedule_in_words: str
    next_runs: list[datetime] = Field(description="The next 5 run times, in the schedule's timezone.")
    created_at: datetime
    updated_at: datetime
    url: str


class SchedulePage(Schema):
    items: list[ScheduleOut]
    total: int
    limit: int
    offset: int


class RunOut(Schema):
    search_id: str
    status: str
    status_url: str




def _get(schedule_id: int) -> ScheduledSearch:
    scheduled_search = ScheduledSearch.objects.filter(pk=schedule_id).first()
    if scheduled_search is None:
        raise Http404(f"No scheduled search with id {schedule_id}. List them with GET /api/v1/schedules.")
    return scheduled_search


# Fields whose null means "no value" rather than "not sent"; the others cannot be null.
NULLABLE_FIELDS = {"lookback_hours", "on_success", "on_failure"}


def _service_fields(data: dict[str, Any]) -> dict[str, Any]:
    """Export-format fields -> schedule_create / schedule_update keyword arguments.

    The services take follow-ups by name, as the import does.
    """
    nulls = [field for field, value in data.items() if value is None and field not in NULLABLE_FIELDS]
    if nulls:
        message = "This field cannot be null; leave it out to keep its value."
        raise ValidationError({field: [message] for field in nulls})
    fields = {key: value for key, value in data.items() if key not in ("lookback_hours", "on_failure")}
    if "lookback_hours" in data:
        hours = data["lookback_hours"]
        try:
            fields["lookback"] = None if hours is None else timedelta(hours=hours)
        except OverflowError:
            raise ValidationError(
                {"lookback_hours": ["Far too large; the look-back window is at most 8784 hours (366 days)."]}
            ) from None
    if "on_failure" in data:
        failure = data["on_failure"]
        if failure is None:
            fields.update(on_failure_action="", on_failure_run=None)
        elif failure == "alert":
            fields.update(on_failure_action="alert", on_failure_run=None)
        elif isinstance(failure, dict) and set(failure) == {"run"} and isinstance(failure["run"], str):
            fields.update(on_failure_action="run", on_failure_run=failure["run"])
        else:
            raise ValidationError(
                {"on_failure": [f'Use null, "alert" or {{"run": "<name>"}}; got {failure!r}.']}
            )
    return fields


# The services name some fields differently from the export format the client sent.
SERVICE_TO_EXPORT_FIELD = {
    "lookback": "lookback_hours",
    "on_failure_action": "on_failure",
    "on_failure_run": "on_failure",
}


@contextmanager
def _errors_named_as_sent():
    """Report a service's field errors under the names the client used."""
    try:
        yield
    except ValidationError as error:
        if not hasattr(error, "error_dict"):
            raise
        renamed: dict[str, list[str]] = {}
        for field, messages in error.message_dict.items():
            renamed.setdefault(SERVICE_TO_EXPORT_FIELD.get(field, field), []).extend(messages)
        raise ValidationError(renamed) from None


def _out(request: HttpRequest, scheduled_search: ScheduledSearch) -> dict[str, Any]:
    return {
        "id": scheduled_search.pk,
        **selectors.schedule_as_dict(scheduled_search=scheduled_search),
        "schedule_in_words": selectors.schedule_in_words(scheduled_search=scheduled_search),
        "next_runs": selectors.schedule_next_runs(scheduled_search=scheduled_search, count=5),
        "created_at": scheduled_search.created_at,
        "updated_at": scheduled_search.updated_at,
        "url": request.build_absolute_uri(reverse("api:schedule_get", args=[scheduled_search.pk])),
    }


@router.get(
    "",
    response={200: SchedulePage, **ERRORS},
    auth=permission_required("schedules.view_scheduledsearch"),
    summary="List scheduled searches",
)
def schedule_list(request, page: Query[PageParams]):
    queryset = ScheduledSearch.objects.select_related("on_success", "on_failure_run", "periodic_task")
    queryset = queryset.order_by("name")
    total = queryset.count()
    rows = queryset[page.offset : page.offset + page.limit]
    return {
        "items": [_out(request, row) for row in rows],
        "total": total,
        "limit": page.limit,
        "offset": page.offset,
    }


@router.post(
    "",
    response={201: ScheduleOut, **BODY_ERRORS},
    auth=permission_required("schedules.add_scheduledsearch"),
    summary="Create a scheduled search",
)
def schedule_create(request, payload: ScheduleIn):
    fields = _service_fields(payload.dict())
    with _errors_named_as_sent():
        scheduled_search = services.schedule_create(**fields)
    return Status(201, _out(request, scheduled_search))


@router.get(
    "/{schedule_id}",
    response={200: ScheduleOut, **ERRORS},
    auth=permission_required("schedules.view_scheduledsearch"),
    url_name="schedule_get",
    summary="Read a scheduled search",
)
def schedule_get(request, schedule_id: int):
    return _out(request, _get(schedule_id))


@router.put(
    "/{schedule_id}",
    response={200: ScheduleOut, **BODY_ERRORS},
    auth=permission_required("schedules.change_scheduledsearch"),
    summary="Replace a scheduled search (every field; omitted optional fields take their defaults)",
)
def schedule_replace(request, schedule_id: int, payload: ScheduleIn):
    scheduled_search = _get(schedule_id)
    fields = _service_fields(payload.dict())
    with _errors_named_as_sent():
        scheduled_search = services.schedule_update(scheduled_search=scheduled_search, **fields)
    return _out(request, scheduled_search)


@router.patch(
    "/{schedule_id}",
    response={200: ScheduleOut, **BODY_ERRORS},
    auth=permission_required("schedules.change_scheduledsearch"),
    summary="Change some fields of a scheduled search",
)
def schedule_patch(request, schedule_id: int, payload: SchedulePatch):
    scheduled_search = _get(schedule_id)
    fields = _service_fields(payload.dict(exclude_unset=True))
    with _errors_named_as_sent():
        scheduled_search = services.schedule_update(scheduled_search=scheduled_search, **fields)
    return _out(request, scheduled_search)


@router.delete(
    "/{schedule_id}",
    response={204: None, **ERRORS},
    auth=permission_required("schedules.delete_scheduledsearch"),
    summary="Delete a scheduled search (and its beat entry)",
)
def schedule_delete(request, schedule_id: int):
    scheduled_search = _get(schedule_id)
    services.schedule_delete(scheduled_search=scheduled_search)
    return Status(204, None)


@router.post(
    "/{schedule_id}/pause",
    response={200: ScheduleOut, **ERRORS},
    auth=permission_required("schedules.pause_scheduledsearch"),
    summary="Pause: no more runs until resumed",
)
def schedule_pause(request, schedule_id: int):
    scheduled_search = _get(schedule_id)
    services.schedule_pause(scheduled_search=scheduled_search)
    scheduled_search.refresh_from_db()
    return _out(request, scheduled_search)


@router.post(
    "/{schedule_id}/resume",
    response={200: ScheduleOut, **ERRORS},
    auth=permission_required("schedules.pause_scheduledsearch"),
    summary="Resume a paused scheduled search",
)
def schedule_resume(request, schedule_id: int):
    scheduled_search = _get(schedule_id)
    with _errors_named_as_sent():
        services.schedule_resume(scheduled_search=scheduled_search)
    scheduled_search.refresh_from_db()
    return _out(request, scheduled_search)


@router.post(
    "/{schedule_id}/run",
    response={202: RunOut, **ERRORS},
    auth=permission_required("schedules.run_scheduledsearch"),
    summary="Run now: start one search with this schedule's keywords and platforms",
)
def schedule_run(request, schedule_id: int):
    scheduled_search = _get(schedule_id)
    search = services.schedule_run_now(scheduled_search=scheduled_search, trigger=Search.Trigger.API)
    return Status(
        202,
        {
            "search_id": str(search.pk),
            "status": search.status,
            "status_url": request.build_absolute_uri(reverse("api:search_get", args=[search.pk])),
        },
    )
