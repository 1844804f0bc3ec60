"""Across both 2026 daylight-saving changes in Europe/London, a schedule neither skips nor doubles a run.

Beat's own decision (django-celery-beat's timezone-aware crontab, ``is_due``) is replayed on a
simulated clock, and the admin's next-run preview (croniter) must agree with it run for run.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta
from datetime import timezone as dt_timezone
from zoneinfo import ZoneInfo

import pytest
from django_celery_beat.tzcrontab import TzAwareCrontab

from schedules.selectors import cron_next_runs

LONDON = ZoneInfo("Europe/London")
SPRING_FORWARD = datetime(2026, 3, 28, 12, tzinfo=dt_timezone.utc)  # clocks go 01:00 → 02:00 on 29 Mar
FALL_BACK = datetime(2026, 10, 24, 12, tzinfo=dt_timezone.utc)  # clocks go 02:00 → 01:00 on 25 Oct


def beat_runs(expression: str, *, start: datetime, days: int = 2, step_seconds: int = 60) -> list[datetime]:
    """When beat would run ``expression``: ask is_due every few simulated seconds, as its tick loop does."""
    minute, hour, day_of_month, month_of_year, day_of_week = expression.split()
    schedule = TzAwareCrontab(minute=minute, hour=hour, day_of_month=day_of_month,
                              month_of_year=month_of_year, day_of_week=day_of_week, tz=LONDON)
    clock = [start]
    schedule.nowfun = lambda: clock[0].astimezone(LONDON)
    last_run, runs = start, []
    while clock[0] < start + timedelta(days=days):
        due, _next_check = schedule.is_due(last_run)
        if due:
            runs.append(clock[0])
            last_run = clock[0]
        clock[0] += timedelta(seconds=step_seconds)
    return runs


def preview_runs(expression: str, *, start: datetime, days: int = 2) -> list[datetime]:
    runs = cron_next_runs(expression, zone=LONDON, after=start, count=200)
    return [run for run in runs if run < start + timedelta(days=days)]


def minutes(runs: list[datetime]) -> list[str]:
    return [run.astimezone(dt_timezone.utc).strftime("%m-%d %H:%M") for run in runs]


@pytest.mark.parametrize("start", [SPRING_FORWARD, FALL_BACK], ids=["29-march", "25-october"])
def test_a_daily_run_at_0130_london_happens_exactly_once_each_day_across_the_change(start):
    runs = beat_runs("30 1 * * *", start=start)
    per_local_day = Counter(run.astimezone(LONDON).date() for run in runs)
    assert len(runs) == 2
    assert set(per_local_day.values()) == {1}, minutes(runs)


@pytest.mark.parametrize("start", [SPRING_FORWARD, FALL_BACK], ids=["29-march", "25-october"])
@pytest.mark.parametrize(
    "expression", ["30 1 * * *", "0 9 * * *", "0 * * * *", "30 * * * *", "*/20 1 * * *", "15 1,2 * * *", "0 2 * * 0"]
)
def test_the_next_runs_preview_agrees_with_beat_run_for_run(expression, start):
    assert minutes(preview_runs(expression, start=start)) == minutes(beat_runs(expression, start=start))


def test_an_hourly_schedule_runs_every_wall_clock_hour_once_on_both_change_days():
    for start in (SPRING_FORWARD, FALL_BACK):
        runs = preview_runs("0 * * * *", start=start)
        local_slots = Counter(run.astimezone(LONDON).strftime("%m-%d %H") for run in runs)
        assert set(local_slots.values()) == {1}
        gaps = {later - earlier for earlier, later in zip(runs, runs[1:])}
        # Only the changed hour differs: the spring gap hour does not exist, the autumn one runs once.
        assert gaps <= {timedelta(hours=1), timedelta(hours=2)} and timedelta(hours=1) in gaps


def test_plain_croniter_on_aware_times_would_double_the_autumn_run():
    """Why the preview walks wall-clock time: the naive use of croniter gets this day wrong."""
    from croniter import croniter

    iterator = croniter("30 1 * * *", FALL_BACK.astimezone(LONDON))
    naive_runs = [iterator.get_next(datetime) for _ in range(2)]
    assert len({run.astimezone(LONDON).date() for run in naive_runs}) < 2
    assert len({run.astimezone(LONDON).date() for run in preview_runs("30 1 * * *", start=FALL_BACK)}) == 2
