"""The timing in words, the next runs in the schedule's zone, and the export dict."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone

from schedules import selectors, services
from schedules.timing import Timing
from tests.schedules.factories import make_schedule

pytestmark = pytest.mark.django_db
KUALA_LUMPUR = ZoneInfo("Asia/Kuala_Lumpur")


@pytest.mark.parametrize(
    ("schedule", "words"),
    [
        ({"cron": "0 9 * * 1-5"}, "At 09:00, Monday through Friday (Asia/Kuala_Lumpur)"),
        ({"cron": "*/15 * * * *"}, "Every 15 minutes (Asia/Kuala_Lumpur)"),
        ({"every": 2, "period": "hours"}, "Every 2 hours"),
        ({"every": 1, "period": "days"}, "Every day"),
        ({"once": "2030-12-01T09:00:00"}, "Once at 2030-12-01 09:00 (Asia/Kuala_Lumpur)"),
        ({"solar": "sunrise", "latitude": 3.139, "longitude": 101.6869}, "At sunrise at 3.139, 101.6869"),
    ],
)
def test_the_schedule_reads_in_words(schedule, words):
    assert selectors.schedule_in_words(scheduled_search=make_schedule(schedule=schedule)) == words


def test_the_next_cron_runs_are_in_the_schedules_zone_on_weekdays_at_nine():
    runs = selectors.schedule_next_runs(scheduled_search=make_schedule(schedule={"cron": "0 9 * * 1-5"}))
    assert len(runs) == 5
    assert all(run.tzinfo == KUALA_LUMPUR and (run.hour, run.minute) == (9, 0) for run in runs)
    assert all(run.weekday() < 5 for run in runs)
    assert runs == sorted(runs) and runs[0] > timezone.now()


def test_the_next_interval_runs_count_from_the_last_run():
    scheduled = make_schedule(schedule={"every": 2, "period": "hours"})
    last = timezone.now() - timedelta(minutes=30)
    scheduled.periodic_task.last_run_at = last
    scheduled.periodic_task.save()
    runs = selectors.schedule_next_runs(scheduled_search=scheduled, count=3)
    assert [run - last for run in runs] == [timedelta(hours=2), timedelta(hours=4), timedelta(hours=6)]


def test_a_one_off_has_one_next_run_and_a_paused_schedule_none():
    scheduled = make_schedule(schedule={"once": "2030-12-01T09:00:00"})
    assert selectors.schedule_next_runs(scheduled_search=scheduled) == [
        datetime(2030, 12, 1, 9, tzinfo=KUALA_LUMPUR)
    ]
    services.schedule_pause(scheduled_search=scheduled)
    assert selectors.schedule_next_runs(scheduled_search=scheduled) == []


def test_solar_next_runs_are_one_sunrise_a_day_in_the_morning():
    runs = selectors.timing_next_runs(
        Timing(kind="solar", solar="sunrise", latitude=3.139, longitude=101.6869), zone=KUALA_LUMPUR,
        after=datetime(2026, 6, 1, 12, tzinfo=KUALA_LUMPUR),
    )
    assert [run.date().day for run in runs] == [2, 3, 4, 5, 6]
    assert all(6 <= run.hour <= 7 for run in runs)  # Kuala Lumpur sunrise is about 07:00 all year


def test_the_export_dict_has_the_documented_keys_in_order():
    target = make_schedule(name="target")
    scheduled = make_schedule(name="SSM news", keywords=["SSM"], platforms=["news", "web"],
                              schedule={"every": 30, "period": "minutes"}, lookback=timedelta(hours=6),
                              on_success=target, on_failure_action="alert")
    assert selectors.schedule_as_dict(scheduled_search=scheduled) == {
        "name": "SSM news", "keywords": ["SSM"], "platforms": ["news", "web"], "max_results": 50,
        "schedule": {"every": 30, "period": "minutes"}, "timezone": "Asia/Kuala_Lumpur", "enabled": True,
        "lookback_hours": 6, "misfire_policy": "coalesce", "misfire_grace_seconds": 300,
        "on_success": "target", "on_failure": "alert",
    }
