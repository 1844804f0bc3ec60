"""Restart PostgreSQL under a running worker and beat (a private cluster; see conftest)."""

from __future__ import annotations

import time
import uuid
from types import SimpleNamespace

from django.conf import settings

from tests.faults.conftest import broker_client, wait_until
from tests.support.scrapers import ITEMS_PER_KEYWORD, OkScraper, SlowScraper, query_key


def test_worker_and_beat_survive_a_postgres_restart_and_use_the_database_again_at_once(
    postgres_up, private_redis, fault_processes, records
):
    env = {
        "DATABASE_URL": postgres_up.url,
        "REDIS_URL": private_redis.url(),
        "PULSE_TEST_RECORD_REDIS_URL": settings.REDIS_URL,
    }
    beat_key, count_key = f"pg-beat-{uuid.uuid4().hex}", f"pg-count-{uuid.uuid4().hex}"
    postgres_up.run_django(
        "import json\n"
        "from django_celery_beat.models import IntervalSchedule, PeriodicTask\n"
        "every, _ = IntervalSchedule.objects.get_or_create(every=1, period='seconds')\n"
        f"PeriodicTask.objects.create(name='record {beat_key}', task='faults.record', interval=every,"
        f" args=json.dumps(['{beat_key}', 'beat']), queue='http')\n"
    )
    worker = fault_processes.worker(env=env, queues="celery,http", name="pg-restart")
    beat = fault_processes.beat(env=env)
    worker_pid = worker.pid
    client = broker_client(private_redis.url())
    beat.wait_for(lambda: len(records(beat_key)) >= 2, timeout=40, what="beat's task to run twice")
    # Beat adds its own housekeeping task at start, so count after it started.
    tasks_in_database = postgres_up.query("select count(*) from django_celery_beat_periodictask")[0][0]
    # The worker now holds a persistent connection (CONN_MAX_AGE) that the restart will break.
    assert client.send_task("faults.count_periodic_tasks", args=[count_key], queue="http").get(timeout=20) == (
        tasks_in_database
    )

    postgres_up.restart(down_for=3.0)
    runs_after_restart = len(records(beat_key))

    # The first task after the restart must not trip over the dead connection.
    assert client.send_task("faults.count_periodic_tasks", args=[count_key], queue="http").get(timeout=20) == (
        tasks_in_database
    )
    beat.wait_for(
        lambda: len(records(beat_key)) >= runs_after_restart + 3,
        timeout=40,
        what="beat to keep dispatching after the restart",
    )
    assert worker.is_running() and worker.pid == worker_pid, "the worker restarted"
    assert beat.is_running(), f"beat died:\n{beat.log_tail()}"
    assert postgres_up.query(
        "select count(*) from django_celery_beat_periodictask where name = %s and enabled", (f"record {beat_key}",)
    ) == [(1,)]


def test_a_search_whose_database_goes_away_while_storing_retries_with_backoff_and_succeeds(
    postgres_up, private_redis, fault_processes
):
    env = {"DATABASE_URL": postgres_up.url, "REDIS_URL": private_redis.url()}
    worker = fault_processes.worker(env=env, concurrency=2, name="pg-search")
    worker_pid = worker.pid
    client = broker_client(private_redis.url())
    markers = private_redis.client()
    keyword = f"pg{uuid.uuid4().hex[:10]}"
    key = query_key(SimpleNamespace(keywords=(keyword,)))
    platforms = [SlowScraper.name, OkScraper.name]

    result = client.send_task("pulse.search", kwargs={"keywords": [keyword], "platforms": platforms})
    wait_until(lambda: markers.get(f"pulse:test:slow-started:{key}"), timeout=30, what="the slow platform to start")
    wait_until(
        lambda: postgres_up.query(
            "select r.status from scraping_platformrun r join scraping_search s on s.id = r.search_id "
            "where s.keywords ->> 0 = %s and r.platform = %s", (keyword, OkScraper.name)
        ) == [("succeeded",)],
        timeout=30,
        what="the quick platform to finish",
    )  # fmt: skip

    # The database goes away just as the slow platform hands over its items for storing.
    postgres_up.stop()
    markers.set(f"pulse:test:slow-release:{key}", "1", ex=120)
    worker.wait_for_log("the database is unavailable", timeout=30)
    time.sleep(3)  # stay down across more than one retry
    postgres_up.start()

    summary = result.get(timeout=120)
    assert summary["status"] == "succeeded", summary
    ((status, found, new, matches),) = postgres_up.query(
        "select status, mentions_found, mentions_new, "
        "(select count(*) from scraping_mentionmatch m where m.search_id = s.id) from scraping_search s "
        "where s.id = %s", (summary["search_id"],)
    )  # fmt: skip
    expected = ITEMS_PER_KEYWORD * len(platforms)
    assert (status, found, new, matches) == ("succeeded", expected, expected, expected)
    ((slow_status, slow_attempts),) = postgres_up.query(
        "select status, attempts from scraping_platformrun where search_id = %s and platform = %s",
        (summary["search_id"], SlowScraper.name),
    )
    assert slow_status == "succeeded" and slow_attempts >= 2
    assert worker.is_running() and worker.pid == worker_pid, "the worker restarted"
    assert worker.log().count("the database is unavailable") <= 8, "retried without backing off"
