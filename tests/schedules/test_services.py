"""Services keep a ScheduledSearch and its PeriodicTask in step, and refuse bad input clearly."""

from __future__ import annotations

import json
import logging
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from django.core.exceptions import ValidationError
from django.db import DatabaseError, connection
from django.utils import timezone
from django_celery_beat.models import (
    ClockedSchedule,
    CrontabSchedule,
    IntervalSchedule,
    PeriodicTask,
    PeriodicTasks,
)

from schedules import selectors, services
from schedules.models import ScheduledSearch
from scraping.models import Search
from tests.schedules.factories import make_schedule

pytestmark = pytest.mark.django_db


def change_marker():
    return PeriodicTasks.last_change()


def test_creating_a_schedule_creates_its_periodic_task_with_only_the_id_in_kwargs():
    scheduled = make_schedule(name="SSM weekday mornings", timezone="Europe/London")
    task = scheduled.periodic_task
    assert task.name == "SSM weekday mornings"
    assert task.task == "pulse.scheduled_search"
    assert json.loads(task.kwargs) == {"scheduled_search_id": scheduled.pk}
    assert json.loads(task.args) == []
    assert task.enabled and not task.one_off
    assert (task.crontab.minute, task.crontab.hour, task.crontab.day_of_week) == ("0", "9", "1-5")
    assert task.crontab.timezone == ZoneInfo("Europe/London")


def test_every_once_and_solar_map_onto_interval_clocked_and_solar_schedules():
    every = make_schedule(schedule={"every": 2, "period": "hours"}).periodic_task
    assert (every.interval.every, every.interval.period) == (2, IntervalSchedule.HOURS)
    future = (timezone.now() + timedelta(days=3)).astimezone(ZoneInfo("Asia/Kuala_Lumpur"))
    once = make_schedule(schedule={"once": future.strftime("%Y-%m-%dT%H:%M:00")}).periodic_task
    assert once.one_off is True
    assert once.clocked.clocked_time == future.replace(second=0, microsecond=0)
    solar = make_schedule(schedule={"solar": "sunset", "latitude": 3.139, "longitude": 101.6869}).periodic_task
    assert (solar.solar.event, float(solar.solar.latitude), float(solar.solar.longitude)) == (
        "sunset", 3.139, 101.6869,
    )


def test_a_once_time_is_read_in_the_schedules_timezone():
    scheduled = make_schedule(schedule={"once": "2030-01-15T09:00:00"}, timezone="Europe/London")
    assert scheduled.periodic_task.clocked.clocked_time.astimezone(ZoneInfo("UTC")).hour == 9
    other = make_schedule(schedule={"once": "2030-01-15T09:00:00"}, timezone="Asia/Kuala_Lumpur")
    assert other.periodic_task.clocked.clocked_time.astimezone(ZoneInfo("UTC")).hour == 1


@pytest.mark.parametrize(
    ("fields", "field", "fragment"),
    [
        ({"schedule": {"cron": "61 * * * *"}}, "schedule", "not valid"),
        ({"schedule": {"cron": "* * *"}}, "schedule", "needs exactly 5"),
        ({"schedule": {"cron": "0 9 * * 7"}}, "schedule", "Sunday = 0"),
        ({"schedule": {"every": 0, "period": "hours"}}, "schedule", "at least 1"),
        ({"schedule": {"every": 3, "period": "weeks"}}, "schedule", "minutes, hours, days"),
        ({"schedule": {"once": "2020-01-01T09:00:00"}}, "schedule", "already passed"),
        ({"schedule": {"once": "tomorrow"}}, "schedule", "ISO date"),
        ({"schedule": {"solar": "noon", "latitude": 1, "longitude": 2}}, "schedule", "sunrise"),
        ({"schedule": {"solar": "sunrise", "latitude": 95, "longitude": 2}}, "schedule", "between -90 and 90"),
        ({"schedule": {"cron": "* * * * *", "every": 2}}, "schedule", "exactly one"),
        ({"keywords": []}, "keywords", "at least one keyword"),
        ({"keywords": ["SSM", "   "]}, "keywords", "Keyword 2 is empty"),
        ({"keywords": [f"k{i}" for i in range(21)]}, "keywords", "at most 20"),
        ({"platforms": ["news", "tiktok"]}, "platforms", "tiktok"),
        ({"platforms": []}, "platforms", "at least one platform"),
        ({"timezone": "Mars/Olympus"}, "timezone", "IANA"),
        ({"max_results": 0}, "max_results", "1 to 500"),
        ({"lookback": timedelta(0)}, "lookback", "more than zero"),
        ({"on_failure_action": "run"}, "on_failure_run", "Choose the scheduled search"),
    ],
)
def test_bad_input_is_refused_with_a_message_naming_the_field_and_nothing_is_written(fields, field, fragment):
    before = (ScheduledSearch.objects.count(), PeriodicTask.objects.count())
    with pytest.raises(ValidationError) as caught:
        make_schedule(**fields)
    assert fragment in " ".join(caught.value.message_dict[field])
    assert (ScheduledSearch.objects.count(), PeriodicTask.objects.count()) == before


