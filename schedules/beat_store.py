"""Database reads and writes of PulseScheduler, kept to a few cheap statements.

Reads use ``values_list`` so no model instance is built per row (100k rows load in about a
second and take little memory). The one write records a batch of dispatches with a
compare-and-set on ``last_run_at``: a row whose ``last_run_at`` is not what this process last
saw was handled (or edited) by someone else, so it is re-read instead of dispatched.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from django.db import connection, transaction
from django.db.models import F, QuerySet
from django_celery_beat.models import (
    ClockedSchedule,
    CrontabSchedule,
    IntervalSchedule,
    PeriodicTask,
    SolarSchedule,
)

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
ONE_MICROSECOND = timedelta(microseconds=1)

# Order matters: rows are plain tuples indexed by these positions.
ROW_FIELDS = (
    "id",
    "enabled",
    "interval_id",
    "crontab_id",
    "solar_id",
    "clocked_id",
    "one_off",
    "start_time",
    "expires",
    "last_run_at",
    "date_changed",
    "scheduled_search__misfire_policy",
    "scheduled_search__misfire_grace_seconds",
)
(
    ID,
    ENABLED,
    INTERVAL_ID,
    CRONTAB_ID,
    SOLAR_ID,
    CLOCKED_ID,
    ONE_OFF,
    START_TIME,
    EXPIRES,
    LAST_RUN_AT,
    DATE_CHANGED,
    MISFIRE_POLICY,
    MISFIRE_GRACE,
) = range(len(ROW_FIELDS))

MESSAGE_FIELDS = (
    "id",
    "name",
    "task",
    "args",
    "kwargs",
    "queue",
    "exchange",
    "routing_key",
    "priority",
    "headers",
    "expires",
    "expire_seconds",
)


def to_microseconds(moment: datetime | None) -> int | None:
    if moment is None:
        return None
    return (moment - EPOCH) // ONE_MICROSECOND


def from_microseconds(value: int | None) -> datetime | None:
    if value is None:
        return None
    return EPOCH + timedelta(microseconds=value)


def rows(queryset: QuerySet) -> QuerySet:
    return queryset.values_list(*ROW_FIELDS)


def iterate_rows(queryset: QuerySet, *, chunk_size: int = 5000):
    return rows(queryset).iterator(chunk_size=chunk_size)


def rows_by_id(ids) -> list[tuple]:
    return list(rows(PeriodicTask.objects.filter(id__in=list(ids))))


def changed_rows(*, since: datetime) -> list[tuple]:
    """Rows edited at or after ``since`` (enabled or not: a disabled one leaves the heap)."""
    return list(rows(PeriodicTask.objects.filter(date_changed__gte=since)))


def enabled_count(queryset: QuerySet) -> int:
    return queryset.count()


def enabled_ids(queryset: QuerySet) -> set[int]:
    return set(queryset.values_list("id", flat=True).iterator(chunk_size=20000))


def recent_last_runs(queryset: QuerySet, *, since: datetime) -> list[tuple[int, datetime]]:
    """``(id, last_run_at)`` of rows dispatched at or after ``since`` (by any beat)."""
    return list(queryset.filter(last_run_at__gte=since).values_list("id", "last_run_at"))


@dataclass(frozen=True)
class ScheduleRows:
    interval: dict[int, tuple]
    crontab: dict[int, tuple]
    solar: dict[int, tuple]
    clocked: dict[int, tuple]


SCHEDULE_QUERIES = {
    "interval": (IntervalSchedule, ("id", "every", "period")),
    "crontab": (
        CrontabSchedule,
        ("id", "minute", "hour", "day_of_month", "month_of_year", "day_of_week", "timezone"),
    ),
    "solar": (SolarSchedule, ("id", "event", "latitude", "longitude")),
    "clocked": (ClockedSchedule, ("id", "clocked_time")),
}


def schedule_rows(ids_by_kind: dict[str, set[int]] | None = None) -> ScheduleRows:
    """Schedule rows as plain tuples: all of them, or only the ids asked for per kind.

    Schedule rows are shared by many tasks, so there are usually few of them.
    """
    tables = {}
    for kind, (model, fields) in SCHEDULE_QUERIES.items():
        queryset = model.objects.all()
        if ids_by_kind is not None:
            wanted = ids_by_kind.get(kind)
            if not wanted:
                tables[kind] = {}
                continue
            queryset = queryset.filter(id__in=list(wanted))
        tables[kind] = {row[0]: row[1:] for row in queryset.values_list(*fields)}
    return ScheduleRows(**tables)


@dataclass(frozen=True)
class RunRecord:
    """One entry's dispatch to record: move ``last_run_at`` from ``expected`` to ``consumed``."""

    id: int
    expected: datetime | None
    consumed: datetime
    sent: int
    disable: bool


def record_runs(records: list[RunRecord]) -> dict[int, dict]:
    """Record dispatches in one statement; returns the message fields of the rows that matched.

    Rows missing from the answer were deleted, disabled or already handled by another beat.
    Must run inside a transaction (the caller sends the messages before committing).
    """
    if not records:
        return {}
    if connection.vendor == "postgresql":
        return _record_runs_postgresql(records)
    return _record_runs_portable(records)


def _record_runs_postgresql(records: list[RunRecord]) -> dict[int, dict]:
    table = connection.ops.quote_name(PeriodicTask._meta.db_table)
    values = ", ".join(["(%s::bigint, %s::timestamptz, %s::timestamptz, %s::integer, %s::boolean)"] * len(records))
    params: list = []
    for record in records:
        params.extend([record.id, record.expected, record.consumed, record.sent, record.disable])
    returning = ", ".join(f"t.{connection.ops.quote_name(field)}" for field in MESSAGE_FIELDS)
    sql = (
        f"UPDATE {table} AS t SET last_run_at = v.consumed, "
        "total_run_count = t.total_run_count + v.sent, "
        "enabled = CASE WHEN v.disable THEN false ELSE t.enabled END "
        f"FROM (VALUES {values}) AS v(id, expected, consumed, sent, disable) "
        "WHERE t.id = v.id AND t.enabled AND t.last_run_at IS NOT DISTINCT FROM v.expected "
        f"RETURNING {returning}"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return {row[0]: dict(zip(MESSAGE_FIELDS, row, strict=True)) for row in cursor.fetchall()}


def _record_runs_portable(records: list[RunRecord]) -> dict[int, dict]:
    # SQLite (the zero-setup demo) has no UPDATE ... FROM VALUES with IS NOT DISTINCT FROM; one
    # conditional UPDATE per row inside the caller's transaction gives the same guarantee.
    matched: list[int] = []
    for record in records:
        queryset = PeriodicTask.objects.filter(id=record.id, enabled=True)
        if record.expected is None:
            queryset = queryset.filter(last_run_at__isnull=True)
        else:
            queryset = queryset.filter(last_run_at=record.expected)
        changes = {"last_run_at": record.consumed, "total_run_count": F("total_run_count") + record.sent}
        if record.disable:
            changes["enabled"] = False
        if queryset.update(**changes):
            matched.append(record.id)
    return {row["id"]: row for row in PeriodicTask.objects.filter(id__in=matched).values(*MESSAGE_FIELDS)}


def restore_run(*, id: int, expected: datetime | None, consumed: datetime, unsent: int, enable: bool) -> None:
    """Undo part of a recorded dispatch whose message could not be sent, so it is retried."""
    with transaction.atomic():
        changes = {"last_run_at": expected, "total_run_count": F("total_run_count") - unsent}
        if enable:
            changes["enabled"] = True
        PeriodicTask.objects.filter(id=id, last_run_at=consumed).update(**changes)
