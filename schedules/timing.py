"""The ``schedule`` object of the import/export format: parse, validate, and map onto django-celery-beat.

One of::

    {"cron": "*/15 * * * *"}
    {"every": 2, "period": "hours"}          # period: minutes | hours | days
    {"once": "2026-12-01T09:00:00"}          # wall-clock time in the schedule's timezone
    {"solar": "sunrise", "latitude": 3.139, "longitude": 101.6869}

Errors are ``ValidationError({"schedule": [message]})`` saying what was wrong and what to write instead.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation
from zoneinfo import ZoneInfo

from celery.schedules import crontab as celery_crontab
from croniter import croniter
from croniter.croniter import CroniterError
from django.core.exceptions import ValidationError
from django.utils import timezone as django_timezone
from django_celery_beat.models import (
    SOLAR_SCHEDULES,
    ClockedSchedule,
    CrontabSchedule,
    IntervalSchedule,
    PeriodicTask,
    SolarSchedule,
)

KINDS = ("cron", "every", "once", "solar")
MAX_EVERY = 2**31 - 1
PERIODS = ("minutes", "hours", "days")
SOLAR_EVENTS = tuple(event for event, _label in SOLAR_SCHEDULES)
CRON_EXAMPLE = 'five fields "minute hour day-of-month month day-of-week", e.g. "0 9 * * 1-5" (09:00 on weekdays)'


@dataclass(frozen=True)
class Timing:
    """A validated schedule: exactly one kind with its values."""

    kind: str
    cron: str = ""
    every: int = 0
    period: str = ""
    once: datetime | None = None  # aware, in the schedule's timezone
    solar: str = ""
    latitude: Decimal | None = None
    longitude: Decimal | None = None

    def as_dict(self) -> dict:
        """The export format's object (the inverse of ``parse_schedule``)."""
        if self.kind == "cron":
            return {"cron": self.cron}
        if self.kind == "every":
            return {"every": self.every, "period": self.period}
        if self.kind == "once":
            return {"once": self.once.replace(tzinfo=None).isoformat()}
        return {"solar": self.solar, "latitude": float(self.latitude), "longitude": float(self.longitude)}


def _error(message: str) -> ValidationError:
    return ValidationError({"schedule": [message]})


def validate_cron(expression: str) -> str:
    """Return the normalised 5-field expression or raise with a message a person can act on."""
    if not isinstance(expression, str) or not expression.strip():
        raise _error(f"The cron expression is empty. Write {CRON_EXAMPLE}.")
    fields = expression.split()
    if len(fields) != 5:
        raise _error(
            f"The cron expression {expression!r} has {len(fields)} field(s); it needs exactly 5: {CRON_EXAMPLE}."
        )
    normalised = " ".join(fields)
    try:
        croniter(normalised)
    except (CroniterError, ValueError, KeyError) as error:
        raise _error(f"The cron expression {normalised!r} is not valid ({error}). Write {CRON_EXAMPLE}.") from None
    # Beat evaluates the expression with Celery's own parser; refuse what it would reject at run time.
    minute, hour, day_of_month, month_of_year, day_of_week = fields
    try:
        celery_crontab(
            minute=minute, hour=hour, day_of_month=day_of_month, month_of_year=month_of_year,
            day_of_week=day_of_week,
        )
    except Exception as error:  # noqa: BLE001  (celery raises ValueError or ParseException)
        raise _error(
            f"The cron expression {normalised!r} cannot be run by the scheduler ({error}). "
            f"Use numbers (days of the week 0–6, Sunday = 0) or names like mon-fri."
        ) from None
    return normalised


