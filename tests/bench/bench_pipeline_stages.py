"""Figures for the search pipeline: store throughput and the overhead of one search through a worker.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/pulse REDIS_URL=redis://127.0.0.1:6379/15 \
        .venv/bin/python tests/bench/bench_pipeline_stages.py

Creates a throw-away test database (test_<name>), prints the figures, and drops it again.
"""

from __future__ import annotations

import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.settings")

import django  # noqa: E402

django.setup()

from django.db import connection, transaction  # noqa: E402
from django.test.utils import setup_test_environment  # noqa: E402

from scraping import pipeline  # noqa: E402
from scraping.models import Search  # noqa: E402
from scraping.platforms.base import ScrapedItem  # noqa: E402

BATCH = 500
BATCHES = 10


def items(start: int, count: int) -> list[ScrapedItem]:
    return [
        ScrapedItem(
            platform="bench",
            external_id=f"item-{number}",
            url=f"https://Example.com/post/{number}?utm_source=x&fbclid=y#c",
            title=f"  Post   {number} ",
            text="word " * 60,
            author="someone",
            likes=number,
        )
        for number in range(start, start + count)
    ]


def store_rate(label: str, search: Search) -> None:
    started = time.perf_counter()
    for batch in range(BATCHES):
        prepared, _ = pipeline.prepare_items(items(batch * BATCH, BATCH), platform="bench")
        with transaction.atomic():
            result = pipeline.store_items(search=search, platform="bench", items=prepared)
    elapsed = time.perf_counter() - started
    print(
        f"{label:<44} {BATCH * BATCHES / elapsed:>9,.0f} items/s   (last batch: {result.new} new, "
        f"{result.duplicate} duplicate)"
    )


def main() -> None:
    setup_test_environment()
    old_name = connection.creation.create_test_db(verbosity=0, keepdb=False)
    try:
        raw = items(0, 50_000)
        started = time.perf_counter()
        pipeline.prepare_items(raw, platform="bench")
        print(
            f"{'validate + normalise + dedupe (50,000 items)':<44} "
            f"{len(raw) / (time.perf_counter() - started):>9,.0f} items/s"
        )
        first = Search.objects.create(keywords=["bench"], platforms=["bench"])
        store_rate(f"store new mentions ({BATCHES} x {BATCH})", first)
        second = Search.objects.create(keywords=["bench"], platforms=["bench"])
        store_rate(f"store duplicates ({BATCHES} x {BATCH})", second)
        search_latency()
    finally:
        connection.creation.destroy_test_db(old_name, verbosity=0)


def search_latency(runs: int = 15) -> None:
    """Wall time of pulse.search over two instant test platforms: the canvas's own overhead."""
    import tests.support.scrapers  # noqa: F401
    from pulse.celery import app
    from tests.conftest import start_worker

    worker, _ = start_worker(concurrency=2, name="bench")
    try:
        timings = []
        for number in range(runs):
            started = time.perf_counter()
            summary = app.send_task(
                "pulse.search",
                kwargs={"keywords": [f"bench{number}"], "platforms": ["test-ok", "test-browser-ok"]},
            ).get(timeout=60)
            timings.append(time.perf_counter() - started)
            assert summary["status"] == "succeeded", summary
        median, longest = statistics.median(timings) * 1000, max(timings) * 1000
        label = "pulse.search, 2 instant platforms, wall time"
        print(f"{label:<44} median {median:.0f} ms, max {longest:.0f} ms ({runs} searches, one worker -c 2)")
    finally:
        worker.stop()


if __name__ == "__main__":
    main()
