"""kill -9 the pool process running a real ``pulse.search`` platform task, mid-scrape.

The search runs through the real pipeline (chord of ``pulse.scrape_platform`` + finalize) on two
real workers against the test database and a private Redis (so no other worker takes its tasks).
The ``test-slow`` platform (tests/support/scrapers.py) marks in Redis that it started and waits
until the test releases it, which gives a known moment to kill it.
"""

from __future__ import annotations

import os
import signal
import uuid
from types import SimpleNamespace

from scraping.models import Mention, MentionMatch, PlatformRun, Search
from tests.faults.conftest import broker_client, wait_until
from tests.support.scrapers import ITEMS_PER_KEYWORD, BrowserOkScraper, OkScraper, SlowScraper, query_key

SLOW = SlowScraper.name
PLATFORMS = [SLOW, OkScraper.name, BrowserOkScraper.name]


def slow_key(keyword: str) -> str:
    """The Redis key part the slow test platform uses for a query of one keyword."""
    return query_key(SimpleNamespace(keywords=(keyword,)))


def running_pid(client, task_name: str, args: list) -> int | None:
    """The pool process running ``task_name(*args)`` now, from the workers' own answer to inspect."""
    for tasks in (client.control.inspect(timeout=1).active() or {}).values():
        for task in tasks:
            if task["name"] == task_name and list(task["args"]) == args:
                return task["worker_pid"]
    return None


def test_a_search_whose_platform_task_is_killed_mid_scrape_completes_and_stores_each_mention_once(
    private_redis, fault_processes, test_database_env
):
    env = {**test_database_env, "REDIS_URL": private_redis.url()}
    first = fault_processes.worker(env=env, name="search-a", wait=False)
    second = fault_processes.worker(env=env, name="search-b", wait=False)
    client = broker_client(private_redis.url())
    for worker in (first, second):
        worker.wait_for(
            lambda worker=worker: client.control.ping(destination=[worker.node_name], timeout=0.5),
            timeout=60,
            what="the worker to answer ping",
        )
    keyword = f"kill{uuid.uuid4().hex[:10]}"
    key = slow_key(keyword)
    markers = private_redis.client()

    result = client.send_task("pulse.search", kwargs={"keywords": [keyword], "platforms": PLATFORMS})
    wait_until(lambda: markers.get(f"pulse:test:slow-started:{key}"), timeout=30, what="test-slow to start")
    slow_run = PlatformRun.objects.get(search__keywords=[keyword], platform=SLOW)
    victim = wait_until(
        lambda: running_pid(client, "pulse.scrape_platform", [slow_run.pk]), timeout=10, what="its pool pid"
    )
    markers.delete(f"pulse:test:slow-started:{key}")
    os.kill(victim, signal.SIGKILL)
    # The redelivered task starts the scrape again; let that second attempt finish.
    wait_until(lambda: markers.get(f"pulse:test:slow-started:{key}"), timeout=30, what="test-slow to run again")
    markers.set(f"pulse:test:slow-release:{key}", "1", ex=120)

    summary = result.get(timeout=60)
    assert summary["status"] == "succeeded", summary
    search = Search.objects.get(pk=summary["search_id"])
    assert search.status == Search.Status.SUCCEEDED
    expected = ITEMS_PER_KEYWORD * len(PLATFORMS)
    assert search.mentions_new == search.mentions_found == expected
    assert MentionMatch.objects.filter(search=search).count() == expected
    assert Mention.objects.filter(matches__search=search).distinct().count() == expected
    for platform in PLATFORMS:
        run = PlatformRun.objects.get(search=search, platform=platform)
        assert (run.status, run.found, run.new, run.duplicate) == ("succeeded", ITEMS_PER_KEYWORD, ITEMS_PER_KEYWORD, 0)
    assert PlatformRun.objects.get(search=search, platform=SLOW).attempts == 2
    assert "WorkerLostError" in first.log() + second.log()
