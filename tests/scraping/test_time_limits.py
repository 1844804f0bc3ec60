"""Browser-queue time limits with a worker of its own whose limits are a few seconds."""

from __future__ import annotations

import time

import pytest
from celery.exceptions import ChordError, TimeoutError

from pulse.celery import app
from scraping.models import PlatformRun, Search
from tests.conftest import start_worker

pytestmark = pytest.mark.slow
LIMITS_QUEUE = "test-short-limits"


@pytest.fixture(scope="module")
def short_limit_worker(django_db_setup, django_db_blocker):
    """A worker whose settings give browser tasks 1 s soft / 3 s hard limits.

    The limits travel in each platform task's message, set by the process that builds the search's
    canvas; so these tests send ``pulse.search`` to a queue only this worker consumes, and the
    platform tasks carry its short limits to whichever worker runs them.
    """
    worker, _ = start_worker(
        queues=f"{LIMITS_QUEUE},celery,http,browser",
        concurrency=2,
        name="limits",
        extra_env={"PULSE_BROWSER_TASK_SOFT_TIME_LIMIT": "1", "PULSE_BROWSER_TASK_TIME_LIMIT": "3"},
    )
    yield worker
    worker.stop()


@pytest.fixture
def limits_worker(short_limit_worker, transactional_db):
    return short_limit_worker


def test_a_browser_task_past_its_soft_limit_is_recorded_as_failed_and_the_search_ends_partial(
    limits_worker, keyword
):
    # test-slow waits for a release that never comes; the soft limit interrupts it after 1 s.
    result = app.send_task(
        "pulse.search",
        kwargs={"keywords": [keyword], "platforms": ["test-slow", "test-ok"]},
        queue=LIMITS_QUEUE,
    )
    try:
        summary = result.get(timeout=30)
    except TimeoutError as error:
        raise AssertionError(f"no summary; limits worker log:\n{limits_worker.log_tail(80)}") from error

    assert summary["status"] == "partial"
    assert summary["platforms"]["test-slow"]["status"] == "failed"
    assert "soft time limit" in summary["platforms"]["test-slow"]["error"]
    assert (
        PlatformRun.objects.get(search_id=summary["search_id"], platform="test-slow").error_kind
        == "transient"
    )


def test_a_browser_task_killed_at_its_hard_limit_still_leaves_a_finished_search(limits_worker, keyword):
    result = app.send_task(
        "pulse.search",
        kwargs={"keywords": [keyword], "platforms": ["test-stubborn", "test-ok"]},
        queue=LIMITS_QUEUE,
    )
    with pytest.raises(ChordError):
        result.get(timeout=30)

    deadline = time.monotonic() + 20
    search = Search.objects.get(celery_task_id=result.id)
    while not search.is_finished and time.monotonic() < deadline:
        time.sleep(0.1)
        search.refresh_from_db()
    assert search.status == "partial"
    stubborn = PlatformRun.objects.get(search=search, platform="test-stubborn")
    assert stubborn.status == "failed" and "never reported back" in stubborn.error_message
    assert PlatformRun.objects.get(search=search, platform="test-ok").status == "succeeded"
