"""Stock django-celery-beat DatabaseScheduler against PulseScheduler, same PostgreSQL, same Redis.

Run with ``make bench-scheduler`` (or ``python tests/bench/bench_scheduler.py --help``). It uses its
own database, ``<DATABASE_URL name>_bench`` (created and migrated on first use; its schedule
tables are emptied between steps), and the Redis database in REDIS_URL (only ``pulse:beat:*``
keys and the ``bench-scheduler`` queue are touched). Prints one table (markdown).

What is measured, each time with a real ``celery beat`` process (dispatch mechanics untouched):
1. pick-up latency: with 10k schedules loaded, create a clocked one-off due now and time until
   its message lands on the broker queue (a Redis BRPOP consumer on this side stamps arrivals);
2. lateness and misses: 20 every-minute crons among 10k schedules while one schedule is edited
   every second (``save()``, as the admin does); lateness = arrival - minute boundary; a minute
   with no message for a cron is a miss, a second message in it a duplicate;
3. cold load at 1k / 10k / 100k schedules: a fresh process builds the scheduler and runs its
   first tick (stock builds its heap there); time and resident memory of that process.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import statistics
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlparse, urlunparse

PROJECT_ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(PROJECT_ROOT))
os.environ["DJANGO_SETTINGS_MODULE"] = "tests.settings"

QUEUE = "bench-scheduler"
SCHEDULERS = {
    "stock": "django_celery_beat.schedulers:DatabaseScheduler",
    "pulse": "schedules.scheduler:PulseScheduler",
}
LABELS = {"stock": "stock DatabaseScheduler", "pulse": "PulseScheduler"}


# --- environment --------------------------------------------------------------------------------


def bench_database_url() -> str:
    base = os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/pulse")
    parsed = urlparse(base)
    if not parsed.scheme.startswith("postgres"):
        raise SystemExit(f"The scheduler benchmark needs PostgreSQL; DATABASE_URL is {base!r}.")
    name = parsed.path.lstrip("/") or "pulse"
    if not name.endswith("_bench"):
        name = f"{name}_bench"
    return urlunparse(parsed._replace(path=f"/{name}"))


def ensure_database(url: str) -> None:
    import psycopg

    parsed = urlparse(url)
    name = parsed.path.lstrip("/")
    admin = urlunparse(parsed._replace(path="/postgres"))
    with psycopg.connect(admin, autocommit=True) as connection:
        exists = connection.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
        if not exists:
            connection.execute(f'CREATE DATABASE "{name}"')


def process_env() -> dict:
    return {**os.environ, "PYTHONUNBUFFERED": "1"}


def rss_mb(pid: int | str = "self") -> tuple[float, float]:
    """(current, peak) resident memory in MB from /proc."""
    fields = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        name, _, value = line.partition(":")
        if name in {"VmRSS", "VmHWM"}:
            fields[name] = int(value.split()[0]) / 1024
    return fields.get("VmRSS", 0.0), fields.get("VmHWM", 0.0)


# --- data ---------------------------------------------------------------------------------------


def reset_schedules() -> None:
    from django.db import connection

    from django_celery_beat.models import PeriodicTasks

    with connection.cursor() as cursor:
        cursor.execute(
            "TRUNCATE schedules_scheduledsearch, django_celery_beat_periodictask, "
            "django_celery_beat_crontabschedule, django_celery_beat_intervalschedule, "
            "django_celery_beat_clockedschedule RESTART IDENTITY CASCADE"
        )
    PeriodicTasks.update_changed()


def add_filler_schedules(count: int, *, start: int = 0) -> None:
    """Scheduled searches that look like Pulse's: shared crontabs and intervals, none due soon."""
    from django_celery_beat.models import CrontabSchedule, IntervalSchedule, PeriodicTask, PeriodicTasks

    from schedules.models import ScheduledSearch

    crontabs = [
        CrontabSchedule.objects.get_or_create(
            minute=str(minute), hour=str(hour), timezone="Asia/Kuala_Lumpur", defaults={}
        )[0]
        for minute, hour in ((7 * index % 60, index % 24) for index in range(50))
    ]
    intervals = [
        IntervalSchedule.objects.get_or_create(every=hours, period=IntervalSchedule.HOURS)[0]
        for hours in (1, 2, 3, 6, 12, 24)
    ]
    batch = 5000
    for offset in range(start, start + count, batch):
        size = min(batch, start + count - offset)
        tasks = PeriodicTask.objects.bulk_create(
            [
                PeriodicTask(
                    name=f"filler {index}",
                    task="pulse.scheduled_search",
                    kwargs=json.dumps({"scheduled_search_id": index + 1}),
                    queue=QUEUE,
                    crontab=crontabs[index % len(crontabs)] if index % 2 else None,
                    interval=None if index % 2 else intervals[index % len(intervals)],
                )
                for index in range(offset, offset + size)
            ]
        )
        ScheduledSearch.objects.bulk_create(
            [
                ScheduledSearch(
                    name=f"filler {task.id}",
                    keywords=["pulse"],
                    platforms=["news"],
                    periodic_task=task,
                )
                for task in tasks
            ]
        )
    PeriodicTasks.update_changed()


