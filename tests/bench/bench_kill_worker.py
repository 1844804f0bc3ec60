"""kill -9 a worker's pool process in the middle of a task, 20 times, and count the outcomes.

Usage:  DATABASE_URL=postgres://postgres@127.0.0.1:5432/pulse REDIS_URL=redis://127.0.0.1:6379/14 \\
        .venv/bin/python tests/bench/bench_kill_worker.py [--runs 20] [--seconds 2] [--skip-searches]
(or `make bench`). Two real prefork workers (one pool process each) consume a private queue.

Part 1, a plain task: each run sends ``faults.sleep_then_record``, waits until the task has
started, kills the pool process running it with SIGKILL, and sorts the run into one outcome:

  completed once  the task ran again (acks late + reject on worker lost) and finished exactly once
  completed twice it finished on more than one process (would store things twice without dedupe)
  lost            no finished run within the timeout

Part 2, a real search: each run starts ``pulse.search`` over three test platforms (one of them,
``test-slow``, waits until released), kills the pool process running the slow platform's task,
releases it, and sorts the search into: succeeded with every mention stored once / succeeded with
wrong counts / ended otherwise (partial, failed) / lost. It runs in its own database
(``<name>_bench_kill``, dropped at the end) with two workers consuming every Pulse queue.

Both report the time from the kill to the end.
"""

from __future__ import annotations

import argparse
import os
import signal
import statistics
import subprocess
import sys
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.settings")

import django  # noqa: E402

django.setup()

import psycopg  # noqa: E402
import redis  # noqa: E402
from django.conf import settings  # noqa: E402

from pulse.celery import app  # noqa: E402
from tests.faults.conftest import FaultProcesses, wait_until  # noqa: E402


def running_pid(client, task_name: str, args: list) -> int | None:
    for tasks in (client.control.inspect(timeout=1).active() or {}).values():
        for task in tasks:
            if task["name"] == task_name and list(task["args"]) == args:
                return task["worker_pid"]
    return None


