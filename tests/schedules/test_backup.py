"""export_schedules / import_schedules: the documented format, all-or-nothing, idempotent by name."""

from __future__ import annotations

import io
import json
from datetime import timedelta

import pytest
from django.core.management import CommandError, call_command
from django_celery_beat.models import PeriodicTask

from schedules.models import ScheduledSearch
from tests.schedules.factories import make_schedule

pytestmark = pytest.mark.django_db


def export_text() -> str:
    out = io.StringIO()
    call_command("export_schedules", stdout=out)
    return out.getvalue()


def run_import(path, *args) -> str:
    out = io.StringIO()
    call_command("import_schedules", str(path), *args, stdout=out)
    return out.getvalue()


def make_one_of_each():
    rescue = make_schedule(name="rescue", schedule={"every": 1, "period": "days"}, enabled=False)
    make_schedule(name="SSM weekday", schedule={"cron": "0 9 * * 1-5"}, timezone="Europe/London",
                  on_success=rescue, on_failure_action="run", on_failure_run=rescue)
    make_schedule(name="SSM once", schedule={"once": "2030-12-01T09:00:00"}, lookback=None)
    make_schedule(name="SSM sunrise", schedule={"solar": "sunrise", "latitude": 3.139, "longitude": 101.6869},
                  platforms=["news", "facebook", "instagram"], lookback=timedelta(hours=1.5),
                  on_failure_action="alert", misfire_policy="skip", misfire_grace_seconds=60)


def test_export_import_export_round_trips_byte_for_byte_into_an_empty_database(tmp_path):
    make_one_of_each()
    first = export_text()
    path = tmp_path / "schedules.json"
    path.write_text(first)
    ScheduledSearch.objects.all().delete()
    assert not PeriodicTask.objects.filter(task="pulse.scheduled_search").exists()
    report = run_import(path)
    assert "4 created" in report
    assert export_text() == first


def test_importing_the_same_file_again_changes_nothing_and_never_duplicates(tmp_path):
    make_one_of_each()
    path = tmp_path / "schedules.json"
    path.write_text(export_text())
    counts = (ScheduledSearch.objects.count(), PeriodicTask.objects.count())
    stamps = set(ScheduledSearch.objects.values_list("name", "updated_at"))
    task_stamps = set(PeriodicTask.objects.values_list("name", "date_changed"))
    assert "0 created, 0 updated, 4 unchanged" in run_import(path)
    assert (ScheduledSearch.objects.count(), PeriodicTask.objects.count()) == counts
    assert set(ScheduledSearch.objects.values_list("name", "updated_at")) == stamps
    assert set(PeriodicTask.objects.values_list("name", "date_changed")) == task_stamps


def test_export_writes_a_file_when_given_one(tmp_path):
    make_schedule(name="SSM news")
    path = tmp_path / "out.json"
    call_command("export_schedules", str(path), stderr=io.StringIO())
    assert [entry["name"] for entry in json.loads(path.read_text())] == ["SSM news"]


def test_the_minimal_documented_format_imports_with_defaults(tmp_path):
    path = tmp_path / "minimal.json"
    path.write_text(json.dumps([
        {"name": "SSM news", "keywords": ["SSM"], "platforms": ["news"], "max_results": 50,
         "schedule": {"cron": "*/15 * * * *"}, "timezone": "Asia/Kuala_Lumpur", "enabled": True},
        {"name": "SSM every 2h", "keywords": ["SSM"], "platforms": ["news"], "schedule": {"every": 2, "period": "hours"}},
    ]))
    run_import(path)
    row = ScheduledSearch.objects.get(name="SSM every 2h")
    assert row.periodic_task.interval.every == 2 and row.lookback == timedelta(hours=24) and row.enabled


def test_an_import_updates_by_name_and_keeps_what_the_file_does_not_mention(tmp_path):
    existing = make_schedule(name="SSM news", keywords=["SSM"], misfire_policy="skip")
    path = tmp_path / "update.json"
    path.write_text(json.dumps([{"name": "SSM news", "keywords": ["SSM", "Bursa"], "platforms": ["news"],
                                 "schedule": {"cron": "0 * * * *"}}]))
    assert "1 updated" in run_import(path)
    existing.refresh_from_db()
    assert existing.keywords == ["SSM", "Bursa"] and existing.misfire_policy == "skip"
    assert existing.periodic_task.crontab.hour == "*"


def test_a_dry_run_reports_and_writes_nothing(tmp_path):
    path = tmp_path / "new.json"
    path.write_text(json.dumps([{"name": "SSM news", "keywords": ["SSM"], "platforms": ["news"],
                                 "schedule": {"cron": "0 * * * *"}}]))
    report = run_import(path, "--dry-run")
    assert "Would create 'SSM news'" in report and "Dry run: 1 created" in report
    assert not ScheduledSearch.objects.exists() and not PeriodicTask.objects.exists()


