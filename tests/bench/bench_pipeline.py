"""Pipeline overhead: N searches x 4 platforms through the real pipeline vs a bare Celery chord.

Usage:  DATABASE_URL=postgres://postgres@127.0.0.1:5432/pulse REDIS_URL=redis://127.0.0.1:6379/14 \\
        .venv/bin/python tests/bench/bench_pipeline.py [--searches 20] [--rounds 2]
(or `make bench`). Creates and migrates its own database (``<name>_bench_pipeline`` on the server
of DATABASE_URL, dropped at the end), starts the platform simulator, an http worker (queues
celery,http; 2 processes) and a browser worker (queue browser; 2 processes), as deployed. Then,
alternating for each round, it submits all N at once and times until every one has finished:

  baseline    N x chord(4 x bench.noop -> bench.noop), two members on http and two on browser,
              the same shape and queues as a search's chord
  topology    N x bench.entry: an entry task that replaces itself with the baseline's chord, as
              pulse.search does: Celery's cost of Pulse's shape (six tasks, a replace, a progress
              write) with none of Pulse's own work
  machinery   N x pulse.search over 4 in-process platforms with no I/O (tests/bench/support.py):
              Pulse's own cost (validation, claims, the chord, the store pipeline, finalize)
  simulator   N x pulse.search over news, youtube (API), facebook and instagram on the simulator's
              fast path (``__few__``: 3 items each, no infinite scroll); facebook and instagram
              are rendered by Chromium

and prints searches per second and the ratio of each against the baseline's time (goal >= 0.7),
with the machine's busy CPU time per search (all processes: workers, PostgreSQL, Redis, Chromium,
this client), which says where a ratio comes from when the machine is saturated.
"""

from __future__ import annotations

import argparse
import os
import re
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
from celery import chord, group, signature  # noqa: E402
from django.conf import settings  # noqa: E402

from pulse.celery import app  # noqa: E402
from tests.bench.support import BENCH_PLATFORMS  # noqa: E402
from tests.faults.conftest import FaultProcesses  # noqa: E402
from tests.support.processes import ManagedProcess, python_command  # noqa: E402

SIMULATOR_PLATFORMS = ["news", "youtube", "facebook", "instagram"]
INCLUDE = "tests.bench.support"


def bench_database_url() -> tuple[str, str]:
    database = settings.DATABASES["default"]
    name = f"{database['NAME']}_bench_pipeline"
    password = f":{database['PASSWORD']}" if database["PASSWORD"] else ""
    server = f"postgresql://{database['USER']}{password}@{database['HOST'] or '127.0.0.1'}:{database['PORT'] or 5432}"
    return server, name