def kill_searches(runs: int) -> None:
    """Part 2: kill -9 the slow platform's pool process in the middle of a real search, ``runs`` times."""
    from types import SimpleNamespace

    from tests.bench.bench_pipeline import bench_database_url, drop_database, recreate_database
    from tests.support.scrapers import ITEMS_PER_KEYWORD, BrowserOkScraper, OkScraper, SlowScraper, query_key

    platforms = [SlowScraper.name, OkScraper.name, BrowserOkScraper.name]
    server, name = bench_database_url()
    name = name.replace("_bench_pipeline", "_bench_kill")
    recreate_database(server, name)
    database_url = f"{server.replace('postgresql://', 'postgres://')}/{name}"
    env = {"DATABASE_URL": database_url, "REDIS_URL": settings.REDIS_URL}
    migrate = subprocess.run(
        [sys.executable, "manage.py", "migrate", "--no-input", "-v", "0"], cwd=ROOT, env={**os.environ, **env},
        capture_output=True, text=True,
    )  # fmt: skip
    if migrate.returncode:
        raise SystemExit(f"migrating the benchmark database failed:\n{migrate.stderr[-2000:]}")
    store = redis.Redis.from_url(settings.REDIS_URL, decode_responses=True)
    processes = FaultProcesses()
    outcomes = {"succeeded, each mention once": 0, "succeeded, wrong counts": 0, "ended otherwise": 0, "lost": 0}
    recovery = []
    started = time.monotonic()
    try:
        processes.worker(env=env, name="bench-search-1", concurrency=1)
        processes.worker(env=env, name="bench-search-2", concurrency=1)
        for run in range(runs):
            keyword = f"benchkill{uuid.uuid4().hex[:8]}"
            key = query_key(SimpleNamespace(keywords=(keyword,)))
            result = app.send_task("pulse.search", kwargs={"keywords": [keyword], "platforms": platforms})
            wait_until(lambda key=key: store.get(f"pulse:test:slow-started:{key}"), timeout=60, what="the slow start")
            with psycopg.connect(database_url.replace("postgres://", "postgresql://")) as connection:
                ((slow_run_id,),) = connection.execute(
                    "select r.id from scraping_platformrun r join scraping_search s on s.id = r.search_id "
                    "where s.keywords ->> 0 = %s and r.platform = %s", (keyword, SlowScraper.name),
                ).fetchall()  # fmt: skip
            victim = wait_until(
                lambda: running_pid(app, "pulse.scrape_platform", [slow_run_id]), timeout=20, what="its pid"
            )
            os.kill(victim, signal.SIGKILL)
            killed_at = time.monotonic()
            store.set(f"pulse:test:slow-release:{key}", "1", ex=300)
            try:
                summary = result.get(timeout=120)
                recovery.append(time.monotonic() - killed_at)
            except Exception:  # noqa: BLE001 - no summary in time counts as lost
                summary = None
            if summary is None:
                outcome = "lost"
            elif summary["status"] != "succeeded":
                outcome = "ended otherwise"
            else:
                with psycopg.connect(database_url.replace("postgres://", "postgresql://")) as connection:
                    ((found, new, matches),) = connection.execute(
                        "select mentions_found, mentions_new, (select count(*) from scraping_mentionmatch m "
                        "where m.search_id = s.id) from scraping_search s where s.id = %s", (summary["search_id"],)
                    ).fetchall()  # fmt: skip
                expected = ITEMS_PER_KEYWORD * len(platforms)
                right = (found, new, matches) == (expected, expected, expected)
                outcome = "succeeded, each mention once" if right else "succeeded, wrong counts"
            outcomes[outcome] += 1
            print(f"  search {run + 1:>2}: killed pid {victim}, {outcome}", flush=True)
    finally:
        processes.stop_all()
        drop_database(server, name)

    print(f"\nkill -9 of a platform task's pool process mid-search, {runs} searches "
          f"({time.monotonic() - started:.0f} s):")
    for outcome, count in outcomes.items():
        print(f"  {outcome:<30}{count:>4}")
    if recovery:
        print(f"  kill to summary: median {statistics.median(recovery):.2f} s, max {max(recovery):.2f} s")
    print(f"FIGURE|kill -9 mid-search: succeeded, each mention once|{outcomes['succeeded, each mention once']}/{runs}"
          f"|searches|goal {runs}/{runs}")
    if recovery:
        print(f"FIGURE|kill -9 mid-search: kill to summary (median)|{statistics.median(recovery):.2f}|s|-")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=2.0, help="how long each task sleeps")
    parser.add_argument("--skip-searches", action="store_true", help="run part 1 only")
    arguments = parser.parse_args()

    store = redis.Redis.from_url(settings.REDIS_URL, decode_responses=True)
    queue = f"bench-kill-{uuid.uuid4().hex[:8]}"
    processes = FaultProcesses()
    env = {"DATABASE_URL": os.environ.get("DATABASE_URL", ""), "REDIS_URL": settings.REDIS_URL}
    outcomes = {"completed once": 0, "completed twice": 0, "lost": 0}
    recovery = []
    started = time.monotonic()
    try:
        workers = [processes.worker(env=env, queues=queue, name=f"bench-{n}") for n in (1, 2)]
        for run in range(arguments.runs):
            key = f"bench-kill-{uuid.uuid4().hex}"
            result = app.send_task("faults.sleep_then_record", args=[key, arguments.seconds], queue=queue)
            entries = wait_until(lambda key=key: store.lrange(f"tests:{key}", 0, -1), timeout=30, what="a start")
            victim = int(entries[0].split(":")[1])
            os.kill(victim, signal.SIGKILL)
            killed_at = time.monotonic()
            try:
                result.get(timeout=arguments.seconds * 5 + 20)
                recovery.append(time.monotonic() - killed_at)
            except Exception:  # noqa: BLE001 - any failure to finish counts as lost
                pass
            time.sleep(0.3)  # a second run would need this long to record its own end
            ends = [entry for entry in store.lrange(f"tests:{key}", 0, -1) if entry.startswith("end:")]
            outcome = "lost" if not ends else "completed once" if len(ends) == 1 else "completed twice"
            outcomes[outcome] += 1
            store.delete(f"tests:{key}")
            print(f"  run {run + 1:>2}: killed pid {victim}, {outcome}", flush=True)
        alive = all(worker.is_running() for worker in workers)
    finally:
        processes.stop_all()

    print(f"\nkill -9 of the pool process mid-task, {arguments.runs} runs on {os.cpu_count()} cores "
          f"({time.monotonic() - started:.0f} s):")
    for outcome, count in outcomes.items():
        print(f"  {outcome:<16}{count:>4}")
    if recovery:
        print(f"  kill to finished: median {statistics.median(recovery):.2f} s, max {max(recovery):.2f} s "
              f"(task sleeps {arguments.seconds:.1f} s)")
    print(f"  both workers still running: {alive}")
    print(f"FIGURE|kill -9 mid-task: completed exactly once|{outcomes['completed once']}/{arguments.runs}|runs|"
          f"goal {arguments.runs}/{arguments.runs}")
    if recovery:
        print(f"FIGURE|kill -9 mid-task: kill to finished (median)|{statistics.median(recovery):.2f}|s|"
              f"task alone {arguments.seconds:.1f} s")
    if not arguments.skip_searches:
        print(flush=True)
        kill_searches(arguments.runs)


if __name__ == "__main__":
    main()
