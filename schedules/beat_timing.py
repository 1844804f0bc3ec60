"""When is a schedule due, and what to do about slots that were missed.

Times are plain UTC epoch seconds (floats) inside the scheduler: comparing and heap-ordering
floats is cheap, and 100k schedules must fit in a small process. Timezones matter only when a
cron expression is turned into instants, which happens here and nowhere else.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from celery import schedules as celery_schedules
from croniter import croniter

NEVER = float("inf")

PERIOD_SECONDS = {
    "days": 86400.0,
    "hours": 3600.0,
    "minutes": 60.0,
    "seconds": 1.0,
    "microseconds": 1e-6,
}

MISFIRE_SKIP = "skip"
MISFIRE_COALESCE = "coalesce"
MISFIRE_RUN_ALL = "run_all"
MISFIRE_POLICIES = (MISFIRE_SKIP, MISFIRE_COALESCE, MISFIRE_RUN_ALL)


def to_epoch(moment: datetime) -> float:
    return moment.timestamp()


def from_epoch(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, tz=UTC)


class ScheduleSpec:
    """The timing of one schedule row; shared by every PeriodicTask that points at the row."""

    def next_after(self, after: float) -> float:
        """The first slot strictly after ``after`` (epoch seconds), or NEVER."""
        raise NotImplementedError


class IntervalSpec(ScheduleSpec):
    __slots__ = ("seconds",)

    def __init__(self, every: int, period: str):
        if every <= 0 or period not in PERIOD_SECONDS:
            raise ValueError(f"interval every={every} period={period!r} is not a usable interval")
        self.seconds = every * PERIOD_SECONDS[period]

    def next_after(self, after: float) -> float:
        return after + self.seconds

    def __repr__(self):
        return f"<every {self.seconds}s>"


class CrontabSpec(ScheduleSpec):
    """A cron expression evaluated in its own timezone, with cron's daylight-saving rules.

    croniter already moves a slot that falls in the hour skipped in spring to the moment the
    clocks change (as Vixie cron does). In the hour repeated in autumn it would fire a job with a
    fixed hour twice; cron runs such a job once, so the second occurrence is skipped here. Jobs
    whose hour field is ``*`` keep firing through the repeated hour because every real minute
    counts for them. Day-of-month and day-of-week are combined with AND, as Celery's crontab does.
    """

    __slots__ = ("expression", "timezone", "fixed_hour", "_cache")

    def __init__(self, *, minute, hour, day_of_month, month_of_year, day_of_week, timezone):
        self.expression = f"{minute} {hour} {day_of_month} {month_of_year} {day_of_week}"
        if not croniter.is_valid(self.expression):
            raise ValueError(f"cron expression {self.expression!r} is not valid")
        self.timezone = timezone if isinstance(timezone, ZoneInfo) else ZoneInfo(str(timezone or "UTC"))
        self.fixed_hour = hour.strip() not in {"*", "*/1"}
        # Many rows share one crontab and were last run in the same minute; cron slots have
        # minute resolution, so the answer only depends on the minute of ``after``.
        self._cache: dict[int, float] = {}

    @classmethod
    def from_expression(cls, expression: str, *, timezone) -> CrontabSpec:
        """The spec for a 5-field cron expression, e.g. for the admin's next-run preview."""
        fields = expression.split()
        if len(fields) != 5:
            raise ValueError(f"cron expression {expression!r} needs exactly 5 fields")
        minute, hour, day_of_month, month_of_year, day_of_week = fields
        return cls(minute=minute, hour=hour, day_of_month=day_of_month, month_of_year=month_of_year,
                   day_of_week=day_of_week, timezone=timezone)

    def next_after(self, after: float) -> float:
        minute = int(after // 60)
        cached = self._cache.get(minute)
        if cached is not None:
            return cached
        start = datetime.fromtimestamp(minute * 60, tz=self.timezone)
        iterator = croniter(self.expression, start, day_or=False)
        candidate = iterator.get_next(datetime)
        while self.fixed_hour and self._is_repeated_occurrence(candidate):
            candidate = iterator.get_next(datetime)
        result = candidate.timestamp()
        if len(self._cache) > 4096:
            self._cache.clear()
        self._cache[minute] = result
        return result

    def _is_repeated_occurrence(self, moment: datetime) -> bool:
        """True for the second time a wall-clock time happens (the hour repeated in autumn)."""
        wall = moment.replace(tzinfo=None)
        first = wall.replace(tzinfo=self.timezone, fold=0).astimezone(UTC)
        second = wall.replace(tzinfo=self.timezone, fold=1).astimezone(UTC)
        return first != second and moment.astimezone(UTC) == second

    def __repr__(self):
        return f"<cron {self.expression} {self.timezone.key}>"


class ClockedSpec(ScheduleSpec):
    __slots__ = ("at",)

    def __init__(self, clocked_time: datetime):
        self.at = to_epoch(clocked_time)

    def next_after(self, after: float) -> float:
        return self.at if self.at > after else NEVER

    def __repr__(self):
        return f"<clocked {from_epoch(self.at).isoformat()}>"


class SolarSpec(ScheduleSpec):
    """Sunrise, sunset and friends, computed by Celery's own solar schedule."""

    __slots__ = ("solar",)

    def __init__(self, event: str, latitude, longitude):
        self.solar = celery_schedules.solar(event, float(latitude), float(longitude))

    def next_after(self, after: float) -> float:
        last_run = from_epoch(after)
        # remaining_estimate answers relative to "now"; pin now to ``after`` so the answer is the
        # next event after ``after`` whatever the wall clock says.
        self.solar.nowfun = lambda: last_run
        try:
            remaining = self.solar.remaining_estimate(last_run)
        finally:
            self.solar.nowfun = None
        return after + max(remaining.total_seconds(), 0.001)

    def __repr__(self):
        return f"<solar {self.solar.event}>"


@dataclass(frozen=True)
class DispatchPlan:
    """What to do with an entry whose first slot is due.

    ``send`` are the slots to dispatch, oldest first; ``consumed`` is the slot the entry's
    ``last_run_at`` moves to (every slot up to it is done, sent or skipped); ``skipped`` counts
    the missed slots that were dropped.
    """

    send: tuple[float, ...]
    consumed: float
    skipped: int


def plan_dispatch(
    *,
    spec: ScheduleSpec,
    first_slot: float,
    now: float,
    policy: str,
    grace_seconds: float,
    run_all_limit: int,
) -> DispatchPlan:
    """Decide which due slots of one entry to send.

    1. Walk the slots from ``first_slot`` up to ``now`` (at most ``run_all_limit`` + 1 of them,
       so a tiny interval after a week of downtime cannot stall beat).
    2. A slot later than ``grace_seconds`` is missed; an on-time one is always sent.
    3. Missed slots: ``skip`` drops them, ``coalesce`` sends one run for all of them (at the
       newest slot), ``run_all`` sends each of them (capped at ``run_all_limit``).
    """
    slots = [first_slot]
    while len(slots) <= run_all_limit:
        following = spec.next_after(slots[-1])
        if following > now:
            break
        slots.append(following)
    else:
        # Still behind after the cap: jump to the newest slot, in one step for interval schedules
        # and by walking otherwise (cron and solar steps are large, so the walk stays short).
        if isinstance(spec, IntervalSpec):
            behind = int((now - slots[-1]) // spec.seconds)
            slots[-1] = slots[-1] + behind * spec.seconds
        else:
            while (following := spec.next_after(slots[-1])) <= now:
                slots[-1] = following
    newest = slots[-1]
    on_time = [slot for slot in slots if now - slot <= grace_seconds]
    missed = [slot for slot in slots if now - slot > grace_seconds]
    if not missed:
        # Several on-time slots at once only happen with sub-grace intervals; one run covers them.
        return DispatchPlan(send=(newest,), consumed=newest, skipped=len(slots) - 1)
    if policy == MISFIRE_RUN_ALL:
        send = tuple(slots[-run_all_limit:])
        return DispatchPlan(send=send, consumed=newest, skipped=len(slots) - len(send))
    if policy == MISFIRE_SKIP:
        send = (on_time[-1],) if on_time else ()
        return DispatchPlan(send=send, consumed=newest, skipped=len(slots) - len(send))
    return DispatchPlan(send=(newest,), consumed=newest, skipped=len(slots) - 1)


def first_slot_after_baseline(spec: ScheduleSpec, *, baseline: float, start_time: float | None) -> float:
    """The first slot of an entry whose last handled slot (or start baseline) is ``baseline``.

    A start time holds the schedule back: an interval schedule runs first at the start time,
    other schedules at their first slot on or after it.
    """
    if start_time is not None and baseline < start_time:
        if isinstance(spec, IntervalSpec):
            return start_time
        return spec.next_after(start_time - 1e-6)
    return spec.next_after(baseline)

