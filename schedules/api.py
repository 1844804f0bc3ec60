"""HTTP API for scheduled searches: CRUD, pause / resume, run now.

Bodies use the fields of the import/export format (``manage.py export_schedules``), so a file
entry can be POSTed as it is. Views only translate HTTP to the services in schedules.services and
the selectors in schedules.selectors, which hold every rule.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, Literal

from django.http import Http404, HttpRequest
from django.urls import reverse
from ninja import Field, Query, Router, Schema

from pulse.api_security import permission_required
from schedules.models import ScheduledSearch

router = Router()

SCHEDULE_DESCRIPTION = (
    "When it runs, one of: {\"cron\": \"*/15 * * * *\"} (5 fields), {\"every\": 2, \"period\": "
    "\"minutes\"|\"hours\"|\"days\"}, {\"once\": \"2026-12-01T09:00:00\"} (in the schedule's timezone), "
    "{\"solar\": \"sunrise\", \"latitude\": 3.139, \"longitude\": 101.6869}."
)
FailureAction = Literal["", "run", "alert"]
MisfirePolicy = Literal["skip", "coalesce", "run_all"]


class ScheduleIn(Schema):
    name: str = Field(..., description="Unique name.", examples=["SSM news"])
    keywords: list[str] = Field(..., description="1–20 keywords.", examples=[["SSM"]])
    platforms: list[str] = Field(..., description="Platform names: news, youtube, facebook, instagram, web.")
    schedule: dict[str, Any] = Field(..., description=SCHEDULE_DESCRIPTION, examples=[{"cron": "*/15 * * * *"}])
    max_results: int = Field(50, description="Most items taken from each platform per run (1–500).")
    timezone: str = Field("Asia/Kuala_Lumpur", description="IANA zone the schedule is read in.")
    enabled: bool = True
    lookback: timedelta | None = Field(
        timedelta(hours=24),
        description="Only content published this long before each run; ISO 8601 duration (PT24H) or "
        "seconds; null for no limit.",
    )
    misfire_policy: MisfirePolicy = "coalesce"
    misfire_grace_seconds: int = Field(300, ge=0, description="A run later than this counts as missed.")
    on_success: str | None = Field(None, description="Name of the scheduled search to run after success.")
    on_failure_action: FailureAction = Field("", description="'run' another search, 'alert', or '' (nothing).")
    on_failure_run: str | None = Field(None, description="Name of the scheduled search to run after failure.")


class SchedulePatch(Schema):
    """Any subset of the fields of ScheduleIn; only those sent are changed."""

    name: str | None = None
    keywords: list[str] | None = None
    platforms: list[str] | None = None
    schedule: dict[str, Any] | None = Field(None, description=SCHEDULE_DESCRIPTION)
    max_results: int | None = None
    timezone: str | None = None
    enabled: bool | None = None
    lookback: timedelta | None = None
    misfire_policy: MisfirePolicy | None = None
    misfire_grace_seconds: int | None = Field(None, ge=0)
    on_success: str | None = None
    on_failure_action: FailureAction | None = None
    on_failure_run: str | None = None


class ScheduleOut(Schema):
    id: int
    name: str
    keywords: list[str]
    platforms: list[str]
    schedule: dict[str, Any]
    schedule_in_words: str
    next_runs: list[datetime] = Field(description="The next 5 run times (UTC offsets of the schedule's zone).")
    max_results: int
    timezone: str
    enabled: bool
    lookback: timedelta | None
    misfire_policy: str
    misfire_grace_seconds: int
    on_success: str | None
    on_failure_action: str
    on_failure_run: str | None
    created_at: datetime
    updated_at: datetime
    url: str


class SchedulePage(Schema):
    items: list[ScheduleOut]
    total: int
    limit: int
    offset: int


class PageParams(Schema):
    limit: int = Field(50, ge=1, le=500, description="Items per page (1–500).")
    offset: int = Field(0, ge=0, description="Items to skip.")


class RunOut(Schema):
    search_id: str
    status: str
    status_url: str


class ErrorOut(Schema):
    detail: str
    errors: dict[str, list[str]] | None = None


ERRORS = {401: ErrorOut, 403: ErrorOut, 404: ErrorOut, 422: ErrorOut}
BODY_ERRORS = {**ERRORS, 400: ErrorOut}


def _get(schedule_id: int) -> ScheduledSearch:
    scheduled_search = ScheduledSearch.objects.filter(pk=schedule_id).first()
    if scheduled_search is None:
        raise Http404(f"No scheduled search with id {schedule_id}. List them with GET /api/v1/schedules.")
    return scheduled_search


def _follow_up(field: str, name: str | None) -> ScheduledSearch | None:
    if not name:
        return None
    follow_up = ScheduledSearch.objects.filter(name=name).first()
    if follow_up is None:
        from django.core.exceptions import ValidationError

        raise ValidationError({field: [f"No scheduled search is named {name!r}; give the name of an existing one."]})
    return follow_up


def _service_fields(data: dict[str, Any]) -> dict[str, Any]:
    """Body fields -> service keyword arguments (follow-ups by name become rows)."""
    fields = dict(data)
    for field in ("on_success", "on_failure_run"):
        if field in fields:
            fields[field] = _follow_up(field, fields[field])
    return fields


def _out(request: HttpRequest, scheduled_search: ScheduledSearch) -> dict[str, Any]:
    from schedules import selectors

    exported = selectors.schedule_as_dict(scheduled_search=scheduled_search)
    return {
        "id": scheduled_search.pk,
        "name": scheduled_search.name,
        "keywords": scheduled_search.keywords,
        "platforms": scheduled_search.platforms,
        "schedule": exported["schedule"],
        "schedule_in_words": selectors.schedule_in_words(scheduled_search=scheduled_search),
        "next_runs": selectors.schedule_next_runs(scheduled_search=scheduled_search, count=5),
        "max_results": scheduled_search.max_results,
        "timezone": str(scheduled_search.timezone),
        "enabled": scheduled_search.enabled,
        "lookback": scheduled_search.lookback,
        "misfire_policy": scheduled_search.misfire_policy,
        "misfire_grace_seconds": scheduled_search.misfire_grace_seconds,
        "on_success": scheduled_search.on_success.name if scheduled_search.on_success else None,
        "on_failure_action": scheduled_search.on_failure_action,
        "on_failure_run": scheduled_search.on_failure_run.name if scheduled_search.on_failure_run else None,
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
    from schedules import services

    scheduled_search = services.schedule_create(**fields)
    return 201, _out(request, scheduled_search)


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
    from schedules import services

    scheduled_search = services.schedule_update(
        scheduled_search=scheduled_search, **_service_fields(payload.dict())
    )
    return _out(request, scheduled_search)


@router.patch(
    "/{schedule_id}",
    response={200: ScheduleOut, **BODY_ERRORS},
    auth=permission_required("schedules.change_scheduledsearch"),
    summary="Change some fields of a scheduled search",
)
def schedule_patch(request, schedule_id: int, payload: SchedulePatch):
    scheduled_search = _get(schedule_id)
    from schedules import services

    fields = payload.dict(exclude_unset=True)
    required = ("name", "keywords", "platforms", "schedule", "max_results", "timezone", "enabled")
    nulls = [field for field in required if field in fields and fields[field] is None]
    if nulls:
        from django.core.exceptions import ValidationError

        raise ValidationError({field: ["This field cannot be null; leave it out to keep its value."] for field in nulls})
    scheduled_search = services.schedule_update(scheduled_search=scheduled_search, **_service_fields(fields))
    return _out(request, scheduled_search)


@router.delete(
    "/{schedule_id}",
    response={204: None, **ERRORS},
    auth=permission_required("schedules.delete_scheduledsearch"),
    summary="Delete a scheduled search (and its beat entry)",
)
def schedule_delete(request, schedule_id: int):
    scheduled_search = _get(schedule_id)
    from schedules import services

    services.schedule_delete(scheduled_search=scheduled_search)
    return 204, None


@router.post(
    "/{schedule_id}/pause",
    response={200: ScheduleOut, **ERRORS},
    auth=permission_required("schedules.pause_scheduledsearch"),
    summary="Pause: no more runs until resumed",
)
def schedule_pause(request, schedule_id: int):
    scheduled_search = _get(schedule_id)
    from schedules import services

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
    from schedules import services

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
    from schedules import services
    from scraping.models import Search

    search = services.schedule_run_now(scheduled_search=scheduled_search, trigger=Search.Trigger.API)
    return 202, {
        "search_id": str(search.pk),
        "status": search.status,
        "status_url": request.build_absolute_uri(reverse("api:search_get", args=[search.pk])),
    }
