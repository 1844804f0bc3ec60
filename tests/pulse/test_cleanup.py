"""Run-history retention: old finished searches go (with runs and matches), mentions stay."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django_celery_beat.models import IntervalSchedule, PeriodicTask

from pulse.celery import app
from pulse.maintenance import history_cleanup, operations_periodic_tasks_ensure
from scraping.models import Mention, MentionMatch, PlatformRun, Search
from tests.support.factories import make_mention, make_search

pytestmark = pytest.mark.django_db


def test_searches_finished_before_the_retention_are_deleted_with_runs_and_matches(settings):
    settings.PULSE_HISTORY_RETENTION_DAYS = 90
    old = make_search(finished_ago=timedelta(days=91), platforms=("news", "web"))
    recent = make_search(finished_ago=timedelta(days=89))
    mention = make_mention(search=old)
    make_mention(search=recent)

    assert history_cleanup() == 1

    assert list(Search.objects.all()) == [recent]
    assert not PlatformRun.objects.filter(search_id=old.pk).exists()
    assert not MentionMatch.objects.filter(search_id=old.pk).exists()
    assert Mention.objects.filter(pk=mention.pk).exists()  # mentions are kept
    assert Mention.objects.count() == 2


def test_unfinished_searches_are_kept_however_old():
    running = make_search(status=Search.Status.RUNNING, finished_ago=None)
    Search.objects.filter(pk=running.pk).update(created_at=running.created_at - timedelta(days=400))
    assert history_cleanup() == 0
    assert Search.objects.filter(pk=running.pk).exists()


def test_a_finished_search_without_a_finish_time_is_aged_by_its_creation():
    stuck = make_search(status=Search.Status.CANCELLED, finished_ago=None)
    Search.objects.filter(pk=stuck.pk).update(created_at=stuck.created_at - timedelta(days=100))
    assert history_cleanup() == 1


def test_deletion_happens_in_batches():
    for _ in range(5):
        make_search(finished_ago=timedelta(days=200))
    with CaptureQueriesContext(connection) as queries:
        assert history_cleanup(batch_size=2) == 5
    picks = [query for query in queries.captured_queries if query["sql"].endswith("LIMIT 2")]
    assert len(picks) == 4  # 2 + 2 + 1, then one empty pick that ends the loop
    assert Search.objects.count() == 0


def test_the_cleanup_and_alert_tasks_are_scheduled_once_and_admin_edits_survive():
    assert operations_periodic_tasks_ensure() == [
        ("Operations: check alert rules", True),
        ("Operations: delete old run history", True),
    ]
    cleanup = PeriodicTask.objects.get(task="pulse.cleanup_history")
    check = PeriodicTask.objects.get(task="pulse.check_alerts")
    assert check.interval.every == 60 and check.interval.period == "seconds"
    assert (cleanup.crontab.minute, cleanup.crontab.hour) == ("17", "3")

    every_five, _ = IntervalSchedule.objects.get_or_create(every=300, period="seconds")
    check.interval, check.enabled = every_five, False
    check.save()
    assert [created for _, created in operations_periodic_tasks_ensure()] == [False, False]

    assert PeriodicTask.objects.filter(task="pulse.check_alerts").count() == 1
    check.refresh_from_db()
    assert (check.interval.every, check.enabled) == (300, False)


@pytest.mark.slow
def test_the_cleanup_task_runs_on_a_real_worker(worker, settings):
    make_search(finished_ago=timedelta(days=120))
    make_search(finished_ago=timedelta(days=1))
    result = app.send_task("pulse.cleanup_history", queue="http")
    assert result.get(timeout=30) == {"deleted_searches": 1}
    assert Search.objects.count() == 1


def test_the_setup_command_reports_what_it_created_and_kept():
    from io import StringIO

    from django.core.management import call_command

    first, second = StringIO(), StringIO()
    call_command("setup_operations_tasks", stdout=first)
    call_command("setup_operations_tasks", stdout=second)
    assert first.getvalue().splitlines() == [
        "created: Operations: check alert rules",
        "created: Operations: delete old run history",
    ]
    assert second.getvalue().startswith("kept: ")
    assert PeriodicTask.objects.filter(name__startswith="Operations: ").count() == 2


def test_alert_events_older_than_the_retention_are_deleted_too(settings):
    from django.utils import timezone

    from pulse.alert_models import AlertEvent

    settings.PULSE_HISTORY_RETENTION_DAYS = 30
    old = AlertEvent.objects.create(
        rule="r", key="old", subject="s", outcome="sent", sent_at=timezone.now() - timedelta(days=31)
    )
    recent = AlertEvent.objects.create(rule="r", key="recent", subject="s", outcome="sent")
    history_cleanup()
    assert list(AlertEvent.objects.values_list("key", flat=True)) == ["recent"]
    assert not AlertEvent.objects.filter(pk=old.pk).exists() and recent.pk
