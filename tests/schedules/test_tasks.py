"""The scheduled-search task and the follow-up chain, run by a real worker against PostgreSQL and Redis.

Until the search pipeline's canvas is installed, the search canvas in the follow-up tests is a
small test task: it proves the Celery links (success chain and error callback) and the follow-up
tasks in a real worker; the Search row's status, set here, stands for the finished search.
"""

from __future__ import annotations

import time

import pytest
from celery import signature

from schedules import services
from scraping.models import Search
from tests.schedules.factories import make_schedule


def wait_until(predicate, *, timeout: float, what: str, worker):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = predicate()
        if result:
            return result
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}; worker log:\n{worker.log_tail(40)}")


def test_the_scheduled_search_task_sent_by_name_starts_a_search_for_the_schedule(worker, celery_app):
    scheduled = make_schedule(keywords=["SSM"], platforms=["news"])
    result = celery_app.send_task("pulse.scheduled_search", kwargs={"scheduled_search_id": scheduled.pk})
    summary = result.get(timeout=30)
    search = Search.objects.get(pk=summary["search_id"])
    assert (search.scheduled_search_id, search.trigger, search.keywords) == (scheduled.pk, "schedule", ["SSM"])


def test_the_scheduled_search_task_runs_nothing_for_a_paused_or_missing_schedule(worker, celery_app):
    paused = make_schedule(enabled=False)
    assert celery_app.send_task("pulse.scheduled_search", kwargs={"scheduled_search_id": paused.pk}).get(timeout=30) is None
    assert celery_app.send_task("pulse.scheduled_search", kwargs={"scheduled_search_id": 987654}).get(timeout=30) is None
    assert not Search.objects.exists()
    assert "is paused; not running it" in worker.log()


def test_the_scheduled_search_task_refuses_kwargs_that_are_not_an_id(worker, celery_app):
    result = celery_app.send_task("pulse.scheduled_search", kwargs={"scheduled_search_id": "7; DROP"})
    with pytest.raises(TypeError, match="scheduled_search_id"):
        result.get(timeout=30)


def start_with_follow_ups(scheduled, search_canvas, *, status):
    search = Search.objects.create(keywords=["SSM"], platforms=["news"], scheduled_search=scheduled,
                                   trigger="schedule", status=status)
    services.with_follow_ups(canvas=search_canvas, scheduled_search=scheduled, search=search).apply_async()
    return search


def test_after_a_successful_run_the_worker_starts_the_on_success_schedule(worker):
    next_one = make_schedule(name="after success")
    scheduled = make_schedule(name="first", on_success=next_one)
    search = start_with_follow_ups(scheduled, signature("tests.add", args=(1, 2)), status=Search.Status.SUCCEEDED)
    follow_up = wait_until(lambda: Search.objects.filter(parent=search).first(), timeout=30,
                           what="the on_success search", worker=worker)
    assert follow_up.scheduled_search == next_one and follow_up.trigger == "schedule"


def test_after_a_partial_run_the_worker_starts_the_on_failure_schedule_not_on_success(worker):
    rescue, next_one = make_schedule(name="rescue"), make_schedule(name="after success")
    scheduled = make_schedule(name="first", on_success=next_one, on_failure_action="run", on_failure_run=rescue)
    search = start_with_follow_ups(scheduled, signature("tests.add", args=(1, 2)), status=Search.Status.PARTIAL)
    follow_up = wait_until(lambda: Search.objects.filter(parent=search).first(), timeout=30,
                           what="the on_failure search", worker=worker)
    assert follow_up.scheduled_search == rescue
    assert Search.objects.filter(parent=search).count() == 1


def test_when_the_search_canvas_raises_the_error_callback_runs_the_on_failure_schedule(worker):
    rescue = make_schedule(name="rescue")
    scheduled = make_schedule(name="first", on_failure_action="run", on_failure_run=rescue)
    # "a" + 1 raises TypeError inside the worker: the chain's link_error must take over.
    search = start_with_follow_ups(scheduled, signature("tests.add", args=("a", 1)), status=Search.Status.RUNNING)
    follow_up = wait_until(lambda: Search.objects.filter(parent=search).first(), timeout=30,
                           what="the on_failure search started by the error callback", worker=worker)
    assert follow_up.scheduled_search == rescue


def test_a_failed_run_with_the_alert_action_sends_an_alert_to_the_channels(worker):
    import json

    from pulse.alert_models import AlertChannel
    from tests.support.receiver import start_receiver

    receiver, server = start_receiver()
    try:
        AlertChannel.objects.create(name="ops", kind="webhook", target=receiver.url)
        scheduled = make_schedule(name="SSM alert on failure", on_failure_action="alert")
        start_with_follow_ups(scheduled, signature("tests.add", args=(2, 2)), status=Search.Status.FAILED)
        [request] = receiver.wait_for(1, timeout=30)
    finally:
        server.shutdown()
        server.server_close()
    body = json.loads(request.body)
    assert (body["rule"], body["key"]) == ("scheduled_search_failed", str(scheduled.pk))
    assert body["subject"] == "Scheduled search 'SSM alert on failure' failed"