def add_minute_crons(count: int) -> list[str]:
    from django_celery_beat.models import CrontabSchedule, PeriodicTask

    every_minute = CrontabSchedule.objects.create(minute="*", hour="*", timezone="UTC")
    names = [f"every minute {index}" for index in range(count)]
    for name in names:
        PeriodicTask.objects.create(name=name, task="tests.record", args=json.dumps([name]), queue=QUEUE,
                                    crontab=every_minute)
    return names


# --- beat processes and the broker consumer -----------------------------------------------------


class Arrivals:
    """Pops beat's messages off the bench queue and stamps when each arrived."""

    def __init__(self, client):
        self.client = client
        self.records: list[tuple[float, str]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self):
        self.client.delete(QUEUE)
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join(timeout=5)

    def _run(self):
        while not self._stop.is_set():
            item = self.client.brpop([QUEUE], timeout=1)
            if item is None:
                continue
            arrived = time.time()
            headers = json.loads(item[1])["headers"]
            self.records.append((arrived, headers.get("periodic_task_name", "")))

    def arrivals_of(self, name: str) -> list[float]:
        return [arrived for arrived, task_name in list(self.records) if task_name == name]


def start_beat(kind: str) -> subprocess.Popen:
    log = open(f"/tmp/bench-scheduler-{kind}.log", "w")  # noqa: SIM115 (lives as long as the beat)
    return subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "pulse", "beat", "-S", SCHEDULERS[kind], "--pidfile=",
         "-l", "INFO"],
        cwd=PROJECT_ROOT,
        env=process_env(),
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def stop_beat(beat: subprocess.Popen) -> None:
    if beat.poll() is None:
        os.killpg(beat.pid, signal.SIGTERM)
        try:
            beat.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(beat.pid, signal.SIGKILL)
            beat.wait()


def clear_beat_keys(client) -> None:
    for key in client.scan_iter("pulse:beat:*"):
        client.delete(key)


def wait_until_beat_ticks(kind: str, client, arrivals: Arrivals, timeout: float = 120) -> None:
    """Wait until the beat has loaded its schedule: a probe one-off due now arrives."""
    name = f"probe {kind} {time.time()}"
    create_due_now(name)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if arrivals.arrivals_of(name):
            return
        time.sleep(0.1)
    raise SystemExit(f"{kind} beat did not dispatch a due-now probe within {timeout}s; see /tmp/bench-scheduler-{kind}.log")


def create_due_now(name: str) -> float:
    from django.utils import timezone
    from django_celery_beat.models import ClockedSchedule, PeriodicTask

    clocked = ClockedSchedule.objects.create(clocked_time=timezone.now())
    PeriodicTask.objects.create(name=name, task="tests.record", args=json.dumps([name]), queue=QUEUE,
                                clocked=clocked, one_off=True)
    return time.time()


# --- measurements -------------------------------------------------------------------------------


