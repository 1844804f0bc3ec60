"""kill -9 a worker's pool process in the middle of a task, 20 times, and count the outcomes.

Usage:  DATABASE_URL=postgres://postgres@127.0.0.1:5432/pulse REDIS_URL=redis://127.0.0.1:6379/14 \\
        .venv/bin/python tests/bench/bench_kill_worker.py [--runs 20] [--seconds 2]
(or `make bench`). Two real prefork workers (one pool process each) consume a private queue. Each
run sends ``faults.sleep_then_record``, waits until the task has started, kills the pool process
running it with SIGKILL, and then sorts the run into one outcome:

  completed once  the task ran again (acks late + reject on worker lost) and finished exactly once
  completed twice it finished on more than one process (would store things twice without dedupe)
  lost            no finished run within the timeout

It also reports the time from the kill to the end of the retried task.
"""

from __future__ import annotations

import argparse
import os
import signal
import statistics
import sys
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.settings")

import django  # noqa: E402

django.setup()

import redis  # noqa: E402
from django.conf import settings  # noqa: E402

from pulse.celery import app  # noqa: E402
from tests.faults.conftest import FaultProcesses, wait_until  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=2.0, help="how long each task sleeps")
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


if __name__ == "__main__":
    main()
