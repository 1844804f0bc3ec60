"""Cost of the operations endpoints and jobs as run history grows.

Usage:  DATABASE_URL=postgres://postgres@127.0.0.1:5432/pulse_bench REDIS_URL=redis://127.0.0.1:6379/14 \\
        .venv/bin/python tests/bench/bench_operations.py [--searches 2000] [--mentions 20000]

Needs a migrated database it may fill (every row it writes is rolled back at the end) and a Redis
database. Starts one real worker so /readyz has something to ping. For each history size it prints
the median time of a /metrics scrape, a /readyz check, the dashboard page, one alert-rule pass
(check_alerts_run), and the time history_cleanup takes to delete all of it in batches.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
import uuid
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.settings")

import django  # noqa: E402

django.setup()

from django.contrib.auth import get_user_model  # noqa: E402
from django.db import transaction  # noqa: E402
from django.test import Client  # noqa: E402
from django.utils import timezone  # noqa: E402

from pulse.alert_rules import check_alerts_run  # noqa: E402
from pulse.maintenance import history_cleanup  # noqa: E402
from scraping.models import Mention, MentionMatch, PlatformRun, Search  # noqa: E402
from tests.support.processes import ManagedProcess, celery_command  # noqa: E402

PLATFORMS = ["news", "youtube", "facebook", "instagram", "web"]


def median_ms(action, repeat: int = 5) -> float:
    timings = []
    for _ in range(repeat):
        started = time.perf_counter()
        action()
        timings.append((time.perf_counter() - started) * 1000)
    return statistics.median(timings)


def fill(*, searches: int, mentions: int) -> None:
    now = timezone.now()
    rows = []
    for number in range(searches):
        finished = now - timedelta(days=200, minutes=number)
        failed = number % 7 == 0
        rows.append(
            Search(
                keywords=[f"kw{number}"],
                platforms=PLATFORMS,
                status="failed" if failed else "succeeded",
                created_at=finished - timedelta(minutes=1),
                started_at=finished - timedelta(seconds=50),
                finished_at=finished,
                platforms_total=5,
                platforms_done=5,
                error="boom" if failed else "",
            )
        )
    Search.objects.bulk_create(rows, batch_size=2000)
    runs = [
        PlatformRun(
            search=search,
            platform=platform,
            status="failed" if search.status == "failed" else "succeeded",
            finished_at=search.finished_at,
            error_kind="transient" if search.status == "failed" else "",
            error_message="HTTP 500" if search.status == "failed" else "",
        )
        for search in rows
        for platform in PLATFORMS
    ]
    PlatformRun.objects.bulk_create(runs, batch_size=5000)
    stored = Mention.objects.bulk_create(
        [
            Mention(
                platform=PLATFORMS[number % 5],
                external_id=f"bench-{number}",
                url=f"https://example.com/{number}",
                first_seen=now - timedelta(hours=number % (24 * 30)),
            )
            for number in range(mentions)
        ],
        batch_size=5000,
    )
    MentionMatch.objects.bulk_create(
        [
            MentionMatch(mention=mention, search=rows[number % len(rows)], keyword="kw")
            for number, mention in enumerate(stored)
        ],
        batch_size=5000,
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--searches", type=int, default=2000)
    parser.add_argument("--mentions", type=int, default=20000)
    options = parser.parse_args()

    worker = ManagedProcess(
        "worker",
        celery_command(
            "worker",
            "-Q",
            "celery,http",
            "-c",
            "1",
            "-n",
            f"bench-{uuid.uuid4().hex[:6]}@%h",
            "--without-mingle",
            "--without-gossip",
            "-l",
            "WARNING",
        ),
    ).start()
    from pulse.celery import app

    worker.wait_for(lambda: app.control.ping(timeout=0.5), timeout=60, what="the worker to answer ping")
    client = Client()
    print(
        f"{'history':>32}  {'/metrics':>9}  {'/readyz':>8}  {'dashboard':>9}  "
        f"{'alert pass':>10}  {'cleanup':>9}"
    )
    try:
        for scale in (0.1, 1.0):
            searches, mentions = int(options.searches * scale), int(options.mentions * scale)
            with transaction.atomic():
                fill(searches=searches, mentions=mentions)
                admin = get_user_model().objects.create_superuser(f"bench-{uuid.uuid4().hex[:6]}", "", "x")
                client.force_login(admin)
                metrics = median_ms(lambda: client.get("/metrics"))
                ready = median_ms(lambda: client.get("/readyz"))
                dashboard = median_ms(lambda: client.get("/admin/pulse/dashboard/"))
                alerts = median_ms(lambda: check_alerts_run(include_workers=False), repeat=3)
                started = time.perf_counter()
                deleted = history_cleanup(batch_size=500)
                cleanup = (time.perf_counter() - started) * 1000
                assert deleted == searches, (deleted, searches)
                transaction.set_rollback(True)
            label = f"{searches} searches, {mentions} mentions"
            print(
                f"{label:>32}  {metrics:7.1f}ms  {ready:6.1f}ms  {dashboard:7.1f}ms  "
                f"{alerts:8.1f}ms  {cleanup:7.0f}ms"
            )
    finally:
        worker.stop()


if __name__ == "__main__":
    main()