def test_the_name_may_not_clash_with_another_periodic_task():
    PeriodicTask.objects.create(
        name="celery.backend_cleanup", task="celery.backend_cleanup",
        interval=IntervalSchedule.objects.create(every=1, period="days"),
    )
    with pytest.raises(ValidationError) as caught:
        make_schedule(name="celery.backend_cleanup")
    assert "periodic task named" in caught.value.message_dict["name"][0]


def test_a_database_failure_while_writing_the_periodic_task_leaves_no_scheduled_search():
    # A real failure inside PostgreSQL, raised by a trigger on the periodic task table.
    with connection.cursor() as cursor:
        cursor.execute(
            "CREATE FUNCTION pulse_test_refuse() RETURNS trigger AS $$ BEGIN "
            "IF NEW.name = 'refused by the database' THEN RAISE EXCEPTION 'refused'; END IF; RETURN NEW; END "
            "$$ LANGUAGE plpgsql; CREATE TRIGGER pulse_test_refuse BEFORE INSERT ON django_celery_beat_periodictask "
            "FOR EACH ROW EXECUTE FUNCTION pulse_test_refuse();"
        )
    with pytest.raises(DatabaseError):
        make_schedule(name="refused by the database")
    assert not ScheduledSearch.objects.filter(name="refused by the database").exists()


def test_a_keyword_edit_leaves_the_periodic_task_and_beats_change_marker_alone():
    scheduled = make_schedule()
    PeriodicTasks.update_changed()
    marker, task_changed = change_marker(), scheduled.periodic_task.date_changed
    services.schedule_update(scheduled_search=scheduled, keywords=["SSM", "Bursa"])
    scheduled.refresh_from_db()
    assert scheduled.keywords == ["SSM", "Bursa"]
    assert change_marker() == marker
    assert PeriodicTask.objects.get(pk=scheduled.periodic_task_id).date_changed == task_changed


def test_a_timing_edit_changes_the_periodic_task_and_tells_beat():
    scheduled = make_schedule()
    marker = change_marker()
    services.schedule_update(scheduled_search=scheduled, schedule={"cron": "*/15 * * * *"})
    task = PeriodicTask.objects.get(pk=scheduled.periodic_task_id)
    assert (task.crontab.minute, task.crontab.hour) == ("*/15", "*")
    assert change_marker() > marker


def test_switching_kinds_leaves_exactly_one_schedule_on_the_periodic_task():
    scheduled = make_schedule()
    services.schedule_update(scheduled_search=scheduled, schedule={"every": 5, "period": "minutes"})
    task = PeriodicTask.objects.get(pk=scheduled.periodic_task_id)
    assert task.interval is not None and task.crontab is None and task.clocked is None and task.solar is None


def test_renaming_renames_the_periodic_task():
    scheduled = make_schedule(name="old name")
    services.schedule_update(scheduled_search=scheduled, name="new name")
    assert PeriodicTask.objects.get(pk=scheduled.periodic_task_id).name == "new name"


def test_changing_the_timezone_keeps_the_wall_clock_time():
    scheduled = make_schedule(schedule={"cron": "0 9 * * *"}, timezone="Asia/Kuala_Lumpur")
    services.schedule_update(scheduled_search=scheduled, timezone="Europe/London")
    crontab = PeriodicTask.objects.get(pk=scheduled.periodic_task_id).crontab
    assert (crontab.hour, crontab.timezone) == ("9", ZoneInfo("Europe/London"))


def test_an_unknown_field_in_an_update_is_refused():
    with pytest.raises(ValidationError) as caught:
        services.schedule_update(scheduled_search=make_schedule(), colour="blue")
    assert "colour" in caught.value.message_dict


def test_deleting_through_the_service_removes_both_rows_and_keeps_the_searches():
    scheduled = make_schedule()
    search = Search.objects.create(keywords=["SSM"], platforms=["news"], scheduled_search=scheduled)
    task_id = scheduled.periodic_task_id
    services.schedule_delete(scheduled_search=scheduled)
    assert not PeriodicTask.objects.filter(pk=task_id).exists()
    assert not ScheduledSearch.objects.filter(pk=scheduled.pk).exists()
    search.refresh_from_db()
    assert search.scheduled_search is None


