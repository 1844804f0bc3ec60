"""Due times and misfire plans, computed the way PulseScheduler computes them (no waiting)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from schedules.beat_timing import (
    MISFIRE_COALESCE,
    MISFIRE_RUN_ALL,
    MISFIRE_SKIP,
    NEVER,
    ClockedSpec,
    CrontabSpec,
    IntervalSpec,
    first_slot_after_baseline,
    plan_dispatch,
)

LONDON = ZoneInfo("Europe/London")


def cron(expression: str, timezone=LONDON) -> CrontabSpec:
    return CrontabSpec.from_expression(expression, timezone=timezone)


def utc(*parts) -> float:
    return datetime(*parts, tzinfo=UTC).timestamp()


def slots(spec, after: float, count: int) -> list[datetime]:
    found = []
    for _ in range(count):
        after = spec.next_after(after)
        found.append(datetime.fromtimestamp(after, tz=UTC))
    return found


def test_a_daily_job_in_the_skipped_spring_hour_runs_when_the_clocks_change():
    # 2026-03-29: London jumps from 01:00 GMT to 02:00 BST; 01:30 does not exist that day.
    daily = cron("30 1 * * *")
    runs = slots(daily, utc(2026, 3, 28, 12), 3)
    assert runs[0] == datetime(2026, 3, 29, 1, 0, tzinfo=UTC)  # 02:00 BST, the moment of the change
    assert runs[1] == datetime(2026, 3, 30, 0, 30, tzinfo=UTC)  # 01:30 BST
    assert runs[2] == datetime(2026, 3, 31, 0, 30, tzinfo=UTC)


def test_a_daily_job_in_the_repeated_autumn_hour_runs_once():
    # 2026-10-25: London falls back from 02:00 BST to 01:00 GMT; 01:30 happens twice.
    daily = cron("30 1 * * *")
    runs = slots(daily, utc(2026, 10, 24, 12), 2)
    assert runs == [
        datetime(2026, 10, 25, 0, 30, tzinfo=UTC),  # 01:30 BST, the first occurrence
        datetime(2026, 10, 26, 1, 30, tzinfo=UTC),  # next day 01:30 GMT; the repeat is skipped
    ]


def test_an_every_half_hour_job_keeps_real_half_hours_through_the_autumn_change():
    every_half_hour = cron("*/30 * * * *")
    runs = slots(every_half_hour, utc(2026, 10, 24, 23, 45), 6)
    gaps = {(later - earlier) for earlier, later in zip(runs, runs[1:], strict=False)}
    assert gaps == {timedelta(minutes=30)}
    assert runs[0] == datetime(2026, 10, 25, 0, 0, tzinfo=UTC)


def test_an_hourly_job_skips_no_real_hour_through_the_spring_change():
    hourly = cron("0 * * * *")
    runs = slots(hourly, utc(2026, 3, 28, 23, 30), 3)
    assert runs == [
        datetime(2026, 3, 29, 0, 0, tzinfo=UTC),  # 00:00 GMT
        datetime(2026, 3, 29, 1, 0, tzinfo=UTC),  # 02:00 BST
        datetime(2026, 3, 29, 2, 0, tzinfo=UTC),  # 03:00 BST
    ]


def test_cron_fields_are_read_in_the_schedules_own_timezone():
    kuala_lumpur = cron("0 9 * * *", timezone=ZoneInfo("Asia/Kuala_Lumpur"))
    assert slots(kuala_lumpur, utc(2026, 6, 1, 0, 30), 1) == [datetime(2026, 6, 1, 1, 0, tzinfo=UTC)]


def test_day_of_month_and_day_of_week_must_both_match_like_celerys_crontab():
    # The 13th that is a Friday: November 2026.
    friday_the_13th = cron("0 12 13 * 5", timezone=ZoneInfo("UTC"))
    assert slots(friday_the_13th, utc(2026, 1, 1), 1) == [datetime(2026, 2, 13, 12, 0, tzinfo=UTC)]


def test_a_bad_cron_expression_is_refused_with_the_expression_in_the_message():
    with pytest.raises(ValueError, match="61"):
        cron("61 * * * *")


def test_an_interval_counts_from_the_last_slot_so_it_does_not_drift():
    every_ten = IntervalSpec(10, "seconds")
    assert every_ten.next_after(100.0) == 110.0
    with pytest.raises(ValueError):
        IntervalSpec(0, "seconds")


def test_a_clocked_schedule_has_one_slot_and_none_after_it():
    at = datetime(2026, 12, 1, 9, tzinfo=UTC)
    clocked = ClockedSpec(at)
    assert clocked.next_after(at.timestamp() - 1) == at.timestamp()
    assert clocked.next_after(at.timestamp()) == NEVER


def test_a_start_time_holds_the_first_slot_back():
    every_hour = IntervalSpec(1, "hours")
    start = utc(2026, 5, 1, 12)
    assert first_slot_after_baseline(every_hour, baseline=utc(2026, 1, 1), start_time=start) == start
    top_of_hour = cron("0 * * * *", timezone=ZoneInfo("UTC"))
    first = first_slot_after_baseline(top_of_hour, baseline=utc(2026, 1, 1), start_time=start + 60)
    assert first == utc(2026, 5, 1, 13)


# --- misfire -------------------------------------------------------------------------------------

EVERY_100 = IntervalSpec(100, "seconds")


def plan(policy: str, *, first_slot: float, now: float, grace: float = 30, limit: int = 100):
    return plan_dispatch(
        spec=EVERY_100,
        first_slot=first_slot,
        now=now,
        policy=policy,
        grace_seconds=grace,
        run_all_limit=limit,
    )


@pytest.mark.parametrize("policy", [MISFIRE_SKIP, MISFIRE_COALESCE, MISFIRE_RUN_ALL])
def test_an_on_time_slot_is_sent_whatever_the_policy(policy):
    result = plan(policy, first_slot=1000, now=1000.2)
    assert result.send == (1000,) and result.consumed == 1000 and result.skipped == 0


def test_skip_drops_every_missed_slot_after_downtime():
    result = plan(MISFIRE_SKIP, first_slot=1000, now=1350)
    assert result.send == ()
    assert result.consumed == 1300  # the next slot is 1400, after now
    assert result.skipped == 4


def test_skip_still_sends_the_slot_that_is_within_grace():
    result = plan(MISFIRE_SKIP, first_slot=1000, now=1310)
    assert result.send == (1300,) and result.skipped == 3


def test_coalesce_sends_one_run_for_all_missed_slots():
    result = plan(MISFIRE_COALESCE, first_slot=1000, now=1350)
    assert result.send == (1300,) and result.consumed == 1300 and result.skipped == 3


def test_run_all_sends_every_missed_slot_oldest_first():
    result = plan(MISFIRE_RUN_ALL, first_slot=1000, now=1350)
    assert result.send == (1000, 1100, 1200, 1300) and result.consumed == 1300


def test_run_all_is_capped_so_a_long_downtime_cannot_flood_the_workers():
    result = plan(MISFIRE_RUN_ALL, first_slot=0, now=100 * 10_000 + 50, limit=5)
    assert len(result.send) == 5
    assert result.consumed == 1_000_000  # caught up to the newest slot
    assert EVERY_100.next_after(result.consumed) > 100 * 10_000 + 50


def test_a_slot_exactly_at_the_grace_limit_still_counts_as_on_time():
    assert plan(MISFIRE_SKIP, first_slot=1000, now=1030).send == (1000,)
    assert plan(MISFIRE_SKIP, first_slot=1000, now=1030.001).send == ()
