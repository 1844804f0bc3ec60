"""A running beat (the configured scheduler) follows schedule changes without a restart.

One beat process and one worker; one timeline so that the minute boundaries cron needs are shared:
a new one-off schedule due in seconds runs; then, before the next minute, one cron schedule is
edited from "yearly" to "every minute" and another is paused; at the boundary the edited one and a
control run while the paused one does not; after it is resumed it runs at the following minute.
"""

from __future__ import annotations

import time
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from django.conf import settings
from django.utils import timezone

from schedules import services
from scraping.models import Search
from tests.schedules.factories import make_schedule
from tests.support.processes import ManagedProcess, celery_command

KUALA_LUMPUR = ZoneInfo("Asia/Kuala_Lumpur")


def scheduled_runs(scheduled) -> int:
    return Search.objects.filter(scheduled_search=scheduled, trigger="schedule").count()


def seconds_to_next_minute() -> float:
    now = timezone.now()
    return 60 - now.second - now.microsecond / 1_000_000


@pytest.mark.slow
def test_a_running_beat_picks_up_new_edited_paused_and_resumed_schedules(worker, env_for_processes):
    control = make_schedule(name="control every minute", schedule={"cron": "* * * * *"})
    edited = make_schedule(name="edited from yearly", schedule={"cron": "0 0 1 1 *"})
    paused = make_schedule(name="paused before its run", schedule={"cron": "* * * * *"})
    beat = ManagedProcess(
        "beat", celery_command("beat", "-l", "INFO", "--pidfile=", "--max-interval", "1"), env=env_for_processes
    ).start()
    try:
        beat.wait_for_log("beat: Starting", timeout=60)

        # 1. A schedule created while beat runs, due in three seconds, runs.
        due = (timezone.now() + timedelta(seconds=3)).astimezone(KUALA_LUMPUR)
        created = make_schedule(name="created while beat runs",
                                schedule={"once": due.replace(microsecond=0, tzinfo=None).isoformat()})
        beat.wait_for(lambda: scheduled_runs(created) == 1, timeout=60, what="the new one-off schedule's search")

        # 2. Edit and pause at least a few seconds before a minute boundary, so beat sees both in time.
        if seconds_to_next_minute() < 8:
            time.sleep(seconds_to_next_minute() + 1)
        services.schedule_update(scheduled_search=edited, schedule={"cron": "* * * * *"})
        services.schedule_pause(scheduled_search=paused)
        control_before, paused_before = scheduled_runs(control), scheduled_runs(paused)
        assert scheduled_runs(edited) == 0, "the yearly schedule ran before its edit"
        beat.wait_for(lambda: scheduled_runs(control) > control_before, timeout=75,
                      what="the control's run at the next boundary")
        beat.wait_for(lambda: scheduled_runs(edited) >= 1, timeout=15, what="the edited cron's run")
        time.sleep(3)
        assert scheduled_runs(paused) == paused_before, "a paused schedule ran"

        # 3. Resumed, it runs at the next boundary.
        services.schedule_resume(scheduled_search=paused)
        beat.wait_for(lambda: scheduled_runs(paused) > paused_before, timeout=75, what="the resumed schedule's run")
        assert scheduled_runs(created) == 1, "a one-off schedule ran twice"
        created.refresh_from_db()
        assert created.enabled is False, "a one-off that has run still shows as enabled"
    finally:
        beat.stop()
    assert settings.CELERY_BEAT_SCHEDULER.replace(":", ".") in beat.log()