def test_a_bulk_queryset_delete_also_removes_the_periodic_tasks():
    first, second = make_schedule(), make_schedule()
    ScheduledSearch.objects.filter(pk__in=[first.pk, second.pk]).delete()
    assert not PeriodicTask.objects.filter(pk__in=[first.periodic_task_id, second.periodic_task_id]).exists()


def test_deleting_the_periodic_task_removes_the_scheduled_search():
    scheduled = make_schedule()
    scheduled.periodic_task.delete()
    assert not ScheduledSearch.objects.filter(pk=scheduled.pk).exists()


def test_pause_and_resume_switch_both_rows():
    scheduled = make_schedule()
    services.schedule_pause(scheduled_search=scheduled)
    assert (scheduled.enabled, PeriodicTask.objects.get(pk=scheduled.periodic_task_id).enabled) == (False, False)
    services.schedule_resume(scheduled_search=scheduled)
    assert (scheduled.enabled, PeriodicTask.objects.get(pk=scheduled.periodic_task_id).enabled) == (True, True)


def test_bulk_pause_updates_every_row_and_bumps_beats_change_marker():
    rows = [make_schedule(), make_schedule()]
    marker = change_marker()
    count = services.schedules_set_enabled(scheduled_search_ids=[row.pk for row in rows], enabled=False)
    assert count == 2
    assert not PeriodicTask.objects.filter(scheduled_search__in=rows, enabled=True).exists()
    assert not ScheduledSearch.objects.filter(pk__in=[row.pk for row in rows], enabled=True).exists()
    assert change_marker() > marker


def test_a_one_off_that_already_ran_cannot_be_resumed():
    scheduled = make_schedule(schedule={"once": "2030-01-01T09:00:00"})
    ClockedSchedule.objects.filter(pk=scheduled.periodic_task.clocked_id).update(
        clocked_time=timezone.now() - timedelta(hours=1)
    )
    services.schedule_pause(scheduled_search=scheduled)
    with pytest.raises(ValidationError) as caught:
        services.schedule_resume(scheduled_search=scheduled)
    assert "set a new date and time" in caught.value.message_dict["schedule"][0]


def test_duplicating_makes_a_paused_copy_with_its_own_periodic_task():
    original = make_schedule(name="SSM news", keywords=["SSM", "Bursa"], timezone="Europe/London")
    copy = services.schedule_duplicate(scheduled_search=original)
    assert copy.name == "SSM news (copy)"
    assert copy.keywords == ["SSM", "Bursa"] and copy.enabled is False
    assert copy.periodic_task_id != original.periodic_task_id and copy.periodic_task.enabled is False
    assert copy.periodic_task.crontab == original.periodic_task.crontab
    assert services.schedule_duplicate(scheduled_search=original).name == "SSM news (copy 2)"


def test_follow_ups_that_loop_back_are_refused():
    first = make_schedule(name="first")
    second = make_schedule(name="second", on_success=first)
    with pytest.raises(ValidationError) as caught:
        services.schedule_update(scheduled_search=first, on_success=second)
    assert "loop" in caught.value.message_dict["on_success"][0]
    with pytest.raises(ValidationError):
        services.schedule_update(scheduled_search=first, on_success=first)


def test_follow_ups_may_be_named_or_given_by_id():
    target = make_schedule(name="target")
    by_name = make_schedule(on_success="target")
    by_id = make_schedule(on_failure_action="run", on_failure_run=target.pk)
    assert by_name.on_success == target and by_id.on_failure_run == target
    with pytest.raises(ValidationError) as caught:
        make_schedule(on_success="nobody")
    assert "no scheduled search 'nobody'" in caught.value.message_dict["on_success"][0]


def test_run_now_creates_a_search_over_the_lookback_window_and_enqueues_it_after_commit(
    django_capture_on_commit_callbacks,
):
    scheduled = make_schedule(keywords=["SSM", "Bursa"], platforms=["news", "web"], lookback=timedelta(hours=6))
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        search = services.schedule_run_now(scheduled_search=scheduled)
    assert (search.keywords, search.platforms, search.trigger) == (["SSM", "Bursa"], ["news", "web"], "admin")
    assert search.scheduled_search == scheduled
    assert abs((timezone.now() - timedelta(hours=6)) - search.since) < timedelta(minutes=1)
    assert len(callbacks) == 1