def recreate_database(server: str, name: str) -> None:
    with psycopg.connect(f"{server}/postgres", autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        connection.execute(f'CREATE DATABASE "{name}"')


def drop_database(server: str, name: str) -> None:
    with psycopg.connect(f"{server}/postgres", autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def baseline_chord():
    header = [
        signature("bench.noop", args=[number], queue="http" if number < 2 else "browser", immutable=True)
        for number in range(4)
    ]
    return chord(group(header), signature("bench.noop", queue="http", immutable=True))


def busy_cpu_seconds() -> float:
    """CPU seconds the whole machine has spent not idle since boot (Linux /proc/stat; else 0)."""
    try:
        fields = [int(value) for value in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    except (OSError, ValueError):
        return 0.0
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)  # idle + iowait
    return (sum(fields) - idle) / os.sysconf("SC_CLK_TCK")


def run_baseline(count: int, timeout: float) -> float:
    started = time.monotonic()
    results = [baseline_chord().apply_async() for _ in range(count)]
    for result in results:
        result.get(timeout=timeout)
    return time.monotonic() - started


def run_topology(count: int, timeout: float) -> float:
    started = time.monotonic()
    results = [app.send_task("bench.entry") for _ in range(count)]
    for result in results:
        result.get(timeout=timeout)
    return time.monotonic() - started


def run_searches(count: int, platforms: list[str], timeout: float, *, marker: str = "") -> float:
    started = time.monotonic()
    results = [
        app.send_task(
            "pulse.search",
            kwargs={"keywords": [f"bench{uuid.uuid4().hex[:8]}{marker}"], "platforms": platforms, "max_results": 10},
        )
        for _ in range(count)
    ]
    statuses = [result.get(timeout=timeout)["status"] for result in results]
    elapsed = time.monotonic() - started
    if set(statuses) != {"succeeded"}:
        raise SystemExit(f"not every search succeeded: {statuses}")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--searches", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--timeout", type=float, default=600.0)
    parser.add_argument("--without-simulator", action="store_true", help="skip the Chromium run (quicker)")
    arguments = parser.parse_args()

    server, name = bench_database_url()
    recreate_database(server, name)
    database_url = f"{server.replace('postgresql://', 'postgres://')}/{name}"
    env = {"DATABASE_URL": database_url, "REDIS_URL": settings.REDIS_URL}
    migrate = subprocess.run(
        [sys.executable, "manage.py", "migrate", "--no-input", "-v", "0"], cwd=ROOT,
        env={**os.environ, **env}, capture_output=True, text=True,
    )  # fmt: skip
    if migrate.returncode:
        raise SystemExit(f"migrating the benchmark database failed:\n{migrate.stderr[-2000:]}")
    simulator = ManagedProcess(
        "simulator", python_command("manage.py", "simulate_platforms", "--port", "0"), env=env
    ).start()
    processes = FaultProcesses()
    timings: dict[str, list[float]] = {"baseline": [], "topology": [], "machinery": [], "simulator": []}
    cpu: dict[str, list[float]] = {what: [] for what in timings}
    try:
        found = simulator.wait_for(
            lambda: re.search(r"listening on (http://\S+)", simulator.log()), timeout=60, what="the simulator"
        )
        env.update(
            PULSE_SIMULATOR_URL=found.group(1),
            PULSE_YOUTUBE_API_KEY="simulator-key",
            PULSE_RATE_LIMIT_DEFAULT="100000/s",  # measure the pipeline, not the politeness limit
        )
        processes.worker(env=env, queues="celery,http", concurrency=2, name="bench-http", include=INCLUDE)
        processes.worker(env=env, queues="browser", concurrency=2, name="bench-browser", include=INCLUDE)
        # Warm up: imports, connections, and one Chromium in each browser process.
        run_baseline(4, arguments.timeout)
        run_topology(4, arguments.timeout)
        run_searches(4, BENCH_PLATFORMS, arguments.timeout)
        if not arguments.without_simulator:
            run_searches(4, SIMULATOR_PLATFORMS, arguments.timeout, marker=" __few__")
        runs = {
            "baseline": lambda: run_baseline(arguments.searches, arguments.timeout),
            "topology": lambda: run_topology(arguments.searches, arguments.timeout),
            "machinery": lambda: run_searches(arguments.searches, BENCH_PLATFORMS, arguments.timeout),
            "simulator": lambda: run_searches(
                arguments.searches, SIMULATOR_PLATFORMS, arguments.timeout, marker=" __few__"
            ),
        }
        if arguments.without_simulator:
            del runs["simulator"], timings["simulator"]
        for round_number in range(arguments.rounds):
            for what, run in runs.items():
                busy = busy_cpu_seconds()
                timings[what].append(run())
                cpu[what].append(busy_cpu_seconds() - busy)
            print(
                f"  round {round_number + 1}: "
                + ", ".join(f"{what} {values[-1]:.2f} s" for what, values in timings.items()),
                flush=True,
            )
    finally:
        processes.stop_all()
        simulator.stop()
        drop_database(server, name)

    baseline = statistics.median(timings["baseline"])
    count = arguments.searches
    print(f"\n{count} searches x 4 platforms, all submitted at once, median of {arguments.rounds} rounds, "
          f"{os.cpu_count()} cores (http worker -c 2, browser worker -c 2):")
    print(f"  {'run':<12}{'seconds':>9}{'searches/s':>12}{'ratio':>8}{'CPU ms/search':>15}")
    for what, values in timings.items():
        elapsed = statistics.median(values)
        cpu_ms = statistics.median(cpu[what]) * 1000 / count
        print(f"  {what:<12}{elapsed:>9.2f}{count / elapsed:>12.2f}{baseline / elapsed:>8.2f}{cpu_ms:>15.0f}")
    for what in [what for what in timings if what != "baseline"]:
        elapsed = statistics.median(timings[what])
        print(f"FIGURE|pipeline overhead: {what} (ratio to bare chord)|{baseline / elapsed:.2f}|ratio|goal >= 0.7")
        print(f"FIGURE|pipeline: {what} searches per second|{count / elapsed:.2f}|searches/s|"
              f"bare chord {count / baseline:.2f}/s")
        print(f"FIGURE|pipeline: {what} busy CPU per search|{statistics.median(cpu[what]) * 1000 / count:.0f}|ms|"
              f"bare chord {statistics.median(cpu['baseline']) * 1000 / count:.0f} ms")


if __name__ == "__main__":
    main()