def test_entries_missing_from_the_file_are_deleted_only_with_prune(tmp_path):
    make_schedule(name="kept")
    make_schedule(name="old")
    path = tmp_path / "one.json"
    path.write_text(json.dumps([{"name": "kept", "keywords": ["SSM"], "platforms": ["news"],
                                 "schedule": {"cron": "0 9 * * 1-5"}}]))
    run_import(path)
    assert ScheduledSearch.objects.filter(name="old").exists()
    assert "delete 'old'" in run_import(path, "--prune")
    assert list(ScheduledSearch.objects.values_list("name", flat=True)) == ["kept"]
    assert not PeriodicTask.objects.filter(name="old").exists()


def test_a_follow_up_may_name_another_entry_of_the_same_file(tmp_path):
    path = tmp_path / "chain.json"
    path.write_text(json.dumps([
        {"name": "first", "keywords": ["SSM"], "platforms": ["news"], "schedule": {"cron": "0 9 * * *"},
         "on_success": "second", "on_failure": {"run": "second"}},
        {"name": "second", "keywords": ["SSM"], "platforms": ["news"], "schedule": {"cron": "0 10 * * *"}},
    ]))
    run_import(path)
    first = ScheduledSearch.objects.get(name="first")
    assert first.on_success.name == "second" and first.on_failure_run.name == "second"


@pytest.mark.parametrize(
    ("content", "fragments"),
    [
        ("{not json", ["not valid JSON"]),
        ('{"name": "x"}', ["JSON list"]),
        ('[{"name": "a", "keywords": ["SSM"], "platforms": ["news"]}]', ["entry 0 ('a')", "missing schedule"]),
        ('[{"name": "a", "keywords": ["SSM"], "platforms": ["news"], "schedule": {"cron": "0 9 * * *"}, '
         '"colour": "red"}]', ["entry 0 ('a')", "unknown key(s) colour"]),
        ('[{"name": "ok", "keywords": ["SSM"], "platforms": ["news"], "schedule": {"cron": "0 9 * * *"}}, '
         '{"name": "bad cron", "keywords": ["SSM"], "platforms": ["news"], "schedule": {"cron": "99 9 * * *"}}]',
         ["entry 1 ('bad cron'): schedule:"]),
        ('[{"name": "a", "keywords": [], "platforms": ["tiktok"], "schedule": {"cron": "0 9 * * *"}}]',
         ["entry 0 ('a'): keywords:", "entry 0 ('a'): platforms: Unknown platform(s): tiktok"]),
        ('[{"name": "a", "keywords": ["SSM"], "platforms": ["news"], "schedule": {"cron": "0 9 * * *"}}, '
         '{"name": "a", "keywords": ["SSM"], "platforms": ["news"], "schedule": {"cron": "0 9 * * *"}}]',
         ["entry 1 ('a'): the name is used again"]),
        ('[{"name": "a", "keywords": ["SSM"], "platforms": ["news"], "schedule": {"cron": "0 9 * * *"}, '
         '"on_success": "ghost"}]', ["entry 0 ('a'): on_success: no scheduled search named 'ghost'"]),
        ('[{"name": "a", "keywords": ["SSM"], "platforms": ["news"], "schedule": {"once": "2001-01-01T00:00:00"}}]',
         ["entry 0 ('a'): schedule: The time 2001-01-01 00:00"]),
    ],
)
def test_a_bad_file_is_refused_whole_with_the_entry_and_field_named(tmp_path, content, fragments):
    make_schedule(name="untouched", keywords=["before"])
    path = tmp_path / "bad.json"
    path.write_text(content)
    with pytest.raises(CommandError) as caught:
        run_import(path)
    message = str(caught.value)
    assert message.startswith("Nothing was imported")
    for fragment in fragments:
        assert fragment in message
    assert list(ScheduledSearch.objects.values_list("name", flat=True)) == ["untouched"]


def test_follow_ups_that_loop_are_refused_and_nothing_is_written(tmp_path):
    path = tmp_path / "loop.json"
    entry = {"keywords": ["SSM"], "platforms": ["news"], "schedule": {"cron": "0 9 * * *"}}
    path.write_text(json.dumps([{"name": "a", "on_success": "b", **entry}, {"name": "b", "on_success": "a", **entry}]))
    with pytest.raises(CommandError, match="loop"):
        run_import(path)
    assert not ScheduledSearch.objects.exists() and not PeriodicTask.objects.exists()


def test_a_missing_file_gets_a_clear_error(tmp_path):
    with pytest.raises(CommandError, match="no such file"):
        run_import(tmp_path / "nope.json")