def test_a_paused_or_deleted_schedule_does_not_run_from_beat(caplog):
    paused = make_schedule(enabled=False)
    with caplog.at_level(logging.INFO, logger="schedules.services"):
        assert services.scheduled_search_execute(scheduled_search_id=paused.pk) is None
        assert services.scheduled_search_execute(scheduled_search_id=999_999) is None
    assert "is paused" in caplog.text and "no longer exists" in caplog.text
    assert not Search.objects.exists()


def finished_search(scheduled, status):
    return Search.objects.create(keywords=["SSM"], platforms=["news"], scheduled_search=scheduled, status=status)


def test_after_success_the_on_success_schedule_runs_with_this_search_as_parent():
    follow = make_schedule(name="follow")
    scheduled = make_schedule(on_success=follow)
    search = finished_search(scheduled, Search.Status.SUCCEEDED)
    started = services.follow_up_after(scheduled_search_id=scheduled.pk, search_id=str(search.pk))
    assert started.scheduled_search == follow and started.parent == search and started.trigger == "schedule"


@pytest.mark.parametrize("status", [Search.Status.FAILED, Search.Status.PARTIAL])
def test_a_failed_or_partial_search_runs_the_on_failure_schedule(status):
    rescue, follow = make_schedule(name="rescue"), make_schedule(name="follow")
    scheduled = make_schedule(on_success=follow, on_failure_action="run", on_failure_run=rescue)
    started = services.follow_up_after(scheduled_search_id=scheduled.pk,
                                       search_id=str(finished_search(scheduled, status).pk))
    assert started.scheduled_search == rescue


def test_a_failure_with_the_alert_action_alerts_the_channels_naming_the_schedule(mailoutbox):
    from pulse.alert_models import AlertChannel, AlertEvent

    AlertChannel.objects.create(name="ops", kind="email", target="ops@example.com")
    scheduled = make_schedule(name="SSM alerts", on_failure_action="alert")
    search = finished_search(scheduled, Search.Status.FAILED)
    assert services.follow_up_after(scheduled_search_id=scheduled.pk, search_id=str(search.pk)) is None
    event = AlertEvent.objects.get(rule="scheduled_search_failed")
    assert event.subject == "Scheduled search 'SSM alerts' failed" and event.outcome == "sent"
    assert mailoutbox[0].subject == "[Pulse] Scheduled search 'SSM alerts' failed"
    assert str(search.pk) in mailoutbox[0].body


def test_a_cancelled_search_has_no_follow_up():
    follow = make_schedule(name="follow")
    scheduled = make_schedule(on_success=follow, on_failure_action="run", on_failure_run=follow)
    search = finished_search(scheduled, Search.Status.CANCELLED)
    assert services.follow_up_after(scheduled_search_id=scheduled.pk, search_id=str(search.pk)) is None
    assert Search.objects.count() == 1



def test_re_enabling_a_passed_one_off_with_its_unchanged_time_is_refused_but_a_new_time_is_accepted():
    scheduled = make_schedule(schedule={"once": "2030-01-01T09:00:00"})
    ClockedSchedule.objects.filter(pk=scheduled.periodic_task.clocked_id).update(
        clocked_time=timezone.now() - timedelta(hours=1)
    )
    services.schedule_pause(scheduled_search=scheduled)
    unchanged = selectors.schedule_as_dict(scheduled_search=scheduled)["schedule"]
    with pytest.raises(ValidationError) as caught:
        # What the admin form sends: every field, the old time included.
        services.schedule_update(scheduled_search=scheduled, enabled=True, schedule=unchanged)
    assert "set a new date and time" in caught.value.message_dict["schedule"][0]
    services.schedule_update(scheduled_search=scheduled, enabled=True, schedule={"once": "2031-01-01T09:00:00"})
    task = PeriodicTask.objects.get(pk=scheduled.periodic_task_id)
    assert task.enabled and task.last_run_at is None


def test_a_schedule_whose_platform_left_the_registry_is_reported_not_run(caplog):
    from scraping.platforms import registry

    registry.register("gone-soon", "tests.support.scrapers.OkScraper", default=False)
    try:
        scheduled = make_schedule(name="SSM gone", platforms=["gone-soon"], on_failure_action="alert")
    finally:
        registry.unregister("gone-soon")
    with caplog.at_level(logging.ERROR, logger="schedules.services"):
        assert services.scheduled_search_execute(scheduled_search_id=scheduled.pk) is None
    assert "Scheduled search 'SSM gone' cannot run: platforms:" in caplog.text
    assert "ALERT Scheduled search 'SSM gone' failed" in caplog.text
    assert not Search.objects.exists()
