"""A running beat (the configured scheduler) follows schedule changes without a restart.

One beat process and one worker; one timeline so that the minute boundaries cron needs are shared:
a new one-off schedule due in seconds runs; then, before the next minute, one cron schedule is
edited from "yearly" to "every minute" and another is paused; at the boundary the edited one and a
control run while the paused one does not; after it is resumed it runs at the following minute.
"""

from __future__ import annotations

import time
import uuid
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from django.conf import settings
from django.utils import timezone

from schedules import services
from scraping.models import Search
from tests.schedules import factories
from tests.support.processes import ManagedProcess, celery_command

KUALA_LUMPUR = ZoneInfo("Asia/Kuala_Lumpur")


def searches(scheduled, *, since=None):
    """Searches beat started for ``scheduled`` (since a moment, when given)."""
    found = Search.objects.filter(scheduled_search=scheduled, trigger="schedule")
    return found.filter(created_at__gte=since) if since else found


def succeeded(scheduled, *, since=None) -> int:
    return searches(scheduled, since=since).filter(status="succeeded").count()


def make_schedule(**fields):
    # Real searches over the test platform that always answers, each schedule with its own keyword.
    return factories.make_schedule(keywords=[f"kw{uuid.uuid4().hex[:10]}"], platforms=["test-ok"], **fields)


def seconds_to_next_minute() -> float:
    now = timezone.now()
    return 60 - now.second - now.microsecond / 1_000_000


@pytest.mark.slow
def test_a_running_beat_picks_up_new_edited_paused_and_resumed_schedules(worker, env_for_processes):
    control = make_schedule(name="control every minute", schedule={"cron": "* * * * *"})
    edited = make_schedule(name="edited from yearly", schedule={"cron": "0 0 1 1 *"})
    paused = make_schedule(name="paused before its run", schedule={"cron": "* * * * *"})
    beat = ManagedProcess(
        "beat", celery_command("beat", "-l", "DEBUG", "--pidfile=", "--max-interval", "1"),
        # Pulse's logging settings decide the level; DEBUG makes beat log each tick ("Waking up").
        env={**env_for_processes, "LOG_LEVEL": "DEBUG"},
    ).start()
    try:
        # django-celery-beat reads the schedule on its first tick but only records the change marker
        # on its second: a change made between the two is never noticed. Start after the second tick.
        beat.wait_for(lambda: beat.log().count("beat: Waking up") >= 2, timeout=60, what="beat's second tick")

        # 1. A schedule created while beat runs, due in three seconds, runs.
        due = (timezone.now() + timedelta(seconds=3)).astimezone(KUALA_LUMPUR)
        created = make_schedule(name="created while beat runs",
                                schedule={"once": due.replace(microsecond=0, tzinfo=None).isoformat()})
        beat.wait_for(lambda: succeeded(created) == 1, timeout=60, what="the new one-off schedule's search")

        # 2. Edit and pause at least a few seconds before a minute boundary, so beat sees both in time.
        if seconds_to_next_minute() < 8:
            time.sleep(seconds_to_next_minute() + 1)
        services.schedule_update(scheduled_search=edited, schedule={"cron": "* * * * *"})
        services.schedule_pause(scheduled_search=paused)
        changed_at = timezone.now()
        assert not searches(edited).exists(), "the yearly schedule ran before its edit"
        beat.wait_for(lambda: succeeded(control, since=changed_at), timeout=75,
                      what="the control's search at the next boundary")
        beat.wait_for(lambda: succeeded(edited), timeout=20, what="the edited cron's search")
        time.sleep(3)
        assert not searches(paused, since=changed_at).exists(), "a paused schedule ran"

        # 3. Resumed, it runs at the next boundary.
        services.schedule_resume(scheduled_search=paused)
        resumed_at = timezone.now()
        beat.wait_for(lambda: succeeded(paused, since=resumed_at), timeout=75, what="the resumed schedule's search")
        assert searches(created).count() == 1, "a one-off schedule ran twice"
        created.refresh_from_db()
        assert created.enabled is False, "a one-off that has run still shows as enabled"
    finally:
        beat.stop()
    assert settings.CELERY_BEAT_SCHEDULER.replace(":", ".") in beat.log()
