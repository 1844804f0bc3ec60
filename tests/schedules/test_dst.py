"""Across both 2026 daylight-saving changes in Europe/London, the next-run preview is what beat dispatches.

Beat's dispatch decisions (``CrontabSpec`` with ``first_slot_after_baseline`` and ``plan_dispatch``,
as ``PulseScheduler`` calls them) are replayed slot by slot on a simulated clock, and the admin/API
preview (``timing_next_runs``, behind ``schedule_next_runs``) must list the same instants.

"No skipped or doubled run", per cron semantics:

- a **daily** job (fixed hour, 01:30) runs exactly once on every local calendar day, both change
  days included: on 29 March, when 01:30 does not exist, at 02:00 BST (the moment the clocks
  change); on 25 October, when 01:30 happens twice, only at the first 01:30 (BST);
- an **hourly** job (hour field ``*``) runs once in every real hour: consecutive runs are exactly
  3,600 seconds apart through both changes, which makes 23 runs on 29 March and 25 on 25 October
  (the repeated 01:00 runs in BST and again in GMT, because each is a different real hour).
"""

from __future__ import annotations

from collections import Counter
from datetime import date, datetime, timedelta
from datetime import timezone as dt_timezone
from zoneinfo import ZoneInfo

import pytest

from schedules.beat_timing import (
    MISFIRE_COALESCE,
    CrontabSpec,
    first_slot_after_baseline,
    from_epoch,
    plan_dispatch,
)
from schedules.selectors import timing_next_runs
from schedules.timing import Timing

LONDON = ZoneInfo("Europe/London")
SPRING_FORWARD = datetime(2026, 3, 28, 12, tzinfo=dt_timezone.utc)  # clocks go 01:00 → 02:00 on 29 Mar
FALL_BACK = datetime(2026, 10, 24, 12, tzinfo=dt_timezone.utc)  # clocks go 02:00 → 01:00 on 25 Oct
TRANSITIONS = pytest.mark.parametrize("start", [SPRING_FORWARD, FALL_BACK], ids=["29-march", "25-october"])
WINDOW = timedelta(days=3)


def beat_runs(expression: str, *, start: datetime, window: timedelta = WINDOW) -> list[datetime]:
    """The instants beat dispatches ``expression`` at, each slot handled on time as the leader does."""
    spec = CrontabSpec.from_expression(expression, timezone=LONDON)
    end = (start + window).timestamp()
    baseline, runs = start.timestamp(), []
    while (slot := first_slot_after_baseline(spec, baseline=baseline, start_time=None)) < end:
        plan = plan_dispatch(spec=spec, first_slot=slot, now=slot, policy=MISFIRE_COALESCE,
                             grace_seconds=300, run_all_limit=100)
        runs.extend(from_epoch(sent) for sent in plan.send)
        baseline = plan.consumed
    return runs


def preview_runs(expression: str, *, start: datetime, window: timedelta = WINDOW) -> list[datetime]:
    runs = timing_next_runs(Timing(kind="cron", cron=expression), zone=LONDON, after=start, count=24 * 4 * 4)
    return [run for run in runs if run < start + window]


def local(runs: list[datetime]) -> list[str]:
    return [run.astimezone(LONDON).strftime("%m-%d %H:%M%z") for run in runs]


@TRANSITIONS
@pytest.mark.parametrize(
    "expression",
    ["30 1 * * *", "0 9 * * *", "0 * * * *", "30 * * * *", "*/20 1 * * *", "15 1,2 * * *", "0 2 * * 0",
     "*/15 * * * *", "30 1 25,29 * 0"],
)
def test_the_next_runs_preview_is_what_beat_dispatches_run_for_run(expression, start):
    assert local(preview_runs(expression, start=start)) == local(beat_runs(expression, start=start))


@TRANSITIONS
def test_the_preview_lists_runs_in_the_schedules_zone_with_the_real_offset(start):
    runs = preview_runs("0 * * * *", start=start)
    assert all(run.tzinfo == LONDON for run in runs)
    assert {run.utcoffset() for run in runs} == {timedelta(0), timedelta(hours=1)}


@pytest.mark.parametrize(
    ("start", "change_day", "run_on_change_day"),
    [(SPRING_FORWARD, date(2026, 3, 29), "03-29 02:00+0100"), (FALL_BACK, date(2026, 10, 25), "10-25 01:30+0100")],
    ids=["29-march", "25-october"],
)
def test_a_daily_0130_job_runs_exactly_once_on_every_local_day_including_the_change_day(
    start, change_day, run_on_change_day
):
    start -= timedelta(hours=12)  # midnight UTC the day before, before that day's 01:30
    runs = beat_runs("30 1 * * *", start=start)
    assert local(preview_runs("30 1 * * *", start=start)) == local(runs)
    per_local_day = Counter(run.astimezone(LONDON).date() for run in runs)
    # The day before, the change day and the day after: one run each, none missing, none twice.
    assert per_local_day == {change_day - timedelta(days=1): 1, change_day: 1, change_day + timedelta(days=1): 1}
    assert [text for text in local(runs) if text.startswith(change_day.strftime("%m-%d"))] == [run_on_change_day]


@pytest.mark.parametrize(
    ("start", "change_day", "runs_on_change_day"),
    [(SPRING_FORWARD, date(2026, 3, 29), 23), (FALL_BACK, date(2026, 10, 25), 25)],
    ids=["29-march", "25-october"],
)
def test_an_hourly_job_runs_once_in_every_real_hour_through_the_change(start, change_day, runs_on_change_day):
    runs = beat_runs("0 * * * *", start=start)
    assert local(preview_runs("0 * * * *", start=start)) == local(runs)
    assert {later - earlier for earlier, later in zip(runs, runs[1:], strict=False)} == {timedelta(hours=1)}
    assert len(runs) == len(set(runs))
    per_local_day = Counter(run.astimezone(LONDON).date() for run in runs)
    assert per_local_day[change_day] == runs_on_change_day


def test_the_repeated_autumn_hour_runs_an_hourly_job_twice_and_a_daily_job_once():
    hourly = [text for text in local(preview_runs("30 * * * *", start=FALL_BACK)) if text.startswith("10-25 01:")]
    daily = [text for text in local(preview_runs("30 1 * * *", start=FALL_BACK)) if text.startswith("10-25 01:")]
    assert hourly == ["10-25 01:30+0100", "10-25 01:30+0000"]
    assert daily == ["10-25 01:30+0100"]


def test_the_preview_starting_inside_the_repeated_hour_continues_from_there():
    second_0115 = datetime(2026, 10, 25, 1, 15, tzinfo=dt_timezone.utc)  # 01:15 GMT, the second 01:15
    assert local(preview_runs("30 * * * *", start=second_0115, window=timedelta(hours=2))) == [
        "10-25 01:30+0000", "10-25 02:30+0000",
    ]
    assert local(preview_runs("30 1 * * *", start=second_0115, window=timedelta(days=1))) == []
