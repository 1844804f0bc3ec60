"""What scheduled searches cost an analyst and an operator, at a few hundred schedules.

Run with ``python tests/bench/bench_schedules.py [--count N]`` (DATABASE_URL and REDIS_URL as for the
tests). It uses its own database, ``<DATABASE_URL name>_schedules_bench`` (created and migrated on
first use, emptied at start), and prints one markdown table:

1. creating N schedules through ``schedule_create`` (each: validation + ScheduledSearch + PeriodicTask);
2. a keyword edit and a timing edit through ``schedule_update``;
3. the next-5-runs preview for a cron schedule (the admin computes it on every list row);
4. the admin list page (100 rows) and one change page, rendered by the Django test client;
5. ``export_schedules`` of all N, ``import_schedules`` of that file (nothing changes) and into an
   empty database (all created).
"""

from __future__ import annotations

import argparse
import io
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlparse, urlunparse

PROJECT_ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(PROJECT_ROOT))
os.environ["DJANGO_SETTINGS_MODULE"] = "tests.settings"


def bench_database_url() -> str:
    base = os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/pulse")
    parsed = urlparse(base)
    if not parsed.scheme.startswith("postgres"):
        raise SystemExit(f"This benchmark needs PostgreSQL; DATABASE_URL is {base!r}.")
    name = (parsed.path.lstrip("/") or "pulse") + "_schedules_bench"
    return urlunparse(parsed._replace(path=f"/{name}"))


def ensure_database(url: str) -> None:
    import psycopg

    parsed = urlparse(url)
    admin = urlunparse(parsed._replace(path="/postgres"))
    with psycopg.connect(admin, autocommit=True) as connection:
        name = parsed.path.lstrip("/")
        if not connection.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            connection.execute(f'CREATE DATABASE "{name}"')


def timed(function, repeat: int = 1) -> list[float]:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=300, help="how many schedules (default 300)")
    args = parser.parse_args()

    url = bench_database_url()
    ensure_database(url)
    os.environ["DATABASE_URL"] = url
    import django

    django.setup()
    from django.conf import settings
    from django.contrib.auth.models import User
    from django.core.management import call_command
    from django.test import Client
    from django.test.utils import setup_test_environment

    settings.ALLOWED_HOSTS = ["*"]
    setup_test_environment()
    call_command("migrate", verbosity=0)

    from django_celery_beat.models import PeriodicTask

    from schedules import selectors, services
    from schedules.models import ScheduledSearch

    ScheduledSearch.objects.all().delete()
    PeriodicTask.objects.all().delete()
    User.objects.filter(username="bench").delete()

    kinds = [
        {"cron": "*/15 * * * *"}, {"cron": "0 9 * * 1-5"}, {"every": 2, "period": "hours"},
        {"solar": "sunrise", "latitude": 3.139, "longitude": 101.6869},
    ]
    rows: list[tuple[str, str]] = []

    create_times = []
    for number in range(args.count):
        start = time.perf_counter()
        services.schedule_create(name=f"bench {number:05d}", keywords=["SSM", f"k{number}"],
                                 platforms=["news", "web"], schedule=kinds[number % len(kinds)])
        create_times.append(time.perf_counter() - start)
    rows.append((f"schedule_create (median of {args.count})", f"{statistics.median(create_times) * 1000:.1f} ms"))

    target = ScheduledSearch.objects.get(name="bench 00001")
    keyword_edit = timed(lambda: services.schedule_update(scheduled_search=target, keywords=["SSM", "edit"]), 20)
    rows.append(("schedule_update, keywords (median of 20)", f"{statistics.median(keyword_edit) * 1000:.1f} ms"))
    cron = iter(f"{minute} 9 * * *" for minute in range(60))
    timing_edit = timed(lambda: services.schedule_update(scheduled_search=target, schedule={"cron": next(cron)}), 20)
    rows.append(("schedule_update, cron (median of 20)", f"{statistics.median(timing_edit) * 1000:.1f} ms"))

    preview = timed(lambda: selectors.schedule_next_runs(scheduled_search=target, count=5), 200)
    rows.append(("next 5 runs, cron (median of 200)", f"{statistics.median(preview) * 1e6:.0f} µs"))
    solar = ScheduledSearch.objects.get(name="bench 00003")
    solar_preview = timed(lambda: selectors.schedule_next_runs(scheduled_search=solar, count=5), 20)
    rows.append(("next 5 runs, solar (median of 20)", f"{statistics.median(solar_preview) * 1000:.1f} ms"))

    User.objects.create_superuser("bench", "bench@example.com", "bench")
    client = Client()
    client.login(username="bench", password="bench")
    listing = timed(lambda: client.get("/admin/schedules/scheduledsearch/"), 5)
    rows.append(("admin list page, 100 rows (median of 5)", f"{statistics.median(listing) * 1000:.0f} ms"))
    change = timed(lambda: client.get(f"/admin/schedules/scheduledsearch/{target.pk}/change/"), 5)
    rows.append(("admin change page (median of 5)", f"{statistics.median(change) * 1000:.0f} ms"))

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "schedules.json"
        export = timed(lambda: call_command("export_schedules", str(path), stderr=io.StringIO()))
        rows.append((f"export_schedules, {args.count} entries", f"{export[0]:.2f} s"))
        unchanged = timed(lambda: call_command("import_schedules", str(path), stdout=io.StringIO()))
        rows.append((f"import_schedules, {args.count} unchanged", f"{unchanged[0]:.2f} s"))
        ScheduledSearch.objects.all().delete()
        fresh = timed(lambda: call_command("import_schedules", str(path), stdout=io.StringIO()))
        rows.append((f"import_schedules, {args.count} created", f"{fresh[0]:.2f} s"))
        again = io.StringIO()
        call_command("export_schedules", stdout=again)
        rows.append(("export → import → export identical", str(again.getvalue() == path.read_text())))

    print("| measurement | value |\n|---|---|")
    for name, value in rows:
        print(f"| {name} | {value} |")


if __name__ == "__main__":
    main()
