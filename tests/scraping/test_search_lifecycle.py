"""Starting, watching, cancelling and chaining searches through a real worker."""

from __future__ import annotations

import time

import pytest
import redis
from celery import chain
from celery.result import AsyncResult
from django.conf import settings

from pulse.celery import app
from scraping import services
from scraping.models import Mention, PlatformRun, Search
from scraping.platforms.base import Query
from tests.support.scrapers import ITEMS_PER_KEYWORD, query_key

TIMEOUT = 60


def wait_until(predicate, *, timeout: float = 30, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.fixture
def slow_platform(keyword):
    """Controls the test-slow platform for searches with [keyword]: started(), release(), track(result).

    At teardown it releases the platform and waits for the tracked search to finish, so no task
    is still writing when the test database is emptied.
    """
    client = redis.Redis.from_url(settings.REDIS_URL)
    key = query_key(Query(keywords=(keyword,)))
    tracked = []

    class Control:
        def started(self) -> bool:
            return bool(client.get(f"pulse:test:slow-started:{key}"))

        def release(self) -> None:
            client.set(f"pulse:test:slow-release:{key}", "1", ex=120)

        def track(self, result):
            tracked.append(result)
            return result

    control = Control()
    yield control
    control.release()
    for result in tracked:
        try:
            result.get(timeout=TIMEOUT, propagate=False)
        except Exception:  # noqa: BLE001  the test has failed already; this only protects the next one
            pass


def test_search_start_enqueues_after_commit_and_the_stored_task_id_returns_the_summary(worker, keyword):
    search = services.search_start(keywords=[keyword], platforms=["test-ok"], trigger="admin")

    summary = AsyncResult(search.celery_task_id, app=app).get(timeout=TIMEOUT)
    assert summary["search_id"] == str(search.pk)
    assert summary["status"] == "succeeded"
    search.refresh_from_db()
    assert search.trigger == "admin"
    assert search.status == Search.Status.SUCCEEDED


def test_progress_is_visible_on_the_task_and_the_row_while_a_platform_is_still_running(
    worker, keyword, slow_platform
):
    result = slow_platform.track(
        app.send_task("pulse.search", kwargs={"keywords": [keyword], "platforms": ["test-ok", "test-slow"]})
    )
    wait_until(slow_platform.started, what="the slow platform to start")
    search = wait_until(
        lambda: Search.objects.filter(celery_task_id=result.id, platforms_done=1).first(),
        what="the quick platform to finish",
    )
    # The task's progress is published just after the row commits.
    wait_until(lambda: (result.info or {}).get("platforms_done") == 1, what="the progress on the task")
    assert result.state == "PROGRESS"
    assert result.info == {
        "search_id": str(search.pk),
        "platforms_done": 1,
        "platforms_total": 2,
        "mentions_found": ITEMS_PER_KEYWORD,
        "mentions_new": ITEMS_PER_KEYWORD,
    }
    assert search.status == Search.Status.RUNNING

    slow_platform.release()
    assert result.get(timeout=TIMEOUT)["status"] == "succeeded"


def test_cancelling_mid_search_marks_it_cancelled_discards_late_items_and_the_chord_completes(
    worker, keyword, slow_platform
):
    result = slow_platform.track(
        app.send_task("pulse.search", kwargs={"keywords": [keyword], "platforms": ["test-slow"]})
    )
    wait_until(slow_platform.started, what="the slow platform to start")
    search = Search.objects.get(celery_task_id=result.id)

    cancelled = services.search_cancel(search=search)
    assert cancelled.status == Search.Status.CANCELLED
    slow_platform.release()

    summary = result.get(timeout=TIMEOUT)
    assert summary["status"] == "cancelled"
    assert summary["platforms"]["test-slow"]["status"] == "cancelled"
    assert not Mention.objects.filter(platform="test-slow", external_id__startswith=keyword).exists()
    search.refresh_from_db()
    assert search.status == Search.Status.CANCELLED and search.finished_at is not None


def test_a_search_cancelled_before_it_starts_never_scrapes(worker, keyword):
    search, _ = services.search_create(keywords=[keyword], platforms=["test-permanent"], trigger="api")
    services.search_cancel(search=search)

    summary = app.send_task("pulse.search", kwargs={"search_id": str(search.pk)}).get(timeout=TIMEOUT)
    assert summary["status"] == "cancelled"
    assert summary["platforms"]["test-permanent"]["status"] == "cancelled"
    client = redis.Redis.from_url(settings.REDIS_URL)
    assert client.get(f"pulse:test:permanent:{query_key(Query(keywords=(keyword,)))}") is None


def test_cancelling_a_finished_search_changes_nothing(worker, keyword):
    summary = app.send_task("pulse.search", kwargs={"keywords": [keyword], "platforms": ["test-ok"]}).get(
        timeout=TIMEOUT
    )
    search = Search.objects.get(pk=summary["search_id"])
    assert services.search_cancel(search=search).status == Search.Status.SUCCEEDED


def test_two_searches_chained_run_one_after_the_other_news_first_then_social(worker, keyword):
    news, _ = services.search_create(keywords=[keyword], platforms=["test-ok"], trigger="schedule")
    social, _ = services.search_create(
        keywords=[keyword], platforms=["test-browser-ok"], trigger="schedule", parent=news
    )

    result = chain(
        services.search_signature(search=news), services.search_signature(search=social)
    ).apply_async()
    summary = result.get(timeout=TIMEOUT)

    assert summary["search_id"] == str(social.pk)
    news.refresh_from_db()
    social.refresh_from_db()
    assert news.status == social.status == Search.Status.SUCCEEDED
    assert news.finished_at <= social.started_at
    assert social.parent == news
    assert PlatformRun.objects.get(search=news).new == ITEMS_PER_KEYWORD


def test_an_unknown_search_id_alone_is_refused_with_a_hint(worker):
    result = app.send_task("pulse.search", kwargs={"search_id": "00000000-0000-0000-0000-000000000001"})
    with pytest.raises(Exception, match="search_id: no search .* exists; pass keywords too"):
        result.get(timeout=TIMEOUT)


def test_a_redelivered_search_message_reruns_unfinished_platforms_without_storing_anything_twice(
    worker, keyword, slow_platform
):
    result = slow_platform.track(
        app.send_task("pulse.search", kwargs={"keywords": [keyword], "platforms": ["test-ok", "test-slow"]})
    )
    wait_until(slow_platform.started, what="the slow platform to start")
    search = Search.objects.get(celery_task_id=result.id)
    # The broker hands the same message (same task id) out again, as after a worker was lost.
    app.send_task("pulse.search", kwargs={"search_id": str(search.pk)}, task_id=result.id)
    wait_until(
        lambda: PlatformRun.objects.filter(search=search, platform="test-slow", attempts=2).exists(),
        what="the redelivered chord to start the slow platform again",
    )
    slow_platform.release()

    summary = result.get(timeout=TIMEOUT)
    assert summary["status"] == "succeeded"
    for platform in ("test-ok", "test-slow"):
        assert summary["platforms"][platform]["new"] == ITEMS_PER_KEYWORD
        assert (
            Mention.objects.filter(platform=platform, external_id__startswith=keyword).count()
            == ITEMS_PER_KEYWORD
        )
    search.refresh_from_db()
    assert (search.platforms_done, search.mentions_found, search.mentions_new) == (2, 6, 6)
    assert PlatformRun.objects.get(search=search, platform="test-ok").attempts == 1

    def worker_idle():
        inspect = app.control.inspect(destination=[worker.node_name], timeout=1)
        active, reserved = inspect.active() or {}, inspect.reserved() or {}
        return active and not any(active.values()) and not any(reserved.values())

    # The second chord finishes on its own; let it, before the database is emptied for the next test.
    wait_until(worker_idle, what="the redelivered chord to finish")