def measure_pickup(kind: str, arrivals: Arrivals, trials: int) -> list[float]:
    latencies = []
    for trial in range(trials):
        name = f"pickup {kind} {trial} {time.time()}"
        created = create_due_now(name)
        deadline = time.monotonic() + 60
        while not arrivals.arrivals_of(name) and time.monotonic() < deadline:
            time.sleep(0.01)
        got = arrivals.arrivals_of(name)
        latencies.append(got[0] - created if got else float("inf"))
        time.sleep(random.uniform(0.5, 1.5))  # spread over the beat's check cycle
    return latencies


def edit_one_schedule_per_second(stop: threading.Event, edits: list[int]) -> None:
    from django.db import close_old_connections
    from django_celery_beat.models import IntervalSchedule, PeriodicTask

    intervals = list(IntervalSchedule.objects.filter(period=IntervalSchedule.HOURS))
    filler_ids = list(PeriodicTask.objects.filter(name__startswith="filler").values_list("id", flat=True))
    while not stop.wait(1.0):
        task = PeriodicTask.objects.get(id=random.choice(filler_ids))
        task.crontab = None
        task.interval = random.choice(intervals)
        task.description = f"edited at {time.time()}"
        task.save()
        edits.append(task.id)
    close_old_connections()


def measure_lateness(kind: str, arrivals: Arrivals, crons: list[str], beat, minutes: int) -> dict:
    stop, edits = threading.Event(), []
    editor = threading.Thread(target=edit_one_schedule_per_second, args=(stop, edits), daemon=True)
    editor.start()
    first_boundary = (int(time.time()) // 60 + 1) * 60 + 0.0
    boundaries = [first_boundary + 60 * index for index in range(minutes)]
    peak_rss = 0.0
    while time.time() < boundaries[-1] + 60:
        peak_rss = max(peak_rss, rss_mb(beat.pid)[0])
        time.sleep(1)
    stop.set()
    editor.join(timeout=5)
    lateness, missed, duplicates = [], 0, 0
    for name in crons:
        times = arrivals.arrivals_of(name)
        for boundary in boundaries:
            inside = [arrived for arrived in times if boundary <= arrived < boundary + 60]
            if not inside:
                missed += 1
                continue
            lateness.append(inside[0] - boundary)
            duplicates += len(inside) - 1
    return {
        "lateness": lateness,
        "missed": missed,
        "expected": len(crons) * len(boundaries),
        "duplicates": duplicates,
        "edits": len(edits),
        "rss": peak_rss,
    }


def percentile(values: list[float], fraction: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(fraction * (len(ordered) - 1))))]


def probe_load(kind: str) -> None:
    """Child process: build the scheduler cold, run its first tick, print seconds and memory."""
    import django

    django.setup()
    from pulse.celery import app

    module, _, name = SCHEDULERS[kind].partition(":")
    scheduler_class = getattr(__import__(module, fromlist=[name]), name)
    started = time.perf_counter()
    scheduler = scheduler_class(app=app)
    scheduler.tick()
    seconds = time.perf_counter() - started
    current, peak = rss_mb()
    print(json.dumps({"seconds": seconds, "rss": current, "peak": peak}))
    if hasattr(scheduler, "coordinator") and scheduler.coordinator:
        scheduler.coordinator.release()


def measure_load(kind: str, client) -> dict:
    clear_beat_keys(client)
    output = subprocess.run(
        [sys.executable, __file__, "--probe-load", kind],
        cwd=PROJECT_ROOT,
        env=process_env(),
        capture_output=True,
        text=True,
        timeout=600,
    )
    if output.returncode != 0:
        raise SystemExit(f"load probe for {kind} failed:\n{output.stderr[-3000:]}")
    return json.loads(output.stdout.strip().splitlines()[-1])


# --- main ---------------------------------------------------------------------------------------


