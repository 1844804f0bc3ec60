"""The scheduled-search task and the follow-up chain, run by a real worker with real searches.

Searches run through the real pipeline over the test platforms: ``test-ok`` succeeds,
``test-crash`` fails (its scraper raises), both together end ``partial``.
"""

from __future__ import annotations

import time
import uuid
from datetime import timedelta

import pytest
from celery import signature

from schedules import services
from scraping.models import Search
from tests.schedules.factories import make_schedule
from tests.support.scrapers import ITEMS_PER_KEYWORD


def wait_until(predicate, *, timeout: float, what: str, worker):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = predicate()
        if result:
            return result
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}; worker log:\n{worker.log_tail(40)}")


def test_the_scheduled_search_task_sent_by_name_runs_a_search_for_the_schedule(worker, celery_app):
    word = f"kw{uuid.uuid4().hex[:10]}"
    scheduled = make_schedule(keywords=[word], platforms=["test-ok"])
    result = celery_app.send_task("pulse.scheduled_search", kwargs={"scheduled_search_id": scheduled.pk})
    summary = result.get(timeout=30)
    search = finished(summary["search_id"], worker)
    assert (search.scheduled_search_id, search.trigger, search.keywords) == (scheduled.pk, "schedule", [word])
    assert search.status == Search.Status.SUCCEEDED


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


def keyword() -> str:
    return f"kw{uuid.uuid4().hex[:10]}"


def finished(search_id, worker) -> Search:
    return wait_until(
        lambda: Search.objects.filter(pk=search_id, status__in=Search.FINISHED_STATUSES).first(),
        timeout=60, what=f"search {search_id} to finish", worker=worker,
    )


def test_run_now_runs_a_real_search_that_keeps_only_content_inside_the_lookback_window(worker):
    # The test platform's items were published on 2026-11-01, weeks before "now".
    word = keyword()
    recent_only = make_schedule(keywords=[word], platforms=["test-ok"], lookback=timedelta(hours=24))
    unlimited = make_schedule(keywords=[word], platforms=["test-ok"], lookback=None)
    windowed = finished(services.schedule_run_now(scheduled_search=recent_only).pk, worker)
    everything = finished(services.schedule_run_now(scheduled_search=unlimited).pk, worker)
    assert windowed.status == everything.status == Search.Status.SUCCEEDED
    assert windowed.trigger == "admin" and windowed.since is not None and everything.since is None
    assert windowed.mentions_new == 0
    assert everything.platform_runs.get().found == ITEMS_PER_KEYWORD


def test_after_a_successful_search_the_worker_starts_the_on_success_schedule(worker):
    next_one = make_schedule(name="after success", keywords=[keyword()], platforms=["test-ok"])
    scheduled = make_schedule(name="first", keywords=[keyword()], platforms=["test-ok"], on_success=next_one,
                              on_failure_action="alert")
    search = services.schedule_run_now(scheduled_search=scheduled, trigger="schedule")
    follow_up = wait_until(lambda: Search.objects.filter(parent=search).first(), timeout=60,
                           what="the on_success search", worker=worker)
    assert finished(search.pk, worker).status == Search.Status.SUCCEEDED
    assert follow_up.scheduled_search == next_one and follow_up.trigger == "schedule"
    assert finished(follow_up.pk, worker).status == Search.Status.SUCCEEDED
    assert "ALERT Scheduled search 'first'" not in worker.log()


@pytest.mark.parametrize(
    ("platforms", "status"),
    [(["test-crash"], Search.Status.FAILED), (["test-ok", "test-crash"], Search.Status.PARTIAL)],
    ids=["failed", "partial"],
)
def test_after_a_failed_or_partial_search_the_worker_starts_the_on_failure_schedule(worker, platforms, status):
    rescue = make_schedule(name="rescue", keywords=[keyword()], platforms=["test-ok"])
    success = make_schedule(name="after success", keywords=[keyword()], platforms=["test-ok"])
    scheduled = make_schedule(name="first", keywords=[keyword()], platforms=platforms, on_success=success,
                              on_failure_action="run", on_failure_run=rescue)
    search = services.schedule_run_now(scheduled_search=scheduled, trigger="schedule")
    follow_up = wait_until(lambda: Search.objects.filter(parent=search).first(), timeout=60,
                           what="the on_failure search", worker=worker)
    assert finished(search.pk, worker).status == status
    assert follow_up.scheduled_search == rescue
    assert Search.objects.filter(parent=search).count() == 1


def test_a_failed_search_with_the_alert_action_logs_an_error_in_the_worker(worker):
    scheduled = make_schedule(name="SSM alert on failure", keywords=[keyword()], platforms=["test-crash"],
                              on_failure_action="alert")
    search = services.schedule_run_now(scheduled_search=scheduled)
    wait_until(lambda: f"ALERT Scheduled search 'SSM alert on failure' failed: the search ended failed" in worker.log(),
               timeout=60, what="the alert in the worker log", worker=worker)
    assert finished(search.pk, worker).status == Search.Status.FAILED


def test_when_a_task_of_the_run_raises_the_error_callback_runs_the_on_failure_schedule(worker):
    """The pipeline records platform failures as results; this covers a task that raises all the same."""
    rescue = make_schedule(name="rescue", keywords=[keyword()], platforms=["test-ok"])
    scheduled = make_schedule(name="first", on_failure_action="run", on_failure_run=rescue)
    search = Search.objects.create(keywords=["SSM"], platforms=["news"], scheduled_search=scheduled,
                                   trigger="schedule", status=Search.Status.RUNNING)
    # "a" + 1 raises TypeError inside the worker: the chain's link_error must take over.
    canvas = services.with_follow_ups(canvas=signature("tests.add", args=("a", 1)), scheduled_search=scheduled,
                                      search=search)
    canvas.apply_async()
    follow_up = wait_until(lambda: Search.objects.filter(parent=search).first(), timeout=30,
                           what="the on_failure search started by the error callback", worker=worker)
    assert follow_up.scheduled_search == rescue


def test_a_failed_search_with_the_alert_action_sends_an_alert_to_the_channels(worker):
    import json

    from pulse.alert_models import AlertChannel
    from tests.support.receiver import start_receiver

    receiver, server = start_receiver()
    try:
        AlertChannel.objects.create(name="ops", kind="webhook", target=receiver.url)
        scheduled = make_schedule(name="SSM alert to channels", keywords=[keyword()], platforms=["test-crash"],
                                  on_failure_action="alert")
        search = services.schedule_run_now(scheduled_search=scheduled)

        def ours():
            # Other alert rules (e.g. "search_failed") may post about the same search too.
            return [body for body in (json.loads(request.body) for request in receiver.requests)
                    if body["rule"] == "scheduled_search_failed"]

        [body] = wait_until(ours, timeout=60, what="the scheduled_search_failed alert", worker=worker)
    finally:
        server.shutdown()
        server.server_close()
    assert body["key"] == str(scheduled.pk)
    assert body["subject"] == "Scheduled search 'SSM alert to channels' failed"
    assert finished(search.pk, worker).status == Search.Status.FAILED