def _positive_int(value, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        raise _error(f"{what} must be a whole number of at least 1, got {value!r}.")
    try:
        number = int(value)
    except ValueError:
        raise _error(f"{what} must be a whole number of at least 1, got {value!r}.") from None
    if number < 1:
        raise _error(f"{what} must be at least 1, got {number}.")
    return number


def _coordinate(value, name: str, limit: int) -> Decimal:
    if isinstance(value, bool) or value is None:
        raise _error(f"{name} is required for a solar schedule: a number between -{limit} and {limit}.")
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        raise _error(f"{name} must be a number between -{limit} and {limit}, got {value!r}.") from None
    if not number.is_finite() or not -limit <= number <= limit:
        raise _error(f"{name} must be between -{limit} and {limit}, got {value}.")
    # SolarSchedule stores 6 decimal places (about 0.1 m): more is noise, and rounding keeps round trips exact.
    return number.quantize(Decimal("0.000001")).normalize()


def parse_once(value, *, zone: ZoneInfo, require_future: bool) -> datetime:
    if not isinstance(value, str) or not value.strip():
        raise _error('"once" needs a date and time, e.g. "2026-12-01T09:00:00".')
    try:
        moment = datetime.fromisoformat(value.strip())
    except ValueError:
        raise _error(f'"once" must be an ISO date and time like "2026-12-01T09:00:00", got {value!r}.') from None
    if moment.tzinfo is not None:
        raise _error(
            f'"once" is read in the schedule\'s timezone; write it without an offset '
            f'(e.g. "{moment.replace(tzinfo=None).isoformat()}") and set the timezone instead.'
        )
    moment = moment.replace(tzinfo=zone)
    if require_future and moment <= django_timezone.now():
        raise _error(
            f"The time {moment:%Y-%m-%d %H:%M} ({zone.key}) has already passed; pick a time in the future."
        )
    return moment


def parse_schedule(schedule, *, zone: ZoneInfo, require_future: bool = True) -> Timing:
    """Validate the ``schedule`` object.

    ``require_future`` applies to ``once``: a new one-off run must be in the future, while an
    existing schedule being re-saved or re-imported may keep its (past) time.
    """
    if not isinstance(schedule, dict):
        raise _error(
            'The schedule must be an object with one of the keys "cron", "every", "once" or "solar", '
            'e.g. {"cron": "*/15 * * * *"}.'
        )
    kinds = [kind for kind in KINDS if kind in schedule]
    if len(kinds) != 1:
        raise _error(
            f'The schedule must have exactly one of "cron", "every", "once" or "solar"; '
            f"got {sorted(schedule) or 'none'}."
        )
    kind = kinds[0]
    allowed = {"cron": {"cron"}, "every": {"every", "period"}, "once": {"once"},
               "solar": {"solar", "latitude", "longitude"}}[kind]
    unknown = sorted(set(schedule) - allowed)
    if unknown:
        raise _error(f'A "{kind}" schedule takes only {sorted(allowed)}; remove {unknown}.')
    if kind == "cron":
        return Timing(kind="cron", cron=validate_cron(schedule["cron"]))
    if kind == "every":
        every = _positive_int(schedule["every"], '"every"')
        if every > MAX_EVERY:
            # IntervalSchedule.every is a 32-bit column; a larger number would fail in the database.
            raise _error(f'"every" must be at most {MAX_EVERY}, got {every}.')
        period = schedule.get("period")
        if period not in PERIODS:
            raise _error(f'"period" must be one of {", ".join(PERIODS)}, got {period!r}.')
        return Timing(kind="every", every=every, period=period)
    if kind == "once":
        return Timing(kind="once", once=parse_once(schedule["once"], zone=zone, require_future=require_future))
    event = schedule["solar"]
    if event not in SOLAR_EVENTS:
        raise _error(f"Unknown solar event {event!r}. Use one of: {', '.join(SOLAR_EVENTS)}.")
    return Timing(
        kind="solar",
        solar=event,
        latitude=_coordinate(schedule.get("latitude"), "latitude", 90),
        longitude=_coordinate(schedule.get("longitude"), "longitude", 180),
    )


def timing_of(periodic_task: PeriodicTask, *, zone: ZoneInfo) -> Timing | None:
    """Read the timing back from a PeriodicTask (None when it has none Pulse understands)."""
    if periodic_task.crontab_id:
        c = periodic_task.crontab
        return Timing(
            kind="cron", cron=f"{c.minute} {c.hour} {c.day_of_month} {c.month_of_year} {c.day_of_week}"
        )
    if periodic_task.interval_id:
        interval = periodic_task.interval
        if interval.period in PERIODS:
            return Timing(kind="every", every=interval.every, period=interval.period)
        return None
    if periodic_task.clocked_id:
        return Timing(kind="once", once=periodic_task.clocked.clocked_time.astimezone(zone))
    if periodic_task.solar_id:
        solar = periodic_task.solar
        return Timing(
            kind="solar",
            solar=solar.event,
            latitude=Decimal(solar.latitude).normalize(),
            longitude=Decimal(solar.longitude).normalize(),
        )
    return None


def apply_timing(periodic_task: PeriodicTask, timing: Timing, *, zone: ZoneInfo) -> None:
    """Point the PeriodicTask at the schedule row for ``timing`` (rows are shared, found or created)."""
    periodic_task.interval = periodic_task.crontab = periodic_task.solar = periodic_task.clocked = None
    periodic_task.one_off = False
    if timing.kind == "cron":
        minute, hour, day_of_month, month_of_year, day_of_week = timing.cron.split()
        periodic_task.crontab, _ = CrontabSchedule.objects.get_or_create(
            minute=minute, hour=hour, day_of_month=day_of_month, month_of_year=month_of_year,
            day_of_week=day_of_week, timezone=zone,
        )
    elif timing.kind == "every":
        periodic_task.interval, _ = IntervalSchedule.objects.get_or_create(every=timing.every, period=timing.period)
    elif timing.kind == "once":
        periodic_task.clocked, _ = ClockedSchedule.objects.get_or_create(clocked_time=timing.once)
        # django-celery-beat runs a clocked task once and then disables it; it requires one_off.
        periodic_task.one_off = True
    else:
        periodic_task.solar, _ = SolarSchedule.objects.get_or_create(
            event=timing.solar, latitude=timing.latitude, longitude=timing.longitude
        )