def fmt(seconds: float) -> str:
    if seconds == float("inf"):
        return "never"
    return f"{seconds:.2f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=int, default=3, help="minutes of every-minute crons per scheduler")
    parser.add_argument("--trials", type=int, default=10, help="pick-up trials per scheduler")
    parser.add_argument("--sizes", default="1000,10000,100000", help="schedule counts for the cold-load rows")
    parser.add_argument("--probe-load", choices=sorted(SCHEDULERS), help=argparse.SUPPRESS)
    args = parser.parse_args()

    os.environ["DATABASE_URL"] = bench_database_url()
    if args.probe_load:
        probe_load(args.probe_load)
        return
    ensure_database(os.environ["DATABASE_URL"])

    import django

    django.setup()
    import redis
    from django.conf import settings
    from django.core.management import call_command
    from django_celery_beat.models import PeriodicTask

    call_command("migrate", verbosity=0)
    client = redis.Redis.from_url(settings.REDIS_URL)
    started = time.monotonic()
    results: dict[str, dict] = {kind: {} for kind in SCHEDULERS}
    print(f"database {settings.DATABASES['default']['NAME']}, redis {settings.REDIS_URL}", flush=True)

    # 1 + 2: pick-up and lateness under 10k schedules, one scheduler after the other.
    reset_schedules()
    add_filler_schedules(10_000 - 20)
    crons = add_minute_crons(20)
    for kind in SCHEDULERS:
        PeriodicTask.objects.update(last_run_at=None, total_run_count=0)
        clear_beat_keys(client)
        with Arrivals(client) as arrivals:
            beat = start_beat(kind)
            try:
                wait_until_beat_ticks(kind, client, arrivals)
                print(f"{kind}: measuring pick-up latency ({args.trials} trials)", flush=True)
                results[kind]["pickup"] = measure_pickup(kind, arrivals, args.trials)
                print(f"{kind}: measuring every-minute crons for {args.minutes} min", flush=True)
                results[kind]["lateness"] = measure_lateness(kind, arrivals, crons, beat, args.minutes)
            finally:
                stop_beat(beat)
        PeriodicTask.objects.filter(one_off=True).delete()

    # 3: cold load at each size.
    sizes = [int(size) for size in args.sizes.split(",")]
    reset_schedules()
    loaded = 0
    for size in sorted(sizes):
        add_filler_schedules(size - loaded, start=loaded)
        loaded = size
        for kind in SCHEDULERS:
            print(f"{kind}: cold load of {size} schedules", flush=True)
            results[kind][f"load {size}"] = measure_load(kind, client)
    reset_schedules()
    clear_beat_keys(client)

    rows = []

    def row(label: str, render) -> None:
        rows.append(f"| {label} | " + " | ".join(render(results[kind]) for kind in SCHEDULERS) + " |")

    row(
        f"pick-up of a new due-now schedule, median / max of {args.trials} (s)",
        lambda r: f"{fmt(statistics.median(r['pickup']))} / {fmt(max(r['pickup']))}",
    )
    row(
        "every-minute crons (20 among 10k, 1 edit/s): lateness p50 / p99 / max (s)",
        lambda r: " / ".join(
            fmt(percentile(r["lateness"]["lateness"], q)) for q in (0.5, 0.99)
        ) + f" / {fmt(max(r['lateness']['lateness'], default=float('nan')))}",
    )
    row(
        "every-minute crons: slots missed (no run inside their minute) / expected",
        lambda r: f"{r['lateness']['missed']} / {r['lateness']['expected']}",
    )
    row("every-minute crons: slots sent twice", lambda r: str(r["lateness"]["duplicates"]))
    row("beat RSS during the 10k run, peak (MB)", lambda r: f"{r['lateness']['rss']:.0f}")
    for size in sorted(sizes):
        row(
            f"cold load + first tick, {size:,} schedules: seconds / RSS (MB)",
            lambda r, size=size: f"{r[f'load {size}']['seconds']:.2f} / {r[f'load {size}']['rss']:.0f}",
        )
    header = "| measure | " + " | ".join(LABELS[kind] for kind in SCHEDULERS) + " |"
    print()
    print(header)
    print("|---|" + "---|" * len(SCHEDULERS))
    print("\n".join(rows))
    edits = {kind: results[kind]["lateness"]["edits"] for kind in SCHEDULERS}
    print(
        f"\n{args.minutes} min of crons per scheduler, edits made: {edits}; "
        f"whole run {time.monotonic() - started:.0f}s; {datetime.now(UTC):%Y-%m-%d %H:%M} UTC; "
        f"{os.cpu_count()} CPUs"
    )


if __name__ == "__main__":
    main()
